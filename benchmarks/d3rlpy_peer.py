"""The peer: d3rlpy's Decision Transformer trained on one of our datasets and evaluated by our sweep protocol.

d3rlpy 2.8.1 pins gymnasium 1.0, so this runs in its own environment, apart from the project's:

    python3 -m venv .venv-peer && .venv-peer/bin/pip install -r requirements-peer.txt
    OMP_NUM_THREADS=1 .venv-peer/bin/python benchmarks/d3rlpy_peer.py --task hopper --dataset medium-replay

It imports nothing from ``core`` (which needs gymnasium 1.4): the dataset is read straight from the Minari HDF5
file with h5py, and the evaluation protocol is restated here (the one of ``python -m core.evaluate``):
requests evenly spaced from the data's 5th percentile of episode returns to ``high_factor`` x its best episode,
clamped to [0, 3 x best] as our policy does; episode j of every request starts from reset seed 100000 + j;
``<Task>-v5`` with 1000-step episodes; RTG scale 1000; deterministic actions; RTG_{t+1} = RTG_t - r_t.
Nothing is pickled: the result is one JSON under ``results/peer/<task>/<dataset>/``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path

import d3rlpy
import gymnasium as gym
import h5py
import numpy as np
import torch
from d3rlpy.logging import LoggerAdapter, LoggerAdapterFactory
from scipy.stats import spearmanr
from tqdm import tqdm

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from core.store.layout import datasets_root, results_root  # noqa: E402  (stdlib only: safe in the peer's venv)

GYM_IDS = {"hopper": "Hopper-v5", "walker2d": "Walker2d-v5", "halfcheetah": "HalfCheetah-v5"}
RTG_SCALE = 1000.0  # returns-to-go enter the network divided by this (core.envs.TaskSpec.rtg_scale)
MAX_EPISODE_STEPS = 1000
EVAL_SEED = 100_000  # core.evaluate.EVAL_SEED: disjoint from dataset and behaviour-evaluation seeds
TARGET_CLAMP = 3.0  # core.policy clamps requests to [0, 3 x data max]


@dataclass(frozen=True)
class PeerDT:
    """d3rlpy DecisionTransformer hyperparameters, matched to our ``cpu`` preset where the two libraries overlap."""

    batch_size: int = 64
    """Windows per step (ours: 64)."""
    context_size: int = 20
    """Steps per window, K (ours: 20)."""
    embed_size: int = 128
    """Token width: the state encoder's output (one 128-unit ReLU layer)."""
    num_layers: int = 3
    """Transformer blocks (ours: 3)."""
    num_heads: int = 1
    """Attention heads (d3rlpy's default for continuous control)."""
    learning_rate: float = 1e-4
    """AdamW learning rate, constant: the original DT's 10k-step warm-up would outlast an 8k-step run."""
    weight_decay: float = 1e-4
    """AdamW weight decay (ours and the original DT: 1e-4)."""
    grad_clip: float = 0.25
    """Gradient-norm clip of the original DT."""
    max_timestep: int = MAX_EPISODE_STEPS
    """Size of the timestep embedding."""

    def create(self, device: str = "cpu:0") -> d3rlpy.algos.DecisionTransformer:
        return d3rlpy.algos.DecisionTransformerConfig(
            batch_size=self.batch_size,
            context_size=self.context_size,
            max_timestep=self.max_timestep,
            learning_rate=self.learning_rate,
            num_heads=self.num_heads,
            num_layers=self.num_layers,
            encoder_factory=d3rlpy.models.VectorEncoderFactory(hidden_units=[self.embed_size], activation="relu"),
            optim_factory=d3rlpy.optimizers.AdamWFactory(
                weight_decay=self.weight_decay, clip_grad_norm=self.grad_clip, lr_scheduler_factory=None
            ),
            # Mean/std of every stored observation, fitted on the data at fit(); inputs become (s - mean) / (std + 1e-3).
            observation_scaler=d3rlpy.preprocessing.StandardObservationScaler(),
            # Scales rewards and returns-to-go alike, in training and at inference.
            reward_scaler=d3rlpy.preprocessing.MultiplyRewardScaler(1.0 / RTG_SCALE),
            position_encoding_type=d3rlpy.PositionEncodingType.SIMPLE,
        ).create(device=device)


def dataset_file(task: str, quality: str) -> Path:
    return datasets_root() / "qalign" / task / f"{quality}-v0" / "data" / "main_data.hdf5"  # Minari's own layout


def read_episodes(path: Path) -> list[dict[str, np.ndarray]]:
    """Minari's layout: one group per episode, observations (T+1, obs_dim) with the final next-state last."""
    with h5py.File(path, "r") as f:
        names = sorted(f.keys(), key=lambda k: int(k.split("_")[-1]))
        return [
            {k: f[name][k][()] for k in ("observations", "actions", "rewards", "terminations", "truncations")}
            for name in names
        ]


