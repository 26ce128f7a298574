"""Entry point: `python app/main.py` composes the tabs, starts the live engine and serves the dashboard.

Gradio is mounted on a FastAPI app that also carries the live view's stream and page modules
(app/live_routes.py). Host and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (what Hugging Face
Spaces sets).
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from the repo root

import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402

import core  # noqa: E402,F401  (headless MuJoCo before anything imports it)
from app import catalog, episode, live_routes, text  # noqa: E402
from app.alignment_tab import build_alignment_tab, show_precomputed  # noqa: E402
from app.episode_tab import build_episode_tab  # noqa: E402
from app.status import build_status_tab  # noqa: E402
from core import lanes  # noqa: E402
from core.engine import LiveEngine  # noqa: E402
from core.rollout import LANES  # noqa: E402
from core.shards import Engine, live_engine  # noqa: E402

MAX_QUEUE = 32  # waiting requests beyond this are refused with a message instead of piling up


def build_app(engine: Engine | None = None) -> gr.Blocks:
    """The dashboard's Blocks; its live tabs submit to ``engine`` (a new, not yet started one if None)."""
    engine = engine or LiveEngine()
    models = catalog.available()
    with gr.Blocks(title=text.TITLE) as demo:
        gr.Markdown(f"# {text.TITLE}\n{text.INTRO}")
        if not models:
            gr.Markdown(text.NO_MODELS)
        build_episode_tab("return", models, engine)
        build_episode_tab("velocity", models, engine)
        task, dataset, plot, table = build_alignment_tab(models)
        build_status_tab()
        demo.load(show_precomputed, [task, dataset], [plot, table], api_visibility="private")
    return demo.queue(default_concurrency_limit=2, max_size=MAX_QUEUE)


def build_server(demo: gr.Blocks, engine: Engine) -> FastAPI:
    """One FastAPI app: the live routes first, Gradio at '/' for everything else."""
    app = live_routes.mount(FastAPI(), engine)
    return gr.mount_gradio_app(app, demo, path="/", show_error=False)


def warm_up(engine: Engine) -> None:
    """Start the engine and, in the background, load every shipped model, build each task's simulator and the
    episode plot once (plotly's first figure imports its layout classes: 0.46 s against 0.07 s after), and start
    the sweep lane workers, so the first viewer's episode (or sweep) starts and ends without waiting for them."""
    models = catalog.available()
    paths = [str(catalog.model_path(t, d, k)) for t, ds in models.items() for d, kinds in ds.items() for k in kinds]
    engine.start()

    def warm() -> None:
        engine.warm(sorted(models), paths)
        episode.trace_figure({"t": [0, 1], "target": [0.0, 0.0], "dt:return": [0.0, 1.0]}, "return", "requested")

    threading.Thread(target=warm, name="warm-up", daemon=True).start()
    lanes.warm(LANES - 1)


def main() -> None:
    import uvicorn

    engine = live_engine().start()  # one engine per core in its own process (core/shards.py): they import meanwhile
    server = build_server(build_app(engine), engine)
    warm_up(engine)
    host = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
    port = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    print(f"* Running on http://{host}:{port}", flush=True)
    uvicorn.run(server, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
