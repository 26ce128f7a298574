"""Training speed on this machine: steps/s of the DT, Q-ALIGN and critic stages, and the vectorised window sampler
vs a naive per-sample Python loop. Synthetic Hopper-shaped data, so no dataset is needed.

    python benchmarks/train_speed.py [--steps 30] [--embed-dim 128] [--bf16 | --compare-bf16] [--config paper --device cuda]
    python benchmarks/train_speed.py --compare-head | --compare-compile
    python benchmarks/train_speed.py --before [REV] [--embed-dim 128] [--runs 4] [--after-bf16]

``--compare-bf16`` measures fp32 and bf16 autocast side by side in one run (the ratio is what to trust); likewise
``--compare-head`` the other actor head (``DTConfig.action_head``: tanh vs mixture) and ``--compare-compile`` the actor
under ``torch.compile`` (inductor) against eager, for the two actor stages.
``--before REV`` (default ``HEAD``, the committed code) checks REV out into a temporary git worktree and times the
same stages there and in this working tree, in subprocesses that alternate (before, after, before, ...) so that
background load hits both alike; it prints each stage's median steps/s, before and after, their ratio, the CPU time
per step (steadier than wall time on a shared machine) and the load average during the run. ``--after-bf16`` times
the working tree under bf16 autocast (``--cfg.bf16``: every forward, actors and critics) against REV in fp32: what a
run with ``--cfg.bf16`` gains on a CPU with native bf16 (AVX512-BF16 or AMX). The timing routine uses
only ``core.training.updates`` / ``config``, ``core.data.windows`` / ``dataset`` and ``Dist``, which both trees have.

On a machine other jobs share, also time ``--threads 1``: with two OpenMP threads per job, a busy neighbour stalls
every parallel region (measured 25-50x fewer steps/s), which swamps any difference between the trees.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
STAGES = ("DT", "Q-ALIGN", "critic")


def synthetic(n_eps=300, T=400, obs_dim=11, act_dim=3, seed=0):
    from core.data.dataset import OfflineData, trajectory_from_arrays

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


def naive_sample(data, B: int, K: int, rng: np.random.Generator):
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


def timed(fn, n: int, device: torch.device | None = None) -> tuple[float, float]:
    """(steps/s of wall time, CPU ms per step) over n calls after one warm-up call."""
    sync = torch.cuda.synchronize if device is not None and device.type == "cuda" else (lambda: None)
    fn()  # warm-up (allocations, optimiser state)
    sync()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    sync()
    return n / (time.perf_counter() - t0), 1000 * (time.process_time() - c0) / n


def rate(fn, n: int, device: torch.device | None = None) -> float:
    return timed(fn, n, device)[0]


def stage_rates(cfg, data, dist, steps: int, compiled: bool = False) -> dict[str, tuple[float, float]]:
    """Each stage's (steps/s, CPU ms/step): one ``dt_update``, ``QAlign.update`` and ``critic_update`` step;
    ``compiled``: the actors' training forward through ``torch.compile`` (its compilation in the warm-up steps)."""
    from core.data.windows import FlatData, TransitionSampler, WindowSampler
    from core.training.updates import ActorState, CriticState, QAlign, critic_update, dt_update

    flat = FlatData(data, 1000.0, dist.device)
    gen = torch.Generator(device=dist.device).manual_seed(0)
    windows, transitions = WindowSampler(flat, cfg.dt.context_len, gen), TransitionSampler(flat, gen)
    st, cs = ActorState(cfg, data.obs_dim, data.act_dim, dist), CriticState(cfg, data.obs_dim, data.act_dim, dist=dist)
    qa = QAlign(ActorState(cfg, data.obs_dim, data.act_dim, dist), cs, cfg, "hopper", 1200.0, 1000.0)
    if compiled:
        st.model, qa.st.model = torch.compile(st.actor), torch.compile(qa.st.actor)
        for _ in range(3):  # compilation outside the timing
            dt_update(st, windows, 100)
            qa.update(windows, 100)
    return {
        "DT": timed(lambda: dt_update(st, windows, 100), steps, dist.device),
        "Q-ALIGN": timed(lambda: qa.update(windows, 100), steps, dist.device),
        "critic": timed(lambda: critic_update(cs, transitions, cfg), 3 * steps, dist.device),
    }


