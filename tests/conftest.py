"""Shared fixtures: every test writes datasets, checkpoints and runs under its own temp folder."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import core  # noqa: F401  (sets MUJOCO_GL before anything imports mujoco)
from core.behavior.episodes import run_episodes
from core.data.minari_io import write_dataset
from core.envs import get_task


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """Isolated dataset / checkpoint / run / result roots."""
    paths = {name: tmp_path / name for name in ("datasets", "checkpoints", "runs", "results")}
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(paths["datasets"]))
    monkeypatch.setenv("QDT_CHECKPOINTS", str(paths["checkpoints"]))
    monkeypatch.setenv("QDT_RUNS", str(paths["runs"]))
    monkeypatch.setenv("QDT_RESULTS", str(paths["results"]))
    return paths


def random_episodes(task_name: str, n: int, max_steps: int, seed: int = 0):
    """Uniform-random episodes; a short time limit makes some end truncated, others terminated."""
    task = dataclasses.replace(get_task(task_name), max_episode_steps=max_steps)
    rng = np.random.default_rng(seed)
    act_dim = task.make().action_space.shape[0]
    _, eps = run_episodes(
        task,
        lambda o: rng.uniform(-1, 1, (len(o), act_dim)).astype(np.float32),
        list(range(seed, seed + n)),
        record=True,
    )
    return eps


@pytest.fixture
def tiny_dataset(roots):
    """A random-policy Hopper dataset under the id of our 'medium' quality: ended both ways."""
    eps = random_episodes("hopper", 8, max_steps=25) + random_episodes("hopper", 4, max_steps=10, seed=100)
    write_dataset("qalign/hopper/medium-v0", get_task("hopper"), eps, "test", algorithm="random")
    return eps


@pytest.fixture
def tiny_models(tiny_dataset):
    """Tiny DT and Q-ALIGN DT checkpoints trained on the tiny dataset (seconds)."""
    from core.training.config import preset
    from core.training.stages import Run, run_stage

    cfg = preset("tiny")
    for stage in ("critic", "dt", "qalign"):
        run_stage(stage, "hopper", "medium", cfg)
    return {k: Run("hopper", "medium").model_path(k) for k in ("dt", "qalign")}
