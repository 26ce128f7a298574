"""Alignment tab: precomputed achieved-vs-requested curves, and a quick live sweep with progress."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from app import catalog, text
from app.validate import number
from core.evaluation import HIGH_FACTOR, default_targets, evaluate
from core.plots import alignment_figure

MAX_TARGETS, MAX_EPISODES = 10, 5
QUICK_SEED = 200_000  # dashboard sweeps: their own seeds, recorded in the exported files


def metrics_table(models: dict) -> str:
    rows = [
        "| model | Spearman | alignment error | slope | best return | best D4RL score |",
        "|---|---|---|---|---|---|",
    ]
    for kind, m in models.items():
        rep = m["metrics"]
        a = rep["all"]
        rows.append(
            f"| {catalog.MODEL_NAMES[kind]} | {a['spearman']:.2f} | {a['alignment_error']:.2f} | "
            f"{a['slope']:.2f} | {rep['best_return']:,.0f} | {rep['best_score']:.1f} |"
        )
    return "\n".join(rows)


def calibration_table(task: str, dataset: str) -> str:
    """Ask for an outcome, measured (``python -m core.calibrate``): mean |wanted - achieved| without and with."""
    data = catalog.calibration_measurement(task, dataset)
    if data is None:
        return f"\n\nAsk for an outcome: not measured for {task}/{dataset} yet (`python -m core.calibrate --ship`)."
    rows = [
        "\n\n**Ask for an outcome**: mean |wanted - achieved| return on fresh seeds",
        "",
        "| model | asked the wanted return | asked through the calibration | measured reach |",
        "|---|---|---|---|",
    ]
    for kind, m in data["models"].items():
        lo, hi = m["reachable"]
        rows.append(
            f"| {catalog.MODEL_NAMES[kind]} | {m['without']['mean_abs_error']:,.0f} | {m['with']['mean_abs_error']:,.0f} "
            f"| {lo:,.0f} to {hi:,.0f} |"
        )
    return "\n".join(rows) + f"\n\n{data.get('how', '')}"


def model_card(task: str, dataset: str) -> str:
    """What each shown model is: its training seed, budget, network, and whether its training data can be rebuilt
    (its fingerprint, checked by the tests) or not (marked stale, with why)."""
    rows = [
        "\n\n**The models**",
        "",
        "| model | training seed | trained for | network | data it learnt from |",
        "|---|---|---|---|---|",
    ]
    for kind in catalog.MODEL_NAMES:
        meta = catalog.model_meta(task, dataset, kind)
        if meta is None:
            continue
        cfg = meta.get("train_config", {})
        net = meta.get("dt_config") or cfg.get("dt", {})
        steps, pre = int(meta.get("step") or 0), int(cfg.get("pretrain_steps") or 0)
        if meta.get("kind") == "qalign" and pre:
            budget = f"{pre:,} BC + {steps - pre:,} alignment steps (eta_align {cfg.get('eta_align', float('nan')):g})"
        else:
            budget = f"{steps:,} BC steps"
        network = (
            f"embed {net.get('embed_dim', '?')}, {net.get('n_layers', '?')} layers, context {net.get('context_len', '?')}"
            f", {net.get('init', 'pytorch')} init"
        )
        if net.get("action_head") == "mixture":
            network += f", mixture action head ({net.get('n_modes', '?')} modes)"
        stale, fp = catalog.stale_reason(task, dataset, kind), meta.get("data_fingerprint")
        if stale:
            data = f"cannot be rebuilt (stale): {stale}"
        elif fp:
            data = f"{fp['transitions']:,} transitions, {fp['episodes']} episodes; rebuildable (fingerprint {fp['sha256']})"
        else:
            data = "no fingerprint recorded"
        rows.append(f"| {catalog.MODEL_NAMES[kind]} | {meta.get('seed', 0)} | {budget} | {network} | {data} |")
    return "\n".join(rows) if len(rows) > 4 else ""


def critic_table(task: str, dataset: str) -> str:
    """The quality gate's scores of the critic the shipped Q-ALIGN model aligned with (``core.critic_quality``)."""
    rec = catalog.critic_record(task, dataset)
    if not rec or not rec.get("quality"):
        return (
            f"\n\nCritic: the Q-ALIGN model of {task}/{dataset} predates the critic quality gate (no scores recorded)."
        )
    q = rec["quality"]
    need = q.get("thresholds", {})
    ceiling = f"; a perfect critic: {q.get('ranking_ceiling', float('nan')):.2f}"

    def cell(key: str, extra: str = "") -> str:
        got = q.get(key, float("nan"))
        return f"{got:.2f} (needs {need[key]}{extra})" if key in need else f"{got:.2f}"

    return (
        f"\n\n**Critic** Q-ALIGN DT aligned with: {rec.get('objective', 'sarsa')}, {rec.get('step', 0):,} steps; "
        f"quality gate: **{rec.get('gate', '?')}**\n\n"
        "| value Spearman | action ranking | sensitivity |\n|---|---|---|\n"
        f"| {cell('value_spearman')} | {cell('ranking_agreement', ceiling)} "
        f"| {cell('sensitivity')} |"
    )


def show_precomputed(task: str, dataset: str):
    data = catalog.precomputed_sweep(task, dataset)
    if data is None:
        return None, f"No precomputed sweep shipped for {task}/{dataset}: use the button below."
    stats = catalog.return_stats(task, dataset)
    note = f"\n\n{data.get('how', '')}"
    table = (
        metrics_table(data["models"])
        + note
        + calibration_table(task, dataset)
        + critic_table(task, dataset)
        + model_card(task, dataset)
    )
    return alignment_figure(data["models"], stats, f"{task} / {dataset}"), table


def quick_sweep(task: str, dataset: str, n_targets, episodes, progress=gr.Progress()):  # noqa: B008  (the Gradio idiom)
    """Sweep both models live with the evaluation library; returns the figure, the metrics table and the
    library's own CSV + JSON files (the format ``python -m core.evaluate`` writes)."""
    n_targets = int(number(n_targets, "Requested returns", 2, MAX_TARGETS, whole=True))
    episodes = int(number(episodes, "Episodes per target", 1, MAX_EPISODES, whole=True))
    task, dataset, kinds = catalog.checked_pair(task, dataset)
    policies = {k: catalog.policy(task, dataset, k) for k in kinds}
    stats = catalog.return_stats(task, dataset)
    targets = default_targets(stats, n_targets, HIGH_FACTOR)
    tell = lambda done, total, kind: progress(
        done / total, desc=f"{catalog.MODEL_NAMES[kind]}: {done}/{total} episodes"
    )  # noqa: E731
    ev = evaluate(policies, dataset, targets, episodes, QUICK_SEED, progress=tell)
    paths = ev.write(Path(tempfile.mkdtemp(prefix="qdt-sweep-")))
    data = ev.sweep_json()
    return (
        alignment_figure(data["models"], stats, f"{task} / {dataset}"),
        metrics_table(data["models"]),
        [str(paths["csv"]), str(paths["json"])],
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
            preprocess=False,  # app.validate names a bad field instead of a generic preprocessing error
            concurrency_limit=1,
            concurrency_id="sweeps",
        )
        return task, dataset, plot, table
