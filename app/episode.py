"""Episode handlers shared by the return and velocity tabs: start an episode in the live engine, retarget
it, stop it, and export it as MP4 afterwards.

Handlers only check input, enqueue into the engine and read what it publishes; the page draws the robots
from the engine's stream (app/live_routes.py). Per-user state lives in a ``LiveSession`` kept in ``gr.State``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import plotly.graph_objects as go

from app import catalog
from app.validate import flag, number, one_of
from core.calibration import SpeedHoldConfig, fastest_speed
from core.engine import EngineBusy, Episode, EpisodeRequest
from core.envs import get_task
from core.live import EpisodeTrace
from core.plots import COLORS
from core.shards import Engine
from core.video import write_episode

FRAME_SIZE = 320  # px per model in the MP4; software rendering measured ~2x faster than 480
MAX_SPEED = 15.0
PACES = {"real time": 1.0, "2x": 2.0, "4x": 4.0}
ASK_RTG, ASK_OUTCOME = "Return-to-go (what the model is told)", "Outcome (the return you want)"
ASKS = (ASK_RTG, ASK_OUTCOME)
HOLD_LABEL = "Hold the speed"
HOLD_ON = frozenset({("halfcheetah", "pace")})
"""(task, dataset) pairs whose velocity requests are held unless the viewer unticks the box: the shipped HalfCheetah
`pace` Q-ALIGN DT, held, meets issue 13's 0.3 m/s on both schedules, step and smooth, both seed sets, under its
held DT (README, "Holding a speed", session 27). Elsewhere open loop unless ticked: on `control` the hold makes the
DT worse, and the recipe's three seeds do not meet the bar held."""


def hold_default(task: str | None, dataset: str | None) -> bool:
    """Whether "Hold the speed" starts ticked for this task's dataset (``HOLD_ON``)."""
    return (task, dataset) in HOLD_ON


def data_fastest(task: str, dataset: str) -> float:
    """The dataset's fastest speed, m/s (``core.calibration.fastest_speed``): what the velocity slider is sized by."""
    return fastest_speed(get_task(task), catalog.return_stats(task, dataset))


SPEED_DEFAULT = 1.5
"""m/s, where the velocity slider opens when no dataset is chosen."""


def speed_default(task: str | None, dataset: str | None) -> float:
    """Where the velocity slider opens for this task's dataset: the middle of the data's speed range, 0.5 x its
    fastest speed (its best episode's return per step), rounded to the slider's 0.1 m/s. On HalfCheetah `pace` (2.3
    m/s) the shipped pair, held, tracks it with 0.18 / 0.25 m/s of error (Q-ALIGN DT / DT, validation seeds) against
    0.34 / 0.66 at the old fixed 1.5 (README, "Where the velocity slider opens", session 28); on Hopper's medium
    datasets 1.5 lay outside the data."""
    if not task or not dataset:
        return SPEED_DEFAULT
    middle = 0.5 * data_fastest(task, dataset)
    return min(max(round(middle, 1), 0.1), MAX_SPEED)  # inside the slider, one step above 0 for data that never ran


GREY = "#8a9099"
HEARTBEAT_S = 1.0  # a running episode's handler wakes this often, so Gradio can cancel it if the viewer left
MAX_SEED = 2**31 - 1
log = logging.getLogger(__name__)


@dataclass
class LiveSession:
    """One viewer's latest episode in the live engine, the range its target may move in, and its MP4."""

    episode: Episode | None = None
    target_name: str = "Target"
    target_hi: float = float("inf")
    video: str | None = None
    """The exported MP4 of ``episode``, once made."""


def model_kinds(choice: str) -> list[str]:
    """Model kinds for a choice, in the page's left-to-right order."""
    options = [*catalog.MODEL_NAMES.values(), catalog.CHOICE_BOTH]
    choice = one_of(choice, "Model", options)
    if choice == catalog.CHOICE_BOTH:
        return ["dt", "qalign"]
    return [k for k, name in catalog.MODEL_NAMES.items() if name == choice]


