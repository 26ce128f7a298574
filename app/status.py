"""Status tab: which behaviour policies, datasets and models are available on this install, and where the slider
works (each shown model's shipped sweep read against issue 13's bars)."""

from __future__ import annotations

import json

import gradio as gr
import numpy as np

from app import catalog
from core.calibration import CALIBRATION_SEED
from core.envs import TASKS
from core.evaluation import EPISODES, EVAL_SEED, HIGH_FACTOR, IN_RANGE_TARGETS
from core.metrics import BAR_LABELS, CONTROL_BARS, bars_missed, beside_bar, in_data_range, spread_ratio
from core.store.layout import levels_path

BARS = {name: bar for name, bar, _ in CONTROL_BARS}
SLIDER_HEADERS = [
    "task",
    "dataset",
    "model",
    "seed",
    "requests (in range) x episodes",
    "Spearman",
    "error",
    "spread",
    "best return",
    "meets the bars?",
    "asked through the calibration",
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
            measured = catalog.calibration_errors(task, dataset)
            for kind in kinds:
                meta = catalog.model_meta(task, dataset, kind) or {}
                data = "stale: cannot be rebuilt" if catalog.stale_reason(task, dataset, kind) else "rebuildable"
                head = [task, dataset, catalog.MODEL_NAMES[kind], meta.get("seed", 0)]
                m = sweep["models"].get(kind, {}).get("metrics")
                if m is None:
                    rows.append([*head, "-", "-", "-", "-", "-", "no shipped sweep (core.evaluate --ship)", "-", data])
                    continue
                stats = sweep.get("return_stats") or meta.get("return_stats", {})
                if "spread_ratio" not in m:  # sweeps shipped before the measure: the same formula, on their means
                    m = {**m, "spread_ratio": _spread(sweep["models"][kind]["sweep"]["targets"], m, stats)}
                inside, missed = m.get("in_range", {}), bars_missed(m)
                rows.append(
                    [
                        *head,
                        _requests(sweep["models"][kind]["sweep"], stats),
                        _num(inside.get("spearman"), BARS["spearman"]),
                        _num(inside.get("alignment_error"), BARS["alignment_error"], digits=3),
                        _num(m.get("spread_ratio"), BARS["spread_ratio"]),
                        f"{m['best_return']:,.0f}",
                        "yes" if not missed else "no: " + ", ".join(missed),
                        _calibrated(measured.get(kind)),
                        data,
                    ]
                )
    return rows


def _requests(sweep: dict, stats: dict) -> str:
    """How much the row's numbers rest on: "10 (8) x 5" is 10 requests, 8 inside the data's return range, 5
    episodes each."""
    targets = np.asarray(sweep["targets"], float)
    inside = int(in_data_range(targets, stats["min"], stats["max"]).sum())
    return f"{len(targets)} ({inside}) x {len(sweep['returns'][0])}"


def _calibrated(measured: dict | None) -> str:
    """Mean |wanted - achieved| on the calibration's fresh seeds, asking the wanted return as the RTG -> asking
    through the model's calibration (``core.calibrate``); "-" where none is shipped."""
    if not measured:
        return "-"
    return f"{measured['without']['mean_abs_error']:,.0f} -> {measured['with']['mean_abs_error']:,.0f}"


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
        "**Where the slider works.** Each shown model's shipped alignment sweep (`python -m core.evaluate --ship`: "
        f"requested returns evenly spaced from the data's 5th percentile to {HIGH_FACTOR:g}x its best episode, as many "
        f"as put {IN_RANGE_TARGETS} inside the data's return range, "
        f"{EPISODES} episodes each, test seeds {EVAL_SEED}+; the curves on the *Alignment* tab), over the requests "
        f"inside the data's return range, against the bars a slider has to meet here: {bars} (error: mean |achieved "
        "- requested| as a share of the data's return range; spread: how far the achieved mean moves between the "
        "data's 5th- and 95th-percentile requests, as a share of the requested move). *Asked through the "
        "calibration*: mean |wanted - achieved| over 10 wanted returns from the data's 5th percentile to its best "
        f"episode x 5 episodes on fresh seeds {CALIBRATION_SEED}+, asking the wanted return as the RTG -> asking "
        "for the RTG the model's calibration (fitted on that sweep) maps it to (`python -m core.calibrate --ship`).",
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
