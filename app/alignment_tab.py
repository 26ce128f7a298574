"""Alignment tab: precomputed achieved-vs-requested curves, and a quick live sweep with progress."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import gradio as gr

from app import catalog, text
from app.episode import checked_number
from core.envs import get_task
from core.evaluate import default_targets
from core.metrics import alignment_report
from core.plots import alignment_figure
from core.rollout import sweep

MAX_TARGETS, MAX_EPISODES = 10, 5
QUICK_SEED = 200_000  # dashboard sweeps: their own seeds, recorded in the exported files


def metrics_table(models: dict, stats: dict, task: str) -> str:
    rows = [
        "| model | Spearman | alignment error | slope | best return | best D4RL score |",
        "|---|---|---|---|---|---|",
    ]
    for kind, m in models.items():
        rep = alignment_report(
            m["sweep"]["targets"], m["sweep"]["returns"], stats["min"], stats["max"], get_task(task).d4rl_score
        )
        a = rep["all"]
        rows.append(
            f"| {catalog.MODEL_NAMES[kind]} | {a['spearman']:.2f} | {a['alignment_error']:.2f} | "
            f"{a['slope']:.2f} | {rep['best_return']:,.0f} | {rep['best_score']:.1f} |"
        )
    return "\n".join(rows)


def show_precomputed(task: str, dataset: str):
    data = catalog.precomputed_sweep(task, dataset)
    if data is None:
        return None, f"No precomputed sweep shipped for {task}/{dataset}: use the button below."
    stats = catalog.return_stats(task, dataset)
    note = f"\n\n{data.get('how', '')}"
    return alignment_figure(data["models"], stats, f"{task} / {dataset}"), metrics_table(
        data["models"], stats, task
    ) + note


def quick_sweep(task: str, dataset: str, n_targets, episodes, progress=gr.Progress()):  # noqa: B008  (the Gradio idiom)
    """Sweep both models live; returns the figure, the metrics table and CSV + JSON files."""
    n_targets = int(checked_number(n_targets, "Targets", 2, MAX_TARGETS, 6))
    episodes = int(checked_number(episodes, "Episodes per target", 1, MAX_EPISODES, 2))
    kinds = catalog.available().get(task, {}).get(dataset, [])
    if not kinds:
        raise gr.Error(f"no checkpoints for {task}/{dataset}")
    stats = catalog.return_stats(task, dataset)
    targets = default_targets(stats, n_targets, 1.5)
    models = {}
    for i, kind in enumerate(kinds):
        pol = catalog.policy(task, dataset, kind)
        label = catalog.MODEL_NAMES[kind]
        res = sweep(
            pol,
            get_task(task),
            targets,
            episodes,
            QUICK_SEED,
            progress=lambda done, n, i=i, label=label: progress(
                (i + done / n) / len(kinds), desc=f"{label}: {done}/{n} episodes"
            ),
        )
        models[kind] = {"sweep": res.to_dict()}
    out = Path(tempfile.mkdtemp(prefix="qdt-sweep-"))
    (out / "sweep.json").write_text(
        json.dumps({"task": task, "dataset": dataset, "seed": QUICK_SEED, "models": models}, indent=1)
    )
    with (out / "sweep.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "requested_return", "episode", "seed", "achieved_return", "length"])
        for kind, m in models.items():
            s = m["sweep"]
            for i, t in enumerate(s["targets"]):
                for j, r in enumerate(s["returns"][i]):
                    w.writerow([kind, f"{t:.1f}", j, s["seeds"][i][j], f"{r:.2f}", s["lengths"][i][j]])
    return (
        alignment_figure(models, stats, f"{task} / {dataset}"),
        metrics_table(models, stats, task),
        [str(out / "sweep.csv"), str(out / "sweep.json")],
    )


def build_alignment_tab(models: dict[str, dict[str, list[str]]]) -> None:
    tasks = sorted(models)
    task0 = tasks[0] if tasks else None
    ds0 = sorted(models[task0])[0] if task0 else None
    with gr.Tab("Alignment"):
        gr.Markdown(text.ALIGNMENT_HELP)
        with gr.Row():
            task = gr.Dropdown(tasks, value=task0, label="Task")
            dataset = gr.Dropdown(sorted(models.get(task0, {})), value=ds0, label="Training dataset")
        plot = gr.Plot(label="Achieved vs requested return")
        table = gr.Markdown()
        with gr.Accordion("Run a quick sweep", open=False):
            with gr.Row():
                n_targets = gr.Slider(2, MAX_TARGETS, value=6, step=1, label="Requested returns")
                episodes = gr.Slider(1, MAX_EPISODES, value=2, step=1, label="Episodes per target")
            go_btn = gr.Button("Run sweep", variant="primary")
            files = gr.File(label="Sweep results (CSV, JSON)", file_count="multiple")
        task.change(
            lambda t: gr.update(choices=sorted(models.get(t, {})), value=(sorted(models.get(t, {})) or [None])[0]),
            task,
            dataset,
            api_name="alignment_task_changed",
        )
        dataset.change(show_precomputed, [task, dataset], [plot, table], api_name="precomputed_sweep")
        go_btn.click(
            quick_sweep,
            [task, dataset, n_targets, episodes],
            [plot, table, files],
            api_name="quick_sweep",
            concurrency_limit=1,
            concurrency_id="sweeps",
        )
        return task, dataset, plot, table