def speed_max(task: str | None, dataset: str | None) -> float:
    """The velocity slider's top: twice the data's fastest speed (as the return slider's is twice its best return),
    rounded up to 0.5 m/s, at least 1 and at most MAX_SPEED (`pace`: 9.5; it was 15 everywhere, so on Hopper medium,
    fastest 0.7 m/s, the data's speeds filled 5% of the slider)."""
    if not task or not dataset:
        return MAX_SPEED
    top = 2 * data_fastest(task, dataset)
    return min(max(math.ceil(2 * top) / 2, 1.0), MAX_SPEED)


def target_range(task: str, dataset: str, mode: str) -> tuple[str, float]:
    """The target's field name and its maximum: twice the data's best return, or ``speed_max``."""
    if mode == "velocity":
        return "Target speed", speed_max(task, dataset)
    return "Requested return", float(round(2 * catalog.return_stats(task, dataset)["max"]))


def trace_figure(trace: dict, mode: str, target_label: str) -> go.Figure:
    fig = go.Figure()
    x = trace.get("t", [])
    key, unit = ("return", "return so far") if mode == "return" else ("speed", "forward speed (m/s)")
    fig.add_trace(go.Scatter(x=x, y=trace.get("target", []), name=target_label, line={"color": "black", "dash": "dot"}))
    for kind, name in catalog.MODEL_NAMES.items():
        if f"{kind}:{key}" in trace:
            fig.add_trace(go.Scatter(x=x, y=trace[f"{kind}:{key}"], name=name, line={"color": COLORS[kind]}))
        if mode == "return" and f"{kind}:q" in trace:  # the critic's view: its value of each action taken
            q = trace[f"{kind}:q"]
            fig.add_trace(
                go.Scatter(
                    x=x[: len(q)],
                    y=q,
                    name=f"{name}: critic Q(s, a), right axis",
                    line={"color": COLORS[kind], "dash": "dash"},
                    yaxis="y2",
                )
            )
    fig.update_layout(
        xaxis_title="step",
        yaxis_title=unit,
        template="plotly_white",
        height=320,
        margin={"l": 50, "r": 10, "t": 60, "b": 40},
        # above the axes and to the right: Gradio's own label covers the plot's top-left corner
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
    )
    if any(t.yaxis == "y2" for t in fig.data):  # Q is a discounted value: its own scale, or it lies flat
        fig.update_layout(yaxis2={"title": "critic Q(s, a)", "overlaying": "y", "side": "right", "showgrid": False})
    return fig


def summary_markdown(task: str, mode: str, target: float, stats: dict, outcome: bool = False) -> str:
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
        f"| model | {'wanted' if outcome else 'requested'} return | achieved | error | D4RL-normalised score |\n"
        "|---|---|---|---|---|"
        if mode == "return"
        else "| model | target speed | mean speed | error | return |\n|---|---|---|---|---|"
    )
    return head + "\n" + "\n".join(rows)


def view_value(ep: Episode) -> str:
    """What the page's live view receives to open an episode's stream (a path relative to the page)."""
    return json.dumps({"id": ep.id, "stream": f"live/stream/{ep.id}"})


def outcome_asks(task: str, dataset: str, kinds: list[str], ask) -> dict | None:
    """None for plain RTG requests; for outcome requests each model's calibration (a gr.Error when the pair
    ships no sweep to calibrate on)."""
    if one_of(ask if ask is not None else ASK_RTG, "Ask for", list(ASKS)) == ASK_RTG:
        return None
    cals = catalog.calibrations(task, dataset)
    if not all(k in cals for k in kinds):
        raise gr.Error(
            f"no measured sweep ships for {task}/{dataset}, so there is nothing to calibrate an outcome on; "
            "ask for a return-to-go instead"
        )
    return {k: cals[k] for k in kinds}


