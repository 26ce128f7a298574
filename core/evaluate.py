"""Evaluate checkpoints from the command line (the library is ``core.evaluation``): RTG sweep, alignment
metrics, velocity tracking, JSON/CSV report and plotly figures.

    python -m core.evaluate --task hopper --dataset medium --models dt,qalign --episodes 5
    python -m core.evaluate --task hopper --dataset medium --backend ray --workers 8 [--address HEAD:6379]

Writes ``results/<task>/<dataset>/report.json``, ``sweep.json``, ``sweep.csv``, ``alignment.html`` (and
``velocity.html`` when velocity tracking runs), plus PNGs when kaleido can find a browser. Seeds are recorded
in the report. ``--ship`` also writes the sweep beside the checkpoints for the dashboard.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import tyro
from tqdm import tqdm

from core.calibration import SpeedHoldConfig, calibrations_from_sweep_file
from core.checks import out_of_range, refuse
from core.envs import get_task
from core.evaluation import (
    EPISODES,
    EVAL_SEED,
    HIGH_FACTOR,
    default_targets,
    evaluate,
    protocol_targets,
    velocity_schedule,
)
from core.plots import MODEL_NAMES, alignment_figure, save_figure, velocity_figure
from core.policy import ReturnConditionedPolicy
from core.store.layout import Run


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
    """Requested returns; empty = evenly spaced from the data's p5 to ``high_factor`` x its max (``n_targets``)."""
    n_targets: int = 0
    """Number of default targets; 0 = the alignment protocol's: as many as put 10 inside the data's return range
    (``core.evaluation.protocol_targets``)."""
    high_factor: float = HIGH_FACTOR
    """Default targets reach this multiple of the dataset's best episode."""
    episodes: int = EPISODES
    """Episodes per target."""
    eval_seed: int = EVAL_SEED
    """First environment reset seed; episode j uses eval_seed + j."""
    velocity: tuple[float, ...] = ()
    """Velocity step schedule in m/s, equal parts of the episode. Empty: on HalfCheetah 0.5 -> 1.0 -> 0.75 times the
    fastest speed in the data (its best return per step, as a speed), none elsewhere."""
    velocity_calibration: Path | None = None
    """A ``sweep.json`` (e.g. the shipped one) whose per-model sweeps calibrate the speed requests
    (``Calibration.rtg_for_speed``); default: r*(v) x steps left. Fit it on other seeds than ``eval_seed``'s."""
    speed_hold: float = 0.0
    """Gain of the speed hold (``core.calibration.SpeedHoldConfig``: an integral loop on the speed asked); 0 asks
    open loop, what the model does alone."""
    speed_hold_top: float = 1.0
    """The speed hold's cap (``SpeedHoldConfig.top_factor``): r* of the fastest speed asked, in multiples of the data's
    best return per step."""
    out: Path | None = None
    """Output folder; default results/<task>/<dataset>."""
    threads: int = 1
    """torch CPU threads; the batched forward is small, and more threads than free cores slows it badly."""
    ship: bool = False
    """Also write the sweep beside the checkpoints (checkpoints/<task>/<dataset>/sweep.json; sweep-s<seed>.json for
    training seeds other than 0) for the dashboard."""
    png: bool = True
    """Also write PNG figures (kaleido drives a headless Chromium: seconds per figure); HTML is always written."""
    backend: Literal["local", "ray"] = "local"
    """local: batched sweep lanes on this machine's cores (core.rollout.sweep); ray: the targets x episodes split
    over Ray workers (same seeds, same numbers)."""
    workers: int = 2
    """Ray workers (one CPU each)."""
    address: str | None = None
    """Ray cluster to join (e.g. HEAD:6379); default starts a local Ray instance."""


