"""Controllability metrics: how closely achieved returns (or speeds) follow the requested ones.

Every function takes plain arrays and documents its formula; ``alignment_report`` bundles them.
"""

from __future__ import annotations

import numpy as np


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 with ties given their average rank."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    for v in np.unique(x):
        tie = x == v
        ranks[tie] = ranks[tie].mean()
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """r = cov(x, y) / (std(x) std(y)); NaN when either side is constant."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of the ranks (ties averaged): 1 = achieved order follows requested order."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    return pearson(_ranks(x), _ranks(y))


def alignment_error(requested: np.ndarray, achieved: np.ndarray, data_min: float, data_max: float) -> float:
    """mean |achieved - requested| / (data_max - data_min): 0 = perfect, 1 = off by the data's whole range."""
    span = max(float(data_max - data_min), 1e-9)
    return float(np.mean(np.abs(np.asarray(achieved, float) - np.asarray(requested, float))) / span)


def monotonicity_violations(requested: np.ndarray, achieved_mean: np.ndarray) -> int:
    """Number of consecutive pairs (sorted by request) where asking for more gave a lower mean return."""
    order = np.argsort(requested)
    return int(np.sum(np.diff(np.asarray(achieved_mean, float)[order]) < 0))


def slope(requested: np.ndarray, achieved: np.ndarray) -> float:
    """Least-squares slope of achieved on requested: 1 = moves one-for-one, 0 = ignores the request."""
    x, y = np.asarray(requested, float), np.asarray(achieved, float)
    if len(x) < 2 or x.std() == 0:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def spread_ratio(targets: np.ndarray, achieved_mean: np.ndarray, low: float, high: float) -> float:
    """How far the achieved mean moves between requests ``low`` and ``high`` (the data's 5th and 95th percentile
    returns), as a fraction of the requested move: 1 = one-for-one, 0 = ignores the request. The achieved mean at
    each end is interpolated between the sweep's requests; an end outside them is moved to the nearest request
    (requests are never negative, while a dataset's 5th percentile can be); nan if no span is left."""
    x, y = np.asarray(targets, float), np.asarray(achieved_mean, float)
    order = np.argsort(x)
    x, y = x[order], y[order]
    low, high = max(low, x[0]), min(high, x[-1])
    if high <= low:
        return float("nan")
    return float((np.interp(high, x, y) - np.interp(low, x, y)) / (high - low))


def speed_error(speed: np.ndarray, target: np.ndarray, warmup: int = 100) -> float:
    """Mean |measured speed - target speed| over steps after ``warmup`` (m/s)."""
    speed, target = np.asarray(speed, float), np.asarray(target, float)
    if len(speed) <= warmup:
        return float("nan")
    return float(np.mean(np.abs(speed[warmup:] - target[warmup:])))


def schedule_tracking_error(speed: np.ndarray, target: np.ndarray, settle: int = 50) -> float:
    """Mean |speed - target| over each constant segment of a step schedule, skipping its first ``settle``
    steps (the time allowed to change pace), averaged over segments (m/s)."""
    speed, target = np.asarray(speed, float), np.asarray(target, float)
    starts = np.flatnonzero(np.r_[True, np.diff(target) != 0])
    ends = np.r_[starts[1:], len(target)]
    errs = [
        np.mean(np.abs(speed[s + settle : e] - target[s + settle : e])) for s, e in zip(starts, ends) if e - s > settle
    ]
    return float(np.mean(errs)) if errs else float("nan")


