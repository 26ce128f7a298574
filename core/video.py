"""Episode videos: frames with the requested and achieved numbers drawn on, written as MP4.

    python -m core.video --task hopper --target 1700 --out assets/demo_hopper.mp4

Recording is a library call (``record``, or ``recorded`` to stream the steps while they are written);
the dashboard's export and this CLI both go through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro
from tqdm import tqdm

from core.envs import TaskSpec, get_task
from core.live import EpisodeTrace, LiveControl, LiveStep, live_rollout
from core.plots import MODEL_NAMES
from core.policy import ReturnConditionedPolicy
from core.store.layout import MODEL_KINDS, Run

VIDEO_FPS = 30  # simulated time plays at real speed: render every round(1 / (30 * dt)) steps


def frame_skip(task: TaskSpec) -> int:
    """Physics steps per rendered frame so video plays near real time at ~30 fps (Hopper 4, HalfCheetah 1)."""
    return max(1, round(1 / (VIDEO_FPS * task.dt)))


def open_writer(path: Path, task: TaskSpec):
    import imageio.v2 as imageio

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return imageio.get_writer(path, fps=round(1 / (task.dt * frame_skip(task))), macro_block_size=16)


def overlay(frame: np.ndarray, lines: list[str]) -> np.ndarray:
    """Draw text lines on the top left of a frame."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(frame)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((6, 4 + 13 * i), line, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    return np.asarray(img)


def step_lines(step, mode: str) -> list[str]:
    label = f"target {step.target:,.0f}" if mode == "return" else f"target {step.target:.2f} m/s"
    return [f"t={step.t}  {label}"] + [
        f"{MODEL_NAMES.get(k, k)}: return {s['return']:,.0f}" for k, s in step.stats.items()
    ]


def recorded(
    steps: Iterable[LiveStep], path: Path, task: TaskSpec, mode: str, trace: EpisodeTrace
) -> Iterator[LiveStep]:
    """Pass a live episode's steps through, writing every rendered frame (numbers drawn on) to the MP4 at
    ``path`` and every step into ``trace``. The dashboard iterates it while it streams; ``record`` drains it."""
    writer = open_writer(path, task)
    try:
        for step in steps:
            trace.add(step)
            if step.frame is not None:
                writer.append_data(overlay(step.frame, step_lines(step, mode)))
            yield step
    finally:
        writer.close()


def record(
    policies: dict[str, ReturnConditionedPolicy],
    task: TaskSpec,
    control: LiveControl,
    seed: int,
    out: Path,
    size: int = 320,
    max_steps: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EpisodeTrace:
    """Record one episode of ``policies`` side by side on reset seed ``seed`` as an MP4; returns its trace."""
    trace = EpisodeTrace()
    limit = min(max_steps or task.max_episode_steps, task.max_episode_steps)
    steps = live_rollout(policies, task, control, seed, size, frame_skip(task), limit)
    for step in recorded(steps, out, task, control.mode, trace):
        if progress is not None:
            progress(step.t + 1, limit)
    return trace


@dataclass(frozen=True)
class VideoConfig:
    """Record one episode of both models side by side (left DT, right Q-ALIGN DT) on the same seed."""

    task: str = "hopper"
    dataset: str = "medium"
    target: float = 0.0
    """Requested return; 0 = the dataset's best episode."""
    seed: int = 0
    size: int = 320
    max_steps: int = 1000
    out: Path = Path("results/demo.mp4")


def main(cfg: VideoConfig) -> dict:
    task = get_task(cfg.task)
    run = Run(task.name, cfg.dataset)
    pols = {k: ReturnConditionedPolicy.load(run.model_path(k)) for k in MODEL_KINDS}
    target = cfg.target or pols["dt"].return_range[1]
    with tqdm(desc=f"{task.name} episode", unit="step") as bar:

        def progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        trace = record(pols, task, LiveControl(target=target), cfg.seed, cfg.out, cfg.size, cfg.max_steps, progress)
    final = {k: round(s["return"], 1) for k, s in trace.summary().items()}
    print(f"{cfg.out}: requested {target:,.0f}, achieved {final}")
    return final


if __name__ == "__main__":
    main(tyro.cli(VideoConfig))
