"""Training-data fingerprints: stable, sensitive to one reward, and a slice the collection code rebuilds."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.behavior.policy import load_actor
from core.data.collect import CollectConfig, collect
from core.data.dataset import load_offline_data
from core.data.fingerprint import (
    DataMismatch,
    check_shipped,
    collect_config,
    data_fingerprint,
    fingerprint,
    rebuild_slice,
)
from core.store.layout import REPO_ROOT

TINY = CollectConfig(task="hopper", size=400, n_envs=4)
"""Two replay sources of 200 steps: the share runs out inside some first batches (per-source counts < n_envs)."""


@pytest.fixture
def tiny_collection(roots, monkeypatch):
    """A tiny Hopper medium-replay dataset, collected by the real code from the shipped behaviour snapshots."""
    monkeypatch.setenv("QDT_CHECKPOINTS", str(REPO_ROOT / "checkpoints"))
    collect(TINY, "medium-replay")
    return load_offline_data("hopper", "medium-replay")


def test_fingerprint_is_stable_and_sees_one_reward(tiny_dataset):
    first = fingerprint(load_offline_data("hopper", "medium"))
    data = load_offline_data("hopper", "medium")
    assert fingerprint(data) == first
    assert first["episodes"] == len(tiny_dataset)
    assert first["transitions"] == sum(len(ep) for ep in tiny_dataset)
    data.trajectories[3].rewards[2] += np.float32(1e-3)
    changed = fingerprint(data)
    assert changed["sha256"] != first["sha256"]
    assert (changed["episodes"], changed["transitions"]) == (first["episodes"], first["transitions"])


def test_rebuilt_slice_matches_the_full_collection(tiny_collection):
    record = data_fingerprint(tiny_collection)
    cfg, quality = collect_config(tiny_collection)
    assert (quality, cfg.size, cfg.n_envs) == ("medium-replay", 400, 4)
    part = record["slice"]
    assert len(part["per_source"]) == 2 and 0 < part["episodes"] <= 2 * TINY.n_envs
    assert part["transitions"] <= min(record["transitions"], part["episodes"] * part["horizon"])
    rebuilt = rebuild_slice(cfg, quality, part["per_source"], part["horizon"])
    assert rebuilt == {k: part[k] for k in rebuilt}
    other = rebuild_slice(replace(cfg, noise_scale=0.5), quality, part["per_source"])
    assert other["sha256"] != part["sha256"]


def test_switch_data_hands_over_once_and_its_slice_rebuilds(roots, monkeypatch):
    """``switch``: each episode acts with one source before its hand-over step and another after, drawn by the
    plan's weights; the dataset is one stream, whose first batch the slice check rebuilds."""
    from core.behavior.episodes import run_episodes
    from core.data.switch import SwitchingActor
    from core.envs import get_task

    class Const:
        def __init__(self, c):
            self.c = c

        def act(self, obs, rng=None, noise_scale=1.0):
            return np.full((len(obs), 6), self.c, dtype=np.float32)

    task = replace(get_task("halfcheetah"), max_episode_steps=40)
    plan = SwitchingActor(
        [Const(-0.5), Const(0.5), Const(0.9)], np.array([1.0, 1.0, 0.0]), 6, 40, np.random.default_rng(3)
    )
    assert 4 <= plan.at.min() and plan.at.max() <= 36 and 2 not in plan.first and 2 not in plan.second
    rng = np.random.default_rng(0)
    _, eps = run_episodes(
        task, lambda o, rows, t: plan.act(o, rows, t, rng, 1.0), list(range(6)), True, 6, per_row=True
    )
    values = np.array([-0.5, 0.5])
    for i, ep in enumerate(eps):
        first, second = ep.actions[: plan.at[i], 0], ep.actions[plan.at[i] :, 0]
        assert np.all(first == values[plan.first[i]]) and np.all(second == values[plan.second[i]])
    assert any(plan.first != plan.second)  # some episodes really change behaviour

    monkeypatch.setenv("QDT_CHECKPOINTS", str(REPO_ROOT / "checkpoints"))
    collect(replace(TINY, size=300), "switch")
    data = load_offline_data("hopper", "switch")
    from core.data.minari_io import load_minari

    for ep, traj in zip(load_minari(data.dataset_id).iterate_episodes(), data.trajectories):  # sources kept per step
        src = np.asarray(ep.infos["source"])
        assert len(src) == len(traj) + 1 and traj.learn_from == next(
            (i for i in range(len(traj)) if src[i] != src[0]), 0
        )
    part = data_fingerprint(data)["slice"]
    cfg, quality = collect_config(data)
    assert quality == "switch" and len(part["per_source"]) == 1 and 0 < part["per_source"][0] <= TINY.n_envs
    assert rebuild_slice(cfg, quality, part["per_source"], part["horizon"])["sha256"] == part["sha256"]


