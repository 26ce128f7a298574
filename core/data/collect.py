"""Roll behaviour snapshots out into Minari datasets, in the D4RL spirit.

    python -m core.data.collect --task hopper --quality medium
    python -m core.data.collect --task hopper --quality all
    python -m core.data.collect --task hopper,walker2d,halfcheetah --quality all --backend ray --workers 12

Qualities: ``medium`` (the medium snapshot, sampled actions), ``expert`` (the expert snapshot),
``medium-expert`` (both, half each), ``medium-replay`` (every training snapshot up to the medium
one, equal shares: the competence levels a replay buffer would have seen), ``control`` (a random policy and
every snapshot, shared so returns spread evenly from random to expert: ``core.data.control``), ``switch`` (the
same sources, each episode handing over from one to another mid-episode: ``core.data.switch``), ``pace`` (a pace
policy at commanded speeds, half the episodes changing speed once: ``core.data.pace``; needs the task's pace
policy, ``python -m core.behavior.train --task T --pace``; not part of ``all``), ``even`` (control's sources, each
episode kept or dropped by its own return so that returns spread evenly: ``core.data.even``; not part of ``all``),
``ladder`` (control's return bins with one source each, the best of its bin: ``core.data.control.ladder``; not part
of ``all``), ``ladder-pure`` (ladder's sources, each bin keeping only its own source's episodes, chosen by return as
``even``: ``core.data.even``; ``--open-bins`` opens a bin whose owner has left to every rung; not part of ``all``).
Behaviour actors run in fixed-order float32 maths (``--portable``, default on), so a dataset is the same on
every x86 CPU (MKL's own kernels round differently per instruction set: ``core.data.fingerprint``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import tyro
from tqdm import tqdm

from core.behavior.episodes import Episode, sample_stream
from core.behavior.pace import PACE_RANGE
from core.behavior.policy import BehaviorActor, load_actor
from core.checks import out_of_range, refuse
from core.data import control, even, pace, switch
from core.data.minari_io import QUALITIES, dataset_id, write_dataset
from core.envs import TaskSpec, get_task
from core.store.layout import behavior_path, checkpoints_root, snapshot_paths, snapshot_step

SEED_STRIDE = 1_000_000  # collection seeds live far from evaluation seeds (10k..)
BINNED = ("even", "ladder-pure")
"""The qualities whose episodes are kept by their own return's bin (``core.data.even``): ``--top-share`` applies."""


@dataclass(frozen=True)
class CollectConfig:
    """Dataset collection."""

    task: str = "hopper"
    """Task name (hopper, halfcheetah, walker2d), or several separated by commas."""
    quality: Literal[(*QUALITIES, "all")] = "medium"  # the choices, read by tyro at run time
    """Which dataset to build; ``all`` builds every one."""
    size: int = 0
    """Transitions; 0 means 200k (medium, expert), 400k (medium-expert), 100k (medium-replay)."""
    seed: int = 0
    """Collection seed: episode reset seeds and action noise derive from it."""
    noise_scale: float = 1.0
    """Multiplier on each snapshot's own action std (0 = deterministic actions)."""
    top_share: float = 0.0
    """``even`` / ``ladder-pure``: the share of the transitions the top return bin holds (0: the same as every
    other bin's, 1 / 10); the other bins share the rest equally."""
    open_bins: bool = False
    """``ladder-pure``: a bin whose owner has left the rotation (``core.data.even.RETIRE`` batches without a kept
    episode) keeps any rung's episodes from then on (fills a bin its owner rarely reaches under the noise)."""
    n_envs: int = 16
    """Episodes simulated side by side."""
    portable: bool = True
    """Behaviour actors in fixed-order float32 maths (``BehaviorActor.portable``): the same dataset on every
    x86 CPU (about 2x slower on HalfCheetah). ``--no-portable`` gives MKL's kernels, whose last bits follow the
    CPU's instruction set (the datasets of the models shipped before Nov 26 were built that way)."""
    backend: Literal["local", "ray"] = "local"
    """local: one dataset after another; ray: one Ray task per (task, quality), same seeds, same datasets."""
    workers: int = 2
    """CPUs of the local Ray instance (ignored with --address)."""
    address: str | None = None
    """Ray cluster to join; datasets are written on the node that builds them."""

    def size_for(self, quality: str) -> int:
        return self.size or {"medium-expert": 400_000, "medium-replay": 100_000}.get(quality, 200_000)


def replay_snapshots(task: str) -> list[Path]:
    """Snapshots from the start of training up to (and including) the medium one."""
    medium_step = load_actor(behavior_path(task, "medium")).spec.step
    return [p for p in snapshot_paths(task) if snapshot_step(p) <= medium_step]