def build_config(args):
    from core.training.config import preset

    cfg = replace(preset(args.config), bf16=args.bf16)
    if args.embed_dim:
        cfg = replace(cfg, dt=replace(cfg.dt, embed_dim=args.embed_dim))
    return replace(cfg, threads=args.threads) if args.threads else cfg


def describe(cfg, where: str) -> str:
    d = cfg.dt
    return (
        f"embed {d.embed_dim}, layers {d.n_layers}, heads {d.n_heads}, K {d.context_len}, batch {cfg.batch_size}, "
        f"critic batch {cfg.critic_batch_size}, {where}, bf16 {cfg.bf16}"
    )


def worker(args) -> None:
    """One timing pass in whichever tree PYTHONPATH names; prints one JSON line."""
    import core
    from core.training.distributed import Dist, resolve_device

    cfg = build_config(args)
    torch.set_num_threads(cfg.threads)
    dist = Dist(device=resolve_device(args.device))
    rates = stage_rates(cfg, synthetic(), dist, args.steps)
    info = {"rates": rates, "threads": cfg.threads, "config": describe(cfg, dist.device.type), "core": core.__file__}
    print(json.dumps(info))


def git(*cmd: str) -> str:
    return subprocess.run(["git", *cmd], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


def run_worker(tree: Path, argv: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *argv]
    out = subprocess.run(cmd, cwd=tree, env=env, check=True, capture_output=True, text=True).stdout
    res = json.loads(out.strip().splitlines()[-1])
    if not Path(res["core"]).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"the worker for {tree} imported {res['core']}")
    return res


def compare(args, argv: list[str], after_argv: list[str]) -> None:
    """Before (REV in a temporary worktree, timed with ``argv``) vs after (this working tree, ``after_argv``),
    alternating; medians and ratios."""
    rev = args.before
    label = f"{rev} ({git('rev-parse', '--short', rev)})"
    tmp = Path(tempfile.mkdtemp(prefix="train_speed_"))
    before = tmp / "before"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still removes the worktree (finally below)
    git("worktree", "add", "--detach", str(before), rev)
    results: dict[str, list[dict]] = {"before": [], "after": []}
    loads = [os.getloadavg()[0]]
    try:
        for i in range(args.runs):
            for name, tree in (
                (("before", before), ("after", REPO)) if i % 2 == 0 else (("after", REPO), ("before", before))
            ):
                results[name].append(run_worker(tree, after_argv if name == "after" else argv))
                loads.append(os.getloadavg()[0])
                print(
                    f"  run {i + 1}/{args.runs} {name:6s}: "
                    + ", ".join(f"{s} {results[name][-1]['rates'][s][0]:.2f}/s" for s in STAGES),
                    flush=True,
                )
    finally:
        git("worktree", "remove", "--force", str(before))
        tmp.rmdir()
    print(f"\nbefore: {results['before'][0]['config']}, threads {results['before'][0]['threads']}")
    print(f"after:  {results['after'][0]['config']}, threads {results['after'][0]['threads']}")
    print(f"before = {label}; after = working tree; {args.runs} runs each, alternating; medians\n")
    print(
        f"{'stage':8s} {'before steps/s':>15s} {'after steps/s':>14s} {'speedup':>7s}   {'CPU ms/step before':>19s} "
        f"{'after':>7s} {'speedup':>7s}"
    )
    for s in STAGES:
        wall_b, wall_a = (statistics.median(r["rates"][s][0] for r in results[n]) for n in ("before", "after"))
        cpu_b, cpu_a = (statistics.median(r["rates"][s][1] for r in results[n]) for n in ("before", "after"))
        print(
            f"{s:8s} {wall_b:15.2f} {wall_a:14.2f} {wall_a / wall_b:6.2f}x   {cpu_b:19.1f} {cpu_a:7.1f} "
            f"{cpu_b / cpu_a:6.2f}x"
        )
    print(
        f"\nload average (1 min) during the run: mean {statistics.mean(loads):.2f}, min {min(loads):.2f}, "
        f"max {max(loads):.2f} on {os.cpu_count()} CPUs"
    )


