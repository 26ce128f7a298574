"""torchrun + DDP on CPU (gloo): two ranks train every stage, stay identical, and ship a normal checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from core.policy import ReturnConditionedPolicy
from core.store.checkpoint import load_state
from core.store.layout import REPO_ROOT, Run
from core.training.config import preset
from core.training.driver import run_stage


def torchrun(stage: str, nproc: int = 2, extra: tuple[str, ...] | list[str] = ()) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)]
    cmd += ["-m", "core.train", "--task", "hopper", "--dataset", "medium", "--stage", stage, "--config", "tiny"]
    cmd += ["--allow-weak-critic", *extra]
    out = subprocess.run(
        [*cmd, "--device", "cpu"], cwd=REPO_ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_two_gloo_ranks_train_all_stages_in_sync_and_resume_on_one(tiny_dataset, roots):
    run = Run("hopper", "medium")
    cfg = preset("tiny")
    for stage in ("critic", "dt", "qalign"):
        out = torchrun(stage)
        assert out.stdout.count('"stage"') == 1  # rank 0 alone prints its summary
    critic_meta = json.loads(run.critic_path.with_suffix(".json").read_text())
    assert critic_meta["world_size"] == 2 and len(set(critic_meta["rank_fingerprints"])) == 1
    for kind in ("dt", "qalign"):
        meta = json.loads(run.model_path(kind).with_suffix(".json").read_text())
        assert meta["world_size"] == 2
        assert len(meta["rank_fingerprints"]) == 2
        assert meta["rank_fingerprints"][0] == meta["rank_fingerprints"][1], "ranks' weights diverged"
        policy = ReturnConditionedPolicy.load(run.model_path(kind))  # loads like any other checkpoint
        policy.reset(np.zeros((2, 11)), np.array([100.0, 500.0]))
        assert policy.act(np.zeros((2, 11))).shape == (2, 3)
    # rank 0 wrote every rank's RNG state in the single-process format (plus per-rank keys)
    _, rngs = load_state(run.stage_dir("pretrain"), {}, {})
    assert {"sampler", "torch", "sampler_r1", "torch_r1"} <= set(rngs)
    assert not (rngs["sampler"] == rngs["sampler_r1"]).all()  # each rank samples its own windows
    # lines in the metrics log come from rank 0 only: one per logged step
    steps = [json.loads(line)["step"] for line in run.metrics_path("dt").read_text().splitlines()]
    assert len(steps) == len(set(steps))
    # one rank continues the two-rank pre-trained state
    result = run_stage("qalign", "hopper", "medium", cfg, device="cpu", resume=False, allow_weak_critic=True)
    assert result.step == cfg.total_actor_steps
    meta = json.loads(run.model_path("qalign").with_suffix(".json").read_text())
    assert meta["world_size"] == 1


def test_device_choice_is_explicit():
    import pytest
    import torch

    from core.training.distributed import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            resolve_device("cuda")  # never a silent fallback to the CPU
    with pytest.raises(ValueError, match="valid: auto, cpu, cuda"):
        resolve_device("tpu")


def test_two_gloo_ranks_train_the_critic_with_branch_pairs_in_sync(with_behaviour):
    """The paired-branch loss under DDP (a second forward through the wrapped critic in the same step, each rank
    sampling its own pairs): both ranks end with the same critic and the same Q-ALIGN DT."""
    from core.branches import BranchConfig, generate

    generate(BranchConfig(task="hopper", dataset="medium", pairs=4, chunk=4, horizon=3))
    pairs = ["--cfg.critic-pair-weight", "1", "--cfg.critic-pair-batch", "4"]
    for stage in ("critic", "qalign"):
        torchrun(stage, extra=pairs)
    critic_meta = json.loads(with_behaviour.critic_path.with_suffix(".json").read_text())
    assert critic_meta["branch_pairs"] == 4 and len(set(critic_meta["rank_fingerprints"])) == 1
    meta = json.loads(with_behaviour.model_path("qalign").with_suffix(".json").read_text())
    assert meta["world_size"] == 2 and len(set(meta["rank_fingerprints"])) == 1
