"""Episode handlers shared by the return and velocity tabs: run live, retarget, stop, export video.

Plain functions over ``core``; the tabs wire them to components. Per-user state lives in a
``LiveSession`` kept in ``gr.State``, never in module globals.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import plotly.graph_objects as go

from app import catalog
from core.envs import get_task
from core.live import EpisodeTrace, LiveControl, in_own_thread, live_rollout
from core.plots import COLORS
from core.video import frame_skip, recorded

FRAME_SIZE = 320  # px per model; software rendering measured ~2x faster than 480
PLOT_EVERY = 10  # refresh the plot every 10 frames
MAX_SPEED = 15.0


@dataclass
class LiveSession:
    """One user's live episode: its control knobs, traces and the recorded video."""

    control: LiveControl = field(default_factory=LiveControl)
    trace: EpisodeTrace = field(default_factory=EpisodeTrace)
    video: str | None = None
    summary: dict = field(default_factory=dict)


def model_kinds(choice: str) -> list[str]:
    if choice == catalog.CHOICE_BOTH:
        return ["dt", "qalign"]
    by_name = {v: k for k, v in catalog.MODEL_NAMES.items()}
    if choice not in by_name:
        raise gr.Error(f"unknown model {choice!r}; choose one of {list(by_name) + [catalog.CHOICE_BOTH]}")
    return [by_name[choice]]


def load_policies(task: str, dataset: str, choice: str) -> dict:
    try:
        return {k: catalog.policy(task, dataset, k) for k in model_kinds(choice)}
    except (FileNotFoundError, ValueError) as err:
        raise gr.Error(str(err)) from err


def checked_number(value, name: str, lo: float, hi: float, default: float) -> float:
    """Clamp to [lo, hi]; empty or non-finite -> default. Any change is shown as a warning."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not math.isfinite(v):
        gr.Warning(f"{name} was empty or not a number; using {default:g}")
        return default
    if v < lo or v > hi:
        c = min(max(v, lo), hi)
        gr.Warning(f"{name} {v:g} is outside [{lo:g}, {hi:g}]; clamped to {c:g}")
        return c
    return v


def trace_figure(trace: dict, mode: str, target_label: str) -> go.Figure:
    fig = go.Figure()
    x = trace.get("t", [])
    key, unit = ("return", "return so far") if mode == "return" else ("speed", "forward speed (m/s)")
    fig.add_trace(go.Scatter(x=x, y=trace.get("target", []), name=target_label, line={"color": "black", "dash": "dot"}))
    for kind, name in catalog.MODEL_NAMES.items():
        if f"{kind}:{key}" in trace:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=trace[f"{kind}:{key}"],
                    name=name,
                    line={"color": COLORS[kind]},
                )
            )
    fig.update_layout(
        xaxis_title="step",
        yaxis_title=unit,
        template="plotly_white",
        height=320,
        margin={"l": 50, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": 1.15},
    )
    return fig


def summary_markdown(task: str, mode: str, target: float, stats: dict) -> str:
    spec = get_task(task)
    rows = []
    for kind, s in stats.items():
        name = catalog.MODEL_NAMES[kind]
        if mode == "return":
            err = s["return"] - target
            rows.append(
                f"| {name} | {target:,.0f} | {s['return']:,.0f} | {err:+,.0f} | {spec.d4rl_score(s['return']):.1f} |"
            )
        else:
            rows.append(
                f"| {name} | {target:.2f} m/s | {s['mean_speed']:.2f} m/s | {s['mean_speed'] - target:+.2f} | {s['return']:,.0f} |"
            )
    head = (
        "| model | requested return | achieved | error | D4RL-normalised score |\n|---|---|---|---|---|"
        if mode == "return"
        else "| model | target speed | mean speed | error | return |\n|---|---|---|---|---|"
    )
    return head + "\n" + "\n".join(rows)


def run_episode(task: str, dataset: str, choice: str, target, seed, mode: str, session: LiveSession | None):
    """Generator: (frame, plot, summary, video, session) while the episode runs; the video path comes last."""
    session = session if isinstance(session, LiveSession) else LiveSession()
    task = catalog.task_name(task)
    policies = load_policies(task, dataset, choice)
    spec = get_task(task)
    stats = catalog.return_stats(task, dataset)
    if mode == "return":
        hi = 2.0 * stats["max"]
        target = checked_number(target, "Requested return", 0.0, hi, stats["p50"])
    else:
        target = checked_number(target, "Target speed", 0.0, MAX_SPEED, 1.0)
    seed = int(checked_number(seed, "Seed", 0, 2**31 - 1, 0))
    session.control = LiveControl(mode=mode, target=target)
    session.trace = EpisodeTrace()
    session.video, session.summary = None, {}
    video_path = Path(tempfile.mkdtemp(prefix="qdt-")) / f"{task}-{mode}.mp4"
    steps = in_own_thread(
        lambda: live_rollout(policies, spec, session.control, seed, size=FRAME_SIZE, frame_skip=frame_skip(spec)),
        session.control,
    )
    n_frames, step = 0, None
    for step in recorded(steps, video_path, spec, mode, session.trace):
        if step.frame is None:
            continue
        n_frames += 1
        plot = trace_figure(session.trace.to_dict(), mode, "requested") if n_frames % PLOT_EVERY == 1 else gr.skip()
        yield step.frame, plot, gr.skip(), gr.skip(), session
    if step is None:
        raise gr.Error("the episode produced no steps")
    final = session.trace.summary()
    session.video, session.summary = str(video_path), {"task": task, "mode": mode, "target": step.target, **final}
    summary = summary_markdown(task, mode, step.target, final)
    yield step.frame, trace_figure(session.trace.to_dict(), mode, "requested"), summary, session.video, session


def set_target(value, session: LiveSession | None) -> None:
    """Move the target of the running episode (re-anchors its RTG)."""
    if isinstance(session, LiveSession):
        lo, hi = (0.0, MAX_SPEED) if session.control.mode == "velocity" else (0.0, float("inf"))
        session.control.set_target(checked_number(value, "Target", lo, hi, session.control.target))


def stop(session: LiveSession | None) -> str:
    if isinstance(session, LiveSession):
        session.control.stop = True
    return "Stopped."
