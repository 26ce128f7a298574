import dataclasses

import numpy as np
import pytest
import torch

from core import lanes
from core.envs import get_task
from core.policy import ReturnConditionedPolicy
from core.rollout import _sweep_rows, schedule_at, sweep, sweep_sequential, track_velocity
from core.store.layout import Run
from tests.conftest import obs_batch


def test_batched_policy_matches_unbatched_exactly(tiny_models):
    batched = ReturnConditionedPolicy.load(tiny_models["qalign"])
    targets = np.array([0.1, 0.5, 1.0]) * batched.return_range[1]
    batched.reset(obs_batch(3), targets)
    singles = []
    for i in range(3):
        p = ReturnConditionedPolicy.load(tiny_models["qalign"])
        p.reset(obs_batch(3)[i : i + 1], targets[i : i + 1])
        singles.append(p)
    for t in range(25):  # longer than the context window, so the window slides
        obs = obs_batch(3, seed=t + 1)
        a = batched.act(obs)
        rewards = np.array([1.0, 2.0, 3.0]) * t
        batched.observe(rewards)
        for i, p in enumerate(singles):
            ai = p.act(obs[i : i + 1])
            np.testing.assert_allclose(a[i], ai[0], atol=1e-6, rtol=0)
            p.observe(rewards[i : i + 1])


def test_a_policy_resumed_from_anothers_window_acts_as_it_does(tiny_models):
    """``resume`` takes over episodes mid-way from their windows (the current action already played): from then on
    it acts exactly as the policy that played those steps, past the point where the window slides."""
    a = ReturnConditionedPolicy.load(tiny_models["dt"])
    targets = np.array([0.3, 0.9]) * a.return_range[1]
    a.reset(obs_batch(2), targets)
    for t in range(23):
        first = a.act(obs_batch(2, seed=t + 1))
        if t < 22:
            a.observe(np.array([1.0, 3.0]) * t)
    b = ReturnConditionedPolicy.load(tiny_models["dt"])
    windows = [a.rtg, a.states, a.actions.clone(), a.timesteps, a.mask]
    windows[2][:, -1] = 0.0  # as a window of data holds it: the current action is the one asked for
    b.resume(windows, first)
    for t in range(23, 30):
        for p in (a, b):
            p.observe(np.array([2.0, 0.5]) * t)
        np.testing.assert_array_equal(b.act(obs_batch(2, seed=t + 1)), a.act(obs_batch(2, seed=t + 1)))
    assert torch.equal(b.t, a.t) and torch.equal(b.rtg_now, a.rtg_now)


def test_rtg_decreases_by_scaled_reward_and_reanchors(tiny_models):
    p = ReturnConditionedPolicy.load(tiny_models["dt"])
    p.scale = 100.0  # keep the numbers readable; the tiny dataset's best return is small
    p.meta["return_stats"]["max"] = 2000.0
    p.reset(obs_batch(2), np.array([1000.0, 2000.0]))
    p.act(obs_batch(2))
    p.observe(np.array([10.0, 20.0]))
    torch.testing.assert_close(p.rtg_now, torch.tensor([9.9, 19.8]))
    p.act(obs_batch(2))
    window_before = p.rtg.clone()
    p.set_target(np.array([1500.0, 2000.0]), return_so_far=np.array([10.0, 20.0]), index=None)
    # remaining = target - return so far; the whole context shifts by the same amount
    torch.testing.assert_close(p.rtg_now, torch.tensor([14.9, 19.8]))
    torch.testing.assert_close(p.rtg[:, -2:] - window_before[:, -2:], torch.tensor([[5.0, 5.0], [0.0, 0.0]]))
    assert torch.all(p.rtg[~p.mask] == 0)  # padding untouched
    p.set_rtg(np.array([50.0]), index=np.array([1]))
    assert p.rtg_now[1].item() == pytest.approx(0.5) and p.rtg_now[0].item() == pytest.approx(14.9)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -50.0, 1e9])
def test_bad_targets_are_clamped_with_warning(tiny_models, bad):
    p = ReturnConditionedPolicy.load(tiny_models["dt"])
    with pytest.warns(UserWarning, match="clamped"):
        p.reset(obs_batch(1), np.array([bad]))
    hi = 3.0 * max(p.return_range[1], 1.0)
    assert 0.0 <= p.rtg_now.item() * p.scale <= hi + 1e-3
    assert np.isfinite(p.act(obs_batch(1))).all()


def test_target_count_must_match(tiny_models):
    p = ReturnConditionedPolicy.load(tiny_models["dt"])
    with pytest.raises(ValueError, match="2 targets for 3 episodes"):
        p.reset(obs_batch(3), np.array([1.0, 2.0]))


def test_batched_sweep_equals_sequential_loop(tiny_models):
    task = get_task("hopper")
    p = ReturnConditionedPolicy.load(tiny_models["qalign"])
    targets = [0.2 * p.return_range[1], 1.5 * p.return_range[1]]
    res = sweep(p, task, targets, episodes=2, seed=7)
    seq = sweep_sequential(p, task, targets, episodes=2, seed=7)
    np.testing.assert_allclose(res.returns, seq, rtol=1e-4)
    assert res.seeds.tolist() == [[7, 8], [7, 8]] and np.all(res.lengths > 0)


