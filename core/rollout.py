"""Roll policies out: batched RTG sweeps on gymnasium vector envs, velocity tracking, and the
sequential one-episode-at-a-time loop that the benchmarks compare against.

Rendering never happens here (the live view is core.engine, drawn by the page; MP4s are core.video): sweeps
run physics only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch

from core.envs import TaskSpec
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


def step_velocity(info: dict, n: int) -> np.ndarray:
    """x-velocity of each sub-env's last step; an env that just ended reports it under ``final_info``."""
    vel = np.zeros(n)
    for part in (info, info.get("final_info", {})):
        if "x_velocity" in part:
            vel = np.where(part["_x_velocity"], part["x_velocity"], vel)
    return vel


def make_vector_env(task: TaskSpec, n: int) -> gym.vector.SyncVectorEnv:
    return gym.vector.SyncVectorEnv([task.make for _ in range(n)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


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
    """All targets x episodes at once: vector envs, one batched policy forward per step and lane.

    Episode j of every target uses reset seed ``seed + j``, so targets are compared on the same starts.
    ``lanes``: the episodes are split into this many groups, each stepped by its own thread (its own vector env
    and policy rows, the same actor weights); one group's physics runs while another's policy forward does (MuJoCo
    and PyTorch kernels release the GIL). Default ``LANES`` on every machine, whatever its core count: rows of a
    batched forward do not mix, but the batch size can change the last bits of a matrix product (the BLAS picks
    its kernel by shape), which MuJoCo amplifies over an episode, so a fixed split keeps results comparable.
    """
    targets = policy.clamp_targets(np.asarray(targets, dtype=np.float64))
    N, M = len(targets), int(episodes)
    if M < 1 or N < 1:
        raise ValueError("a sweep needs at least one target and one episode")
    seeds = np.tile(np.arange(seed, seed + M), (N, 1))  # (N, M)
    per_episode = np.repeat(targets, M)
    lanes = max(1, min(lanes or LANES, N * M))
    groups = np.array_split(np.arange(N * M), lanes)
    limit = max_steps or task.max_episode_steps
    done_by_lane, lock = [0] * lanes, threading.Lock()

    def tell(lane: int, done: int) -> None:
        if progress is not None:
            with lock:
                done_by_lane[lane] = done
                progress(sum(done_by_lane), N * M)

    def run(lane: int) -> tuple[np.ndarray, ...]:
        rows = groups[lane]
        own = policy if lanes == 1 else policy.twin()
        return _sweep_rows(own, task, per_episode[rows], seeds.reshape(-1)[rows], limit, lambda d: tell(lane, d))

    if lanes == 1:
        parts = [run(0)]
    else:  # each lane is a thread already: intra-op threads on top would fight over the cores (OpenMP spin-waits)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(lanes, thread_name_prefix="sweep-lane") as pool:
                parts = list(pool.map(run, range(lanes)))
        finally:
            torch.set_num_threads(threads)
    ret, length, vel_sum = (np.concatenate([p[i] for p in parts]) for i in range(3))
    shape = (N, M)
    return SweepResult(
        targets, ret.reshape(shape), length.reshape(shape), (vel_sum / np.maximum(length, 1)).reshape(shape), seeds
    )


LANES = 2
"""Sweep lanes by default. Measured on the 2-core machine (``benchmarks/rollout_speed.py``, Hopper, 10 x 5
episodes): 1.34x one lane at one torch thread, about level with one lane at two threads; threads share one
GIL, so more lanes than cores buy nothing."""


def _sweep_rows(
    policy: ReturnConditionedPolicy,
    task: TaskSpec,
    targets: np.ndarray,
    seeds: np.ndarray,
    limit: int,
    tell: Callable[[int], None],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One lane of a sweep: episodes with these targets and reset seeds, stepped together until all end."""
    n = len(targets)
    env = make_vector_env(task, n)
    try:
        obs, _ = env.reset(seed=seeds.tolist())
        policy.reset(obs, targets)
        ret, length, vel_sum = np.zeros(n), np.zeros(n, int), np.zeros(n)
        alive = np.ones(n, bool)
        for _ in range(limit):
            actions = policy.act(obs)
            obs, rewards, term, trunc, info = env.step(actions)
            policy.observe(np.where(alive, rewards, 0.0))
            ret += np.where(alive, rewards, 0.0)
            vel_sum += np.where(alive, step_velocity(info, n), 0.0)
            length += alive
            finished = alive & (term | trunc)
            alive &= ~finished
            if finished.any():
                tell(int((~alive).sum()))
            if not alive.any():
                break
    finally:
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
) -> VelocityTrace:
    """Ask for a forward speed (constant, steps, or ``smooth``: linear between the schedule's points) by
    RTG = r*(v) x remaining steps (METHOD.md).

    The RTG evolves as usual (minus each reward); whenever the target changes it is re-anchored (for a smooth
    schedule, at every step of a ramp). The speed is read from the simulator (``info['x_velocity']``).
    """
    steps = steps or task.max_episode_steps
    env = task.make()
    try:
        obs, _ = env.reset(seed=seed)
        v = schedule_at(schedule, 0, smooth)
        policy.reset(obs[None], np.array([task.rtg_for_speed(v, steps)]))
        target, speed, reward = [], [], []
        for t in range(steps):
            v_t = schedule_at(schedule, t, smooth)
            if v_t != v:
                v = v_t
                policy.set_rtg(np.array([task.rtg_for_speed(v, steps - t)]))
            obs, r, term, trunc, info = env.step(policy.act(obs[None])[0])
            policy.observe(np.array([r]))
            target.append(v)
            speed.append(float(info["x_velocity"]))
            reward.append(float(r))
            if term or trunc:
                break
    finally:
        env.close()
    return VelocityTrace(np.array(target), np.array(speed), np.array(reward))