def running_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over the last ``window`` values (fewer at the start): what a speedometer averaging over a
    second shows."""
    x = np.asarray(x, float)
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(1, len(x) + 1)
    lo = np.maximum(i - max(int(window), 1), 0)
    return (c[i] - c[lo]) / (i - lo)


def smoothed_schedule_error(speed: np.ndarray, target: np.ndarray, window: int, settle: int = 50) -> float:
    """``schedule_tracking_error`` of the speed averaged over the last ``window`` steps: a running gait's
    x-velocity swings within every stride (HalfCheetah: by about +/- 1 m/s), which no policy removes; averaged over
    a second, what is left is whether it runs at the asked speed."""
    return schedule_tracking_error(running_mean(speed, window), target, settle)


def smoothed_tracking_error(speed: np.ndarray, target: np.ndarray, window: int, warmup: int = 50) -> float:
    """Mean |speed - target| after ``warmup`` steps, both averaged over the last ``window`` steps: for targets
    that change smoothly (every step of a ramp is its own "segment", so ``schedule_tracking_error`` has none)."""
    return speed_error(running_mean(speed, window), running_mean(target, window), warmup)


def alignment_report(
    targets: np.ndarray,
    returns: np.ndarray,
    data_min: float,
    data_max: float,
    score_fn=None,
    percentiles: tuple[float, float] | None = None,
) -> dict:
    """Metrics of a sweep (targets (N,), returns (N, M)), over all targets and inside the data's range.

    Correlations and slope use every episode (each target repeated M times); monotonicity uses the
    per-target mean; best = highest per-target mean return. ``percentiles``: the data's (p5, p95) returns, for
    ``spread_ratio``.
    """
    targets, returns = np.asarray(targets, float), np.asarray(returns, float)
    mean = returns.mean(axis=1)

    def block(sel: np.ndarray) -> dict:
        if sel.sum() == 0:
            return {}
        req = np.repeat(targets[sel], returns.shape[1])
        ach = returns[sel].reshape(-1)
        return {
            "targets": int(sel.sum()),
            "spearman": spearman(req, ach),
            "pearson": pearson(req, ach),
            "alignment_error": alignment_error(req, ach, data_min, data_max),
            "slope": slope(req, ach),
            "monotonicity_violations": monotonicity_violations(targets[sel], mean[sel]),
        }

    best = int(np.argmax(mean))
    out = {
        "all": block(np.ones(len(targets), bool)),
        "in_range": block(in_data_range(targets, data_min, data_max)),
        "best_return": float(mean[best]),
        "best_return_target": float(targets[best]),
        "per_target_mean": mean.tolist(),
        "per_target_std": returns.std(axis=1).tolist(),
    }
    if score_fn is not None:
        out["best_score"] = float(score_fn(mean[best]))
    if percentiles is not None:
        out["spread_ratio"] = spread_ratio(targets, mean, *percentiles)
    return out


def in_data_range(targets: np.ndarray, data_min: float, data_max: float) -> np.ndarray:
    """Which requests lie inside the data's return range: the requests ``alignment_report``'s "in_range" reads."""
    return (targets >= data_min) & (targets <= data_max)


CONTROL_BARS = (("spearman", 0.95, True), ("alignment_error", 0.10, False), ("spread_ratio", 0.8, True))
"""What "the slider works" means here (the bars of issue 13's "done when"): over the requests
inside the data's return range, Spearman of requested vs achieved return >= 0.95 and alignment error <= 0.10 of the
data's range; achieved 5th-to-95th-percentile move >= 0.8 of the requested one. (name, bar, higher is better)."""

BAR_LABELS = {"spearman": "Spearman", "alignment_error": "alignment error", "spread_ratio": "spread"}


def bars_missed(report: dict) -> list[str]:
    """The bars an ``alignment_report`` misses, each as "Spearman 0.62 < 0.95"; [] when it meets all three. A
    measure that is missing or nan (too few requests in range to compute it) counts as missed."""
    values = {**report.get("in_range", {}), "spread_ratio": report.get("spread_ratio")}
    missed = []
    for name, bar, higher in CONTROL_BARS:
        v = values.get(name)
        if v is None or not np.isfinite(v):
            missed.append(f"{BAR_LABELS[name]} not measured")
        elif (v < bar) if higher else (v > bar):
            missed.append(f"{BAR_LABELS[name]} {beside_bar(v, bar)} {'<' if higher else '>'} {bar:.2f}")
    return missed


def beside_bar(v: float, bar: float, digits: int = 2) -> str:
    """v to ``digits`` decimals, or to as many more as it takes not to read as the bar itself (0.9496 -> 0.9496, not
    0.95)."""
    for n in range(digits, 7):
        if round(v, n) != round(bar, n):
            return f"{v:.{n}f}"
    return f"{v:.6g}"
