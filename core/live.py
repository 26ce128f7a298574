"""Live rollout for the dashboard: one episode (or two models side by side on the same seed) that
yields rendered frames plus per-step numbers, and takes target changes while it runs.

Physics and the policy run every step; rendering (software EGL, the slow part) only every
``frame_skip`` steps, so the view stays smooth on 2 CPU cores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from core.envs import TaskSpec
from core.policy import ReturnConditionedPolicy

# Shadows, reflections and the skybox are most of llvmpipe's work: measured 97 -> 25 ms per 320 px frame.
LITE_FLAGS = ("mjRND_SHADOW", "mjRND_REFLECTION", "mjRND_SKYBOX")


def render(env) -> np.ndarray:
    """Render after making this env's GL context current: each env has its own context, and a server
    may step one episode from several worker threads (a context is current per thread)."""
    renderer = env.unwrapped.mujoco_renderer
    viewer = renderer._viewers.get("rgb_array")
    if viewer is not None:
        viewer.make_context_current()
    return env.render()


def lite_rendering(env) -> np.ndarray:
    """Turn off the costly scene effects of an rgb_array env; returns a frame rendered with them off.

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


@dataclass
class LiveControl:
    """Mutable knobs shared between a running episode and the UI (one per user session)."""

    mode: Literal["return", "velocity"] = "return"
    target: float = 0.0
    """Requested total return (return mode) or forward speed in m/s (velocity mode)."""
    stop: bool = False
    version: int = 0
    """Bumped by ``set_target`` so the rollout notices a change."""

    def set_target(self, value: float) -> None:
        self.target = float(value)
        self.version += 1


@dataclass
class LiveStep:
    t: int
    frame: np.ndarray | None  # (H, n_models * W, 3) uint8, None on steps that were not rendered
    target: float
    stats: dict[str, dict] = field(default_factory=dict)
    """Per model: reward, return so far, rtg (raw), speed, done."""


@dataclass
class EpisodeTrace:
    """The per-step numbers of one live episode (every model), for the plot, the summary and the export."""

    t: list[int] = field(default_factory=list)
    target: list[float] = field(default_factory=list)
    series: dict[str, list[float]] = field(default_factory=dict)
    """``<kind>:return`` and ``<kind>:speed`` per step."""
    last: dict[str, dict] = field(default_factory=dict)
    """Each model's numbers at its last step."""
    alive_speeds: dict[str, list[float]] = field(default_factory=dict)

    def add(self, step: LiveStep) -> None:
        self.t.append(step.t)
        self.target.append(step.target)
        for kind, s in step.stats.items():
            self.series.setdefault(f"{kind}:return", []).append(s["return"])
            self.series.setdefault(f"{kind}:speed", []).append(s["speed"])
            if not s["done"]:
                self.alive_speeds.setdefault(kind, []).append(s["speed"])
            self.last[kind] = s

    def summary(self) -> dict[str, dict]:
        """Per model: its last numbers plus the mean forward speed while the episode ran."""
        speeds = self.alive_speeds
        return {
            k: {**s, "mean_speed": float(np.mean(speeds[k])) if speeds.get(k) else 0.0} for k, s in self.last.items()
        }

    def to_dict(self) -> dict:
        return {"t": self.t, "target": self.target, **self.series}

    def write(self, path: Path) -> Path:
        """The trace and the summary as JSON."""
        Path(path).write_text(json.dumps({**self.to_dict(), "summary": self.summary()}))
        return Path(path)


def _rtg_for(control: LiveControl, task: TaskSpec, ret_so_far: float, t: int) -> float:
    if control.mode == "velocity":
        return task.rtg_for_speed(control.target, task.max_episode_steps - t)
    return control.target - ret_so_far


def live_rollout(
    policies: dict[str, ReturnConditionedPolicy],
    task: TaskSpec,
    control: LiveControl,
    seed: int,
    size: int = 320,
    frame_skip: int = 4,
    max_steps: int | None = None,
) -> Iterator[LiveStep]:
    """Run all ``policies`` on environments reset with the same seed; yield every step, with a frame
    every ``frame_skip`` steps. Stops at ``max_steps``, when every episode ended, or on ``control.stop``."""
    names = list(policies)
    envs = [task.make(render_mode="rgb_array", width=size, height=size) for _ in names]
    try:
        obs = [env.reset(seed=seed)[0] for env in envs]
        for name, o in zip(names, obs):
            policies[name].reset(o[None], np.array([max(_rtg_for(control, task, 0.0, 0), 0.0)]))
        ret = dict.fromkeys(names, 0.0)
        done = dict.fromkeys(names, False)
        last = dict.fromkeys(names, {"reward": 0.0, "speed": 0.0})
        seen_version = control.version
        frames = {n: lite_rendering(env) for n, env in zip(names, envs)}
        limit = min(max_steps or task.max_episode_steps, task.max_episode_steps)
        for t in range(limit):
            if control.stop or all(done.values()):
                break
            if control.version != seen_version:  # the user moved the target: re-anchor every episode
                seen_version = control.version
                for n in names:
                    if not done[n]:
                        policies[n].set_rtg(np.array([_rtg_for(control, task, ret[n], t)]))
            for i, n in enumerate(names):
                if done[n]:
                    continue
                o, r, term, trunc, info = envs[i].step(policies[n].act(obs[i][None])[0])
                policies[n].observe(np.array([r]))
                obs[i], ret[n], done[n] = o, ret[n] + r, term or trunc
                last[n] = {"reward": float(r), "speed": float(info["x_velocity"])}
            draw = t % frame_skip == 0 or all(done.values())
            if draw:
                for i, n in enumerate(names):
                    if not done[n] or t % frame_skip == 0:
                        frames[n] = render(envs[i])
            stats = {
                n: {
                    **last[n],
                    "return": float(ret[n]),
                    "rtg": float(policies[n].rtg_now[0]) * policies[n].scale,
                    "done": done[n],
                }
                for n in names
            }
            frame = np.concatenate([frames[n] for n in names], axis=1) if draw else None
            yield LiveStep(t, frame, control.target, stats)
    finally:
        for env in envs:
            env.close()


def _offer(q, item, control: LiveControl) -> None:
    """Put ``item`` unless the consumer is gone (``control.stop``): never block a worker forever."""
    import queue

    while True:
        try:
            q.put(item, timeout=0.2)
            return
        except queue.Full:
            if control.stop:
                return


def in_own_thread(make_steps, control: LiveControl, buffer: int = 8) -> Iterator:
    """Run the iterator ``make_steps()`` on one dedicated thread and hand its items over a queue.

    An EGL context can be current in only one thread at a time, while a web server may advance a
    generator from a different worker thread at each step; keeping every env call on one thread avoids
    that. Closing the returned iterator (a cancelled request) sets ``control.stop`` so the worker ends.
    """
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=buffer)
    done = object()

    def work() -> None:
        try:
            for item in make_steps():
                while not control.stop:
                    try:
                        q.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if control.stop:
                    break
        except BaseException as err:  # noqa: BLE001  (re-raised in the consumer's thread)
            _offer(q, err, control)
        finally:
            _offer(q, done, control)

    threading.Thread(target=work, daemon=True).start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        control.stop = True