def to_replay_buffer(episodes: list[dict[str, np.ndarray]]) -> d3rlpy.dataset.ReplayBuffer:
    """Flat arrays with one terminal or timeout flag closing each episode, as d3rlpy splits them."""
    terminals, timeouts = [], []
    for ep in episodes:
        term = ep["terminations"].astype(np.float32)
        cut = np.zeros_like(term)
        cut[-1] = 1.0 - term[-1]  # an episode not ended by a terminal state was cut (time limit or collection end)
        terminals.append(term)
        timeouts.append(cut)
    return d3rlpy.dataset.MDPDataset(
        observations=np.concatenate([ep["observations"][:-1] for ep in episodes]).astype(np.float32),
        actions=np.concatenate([ep["actions"] for ep in episodes]).astype(np.float32),
        rewards=np.concatenate([ep["rewards"] for ep in episodes]).astype(np.float32)[:, None],
        terminals=np.concatenate(terminals),
        timeouts=np.concatenate(timeouts),
    )


def return_stats(episodes: list[dict[str, np.ndarray]]) -> dict[str, float]:
    returns = np.array([ep["rewards"].sum() for ep in episodes])
    return {
        "episodes": len(episodes),
        "transitions": int(sum(len(ep["rewards"]) for ep in episodes)),
        "min": float(returns.min()),
        "p5": float(np.percentile(returns, 5)),
        "median": float(np.median(returns)),
        "mean": float(returns.mean()),
        "max": float(returns.max()),
    }


class MemoryAdapter(LoggerAdapter):
    """Keeps d3rlpy's per-epoch metrics in memory: nothing is written to disk, no model is saved."""

    def __init__(self, records: list[dict]):
        self.records = records

    def write_params(self, params: dict) -> None:
        pass

    def before_write_metric(self, epoch: int, step: int) -> None:
        self.records.append({"step": step})

    def write_metric(self, epoch: int, step: int, name: str, value: float) -> None:
        self.records[-1][name] = float(value)

    def after_write_metric(self, epoch: int, step: int) -> None:
        pass

    def save_model(self, epoch: int, algo) -> None:
        pass

    def close(self) -> None:
        pass

    def watch_model(self, epoch: int, step: int) -> None:
        pass


class MemoryAdapterFactory(LoggerAdapterFactory):
    def __init__(self, records: list[dict]):
        self.records = records

    def create(self, algo, experiment_name: str, n_steps_per_epoch: int) -> MemoryAdapter:
        return MemoryAdapter(self.records)


def train(dt: d3rlpy.algos.DecisionTransformer, data: d3rlpy.dataset.ReplayBuffer, steps: int) -> dict:
    """d3rlpy's own fit loop; metrics averaged per epoch of up to 500 steps; steps/s timed from the first step."""
    records: list[dict] = []
    stamps: list[float] = []
    bar = tqdm(total=steps, desc="train", unit="step", mininterval=5)

    def on_step(algo, epoch: int, total_step: int) -> None:
        if not stamps:
            stamps.append(time.perf_counter())
        bar.update(1)

    t0 = time.perf_counter()
    dt.fit(
        data,
        n_steps=steps,
        n_steps_per_epoch=math.gcd(steps, 500),
        experiment_name="peer",
        with_timestamp=False,
        logger_adapter=MemoryAdapterFactory(records),
        show_progress=False,
        callback=on_step,
    )
    t1 = time.perf_counter()
    bar.close()
    return {
        "steps": steps,
        "wall_s": t1 - t0,
        "steps_per_s": (steps - 1) / max(t1 - stamps[0], 1e-9) if steps > 1 else float("nan"),
        "log": records,
    }


def run_episode(policy, env: gym.Env, seed: int) -> tuple[float, int]:
    """One episode through d3rlpy's stateful wrapper: it subtracts each reward from the remaining return."""
    obs, _ = env.reset(seed=seed)
    policy.reset()
    reward, ret, length = 0.0, 0.0, 0
    while True:
        action = policy.predict(obs.astype(np.float32), reward)
        obs, reward, term, trunc, _ = env.step(action)
        reward = float(reward)
        ret, length = ret + reward, length + 1
        if term or trunc:
            return ret, length


def evaluate(dt: d3rlpy.algos.DecisionTransformer, task: str, targets: np.ndarray, episodes: int) -> dict:
    """Every request x episode, one episode at a time (d3rlpy's wrapper is unbatched); returns (N, M) arrays."""
    N, M = len(targets), episodes
    seeds = np.tile(np.arange(EVAL_SEED, EVAL_SEED + M), (N, 1))
    returns, lengths = np.zeros((N, M)), np.zeros((N, M), int)
    env = gym.make(GYM_IDS[task], max_episode_steps=MAX_EPISODE_STEPS)
    bar = tqdm(total=N * M, desc="evaluate", unit="ep")
    t0 = time.perf_counter()
    try:
        for i, target in enumerate(targets):
            policy = dt.as_stateful_wrapper(target_return=float(target))  # identity sampler: deterministic
            for j in range(M):
                returns[i, j], lengths[i, j] = run_episode(policy, env, int(seeds[i, j]))
                bar.update(1)
                bar.set_postfix(request=f"{target:.0f}", got=f"{returns[i, j]:.0f}")
    finally:
        env.close()
        bar.close()
    return {"returns": returns, "lengths": lengths, "seeds": seeds, "wall_s": time.perf_counter() - t0}


