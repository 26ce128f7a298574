"""Evaluation sweep wall time: the local batched backend vs Ray with N workers, side by side in one run.

    python benchmarks/sweep_backends.py [--task hopper --dataset medium --targets 8 --episodes 2 --workers 2]

Ray's start-up (local instance + workers loading the checkpoint) is timed apart from the sweep itself.
Also prints how far the two backends' returns are apart (the same seeds; see tests/test_cluster.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import cluster  # noqa: E402
from core.envs import get_task  # noqa: E402
from core.evaluation import default_targets  # noqa: E402
from core.policy import ReturnConditionedPolicy  # noqa: E402
from core.rollout import sweep  # noqa: E402
from core.store.layout import Run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="hopper")
    ap.add_argument("--dataset", default="medium")
    ap.add_argument("--kind", default="dt")
    ap.add_argument("--targets", type=int, default=8)
    ap.add_argument("--episodes", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--address", default=None)
    ap.add_argument("--seed", type=int, default=100_000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    task = get_task(args.task)
    path = Run(task.name, args.dataset).model_path(args.kind)
    policy = ReturnConditionedPolicy.load(path)
    targets = default_targets(policy.meta["return_stats"], args.targets, 1.5)

    t0 = time.perf_counter()
    local = sweep(policy, task, targets, args.episodes, args.seed)
    t_local = time.perf_counter() - t0

    t0 = time.perf_counter()
    sweeper = cluster.RaySweeper({args.kind: path}, args.workers, args.address)
    sweeper.sweep(args.kind, task.name, targets[:1], 1, args.seed, max_steps=1)  # workers up, checkpoint loaded
    t_start = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        remote = sweeper.sweep(args.kind, task.name, targets, args.episodes, args.seed)
        t_ray = time.perf_counter() - t0
    finally:
        sweeper.close()

    steps = int(local.lengths.sum())
    diff = np.abs(local.returns - remote.returns)
    print(
        f"{task.name}/{args.dataset} {args.kind}: {args.targets} targets x {args.episodes} episodes, {steps} env steps"
    )
    print(f"local batched     {t_local:7.1f} s   ({steps / t_local:6.0f} env steps/s)")
    print(
        f"ray {args.workers} workers     {t_ray:7.1f} s   ({steps / t_ray:6.0f} env steps/s)  + start-up {t_start:.1f} s"
    )
    print(f"ray / local speed {t_local / t_ray:.2f}x (sweep only), {t_local / (t_ray + t_start):.2f}x (with start-up)")
    print(
        f"same seeds: {np.array_equal(local.seeds, remote.seeds)}; same lengths: "
        f"{np.array_equal(local.lengths, remote.lengths)}; max |return difference| {diff.max():.3g}"
    )


if __name__ == "__main__":
    main()
