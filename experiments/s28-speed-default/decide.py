"""s28-speed-default (RULES.md): the shipped HalfCheetah `pace` pair held at one constant speed, today's default (1.5
m/s) against the middle of the data's range (2.3 m/s); one-second speed error after settling, question 61.

    PYTHONPATH=$PWD python experiments/s28-speed-default/decide.py
"""

import json
import os
from pathlib import Path

EXP = Path(os.environ.get("QDT_EXP", "/work/exp")) / "s28-speed-default"
SETS = {300000: "validation", 100000: "test"}
SPEEDS = ("1.5", "2.3")


def error(es: int, speed: str, kind: str) -> float | None:
    path = EXP / f"v{speed}-{es}" / "report.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["models"][kind]["velocity"]["schedule_error_1s"]


def main() -> None:
    print("| seed set | speed (m/s) | DT | Q-ALIGN DT |")
    print("|---|---|---|---|")
    for es, name in SETS.items():
        got = {(v, k): error(es, v, k) for v in SPEEDS for k in ("dt", "qalign")}
        for v in SPEEDS:
            cells = [got[(v, k)] for k in ("dt", "qalign")]
            print(f"| {name} | {v} | " + " | ".join("missing" if c is None else f"{c:.3f}" for c in cells) + " |")
        qa = [got[(v, "qalign")] for v in SPEEDS]
        if None not in qa:
            print(f"{name}: Q61 Q-ALIGN DT's error at 2.3 below its error at 1.5: {qa[1] < qa[0]}")


if __name__ == "__main__":
    main()
