"""Print the README's results tables from evaluation reports.

python -m core.report results/hopper/medium/report.json results/walker2d/medium/report.json ...

Reports of one task/dataset from several training seeds (``results/<task>/<dataset>/s<seed>/report.json``)
also get a second table: each metric's mean +/- std over the seeds.
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
    trained = report.get("seed", cfg.get("seed", 0))  # the models' training seed (the shown pair may not be 0)
    seed = f" (seed {trained})" if trained else ""
    for kind, m in report["models"].items():
        met, sw = m["metrics"], m["sweep"]
        best = int(np.argmax(met["per_target_mean"]))
        best_eps = np.asarray(sw["returns"][best])
        scores = [task.d4rl_score(r) for r in best_eps]
        vel = m.get("velocity", {}).get("schedule_error")
        out.append(
            f"| {cfg['task']} | {cfg['dataset']}{seed} | {LABELS.get(kind, kind)} | {met['best_return']:,.0f} "
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


SEEDS_HEADER = (
    "| task | dataset | model | seeds | best mean return | D4RL score at best request | Spearman (all) "
    "| align. error (all) | velocity schedule error (m/s) |\n|---|---|---|---|---|---|---|---|---|"
)


def seed_metrics(report: dict, kind: str) -> dict:
    m = report["models"][kind]
    met = m["metrics"]
    return {
        "best": met["best_return"],
        "score": met["best_score"],
        "spearman": met["all"]["spearman"],
        "error": met["all"]["alignment_error"],
        "velocity": m.get("velocity", {}).get("schedule_error"),
    }


def _mean_std(vals: list[float], fmt: str) -> str:
    return f"{np.mean(vals):{fmt}} +/- {np.std(vals):{fmt}}" if vals else "-"


def seed_rows(reports: list[dict]) -> list[str]:
    """One row per (task, dataset, model) holding several training seeds: mean +/- std over seeds."""
    groups: dict[tuple, list[dict]] = {}
    for r in reports:
        groups.setdefault((r["config"]["task"], r["config"]["dataset"]), []).append(r)
    out = []
    for (task, dataset), group in groups.items():
        seeds = sorted({r["config"]["seed"] for r in group})
        if len(seeds) < 2:
            continue
        for kind in group[0]["models"]:
            ms = [seed_metrics(r, kind) for r in group]
            agg = lambda key, fmt, ms=ms: _mean_std([m[key] for m in ms if m[key] is not None], fmt)  # noqa: E731
            out.append(
                f"| {task} | {dataset} | {LABELS.get(kind, kind)} | {', '.join(map(str, seeds))} | {agg('best', ',.0f')} "
                f"| {agg('score', '.1f')} | {agg('spearman', '.2f')} | {agg('error', '.2f')} | {agg('velocity', '.2f')} |"
            )
    return out


def main(paths: list[str]) -> str:
    reports = [json.loads(Path(p).read_text()) for p in paths]
    lines = [HEADER]
    for r in reports:
        lines += rows(r)
    by_seed = seed_rows(reports)
    if by_seed:
        lines += ["", "Over training seeds (mean +/- std across seeds):", "", SEEDS_HEADER, *by_seed]
    text = "\n".join(lines)
    print(text)
    return text


if __name__ == "__main__":
    main(sys.argv[1:])
