"""Ray backend: the same seeds give the same numbers as the local batched sweep; datasets fan out.

Returns are compared to float rounding, not bit for bit: a worker runs its block as a smaller batch, and
torch's CPU attention kernel can round a row differently for another batch size (seen: 2e-8 relative on the
tiny checkpoint; the shipped Hopper model gave bit-identical returns). Seeds, lengths and metrics' inputs
are the same episodes.
"""

from __future__ import annotations

import json

import minari
import numpy as np
import pytest

from core import cluster
from core.data.collect import CollectConfig
from core.data.collect import main as collect_main
from core.envs import get_task
from core.evaluate import EvalConfig, run
from core.policy import ReturnConditionedPolicy
from core.rollout import sweep
from core.store.layout import REPO_ROOT


@pytest.fixture(scope="module")
def ray_local():
    started = cluster.init(workers=2)
    yield
    if started:
        cluster.shutdown()


@pytest.mark.parametrize(("n", "m", "w"), [(8, 5, 2), (3, 4, 2), (1, 5, 2), (1, 1, 4), (2, 3, 8), (5, 2, 3)])
def test_blocks_cover_the_grid_once(n, m, w):
    seen = np.zeros((n, m), int)
    blocks = cluster.split_blocks(n, m, w)
    for t0, t1, e0, e1 in blocks:
        seen[t0:t1, e0:e1] += 1
    assert (seen == 1).all()
    assert len(blocks) >= min(w, n * m)


def test_split_rejects_empty_work():
    with pytest.raises(ValueError, match="at least one target"):
        cluster.split_blocks(0, 3, 2)


def test_ray_sweep_gives_the_local_numbers(tiny_models, roots, ray_local):
    kw = {"task": "hopper", "dataset": "medium", "n_targets": 3, "episodes": 3, "velocity": (0.5,)}
    local = run(EvalConfig(**kw, out=roots["results"] / "local", png=False))
    remote = run(EvalConfig(**kw, backend="ray", workers=2, out=roots["results"] / "ray", png=False))
    for kind in ("dt", "qalign"):
        a, b = local["models"][kind]["sweep"], remote["models"][kind]["sweep"]
        assert a["seeds"] == b["seeds"] and a["targets"] == b["targets"]
        np.testing.assert_allclose(a["returns"], b["returns"], rtol=1e-6)
        np.testing.assert_array_equal(a["lengths"], b["lengths"])
        ma, mb = local["models"][kind]["metrics"]["all"], remote["models"][kind]["metrics"]["all"]
        assert ma["spearman"] == pytest.approx(mb["spearman"], abs=1e-9)
    # one target, more workers than targets: episodes are split, seeds still seed + j
    sweeper = cluster.RaySweeper({"dt": tiny_models["dt"]}, workers=2)
    try:
        one = sweeper.sweep("dt", "hopper", [40.0], 4, 100)
    finally:
        sweeper.close()
    ref = sweep(ReturnConditionedPolicy.load(tiny_models["dt"]), get_task("hopper"), [40.0], 4, 100)
    assert one.seeds.tolist() == [[100, 101, 102, 103]]
    np.testing.assert_allclose(one.returns, ref.returns, rtol=1e-6)
    np.testing.assert_array_equal(one.lengths, ref.lengths)


def test_dataset_generation_fans_out_to_the_same_datasets(roots, monkeypatch, ray_local):
    monkeypatch.setenv("QDT_CHECKPOINTS", str(REPO_ROOT / "checkpoints"))  # the shipped behaviour policies
    cfg = dict(task="hopper,walker2d", quality="medium", size=300, n_envs=4)
    paths = {b: roots["datasets"] / b for b in ("local", "ray")}
    out = {}
    for backend, path in paths.items():
        monkeypatch.setenv("MINARI_DATASETS_PATH", str(path))
        out[backend] = collect_main(CollectConfig(**cfg, backend=backend))
    assert [s["id"] for s in out["ray"]] == ["qalign/hopper/medium-v0", "qalign/walker2d/medium-v0"]
    assert json.dumps(out["local"]) == json.dumps(out["ray"])
    for ds_id in ("qalign/hopper/medium-v0", "qalign/walker2d/medium-v0"):
        eps = {}
        for backend, path in paths.items():
            monkeypatch.setenv("MINARI_DATASETS_PATH", str(path))
            eps[backend] = list(minari.load_dataset(ds_id).iterate_episodes())
        assert len(eps["local"]) == len(eps["ray"])
        for a, b in zip(eps["local"], eps["ray"]):
            np.testing.assert_array_equal(a.observations, b.observations)
            np.testing.assert_array_equal(a.actions, b.actions)
