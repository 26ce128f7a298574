"""Turn a Minari dataset into what training needs: trajectories, returns-to-go, normalisation, return statistics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data.minari_io import load_minari, resolve_id
from core.envs import get_task

PERCENTILES = (5, 25, 50, 75, 95)


@dataclass
class Trajectory:
    """One episode, arrays aligned on the step index t = 0..T-1."""

    observations: np.ndarray  # (T, obs_dim) float32, s_t
    next_observations: np.ndarray  # (T, obs_dim) float32, s_{t+1}
    actions: np.ndarray  # (T, act_dim) float32
    rewards: np.ndarray  # (T,) float32
    returns_to_go: np.ndarray  # (T,) float32, unscaled sum of r_t..r_{T-1}
    terminated: bool
    """True when the episode ended in a terminal state (no value after it); False when cut by the time limit."""
    learn_from: int = 0
    """First step whose action is a training target; the steps before it are context only. Non-zero in ``switch``
    data (``core.data.switch``): before the hand-over the return-to-go mixes two behaviours, so it says nothing
    about the one acting; from the hand-over on it is the new behaviour's alone."""

    def __len__(self) -> int:
        return len(self.rewards)


@dataclass
class OfflineData:
    """A loaded dataset with the statistics every later layer needs."""

    task: str
    dataset_id: str
    trajectories: list[Trajectory]
    obs_mean: np.ndarray  # (obs_dim,)
    obs_std: np.ndarray  # (obs_dim,)
    return_stats: dict[str, float]

    @property
    def obs_dim(self) -> int:
        return self.trajectories[0].observations.shape[1]

    @property
    def act_dim(self) -> int:
        return self.trajectories[0].actions.shape[1]

    @property
    def n_transitions(self) -> int:
        return sum(len(t) for t in self.trajectories)


def returns_to_go(rewards: np.ndarray) -> np.ndarray:
    """RTG_t = r_t + r_{t+1} + ... + r_{T-1} (undiscounted, METHOD.md)."""
    return np.cumsum(rewards[::-1])[::-1].astype(np.float32)


def return_stats(returns: np.ndarray, lengths: np.ndarray) -> dict[str, float]:
    """Episode-return distribution: min/max/mean/std/percentiles, counts and transitions."""
    stats = {
        "min": float(returns.min()),
        "max": float(returns.max()),
        "mean": float(returns.mean()),
        "std": float(returns.std()),
        "episodes": int(len(returns)),
        "transitions": int(lengths.sum()),
    }
    stats.update({f"p{p}": float(np.percentile(returns, p)) for p in PERCENTILES})
    return stats


def trajectory_from_arrays(
    obs: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    terminations: np.ndarray,
    truncations: np.ndarray,
    sources: np.ndarray | None = None,
) -> Trajectory:
    """Validate one Minari episode (T + 1 observations, T of the rest) and build a Trajectory; ``sources`` (the
    behaviour source of each step, ``switch`` data) sets ``learn_from`` to the step where the source changes."""
    T = len(rewards)
    if obs.ndim != 2 or actions.ndim != 2 or len(obs) != T + 1 or len(actions) != T or T == 0:
        raise ValueError(
            f"malformed episode: observations {obs.shape}, actions {actions.shape}, rewards {rewards.shape}"
            " (expected T + 1 observations and T actions/rewards, T > 0)"
        )
    if len(terminations) != T or len(truncations) != T:
        raise ValueError("malformed episode: terminations/truncations must have one entry per step")
    rewards = rewards.astype(np.float32)
    changed = np.flatnonzero(np.asarray(sources)[:T] != sources[0]) if sources is not None else []
    return Trajectory(
        obs[:-1].astype(np.float32),
        obs[1:].astype(np.float32),
        actions.astype(np.float32),
        rewards,
        returns_to_go(rewards),
        bool(terminations[-1]),
        int(changed[0]) if len(changed) else 0,
    )


def holdout_ids(n_episodes: int, every: int) -> list[int]:
    """Episodes held out of critic pre-training: every ``every``-th one (ids every-1, 2*every-1, ...); none for 0."""
    return list(range(every - 1, n_episodes, every)) if every > 0 else []


def without(data: OfflineData, ids: list[int]) -> OfflineData:
    """The same dataset minus episodes ``ids``; normalisation and return statistics stay those of the whole
    dataset, so a model trained on the rest sees states exactly as the others do."""
    drop = set(ids)
    kept = [t for i, t in enumerate(data.trajectories) if i not in drop]
    return OfflineData(data.task, data.dataset_id, kept, data.obs_mean, data.obs_std, data.return_stats)


def load_offline_data(task: str, dataset: str, download: bool = False) -> OfflineData:
    """Load ``dataset`` (a quality such as ``medium`` or a full Minari id) for ``task``."""
    spec = get_task(task)
    ds_id = resolve_id(spec.name, dataset)
    ds = load_minari(ds_id, download=download)
    trajs = [
        trajectory_from_arrays(
            np.asarray(ep.observations),
            np.asarray(ep.actions),
            np.asarray(ep.rewards),
            np.asarray(ep.terminations),
            np.asarray(ep.truncations),
            np.asarray(ep.infos["source"]) if "source" in (ep.infos or {}) else None,
        )
        for ep in ds.iterate_episodes()
    ]
    if not trajs:
        raise ValueError(f"dataset {ds_id!r} has no episodes")
    all_obs = np.concatenate([t.observations for t in trajs])
    returns = np.array([t.rewards.sum() for t in trajs], dtype=np.float64)
    lengths = np.array([len(t) for t in trajs])
    return OfflineData(spec.name, ds_id, trajs, all_obs.mean(0), all_obs.std(0) + 1e-6, return_stats(returns, lengths))
