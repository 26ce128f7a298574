"""The ``pace`` dataset: a pace policy (``core.behavior.pace``) at commanded speeds, each episode with its own
schedule of targets, half of them changing speed once mid-episode at a step drawn as ``switch`` data draws its
hand-overs. Built by ``python -m core.data.collect --task T --quality pace``.
"""

from __future__ import annotations

import numpy as np

from core.behavior.episodes import Episode, sample_planned
from core.behavior.pace import draw_target
from core.data.switch import SWITCH_RANGE, SWITCH_SHARE
from core.envs import TaskSpec


class PaceActor:
    """A pace policy driving one batch of episodes, row i following its own target schedule.

    ``schedules[i]``: (start step, target m/s) pairs, the first at step 0. ``act`` is a per-row act function for
    ``core.behavior.episodes`` (``per_row=True``): it appends each row's current target to the observation."""

    def __init__(self, actor, schedules: list[list[tuple[int, float]]]):
        self.actor, self.schedules = actor, schedules

    def target_at(self, row: int, t: int) -> float:
        return max((start, target) for start, target in self.schedules[row] if start <= t)[1]

    def sources_of(self, row: int, length: int) -> np.ndarray:
        """(length,) which part of its schedule row ``row`` was in at each step (0, then 1 after a change): a
        changing episode is learned from after the change only, as ``switch`` data (``Trajectory.learn_from``)."""
        starts = [start for start, _ in self.schedules[row]]
        return (np.searchsorted(starts, np.arange(length), side="right") - 1).astype(np.int16)

    def act(self, obs: np.ndarray, rows: list[int], t: int, rng: np.random.Generator, noise_scale: float):
        targets = np.array([[self.target_at(r, t)] for r in rows], dtype=obs.dtype)
        return self.actor.act(np.concatenate([obs, targets], axis=1), rng, noise_scale)


def plan_schedules(
    task: str, n_rows: int, limit: int, rng: np.random.Generator, switch_share: float = SWITCH_SHARE
) -> list[list[tuple[int, float]]]:
    """One batch's targets: each row starts at a uniform speed of ``PACE_RANGE``; ``switch_share`` of the rows change
    it once, to another uniform speed, at a uniform step in ``SWITCH_RANGE`` of ``limit`` (as ``switch`` data)."""
    lo, hi = (round(f * limit) for f in SWITCH_RANGE)
    out = []
    for _ in range(n_rows):
        plan = [(0, draw_target(task, rng))]
        if rng.random() < switch_share:
            plan.append((int(rng.integers(lo, hi + 1)), draw_target(task, rng)))
        out.append(plan)
    return out


def sample_episodes(
    task: TaskSpec, actor, size: int, seed: int, noise_scale: float, n_envs: int, limit: int, bar=None, batches=None
) -> list[Episode]:
    """The ``pace`` dataset's episodes: one pace policy, each row with its own schedule (``plan_schedules``), until at
    least ``size`` transitions. ``limit``: the task's own episode limit (schedules come from it even when ``task``
    is cut shorter, so a rebuilt slice matches the full data). The stored observations leave the target out: the
    models trained on the data see only what the environment shows, and are asked through the return."""
    rng = np.random.default_rng(seed)
    plan_rng = np.random.default_rng([seed, 2])  # the schedules: apart from the action noise

    def new_plan():
        pace = PaceActor(actor, plan_schedules(task.name, n_envs, limit, plan_rng))
        return (lambda o, rows, t: pace.act(o, rows, t, rng, noise_scale)), pace.sources_of

    return sample_planned(task, new_plan, size, seed, n_envs, bar, batches)
