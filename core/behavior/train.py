"""Train a behaviour policy with stable-baselines3 and export snapshots at rising competence.

    python -m core.behavior.train --task hopper

PPO (8 vector envs + VecNormalize) buys Hopper/Walker2d returns fastest per CPU minute here; SAC
buys HalfCheetah's (PPO plateaus near 2k there). Each snapshot is exported as a pickle-free
actor (``core.behavior.policy``) and evaluated by our own rollout code, which also checks the export.
Training state is saved (safetensors + JSON) at every snapshot and resumed after a kill.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import tyro
from safetensors.torch import load_file, save_file
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize
from tqdm import tqdm

from core.behavior.episodes import run_episodes
from core.behavior.pace import PaceEnv, evaluate_pace
from core.behavior.policy import ActorSpec, BehaviorActor, load_actor, save_actor
from core.envs import TaskSpec, get_task
from core.seeding import set_seed
from core.store.layout import behavior_run_dir, snapshot_path

DEFAULT_ALGO = {"hopper": "ppo", "walker2d": "ppo", "halfcheetah": "sac"}
DEFAULT_STEPS = {"ppo": {"hopper": 1_000_000, "walker2d": 1_500_000}, "sac": {"halfcheetah": 150_000}}
EVAL_SEED_BASE = 10_000  # snapshot evaluation seeds; dataset seeds start elsewhere


@dataclass(frozen=True)
class BehaviorConfig:
    """Behaviour-policy training run."""

    task: str = "hopper"
    """Task name (hopper, halfcheetah, walker2d)."""
    algo: Literal["auto", "ppo", "sac"] = "auto"
    """auto: PPO for Hopper/Walker2d, SAC for HalfCheetah (measured: return per CPU minute)."""
    total_steps: int = 0
    """Environment steps; 0 picks the per-task default sized for a 2-core machine."""
    snapshot_every: int = 0
    """Steps between exported snapshots; 0 picks 50k for PPO, 10k for SAC."""
    eval_episodes: int = 5
    """Episodes per snapshot evaluation (deterministic actions)."""
    n_envs: int = 8
    """PPO vector environments."""
    ppo_n_steps: int = 256
    """PPO rollout length per env: 8 x 256 = 2048 steps per update. SB3's default (2048 per env) gave
    8x fewer policy updates for the same compute and Hopper stalled near 500 after 450k steps."""
    ppo_batch_size: int = 64
    """PPO minibatch size (SB3 default)."""
    seed: int = 0
    """Seed for SB3, the environments and torch."""
    threads: int = 1
    """torch threads, so two behaviour runs can share two cores."""
    resume: bool = True
    """Continue from the saved training state if there is one."""
    pace: bool = False
    """Train a pace policy (``core.behavior.pace``): the commanded speed as one more observation, rewarded for
    matching it; snapshots go to ``checkpoints/behavior/<task>/pace``."""

    init_from: Path | None = None
    """A behaviour snapshot (path without suffix) whose actor the new policy starts as: its layers copied, inputs the
    snapshot lacks (a pace policy's target) starting at weight 0, its observation normaliser too (PPO). A pace policy
    trained from scratch never learned to stay up while moving (Hopper: falls after 180-330 steps at every moving
    target through 1.25M PPO steps); started from the expert it already hops."""

    @property
    def family(self) -> str:
        return "pace" if self.pace else "snapshots"

    @property
    def resolved_algo(self) -> str:
        return DEFAULT_ALGO[self.task] if self.algo == "auto" else self.algo

    @property
    def resolved_steps(self) -> int:
        return self.total_steps or DEFAULT_STEPS[self.resolved_algo].get(self.task, 1_000_000)

    @property
    def resolved_snapshot_every(self) -> int:
        return self.snapshot_every or (50_000 if self.resolved_algo == "ppo" else 10_000)


def build_model(cfg: BehaviorConfig, task: TaskSpec):
    """A fresh SB3 model (PPO over VecNormalize'd vector envs, or SAC on one env)."""

    def make(i: int):
        return (lambda: PaceEnv(task.make(), task, seed=cfg.seed * 1000 + i)) if cfg.pace else task.make

    if cfg.resolved_algo == "ppo":
        venv = DummyVecEnv([make(i) for i in range(cfg.n_envs)])
        venv = VecNormalize(venv, norm_obs=True, norm_reward=True)
        return PPO(
            "MlpPolicy",
            venv,
            n_steps=cfg.ppo_n_steps,
            batch_size=cfg.ppo_batch_size,
            seed=cfg.seed,
            verbose=0,
            device="cpu",
        )
    venv = DummyVecEnv([make(0)])
    return SAC("MlpPolicy", venv, seed=cfg.seed, verbose=0, device="cpu", learning_starts=10_000)


def _linears(model, algo: str) -> tuple[list[torch.nn.Linear], torch.nn.Linear, torch.nn.Linear | None]:
    """The SB3 actor's trunk layers, mean head and (SAC) log-std head."""
    if algo == "ppo":
        trunk, mu, log_std_head = model.policy.mlp_extractor.policy_net, model.policy.action_net, None
    else:
        trunk, mu, log_std_head = model.actor.latent_pi, model.actor.mu, model.actor.log_std
    return [m for m in trunk if isinstance(m, torch.nn.Linear)], mu, log_std_head


def _layer_pairs(model, algo: str, ours: BehaviorActor) -> list[tuple[torch.nn.Linear, torch.nn.Linear]]:
    """(SB3 layer, our layer) for the trunk, the mean head and, where both have one, the log-std head."""
    linears, mu, log_std_head = _linears(model, algo)
    pairs = list(zip(linears, [m for m in ours.trunk if isinstance(m, torch.nn.Linear)])) + [(mu, ours.mu)]
    if log_std_head is not None and ours.log_std_head is not None:
        pairs.append((log_std_head, ours.log_std_head))
    return pairs


def warm_start(model, algo: str, snapshot: BehaviorActor) -> None:
    """Start ``model``'s actor as ``snapshot``: same layer shapes except extra inputs of the first layer, which start
    at weight 0 (and, for PPO, normaliser mean 0 / variance 1 there). Raises on any other shape difference."""
    pairs = _layer_pairs(model, algo, snapshot)
    same_depth = len(_linears(model, algo)[0]) == len(snapshot.spec.hidden)
    if not same_depth or any(a.out_features != b.out_features for a, b in pairs):
        raise ValueError(f"cannot start from {snapshot.spec.task} snapshot: layer shapes differ")
    extra = pairs[0][0].in_features - pairs[0][1].in_features
    if extra < 0 or any(a.in_features != b.in_features for a, b in pairs[1:]):
        raise ValueError("cannot start from the snapshot: its inputs are not a prefix of the new policy's")
    with torch.no_grad():
        for dst, src in pairs:
            dst.weight.zero_()
            dst.weight[:, : src.in_features].copy_(src.weight)
            dst.bias.copy_(src.bias)
        if algo == "ppo" and snapshot.spec.log_std is not None:
            model.policy.log_std.copy_(torch.tensor(snapshot.spec.log_std))
    env = model.get_env()
    if isinstance(env, VecNormalize) and snapshot.spec.obs_mean is not None:
        env.obs_rms.mean = np.concatenate([snapshot.spec.obs_mean, np.zeros(extra)])
        env.obs_rms.var = np.concatenate([snapshot.spec.obs_var, np.ones(extra)])
        env.obs_rms.count = 1e4  # the snapshot's statistics carry weight; new data moves them slowly


def export_actor(model, task: TaskSpec, algo: str, step: int) -> BehaviorActor:
    """Copy the SB3 actor's weights into our own module, layer by layer."""
    linears, mu, _ = _linears(model, algo)
    if algo == "ppo":
        log_std = model.policy.log_std.detach().tolist()
        rms = model.get_env().obs_rms
        norm = {"obs_mean": rms.mean.tolist(), "obs_var": rms.var.tolist()}
        activation, squash = "tanh", "clip"
    else:
        log_std, norm, activation, squash = None, {}, "relu", "tanh"
    spec = ActorSpec(
        task=task.name,
        algo=algo,
        obs_dim=linears[0].in_features,
        act_dim=mu.out_features,
        hidden=tuple(m.out_features for m in linears),
        activation=activation,
        squash=squash,
        log_std=log_std,
        step=step,
        **norm,
    )
    ours = BehaviorActor(spec)
    with torch.no_grad():
        for src, dst in _layer_pairs(model, algo, ours):
            dst.load_state_dict(src.state_dict())
    return ours.eval()


def evaluate_actor(actor: BehaviorActor, task: TaskSpec, episodes: int, seed_base: int) -> dict:
    """Deterministic returns of ``actor`` over ``episodes`` seeded episodes."""
    seeds = [seed_base + i for i in range(episodes)]
    returns, _ = run_episodes(task, actor.act, seeds)
    return {"mean": float(returns.mean()), "std": float(returns.std()), "episodes": episodes, "seed_base": seed_base}


def _optimizers(model) -> dict[str, torch.optim.Optimizer]:
    if isinstance(model, PPO):
        return {"policy": model.policy.optimizer}
    return {"actor": model.actor.optimizer, "critic": model.critic.optimizer, "ent": model.ent_coef_optimizer}


def save_state(model, path: Path) -> None:
    """Resumable training state without pickle: weights in safetensors, the rest JSON / weights-only."""
    path.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous() for k, v in model.policy.state_dict().items()}
    if isinstance(model, SAC):
        tensors["log_ent_coef"] = model.log_ent_coef.detach().clone()
    save_file(tensors, str(path / "policy.safetensors"))
    torch.save({k: o.state_dict() for k, o in _optimizers(model).items()}, path / "optim.pt")
    meta = {"num_timesteps": model.num_timesteps}
    env = model.get_env()
    if isinstance(env, VecNormalize):
        meta["vecnorm"] = {
            name: {"mean": rms.mean.tolist(), "var": rms.var.tolist(), "count": float(rms.count)}
            for name, rms in (("obs", env.obs_rms), ("ret", env.ret_rms))
        }
    (path / "state.json").write_text(json.dumps(meta))


def load_state(model, path: Path) -> int:
    """Restore what ``save_state`` wrote; returns the step reached. SAC's replay buffer is not kept."""
    tensors = load_file(str(path / "policy.safetensors"))
    if isinstance(model, SAC):
        with torch.no_grad():
            model.log_ent_coef.copy_(tensors.pop("log_ent_coef"))
    model.policy.load_state_dict(tensors)
    optim = torch.load(path / "optim.pt", weights_only=True)
    for k, o in _optimizers(model).items():
        o.load_state_dict(optim[k])
    meta = json.loads((path / "state.json").read_text())
    env = model.get_env()
    for name, rms in (("obs", getattr(env, "obs_rms", None)), ("ret", getattr(env, "ret_rms", None))):
        if rms is not None:
            saved = meta["vecnorm"][name]
            rms.mean, rms.var, rms.count = np.array(saved["mean"]), np.array(saved["var"]), saved["count"]
    model.num_timesteps = meta["num_timesteps"]
    if isinstance(model, SAC):  # refill the (lost) replay buffer before updating again
        model.learning_starts = model.num_timesteps + 5_000
    return model.num_timesteps


class SnapshotCallback(BaseCallback):
    """Every ``every`` steps: export, evaluate and save a snapshot, log it, save resumable state."""

    def __init__(self, cfg: BehaviorConfig, task: TaskSpec, state_dir: Path, log_path: Path, start: int):
        super().__init__()
        self.cfg, self.task, self.state_dir, self.log_path = cfg, task, state_dir, log_path
        self.next_at = (start // cfg.resolved_snapshot_every + 1) * cfg.resolved_snapshot_every
        self.bar = tqdm(total=cfg.resolved_steps, initial=start, desc=f"{task.name} {cfg.resolved_algo}", unit="step")
        self.t0 = time.time()

    def _on_step(self) -> bool:
        self.bar.n = self.num_timesteps
        if self.num_timesteps >= self.next_at:
            self.snapshot()
            self.next_at += self.cfg.resolved_snapshot_every
        return True

    def snapshot(self) -> None:
        step = self.num_timesteps
        actor = export_actor(self.model, self.task, self.cfg.resolved_algo, step)
        if self.cfg.pace:
            stats = evaluate_pace(actor, self.task, EVAL_SEED_BASE)
        else:
            stats = evaluate_actor(actor, self.task, self.cfg.eval_episodes, EVAL_SEED_BASE)
        actor.spec = ActorSpec(**{**asdict(actor.spec), "stats": stats})
        save_actor(actor, snapshot_path(self.task.name, step, self.cfg.family))
        save_state(self.model, self.state_dir)
        record = {
            "step": step,
            "return_mean": stats["mean"],
            "return_std": stats["std"],
            "wall_s": time.time() - self.t0,
        }
        if self.cfg.pace:
            record |= {"speed_error": stats["speed_error"], "length": stats["length"]}
        with self.log_path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        self.bar.set_postfix(
            ret=f"{stats['mean']:.0f}", **({"err": f"{stats['speed_error']:.2f}"} if self.cfg.pace else {})
        )
        self.bar.refresh()


def train_behavior(cfg: BehaviorConfig) -> list[dict]:
    """Train (or resume) and return the snapshot log."""
    task = get_task(cfg.task)
    torch.set_num_threads(cfg.threads)
    set_seed(cfg.seed)
    run_dir = behavior_run_dir(task.name, cfg.family)
    state_dir, log_path = run_dir / "state", run_dir / "log.jsonl"
    run_dir.mkdir(parents=True, exist_ok=True)
    model = build_model(cfg, task)
    start = load_state(model, state_dir) if cfg.resume and (state_dir / "state.json").exists() else 0
    if start == 0 and cfg.init_from is not None:
        warm_start(model, cfg.resolved_algo, load_actor(cfg.init_from))
    if start == 0:
        log_path.unlink(missing_ok=True)
    callback = SnapshotCallback(cfg, task, state_dir, log_path, start)
    if cfg.resolved_steps > start:
        model.learn(cfg.resolved_steps - start, callback=callback, reset_num_timesteps=start == 0)
    callback.bar.close()
    return [json.loads(line) for line in log_path.read_text().splitlines()]


if __name__ == "__main__":
    train_behavior(tyro.cli(BehaviorConfig))
