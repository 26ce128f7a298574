"""What a trained model records about itself (its JSON metadata), and the checks before Q-ALIGN DT trains:
its inputs exist, and its critic passed the quality gate (``core.critic_quality``) or the user overrode it."""

from __future__ import annotations

import json
from dataclasses import asdict

from core.data.dataset import OfflineData
from core.data.fingerprint import data_fingerprint
from core.envs import get_task
from core.store import checkpoint as ckpt
from core.store.layout import Run
from core.training.config import TrainConfig


def critic_meta(
    data: OfflineData, cfg: TrainConfig, step: int, metrics: dict, fingerprint: dict | None = None, pairs: int = 0
) -> dict:
    """What a pre-trained critic's JSON records: its objective, budget, held-out episodes and data
    (``fingerprint``: the data's, when the caller has computed it already; ``pairs``: branch pairs trained on)."""
    objective = "sarsa" if cfg.critic_expectile == 0.5 else f"expectile-sarsa {cfg.critic_expectile}"
    if cfg.critic_nstep > 1:
        objective = f"{cfg.critic_nstep}-step {objective}"
    if pairs:
        objective += f" + branch pairs x{cfg.critic_pair_weight:g}"
        objective += "" if cfg.critic_pair_loss == "mse" else f" ({cfg.critic_pair_loss})"
    return {
        "task": data.task,
        "dataset_id": data.dataset_id,
        "step": step,
        "metrics": metrics,
        "gamma": cfg.gamma,
        "objective": objective,
        "critic_steps": cfg.critic_steps,
        "bf16": cfg.bf16,
        "holdout_every": cfg.critic_holdout_every,
        "branch_pairs": pairs,
        "data_fingerprint": fingerprint or data_fingerprint(data),
    }


def model_meta(
    kind: str, data: OfflineData, run: Run, cfg: TrainConfig, step: int, metrics: dict, critic: dict | None = None
) -> dict:
    """What a shipped actor's JSON records beside its weights (see ``core.store.checkpoint.MODEL_KEYS``)."""
    task = get_task(data.task)
    return {
        "kind": kind,
        "task": data.task,
        "dataset": run.dataset,
        "dataset_id": data.dataset_id,
        "seed": run.seed,
        "obs_dim": data.obs_dim,
        "act_dim": data.act_dim,
        "obs_mean": data.obs_mean.tolist(),
        "obs_std": data.obs_std.tolist(),
        "rtg_scale": task.rtg_scale,
        "max_episode_steps": task.max_episode_steps,
        "return_stats": data.return_stats,
        "step": step,
        "train_config": asdict(cfg),
        "metrics": metrics,
        "selection": f"final {'EMA' if cfg.ship_weights == 'ema' else 'raw (not EMA)'} weights (fixed before "
        "training; no evaluation used)",
        "data_fingerprint": data_fingerprint(data),
        "critic": critic,
    }


def require_inputs(run: Run) -> None:
    """Q-ALIGN DT needs the critic and the DT's pre-trained state; say which command makes each."""
    for need, ok, cmd in (
        (run.critic_path.with_suffix(".json"), run.critic_path.with_suffix(".json").exists(), "critic"),
        (run.stage_dir("pretrain"), ckpt.has_state(run.stage_dir("pretrain")), "dt"),
    ):
        if not ok:
            raise FileNotFoundError(
                f"Q-ALIGN needs {need}; run first: python -m core.train --task {run.task} "
                f"--dataset {run.dataset} --seed {run.seed} --stage {cmd}"
            )


class CriticGateError(RuntimeError):
    """The critic has not passed the quality gate (``core.critic_quality``) and no override was given."""


def critic_record(run: Run, allow_weak_critic: bool) -> dict:
    """The gate Q-ALIGN DT asks before it uses the run's critic; returns what the shipped model records about
    the critic. A critic that was not scored, or scored below the thresholds, is refused unless overridden."""
    meta = json.loads(run.critic_path.with_suffix(".json").read_text())
    quality = meta.get("quality")
    where = f"--task {run.task} --dataset {run.dataset} --seed {run.seed}"
    if quality is None:
        verdict, why = "not scored", f"score it first: python -m core.critic_quality {where}"
    elif not quality.get("passed"):
        failed = {k: round(quality.get(k, float("nan")), 3) for k, v in quality["thresholds"].items()
                  if not quality.get(k, float("nan")) >= v}  # fmt: skip
        verdict, why = "failed", f"it scored below the gate: {failed} (thresholds {quality['thresholds']})"
    else:
        verdict, why = "passed", ""
    if verdict != "passed" and not allow_weak_critic:
        raise CriticGateError(
            f"Q-ALIGN refuses the critic {run.critic_path}: {why}. Train a better critic, or pass "
            "--allow-weak-critic to align with it anyway (the model will record that)."
        )
    return {
        "path": str(run.critic_path),
        "objective": meta.get("objective", "sarsa"),
        "step": meta.get("step"),
        "gate": verdict if verdict == "passed" else f"{verdict} (overridden by --allow-weak-critic)",
        "quality": quality,
    }
