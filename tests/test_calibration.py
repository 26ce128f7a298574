import itertools
import json

import numpy as np
import pytest

from core.calibration import Calibration, isotonic
from core.store.layout import Run


def brute_force_isotonic(y: np.ndarray) -> np.ndarray:
    """The best non-decreasing fit by search over how the points group into constant runs (small n only)."""
    n, best, best_err = len(y), None, np.inf
    for cuts in itertools.product([0, 1], repeat=n - 1):
        groups = np.split(np.arange(n), [i + 1 for i, c in enumerate(cuts) if c])
        fit = np.concatenate([np.full(len(g), y[g].mean()) for g in groups])
        if np.all(np.diff(fit) >= -1e-12) and (err := ((fit - y) ** 2).sum()) < best_err:
            best, best_err = fit, err
    return best


@pytest.mark.parametrize("seed", range(6))
def test_isotonic_is_the_best_monotone_fit(seed):
    y = np.random.default_rng(seed).normal(size=7).cumsum() * np.random.default_rng(seed + 9).choice([-1, 1])
    xs, fit = isotonic(np.arange(7.0), y)
    np.testing.assert_allclose(fit, brute_force_isotonic(y), atol=1e-9)
    assert np.all(np.diff(fit) >= 0)


def test_isotonic_pools_repeated_requests_and_rejects_bad_input():
    xs, fit = isotonic(np.array([1.0, 1.0, 2.0, 3.0]), np.array([0.0, 2.0, 0.5, 4.0]))
    np.testing.assert_allclose(xs, [1, 2, 3])
    np.testing.assert_allclose(fit, [2.5 / 3, 2.5 / 3, 4.0])  # x=1: mean 1.0 of two episodes; pooled with 0.5
    with pytest.raises(ValueError, match="finite"):
        isotonic(np.array([1.0, 2.0]), np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="equal"):
        isotonic(np.array([1.0]), np.array([1.0, 2.0]))


def test_rtg_for_inverts_predict_inside_and_flags_what_cannot_be_reached():
    # a model that achieves 80% of the request up to 1,000, then flattens at 800 (and dips: noise)
    requested = np.array([200.0, 400.0, 600.0, 800.0, 1000.0, 1200.0, 1400.0])
    achieved = np.array([[160, 160], [320, 320], [480, 480], [640, 640], [800, 800], [790, 790], [810, 810]])
    cal = Calibration.fit(requested, achieved)
    assert cal.predicted == (160.0, 320.0, 480.0, 640.0, 795.0, 795.0, 810.0)  # the dip pooled away
    assert cal.reachable == (160.0, 810.0)
    for wanted in (200.0, 500.0, 600.0):
        rtg, ok = cal.rtg_for(wanted)
        assert ok and cal.predict(rtg) == pytest.approx(wanted)
        assert rtg == pytest.approx(wanted / 0.8)
    rtg, ok = cal.rtg_for(2000.0)  # beyond the best it was measured to do: ask for what reaches its best
    assert not ok and rtg == 1400.0 and cal.predict(rtg) == 810.0
    rtg, ok = cal.rtg_for(795.0)  # a flat stretch: the lowest request that reaches it
    assert ok and rtg == pytest.approx(1000.0)
    rtg, ok = cal.rtg_for(50.0)
    assert not ok and rtg == 200.0
    with pytest.raises(ValueError, match="finite"):
        cal.rtg_for(float("nan"))


def test_a_speed_asked_through_the_calibration_undoes_a_compressed_response():
    """A model that achieves 1,000 + half of what it is asked above 1,000 (a compressed response): asked through
    its calibration, a speed's whole-episode return is requested at twice its distance from 1,000, and the RTG
    scales with the steps left; an identity calibration asks exactly what ``rtg_for_speed`` asks."""
    from core.envs import get_task

    task = get_task("halfcheetah")
    limit = task.max_episode_steps
    identity = Calibration.fit(np.array([-1000.0, 10_000.0]), np.array([-1000.0, 10_000.0]))
    for speed, left in ((1.0, limit), (3.0, 400), (0.0, 1)):
        assert identity.rtg_for_speed(task, speed, left) == pytest.approx(task.rtg_for_speed(speed, left))
    compressed = Calibration.fit(np.array([1000.0, 7000.0]), np.array([1000.0, 4000.0]))
    wanted = task.reward_for_speed(3.0) * limit  # 2,700: within what the model reaches
    assert compressed.rtg_for_speed(task, 3.0, limit) == pytest.approx(1000.0 + 2 * (wanted - 1000.0))
    assert compressed.rtg_for_speed(task, 3.0, limit // 4) == pytest.approx(
        compressed.rtg_for_speed(task, 3.0, limit) / 4
    )
    # beyond what the model was measured to reach: the request that reaches its best, not more
    assert compressed.rtg_for_speed(task, 9.0, limit) == pytest.approx(7000.0)


