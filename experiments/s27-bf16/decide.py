"""s27-bf16 (RULES.md): the `cpu` DT in fp32 and under bf16 autocast, per training seed and on the two-seed mean,
question 55; question 56's steps/s from the training logs; amendment 1's Q-ALIGN stage under bf16 (arm B against R
on HalfCheetah `pace`, seeds 0-2), question 58.

    PYTHONPATH=$PWD python experiments/s27-bf16/decide.py
"""

import os
import re
from pathlib import Path

from experiments.table import as_good

EXP = Path(os.environ.get("QDT_EXP", "/work/exp")) / "s27-bf16"
PACE = EXP.parent / "s26-critic-sign" / "halfcheetah-pace"  # amendment 1's runs (session 26's arms.sh)


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


def main() -> None:
    as_good("Q55", "", "dt", (EXP, "fp32"), (EXP, "bf16"), (0, 1))
    as_good("Q55b", "three seeds ", "dt", (EXP, "fp32"), (EXP, "bf16"), (0, 1, 2))  # amendment 2 (session 28)
    for s in (0, 1):
        r = {p: steps_per_s(p, s) for p in ("fp32", "bf16")}
        if None not in r.values():
            print(f"Q56 seed {s}: fp32 {r['fp32']:.2f}, bf16 {r['bf16']:.2f} steps/s ({r['bf16'] / r['fp32']:.2f}x)")
    as_good("Q58", "pace ", "qalign", (PACE, "R"), (PACE, "B"), (0, 1, 2))


if __name__ == "__main__":
    main()