def normalised(cfg: EvalConfig) -> EvalConfig:
    """The command-line edge: ``--task HalfCheetah`` is ``halfcheetah`` from here on, and a number out of its range
    is refused naming its option (not deep inside numpy)."""
    checks = (
        ("n-targets", cfg.n_targets, cfg.n_targets >= 0, ">= 0 (0: the protocol's)"),
        ("episodes", cfg.episodes, cfg.episodes >= 1, ">= 1"),
        ("high-factor", cfg.high_factor, np.isfinite(cfg.high_factor) and cfg.high_factor > 0, "a number > 0"),
        ("targets", cfg.targets, all(np.isfinite(cfg.targets)), "finite numbers"),
        ("velocity", cfg.velocity, all(np.isfinite(v) and v >= 0 for v in cfg.velocity), "speeds >= 0"),
        ("speed-hold", cfg.speed_hold, np.isfinite(cfg.speed_hold) and cfg.speed_hold >= 0, ">= 0"),
        ("speed-hold-top", cfg.speed_hold_top, np.isfinite(cfg.speed_hold_top) and cfg.speed_hold_top > 0, "> 0"),
        ("threads", cfg.threads, cfg.threads >= 1, ">= 1"),
    )  # fmt: skip
    refuse(out_of_range(checks))
    return replace(cfg, task=get_task(cfg.task).name)


def model_kinds(cfg: EvalConfig) -> list[str]:
    kinds = [k.strip() for k in cfg.models.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in MODEL_NAMES]
    if unknown or not kinds:
        raise ValueError(f"unknown model kinds {unknown}; valid: {', '.join(MODEL_NAMES)}")
    return kinds


def run(cfg: EvalConfig, command: str = "") -> dict:
    """Evaluate, write ``report.json``, ``sweep.json``/``.csv`` and figures; ``--ship`` also ships the sweep.
    ``command`` (the command line that asked for it) is recorded in the sweep's ``how``."""
    import torch

    cfg = normalised(cfg)
    torch.set_num_threads(cfg.threads)
    run_ = Run(cfg.task, cfg.dataset, cfg.seed)
    paths = {k: run_.shipped_model(k) for k in model_kinds(cfg)}
    policies = {k: ReturnConditionedPolicy.load(p) for k, p in paths.items()}
    stats = next(iter(policies.values())).meta["return_stats"]
    if cfg.targets:
        targets = np.asarray(cfg.targets, float)
    elif cfg.n_targets:
        targets = default_targets(stats, cfg.n_targets, cfg.high_factor)
    else:
        targets = protocol_targets(stats, high_factor=cfg.high_factor)
    schedule = velocity_schedule(get_task(cfg.task), stats, cfg.velocity)
    speed_cals = calibrations_from_sweep_file(cfg.velocity_calibration) if cfg.velocity_calibration else None
    if speed_cals is not None and not set(paths) <= set(speed_cals):
        raise ValueError(f"{cfg.velocity_calibration} has no sweep for {sorted(set(paths) - set(speed_cals))}")
    sweeper = None
    if cfg.backend == "ray":
        from core import cluster

        sweeper = cluster.RaySweeper(paths, cfg.workers, cfg.address, cfg.threads)
    try:
        with tqdm(desc=f"{cfg.task} sweep ({cfg.backend})", unit="ep") as bar:

            def progress(done: int, total: int, kind: str) -> None:
                bar.total, bar.n = total, done
                bar.set_postfix(model=kind)
                bar.refresh()

            ev = evaluate(
                policies,
                cfg.dataset,
                targets,
                cfg.episodes,
                cfg.eval_seed,
                None,  # the training seed the models record (the shown ``model`` pair may not be seed 0)
                schedule,
                progress,
                sweeper,
                speed_cals,
                SpeedHoldConfig(gain=cfg.speed_hold, top_factor=cfg.speed_hold_top) if cfg.speed_hold else None,
            )
    finally:
        if sweeper is not None:
            sweeper.close()
    if command:
        ev.how = ev.sweep_json()["how"] + f"; made by `{command}`"
    out = cfg.out or run_.results_dir
    report = ev.report_json({k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()})
    ev.write(out)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    if cfg.ship:
        run_.sweep_path.write_text(json.dumps(ev.sweep_json(), indent=1))
    label = f"{cfg.task} / {cfg.dataset}" + (f" / training seed {ev.seed}" if ev.seed else "")
    save_figure(alignment_figure(report["models"], stats, label), out / "alignment", cfg.png)
    if schedule:
        save_figure(velocity_figure(report["models"], label), out / "velocity", cfg.png)
    return report


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    report = run(tyro.cli(EvalConfig, args=argv), " ".join(["python -m core.evaluate", *argv]))
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
            line["velocity_schedule_error_1s"] = m["velocity"].get("schedule_error_1s")
            line["velocity_smooth_tracking_error_1s"] = m["velocity"].get("smooth", {}).get("tracking_error_1s")
        print(json.dumps(line))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
