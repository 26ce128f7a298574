"""Fingerprint a training dataset, and rebuild a cheap slice of it to check that it can still be made.

A fingerprint is a SHA-256 over what training reads from each episode, in dataset order (observations,
actions, rewards, and whether it ended in a terminal state), with the episode and transition counts.

The *slice* is the collection's first batch of every stream of episodes (each behaviour source's, or the one
stream of ``switch``: the first ``n_envs`` episodes, which share one noise stream) cut at ``SLICE_HORIZON``
steps. The collection code replays exactly that alone (``collect_episodes(..., batches=1, horizon=...)``) in
seconds, so a model's metadata can record the slice digest and a test can rebuild it: equal digests when the data
is rebuildable, bit for bit.

    record = data_fingerprint(load_offline_data("hopper", "medium"))   # at training time
    check_shipped(Path("checkpoints/hopper/medium/dt/model.json"))       # raises DataMismatch if stale
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.behavior.episodes import Episode
from core.data.collect import BINNED, CollectConfig, collect_episodes, stream_starts
from core.data.dataset import OfflineData, Trajectory, trajectory_from_arrays
from core.data.minari_io import NAMESPACE, episode_seeds, load_minari
from core.store.layout import checkpoints_root

DIGEST_CHARS = 16
"""Hex characters kept of each SHA-256 (64 bits: no accidental collisions between datasets)."""
SLICE_HORIZON = 20
"""Steps kept of each slice episode: a changed bit in an action or a state shows from the next step on,
and 20 steps keep the worst dataset (27 replay sources) to a few seconds."""
DATA_FIELDS = ("task", "seed", "size", "noise_scale", "top_share", "open_bins", "n_envs", "portable")
"""The ``CollectConfig`` fields that shape a dataset's contents (the rest say where it runs)."""


class DataMismatch(RuntimeError):
    """A model's recorded training data differs from what the collection code rebuilds now."""


def _episode_bytes(traj: Trajectory, horizon: int | None) -> bytes:
    """One episode's first ``horizon`` steps (all when None): length, end flag, then the float32 arrays."""
    n = len(traj) if horizon is None else min(len(traj), horizon)
    ended = traj.terminated and len(traj) <= n  # an episode cut by the horizon has not ended yet
    obs = np.concatenate([traj.observations[:n], traj.next_observations[n - 1 : n]])  # (n + 1, obs_dim)
    header = np.array([n, ended], dtype="<i8").tobytes()
    return header + b"".join(
        np.ascontiguousarray(a, dtype="<f4").tobytes() for a in (obs, traj.actions[:n], traj.rewards[:n])
    )


def digest(trajectories: Iterable[Trajectory], horizon: int | None = None) -> dict:
    """SHA-256 (first ``DIGEST_CHARS`` hex) over the episodes in order, with their counts."""
    h = hashlib.sha256()
    episodes = transitions = 0
    for traj in trajectories:
        h.update(_episode_bytes(traj, horizon))
        episodes += 1
        transitions += len(traj) if horizon is None else min(len(traj), horizon)
    return {"sha256": h.hexdigest()[:DIGEST_CHARS], "episodes": episodes, "transitions": transitions}


def fingerprint(data: OfflineData) -> dict:
    """Digest of the whole dataset as training reads it: ``{"sha256", "episodes", "transitions"}``."""
    return digest(data.trajectories)


def collect_config(data: OfflineData) -> tuple[CollectConfig, str] | None:
    """How ``core.data.collect`` built this dataset (from its Minari description); None if we did not."""
    namespace, _task, version = data.dataset_id.split("/")
    if namespace != NAMESPACE:
        return None
    quality = version.rsplit("-v", 1)[0]
    try:
        desc = json.loads(load_minari(data.dataset_id).storage.metadata["description"])
    except (json.JSONDecodeError, KeyError, TypeError):
        return None  # written by other code (e.g. a test's hand-made dataset): no collection to replay
    if not isinstance(desc, dict) or "sources" not in desc:
        return None
    cfg = CollectConfig(task=data.task, **{k: v for k, v in desc.items() if k in DATA_FIELDS})
    return replace(cfg, size=cfg.size_for(quality)), quality


def _batch_of(seed: int, starts: Sequence[int], n_envs: int) -> int | None:
    """Index of the source whose first batch played reset seed ``seed``, or None."""
    return next((k for k, s in enumerate(starts) if s <= seed < s + n_envs), None)


