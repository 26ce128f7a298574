"""Run a behaviour actor for whole episodes on several environments at once, optionally recording them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.envs import TaskSpec

ActFn = Callable[[np.ndarray], np.ndarray]  # (B, obs_dim) -> (B, act_dim)
RowActFn = Callable[[np.ndarray, list[int], int], np.ndarray]
"""(B, obs_dim), the batch rows they belong to, the step index -> (B, act_dim): an actor that differs per episode."""


@dataclass
class Episode:
    """One recorded episode in Minari's layout: T actions and T + 1 observations."""

    observations: np.ndarray  # (T + 1, obs_dim)
    actions: np.ndarray  # (T, act_dim)
    rewards: np.ndarray  # (T,)
    terminations: np.ndarray  # (T,) bool
    truncations: np.ndarray  # (T,) bool
    seed: int
    sources: np.ndarray | None = None
    """(T,) which behaviour source acted at each step, where that changes within the episode (``core.data.switch``)."""

    @property
    def ret(self) -> float:
        return float(self.rewards.sum())

    def __len__(self) -> int:
        return len(self.rewards)


def run_episodes(
    task: TaskSpec,
    act: ActFn | RowActFn,
    seeds: list[int],
    record: bool = False,
    n_envs: int = 16,
    on_episode: Callable[[float, int], None] | None = None,
    per_row: bool = False,
) -> tuple[np.ndarray, list[Episode]]:
    """Play one episode per seed, ``n_envs`` at a time with one batched ``act`` call per step.

    Returns the episode returns (in seed order) and, if ``record``, the episodes themselves.
    ``on_episode(return, length)`` is called as each finishes (for progress bars). ``per_row``: ``act`` is a
    ``RowActFn``, told which rows of the batch (0 .. n_envs - 1) it acts for and the step index.
    """
    returns = np.zeros(len(seeds))
    episodes: list[Episode | None] = [None] * len(seeds)
    envs = [task.make() for _ in range(min(n_envs, len(seeds)))]
    try:
        for start in range(0, len(seeds), len(envs)):
            idx = list(range(start, min(start + len(envs), len(seeds))))
            for i, ep in _run_batch(envs[: len(idx)], act, [seeds[i] for i in idx], record, on_episode, per_row):
                returns[idx[i]] = ep.rewards.sum()
                episodes[idx[i]] = ep if record else None
    finally:
        for env in envs:
            env.close()
    return returns, [e for e in episodes if e is not None]


def sample_stream(
    task: TaskSpec,
    batch_act: Callable[[], ActFn | RowActFn],
    size: int,
    seed: int,
    n_envs: int,
    bar=None,
    batches: int | None = None,
    per_row: bool = False,
) -> list[Episode]:
    """Recorded episodes from reset seeds ``seed``, ``seed + 1``, ... in batches of ``n_envs`` played together, until
    at least ``size`` transitions (or ``batches`` batches); ``batch_act()`` gives each batch's act function, in order.
    Episodes come in seed order, so episode k of the stream played row k % n_envs of batch k // n_envs."""
    episodes: list[Episode] = []
    n, next_seed = 0, seed
    while n < size and (batches is None or next_seed < seed + batches * n_envs):
        seeds = list(range(next_seed, next_seed + n_envs))
        next_seed += n_envs
        on_episode = None if bar is None else lambda _r, length: bar.update(length)
        _, eps = run_episodes(task, batch_act(), seeds, True, n_envs, on_episode, per_row)
        for ep in eps:
            if n >= size:
                break
            episodes.append(ep)
            n += len(ep)
    return episodes


def sample_planned(
    task: TaskSpec,
    new_plan: Callable[[], tuple[RowActFn, Callable[[int, int], np.ndarray]]],
    size: int,
    seed: int,
    n_envs: int,
    bar=None,
    batches: int | None = None,
) -> list[Episode]:
    """``sample_stream`` for episodes whose rows follow their own plan (switch's hand-overs, pace's targets):
    ``new_plan()`` gives each batch's per-row act function and ``sources_of(row, length)``, the per-step source
    each episode keeps (``Episode.sources``)."""
    plans = []

    def batch_act():
        plans.append(new_plan())
        return plans[-1][0]

    episodes = sample_stream(task, batch_act, size, seed, n_envs, bar, batches, per_row=True)
    for k, ep in enumerate(episodes):
        ep.sources = plans[k // n_envs][1](k % n_envs, len(ep))
    return episodes


def _run_batch(envs, act, seeds: list[int], record: bool, on_episode, per_row: bool = False):
    obs = np.stack([env.reset(seed=s)[0] for env, s in zip(envs, seeds)])
    # copies: ``obs[i] = o`` below overwrites the row in place, and a view kept here would silently become the
    # episode's last observation (the bug that put every stored episode's terminal state at t = 0)
    buf = [{"o": [o.copy()], "a": [], "r": [], "term": [], "trunc": []} for o in obs]
    alive = list(range(len(envs)))
    t = 0
    while alive:
        actions = act(obs[alive], alive, t) if per_row else act(obs[alive])
        t += 1
        still = []
        for j, i in enumerate(alive):
            o, r, term, trunc, _ = envs[i].step(actions[j])
            b = buf[i]
            b["r"].append(r)
            b["term"].append(term)
            b["trunc"].append(trunc)
            if record:
                b["o"].append(o)
                b["a"].append(actions[j])
            obs[i] = o
            if term or trunc:
                if on_episode is not None:
                    on_episode(float(np.sum(b["r"])), len(b["r"]))
                yield i, _to_episode(b, seeds[i], record)
            else:
                still.append(i)
        alive = still


def _to_episode(b: dict, seed: int, record: bool) -> Episode:
    rewards = np.asarray(b["r"], dtype=np.float64)
    obs = np.asarray(b["o"], dtype=np.float64) if record else np.zeros((0, 0))
    acts = np.asarray(b["a"], dtype=np.float32) if record else np.zeros((0, 0))
    return Episode(obs, acts, rewards, np.asarray(b["term"]), np.asarray(b["trunc"]), seed)
