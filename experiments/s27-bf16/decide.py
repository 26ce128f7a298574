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

from experiments.table import cells

EXP = Path(os.environ.get("QDT_EXP", "/work/exp")) / "s27-bf16"
SETS = {300000: "validation", 100000: "test"}
FLOOR = (0.02, 0.007)  # session 25's random-stream noise floor (Spearman, error)


def read(precision: str, seed: int, eval_seed: int) -> np.ndarray | None:
    path = EXP / f"{precision}{seed}-eval-{eval_seed}" / "report.json"
    if not path.exists():
        return None
    return np.array(cells(json.loads(path.read_text())["models"]["dt"]["metrics"]))


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


PACE = EXP.parent / "s26-critic-sign" / "halfcheetah-pace"  # amendment 1's runs (session 26's arms.sh)


def read_arm(arm: str, seed: int, eval_seed: int) -> np.ndarray | None:
    path = PACE / f"{arm}{seed}-eval-{eval_seed}" / "report.json"
    if not path.exists():
        return None
    return np.array(cells(json.loads(path.read_text())["models"]["qalign"]["metrics"]))


def amendment_1() -> None:
    """Question 58: B (R under bf16) against R, three training seeds."""
    for es, name in SETS.items():
        got = {(a, s): read_arm(a, s, es) for a in ("R", "B") for s in (0, 1, 2)}
        for (a, s), c in got.items():
            cell = "missing" if c is None else f"{c[0]:.4f} / {c[1]:.4f} / {c[2]:.2f} / {c[3]:,.0f}"
            print(f"| pace {name} | {a} | seed {s} | {cell} |")
        if any(c is None for c in got.values()):
            continue
        r, b = (np.mean([got[(a, s)] for s in (0, 1, 2)], axis=0) for a in ("R", "B"))
        print(f"| pace {name} | R | mean of 3 | {r[0]:.4f} / {r[1]:.4f} / {r[2]:.2f} / {r[3]:,.0f} |")
        print(f"| pace {name} | B | mean of 3 | {b[0]:.4f} / {b[1]:.4f} / {b[2]:.2f} / {b[3]:,.0f} |")
        ok = b[0] >= r[0] - FLOOR[0] and b[1] <= r[1] + FLOOR[1]
        print(f"pace {name}: Q58 B as good as R (Spearman >= R - {FLOOR[0]}, error <= R + {FLOOR[1]}): {ok}")


def main() -> None:
    for es, name in SETS.items():
        got = {(p, s): read(p, s, es) for p in ("fp32", "bf16") for s in (0, 1)}
        for (p, s), c in got.items():
            cell = "missing" if c is None else f"{c[0]:.4f} / {c[1]:.4f} / {c[2]:.2f} / {c[3]:,.0f}"
            print(f"| {name} | {p} | seed {s} | {cell} |")
        if any(c is None for c in got.values()):
            continue
        f32, b16 = (np.mean([got[(p, s)] for s in (0, 1)], axis=0) for p in ("fp32", "bf16"))
        print(f"| {name} | fp32 | mean of 2 | {f32[0]:.4f} / {f32[1]:.4f} / {f32[2]:.2f} / {f32[3]:,.0f} |")
        print(f"| {name} | bf16 | mean of 2 | {b16[0]:.4f} / {b16[1]:.4f} / {b16[2]:.2f} / {b16[3]:,.0f} |")
        ok = b16[0] >= f32[0] - FLOOR[0] and b16[1] <= f32[1] + FLOOR[1]
        print(f"{name}: Q55 bf16 as good as fp32 (Spearman >= fp32 - {FLOOR[0]}, error <= fp32 + {FLOOR[1]}): {ok}")
    for s in (0, 1):
        r = {p: steps_per_s(p, s) for p in ("fp32", "bf16")}
        if None not in r.values():
            print(f"Q56 seed {s}: fp32 {r['fp32']:.2f}, bf16 {r['bf16']:.2f} steps/s ({r['bf16'] / r['fp32']:.2f}x)")
    amendment_1()


if __name__ == "__main__":
    main()
