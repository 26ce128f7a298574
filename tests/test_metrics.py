import numpy as np
import pytest

from core.metrics import (
    alignment_error,
    alignment_report,
    bars_missed,
    beside_bar,
    monotonicity_violations,
    pearson,
    running_mean,
    schedule_tracking_error,
    slope,
    smoothed_schedule_error,
    smoothed_tracking_error,
    spearman,
    speed_error,
    spread_ratio,
)


def test_correlations_on_hand_made_numbers():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert spearman(x, np.array([10.0, 20.0, 25.0, 100.0])) == pytest.approx(1.0)  # monotone, not linear
    assert pearson(x, np.array([10.0, 20.0, 25.0, 100.0])) < 0.95
    assert spearman(x, -x) == pytest.approx(-1.0)
    assert spearman(x, np.array([1.0, 1.0, 2.0, 2.0])) == pytest.approx(0.894427, abs=1e-6)  # ties averaged
    assert np.isnan(pearson(x, np.ones(4)))


def test_alignment_error_normalised_by_data_range():
    assert alignment_error([100, 200], [150, 100], 0, 1000) == pytest.approx((50 + 100) / 2 / 1000)
    assert alignment_error([5, 5], [5, 5], 0, 10) == 0.0


def test_monotonicity_violations_counts_drops():
    assert monotonicity_violations([3, 1, 2, 4], [30, 10, 20, 40]) == 0
    assert monotonicity_violations([1, 2, 3, 4], [10, 5, 20, 15]) == 2


def test_slope():
    assert slope([0, 1, 2], [1, 3, 5]) == pytest.approx(2.0)
    assert slope([0, 1, 2], [7, 7, 7]) == pytest.approx(0.0)


def test_spread_ratio_interpolates_the_achieved_mean_at_the_percentile_requests():
    targets = np.array([100.0, 300.0, 500.0])
    # achieved 150 at 200 (halfway between 100 -> 100 and 300 -> 200) and 350 at 400: moved 200 for 200 asked
    assert spread_ratio(targets, np.array([100.0, 200.0, 500.0]), 200.0, 400.0) == pytest.approx(1.0)
    assert spread_ratio(targets[::-1], np.array([500.0, 200.0, 100.0]), 200.0, 400.0) == pytest.approx(1.0)
    assert spread_ratio(targets, np.full(3, 42.0), 100.0, 500.0) == 0.0  # ignores the request
    # a 5th percentile below the lowest request (a negative return, say) is read at the lowest request
    assert spread_ratio(targets, np.array([100.0, 200.0, 500.0]), -50.0, 300.0) == pytest.approx(0.5)
    assert np.isnan(spread_ratio(targets, np.ones(3), 600.0, 700.0))  # no span of the sweep left
    report = alignment_report(targets, np.array([[100.0], [200.0], [500.0]]), 0.0, 600.0, percentiles=(200.0, 400.0))
    assert report["spread_ratio"] == pytest.approx(1.0)
    assert "spread_ratio" not in alignment_report(targets, np.ones((3, 1)), 0.0, 600.0)


def test_speed_errors():
    target = np.r_[np.full(100, 0.5), np.full(100, 1.5)]
    speed = np.r_[np.zeros(10), np.full(90, 0.6), np.full(20, 0.5), np.full(80, 1.4)]
    assert speed_error(speed, target, warmup=10) == pytest.approx((90 * 0.1 + 20 * 1.0 + 80 * 0.1) / 190)
    # settle of 20 skips the zeros and the lag after the step: both segments 0.1 off
    assert schedule_tracking_error(speed, target, settle=20) == pytest.approx(0.1)


def test_running_mean_and_smoothed_schedule_error():
    np.testing.assert_allclose(running_mean(np.array([2.0, 4.0, 6.0, 8.0]), 2), [2.0, 3.0, 5.0, 7.0])
    # a gait that swings +/- 1 m/s around the asked 3 m/s: 1 m/s off at every step, on target once averaged
    t = np.arange(400)
    speed, target = 3.0 + np.where(t % 2 == 0, 1.0, -1.0), np.full(400, 3.0)
    assert schedule_tracking_error(speed, target) == pytest.approx(1.0)
    assert smoothed_schedule_error(speed, target, window=20) == pytest.approx(0.0, abs=1e-12)
    # running 0.5 m/s slow stays 0.5 m/s off, smoothed or not
    assert smoothed_schedule_error(target - 0.5, target, window=20) == pytest.approx(0.5)
    # a ramp followed exactly, gait swings included, is on target once both are averaged; 0.5 m/s slow is 0.5 off
    ramp = np.linspace(1.0, 4.0, 400)
    assert smoothed_tracking_error(ramp + (speed - 3.0), ramp, window=20) == pytest.approx(0.0, abs=1e-9)
    assert smoothed_tracking_error(ramp - 0.5, ramp, window=20) == pytest.approx(0.5)


def test_alignment_report_in_range_and_best():
    targets = np.array([100.0, 200.0, 300.0, 500.0])
    returns = np.array([[90, 110], [210, 190], [280, 300], [290, 310]], float)
    rep = alignment_report(targets, returns, data_min=100, data_max=300, score_fn=lambda r: r / 10)
    assert rep["in_range"]["targets"] == 3 and rep["all"]["targets"] == 4
    assert rep["in_range"]["alignment_error"] == pytest.approx(10 / 200)
    assert rep["in_range"]["monotonicity_violations"] == 0 and rep["all"]["monotonicity_violations"] == 0
    assert rep["best_return"] == pytest.approx(300) and rep["best_score"] == pytest.approx(30)
    assert rep["all"]["slope"] < rep["in_range"]["slope"]  # saturates beyond the data


def test_bars_missed_names_each_bar_a_sweep_misses():
    targets = np.array([100.0, 200.0, 300.0])

    def report(returns):
        return alignment_report(targets, np.array(returns, float), 100, 300, None, (100, 300))

    assert bars_missed(report([[100, 101], [199, 201], [300, 299]])) == []
    flat = report([[200, 150], [210, 140], [190, 205]])
    missed = bars_missed(flat)
    assert [m.rsplit(" ", 3)[0] for m in missed] == ["Spearman", "alignment error", "spread"], missed
    # a value just past a bar is not rounded onto it, and a measure that could not be computed counts as missed
    near = {"in_range": {"spearman": 0.9496, "alignment_error": 0.1004}, "spread_ratio": float("nan")}
    assert bars_missed(near) == ["Spearman 0.9496 < 0.95", "alignment error 0.1004 > 0.10", "spread not measured"]
    assert bars_missed({"in_range": {"spearman": 0.95, "alignment_error": 0.1}, "spread_ratio": 0.8}) == []
    assert beside_bar(0.9453, 0.95) == "0.945" and beside_bar(0.9612, 0.95) == "0.96"
    assert beside_bar(0.0371, 0.10, digits=3) == "0.037" and beside_bar(0.10004, 0.10, digits=3) == "0.10004"
