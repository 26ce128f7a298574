"""Shared fixtures and helpers.

- ``roots``: empty dataset / checkpoint / run / result folders of this test's own.
- ``tiny_store`` (built once per test run, read-only): tiny Hopper and HalfCheetah datasets, tiny trained DT and
  Q-ALIGN DT for each (with their critic and training state) and a shipped sweep for Hopper. A finaliser
  checks that no test wrote into it.
- ``tiny_models``: this test's roots, but datasets, checkpoints and runs read from ``tiny_store``.
- ``writable_models``: a copy of ``tiny_store`` in this test's own roots, for tests that train or ship more.
- ``with_behaviour``: ``writable_models`` plus the shipped Hopper medium behaviour policy (simulator rollouts).
- ``run_cli``, ``obs_batch``: helpers several test files call.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import core  # noqa: F401  (sets MUJOCO_GL before anything imports mujoco)
from core.behavior.episodes import run_episodes
from core.data.minari_io import write_dataset
from core.envs import get_task
from core.store.layout import MODEL_KINDS, REPO_ROOT, Run, behavior_dir

ROOT_VARS = {
    "datasets": "MINARI_DATASETS_PATH",
    "checkpoints": "QDT_CHECKPOINTS",
    "runs": "QDT_RUNS",
    "results": "QDT_RESULTS",
}
STORE_PARTS = ("datasets", "checkpoints", "runs")  # what tiny_store holds; results are always the test's own


def run_cli(module: str, *args: str, env: dict | None = None) -> str:
    """Run ``python -m module args`` from the repo root (the real entry point); returns stdout, fails on exit != 0."""
    out = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        env=dict(os.environ) if env is None else env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def obs_batch(n: int, seed: int = 0, obs_dim: int = 11) -> np.ndarray:
    """``n`` made-up Hopper observations."""
    return np.random.default_rng(seed).normal(size=(n, obs_dim)).astype(np.float32)


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


def write_tiny_dataset(task_name: str = "hopper") -> list:
    """A random-policy dataset under the id of our 'medium' quality: episodes ended both ways."""
    eps = random_episodes(task_name, 8, max_steps=25) + random_episodes(task_name, 4, max_steps=10, seed=100)
    write_dataset(f"qalign/{task_name}/medium-v0", get_task(task_name), eps, "test", algorithm="random")
    return eps


def train_tiny(task_name: str = "hopper", seed: int = 0) -> None:
    """All three stages with the ``tiny`` preset (seconds)."""
    from core.training.config import preset
    from core.training.driver import run_stage

    for stage in ("critic", "dt", "qalign"):
        run_stage(stage, task_name, "medium", preset("tiny"), seed=seed, allow_weak_critic=True)


def _point_at(monkeypatch: pytest.MonkeyPatch, paths: dict[str, Path]) -> None:
    for name, path in paths.items():
        monkeypatch.setenv(ROOT_VARS[name], str(path))


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def roots(tmp_path, monkeypatch) -> dict[str, Path]:
    """Isolated dataset / checkpoint / run / result roots."""
    paths = {name: tmp_path / name for name in ROOT_VARS}
    _point_at(monkeypatch, paths)
    return paths


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory) -> dict[str, Path]:
    """Tiny datasets and trained models, built once per test run; tests read it, never write it."""
    base = tmp_path_factory.mktemp("tiny-store")
    paths = {name: base / name for name in ROOT_VARS}
    with pytest.MonkeyPatch.context() as mp:
        _point_at(mp, paths)
        from core.evaluate import EvalConfig, run

        for task_name in ("hopper", "halfcheetah"):
            write_tiny_dataset(task_name)
            train_tiny(task_name)
        run(EvalConfig(task="hopper", dataset="medium", n_targets=3, episodes=1, ship=True, png=False))
    store = {name: paths[name] for name in STORE_PARTS}
    before = {name: _digest(p) for name, p in store.items()}
    yield store
    changed = [name for name, p in store.items() if _digest(p) != before[name]]
    assert not changed, f"a test wrote into the read-only tiny_store ({changed}); use writable_models"


@pytest.fixture
def tiny_models(tiny_store, roots, monkeypatch) -> dict[str, Path]:
    """Hopper DT and Q-ALIGN DT from the shared store; results go to this test's own folder."""
    _point_at(monkeypatch, tiny_store)
    return {k: Run("hopper", "medium").model_path(k) for k in MODEL_KINDS}


@pytest.fixture
def writable_models(tiny_store, roots) -> dict[str, Path]:
    """A private copy of the store in this test's roots, for tests that train or ship into it."""
    for name, src in tiny_store.items():
        shutil.copytree(src, roots[name], dirs_exist_ok=True)
    return {k: Run("hopper", "medium").model_path(k) for k in MODEL_KINDS}


@pytest.fixture
def tiny_dataset(roots) -> list:
    """A tiny Hopper 'medium' dataset in this test's own roots (for tests that train)."""
    return write_tiny_dataset("hopper")


@pytest.fixture
def with_behaviour(writable_models, roots):
    """The shipped Hopper behaviour policy beside the tiny models (the ranking rollouts play it)."""
    dest = behavior_dir("hopper")
    dest.mkdir(parents=True, exist_ok=True)
    for suffix in (".json", ".safetensors"):
        shutil.copy(REPO_ROOT / "checkpoints" / "behavior" / "hopper" / f"medium{suffix}", dest / f"medium{suffix}")
    return Run("hopper", "medium")
