"""s27-bf16 (RULES.md): the `cpu` DT in fp32 and under bf16 autocast, per training seed and on the two-seed mean,
question 55; question 56's steps/s from the training logs; amendment 1's Q-ALIGN stage under bf16 (arm B against R
on HalfCheetah `pace`, seeds 0-2), question 58.

    PYTHONPATH=$PWD python experiments/s27-bf16/decide.py
"""

import json
import os
import re
from pathlib import Path

import numpy as np

from experiments.table import FLOOR, cells, fmt4

EXP = Path(os.environ.get("QDT_EXP", "/work/exp")) / "s27-bf16"
PACE = EXP.parent / "s26-critic-sign" / "halfcheetah-pace"  # amendment 1's runs (session 26's arms.sh)
SETS = {300000: "validation", 100000: "test"}


def read(folder: Path, tag: str, eval_seed: int, kind: str) -> np.ndarray | None:
    path = folder / f"{tag}-eval-{eval_seed}" / "report.json"
    if not path.exists():
        return None
    return np.array(cells(json.loads(path.read_text())["models"][kind]["metrics"]))


def steps_per_s(precision: str, seed: int) -> float | None:
    """Steps over seconds at the log's last tqdm update (the whole run at its shared-core rate)."""
    log = EXP / "logs" / f"dt-{precision}-s{seed}.log"
    if not log.exists():
        return None
    got = re.findall(r"(\d+)/8000 \[(?:(\d+):)?(\d+):(\d+)<", log.read_text())
    if not got:
        return None
    n, h, m, s = got[-1]
    return int(n) / (3600 * int(h or 0) + 60 * int(m) + int(s))


def as_good(question: str, prefix: str, folder: Path, kind: str, ref: str, other: str, seeds: tuple[int, ...]) -> None:
    """Per seed and on the mean, each seed set: is ``other`` as good as ``ref`` (Spearman at least ref's minus the
    noise floor, error at most ref's plus it)?"""
    n = len(seeds)
    for es, name in SETS.items():
        got = {(a, s): read(folder, f"{a}{s}", es, kind) for a in (ref, other) for s in seeds}
        for (a, s), c in got.items():
            print(f"| {prefix}{name} | {a} | seed {s} | {'missing' if c is None else fmt4(c)} |")
        if any(c is None for c in got.values()):
            continue
        r, o = (np.mean([got[(a, s)] for s in seeds], axis=0) for a in (ref, other))
        print(f"| {prefix}{name} | {ref} | mean of {n} | {fmt4(r)} |")
        print(f"| {prefix}{name} | {other} | mean of {n} | {fmt4(o)} |")
        ok = o[0] >= r[0] - FLOOR[0] and o[1] <= r[1] + FLOOR[1]
        print(
            f"{prefix}{name}: {question} {other} as good as {ref} (Spearman >= {ref} - {FLOOR[0]}, error <= {ref} + "
            f"{FLOOR[1]}): {ok}"
        )


def main() -> None:
    as_good("Q55", "", EXP, "dt", "fp32", "bf16", (0, 1))
    for s in (0, 1):
        r = {p: steps_per_s(p, s) for p in ("fp32", "bf16")}
        if None not in r.values():
            print(f"Q56 seed {s}: fp32 {r['fp32']:.2f}, bf16 {r['bf16']:.2f} steps/s ({r['bf16'] / r['fp32']:.2f}x)")
    as_good("Q58", "pace ", PACE, "qalign", "R", "B", (0, 1, 2))


if __name__ == "__main__":
    main()