def sample_episodes(
    task: TaskSpec,
    actor: BehaviorActor,
    size: int,
    seed: int,
    noise_scale: float,
    n_envs: int,
    bar: tqdm | None = None,
    batches: int | None = None,
) -> list[Episode]:
    """Episodes from ``actor`` with sampled actions until at least ``size`` transitions are recorded.

    One batch = ``n_envs`` episodes played together, sharing one noise stream; ``batches`` stops after
    that many (the first batches of a dataset are rebuilt alone this way, see ``core.data.fingerprint``).
    """
    rng = np.random.default_rng(seed)
    return sample_stream(task, lambda: lambda o: actor.act(o, rng, noise_scale), size, seed, n_envs, bar, batches)


def pace_policy(task: str) -> Path:
    """The task's pace policy: the last snapshot under ``checkpoints/behavior/<task>/pace`` (only the chosen one is
    committed)."""
    snaps = snapshot_paths(task, "pace")
    if not snaps:
        raise FileNotFoundError(
            f"no pace policy for {task}; train one: python -m core.behavior.train --task {task} --pace"
        )
    return snaps[-1]


def sources(cfg: CollectConfig, quality: str) -> list[tuple[Path | None, int, int]]:
    """The behaviour actors of one dataset, in order: (snapshot path, or None for the uniform-random policy;
    transitions; first reset seed)."""
    task = get_task(cfg.task)
    if quality not in QUALITIES:
        raise ValueError(f"unknown quality {quality!r}; valid: {', '.join(QUALITIES)}")
    size = cfg.size_for(quality)
    base = SEED_STRIDE * (cfg.seed + 1) + QUALITIES.index(quality) * SEED_STRIDE // 10
    if quality == "medium-expert":
        shares = [
            (behavior_path(task.name, "medium"), size // 2),
            (behavior_path(task.name, "expert"), size - size // 2),
        ]
    elif quality == "medium-replay":
        snaps = replay_snapshots(task.name)
        shares = [(p, size // len(snaps)) for p in snaps]
    elif quality in ("control", "switch"):  # switch: the same sources and shares, mixed within episodes
        shares = control.plan(task.name, size)
    elif quality in ("ladder", "ladder-pure"):
        shares = control.ladder(task.name, size)
    elif quality == "even":  # every control source; the share is the dataset's size (episodes are kept by return)
        shares = [(None if n == control.RANDOM else Path(n), size) for n in control.source_returns(task.name)]
    elif quality == "pace":
        shares = [(pace_policy(task.name), size)]
    else:
        shares = [(behavior_path(task.name, quality), size)]
    return [(path, share, base + k * 10_000) for k, (path, share) in enumerate(shares)]


def stream_starts(cfg: CollectConfig, quality: str) -> list[int]:
    """First reset seed of each stream of episodes: one per source, or one for ``switch`` (its episodes mix them)."""
    starts = [seed for _, _, seed in sources(cfg, quality)]
    return starts[:1] if quality == "switch" else starts


def collect_episodes(
    cfg: CollectConfig, quality: str, batches: int | None = None, horizon: int | None = None, bar: tqdm | None = None
) -> list[Episode]:
    """Every episode of one dataset in order; ``batches`` / ``horizon`` (steps) keep only the start of each
    source's stream and of each episode (the steps before the horizon are the full collection's own)."""
    task = get_task(cfg.task)
    limit = task.max_episode_steps
    if horizon is not None:
        task = replace(task, max_episode_steps=horizon)
    srcs = sources(cfg, quality)
    actors = []
    for path, _, _ in srcs:
        actor = load_actor(path) if path is not None else control.UniformActor(task.make().action_space.shape[0])
        actor.portable = cfg.portable
        actors.append(actor)
    if quality == "switch":  # one stream for the whole dataset, from the first source's seed (``stream_starts``)
        weights = np.array([share for _, share, _ in srcs], dtype=float)
        seed = srcs[0][2]
        return switch.sample_episodes(
            task, actors, weights, cfg.size_for(quality), seed, cfg.noise_scale, cfg.n_envs, limit, bar, batches
        )
    if quality in BINNED:
        if horizon is not None:
            raise ValueError(
                f"{quality}: episodes are kept by their whole return, so a horizon slice cannot rebuild them"
            )
        bin_edges = control.edges(cfg.task)
        seeds = [seed for _, _, seed in srcs]
        owners = control.owners(cfg.task) if quality == "ladder-pure" else None
        return even.sample_episodes(
            task,
            actors,
            seeds,
            cfg.size_for(quality),
            bin_edges,
            cfg.noise_scale,
            cfg.n_envs,
            bar,
            batches,
            owners,
            cfg.top_share,
            cfg.open_bins,
        )[0]
    if quality == "pace":
        return pace.sample_episodes(
            task, actors[0], srcs[0][1], srcs[0][2], cfg.noise_scale, cfg.n_envs, limit, bar, batches
        )
    episodes: list[Episode] = []
    for actor, (_, share, seed) in zip(actors, srcs):
        episodes += sample_episodes(task, actor, share, seed, cfg.noise_scale, cfg.n_envs, bar, batches)
    return episodes


def collect(cfg: CollectConfig, quality: str) -> dict:
    """Build one dataset; returns its summary (id, transitions, episodes, return range)."""
    task = get_task(cfg.task)
    srcs = sources(cfg, quality)
    with tqdm(total=cfg.size_for(quality), desc=f"{task.name}/{quality}", unit="step") as bar:
        episodes = collect_episodes(cfg, quality, bar=bar)
    binned = quality in BINNED
    bin_edges = control.edges(task.name) if binned else None
    ds_id = dataset_id(task.name, quality)
    desc = json.dumps(
        {
            "sources": [control.RANDOM if p is None else str(p.relative_to(checkpoints_root())) for p, _, _ in srcs],
            "seed": cfg.seed,
            "noise_scale": cfg.noise_scale,
            "n_envs": cfg.n_envs,
            "size": cfg.size_for(quality),
            "portable": cfg.portable,
            **({"switch_range": list(switch.SWITCH_RANGE)} if quality == "switch" else {}),
            **({"pace_range": list(PACE_RANGE[task.name])} if quality == "pace" else {}),
            **({"return_bins": bin_edges.round(1).tolist()} if binned else {}),
            **({"bin_owners": control.owners(task.name)} if quality == "ladder-pure" else {}),
            **({"top_share": cfg.top_share} if binned and cfg.top_share else {}),
            **({"open_bins": True} if cfg.open_bins else {}),
        }
    )
    algo = load_actor(next(p for p, _, _ in reversed(srcs) if p is not None)).spec.algo
    write_dataset(ds_id, task, episodes, desc, algorithm=f"behaviour snapshots ({algo})")
    returns = np.array([ep.ret for ep in episodes])
    summary = {
        "id": ds_id,
        "transitions": int(sum(len(e) for e in episodes)),
        "episodes": len(episodes),
        "return_min": float(returns.min()),
        "return_mean": float(returns.mean()),
        "return_max": float(returns.max()),
    }
    if binned:  # transitions per return bin: a bin no source reached is short
        fill = np.zeros(len(bin_edges) - 1, dtype=int)
        for ep in episodes:
            fill[even.bin_of(ep.ret, bin_edges)] += len(ep)
        summary["bin_transitions"] = fill.tolist()
    return summary


DATA_ROOT_VARS = ("MINARI_DATASETS_PATH", "QDT_CHECKPOINTS")
"""Ray workers read behaviour snapshots and write datasets where the driver does (one node or a shared disk)."""


def _job(cfg: CollectConfig, task: str, quality: str) -> dict:
    """One dataset of a fanned-out collection: the config's other fields, this task and quality."""
    return collect(replace(cfg, task=task), quality)


def main(cfg: CollectConfig) -> list[dict]:
    qualities = (
        tuple(q for q in QUALITIES if q not in ("pace", "ladder", *BINNED)) if cfg.quality == "all" else (cfg.quality,)
    )
    tasks = [get_task(t.strip()).name for t in cfg.task.split(",") if t.strip()]
    if not tasks:
        raise ValueError("--task needs at least one task name")
    refuse(out_of_range((
        ("size", cfg.size, cfg.size >= 0, ">= 0 (0: the quality's default)"),
        ("n-envs", cfg.n_envs, cfg.n_envs >= 1, ">= 1"),
        ("noise-scale", cfg.noise_scale, cfg.noise_scale >= 0, ">= 0"),
        ("top-share", cfg.top_share, 0 <= cfg.top_share < 1, "in [0, 1) (0: an equal share)"),
        ("top-share", cfg.top_share, not cfg.top_share or cfg.quality in BINNED,
         "0 unless --quality is even or ladder-pure (the binned qualities)"),
        ("open-bins", cfg.open_bins, not cfg.open_bins or cfg.quality == "ladder-pure", "off unless --quality is ladder-pure"),
        ("workers", cfg.workers, cfg.workers >= 1, ">= 1"))))  # fmt: skip
    jobs = [(t, q) for t in tasks for q in qualities]
    if cfg.backend == "ray":
        from core import cluster

        started = cluster.init(cfg.address, cfg.workers)
        try:
            with tqdm(total=len(jobs), desc="datasets (ray)", unit="dataset") as bar:
                tell = lambda done, _n: bar.update(done - bar.n)  # noqa: E731
                out = cluster.map_tasks(_job, [(cfg, t, q) for t, q in jobs], tell, DATA_ROOT_VARS)
        finally:
            if started:
                cluster.shutdown()
    else:
        out = [_job(cfg, t, q) for t, q in jobs]
    for s in out:
        print(json.dumps(s))
    return out


if __name__ == "__main__":
    main(tyro.cli(CollectConfig))
