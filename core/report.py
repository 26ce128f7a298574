"""Print the README's results table from evaluation reports.

python -m core.report results/hopper/medium/report.json results/walker2d/medium/report.json ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from core.envs import get_task

LABELS = {"dt": "DT", "qalign": "Q-ALIGN DT"}


def rows(report: dict) -> list[str]:
    cfg = report["config"]
    task = get_task(cfg["task"])
    out = []
    for kind, m in report["models"].items():
        met, sw = m["metrics"], m["sweep"]
        best = int(np.argmax(met["per_target_mean"]))
        best_eps = np.asarray(sw["returns"][best])
        scores = [task.d4rl_score(r) for r in best_eps]
        vel = m.get("velocity", {}).get("schedule_error")
        out.append(
            f"| {cfg['task']} | {cfg['dataset']} | {LABELS.get(kind, kind)} | {met['best_return']:,.0f} "
            f"(at request {met['best_return_target']:,.0f}) | {np.mean(scores):.1f} +/- {np.std(scores):.1f} | "
            f"{met['all']['spearman']:.2f} | {met['in_range'].get('spearman', float('nan')):.2f} | "
            f"{met['all']['alignment_error']:.2f} | {met['in_range'].get('alignment_error', float('nan')):.2f} | "
            f"{met['all']['monotonicity_violations']} | " + (f"{vel:.2f}" if vel is not None else "-") + " |"
        )
    return out


HEADER = (
    "| task | dataset | model | best mean return | D4RL score at best request (mean +/- std over episodes) "
    "| Spearman (all) | Spearman (in data range) | align. error (all) | align. error (in range) "
    "| monotonicity violations | velocity schedule error (m/s) |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def main(paths: list[str]) -> str:
    lines = [HEADER]
    for p in paths:
        lines += rows(json.loads(Path(p).read_text()))
    text = "\n".join(lines)
    print(text)
    return text


if __name__ == "__main__":
    main(sys.argv[1:])
