"""Episode videos: a finished episode's recorded states replayed through MuJoCo's renderer, side by side,
with the requested and achieved numbers drawn on, written as MP4.

    python -m core.video --task hopper --target 1700 --out assets/demo_hopper.mp4

The live view never renders on the server (the page draws the robots); the MP4 is made after the episode,
from the qpos/qvel the engine recorded at every step. The dashboard's export and this CLI both call
``write_episode``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro
from tqdm import tqdm

from core.engine import Episode, EpisodeRequest, LiveEngine, StepRecord
from core.envs import TaskSpec, get_task
from core.live import EpisodeTrace
from core.plots import MODEL_NAMES
from core.store.layout import MODEL_KINDS, Run

VIDEO_FPS = 30  # simulated time plays at real speed: render every round(1 / (30 * dt)) steps
# Shadows, reflections and the skybox are most of llvmpipe's work: measured 97 -> 25 ms per 320 px frame.
LITE_FLAGS = ("mjRND_SHADOW", "mjRND_REFLECTION", "mjRND_SKYBOX")


def frame_skip(task: TaskSpec) -> int:
    """Physics steps per rendered frame so video plays near real time at ~30 fps (Hopper 4, HalfCheetah 1)."""
    return max(1, round(1 / (VIDEO_FPS * task.dt)))


def open_writer(path: Path, task: TaskSpec):
    import imageio.v2 as imageio

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return imageio.get_writer(path, fps=round(1 / (task.dt * frame_skip(task))), macro_block_size=16)


def render(env) -> np.ndarray:
    """Render after making this env's GL context current (a context is current per thread)."""
    renderer = env.unwrapped.mujoco_renderer
    viewer = renderer._viewers.get("rgb_array")
    if viewer is not None:
        viewer.make_context_current()
    return env.render()


def lite_rendering(env) -> np.ndarray:
    """Turn off the costly scene effects of an rgb_array env and follow the torso; returns a frame.

    Falls back to the default look if the cheaper scene renders black (seen once with several GL contexts).
    """
    import mujoco

    env.render()  # creates the offscreen viewer
    viewer = env.unwrapped.mujoco_renderer._get_viewer("rgb_array")
    flags = [getattr(mujoco.mjtRndFlag, f) for f in LITE_FLAGS]
    saved = [viewer.scn.flags[f] for f in flags]
    for f in flags:
        viewer.scn.flags[f] = 0
    # Follow the torso (body 1 in all three tasks): the default free camera loses the robot within seconds.
    # camera_id None stops gymnasium from resetting the camera to free on every render.
    env.unwrapped.mujoco_renderer.camera_id = None
    viewer.cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
    viewer.cam.trackbodyid = 1
    frame = render(env)
    if frame.max() == 0:
        for f, v in zip(flags, saved):
            viewer.scn.flags[f] = v
        frame = render(env)
    return frame


def overlay(frame: np.ndarray, lines: list[str]) -> np.ndarray:
    """Draw text lines on the top left of a frame."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(frame)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((6, 4 + 13 * i), line, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    return np.asarray(img)


def step_lines(record: StepRecord, mode: str) -> list[str]:
    label = f"target {record.target:,.0f}" if mode == "return" else f"target {record.target:.2f} m/s"
    return [f"t={record.t}  {label}"] + [
        f"{MODEL_NAMES.get(k, k)}: return {s.ret:,.0f}" for k, s in record.lanes.items()
    ]


MIN_SIZE, MAX_SIZE = 16, 2048
"""Frame side in px that the MP4 export accepts (software rendering: 2048 px is seconds per frame already)."""


def write_episode(ep: Episode, out: Path, size: int = 320, progress: Callable[[int, int], None] | None = None) -> Path:
    """Replay a finished episode's recorded states (every model side by side, left to right as the page
    shows them) through MuJoCo's renderer into an MP4 at ``out``, the numbers of each step drawn on.

    One simulator renders every model in turn (set its state, render), so one GL context serves the video;
    a model whose episode ended early holds its last pose.
    """
    if not ep.ended.is_set():
        raise ValueError("the episode is still running: export it once it has ended")
    if not MIN_SIZE <= size <= MAX_SIZE:  # 0 failed deep in numpy, 100000 in the GL framebuffer
        raise ValueError(f"size must be {MIN_SIZE} to {MAX_SIZE} px, got {size}")
    task, kinds = ep.task, [k for k in ep.kinds if k in ep.states]
    env = task.make(render_mode="rgb_array", width=size, height=size)
    writer = open_writer(out, task)
    try:
        env.reset(seed=ep.request.seed)
        lite_rendering(env)
        n = len(ep.records)
        shown = list(range(0, n, frame_skip(task)))
        if shown[-1] != n - 1:
            shown.append(n - 1)  # always end on the final pose
        for i, k in enumerate(shown):
            frames = []
            for kind in kinds:
                qpos, qvel = ep.states[kind]
                j = min(k, len(qpos) - 1)
                env.unwrapped.set_state(qpos[j], qvel[j])
                frames.append(render(env))
            writer.append_data(overlay(np.concatenate(frames, axis=1), step_lines(ep.records[k], ep.request.mode)))
            if progress is not None:
                progress(i + 1, len(shown))
    finally:
        writer.close()
        env.close()
    return Path(out)


def record(
    task: TaskSpec,
    models: dict[str, str],
    target: float,
    seed: int,
    out: Path,
    size: int = 320,
    max_steps: int | None = None,
    mode: str = "return",
    progress: Callable[[int, int], None] | None = None,
) -> Episode:
    """Run one episode of ``models`` side by side on reset seed ``seed`` (unpaced) and write it as an MP4."""
    request = EpisodeRequest(task.name, models, mode, float(target), seed, pace=0.0, max_steps=max_steps)
    ep = LiveEngine().run_to_end(request)
    write_episode(ep, out, size, progress)
    return ep


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
    models = {k: str(run.shipped_model(k)) for k in MODEL_KINDS}
    target = cfg.target or json.loads(Path(models["dt"]).with_suffix(".json").read_text())["return_stats"]["max"]
    with tqdm(desc=f"{task.name} video", unit="frame") as bar:

        def progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        ep = record(task, models, target, cfg.seed, cfg.out, cfg.size, cfg.max_steps, progress=progress)
    final = {k: round(s["return"], 1) for k, s in EpisodeTrace.of(ep.records).summary().items()}
    print(f"{cfg.out}: requested {target:,.0f}, achieved {final}")
    return final


if __name__ == "__main__":
    main(tyro.cli(VideoConfig))