def _measured_miss(name: str, m: dict) -> str:
    """What ``python -m core.calibrate`` measured for one model: its mean miss on fresh seeds through the calibration
    and asking the wanted return as the RTG, and which way is better for it (the calibration can hurt where a
    model's response is noisy)."""
    w, wo = m["with"]["mean_abs_error"], m["without"]["mean_abs_error"]
    verdict = "the calibration helps it" if w < wo else "asking the return itself missed less for it"
    return (
        f"*{name}, measured on fresh seeds: misses wanted returns by {w:,.0f} on average through the calibration, "
        f"{wo:,.0f} asking them as the RTG ({verdict}).*"
    )


def prediction_markdown(task, dataset, choice, target, ask) -> str:
    """Under the slider: what each model is expected to achieve (from its measured sweep), the RTG an outcome
    request sends it, and, greyed out, a wanted return beyond what it was measured to reach."""
    try:
        task, dataset, shipped = catalog.checked_pair(task, dataset)
        kinds = [k for k in model_kinds(choice) if k in shipped]
        value = number(target, "Requested return", 0.0, float("inf"))
        ask = one_of(ask if ask is not None else ASK_RTG, "Ask for", list(ASKS))
    except gr.Error:
        return ""
    cals = catalog.calibrations(task, dataset)
    if not cals:
        return f"No measured sweep ships for {task}/{dataset}: no prediction."
    measured = catalog.calibration_errors(task, dataset)
    lines = []
    for kind in kinds:
        name, cal = catalog.MODEL_NAMES[kind], cals.get(kind)
        if cal is None:
            continue
        lo, hi = cal.reachable
        if ask == ASK_RTG:
            lines.append(
                f"**{name}**: expected to achieve about {cal.predict(value):,.0f} (measured range {lo:,.0f} to {hi:,.0f})"
            )
            continue
        rtg, ok = cal.rtg_for(value)
        if ok:
            lines.append(f"**{name}**: asked for RTG {rtg:,.0f}, expected to achieve about {cal.predict(rtg):,.0f}")
        else:
            lines.append(
                f'<span style="color:{GREY}">**{name}**: {value:,.0f} is out of its measured reach '
                f"({lo:,.0f} to {hi:,.0f}); asked for RTG {rtg:,.0f}, expected about {cal.predict(rtg):,.0f}</span>"
            )
        if kind in measured:  # how far asking for an outcome has missed for this model, on fresh seeds
            lines.append(_measured_miss(name, measured[kind]))
    return "<br>".join(lines)


def request_for(
    task, dataset, choice, target, seed, pace, mode: str, ask=None, hold=None
) -> tuple[EpisodeRequest, str, float]:
    """A checked request, the target's field name and its maximum; a gr.Error names any bad field. ``ask``: return
    mode's "Ask for"; ``hold``: velocity mode's "Hold the speed" (default ``hold_default``)."""
    task, dataset, shipped = catalog.checked_pair(task, dataset)
    kinds = model_kinds(choice)
    missing = [catalog.MODEL_NAMES[k] for k in kinds if k not in shipped]
    if missing:
        raise gr.Error(f"no {', '.join(missing)} checkpoint for {task}/{dataset}")
    name, hi = target_range(task, dataset, mode)
    outcome = outcome_asks(task, dataset, kinds, ask) if mode == "return" else None
    request = EpisodeRequest(
        task=task,
        models={k: str(catalog.model_path(task, dataset, k)) for k in kinds},
        mode=mode,
        target=number(target, name, 0.0, hi),
        seed=int(number(seed, "Episode seed", 0, MAX_SEED, whole=True)),
        pace=PACES[one_of(pace, "Pace", list(PACES))],
        outcome=outcome,
        hold=SpeedHoldConfig() if mode == "velocity" and flag(hold, HOLD_LABEL, hold_default(task, dataset)) else None,
    )
    return request, name, hi


