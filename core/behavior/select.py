"""Pick the medium and expert behaviour snapshots, and measure reference returns on our setup.

    python -m core.behavior.select --task hopper

Rule (fixed before looking at datasets or models): expert = the snapshot with the best training
evaluation; medium = the *earliest* snapshot whose training evaluation reaches ``medium_fraction``
of the expert's (the learner's first arrival at a medium level; "closest to the fraction" picked a
collapsed late Walker2d snapshot, 876 +/- 502). Both are then re-measured on fresh seeds, and the
random policy over 100 episodes.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass

import numpy as np
import tyro

from core.behavior.episodes import run_episodes
from core.behavior.policy import load_actor
from core.behavior.train import evaluate_actor
from core.envs import get_task
from core.store.layout import behavior_dir, behavior_path, levels_path, references_path, snapshot_paths

FINAL_EVAL_SEED_BASE = 20_000
RANDOM_SEED_BASE = 30_000


@dataclass(frozen=True)
class SelectConfig:
    """Snapshot selection and reference measurement."""

    task: str = "hopper"
    """Task name."""
    medium_fraction: float = 0.4
    """Medium = first snapshot reaching this fraction of the expert return (D4RL medium: a third to a half)."""
    eval_episodes: int = 50
    """Fresh-seed episodes to measure the chosen snapshots."""
    random_episodes: int = 100
    """Episodes of uniform random actions for the random reference."""


def measure_random(task_name: str, episodes: int) -> dict:
    task = get_task(task_name)
    rng = np.random.default_rng(RANDOM_SEED_BASE)
    act_dim = task.make().action_space.shape[0]
    seeds = [RANDOM_SEED_BASE + i for i in range(episodes)]
    returns, _ = run_episodes(task, lambda o: rng.uniform(-1, 1, (len(o), act_dim)).astype(np.float32), seeds)
    return {
        "mean": float(returns.mean()),
        "std": float(returns.std()),
        "episodes": episodes,
        "seed_base": RANDOM_SEED_BASE,
    }


def select(cfg: SelectConfig) -> dict:
    task = get_task(cfg.task)
    snaps = snapshot_paths(task.name)
    if not snaps:
        raise FileNotFoundError(
            f"no snapshots under {behavior_dir(task.name) / 'snapshots'}; run python -m core.behavior.train --task {task.name}"
        )
    train_eval = {p: json.loads(p.with_suffix(".json").read_text())["stats"]["mean"] for p in snaps}
    expert = max(train_eval, key=train_eval.get)
    target = cfg.medium_fraction * train_eval[expert]
    medium = next(p for p in sorted(train_eval) if train_eval[p] >= target)  # names sort by step
    levels = {}
    for level, path in (("medium", medium), ("expert", expert)):
        for suffix in (".json", ".safetensors"):
            shutil.copyfile(path.with_suffix(suffix), behavior_path(task.name, level).with_suffix(suffix))
        stats = evaluate_actor(
            load_actor(behavior_path(task.name, level)), task, cfg.eval_episodes, FINAL_EVAL_SEED_BASE
        )
        levels[level] = {"snapshot": path.name, "step": load_actor(path).spec.step, **stats}
    levels["random"] = measure_random(task.name, cfg.random_episodes)
    levels["curve"] = {p.name: r for p, r in train_eval.items()}
    levels_path(task.name).write_text(json.dumps(levels, indent=1))
    ref_path = references_path()
    refs = json.loads(ref_path.read_text()) if ref_path.exists() else {}
    refs[task.name] = {
        "random": levels["random"]["mean"],
        "expert": levels["expert"]["mean"],
        "medium": levels["medium"]["mean"],
        "how": f"random: uniform actions, {cfg.random_episodes} episodes; expert/medium: deterministic snapshot, "
        f"{cfg.eval_episodes} episodes from seed {FINAL_EVAL_SEED_BASE} (core.behavior.select --task {task.name})",
    }
    ref_path.parent.mkdir(parents=True, exist_ok=True)
    ref_path.write_text(json.dumps(refs, indent=1, sort_keys=True))
    return levels


if __name__ == "__main__":
    out = select(tyro.cli(SelectConfig))
    print(json.dumps({k: v for k, v in out.items() if k != "curve"}, indent=1))
