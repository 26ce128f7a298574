"""Rollout speed on this machine, measured side by side in one run:

1. sweep throughput, eager and TorchScript actor: the sequential one-episode-at-a-time loop (the original DT
   evaluation) vs the batched sweep with one lane (one thread, then ``--threads``) and with ``LANES`` lanes (lane 0
   here, the others in worker processes: ``core.lanes``); same targets, episodes and seeds (default: core.evaluate's
   10 requests x 5 episodes). The workers are started (and their start-up timed) before the timed sweeps, and each
   actor's first lane sweep, which sends the weights (and compiles them there), is timed apart;
2. policy overhead: sweep env steps/s vs raw MuJoCo steps/s (one gymnasium env, random actions, one core), and
   the physics alone: N simulators stepped one by one through gymnasium's ``env.step`` vs together by
   ``core.physics.step_many`` (what the sweeps and the live engine use), alternated, same actions;
3. live engine (with --checkpoint): env steps/s of N episodes of one checkpoint stepped together, unpaced,
   one batched forward per tick, with the actor eager or compiled (TorchScript).

    python benchmarks/rollout_speed.py [--checkpoint checkpoints/hopper/medium-replay/dt/model] [--skip-engine] [--bf16]

``--bf16`` adds the bfloat16 actor (``ReturnConditionedPolicy.bf16``), eager and compiled, to part 1; its returns
differ slightly from fp32's (the "same returns" column compares each actor's runs with its own sequential loop).

Without a checkpoint, an untrained actor of the cpu preset's shape is used (speed does not depend
on the weights). Episodes are capped at --steps so the sequential loop finishes quickly.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import core  # noqa: E402,F401
from core import lanes  # noqa: E402
from core.engine import EngineConfig, EpisodeRequest, LiveEngine  # noqa: E402
from core.envs import get_task  # noqa: E402
from core.models.dt import DecisionTransformer  # noqa: E402
from core.physics import step_many  # noqa: E402
from core.policy import ReturnConditionedPolicy  # noqa: E402
from core.rollout import LANES, sweep, sweep_sequential  # noqa: E402
from core.training.config import preset  # noqa: E402


def load_policy(checkpoint: str | None, task) -> ReturnConditionedPolicy:
    if checkpoint:
        return ReturnConditionedPolicy.load(checkpoint)
    env = task.make()
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    meta = {
        "rtg_scale": 1000.0,
        "obs_mean": [0.0] * obs_dim,
        "obs_std": [1.0] * obs_dim,
        "return_stats": {"min": 0.0, "max": 3000.0},
    }
    return ReturnConditionedPolicy(DecisionTransformer(preset("cpu").dt, obs_dim, act_dim), meta)


def raw_steps_per_s(task, steps: int) -> float:
    env = task.make()
    env.reset(seed=0)
    a = env.action_space
    t0 = time.perf_counter()
    for _ in range(steps):
        _, _, term, trunc, _ = env.step(a.sample())
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - t0)


def physics_steps_per_s(task, n: int, steps: int, batched: bool) -> float:
    """Env steps/s of ``n`` simulators stepped ``steps`` times with the same random actions (seeded), each reset
    when it falls: one by one through gymnasium's ``env.step``, or together by ``step_many``."""
    envs = [task.make() for _ in range(n)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-0.5, 0.5, (steps, n, envs[0].action_space.shape[0])).astype(np.float32)
    t0 = time.perf_counter()
    for t in range(steps):
        if batched:
            ended = step_many(envs, actions[t])[2]
        else:
            ended = [env.step(a)[2] for env, a in zip(envs, actions[t])]
        for i in np.flatnonzero(ended):
            envs[i].reset(seed=int(i))
    rate = n * steps / (time.perf_counter() - t0)
    for env in envs:
        env.close()
    return rate


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="hopper")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--targets", type=int, default=10)
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--steps", type=int, default=300, help="episode cap for the sweep comparison")
    ap.add_argument("--threads", type=int, default=2, help="torch threads of the sequential loop and the 1-lane run")
    ap.add_argument("--skip-engine", action="store_true", help="sweeps only")
    ap.add_argument(
        "--physics-envs", type=int, default=25, help="simulators in the physics-alone part (a lane's share)"
    )
    ap.add_argument("--bf16", action="store_true", help="also the bf16 actor (policy.bf16), eager and compiled")
    args = ap.parse_args()
    task = get_task(args.task)
    targets = np.linspace(500, 3000, args.targets)
    capped = dataclasses.replace(task, max_episode_steps=args.steps)
    raw = raw_steps_per_s(task, 3000)
    start_s, _ = timed(lanes.warm, LANES - 1, wait=True)
    print(
        f"raw MuJoCo {raw:,.0f} steps/s (one env, random actions, one core); {LANES - 1} lane worker(s) started in {start_s:.2f}s"
    )

    rates = {False: [], True: []}
    for _ in range(3):
        for batched in (False, True):
            rates[batched].append(physics_steps_per_s(task, args.physics_envs, 200, batched))
    gym_rate, ours = (float(np.median(rates[b])) for b in (False, True))
    print(
        f"physics alone, {args.physics_envs} simulators x 200 steps, 3 runs each alternated (medians): gymnasium's "
        f"env.step {gym_rate:,.0f} steps/s, core.physics.step_many {ours:,.0f} ({ours / gym_rate:.2f}x)"
    )

    seq_eager = None
    for actor in ("eager", "compiled") + (("eager bf16", "compiled bf16") if args.bf16 else ()):
        policy = load_policy(args.checkpoint, task)
        if "bf16" in actor:
            policy.bf16()
        if actor.startswith("compiled"):
            policy.compile()
        torch.set_num_threads(args.threads)
        t_seq, seq = timed(sweep_sequential, policy, capped, targets, args.episodes, seed=0)
        first_s, _ = timed(sweep, policy, capped, targets[:1], LANES, seed=0)  # sends (compiles) the weights
        runs = {}
        for name, lanes_, threads in (
            ("batched, 1 lane, 1 thread", 1, 1),
            (f"batched, 1 lane, {args.threads} threads", 1, args.threads),
            (f"batched, {LANES} lanes (processes, 1 thread each)", LANES, args.threads),
        ):
            torch.set_num_threads(threads)
            runs[name] = timed(sweep, policy, capped, targets, args.episodes, seed=0, lanes=lanes_)
        torch.set_num_threads(args.threads)
        n_steps = int(next(iter(runs.values()))[1].lengths.sum())
        seq_eager = seq_eager or n_steps / t_seq
        print(
            f"{actor} actor: {args.targets} targets x {args.episodes} episodes (<= {args.steps} steps, {n_steps:,} env "
            f"steps); first lane sweep of this actor (weights sent to the workers) {first_s:.2f}s"
        )
        print(
            f"  sequential loop ({args.threads} threads): {t_seq:.2f}s, {n_steps / t_seq:,.0f} env steps/s ({n_steps / t_seq / raw:.2f} of raw)"
        )
        for name, (t, r) in runs.items():
            same = np.allclose(r.returns, seq, rtol=1e-4)
            rate = n_steps / t
            print(
                f"  {name}: {t:.2f}s, {rate:,.0f} env steps/s ({rate / raw:.2f} of raw), {rate * t_seq / n_steps:.1f}x "
                f"this actor's sequential loop, {rate / seq_eager:.1f}x the eager one (same returns: {same})"
            )
        (t_1, r_1), (t_n, r_n) = next(iter(runs.values())), list(runs.values())[-1]
        rel = np.max(np.abs(r_1.returns - r_n.returns) / np.maximum(np.abs(r_1.returns), 1.0))
        print(f"  lanes vs one lane, one thread: {t_1 / t_n:.2f}x (largest relative return difference {rel:.1e})")

    if not args.checkpoint or args.skip_engine:
        print("live engine: skipped (needs --checkpoint)" if not args.checkpoint else "live engine: skipped")
        return
    for compile_ in (False, True):
        for n in (1, 4, 16):
            rate = engine_steps_per_s(args.checkpoint, task, n, args.steps, compile_)
            print(
                f"live engine, {n:>2} episodes, {'compiled' if compile_ else 'eager':>8} actor: {rate:,.0f} env steps/s"
            )


def engine_steps_per_s(checkpoint: str, task, n: int, steps: int, compile_: bool) -> float:
    """Env steps/s of ``n`` unpaced episodes of one checkpoint in the live engine (one forward per tick)."""
    engine = LiveEngine(EngineConfig(max_episodes=n, compile=compile_))
    engine.warm([task.name], [checkpoint])
    request = EpisodeRequest(task.name, {"m": checkpoint}, target=2000.0, pace=0.0, max_steps=steps)
    eps = [engine.submit(dataclasses.replace(request, seed=i)) for i in range(n)]
    t0 = time.perf_counter()
    while not all(ep.ended.is_set() for ep in eps):
        engine.tick()
    return sum(len(ep.records) - 1 for ep in eps) / (time.perf_counter() - t0)


if __name__ == "__main__":
    main()