def test_from_sweep_reads_a_shipped_sweep(tiny_models):
    data = json.loads(Run("hopper", "medium").sweep_path.read_text())
    for kind, m in data["models"].items():
        cal = Calibration.from_sweep(m["sweep"])
        assert len(cal.requests) == len(m["sweep"]["targets"])
        assert np.all(np.diff(cal.predicted) >= 0), kind


def test_calibrate_cli_measures_both_ways_and_ships(writable_models, roots):
    from core.calibrate import CalibrateConfig, main

    res = main(CalibrateConfig(task="Hopper", dataset="medium", n_wanted=3, episodes=1, ship=True))
    shipped = json.loads(Run("hopper", "medium").calibration_path.read_text())
    assert shipped == json.loads((Run("hopper", "medium").results_dir / "calibration.json").read_text()) == res
    for m in res["models"].values():
        assert len(m["asked_rtg"]) == len(m["wanted"]) == 3
        for way in ("with", "without"):
            got = np.array(m[way]["returns"])
            assert got.shape == (3, 1)
            assert m[way]["mean_abs_error"] == pytest.approx(np.abs(got - np.array(m["wanted"])[:, None]).mean())
    with pytest.raises(ValueError, match="no sweep"):
        main(CalibrateConfig(task="hopper", dataset="medium", models="qalign,nope", n_wanted=3, episodes=1))


def test_speed_hold_removes_a_steady_bias_and_restarts_on_a_new_level():
    """A toy model that runs at 1 + half the speed it is asked (too fast when slow, too slow when fast): held, it
    settles on the target within a few periods; a step to a new level starts the correction again at 0; a ramp
    keeps it; the correction never passes its limit."""
    from core.calibration import SpeedHold, SpeedHoldConfig

    def run(loop, targets):
        speeds, asked = [], []
        for v in targets:
            a = loop.ask(v)
            speeds.append(1.0 + 0.5 * a)
            asked.append(a)
            loop.observe(v, speeds[-1])
        return np.array(speeds), np.array(asked)

    loop = SpeedHold(SpeedHoldConfig(gain=1.0, period=5))
    speeds, _ = run(loop, [1.0] * 200)
    assert speeds[0] == pytest.approx(1.5)  # open loop at first: 0.5 too fast
    assert speeds[-1] == pytest.approx(1.0, abs=1e-3)
    assert loop.u == pytest.approx(-1.0, abs=2e-3)
    speeds, asked = run(loop, [4.0] * 200)
    assert asked[0] == 4.0  # a new level: the old correction is dropped
    assert speeds[-1] == pytest.approx(3.0 + 0.5 * 1.5)  # needs +2 m/s, clamped at the limit of 1.5
    assert loop.u == 1.5
    _, asked = run(loop, np.linspace(4.0, 4.2, 20))  # a ramp: each step moves 0.01 m/s, the correction stays
    assert asked[0] == pytest.approx(5.5)
    # the cap: the data's fastest speed (best return per step, read as a speed), or a multiple of that return
    from core.calibration import fastest_speed
    from core.envs import get_task

    task, stats = get_task("halfcheetah"), {"max": 4350.0}
    assert SpeedHoldConfig().top(task, stats) == pytest.approx(fastest_speed(task, stats)) == pytest.approx(4.65)
    assert SpeedHoldConfig(top_factor=1.2).top(task, stats) == pytest.approx(1.2 * 4.35 + 0.3)
    capped = SpeedHold(SpeedHoldConfig(gain=1.0, period=5), top=2.8)
    speeds, asked = run(capped, [2.5] * 100)  # 2.5 needs an ask of 3.0: held up to the cap and no further
    assert asked.max() == pytest.approx(2.8) and capped.u == pytest.approx(0.3) and speeds[-1] == pytest.approx(2.4)
    open_loop = SpeedHold(SpeedHoldConfig(gain=0.0))
    assert run(open_loop, [1.0] * 50)[1].tolist() == [1.0] * 50
    for bad in (SpeedHoldConfig(period=0), SpeedHoldConfig(gain=-1.0), SpeedHoldConfig(gain=float("nan"))):
        with pytest.raises(ValueError, match="speed hold"):
            SpeedHold(bad)
