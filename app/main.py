"""Entry point: `python app/main.py` composes the tabs and serves the dashboard.

Host and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (what Hugging Face Spaces sets).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from the repo root

import gradio as gr  # noqa: E402

import core  # noqa: E402,F401  (headless MuJoCo before anything imports it)
from app import catalog, text  # noqa: E402
from app.alignment_tab import build_alignment_tab, show_precomputed  # noqa: E402
from app.episode_tab import build_episode_tab  # noqa: E402
from app.status import build_status_tab  # noqa: E402

MAX_QUEUE = 32  # waiting requests beyond this are refused with a message instead of piling up


def build_app() -> gr.Blocks:
    models = catalog.available()
    with gr.Blocks(title=text.TITLE) as demo:
        gr.Markdown(f"# {text.TITLE}\n{text.INTRO}")
        if not models:
            gr.Markdown(text.NO_MODELS)
        build_episode_tab("return", models)
        build_episode_tab("velocity", models)
        task, dataset, plot, table = build_alignment_tab(models)
        build_status_tab()
        demo.load(show_precomputed, [task, dataset], [plot, table], api_visibility="private")
    return demo.queue(default_concurrency_limit=2, max_size=MAX_QUEUE)


if __name__ == "__main__":
    build_app().launch(show_error=False)
