import pytest

from core.envs import TASKS, get_task


def test_registry_has_the_three_tasks_with_v5_ids():
    assert set(TASKS) == {"hopper", "halfcheetah", "walker2d"}
    assert all(t.gym_id.endswith("-v5") and t.rtg_scale == 1000.0 for t in TASKS.values())


def test_lookup_is_case_insensitive():
    assert get_task(" Hopper ").gym_id == "Hopper-v5"


def test_unknown_task_lists_valid_names():
    with pytest.raises(ValueError, match="halfcheetah, hopper, walker2d"):
        get_task("ant")


def test_d4rl_score_matches_reference_points():
    hopper = get_task("hopper")
    assert hopper.d4rl_score(hopper.d4rl_random) == pytest.approx(0.0)
    assert hopper.d4rl_score(hopper.d4rl_expert) == pytest.approx(100.0)


def test_env_respects_episode_limit():
    env = get_task("halfcheetah").make()
    assert env.spec.max_episode_steps == 1000
    env.close()