def test_sweep_lanes_are_their_rows_run_alone_and_count_every_episode(tiny_models):
    """Two lanes (lane 0 here, lane 1 in a worker process; episodes dealt to them in turn) return exactly what each
    lane's rows give when run alone in this process, in the grid's order; close to one lane (a batch's size can
    change the last bits of its actions); and the progress callback ends at every episode done."""
    task = get_task("hopper")
    p = ReturnConditionedPolicy.load(tiny_models["dt"])
    targets = np.array([0.1, 0.6, 1.3]) * p.return_range[1]
    seen = []
    two = sweep(p, task, targets, episodes=3, seed=11, lanes=2, progress=lambda d, n: seen.append((d, n)))
    flat_targets, flat_seeds = np.repeat(targets, 3), np.tile(np.arange(11, 14), 3)
    for rows in (np.arange(0, 9, 2), np.arange(1, 9, 2)):
        alone = _sweep_rows(p.twin(), task, flat_targets[rows], flat_seeds[rows], task.max_episode_steps, print)
        np.testing.assert_array_equal(two.returns.reshape(-1)[rows], alone[0])
        np.testing.assert_array_equal(two.lengths.reshape(-1)[rows], alone[1])
    assert two.seeds.tolist() == [[11, 12, 13]] * 3
    one = sweep(p, task, targets, episodes=3, seed=11, lanes=1)
    np.testing.assert_allclose(two.returns, one.returns, rtol=1e-4)
    assert seen[-1] == (9, 9) and all(a <= b for (a, _), (b, _) in zip(seen, seen[1:]))


def test_a_bf16_policy_acts_within_its_tolerance_traces_and_travels_to_the_sweep_lanes(tiny_models):
    """bf16 actions stay within 0.02 of fp32's; ``compile`` then traces the bf16 forward (not fp32); a lane worker
    rebuilds the policy in bf16 too, so two lanes give what the bf16 rows give alone; and the order is enforced."""
    fp32 = ReturnConditionedPolicy.load(tiny_models["dt"])
    half = ReturnConditionedPolicy.load(tiny_models["dt"]).bf16()
    assert half.is_bf16 and not fp32.is_bf16 and half.twin().is_bf16
    n, gap = 4, 0.0
    for p in (fp32, half):
        p.reset(obs_batch(n), np.full(n, 5.0))
    for t in range(22):
        obs = obs_batch(n, seed=t)
        a, b = fp32.act(obs), half.act(obs)
        gap = max(gap, float(np.abs(a - b).max()))
        for p in (fp32, half):
            p.observe(np.ones(n))
    assert 0.0 < gap <= 0.02  # bf16 really ran (not bit-identical), within the tolerance
    traced = ReturnConditionedPolicy.load(tiny_models["dt"]).bf16().compile()
    assert traced.compiled and traced.is_bf16
    with pytest.raises(RuntimeError, match="before compile"):
        traced.bf16()
    task = get_task("hopper")
    targets = np.array([0.3, 1.1]) * half.return_range[1]
    two = sweep(half, task, targets, episodes=2, seed=5, lanes=2)
    flat_targets, flat_seeds = np.repeat(targets, 2), np.tile(np.arange(5, 7), 2)
    rows = np.arange(1, 4, 2)  # lane 1's rows, run in the worker process
    alone = _sweep_rows(half.twin(), task, flat_targets[rows], flat_seeds[rows], task.max_episode_steps, print)
    np.testing.assert_array_equal(two.returns.reshape(-1)[rows], alone[0])


def test_sweep_lane_worker_failures_are_clear_and_the_next_sweep_recovers(tiny_models, monkeypatch):
    """A worker killed mid-lane or failing inside its lane raises LaneError naming it; the next sweep starts a fresh
    worker; with every worker busy a lane runs in a thread here, with the same numbers."""
    task = get_task("hopper")
    p = ReturnConditionedPolicy.load(tiny_models["dt"])
    targets = [0.5 * p.return_range[1]]
    ref = sweep(p, task, targets, episodes=4, seed=3, lanes=2)

    dead = lanes.take()
    dead.proc.kill()
    dead.proc.wait()
    monkeypatch.setattr(lanes, "take", lambda: dead)
    with pytest.raises(lanes.LaneError, match="died"):
        sweep(p, task, targets, episodes=4, seed=3, lanes=2)
    monkeypatch.undo()
    np.testing.assert_array_equal(sweep(p, task, targets, episodes=4, seed=3, lanes=2).returns, ref.returns)

    bad = dataclasses.replace(task, gym_id="NoSuchTask-v9")
    with pytest.raises(lanes.LaneError, match="NoSuchTask"):
        lanes.take().run(p, bad, np.array([1.0]), np.array([0]), 5, print)

    monkeypatch.setattr(lanes, "MAX_WORKERS", 0)
    monkeypatch.setattr(lanes, "_idle", [])
    np.testing.assert_array_equal(sweep(p, task, targets, episodes=4, seed=3, lanes=2).returns, ref.returns)


