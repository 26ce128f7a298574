"""Roll policies out: batched RTG sweeps (split into lanes over the cores), velocity tracking, and the
sequential one-episode-at-a-time loop that the benchmarks compare against.

Rendering never happens here (the live view is core.engine, drawn by the page; MP4s are core.video): sweeps
run physics only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch

from core import lanes as lanes_mod
from core.calibration import Calibration, SpeedHoldConfig, speed_rtg
from core.envs import TaskSpec
from core.physics import step_many
from core.policy import ReturnConditionedPolicy

Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class SweepResult:
    """Achieved returns for each requested return: ``returns[i, j]`` = target i, episode j."""

    targets: np.ndarray  # (N,)
    returns: np.ndarray  # (N, M)
    lengths: np.ndarray  # (N, M)
    speeds: np.ndarray  # (N, M) mean x-velocity over the episode
    seeds: np.ndarray  # (N, M) environment reset seeds
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            k: v.tolist()
            for k, v in (
                ("targets", self.targets),
                ("returns", self.returns),
                ("lengths", self.lengths),
                ("speeds", self.speeds),
                ("seeds", self.seeds),
            )
        } | self.extra


def sweep(
    policy: ReturnConditionedPolicy,
    task: TaskSpec,
    targets: list[float] | np.ndarray,
    episodes: int,
    seed: int,
    progress: Progress | None = None,
    max_steps: int | None = None,
    lanes: int | None = None,
) -> SweepResult:
    """All targets x episodes at once: one batched policy forward per step and lane, over the live episodes.

    Episode j of every target uses reset seed ``seed + j``, so targets are compared on the same starts.
    ``lanes``: the episodes are dealt in turn to this many groups (so each holds every target, short and long
    episodes alike); group 0 runs in this thread, the others each in a worker process (``core.lanes``, the same
    weights), one core each. Default ``LANES`` on every machine, whatever its core count: rows of a batched forward
    do not mix, but the batch size can change the last bits of a matrix product (the BLAS picks its kernel by
    shape), which MuJoCo amplifies over an episode, so a fixed split keeps results comparable.
    """
    targets = policy.clamp_targets(np.asarray(targets, dtype=np.float64))
    N, M = len(targets), int(episodes)
    if M < 1 or N < 1:
        raise ValueError("a sweep needs at least one target and one episode")
    seeds = np.tile(np.arange(seed, seed + M), (N, 1))  # (N, M)
    per_episode = np.repeat(targets, M)
    lanes = max(1, min(lanes or LANES, N * M))
    groups = [np.arange(lane, N * M, lanes) for lane in range(lanes)]  # dealt in turn: each lane gets every target
    limit = max_steps or task.max_episode_steps
    done_by_lane, lock = [0] * lanes, threading.Lock()

    def tell(lane: int, done: int) -> None:
        if progress is not None:
            with lock:
                done_by_lane[lane] = done
                progress(sum(done_by_lane), N * M)

    def run(lane: int) -> tuple[np.ndarray, ...]:
        rows = groups[lane]
        args = (task, per_episode[rows], seeds.reshape(-1)[rows], limit, lambda d: tell(lane, d))
        if lane == 0:
            return _sweep_rows(policy if lanes == 1 else policy.twin(), *args)
        worker = lanes_mod.take()
        if worker is None:  # every worker busy with other sweeps: a thread here (slower, same numbers)
            return _sweep_rows(policy.twin(), *args)
        try:
            return worker.run(policy, *args)
        finally:
            lanes_mod.give(worker)

    if lanes == 1:
        parts = [run(0)]
    else:  # one core per lane: intra-op threads on top would fight over the cores (OpenMP spin-waits)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(lanes - 1, thread_name_prefix="sweep-lane") as pool:
                others = [pool.submit(run, lane) for lane in range(1, lanes)]  # each waits on its worker process
                parts = [run(0)] + [f.result() for f in others]
        finally:
            torch.set_num_threads(threads)
    ret, length, vel_sum = (np.empty(N * M), np.empty(N * M, int), np.empty(N * M))
    for rows, part in zip(groups, parts):
        ret[rows], length[rows], vel_sum[rows] = part
    shape = (N, M)
    return SweepResult(
        targets, ret.reshape(shape), length.reshape(shape), (vel_sum / np.maximum(length, 1)).reshape(shape), seeds
    )


LANES = 2
"""Sweep lanes by default: this process and one worker process, one core each (the machine we target has two).
Thread lanes measured only 1.3x one lane (one GIL); see ``benchmarks/rollout_speed.py`` for the processes."""


def _sweep_rows(
    policy: ReturnConditionedPolicy,
    task: TaskSpec,
    targets: np.ndarray,
    seeds: np.ndarray,
    limit: int,
    tell: Callable[[int], None],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One lane of a sweep: episodes with these targets and reset seeds, stepped together until all end.

    Only live episodes are stepped and batched: an episode that ends leaves the policy's batch and its simulator
    stops (a vector env would reset it and go on simulating, and the forward would carry its row to the end)."""
    n = len(targets)
    envs = [task.make() for _ in range(n)]
    try:
        obs = np.stack([env.reset(seed=int(s))[0] for env, s in zip(envs, seeds)])  # (n, obs_dim)
        policy.reset(obs, targets)
        ret, length, vel_sum = np.zeros(n), np.zeros(n, int), np.zeros(n)
        live = np.arange(n)  # the episode of each policy row
        for _ in range(limit):
            actions = policy.act(obs)  # (len(live), act_dim)
            obs, rewards, ended, speeds = step_many([envs[i] for i in live], actions)
            vel_sum[live] += speeds
            policy.observe(rewards)
            ret[live] += rewards
            length[live] += 1
            ended |= length[live] >= task.max_episode_steps  # the time limit (gymnasium's wrapper is bypassed)
            if ended.any():
                live, obs = live[~ended], obs[~ended]
                if len(live):
                    policy.remove(np.flatnonzero(ended))
                tell(n - len(live))
            if not len(live):
                break
    finally:
        for env in envs:
            env.close()
    return ret, length, vel_sum