def single(args) -> None:
    """The working tree alone (the original report); with ``--compare-*``, each variant beside it, alternated over
    ``--runs`` runs (medians), so that background load hits both alike."""
    sys.path.insert(0, str(REPO))
    from core.training.distributed import Dist, resolve_device

    cfg = build_config(args)
    torch.set_num_threads(cfg.threads)
    dist = Dist(device=resolve_device(args.device))
    data = synthetic()
    head = {"tanh": "mixture", "mixture": "tanh"}[cfg.dt.action_head]
    others = (
        (args.compare_bf16, f"bf16 {not cfg.bf16}", replace(cfg, bf16=not cfg.bf16), False),
        (args.compare_head, f"{head} head", replace(cfg, dt=replace(cfg.dt, action_head=head)), False),
        (args.compare_compile, "torch.compile", cfg, True),
    )
    variants = [("base", cfg, False)] + [(label, c, comp) for asked, label, c, comp in others if asked]
    runs: dict[str, list[dict]] = {label: [] for label, _, _ in variants}
    n_runs = args.runs if len(variants) > 1 else 1
    for i in range(n_runs):
        for label, c, compiled in variants if i % 2 == 0 else variants[::-1]:
            runs[label].append(stage_rates(c, data, dist, args.steps, compiled))
    med = {
        label: {s: tuple(statistics.median(r[s][k] for r in rs) for k in (0, 1)) for s in STAGES}
        for label, rs in runs.items()
    }
    rates = med["base"]
    where = torch.cuda.get_device_name(dist.device) if dist.device.type == "cuda" else f"cpu, threads {cfg.threads}"
    print(f"config {args.config}: {describe(cfg, where)}; medians of {n_runs} run(s), variants alternated")
    if args.compare_bf16 or cfg.bf16:
        from core.training.precision import native_bf16

        native = native_bf16(dist.device)  # without it a training run with --cfg.bf16 falls back to fp32
        print(f"native bf16 on {dist.device}: {native}" + ("" if native else " (what is timed here is emulated bf16)"))
    for s in STAGES:
        print(f"{s:8s} stage {rates[s][0]:7.2f} steps/s   ({rates[s][1]:6.1f} CPU ms/step)")
    dt_rate, qa_rate = rates["DT"][0], rates["Q-ALIGN"][0]
    print(f"DT / Q-ALIGN = {dt_rate / qa_rate:.2f}x")
    for label in list(med)[1:]:
        print(
            f"{label}: "
            + ", ".join(
                f"{s} {med[label][s][0]:7.2f} steps/s ({med[label][s][0] / rates[s][0]:.2f}x; CPU ms "
                f"{med[label][s][1] / rates[s][1]:.2f}x)"
                for s in STAGES
            )
        )
    from core.data.windows import FlatData, WindowSampler

    gen = torch.Generator(device=dist.device).manual_seed(0)
    sampler = WindowSampler(FlatData(data, 1000.0, dist.device), cfg.dt.context_len, gen)
    vec = rate(lambda: sampler.sample(cfg.batch_size), 200, dist.device)
    rng = np.random.default_rng(0)
    naive = rate(lambda: naive_sample(data, cfg.batch_size, cfg.dt.context_len, rng), 50)
    print(f"sampler: vectorised {vec:8.1f} batches/s, naive loop {naive:7.1f} batches/s   ({vec / naive:.1f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=30, help="timed steps per stage (critic: 3x)")
    ap.add_argument("--config", default="cpu")
    ap.add_argument("--embed-dim", type=int, default=0, help="actor width (0 = the preset's)")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--compare-bf16", action="store_true", help="fp32 and bf16 autocast side by side")
    ap.add_argument("--compare-head", action="store_true", help="the tanh and mixture action heads side by side")
    ap.add_argument("--compare-compile", action="store_true", help="eager and torch.compile actors side by side")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = the preset's)")
    ap.add_argument("--before", nargs="?", const="HEAD", metavar="REV", help="time REV (default HEAD) beside this tree")
    ap.add_argument(
        "--after-bf16",
        action="store_true",
        help="with --before: the working tree under bf16 autocast, REV in fp32 (CPUs with native bf16)",
    )
    ap.add_argument("--runs", type=int, default=4, help="with --before or --compare-*: alternating runs of each")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
    elif args.before:
        if args.compare_bf16 or args.compare_head or args.compare_compile:
            ap.error("--before and --compare-* each make their own comparison; use one")
        keep = ("--steps", "--config", "--embed-dim", "--device", "--threads")
        argv = [x for k in keep for x in (k, str(getattr(args, k[2:].replace("-", "_"))))]
        argv += ["--bf16"] if args.bf16 else []
        compare(args, argv, argv + (["--bf16"] if args.after_bf16 and not args.bf16 else []))
    elif args.after_bf16:
        ap.error("--after-bf16 goes with --before")
    else:
        single(args)


if __name__ == "__main__":
    main()
