"""Status tab: which behaviour policies, datasets and models are available on this install."""

from __future__ import annotations

import json

import gradio as gr

from core.envs import TASKS
from core.store.layout import levels_path


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


def build_status_tab() -> None:
    with gr.Tab("Status"):
        gr.Markdown(
            "Behaviour policies trained on this project's machines (returns measured by "
            "`python -m core.behavior.select`)."
        )
        gr.Dataframe(
            value=behaviour_table,
            headers=["task", "random", "medium", "expert", "expert D4RL score"],
            interactive=False,
        )
