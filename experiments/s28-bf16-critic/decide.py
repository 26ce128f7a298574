"""s28-bf16-critic (RULES.md): question 59 (the gate's scores of the bf16 critic C against R's fp32 critic) and question
60 (arm C against session 26's R on HalfCheetah `pace`, seeds 0-2, both seed sets).

    PYTHONPATH=$PWD python experiments/s28-bf16-critic/decide.py
"""

import json
import os
from pathlib import Path

from experiments.table import as_good

X = Path(os.environ.get("QDT_EXP", "/work/exp"))
EXP = X / "s28-bf16-critic"
PACE = X / "s26-critic-sign" / "halfcheetah-pace"  # session 26's R (fp32) and its critic
CRITIC = Path("runs/halfcheetah/pace/s0/critic/critic.json")


def gate() -> None:
    fp32, bf16 = (json.loads((f / CRITIC).read_text())["quality"] for f in (PACE, EXP))
    for key in ("value_spearman", "value_nrmse", "ranking_agreement", "sensitivity"):
        print(f"| {key} | {fp32[key]:.4f} | {bf16[key]:.4f} |")
    bars = fp32["thresholds"]
    same = all((fp32[k] >= v) == (bf16[k] >= v) for k, v in bars.items())
    fit = bf16["value_spearman"] >= fp32["value_spearman"] - 0.02 and bf16["value_nrmse"] <= 1.1 * fp32["value_nrmse"]
    print(
        f"Q59 the bf16 critic fits as the fp32 one (value within the margins, same verdict on every bar): {same and fit}"
    )


def main() -> None:
    gate()
    as_good("Q60", "pace ", "qalign", (PACE, "R"), (EXP, "C"), (0, 1, 2))


if __name__ == "__main__":
    main()