def sweep_sequential(policy: ReturnConditionedPolicy, task: TaskSpec, targets, episodes: int, seed: int) -> np.ndarray:
    """The original DT evaluation: one episode at a time, batch-1 forwards. Returns (N, M) returns."""
    out = np.zeros((len(targets), episodes))
    env = task.make()
    try:
        for i, target in enumerate(targets):
            for j in range(episodes):
                obs, _ = env.reset(seed=seed + j)
                policy.reset(obs[None], np.array([target]))
                done = False
                while not done:
                    obs, r, term, trunc, _ = env.step(policy.act(obs[None])[0])
                    policy.observe(np.array([r]))
                    out[i, j] += r
                    done = term or trunc
    finally:
        env.close()
    return out


@dataclass
class VelocityTrace:
    target: np.ndarray  # (T,) target speed at each step
    speed: np.ndarray  # (T,) measured x-velocity
    reward: np.ndarray  # (T,)

    def to_dict(self) -> dict:
        return {"target": self.target.tolist(), "speed": self.speed.tolist(), "reward": self.reward.tolist()}


def schedule_at(schedule: list[tuple[int, float]], t: int, smooth: bool = False) -> float:
    """Schedule [(step, speed), ...] at step t: piecewise constant (each speed from its step on), or ``smooth``:
    linear between the points (constant before the first and after the last)."""
    if smooth:
        return float(np.interp(t, [s for s, _ in schedule], [v for _, v in schedule]))
    current = schedule[0][1]
    for start, v in schedule:
        if t >= start:
            current = v
    return current


def track_velocity(
    policy: ReturnConditionedPolicy,
    task: TaskSpec,
    schedule: list[tuple[int, float]],
    seed: int,
    steps: int | None = None,
    smooth: bool = False,
    calibration: Calibration | None = None,
    hold: SpeedHoldConfig | None = None,
) -> VelocityTrace:
    """Ask for a forward speed (constant, steps, or ``smooth``: linear between the schedule's points) by
    RTG = r*(v) x remaining steps (METHOD.md), or through the model's ``calibration`` (``Calibration.rtg_for_speed``).

    The RTG evolves as usual (minus each reward); whenever the target changes it is re-anchored (for a smooth
    schedule, at every step of a ramp). With ``hold`` the speed asked is the target plus an integral correction
    (``SpeedHold``, never past the data's fastest speed), re-anchored whenever the correction moves. The speed is
    read from the simulator (``info['x_velocity']``).
    """
    steps = steps or task.max_episode_steps
    loop = hold.start(task, policy.meta["return_stats"]) if hold is not None else None
    env = task.make()
    try:
        obs, _ = env.reset(seed=seed)
        v = schedule_at(schedule, 0, smooth)
        asked = loop.ask(v) if loop is not None else v
        policy.reset(obs[None], np.array([speed_rtg(task, asked, steps, calibration)]))
        target, speed, reward = [], [], []
        moved = False
        for t in range(steps):
            v_t = schedule_at(schedule, t, smooth)
            asked = loop.ask(v_t) if loop is not None else v_t
            if v_t != v or moved:
                v = v_t
                policy.set_rtg(np.array([speed_rtg(task, asked, steps - t, calibration)]))
            obs, r, term, trunc, info = env.step(policy.act(obs[None])[0])
            policy.observe(np.array([r]))
            target.append(v)
            speed.append(float(info["x_velocity"]))
            reward.append(float(r))
            moved = loop is not None and loop.observe(v, speed[-1])
            if term or trunc:
                break
    finally:
        env.close()
    return VelocityTrace(np.array(target), np.array(speed), np.array(reward))
