"""Training entry point: one command per stage.

    python -m core.train --task hopper --dataset medium --stage critic --config cpu
    python -m core.train --task hopper --dataset medium --stage dt --config cpu
    python -m core.train --task hopper --dataset medium --stage qalign --config cpu

Any field of the preset can be overridden, e.g. ``--cfg.align-steps 500 --cfg.dt.embed-dim 64``
(``--help`` lists them all with their meaning). Runs resume from their last saved state.

The same command runs data-parallel under torchrun (gloo on CPU, NCCL on GPUs; rank 0 logs and saves):

    torchrun --nproc_per_node 4 -m core.train --task hopper --dataset medium --stage dt --config paper --device cuda
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field, replace
from typing import Literal

import tyro
from tqdm import tqdm

from core.envs import get_task
from core.training.config import PRESETS, TrainConfig
from core.training.driver import run_stage


@dataclass(frozen=True)
class TrainArgs:
    """Train one stage of one (task, dataset, seed)."""

    task: str = "hopper"
    """Task name (hopper, halfcheetah, walker2d)."""
    dataset: str = "medium"
    """Dataset quality (medium, medium-replay, expert, medium-expert) or a full Minari id."""
    stage: Literal["critic", "dt", "qalign"] = "dt"
    """critic: SARSA pre-training; dt: BC baseline (and the shared pre-training); qalign: alignment stage."""
    seed: int = 0
    """Training seed (network init, window sampling, dropout, RTG perturbations)."""
    resume: bool = True
    """Continue from the run's saved state if there is one."""
    allow_weak_critic: bool = False
    """qalign: align with a critic that has not passed the quality gate (python -m core.critic_quality); the model
    records the override."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """auto: the GPU when torch sees one (cuda:LOCAL_RANK under torchrun), else the CPU."""
    cfg: TrainConfig = field(default_factory=TrainConfig)
    """Hyperparameters (defaults come from --config)."""


def tqdm_progress(desc: str, disable: bool = False):
    bar = tqdm(desc=desc, unit="step", dynamic_ncols=True, disable=disable)

    def progress(step: int, total: int, metrics: dict | None) -> None:
        bar.total = total
        bar.n = step
        if metrics:
            bar.set_postfix({k.split("/")[-1]: f"{v:.4g}" for k, v in metrics.items() if k.startswith("losses/")})
        bar.refresh()

    return progress, bar


def main(argv: list[str] | None = None) -> dict:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default="cpu", choices=sorted(PRESETS))
    known, rest = pre.parse_known_args(argv)
    args = tyro.cli(
        TrainArgs,
        default=TrainArgs(cfg=PRESETS[known.config]),
        args=rest,
        description=__doc__ + f"\n--config {{{','.join(sorted(PRESETS))}}} picks the preset (default cpu).",
    )
    args = replace(args, task=get_task(args.task).name)  # the command-line edge: Hopper -> hopper
    main_rank = int(os.environ.get("RANK", 0)) == 0
    progress, bar = tqdm_progress(f"{args.task}/{args.dataset} {args.stage}", disable=not main_rank)
    result = run_stage(
        args.stage,
        args.task,
        args.dataset,
        args.cfg,
        args.seed,
        progress,
        args.resume,
        args.device,
        args.allow_weak_critic,
    )
    bar.close()
    summary = {
        "stage": result.stage,
        "step": result.step,
        "checkpoint": str(result.checkpoint),
        "log": str(result.log_path),
        "metrics": result.metrics,
    }
    if main_rank:
        print(json.dumps(summary))
    return summary


def exit_rank() -> None:
    """End a torchrun rank without interpreter finalisation: the work is written and the process group destroyed,
    but gloo's C++ threads can still be torn down during finalisation and abort the rank (SIGABRT, "terminate
    called without an active exception"; seen 1 in 5 CI runs). Everything is flushed first."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
    if int(os.environ.get("WORLD_SIZE", 1)) > 1:
        exit_rank()