def metrics(targets: np.ndarray, returns: np.ndarray, stats: dict) -> dict:
    """Spearman over every episode; alignment error = mean |achieved - requested| / data return range."""
    span = stats["max"] - stats["min"]
    req = np.repeat(targets, returns.shape[1])
    ach = returns.reshape(-1)
    inside = (req >= stats["min"]) & (req <= stats["max"])
    mean = returns.mean(axis=1)
    return {
        "spearman_all": float(spearmanr(req, ach).statistic),
        "spearman_in_range": float(spearmanr(req[inside], ach[inside]).statistic),
        "alignment_error_in_range": float(np.mean(np.abs(ach[inside] - req[inside])) / span),
        "alignment_error_all": float(np.mean(np.abs(ach - req)) / span),
        "best_mean_return": float(mean.max()),
        "best_mean_return_request": float(targets[int(mean.argmax())]),
    }


def versions() -> dict[str, str]:
    pkgs = ("d3rlpy", "torch", "gymnasium", "mujoco", "numpy", "h5py", "scipy")
    return {"python": platform.python_version()} | {p: version(p) for p in pkgs}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", default="hopper", choices=sorted(GYM_IDS), help="task name")
    p.add_argument("--dataset", default="medium-replay", help="dataset quality (qalign/<task>/<quality>-v0)")
    p.add_argument("--steps", type=int, default=8000, help="training steps (ours: 8,000 actor steps)")
    p.add_argument("--seed", type=int, default=0, help="training seed (python, numpy, torch)")
    p.add_argument("--n-targets", type=int, default=10, help="requested returns, p5 to high-factor x best")
    p.add_argument("--episodes", type=int, default=5, help="episodes per request; episode j uses seed 100000+j")
    p.add_argument("--high-factor", type=float, default=1.2, help="top request as a multiple of the data's best")
    p.add_argument("--out", type=Path, default=None, help="output folder (default results/peer/<task>/<dataset>)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--device", default="cpu:0", help="d3rlpy device: cpu:0, or cuda:0 on a GPU machine")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    path = dataset_file(args.task, args.dataset)
    episodes = read_episodes(path)
    stats = return_stats(episodes)
    raw_targets = np.linspace(stats["p5"], args.high_factor * stats["max"], args.n_targets)
    targets = np.clip(raw_targets, 0.0, TARGET_CLAMP * max(stats["max"], 1.0))

    d3rlpy.seed(args.seed)
    cfg = PeerDT()
    dt = cfg.create(args.device)
    training = train(dt, to_replay_buffer(episodes), args.steps)
    ev = evaluate(dt, args.task, targets, args.episodes)
    result = metrics(targets, ev["returns"], stats)

    scaler = dt.config.observation_scaler
    report = {
        "peer": f"d3rlpy {d3rlpy.__version__} DecisionTransformer",
        "task": args.task,
        "dataset": args.dataset,
        "dataset_file": str(path),
        "data": stats,
        "config": {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
        | {"dt": asdict(cfg), "rtg_scale": RTG_SCALE, "eval_seed": EVAL_SEED, "gym_id": GYM_IDS[args.task]}
        | {"max_episode_steps": MAX_EPISODE_STEPS, "d3rlpy_config": json.loads(dt.config.serialize())},
        "obs_normalisation": {
            "how": "d3rlpy StandardObservationScaler fitted on every stored observation: (s - mean) / (std + 1e-3)",
            "mean": np.asarray(scaler.mean).tolist(),
            "std": np.asarray(scaler.std).tolist(),
        },
        "versions": versions(),
        "training": training,
        "requested_raw": raw_targets.tolist(),
        "requested": targets.tolist(),
        "per_request_mean": ev["returns"].mean(axis=1).tolist(),
        "per_request_std": ev["returns"].std(axis=1).tolist(),
        "returns": ev["returns"].tolist(),
        "lengths": ev["lengths"].tolist(),
        "seeds": ev["seeds"].tolist(),
        "metrics": result,
        "eval_wall_s": ev["wall_s"],
        "wall_s": time.perf_counter() - t_start,
    }
    out = args.out or results_root() / "peer" / args.task / args.dataset
    out.mkdir(parents=True, exist_ok=True)
    file = out / f"d3rlpy_dt-s{args.seed}.json"
    file.write_text(json.dumps(report, indent=1))

    print(f"training: {training['steps_per_s']:.2f} steps/s, {training['wall_s'] / 60:.1f} min")
    for t, m, s in zip(targets, report["per_request_mean"], report["per_request_std"]):
        print(f"  request {t:8.0f}: {m:8.0f} +/- {s:.0f}")
    print(f"Spearman (all episodes): {result['spearman_all']:.2f}")
    print(f"alignment error (in-range requests): {result['alignment_error_in_range']:.2f}")
    print(f"best mean return: {result['best_mean_return']:.0f} (at request {result['best_mean_return_request']:.0f})")
    print(f"wall {report['wall_s'] / 60:.1f} min; wrote {file}")
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