def test_binned_data_rebuilds_its_slice_from_whole_first_batches(roots, monkeypatch):
    """``ladder-pure`` (and ``even``) keep an episode by its whole return: the slice check plays each source's first
    batch to the end, keeps what the collection's first round kept, and digests the horizon; another noise scale
    plays other episodes and fails."""
    monkeypatch.setenv("QDT_CHECKPOINTS", str(REPO_ROOT / "checkpoints"))
    collect(replace(TINY, size=3000, n_envs=2, top_share=0.4), "ladder-pure")
    data = load_offline_data("hopper", "ladder-pure")
    record = data_fingerprint(data)
    cfg, quality = collect_config(data)
    assert (quality, cfg.top_share) == ("ladder-pure", 0.4) and record["collect"]["top_share"] == 0.4
    part = record["slice"]
    assert 0 < part["episodes"] < record["episodes"] and sum(part["per_source"]) == part["episodes"]
    assert rebuild_slice(cfg, quality, part["per_source"], part["horizon"]) == {k: part[k] for k in
                                                                                 ("sha256", "episodes", "transitions")}  # fmt: skip
    other = rebuild_slice(replace(cfg, noise_scale=0.5), quality, part["per_source"], part["horizon"])
    assert other["sha256"] != part["sha256"]


def _ship(tmp_path: Path, record: dict) -> Path:
    """A model JSON as training would write it, reduced to what ``check_shipped`` reads."""
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"dataset_id": "qalign/hopper/medium-replay-v0", "data_fingerprint": record}))
    return path


def test_check_shipped_passes_then_names_the_stale_model(tiny_collection, tmp_path):
    record = data_fingerprint(tiny_collection)
    assert check_shipped(_ship(tmp_path, record))["sha256"] == record["slice"]["sha256"]
    stale = {**record, "slice": {**record["slice"], "sha256": "0" * 16}}
    with pytest.raises(DataMismatch, match=r"model\.json.*can no longer be rebuilt"):
        check_shipped(_ship(tmp_path, stale))
    fewer = {**record, "slice": {**record["slice"], "per_source": record["slice"]["per_source"][:1]}}
    with pytest.raises(DataMismatch, match="behaviour sources"):
        check_shipped(_ship(tmp_path, fewer))
    with pytest.raises(DataMismatch, match="no data_fingerprint"):
        check_shipped(_ship(tmp_path, {}))


@pytest.mark.parametrize("task", ["hopper", "halfcheetah"])  # PPO (tanh, clip) and SAC (relu, tanh squash)
def test_portable_actor_rows_do_not_depend_on_the_batch(task):
    actor = load_actor(REPO_ROOT / "checkpoints" / "behavior" / task / "medium")
    obs = np.random.default_rng(0).normal(size=(16, actor.spec.obs_dim)) * 2
    blas = actor.act(obs)
    actor.portable = True
    portable = actor.act(obs)
    np.testing.assert_allclose(portable, blas, atol=1e-5)
    for b in (1, 3, 7):
        np.testing.assert_array_equal(actor.act(obs[:b]), portable[:b])
