"""Evaluate checkpoints: RTG sweep, alignment metrics, velocity tracking, JSON report and plotly figures.

    python -m core.evaluate --task hopper --dataset medium --models dt,qalign --episodes 5
    python -m core.evaluate --task hopper --dataset medium --backend ray --workers 8 [--address HEAD:6379]

Writes ``results/<task>/<dataset>/report.json``, ``alignment.html`` (and ``velocity.html`` when
velocity tracking runs), plus PNGs when kaleido can find a browser. Seeds are recorded in the report.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import tyro
from tqdm import tqdm

from core.envs import get_task
from core.metrics import alignment_report, schedule_tracking_error, speed_error
from core.paths import results_root
from core.plots import MODEL_NAMES, alignment_figure, save_figure, velocity_figure
from core.policy import ReturnConditionedPolicy
from core.rollout import SweepResult, sweep, track_velocity
from core.training.stages import Run

EVAL_SEED = 100_000  # evaluation episodes: disjoint from dataset (1M+) and snapshot (10k-30k) seeds


@dataclass(frozen=True)
class EvalConfig:
    """Controllability evaluation of trained checkpoints."""

    task: str = "hopper"
    """Task name."""
    dataset: str = "medium"
    """Dataset the models were trained on (quality or Minari id)."""
    models: str = "dt,qalign"
    """Comma-separated model kinds to evaluate side by side."""
    seed: int = 0
    """Training seed of the checkpoints to load."""
    targets: tuple[float, ...] = ()
    """Requested returns; empty = ``n_targets`` evenly spaced from the data's p5 to ``high_factor`` x its max."""
    n_targets: int = 8
    """Number of default targets."""
    high_factor: float = 1.5
    """Default targets reach this multiple of the dataset's best episode."""
    episodes: int = 5
    """Episodes per target."""
    eval_seed: int = EVAL_SEED
    """First environment reset seed; episode j uses eval_seed + j."""
    velocity: tuple[float, ...] = ()
    """Velocity step schedule in m/s, equal parts of the episode. Empty: on HalfCheetah 0.5 -> 1.0 -> 0.75 times the
    fastest speed in the data (its best return per step, as a speed), none elsewhere."""
    out: Path | None = None
    """Output folder; default results/<task>/<dataset>."""
    threads: int = 1
    """torch CPU threads; the batched forward is small, and more threads than free cores slows it badly."""
    ship: bool = False
    """Also write the sweep beside the checkpoints (checkpoints/<task>/<dataset>/sweep.json; sweep-s<seed>.json for
    training seeds other than 0) for the dashboard."""
    backend: Literal["local", "ray"] = "local"
    """local: one batched vector env; ray: the targets x episodes split over Ray workers (same seeds, same numbers)."""
    workers: int = 2
    """Ray workers (one CPU each)."""
    address: str | None = None
    """Ray cluster to join (e.g. HEAD:6379); default starts a local Ray instance."""


def default_targets(stats: dict, n: int, high_factor: float) -> np.ndarray:
    return np.linspace(stats["p5"], high_factor * stats["max"], n)


VELOCITY_FRACTIONS = (0.5, 1.0, 0.75)


