"""Pace policies and the ``pace`` dataset: the commanded speed in the observation, the reward that tracks it, per-row
schedules, and data that keeps the target out and rebuilds."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np
import pytest

from core.behavior.pace import PACE_RANGE, PaceEnv, tracking_reward
from core.data.pace import PaceActor, plan_schedules
from core.envs import get_task
from tests.conftest import run_cli


def test_tracking_reward_is_the_forward_reward_up_to_the_target_and_falls_beyond():
    np.testing.assert_allclose(tracking_reward(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), 2.0), [0.0, 1.0, 2.0, 1.0, 0.0])
    assert tracking_reward(0.5, 0.0) == pytest.approx(-0.5)


def test_pace_env_shows_the_target_and_pays_alive_plus_tracking_plus_control_cost():
    task = get_task("hopper")
    env = PaceEnv(task.make(), task, switch_every=10**9, seed=0)
    obs, _ = env.reset(seed=0)
    lo, hi = PACE_RANGE["hopper"]
    assert obs.shape == (12,) and env.observation_space.shape == (12,) and lo <= obs[-1] <= hi
    assert obs[-1] == pytest.approx(env.target)
    for _ in range(5):
        obs, r, term, _, info = env.step(np.full(3, 0.3, dtype=np.float32))
        expected = info["reward_survive"] + env.target - abs(info["x_velocity"] - env.target)
        assert r == pytest.approx(expected + info["reward_ctrl"], rel=1e-6)
        assert not term and obs[-1] == pytest.approx(env.target)
    env.close()


def test_pace_env_changes_the_target_at_its_rate():
    task = get_task("halfcheetah")
    env = PaceEnv(task.make(), task, switch_every=2, seed=1)
    env.reset(seed=0)
    seen = {env.target}
    for _ in range(40):
        obs, *_ = env.step(np.zeros(6, dtype=np.float32))
        seen.add(float(obs[-1]))
    env.close()
    assert 8 <= len(seen) <= 41, "a target change about every other step"


def test_pace_actor_follows_each_rows_schedule_and_marks_the_change():
    class Echo:  # returns the appended target as the action, so the test can read what the policy was shown
        def act(self, obs, rng=None, noise_scale=1.0):
            return obs[:, -1:].astype(np.float32)

    pace = PaceActor(Echo(), [[(0, 1.0), (5, 2.0)], [(0, 0.5)]])
    assert [pace.target_at(0, t) for t in (0, 4, 5, 9)] == [1.0, 1.0, 2.0, 2.0]
    np.testing.assert_array_equal(pace.sources_of(0, 8), [0, 0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(pace.sources_of(1, 3), [0, 0, 0])
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(pace.act(np.zeros((2, 3)), [0, 1], 6, rng, 1.0)[:, 0], [2.0, 0.5])
    np.testing.assert_allclose(pace.act(np.zeros((1, 3)), [1], 0, rng, 1.0)[:, 0], [0.5])


def test_pace_episodes_act_on_their_schedule_and_keep_where_it_changed():
    """Sampled episodes: each step's action is what the policy was shown (the row's target at that step), and the
    stored per-step source is 0 before the change and 1 after."""
    from core.data.pace import sample_episodes

    class Echo:
        def act(self, obs, rng=None, noise_scale=1.0):
            return np.repeat(obs[:, -1:], 6, axis=1).astype(np.float32) / 10.0

    task = replace(get_task("halfcheetah"), max_episode_steps=60)
    eps = sample_episodes(task, Echo(), 8 * 60, seed=5, noise_scale=1.0, n_envs=8, limit=60)
    assert len(eps) == 8 and all(len(ep) == 60 and ep.observations.shape[1] == 17 for ep in eps)
    changed = 0
    for ep in eps:
        shown = ep.actions[:, 0] * 10.0
        cut = int(np.argmax(ep.sources)) if ep.sources.any() else 60
        assert np.all(ep.sources[:cut] == 0) and np.all(ep.sources[cut:] == 1)
        assert np.allclose(shown[:cut], shown[0]) and np.allclose(shown[cut:], shown[-1])
        changed += cut < 60
    assert 1 <= changed <= 7


def test_schedules_change_once_inside_the_episode_within_the_range():
    plans = plan_schedules("walker2d", 400, 1000, np.random.default_rng(0))
    lo, hi = PACE_RANGE["walker2d"]
    changing = [p for p in plans if len(p) == 2]
    assert all(len(p) in (1, 2) and p[0][0] == 0 for p in plans)
    assert 150 < len(changing) < 250
    assert all(100 <= p[1][0] <= 900 for p in changing)
    assert all(lo <= v <= hi for p in plans for _, v in p)


def test_pace_policy_trains_and_its_dataset_keeps_the_target_out_and_rebuilds(roots, tmp_path):
    """The real entry points, tiny: a pace PPO run exports snapshots scored on speed, the ``pace`` dataset is collected
    from the last one (observations without the target; a changing episode learned from after the change), its
    slice rebuilds, and ``all`` leaves ``pace`` out."""
    from core.data.collect import CollectConfig, collect
    from core.data.dataset import load_offline_data
    from core.data.fingerprint import collect_config, data_fingerprint, rebuild_slice
    from core.data.minari_io import load_minari

    with pytest.raises(FileNotFoundError, match="--pace"):
        collect(CollectConfig(task="hopper", size=100), "pace")
    env = {**os.environ, "QDT_REFERENCES": str(tmp_path / "refs.json")}
    args = ("--task", "hopper", "--pace", "--total-steps", "1024", "--snapshot-every", "1024", "--n-envs", "1")
    run_cli("core.behavior.train", *args, env=env)
    snaps = sorted((roots["checkpoints"] / "behavior/hopper/pace").glob("*.json"))
    assert [p.stem for p in snaps] == ["step_0001024"]
    stats = json.loads(snaps[0].read_text())["stats"]
    assert {"mean", "speed_error", "length", "per_target"} <= set(stats) and len(stats["per_target"]) == 5
    assert not (roots["checkpoints"] / "behavior/hopper/snapshots").exists()

    cfg = CollectConfig(task="hopper", size=400, n_envs=4)
    summary = collect(cfg, "pace")
    assert summary["id"] == "qalign/hopper/pace-v0" and summary["transitions"] >= 400
    data = load_offline_data("hopper", "pace")
    assert data.obs_dim == 11
    for ep, traj in zip(load_minari(data.dataset_id).iterate_episodes(), data.trajectories):
        src = np.asarray(ep.infos["source"])
        assert set(np.unique(src)) <= {0, 1} and traj.learn_from == (int(np.argmax(src)) if src.any() else 0)
    part = data_fingerprint(data)["slice"]
    cfg2, quality = collect_config(data)
    assert quality == "pace" and len(part["per_source"]) == 1
    assert rebuild_slice(cfg2, quality, part["per_source"], part["horizon"])["sha256"] == part["sha256"]
    assert rebuild_slice(replace(cfg2, noise_scale=0.5), quality, part["per_source"])["sha256"] != part["sha256"]


def test_a_pace_policy_can_start_as_a_shipped_snapshot():
    """``--init-from``: the new policy acts exactly as the snapshot whatever the target (its input starts at weight
    0); a snapshot of another shape is refused."""
    from core.behavior.policy import load_actor
    from core.behavior.train import BehaviorConfig, build_model, export_actor, warm_start
    from core.store.layout import REPO_ROOT

    task = get_task("hopper")
    model = build_model(BehaviorConfig(task="hopper", pace=True, n_envs=1), task)
    expert = load_actor(REPO_ROOT / "checkpoints/behavior/hopper/expert")
    warm_start(model, "ppo", expert)
    started = export_actor(model, task, "ppo", 0)
    obs = np.random.default_rng(0).normal(size=(6, 11)).astype(np.float32)
    for target in (0.0, 2.4):
        with_target = np.concatenate([obs, np.full((6, 1), target, np.float32)], axis=1)
        np.testing.assert_allclose(started.act(with_target), expert.act(obs), atol=1e-6)
    other = build_model(BehaviorConfig(task="walker2d", pace=True, n_envs=1), get_task("walker2d"))
    with pytest.raises(ValueError, match="cannot start"):
        warm_start(other, "ppo", expert)