def test_sweep_rejects_empty(tiny_models):
    p = ReturnConditionedPolicy.load(tiny_models["dt"])
    with pytest.raises(ValueError, match="at least one"):
        sweep(p, get_task("hopper"), [], episodes=2, seed=0)


def test_velocity_trace_follows_schedule(tiny_models):
    """HalfCheetah never ends early, so every step of the schedule is checked; the RTG is re-anchored at the change."""
    task = get_task("halfcheetah")
    p = ReturnConditionedPolicy.load(Run(task.name, "medium").model_path("dt"))
    trace = track_velocity(p, task, [(0, 0.5), (5, 1.5)], seed=0, steps=10)
    assert len(trace.speed) == len(trace.target) == 10
    assert trace.target.tolist() == [0.5] * 5 + [1.5] * 5
    # after the change at step 5: remaining RTG = r*(1.5) x 5 steps, minus the rewards earned since
    expected = task.rtg_for_speed(1.5, 5) - trace.reward[5:].sum()
    assert p.rtg_now.item() * p.scale == pytest.approx(expected, rel=1e-4)


def test_velocity_through_a_calibration_anchors_on_its_request(tiny_models):
    """With a calibration, the RTG at each anchor is ``Calibration.rtg_for_speed`` (then minus what is earned)."""
    from core.calibration import Calibration

    task = get_task("halfcheetah")
    p = ReturnConditionedPolicy.load(Run(task.name, "medium").model_path("dt"))
    cal = Calibration.fit(np.array([-1000.0, 1000.0]), np.array([-500.0, 500.0]))  # achieves half of the request
    trace = track_velocity(p, task, [(0, 0.1), (5, 0.3)], seed=0, steps=10, calibration=cal)
    expected = cal.rtg_for_speed(task, 0.3, 5) - trace.reward[5:].sum()
    assert expected == pytest.approx(2 * task.rtg_for_speed(0.3, 5) - trace.reward[5:].sum())
    assert p.rtg_now.item() * p.scale == pytest.approx(expected, rel=1e-4)


def test_speed_hold_reanchors_on_the_corrected_speed_every_period(tiny_models):
    """With the speed hold (period 4) the RTG is re-anchored after every 4th step to r*(target + u) over the steps
    left, u the gain times the mean shortfall of the measured speed so far, kept between 0 m/s and the data's fastest
    speed; then minus what is earned. A target past the data's fastest is asked as that fastest speed."""
    from core.calibration import SpeedHoldConfig, fastest_speed

    task = get_task("halfcheetah")
    p = ReturnConditionedPolicy.load(Run(task.name, "medium").model_path("dt"))
    top = fastest_speed(task, p.meta["return_stats"])
    hold = SpeedHoldConfig(gain=0.5, period=4, limit=10.0)
    target = 0.5 * top
    trace = track_velocity(p, task, [(0, target)], seed=0, steps=10, hold=hold)
    short = target - trace.speed
    u = np.clip(0.5 * short[:4].mean(), -target, top - target)  # two updates, after steps 4 and 8
    u = np.clip(u + 0.5 * short[4:8].mean(), -target, top - target)
    assert abs(u) > 0.01  # the tiny model does not run at the target, so the hold did move the request
    expected = task.rtg_for_speed(target + u, 2) - trace.reward[8:].sum()
    assert p.rtg_now.item() * p.scale == pytest.approx(expected, rel=1e-4)
    trace = track_velocity(p, task, [(0, 2.0 * top)], seed=0, steps=10, hold=hold)
    assert p.rtg_now.item() * p.scale == pytest.approx(task.rtg_for_speed(top, 2) - trace.reward[8:].sum(), rel=1e-4)


def test_smooth_schedule_ramps_and_reanchors_at_every_ramp_step(tiny_models):
    """A smooth schedule is linear between its points; the RTG is re-anchored at each step the target changes, so
    after the last point it asks r*(3.0) over the steps left, minus the rewards earned since."""
    points = [(2, 1.0), (6, 3.0)]
    assert [schedule_at(points, t, smooth=True) for t in range(9)] == [1.0, 1.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0, 3.0]
    assert [schedule_at(points, t) for t in range(9)] == [1.0] * 6 + [3.0] * 3  # steps: held until the next point
    task = get_task("halfcheetah")
    p = ReturnConditionedPolicy.load(Run(task.name, "medium").model_path("dt"))
    trace = track_velocity(p, task, points, seed=0, steps=10, smooth=True)
    assert trace.target.tolist() == [1.0, 1.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0, 3.0, 3.0]
    expected = task.rtg_for_speed(3.0, 4) - trace.reward[6:].sum()
    assert p.rtg_now.item() * p.scale == pytest.approx(expected, rel=1e-4)
