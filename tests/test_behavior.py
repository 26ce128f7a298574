import json
import os

import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import VecNormalize

from core.behavior.policy import load_actor, save_actor
from core.behavior.train import BehaviorConfig, build_model, export_actor
from core.envs import get_task
from tests.conftest import run_cli


@pytest.mark.parametrize("algo,task_name", [("ppo", "hopper"), ("sac", "halfcheetah")])
def test_export_matches_sb3_deterministic_actions(algo, task_name, tmp_path):
    task = get_task(task_name)
    model = build_model(BehaviorConfig(task=task_name, algo=algo, n_envs=2), task)
    env = model.get_env()
    if isinstance(env, VecNormalize):  # give the normaliser non-trivial statistics
        env.obs_rms.mean = np.linspace(-1, 1, env.obs_rms.mean.shape[0])
        env.obs_rms.var = np.linspace(0.5, 2.0, env.obs_rms.var.shape[0])
    obs = np.random.default_rng(0).normal(size=(32, model.observation_space.shape[0])).astype(np.float32)
    sb3_obs = env.normalize_obs(obs) if isinstance(env, VecNormalize) else obs
    expected, _ = model.predict(sb3_obs, deterministic=True)
    actor = export_actor(model, task, algo, step=0)
    np.testing.assert_allclose(actor.act(obs), np.clip(expected, -1, 1), atol=1e-5)
    save_actor(actor, tmp_path / "snap")
    np.testing.assert_array_equal(load_actor(tmp_path / "snap").act(obs), actor.act(obs))


def test_sampled_actions_differ_from_deterministic_but_stay_in_bounds():
    task = get_task("hopper")
    actor = export_actor(build_model(BehaviorConfig(n_envs=1), task), task, "ppo", step=0)
    obs = np.zeros((64, 11), dtype=np.float32)
    sampled = actor.act(obs, np.random.default_rng(0))
    assert np.abs(sampled).max() <= 1.0 and not np.allclose(sampled, actor.act(obs))


def test_missing_or_foreign_snapshot_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="behaviour snapshot file missing"):
        load_actor(tmp_path / "nope")
    (tmp_path / "x.json").write_text(json.dumps({"format": "other"}))
    (tmp_path / "x.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match="not a qdt-behavior-v1"):
        load_actor(tmp_path / "x")


def test_pipeline_cli_train_select_collect_summary(roots, tmp_path):
    """The real entry points with tiny budgets: train -> select -> collect every quality -> summary."""
    env = {**os.environ, "QDT_REFERENCES": str(tmp_path / "refs.json")}
    run_cli(
        "core.behavior.train",
        "--task",
        "hopper",
        "--total-steps",
        "2048",
        "--snapshot-every",
        "1024",
        "--n-envs",
        "1",
        env=env,
    )
    snaps = sorted((roots["checkpoints"] / "behavior/hopper/snapshots").glob("*.json"))
    assert [p.stem for p in snaps] == ["step_0001024", "step_0002048"]
    assert "mean" in json.loads(snaps[0].read_text())["stats"]
    run_cli("core.behavior.select", "--task", "hopper", "--eval-episodes", "2", "--random-episodes", "3", env=env)
    refs = json.loads((tmp_path / "refs.json").read_text())["hopper"]
    assert refs["expert"] >= refs["medium"] - 1e-9
    out = run_cli("core.data.collect", "--task", "hopper", "--quality", "all", "--size", "300", env=env)
    summaries = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [s["id"] for s in summaries] == [
        f"qalign/hopper/{q}-v0" for q in ("medium", "medium-replay", "expert", "medium-expert", "control", "switch")
    ]
    assert all(s["transitions"] >= 300 - 2 for s in summaries)
    out = run_cli("core.data.collect", "--task", "hopper", "--quality", "even", "--size", "300", env=env)
    (spread,) = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert spread["id"] == "qalign/hopper/even-v0" and len(spread["bin_transitions"]) == 10
    assert spread["transitions"] == sum(spread["bin_transitions"]) > 0
    out = run_cli("core.data.collect", "--task", "hopper", "--quality", "ladder", "--size", "300", env=env)
    (rungs,) = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert rungs["id"] == "qalign/hopper/ladder-v0" and rungs["transitions"] >= 300 - 3
    out = run_cli("core.data.collect", "--task", "hopper", "--quality", "ladder-pure", "--size", "300", env=env)
    (pure,) = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert pure["id"] == "qalign/hopper/ladder-pure-v0" and pure["transitions"] == sum(pure["bin_transitions"]) > 0
    html = tmp_path / "hist.html"
    out = run_cli("core.data.summary", "--task", "hopper", "--html", str(html), env=env)
    assert "medium-expert" in out and html.stat().st_size > 1000


def test_resume_continues_from_saved_step(roots):
    from core.behavior.train import load_state, save_state

    cfg = BehaviorConfig(n_envs=1)
    task = get_task("hopper")
    model = build_model(cfg, task)
    model.learn(256)
    save_state(model, roots["runs"] / "state")
    fresh = build_model(cfg, task)
    assert load_state(fresh, roots["runs"] / "state") == model.num_timesteps
    for a, b in zip(model.policy.parameters(), fresh.policy.parameters()):
        torch.testing.assert_close(a, b)
    np.testing.assert_allclose(fresh.get_env().obs_rms.mean, model.get_env().obs_rms.mean)
