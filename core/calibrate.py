"""Measure "ask for an outcome" (``core.calibration``) on fresh seeds, with and without the calibration.

    python -m core.calibrate --task hopper --dataset medium-replay --ship

For each model: the calibration is fitted on its shipped sweep (``checkpoints/<task>/<dataset>/sweep.json``);
``n_wanted`` wanted returns spread from the data's 5th percentile to its best episode are each run for
``episodes`` episodes on seeds ``eval_seed``+ (apart from the sweep's), once asking for the wanted return as the
RTG and once asking for the calibrated RTG. Writes ``results/<task>/<dataset>/calibration.json``; ``--ship``
also writes it beside the checkpoints, where the dashboard's Alignment tab shows it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import tyro
from tqdm import tqdm

from core.calibration import CALIBRATION_SEED, Calibration, summarise, wanted_returns
from core.envs import get_task
from core.policy import ReturnConditionedPolicy
from core.rollout import sweep
from core.store.layout import Run


@dataclass(frozen=True)
class CalibrateConfig:
    """Measure the ask-for-an-outcome calibration of shipped models."""

    task: str = "hopper"
    """Task name."""
    dataset: str = "medium"
    """Dataset the models were trained on."""
    models: str = "dt,qalign"
    """Comma-separated model kinds (each needs its sweep in the shipped sweep.json)."""
    n_wanted: int = 10
    """Wanted returns, evenly spaced from the data's 5th percentile to its best episode."""
    episodes: int = 5
    """Episodes per wanted return and condition."""
    eval_seed: int = CALIBRATION_SEED
    """First reset seed; episode j uses eval_seed + j (apart from the sweep's seeds)."""
    out: Path | None = None
    """Output folder; default results/<task>/<dataset>."""
    ship: bool = False
    """Also write calibration.json beside the checkpoints for the dashboard."""
    threads: int = 1
    """torch CPU threads."""


def measure(cfg: CalibrateConfig, progress=None) -> dict:
    """The measurement as a dict (what calibration.json holds)."""
    import torch

    torch.set_num_threads(cfg.threads)
    if cfg.n_wanted < 2 or cfg.episodes < 1:
        raise ValueError(f"need n_wanted >= 2 and episodes >= 1, got {cfg.n_wanted} and {cfg.episodes}")
    run = Run(cfg.task, cfg.dataset)
    if not run.sweep_path.exists():
        raise FileNotFoundError(
            f"no shipped sweep {run.sweep_path} to fit on; make it with: python -m core.evaluate --task {cfg.task} "
            f"--dataset {cfg.dataset} --ship"
        )
    shipped = json.loads(run.sweep_path.read_text())
    kinds = [k.strip() for k in cfg.models.split(",") if k.strip()]
    missing = [k for k in kinds if k not in shipped["models"]]
    if missing or not kinds:
        raise ValueError(
            f"models {missing or kinds} have no sweep in {run.sweep_path}; it has {list(shipped['models'])}"
        )
    task = get_task(cfg.task)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
    out = {
        "task": cfg.task,
        "dataset": cfg.dataset,
        "fitted_on": shipped.get("how", ""),
        "config": config,
        "models": {},
    }
    for i, kind in enumerate(kinds):
        policy = ReturnConditionedPolicy.load(run.shipped_model(kind))
        stats = policy.meta["return_stats"]
        cal = Calibration.from_sweep(shipped["models"][kind]["sweep"])
        wanted = wanted_returns(stats, cfg.n_wanted)
        asked = [cal.rtg_for(float(w)) for w in wanted]
        plain = sweep(policy, task, wanted, cfg.episodes, cfg.eval_seed)
        if progress:
            progress(2 * i + 1, 2 * len(kinds))
        calibrated = sweep(policy, task, np.array([a for a, _ in asked]), cfg.episodes, cfg.eval_seed)
        if progress:
            progress(2 * i + 2, 2 * len(kinds))
        out["models"][kind] = {
            "calibration": cal.to_dict(),
            "reachable": list(cal.reachable),
            "wanted": wanted.tolist(),
            "asked_rtg": [a for a, _ in asked],
            "wanted_reachable": [r for _, r in asked],
            "without": summarise(wanted, plain.returns),
            "with": summarise(wanted, calibrated.returns),
        }
    out["how"] = (
        f"{cfg.n_wanted} wanted returns p5..max of the data x {cfg.episodes} episodes, reset seeds "
        f"{cfg.eval_seed}..{cfg.eval_seed + cfg.episodes - 1}, asked as RTG (without) and through the isotonic "
        f"calibration fitted on the shipped sweep (with)"
    )
    return out


def main(cfg: CalibrateConfig) -> dict:
    cfg = replace(cfg, task=get_task(cfg.task).name)
    with tqdm(desc=f"{cfg.task}/{cfg.dataset} calibration", unit="sweep") as bar:

        def progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        result = measure(cfg, progress)
    run = Run(cfg.task, cfg.dataset)
    folder = cfg.out or run.results_dir
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=1)
    (folder / "calibration.json").write_text(text)
    if cfg.ship:
        run.calibration_path.write_text(text)
    for kind, m in result["models"].items():
        print(
            f"{kind}: mean |wanted - achieved| {m['without']['mean_abs_error']:,.0f} without, "
            f"{m['with']['mean_abs_error']:,.0f} with the calibration (reachable {m['reachable'][0]:,.0f}"
            f"..{m['reachable'][1]:,.0f})"
        )
    return result


if __name__ == "__main__":
    main(tyro.cli(CalibrateConfig, args=sys.argv[1:]))
