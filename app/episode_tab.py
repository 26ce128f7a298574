"""The live tabs: 'Target return' and 'Target velocity' share one layout and one set of handlers."""

from __future__ import annotations

import gradio as gr

from app import catalog, episode, text
from core.shards import Engine

# The live view: the page draws it (app/static/live_view.js); the component's value is the episode to open.
VIEW_TEMPLATE = """
<div class="qdt-live" data-view="{mode}">
  <canvas class="qdt-scene" aria-label="live view"></canvas>
  <canvas class="qdt-trace" aria-label="trace"></canvas>
</div>
"""
VIEW_CSS = """
.qdt-live { width: 100%; }
.qdt-live canvas { display: block; width: 100%; }
.qdt-live .qdt-scene { height: 380px; background: #eef3f8; }
.qdt-live .qdt-trace { height: 180px; margin-top: 6px; background: #ffffff; }
"""
VIEW_LOADER = """
import(new URL("live/static/live_view.js", document.baseURI)).then((m) => {
  const root = element.querySelector(".qdt-live");
  const view = m.mount(root, root.dataset.view);
  watch("value", () => view.open(props.value));
  if (props.value) view.open(props.value);
});
"""


def _first(options: list[str], *prefer: str) -> str | None:
    """The first of ``prefer`` that is offered, else the first option."""
    return next((p for p in prefer if p in options), options[0] if options else None)


# The dataset a tab opens on, the first a task ships models for: ``ladder-pure`` (Hopper: one gait per return
# level, a quarter of it the expert's, so its models hold the top gait; README, session 23), ``control`` (made for
# the slider: even in return from random to expert), else ``medium`` (the paper's).
DATASET_ORDER = ("ladder-pure", "control", "medium")
SPEED_DATASET_ORDER = ("pace", *DATASET_ORDER)
"""The velocity tab's: ``pace`` first (HalfCheetah: its pair was trained on a policy running at commanded speeds;
its Q-ALIGN DT, held, meets issue 13's speed bar; README, "Holding a speed", session 27)."""


