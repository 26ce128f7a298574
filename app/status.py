"""Status tab: which behaviour policies, datasets and models are available on this install, and where the slider
works (each shown model's shipped sweep read against issue 13's bars)."""

from __future__ import annotations

import json

import gradio as gr
import numpy as np

from app import catalog
from core.envs import TASKS
from core.metrics import BAR_LABELS, CONTROL_BARS, bars_missed, beside_bar, spread_ratio
from core.store.layout import levels_path

BARS = {name: bar for name, bar, _ in CONTROL_BARS}
SLIDER_HEADERS = [
    "task",
    "dataset",
    "model",
    "seed",
    "Spearman",
    "error",
    "spread",
    "best return",
    "meets the bars?",
    "data",
]


def behaviour_table() -> list[list]:
    """One row per task: measured random / medium / expert returns of the shipped behaviour snapshots."""
    rows = []
    for name, task in TASKS.items():
        path = levels_path(name)
        if not path.exists():
            rows.append([name, "-", "-", "-", "not trained yet"])
            continue
        lv = json.loads(path.read_text())
        rows.append(
            [
                name,
                round(lv["random"]["mean"], 1),
                round(lv["medium"]["mean"], 1),
                round(lv["expert"]["mean"], 1),
                f"{task.d4rl_score(lv['expert']['mean']):.0f}",
            ]
        )
    return rows


def slider_table() -> list[list]:
    """One row per shown model: its shipped sweep's in-range Spearman, alignment error and spread, best mean return,
    and whether that meets all three bars (``core.metrics.CONTROL_BARS``), naming the ones it misses; and whether
    its training data can be rebuilt. A pair shipped without a sweep says so instead of numbers."""
    rows = []
    for task, datasets in sorted(catalog.available().items()):
        for dataset, kinds in sorted(datasets.items()):
            sweep = catalog.precomputed_sweep(task, dataset) or {"models": {}}
            for kind in kinds:
                meta = catalog.model_meta(task, dataset, kind) or {}
                data = "stale: cannot be rebuilt" if catalog.stale_reason(task, dataset, kind) else "rebuildable"
                head = [task, dataset, catalog.MODEL_NAMES[kind], meta.get("seed", 0)]
                m = sweep["models"].get(kind, {}).get("metrics")
                if m is None:
                    rows.append([*head, "-", "-", "-", "-", "no shipped sweep (core.evaluate --ship)", data])
                    continue
                if "spread_ratio" not in m:  # sweeps shipped before the measure: the same formula, on their means
                    stats = sweep.get("return_stats") or meta.get("return_stats", {})
                    m = {**m, "spread_ratio": _spread(sweep["models"][kind]["sweep"]["targets"], m, stats)}
                inside, missed = m.get("in_range", {}), bars_missed(m)
                rows.append(
                    [
                        *head,
                        _num(inside.get("spearman"), BARS["spearman"]),
                        _num(inside.get("alignment_error"), BARS["alignment_error"], digits=3),
                        _num(m.get("spread_ratio"), BARS["spread_ratio"]),
                        f"{m['best_return']:,.0f}",
                        "yes" if not missed else "no: " + ", ".join(missed),
                        data,
                    ]
                )
    return rows


def _spread(targets: list[float], metrics: dict, stats: dict) -> float | None:
    if "p5" not in stats or "p95" not in stats:
        return None
    return spread_ratio(np.asarray(targets), np.asarray(metrics["per_target_mean"]), stats["p5"], stats["p95"])


def _num(v, bar: float, digits: int = 2) -> str:
    """``digits`` decimals, more where those would read as the bar itself (a Spearman of 0.9453 is not 0.95)."""
    return "-" if v is None or v != v else beside_bar(v, bar, digits)


def slider_markdown() -> str:
    """``slider_table`` as a Markdown table under what it measures (every row visible, no scrolling)."""
    bars = ", ".join(f"{BAR_LABELS[n]} {'>=' if hi else '<='} {b:g}" for n, b, hi in CONTROL_BARS)
    lines = [
        "**Where the slider works.** Each shown model's shipped alignment sweep (8 requested returns from the data's "
        "5th percentile to 1.5x its best episode, 5 episodes each, test seeds 100000+; the curves on the *Alignment* "
        "tab), over the requests inside the data's return range, against the bars a slider has to meet here: "
        f"{bars} (error: mean |achieved - requested| as a share of the data's return range; spread: how far the "
        "achieved mean moves between the data's 5th- and 95th-percentile requests, as a share of the requested move). "
        "The README's tables use 10 requests on validation and test seeds.",
        "",
        "| " + " | ".join(SLIDER_HEADERS) + " |",
        "|" + "---|" * len(SLIDER_HEADERS),
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in slider_table()]
    return "\n".join(lines)


def build_status_tab() -> None:
    with gr.Tab("Status"):
        gr.Markdown(slider_markdown)
        gr.Markdown(
            "Behaviour policies trained on this project's machines (returns measured by "
            "`python -m core.behavior.select`)."
        )
        gr.Dataframe(
            value=behaviour_table,
            headers=["task", "random", "medium", "expert", "expert D4RL score"],
            interactive=False,
        )
