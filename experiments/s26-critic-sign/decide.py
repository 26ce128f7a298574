"""s26-critic-sign (RULES.md): the DT and arms R, Z, F per training seed and on the mean, questions 49-54.

PYTHONPATH=$PWD python experiments/s26-critic-sign/decide.py [walker2d-mr | halfcheetah-pace]
"""

import os
import sys
from pathlib import Path

import numpy as np

from experiments.table import FLOOR, SETS, ahead, fmt4, read

EXP = Path(os.environ.get("QDT_EXP", "/work/exp")) / "s26-critic-sign"
FOLDERS = {"walker2d-mr": EXP, "halfcheetah-pace": EXP / "halfcheetah-pace"}  # as arms.sh writes them
ARMS = ("DT", "R", "Z", "F")
SEEDS = (0, 1, 2)


def lead(a: np.ndarray, b: np.ndarray) -> str:
    """Cells a against cells b by session 25's noise floor: "ahead" if a leads by at least the floor on Spearman or
    error with neither measure behind by more than it; "not ahead" if b is within the floor of a on both or ahead
    on both; otherwise "undecided"."""
    gain = (a[0] - b[0], b[1] - a[1])  # a's lead: Spearman, error
    if all(abs(g) <= m for g, m in zip(gain, FLOOR)) or (b[0] >= a[0] and b[1] <= a[1]):
        return "not ahead"
    if any(g >= m for g, m in zip(gain, FLOOR)) and all(g >= -m for g, m in zip(gain, FLOOR)):
        return "ahead"
    return "undecided"


def direction(r: np.ndarray, f: np.ndarray) -> str:
    """Question 52's reading of R against F on one seed set."""
    return {"ahead": "the critic's direction", "not ahead": "not the critic's direction"}.get(lead(r, f), "undecided")


def row(got: dict) -> str:
    return " | ".join("-" if c is None else fmt4(c) for c in got.values())


def main(pair: str) -> None:
    """Every training seed with the DT and R read (0, 1; HalfCheetah `pace` also 2, amendment 3, without F), then
    the mean over those seeds of each arm read in all of them."""
    folder, table = FOLDERS[pair], {}
    for seed in SEEDS:
        for es, name in SETS.items():
            got = {a: read(folder, f"{a}{seed}", es) for a in ARMS}
            missing = [a for a, v in got.items() if v is None]
            if missing:
                print(f"seed {seed} {name}: missing", missing)
            if got["DT"] is not None and got["R"] is not None:
                table[(seed, name)] = got
    for key in sorted({k[1] for k in table}, reverse=True):
        seeds = [s for s in SEEDS if (s, key) in table]
        if len(seeds) >= 2:
            every = [a for a in ARMS if all(table[(s, key)][a] is not None for s in seeds)]
            mean = {a: np.mean([table[(s, key)][a] for s in seeds], axis=0) if a in every else None for a in ARMS}
            table[(f"mean of {len(seeds)}", key)] = mean
    for (seed, name), got in table.items():
        print(f"| {seed} | {name} | {row(got)} |")
    for (seed, name), got in table.items():
        dt, r, z, f = (got[a] for a in ARMS)
        said = [f"Q49 R ahead of DT {ahead(r, dt)}"]
        said += [] if z is None else [f"Q50 Z ahead {ahead(z, dt)}"]
        said += [] if f is None else [f"Q51 F ahead {ahead(f, dt)}", f"Q52 {direction(r, f)}"]
        said += [] if z is None else [f"R against Z (Q53): {lead(r, z)}"]
        print(f"seed {seed} {name}: " + "; ".join(said))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "walker2d-mr")