def slice_fingerprint(data: OfflineData, horizon: int = SLICE_HORIZON) -> dict | None:
    """Digest of the slice taken from the full dataset, with what rebuilding it needs; None if not ours."""
    plan = collect_config(data)
    if plan is None:
        return None
    cfg, quality = plan
    starts = stream_starts(cfg, quality)
    batch = [_batch_of(s, starts, cfg.n_envs) for s in episode_seeds(data.dataset_id)]
    picked = [t for t, k in zip(data.trajectories, batch) if k is not None]
    per_source = [sum(k == i for k in batch) for i in range(len(starts))]
    return {**digest(picked, horizon), "horizon": horizon, "per_source": per_source}


def rebuild_slice(cfg: CollectConfig, quality: str, per_source: Sequence[int], horizon: int = SLICE_HORIZON) -> dict:
    """Replay the slice with the collection code; ``per_source`` keeps as many episodes of each first batch
    as the full dataset did (a small share can stop a source inside its first batch).

    The binned qualities (``collect.BINNED``) keep an episode by its whole return, so their first batches are
    played to the end (the first round of the collection, kept alike: ``even.sample_episodes``) and cut at the
    horizon only for the digest: seconds more, not minutes."""
    starts = stream_starts(cfg, quality)
    if len(starts) != len(per_source):
        raise DataMismatch(f"{len(starts)} behaviour sources now, {len(per_source)} when the data was made")
    binned = quality in BINNED
    kept = []
    for ep in collect_episodes(cfg, quality, batches=1, horizon=None if binned else horizon):
        k = _batch_of(ep.seed, starts, cfg.n_envs)
        if k is not None and (binned or ep.seed - starts[k] < per_source[k]):
            kept.append(_trajectory(ep))
    return digest(kept, horizon)


def _trajectory(ep: Episode) -> Trajectory:
    """The Trajectory that loading this episode from Minari would give (same float32 casts)."""
    return trajectory_from_arrays(ep.observations, ep.actions, ep.rewards, ep.terminations, ep.truncations)


def data_fingerprint(data: OfflineData) -> dict:
    """What a model's metadata records as ``data_fingerprint``: full digest, slice, collection settings."""
    plan = collect_config(data)
    record = {**fingerprint(data), "slice": slice_fingerprint(data)}
    if plan is not None:
        cfg, quality = plan
        record["collect"] = {"quality": quality, **{k: getattr(cfg, k) for k in DATA_FIELDS}}
    return record


@lru_cache(maxsize=8)
def _rebuilt(cfg: CollectConfig, quality: str, per_source: tuple[int, ...], horizon: int, _snapshots: Path) -> dict:
    """``rebuild_slice``, once per process for a pair's two models (a binned slice plays whole episodes); keyed by
    the checkpoints root too, whose behaviour snapshots the rebuild plays."""
    return rebuild_slice(cfg, quality, per_source, horizon)


def check_shipped(model_json: Path) -> dict:
    """Rebuild the slice recorded in a model's ``data_fingerprint``; raise ``DataMismatch`` naming the model
    when the digests differ. Returns the rebuilt slice digest."""
    meta = json.loads(Path(model_json).read_text())
    record = meta.get("data_fingerprint")
    if not record or not record.get("slice") or "collect" not in record:
        raise DataMismatch(f"{model_json}: no data_fingerprint with a slice to check")
    settings = dict(record["collect"])
    quality = settings.pop("quality")
    cfg = CollectConfig(**{k: v for k, v in settings.items() if k in DATA_FIELDS})
    want = record["slice"]
    try:
        got = _rebuilt(cfg, quality, tuple(want["per_source"]), want["horizon"], checkpoints_root())
    except DataMismatch as err:
        raise DataMismatch(f"{model_json}: its training data can no longer be rebuilt: {err}") from err
    if got["sha256"] != want["sha256"]:
        raise DataMismatch(
            f"{model_json}: its training data ({meta.get('dataset_id')}) can no longer be rebuilt: slice digest "
            f"{got['sha256']} ({got['episodes']} episodes, {got['transitions']} steps) != recorded "
            f"{want['sha256']} ({want['episodes']} episodes, {want['transitions']} steps)"
        )
    return got
