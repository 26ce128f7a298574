"""The live tabs: 'Target return' and 'Target velocity' share one layout and one set of handlers."""

from __future__ import annotations

import gradio as gr

from app import catalog, episode, text


def _first(options: list[str], prefer: str) -> str | None:
    return prefer if prefer in options else (options[0] if options else None)


def build_episode_tab(mode: str, models: dict[str, dict[str, list[str]]]) -> None:
    """One tab; ``mode`` is ``return`` or ``velocity``. ``models`` = catalog.available()."""
    tasks = sorted(models)
    task0 = _first(tasks, "halfcheetah" if mode == "velocity" else "hopper")
    datasets = sorted(models.get(task0, {})) if task0 else []
    ds0 = _first(datasets, "medium")
    stats = catalog.return_stats(task0, ds0) if ds0 else {"min": 0.0, "max": 1000.0, "p50": 500.0}
    name = "Target return" if mode == "return" else "Target velocity"
    with gr.Tab(name):
        session = gr.State(episode.LiveSession())
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                task = gr.Dropdown(tasks, value=task0, label="Task")
                dataset = gr.Dropdown(datasets, value=ds0, label="Training dataset")
                choice = gr.Radio(
                    [*catalog.MODEL_NAMES.values(), catalog.CHOICE_BOTH], value=catalog.CHOICE_BOTH, label="Model"
                )
                if mode == "return":
                    target = gr.Slider(
                        0,
                        round(2 * stats["max"]),
                        value=round(stats["max"]),
                        step=10,
                        label="Requested return",
                        info=text.RETURN_HELP,
                    )
                else:
                    target = gr.Slider(
                        0, episode.MAX_SPEED, value=1.5, step=0.1, label="Target speed (m/s)", info=text.VELOCITY_HELP
                    )
                seed = gr.Number(value=0, precision=0, label="Episode seed (same start for both models)")
                with gr.Row():
                    run = gr.Button("Run episode", variant="primary")
                    stop = gr.Button("Stop", variant="stop")
            with gr.Column(scale=2):
                frame = gr.Image(
                    label="Live view (side by side: left Decision Transformer, right Q-ALIGN DT)",
                    type="numpy",
                    height=340,
                    interactive=False,
                )
                plot = gr.Plot(label="Return so far vs requested" if mode == "return" else "Speed vs target")
                summary = gr.Markdown()
                video = gr.File(label="Episode video (MP4, requested and achieved numbers overlaid)", interactive=False)

        def on_task(t):
            ds = sorted(models.get(t, {}))
            d0 = _first(ds, "medium")
            updates = [gr.update(choices=ds, value=d0)]
            if mode == "return" and d0:
                s = catalog.return_stats(t, d0)
                updates.append(gr.update(maximum=round(2 * s["max"]), value=round(s["max"])))
            else:
                updates.append(gr.update())
            return updates

        task.change(on_task, task, [dataset, target], api_name=f"{mode}_task_changed")

        def run_fn(t, d, c, tgt, sd, sess):
            yield from episode.run_episode(t, d, c, tgt, sd, mode, sess)

        event = run.click(
            run_fn,
            [task, dataset, choice, target, seed, session],
            [frame, plot, summary, video, session],
            api_name=f"run_{mode}",
            concurrency_limit=2,
            concurrency_id="episodes",
        )
        target.change(episode.set_target, [target, session], None, api_name=f"set_{mode}_target", queue=False)
        stop.click(episode.stop, session, summary, cancels=[event], api_name=f"stop_{mode}", queue=False)
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