def velocity_schedule(cfg: EvalConfig, steps: int, stats: dict) -> list[tuple[int, float]]:
    speeds = cfg.velocity
    if not speeds and cfg.task == "halfcheetah":
        task = get_task(cfg.task)
        top = task.speed_for_reward(stats["max"] / task.max_episode_steps)
        speeds = tuple(round(f * top, 2) for f in VELOCITY_FRACTIONS)
    return [(i * steps // len(speeds), v) for i, v in enumerate(speeds)]


def model_path(cfg: EvalConfig, kind: str) -> Path:
    return Run(get_task(cfg.task).name, cfg.dataset, cfg.seed).model_path(kind)


def evaluate_model(cfg: EvalConfig, kind: str, targets: np.ndarray | None, sweeper=None) -> dict:
    """Sweep (locally, or on ``sweeper``'s Ray workers), alignment metrics and velocity tracking of one model."""
    task = get_task(cfg.task)
    path = model_path(cfg, kind)
    policy = ReturnConditionedPolicy.load(path)
    stats = policy.meta["return_stats"]
    if targets is None:
        targets = default_targets(stats, cfg.n_targets, cfg.high_factor)
    targets = policy.clamp_targets(targets)
    total = len(targets) * cfg.episodes
    with tqdm(total=total, desc=f"{task.name} {kind} sweep ({cfg.backend})", unit="ep") as bar:
        progress = lambda done, _n: bar.update(done - bar.n)  # noqa: E731
        if sweeper is None:
            res: SweepResult = sweep(policy, task, targets, cfg.episodes, cfg.eval_seed, progress=progress)
        else:
            res = sweeper.sweep(kind, task.name, targets, cfg.episodes, cfg.eval_seed, progress=progress)
    report = {
        "checkpoint": str(path),
        "return_stats": stats,
        "sweep": res.to_dict(),
        "metrics": alignment_report(res.targets, res.returns, stats["min"], stats["max"], task.d4rl_score),
    }
    schedule = velocity_schedule(cfg, task.max_episode_steps, stats)
    if schedule:
        trace = track_velocity(policy, task, schedule, cfg.eval_seed)
        report["velocity"] = {
            "schedule": schedule,
            "trace": trace.to_dict(),
            "schedule_error": schedule_tracking_error(trace.speed, trace.target),
            "speed_error_after_warmup": speed_error(trace.speed, trace.target),
        }
    return report


def run(cfg: EvalConfig) -> dict:
    import torch

    torch.set_num_threads(cfg.threads)
    kinds = [k.strip() for k in cfg.models.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in MODEL_NAMES]
    if unknown or not kinds:
        raise ValueError(f"unknown model kinds {unknown}; valid: {', '.join(MODEL_NAMES)}")
    targets = np.asarray(cfg.targets, float) if cfg.targets else None
    out = cfg.out or default_out(cfg)
    out.mkdir(parents=True, exist_ok=True)
    sweeper = None
    if cfg.backend == "ray":
        from core import cluster

        sweeper = cluster.RaySweeper({k: model_path(cfg, k) for k in kinds}, cfg.workers, cfg.address, cfg.threads)
    try:
        models = {k: evaluate_model(cfg, k, targets, sweeper) for k in kinds}
    finally:
        if sweeper is not None:
            sweeper.close()
    report = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}, "models": models}
    (out / "report.json").write_text(json.dumps(report, indent=1))
    if cfg.ship:
        ship_sweep(cfg, report, " ".join(["python -m core.evaluate", *sys.argv[1:]]) if sys.argv[1:] else "")
    stats = report["models"][kinds[0]]["return_stats"]
    label = f"{cfg.task} / {cfg.dataset}" + (f" / training seed {cfg.seed}" if cfg.seed else "")
    save_figure(alignment_figure(report["models"], stats, label), out / "alignment")
    if any("velocity" in m for m in report["models"].values()):
        save_figure(velocity_figure(report["models"], label), out / "velocity")
    return report


def default_out(cfg: EvalConfig) -> Path:
    out = results_root() / cfg.task / cfg.dataset.replace("/", "_")
    return out if cfg.seed == 0 else out / f"s{cfg.seed}"


def ship_sweep(cfg: EvalConfig, report: dict, command: str) -> Path:
    """The dashboard's precomputed alignment curves: sweeps only, with how they were made."""
    path = Run(cfg.task, cfg.dataset, cfg.seed).sweep_path
    how = (
        f"{cfg.episodes} episodes per target, reset seeds {cfg.eval_seed}..{cfg.eval_seed + cfg.episodes - 1}, "
        f"training seed {cfg.seed}" + (f"; made by `{command}`" if command else "")
    )
    data = {
        "task": cfg.task,
        "dataset": cfg.dataset,
        "how": how,
        "models": {k: {"sweep": m["sweep"], "metrics": m["metrics"]} for k, m in report["models"].items()},
    }
    path.write_text(json.dumps(data, indent=1))
    return path


def main(argv: list[str] | None = None) -> dict:
    cfg = tyro.cli(EvalConfig, args=argv)
    report = run(cfg)
    for kind, m in report["models"].items():
        met = m["metrics"]
        line = {
            "model": kind,
            "spearman": met["all"]["spearman"],
            "alignment_error": met["all"]["alignment_error"],
            "best_return": met["best_return"],
            "best_score": met.get("best_score"),
        }
        if "velocity" in m:
            line["velocity_schedule_error"] = m["velocity"]["schedule_error"]
        print(json.dumps(line))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
