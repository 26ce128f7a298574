"""The ``switch`` dataset: half of its episodes change behaviour once, mid-episode, between two ``control`` sources.

A slider moved mid-episode asks the policy for something its context disagrees with: the last K steps show one
gait, the new return-to-go asks for another. In ``control`` that never happens (one source per episode, so the
history and the RTG always agree), and the models trained on it ignore mid-episode changes (HalfCheetah's speed
errors of about 1 m/s, README). Here each episode starts with one source and hands over to another at a uniform
step in ``SWITCH_RANGE`` of the episode limit: after the hand-over the RTG is the new behaviour's for the rest of
the episode while the window still shows the old one, the situation a slider move creates. Before it the RTG mixes
both behaviours, so those steps are context, not targets (a first try that learned from them too averaged gaits
of different speeds at the same request and stood still). Both sources are drawn independently with the
``control`` plan's shares as weights, so returns keep its spread from random to expert; ``SWITCH_SHARE`` of the
episodes hand over, the rest keep one source.
Built by ``python -m core.data.collect --task T --quality switch``.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from core.behavior.episodes import Episode, sample_planned
from core.envs import TaskSpec

SWITCH_RANGE = (0.1, 0.9)
"""The hand-over step, as fractions of the task's episode limit (uniform between them)."""
SWITCH_SHARE = 0.5
"""Episodes that hand over; the rest keep one source throughout, as in ``control``. Training learns from a switching
episode's steps after the hand-over only (``Trajectory.learn_from``), so the single-source half is what teaches the
first steps of an episode."""


class SwitchingActor:
    """One batch of episodes: row i acts with source ``first[i]`` before step ``at[i]`` and ``second[i]`` after.

    ``actors`` are the sources (behaviour actors or the random one), all answering ``act(obs, rng, noise_scale)``;
    each step calls every source once on the rows it drives, in source order, from one noise stream."""

    def __init__(self, actors: list, weights: np.ndarray, n_rows: int, limit: int, rng: np.random.Generator):
        p = np.asarray(weights, dtype=float) / np.sum(weights)
        self.actors = actors
        self.first = rng.choice(len(actors), size=n_rows, p=p)
        self.second = np.where(rng.random(n_rows) < SWITCH_SHARE, rng.choice(len(actors), size=n_rows, p=p), self.first)
        lo, hi = (round(f * limit) for f in SWITCH_RANGE)
        self.at = rng.integers(lo, hi + 1, size=n_rows)

    def source_at(self, rows, t) -> np.ndarray:
        """The source acting for ``rows`` at step ``t`` (either may be an array; they broadcast)."""
        rows_ = np.asarray(rows)
        return np.where(t < self.at[rows_], self.first[rows_], self.second[rows_])

    def sources_of(self, row: int, length: int) -> np.ndarray:
        """(length,) the source that acted at each step of row ``row``'s episode."""
        return self.source_at(row, np.arange(length)).astype(np.int16)

    def act(self, obs: np.ndarray, rows: list[int], t: int, rng: np.random.Generator, noise_scale: float):
        src = self.source_at(rows, t)
        out = None
        for k in np.unique(src):
            pick = np.flatnonzero(src == k)
            a = self.actors[k].act(obs[pick], rng, noise_scale)
            if out is None:
                out = np.zeros((len(obs), a.shape[1]), dtype=np.float32)
            out[pick] = a
        return out


def sample_episodes(
    task: TaskSpec,
    actors: list,
    weights: np.ndarray,
    size: int,
    seed: int,
    noise_scale: float,
    n_envs: int,
    limit: int,
    bar: tqdm | None = None,
    batches: int | None = None,
) -> list[Episode]:
    """Switching episodes until at least ``size`` transitions; ``limit`` is the task's own episode limit (the
    hand-over steps come from it even when ``task`` is cut shorter, so a rebuilt slice matches the full data).
    One batch = ``n_envs`` episodes sharing one noise stream, as ``core.data.collect.sample_episodes``."""
    rng = np.random.default_rng(seed)
    plan_rng = np.random.default_rng([seed, 1])  # the hand-overs: apart from the action noise

    def new_plan():
        plan = SwitchingActor(actors, weights, n_envs, limit, plan_rng)
        return (lambda o, rows, t: plan.act(o, rows, t, rng, noise_scale)), plan.sources_of

    return sample_planned(task, new_plan, size, seed, n_envs, bar, batches)
