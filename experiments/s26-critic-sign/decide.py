"""s26-critic-sign (RULES.md): the DT and arms R, Z, F per training seed and on the mean, questions 49-52.

PYTHONPATH=$PWD python experiments/s26-critic-sign/decide.py [walker2d-mr | halfcheetah-pace]
"""

import json
import os
import sys
from pathlib import Path

import numpy as np

from experiments.table import ahead, cells

EXP = Path(os.environ.get("QDT_EXP", "/work/exp")) / "s26-critic-sign"
FOLDERS = {"walker2d-mr": EXP, "halfcheetah-pace": EXP / "halfcheetah-pace"}  # as arms.sh writes them
ARMS = ("DT", "R", "Z", "F")
SETS = {300000: "validation", 100000: "test"}
FLOOR = (0.02, 0.007)  # session 25's random-stream noise floor (Spearman, error)


def read(folder: Path, arm: str, seed: int, eval_seed: int) -> np.ndarray | None:
    path = folder / f"{arm}{seed}-eval-{eval_seed}" / "report.json"
    if not path.exists():
        return None
    (model,) = json.loads(path.read_text())["models"].values()
    return np.array(cells(model["metrics"]))


def direction(r: np.ndarray, f: np.ndarray) -> str:
    """Question 52's reading of R against F on one seed set."""
    gain = (r[0] - f[0], f[1] - r[1])  # R's lead: Spearman, error
    if all(abs(g) <= m for g, m in zip(gain, FLOOR)) or (f[0] >= r[0] and f[1] <= r[1]):
        return "not the critic's direction"
    if any(g >= m for g, m in zip(gain, FLOOR)) and all(g >= -m for g, m in zip(gain, FLOOR)):
        return "the critic's direction"
    return "undecided"


def main(pair: str) -> None:
    folder, table = FOLDERS[pair], {}
    for seed in (0, 1):
        for es, name in SETS.items():
            got = {a: read(folder, a, seed, es) for a in ARMS}
            if any(v is None for v in got.values()):
                print(f"seed {seed} {name}: missing", [a for a, v in got.items() if v is None])
                continue
            table[(seed, name)] = got
    for key in sorted({k[1] for k in table}, reverse=True):
        seeds = [s for s in (0, 1) if (s, key) in table]
        if len(seeds) == 2:
            table[("mean", key)] = {a: np.mean([table[(s, key)][a] for s in seeds], axis=0) for a in ARMS}
    for (seed, name), got in table.items():
        row = " | ".join(f"{c[0]:.4f} / {c[1]:.4f} / {c[2]:.2f} / {c[3]:,.0f}" for c in got.values())
        print(f"| {seed} | {name} | {row} |")
    for (seed, name), got in table.items():
        dt, r, z, f = (got[a] for a in ARMS)
        print(
            f"seed {seed} {name}: Q49 R ahead of DT {ahead(r, dt)}; Q50 Z ahead {ahead(z, dt)}; "
            f"Q51 F ahead {ahead(f, dt)}; Q52 {direction(r, f)}"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "walker2d-mr")
