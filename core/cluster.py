"""Ray backend: a generic runner (``map_tasks``: one Ray task per job) and evaluation sweeps over Ray actors.

Callers own their jobs (dataset collection hands ``map_tasks`` its own function); this module imports no caller.

A local Ray instance by default; ``address`` joins an existing cluster (``ray start --head`` on one node,
``ray start --address HEAD:6379`` on the others). Our ``core`` package travels to remote workers through
Ray's runtime environment, and checkpoints travel as bytes, so workers need no shared filesystem to
evaluate. Work is cut into blocks of (targets x episodes) that keep each episode's reset seed, so the Ray
backend gives the same numbers as the local batched sweep (tests/test_cluster.py checks it).

Ray is optional: ``pip install -r requirements-scale.txt``.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from core.rollout import SweepResult

Progress = Callable[[int, int], None]  # (done, total) episodes


def require_ray():
    try:
        import ray
    except ImportError as err:
        raise ImportError("the Ray backend needs ray: pip install -r requirements-scale.txt") from err
    return ray


def init(address: str | None = None, workers: int = 2) -> bool:
    """Start a local Ray instance with ``workers`` CPUs, or connect to the cluster at ``address``.

    Returns False when Ray was already initialised in this process (the caller then leaves it running)."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    import core

    if address:
        # remote nodes get our code from the driver; checkpoints are sent as bytes, datasets stay on each node
        ray.init(address=address, runtime_env={"py_modules": [os.path.dirname(core.__file__)]}, log_to_driver=True)
    else:
        ray.init(num_cpus=max(1, int(workers)), include_dashboard=False, log_to_driver=True)
    return True


def shutdown() -> None:
    ray = require_ray()
    if ray.is_initialized():
        ray.shutdown()


def split_blocks(n_targets: int, episodes: int, workers: int) -> list[tuple[int, int, int, int]]:
    """Cut the N x M grid into at least ``workers`` blocks when it can: (target_lo, target_hi, ep_lo, ep_hi).

    Targets are split first (a block keeps all its episodes, so its seeds are ``seed .. seed + M - 1``);
    when there are fewer targets than workers, episodes are split too.
    """
    if n_targets < 1 or episodes < 1 or workers < 1:
        raise ValueError("a sweep needs at least one target, one episode and one worker")
    t_parts = min(n_targets, workers)
    e_parts = min(episodes, math.ceil(workers / t_parts))
    t_edges = np.linspace(0, n_targets, t_parts + 1).round().astype(int)
    e_edges = np.linspace(0, episodes, e_parts + 1).round().astype(int)
    return [
        (int(t_edges[i]), int(t_edges[i + 1]), int(e_edges[j]), int(e_edges[j + 1]))
        for i in range(t_parts)
        for j in range(e_parts)
    ]


def checkpoint_files(path: Path) -> dict[str, bytes]:
    """A shipped model as bytes (weights + JSON), to rebuild on a worker with the normal loader."""
    path = Path(path)
    return {suffix: path.with_suffix(suffix).read_bytes() for suffix in (".safetensors", ".json")}


class _SweepWorker:
    """One Ray actor: loads every checkpoint once, then runs blocks of a sweep batched."""

    def __init__(self, models: dict[str, dict[str, bytes]], threads: int = 1):
        import torch

        from core.policy import ReturnConditionedPolicy

        torch.set_num_threads(threads)
        self.dir = tempfile.TemporaryDirectory(prefix="qdt-worker-")
        self.policies = {}
        for kind, files in models.items():
            base = Path(self.dir.name) / kind / "model"
            base.parent.mkdir(parents=True)
            for suffix, blob in files.items():
                base.with_suffix(suffix).write_bytes(blob)
            self.policies[kind] = ReturnConditionedPolicy.load(base)

    def run(self, kind: str, task_name: str, targets: list[float], episodes: int, seed: int, max_steps: int | None):
        from core.envs import get_task
        from core.rollout import sweep

        # lanes=1: the Ray workers are the parallelism here; a lane worker process each would oversubscribe the cores
        return sweep(self.policies[kind], get_task(task_name), targets, episodes, seed, max_steps=max_steps, lanes=1)


class RaySweeper:
    """Sweeps on Ray workers, each holding every model given here; same interface for every model kind."""

    def __init__(self, paths: dict[str, Path], workers: int = 2, address: str | None = None, threads: int = 1):
        self.started_ray = init(address, workers)
        ray = require_ray()
        self.ray, self.workers = ray, max(1, int(workers))
        models = ray.put({kind: checkpoint_files(p) for kind, p in paths.items()})
        actor = ray.remote(num_cpus=1)(_SweepWorker)
        self.actors = [actor.remote(models, threads) for _ in range(self.workers)]

    def sweep(
        self,
        kind: str,
        task_name: str,
        targets: Iterable[float],
        episodes: int,
        seed: int,
        progress: Progress | None = None,
        max_steps: int | None = None,
    ) -> SweepResult:
        """All targets x episodes, split into blocks over the workers; episode j keeps reset seed ``seed + j``."""
        targets = np.asarray(list(targets), dtype=np.float64)
        N, M = len(targets), int(episodes)
        blocks = split_blocks(N, M, self.workers)
        futures = {}
        for b, (t0, t1, e0, e1) in enumerate(blocks):
            actor = self.actors[b % len(self.actors)]
            futures[actor.run.remote(kind, task_name, targets[t0:t1].tolist(), e1 - e0, seed + e0, max_steps)] = b
        out = {k: np.zeros((N, M)) for k in ("returns", "lengths", "speeds", "seeds")}
        clamped = targets.copy()
        done = 0
        for future, part in _as_done(self.ray, futures):
            t0, t1, e0, e1 = blocks[futures[future]]
            for k in out:
                out[k][t0:t1, e0:e1] = getattr(part, k)
            clamped[t0:t1] = part.targets
            done += (t1 - t0) * (e1 - e0)
            if progress is not None:
                progress(done, N * M)
        return SweepResult(clamped, out["returns"], out["lengths"].astype(int), out["speeds"], out["seeds"].astype(int))

    def close(self) -> None:
        """Stop the workers, and Ray itself if this sweeper started it."""
        for a in self.actors:
            self.ray.kill(a)
        self.actors = []
        if self.started_ray:
            shutdown()


def _as_done(ray, futures: Iterable):
    """(future, result) in the order the work finishes, so progress shows while the rest still runs."""
    pending = list(futures)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        yield ready[0], ray.get(ready[0])


def map_tasks(
    fn: Callable, jobs: list[tuple], progress: Progress | None = None, env_vars: tuple[str, ...] = ()
) -> list:
    """``[fn(*job) for job in jobs]``, one Ray task (one CPU) per job; results in job order, progress as they
    finish. ``env_vars`` names environment variables the workers must see as the driver does (data roots)."""
    ray = require_ray()
    remote = ray.remote(num_cpus=1)(fn)
    env = {k: os.environ[k] for k in env_vars if k in os.environ}
    futures = [remote.options(runtime_env={"env_vars": env}).remote(*job) for job in jobs]
    results: dict = {}
    for future, value in _as_done(ray, futures):
        results[future] = value
        if progress is not None:
            progress(len(results), len(futures))
    return [results[f] for f in futures]
