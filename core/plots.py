"""Plotly figures shared by the evaluation report and the dashboard."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

COLORS = {"dt": "#7f7f7f", "qalign": "#d62728"}
MODEL_NAMES = {"dt": "Decision Transformer", "qalign": "Q-ALIGN DT"}  # the one place model kinds get names


def alignment_figure(models: dict[str, dict], stats: dict, label: str) -> go.Figure:
    """Achieved vs requested return, mean +/- std per target, the diagonal, the data's range shaded.
    ``label`` names the run in the title (e.g. "hopper / medium-replay")."""
    fig = go.Figure()
    lo = min(min(m["sweep"]["targets"]) for m in models.values())
    hi = max(max(m["sweep"]["targets"]) for m in models.values())
    fig.add_vrect(
        x0=stats["min"],
        x1=stats["max"],
        fillcolor="#1f77b4",
        opacity=0.08,
        line_width=0,
        annotation_text="dataset returns",
        annotation_position="top left",
    )
    fig.add_trace(
        go.Scatter(
            x=[0, hi], y=[0, hi], mode="lines", name="achieved = requested", line={"dash": "dot", "color": "black"}
        )
    )
    for kind, m in models.items():
        t = np.asarray(m["sweep"]["targets"])
        r = np.asarray(m["sweep"]["returns"])
        fig.add_trace(
            go.Scatter(
                x=t,
                y=r.mean(1),
                error_y={"type": "data", "array": r.std(1)},
                mode="lines+markers",
                name=MODEL_NAMES.get(kind, kind),
                line={"color": COLORS.get(kind)},
            )
        )
    fig.update_layout(
        title=f"{label}: achieved vs requested return",
        xaxis_title="requested return",
        yaxis_title="achieved return",
        xaxis_range=[min(0, lo), hi * 1.02],
        template="plotly_white",
    )
    return fig


def velocity_figure(models: dict[str, dict], label: str) -> go.Figure:
    """Measured forward speed vs the target schedule, per model."""
    fig = go.Figure()
    shown_target = False
    for kind, m in models.items():
        if "velocity" not in m:
            continue
        tr = m["velocity"]["trace"]
        if not shown_target:
            fig.add_trace(
                go.Scatter(y=tr["target"], mode="lines", name="target speed", line={"color": "black", "dash": "dot"})
            )
            shown_target = True
        fig.add_trace(
            go.Scatter(y=tr["speed"], mode="lines", name=MODEL_NAMES.get(kind, kind), line={"color": COLORS.get(kind)})
        )
    fig.update_layout(
        title=f"{label}: velocity tracking",
        xaxis_title="step",
        yaxis_title="forward speed (m/s)",
        template="plotly_white",
    )
    return fig


def save_figure(fig: go.Figure, stem: Path, png: bool = True) -> list[Path]:
    """Write ``stem.html`` always and ``stem.png`` when asked and kaleido and a browser are available."""
    stem = Path(stem)
    fig.write_html(stem.with_suffix(".html"), include_plotlyjs=True)
    written = [stem.with_suffix(".html")]
    if not png:
        return written
    try:
        fig.write_image(stem.with_suffix(".png"), width=900, height=560)
        written.append(stem.with_suffix(".png"))
    except Exception as err:  # noqa: BLE001  (kaleido missing, or no browser for it: HTML is enough)
        warnings.warn(f"PNG export skipped ({type(err).__name__}: {str(err)[:120]})", stacklevel=2)
    return written
