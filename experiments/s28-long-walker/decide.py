"""s28-long-walker (RULES.md): questions 62 (the `long` Q-ALIGN DT meets the three bars on the two-seed validation
mean), 63 (as good as its `long` DT within the floor), 64 (reported: the `long` DTs against session 10's `mid` DTs of
the same seeds, test), and the standing ship rule of each seed's pair against the shown pair read on this CPU.

    PYTHONPATH=$PWD python experiments/s28-long-walker/decide.py
"""

import json
import os
import sys
from pathlib import Path

import numpy as np

from experiments.table import SETS, as_good, fmt4, missed, read

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # ship_rule imports table as a sibling module
from ship_rule import verdict  # noqa: E402

EXP = Path(os.environ.get("QDT_EXP", "/work/exp")) / "s28-long-walker"
SEEDS = (1, 2)
MID_TEST = {1: (0.81, 0.118), 2: (0.04, 0.290)}  # session 10's `mid` DTs, test seeds (RULES.md)


def q62() -> None:
    qa = [read(EXP, f"QA{s}", 300000) for s in SEEDS]
    if any(c is None for c in qa):
        print("Q62: missing reads")
        return
    mean = np.mean(qa, axis=0)
    misses = missed(mean)
    print(f"Q62 validation mean of {len(SEEDS)} Q-ALIGN DT {fmt4(mean)}: meets the three bars: {not misses} {misses}")


def q64() -> None:
    for s in SEEDS:
        c = read(EXP, f"DT{s}", 100000)
        mid = MID_TEST[s]
        print(f"Q64 seed {s} test: long DT {'missing' if c is None else fmt4(c)} against mid DT {mid[0]} / {mid[1]}")


def ship() -> None:
    old = [json.loads((EXP / f"SHOWN-eval-{es}" / "report.json").read_text()) for es in SETS]
    for s in SEEDS:
        paths = [EXP / f"{t}{s}-eval-{es}" / "report.json" for t in ("DT", "QA") for es in SETS]
        if not all(p.exists() for p in paths):
            print(f"ship rule seed {s}: missing reads")
            continue
        new = [json.loads(p.read_text()) for p in paths]
        ok_dt, lines_dt = verdict(new[:2], old)
        ok_qa, lines_qa = verdict(new[2:], old)
        print("\n".join(f"seed {s} {line}" for line in lines_dt + lines_qa))
        print(f"ship rule seed {s}: {'the pair ships' if ok_dt and ok_qa else 'does not ship'}")


def main() -> None:
    q62()
    as_good("Q63", "walker2d control ", None, (EXP, "DT"), (EXP, "QA"), SEEDS)
    q64()
    ship()


if __name__ == "__main__":
    main()
