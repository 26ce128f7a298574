"""Entry point: `python app/main.py` composes the tabs and serves the dashboard.

Host and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (what Hugging Face Spaces sets).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from the repo root

import gradio as gr  # noqa: E402

import core  # noqa: E402,F401  (headless MuJoCo before anything imports it)
from app.status import build_status_tab  # noqa: E402

TITLE = "Return-conditioned control: Q-ALIGN DT vs Decision Transformer"
INTRO = (
    "Ask a robot for a return (or a speed) and watch how closely it delivers. "
    "The dashboard is being built; this page lists what is installed so far."
)


def build_app() -> gr.Blocks:
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        build_status_tab()
    return demo


if __name__ == "__main__":
    build_app().queue(default_concurrency_limit=2).launch()