def build_episode_tab(mode: str, models: dict[str, dict[str, list[str]]], engine: Engine) -> None:
    """One tab; ``mode`` is ``return`` or ``velocity``. ``models`` = catalog.available()."""
    tasks = sorted(models)
    task0 = _first(tasks, "halfcheetah" if mode == "velocity" else "hopper")
    datasets = sorted(models.get(task0, {})) if task0 else []
    order = DATASET_ORDER if mode == "return" else SPEED_DATASET_ORDER
    ds0 = _first(datasets, *order)
    stats = catalog.return_stats(task0, ds0) if ds0 else {"min": 0.0, "max": 1000.0, "p50": 500.0}
    name = "Target return" if mode == "return" else "Target velocity"
    with gr.Tab(name):
        session = gr.State(episode.LiveSession())
        with gr.Row():
            with gr.Column(scale=1, min_width=240):
                task = gr.Dropdown(tasks, value=task0, label="Task")
                dataset = gr.Dropdown(datasets, value=ds0, label="Training dataset", info=text.DATASET_HELP)
            with gr.Column(scale=1, min_width=240):
                choice = gr.Radio(
                    [*catalog.MODEL_NAMES.values(), catalog.CHOICE_BOTH],
                    value=catalog.CHOICE_BOTH,
                    label="Model",
                    elem_id=f"model-{mode}",
                )
                pace = gr.Radio(
                    list(episode.PACES), value="real time", label="Pace", info=text.PACE_HELP, elem_id=f"pace-{mode}"
                )
            with gr.Column(scale=2, min_width=320):
                ask = None
                if mode == "return":
                    ask = gr.Radio(
                        list(episode.ASKS), value=episode.ASK_RTG, label="Ask for", info=text.ASK_HELP, elem_id="ask"
                    )
                    target = gr.Slider(
                        0,
                        round(2 * stats["max"]),
                        value=round(stats["max"]),
                        step=10,
                        label="Requested return",
                        info=text.RETURN_HELP,
                        elem_id=f"target-{mode}",
                    )
                else:
                    ask = gr.Checkbox(
                        value=episode.hold_default(task0, ds0),
                        label=episode.HOLD_LABEL,
                        info=text.HOLD_HELP,
                        elem_id="hold",
                    )
                    target = gr.Slider(
                        0,
                        episode.speed_max(task0, ds0),
                        value=episode.speed_default(task0, ds0),
                        step=0.1,
                        label="Target speed (m/s)",
                        info=text.VELOCITY_HELP,
                        elem_id=f"target-{mode}",
                    )
                prediction = None
                if mode == "return":
                    prediction = gr.Markdown(
                        episode.prediction_markdown(
                            task0, ds0, catalog.CHOICE_BOTH, round(stats["max"]), episode.ASK_RTG
                        )
                        if ds0
                        else "",
                        elem_id="prediction",
                    )
                seed = gr.Number(value=0, precision=0, label="Episode seed (same start for both models)")
                with gr.Row():
                    run = gr.Button("Run episode", variant="primary", elem_id=f"run-{mode}")
                    stop = gr.Button("Stop", variant="stop", elem_id=f"stop-{mode}")
        view = gr.HTML(
            "",
            html_template=VIEW_TEMPLATE.replace("{mode}", mode),
            css_template=VIEW_CSS,
            js_on_load=VIEW_LOADER,
            elem_id=f"live-{mode}",
            label=text.VIEW_LABEL,
        )
        summary = gr.Markdown(elem_id=f"summary-{mode}")
        with gr.Row():
            plot = gr.Plot(label="Return so far vs requested" if mode == "return" else "Speed vs target")
            with gr.Column():
                export = gr.Button("Export MP4 of the last episode", elem_id=f"export-{mode}")
                video = gr.File(label=text.VIDEO_LABEL, interactive=False, elem_id=f"video-{mode}")

        def on_task(t):
            ds = sorted(models.get(t, {}))
            d0 = _first(ds, *order)
            updates = [gr.update(choices=ds, value=d0)]
            if mode == "return" and d0:
                s = catalog.return_stats(t, d0)
                updates.append(gr.update(maximum=round(2 * s["max"]), value=round(s["max"])))
            elif mode == "velocity":  # here too: a new task's defaults must not wait on a dataset change event
                updates += speed_defaults(t, d0)
            else:
                updates.append(gr.update())
            return updates

        def speed_defaults(t, d):
            """The velocity tab's per-dataset defaults: the slider's range and where it opens, and the hold box."""
            slider = gr.update(maximum=episode.speed_max(t, d), value=episode.speed_default(t, d))
            return [slider, gr.update(value=episode.hold_default(t, d))]

        task.change(
            on_task, task, [dataset, target] + ([ask] if mode == "velocity" else []), api_name=f"{mode}_task_changed"
        )
        if mode == "velocity":  # each dataset's own defaults (``episode.speed_default``, ``episode.HOLD_ON``)
            dataset.change(speed_defaults, [task, dataset], [target, ask], queue=False, api_visibility="private")

        def run_fn(t, d, c, tgt, sd, pc, sess, a=None):
            extra = {"ask": a} if mode == "return" else {"hold": a}  # "Ask for", or "Hold the speed"
            yield from episode.run_episode(engine, t, d, c, tgt, sd, pc, mode, sess, **extra)

        if prediction is not None:
            for source in (target, ask, choice, dataset):
                source.change(
                    episode.prediction_markdown,
                    [task, dataset, choice, target, ask],
                    prediction,
                    queue=False,
                    preprocess=False,
                    api_visibility="private",
                )

        run.click(
            run_fn,
            [task, dataset, choice, target, seed, pace, session] + ([ask] if ask is not None else []),
            [view, plot, summary, session],
            api_name=f"run_{mode}",
            preprocess=False,  # app.validate names a bad field instead of a generic preprocessing error
            show_progress="hidden",  # Gradio's animated 'generating' border repaints the page all episode long
            concurrency_limit=engine.cfg.max_episodes,  # handlers only wait on the engine
            concurrency_id="episodes",
        )
        target.change(
            lambda v, s: episode.set_target(engine, v, s),
            [target, session],
            None,
            api_name=f"set_{mode}_target",
            queue=False,
            preprocess=False,
        )
        stop.click(lambda s: episode.stop(engine, s), session, summary, api_name=f"stop_{mode}", queue=False)
        export.click(
            episode.export_video,
            session,
            video,
            api_name=f"export_{mode}",
            concurrency_limit=1,
            concurrency_id="exports",
        )
        if mode == "return" and task0:
            gr.Examples(
                examples=[
                    [task0, ds0, catalog.CHOICE_BOTH, round(stats["max"]), 0],
                    [task0, ds0, catalog.CHOICE_BOTH, round(1.5 * stats["max"]), 1],
                    [task0, ds0, catalog.CHOICE_BOTH, round(stats["p5"]), 2],
                ],
                inputs=[task, dataset, choice, target, seed],
                label="Examples: ask for the data's best return, for 1.5x beyond it, and for a low one",
            )