def run_episode(engine: Engine, task, dataset, choice, target, seed, pace, mode: str, session, ask=None, hold=None):
    """Generator: (view, plot, summary, session). Starts the episode and hands the page its stream at once;
    when the episode ends, the trace plot and the summary."""
    session = session if isinstance(session, LiveSession) else LiveSession()
    request, name, hi = request_for(task, dataset, choice, target, seed, pace, mode, ask, hold)
    if session.episode is not None:
        engine.stop(session.episode.id)  # one episode per viewer: a new run replaces the old one
    try:
        ep = engine.start().submit(request)
    except EngineBusy as err:
        raise gr.Error(str(err)) from None
    except (ValueError, FileNotFoundError) as err:
        raise gr.Error(str(err)) from None
    except Exception as err:
        log.exception("could not start an episode")
        raise gr.Error(f"could not start the episode: {err}") from None
    session.episode, session.target_name, session.target_hi, session.video = ep, name, hi, None
    yield view_value(ep), gr.skip(), "Running...", session
    try:
        while not ep.ended.wait(HEARTBEAT_S):
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
    finally:
        if not ep.ended.is_set():  # the viewer left or cancelled: free the engine
            engine.stop(ep.id)
    if ep.status == "error":
        raise gr.Error(f"the episode failed: {ep.message}")
    trace = EpisodeTrace.of(ep.records)
    final_target = ep.records[-1].target
    summary = summary_markdown(request.task, mode, final_target, trace.summary(), request.outcome is not None)
    if ep.status == "stopped":
        summary = f"Stopped at step {ep.records[-1].t}.\n\n" + summary
    yield (
        view_value(ep),
        trace_figure(trace.to_dict(), mode, "wanted" if request.outcome else "requested"),
        summary,
        session,
    )  # same id: the page keeps it


def set_target(engine: Engine, value, session) -> None:
    """Move the target of the viewer's running episode; it acts on the episode's next step."""
    session = session if isinstance(session, LiveSession) else LiveSession()
    value = number(value, session.target_name, 0.0, session.target_hi)
    if session.episode is not None:
        engine.retarget(session.episode.id, value)


def stop(engine: Engine, session):
    """Stop the viewer's running episode. Its own run handler then writes the final summary ("Stopped at step
    ..."); writing one here too raced with it (whichever reply came last won, and the summary could end as a
    bare "Stopped.")."""
    if isinstance(session, LiveSession) and session.episode is not None and not session.episode.ended.is_set():
        engine.stop(session.episode.id)
        return gr.skip()
    return "Nothing is running."


def export_video(session, progress=gr.Progress()):  # noqa: B008  (the Gradio idiom)
    """The viewer's last episode as an MP4, rendered by MuJoCo on the server from the recorded states."""
    ep = session.episode if isinstance(session, LiveSession) else None
    if ep is None:
        raise gr.Error("Run an episode first: the MP4 replays the last episode.")
    if not ep.ended.is_set():
        raise gr.Error("The episode is still running: wait for it to end (or press Stop), then export.")
    if session.video and Path(session.video).exists():
        return session.video
    path = Path(tempfile.mkdtemp(prefix="qdt-")) / f"{ep.task.name}-{ep.request.mode}.mp4"
    _render_politely(lambda tell: write_episode(ep, path, FRAME_SIZE, tell), progress)
    session.video = str(path)
    return session.video


def _render_politely(work, progress) -> None:
    """Run ``work(tell)`` on a thread of lower priority (nice 10 on Linux), so rendering an MP4 takes the
    cores only when live episodes leave them idle; reports its progress through ``progress``."""
    done, error = [0, 1], []

    def run() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass  # not Linux, or not allowed: render at normal priority
        try:
            work(lambda i, n: done.__setitem__(slice(None), [i, n]))
        except BaseException as err:  # noqa: BLE001  (re-raised in the handler's thread)
            error.append(err)

    thread = threading.Thread(target=run, name="mp4-export", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.25)
        progress(done[0] / done[1], desc=f"rendering frame {done[0]}/{done[1]}")
    if error:
        raise error[0]
