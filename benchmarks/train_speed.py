"""Training speed on this machine: DT stage vs Q-ALIGN stage steps/s, and the vectorised window
sampler vs a naive per-sample Python loop. Synthetic Hopper-shaped data, so no dataset is needed.

    python benchmarks/train_speed.py [--steps 30] [--bf16 | --compare-bf16] [--config paper --device cuda]

``--compare-bf16`` measures fp32 and bf16 autocast side by side in one run (the ratio is what to trust).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.dataset import OfflineData, trajectory_from_arrays  # noqa: E402
from core.data.windows import FlatData, WindowSampler  # noqa: E402
from core.training.config import preset  # noqa: E402
from core.training.distributed import Dist, resolve_device  # noqa: E402
from core.training.updates import ActorState, CriticState, QAlign, dt_update  # noqa: E402


def synthetic(n_eps=300, T=400, obs_dim=11, act_dim=3, seed=0) -> OfflineData:
    rng = np.random.default_rng(seed)
    trajs = [
        trajectory_from_arrays(
            rng.normal(size=(T + 1, obs_dim)),
            rng.uniform(-1, 1, (T, act_dim)),
            rng.uniform(0, 3, T),
            np.eye(1, T, T - 1, dtype=bool)[0],
            np.zeros(T, bool),
        )
        for _ in range(n_eps)
    ]
    return OfflineData("hopper", "synthetic", trajs, np.zeros(obs_dim), np.ones(obs_dim), {"max": 1200.0})


def naive_sample(data: OfflineData, B: int, K: int, rng: np.random.Generator):
    """The per-sample loop of the original DT code: pick a trajectory, slice, pad, stack."""
    lengths = np.array([len(t) for t in data.trajectories])
    p = lengths / lengths.sum()
    S, A, R, M = [], [], [], []
    for _ in range(B):
        t = data.trajectories[rng.choice(len(lengths), p=p)]
        s = rng.integers(len(t))
        obs, act, rtg = t.observations[s : s + K], t.actions[s : s + K], t.returns_to_go[s : s + K]
        pad = K - len(obs)
        S.append(np.concatenate([np.zeros((pad, obs.shape[1])), obs]))
        A.append(np.concatenate([np.zeros((pad, act.shape[1])), act]))
        R.append(np.concatenate([np.zeros(pad), rtg]))
        M.append(np.concatenate([np.zeros(pad), np.ones(len(obs))]))
    return [torch.as_tensor(np.stack(x), dtype=torch.float32) for x in (S, A, R, M)]


def rate(fn, n: int, device: torch.device | None = None) -> float:
    sync = torch.cuda.synchronize if device is not None and device.type == "cuda" else (lambda: None)
    fn()  # warm-up
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    sync()
    return n / (time.perf_counter() - t0)


def stage_rates(cfg, data: OfflineData, dist: Dist, steps: int) -> tuple[float, float, WindowSampler]:
    flat = FlatData(data, 1000.0, dist.device)
    sampler = WindowSampler(flat, cfg.dt.context_len, torch.Generator(device=dist.device).manual_seed(0))
    st = ActorState(cfg, data.obs_dim, data.act_dim, dist)
    qa = QAlign(
        ActorState(cfg, data.obs_dim, data.act_dim, dist),
        CriticState(cfg, data.obs_dim, data.act_dim, dist=dist),
        cfg,
        "hopper",
        1200.0,
        1000.0,
    )
    dt_rate = rate(lambda: dt_update(st, sampler, 100), steps, dist.device)
    qa_rate = rate(lambda: qa.update(sampler, 100), steps, dist.device)
    return dt_rate, qa_rate, sampler


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--config", default="cpu")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--compare-bf16", action="store_true", help="fp32 and bf16 autocast side by side")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = the preset's)")
    args = ap.parse_args()
    cfg = replace(preset(args.config), bf16=args.bf16)
    if args.threads:
        cfg = replace(cfg, threads=args.threads)
    torch.set_num_threads(cfg.threads)
    dist = Dist(device=resolve_device(args.device))
    data = synthetic()
    dt_rate, qa_rate, sampler = stage_rates(cfg, data, dist, args.steps)
    vec = rate(lambda: sampler.sample(cfg.batch_size), 200, dist.device)
    rng = np.random.default_rng(0)
    naive = rate(lambda: naive_sample(data, cfg.batch_size, cfg.dt.context_len, rng), 50)
    d = cfg.dt
    where = torch.cuda.get_device_name(dist.device) if dist.device.type == "cuda" else f"cpu, threads {cfg.threads}"
    print(
        f"config {args.config}: embed {d.embed_dim}, layers {d.n_layers}, K {d.context_len}, batch {cfg.batch_size}, "
        f"{where}, bf16 {cfg.bf16}"
    )
    print(f"DT stage      {dt_rate:7.2f} steps/s")
    print(f"Q-ALIGN stage {qa_rate:7.2f} steps/s   (DT / Q-ALIGN = {dt_rate / qa_rate:.2f}x)")
    if args.compare_bf16:
        other = replace(cfg, bf16=not cfg.bf16)
        dt2, qa2, _ = stage_rates(other, data, dist, args.steps)
        print(
            f"bf16 {other.bf16}: DT {dt2:7.2f} steps/s ({dt2 / dt_rate:.2f}x), Q-ALIGN {qa2:7.2f} ({qa2 / qa_rate:.2f}x)"
        )
    print(f"sampler: vectorised {vec:8.1f} batches/s, naive loop {naive:7.1f} batches/s   ({vec / naive:.1f}x)")


if __name__ == "__main__":
    main()
