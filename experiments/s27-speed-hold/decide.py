"""s27-speed-hold (RULES.md): the shipped HalfCheetah `pace` pair, speed held, one-second step and smooth errors per
schedule and seed set, and question 57.

    PYTHONPATH=$PWD python experiments/s27-speed-hold/decide.py
"""

import json
import os
from pathlib import Path

EXP = Path(os.environ.get("QDT_EXP", "/work/exp")) / "s27-speed-hold"
SETS = {300000: "validation", 100000: "test"}
BAR = 0.30


def errors(report: dict, kind: str) -> tuple[float, float]:
    """(step, smooth) one-second errors of one model, m/s."""
    v = report["models"][kind]["velocity"]
    return v["schedule_error_1s"], v["smooth"]["tracking_error_1s"]


def main() -> None:
    cells, missing = [], []
    for es, name in SETS.items():
        for sched in ("B", "D"):
            path = EXP / f"{sched}-{es}" / "report.json"
            if not path.exists():
                missing.append(f"{sched}-{es}")
                continue
            report = json.loads(path.read_text())
            dt, qa = errors(report, "dt"), errors(report, "qalign")
            print(f"| {sched} | {name} | {dt[0]:.3f} / {dt[1]:.3f} | {qa[0]:.3f} / {qa[1]:.3f} |")
            cells += [(q <= BAR and q < d) for q, d in zip(qa, dt)]
    if missing:
        print("missing:", missing)
    else:
        print(f"Q57 (Q-ALIGN DT held <= {BAR} and under the held DT in all 8 cells): {all(cells)} ({sum(cells)} of 8)")


if __name__ == "__main__":
    main()
