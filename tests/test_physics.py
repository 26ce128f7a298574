"""core.physics: many simulators stepped together give gymnasium's own numbers, bit for bit."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from core.behavior.policy import load_actor
from core.envs import get_task
from core.physics import step_many
from core.store.layout import behavior_path


@pytest.mark.parametrize("name", ["hopper", "walker2d", "halfcheetah"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_step_many_equals_gymnasium_step_for_step(name, dtype):
    """Actions of the task's expert behaviour policy with four times its own noise, so that some episodes fall."""
    task = get_task(name)
    actor = load_actor(behavior_path(name, "expert"))
    n, steps = 5, 400
    ref, new = [task.make() for _ in range(n)], [task.make() for _ in range(n)]
    rng = np.random.default_rng(7)
    for i in range(n):
        ref[i].reset(seed=40 + i)
        new[i].reset(seed=40 + i)
    live, compared, ended = list(range(n)), 0, 0
    for _ in range(steps):
        actions = actor.act(np.stack([ref[i].unwrapped._get_obs() for i in live]), rng, 4.0).astype(dtype)
        obs, reward, term, speed = step_many([new[i] for i in live], actions)
        for row, i in enumerate(live):
            o, r, te, _, info = ref[i].step(actions[row])
            assert np.array_equal(o, obs[row]) and o.dtype == obs.dtype
            assert r == reward[row] and te == term[row] and info["x_velocity"] == speed[row]
            assert np.array_equal(ref[i].unwrapped.data.xpos, new[i].unwrapped.data.xpos)  # what the page draws
            compared += 1
        ended += int(term.sum())
        live = [i for row, i in enumerate(live) if not term[row]]
        if not live:
            break
    assert compared > n * 20
    if name != "halfcheetah":
        assert ended > 0  # the health check was exercised (some episodes fell)


def test_errors_are_reported_per_row_and_the_others_step():
    task = get_task("hopper")
    envs = [task.make() for _ in range(3)]
    ref = task.make()
    for env in [*envs, ref]:
        env.reset(seed=3)

    class Exploding:
        def __getattr__(self, name):
            raise RuntimeError("simulator exploded")

    envs[1].unwrapped.data = Exploding()
    actions = np.full((3, 3), 0.2, dtype=np.float32)
    with pytest.raises(RuntimeError, match="exploded"):
        step_many(envs, actions)
    envs[0].reset(seed=3)
    envs[2].reset(seed=3)
    errors: dict[int, str] = {}
    obs, reward, term, _ = step_many(envs, actions, errors)
    o, r, *_ = ref.step(actions[0])
    assert list(errors) == [1] and "exploded" in errors[1]
    assert np.array_equal(obs[0], o) and np.array_equal(obs[2], o) and reward[0] == r == reward[2]
    assert reward[1] == 0.0 and not term[1]


def test_an_unknown_environment_is_stepped_through_its_own_step():
    env, ref = gym.make("InvertedPendulum-v5"), gym.make("InvertedPendulum-v5")
    env.reset(seed=1)
    ref.reset(seed=1)
    obs, reward, term, speed = step_many([env], np.array([[0.5]], dtype=np.float32))
    o, r, te, *_ = ref.step(np.array([0.5], dtype=np.float32))
    assert np.array_equal(obs[0], o) and reward[0] == r and term[0] == te and speed[0] == 0.0
