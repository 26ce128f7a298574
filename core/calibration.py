"""Ask for an outcome: from a model's measured alignment sweep, which RTG to request for the return you want.

A return-conditioned model rarely achieves exactly what it is told. Its sweep (requests x episodes, measured on
evaluation seeds) says what it does achieve; an isotonic (monotone non-decreasing) fit of achieved on requested
return turns that into a curve we can read both ways:

- ``predict(rtg)``: the return the model is expected to achieve when asked for ``rtg``;
- ``rtg_for(wanted)``: the smallest request whose predicted return reaches ``wanted`` (linear between the fitted
  points), and whether ``wanted`` is inside what the model was measured to reach at all;
- ``rtg_for_speed(task, speed, steps_left)``: the same for a speed, through the return that speed earns per step.

The fit is only as good as the sweep's spread: outside the swept requests the curve is flat (no extrapolation),
and a wanted return outside [predicted at the lowest request, predicted at the highest] is unreachable: the
request is clamped to the end of the curve and the answer says so.

``python -m core.calibrate`` measures it: wanted returns spread over the data's range, on fresh seeds, asked
once as they are and once through the calibration; it writes ``calibration.json`` beside the shipped sweep.

    cal = Calibration.from_sweep(sweep_json["models"]["dt"]["sweep"])
    rtg, reachable = cal.rtg_for(2000.0)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.envs import TaskSpec

CALIBRATION_SEED = 400_000
"""Fresh seeds for measuring the calibration: apart from the sweep it is fitted on (100000+), the dashboard's
quick sweeps (200000+) and the validation seeds (300000+)."""


def isotonic(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pool-adjacent-violators: the non-decreasing step fit of ``y`` on ``x`` minimising weighted squared error.
    Returns (distinct sorted x, fitted value at each)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=np.float64)
    if len(x) == 0 or len(x) != len(y) or len(w) != len(y):
        raise ValueError(f"isotonic fit needs equal, non-empty x, y, w; got {len(x)}, {len(y)}, {len(w)}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("isotonic fit needs finite numbers")
    xs, inverse = np.unique(x, return_inverse=True)  # pool equal x first: one mean per request
    ws = np.bincount(inverse, weights=w)
    ys = np.bincount(inverse, weights=w * y) / ws
    blocks: list[list[float]] = []  # [value, weight, count]
    for v, wt in zip(ys, ws):
        blocks.append([v, wt, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    fitted = np.concatenate([np.full(int(n), v) for v, _, n in blocks])
    return xs, fitted


@dataclass(frozen=True)
class Calibration:
    """A monotone map between requested RTG and expected achieved return, for one model."""

    requests: tuple[float, ...]
    """Distinct requested returns of the sweep, increasing."""
    predicted: tuple[float, ...]
    """Isotonic fit of the achieved return at each request (non-decreasing)."""

    @classmethod
    def fit(cls, requested: np.ndarray, achieved: np.ndarray) -> Calibration:
        """From every episode: ``requested`` (N,) and ``achieved`` (N,), or (targets,) and (targets, episodes)."""
        requested, achieved = np.asarray(requested, dtype=np.float64), np.asarray(achieved, dtype=np.float64)
        if achieved.ndim == 2:
            requested = np.repeat(requested, achieved.shape[1])
            achieved = achieved.reshape(-1)
        xs, fitted = isotonic(requested, achieved)
        return cls(tuple(float(v) for v in xs), tuple(float(v) for v in fitted))

    @classmethod
    def from_sweep(cls, sweep: dict) -> Calibration:
        """From a ``sweep.json`` model entry's ``sweep`` (``targets`` and per-target ``returns``)."""
        return cls.fit(np.asarray(sweep["targets"]), np.asarray(sweep["returns"]))

    @property
    def reachable(self) -> tuple[float, float]:
        """The lowest and highest return the model was measured to achieve on average."""
        return self.predicted[0], self.predicted[-1]

    def predict(self, rtg: float) -> float:
        """Expected achieved return when asked for ``rtg`` (flat beyond the swept requests)."""
        return float(np.interp(rtg, self.requests, self.predicted))

    def rtg_for(self, wanted: float) -> tuple[float, bool]:
        """(RTG to ask for, whether ``wanted`` is reachable). Unreachable: the request at the nearer end of the
        curve (the lowest request, or the first that reaches the highest predicted return)."""
        if not np.isfinite(wanted):
            raise ValueError(f"wanted return must be a finite number, got {wanted!r}")
        x, y = np.asarray(self.requests), np.asarray(self.predicted)
        lo, hi = y[0], y[-1]
        if wanted <= lo:
            return float(x[0]), bool(np.isclose(wanted, lo))
        if wanted >= hi:
            return float(x[int(np.argmax(y >= hi))]), bool(np.isclose(wanted, hi))
        j = int(np.argmax(y >= wanted))  # first fitted point at or above wanted; y[j - 1] < wanted <= y[j]
        frac = (wanted - y[j - 1]) / (y[j] - y[j - 1])
        return float(x[j - 1] + frac * (x[j] - x[j - 1])), True

    def rtg_for_speed(self, task: TaskSpec, speed: float, steps_left: int) -> float:
        """A speed asked through the calibration: the whole-episode return that running at ``speed`` earns
        (``task.reward_for_speed`` x the episode limit, the kind of return the sweep measured) is mapped to the
        request that achieves it, then scaled to the ``steps_left``. It corrects the model's compressed response
        (too fast when asked to go slow, too slow at the top), which ``task.rtg_for_speed`` passes through."""
        limit = task.max_episode_steps
        return self.rtg_for(task.reward_for_speed(speed) * limit)[0] * steps_left / limit

    def to_dict(self) -> dict:
        return {"requests": list(self.requests), "predicted": list(self.predicted)}


def speed_rtg(task: TaskSpec, speed: float, steps_left: int, calibration: Calibration | None = None) -> float:
    """The RTG that asks for ``speed`` over ``steps_left`` steps: through ``calibration`` when given, else r*(v) x
    steps left (``TaskSpec.rtg_for_speed``). What every speed request (evaluation, live engine) goes through."""
    if calibration is None:
        return task.rtg_for_speed(speed, steps_left)
    return calibration.rtg_for_speed(task, speed, steps_left)


@dataclass(frozen=True)
class SpeedHoldConfig:
    """An integral loop around a speed request: the model is asked for ``target + u``, where ``u`` gathers the
    measured shortfall. It removes a steady bias (a compressed response: too fast when asked to go slow) that no
    fixed speed-to-RTG map can, as long as the model's speed rises with the RTG it is asked."""

    gain: float = 0.3
    """Share of each period's mean speed error added to the correction (dimensionless). 0.3: picked among 0.2 / 0.3 /
    0.45 on validation seeds, HalfCheetah `pace` Q-ALIGN DT, three training seeds (README, "Holding a speed")."""
    period: int = 20
    """Steps between updates (HalfCheetah: 1 s); the RTG is re-anchored at each. The models take 1-3 s to reach a
    new pace, so a faster loop overshoots (measured: 0.5 s periods made slow targets oscillate)."""
    limit: float = 1.5
    """Largest correction in m/s, either way (anti-windup)."""
    reset_jump: float = 0.25
    """A target that moves more than this (m/s) in one step is a new level: the correction starts again at 0
    (the bias differs between levels); a ramp moves less per step and keeps it."""
    top_factor: float = 1.0
    """The speed asked is capped where r*(v) is this multiple of the data's best return per step (1: the data's
    fastest speed, ``fastest_speed``)."""

    def top(self, task: TaskSpec, stats: dict) -> float:
        """The fastest speed this loop may ask for on data with return ``stats``."""
        return fastest_speed(task, stats, self.top_factor)

    def start(self, task: TaskSpec, stats: dict) -> SpeedHold:
        """A fresh loop for one episode of a model trained on data with return ``stats``."""
        return SpeedHold(self, self.top(task, stats))


class SpeedHold:
    """The state of one episode's speed loop (``SpeedHoldConfig``): before each step ``ask(target)`` says what speed to
    ask the model for; after it ``observe(target, speed)`` takes the measured speed and says whether the correction
    moved (re-anchor the RTG then)."""

    def __init__(self, config: SpeedHoldConfig | None = None, top: float = float("inf")):
        """``top``: the fastest speed ever asked (the data's fastest: ``fastest_speed``); a model asked past what it
        has seen leaves its data, so the correction stops there (and at 0 m/s) instead of winding up."""
        self.config, self.top = config or SpeedHoldConfig(), top
        if self.config.period < 1 or not self.config.gain >= 0 or not self.config.limit >= 0:
            raise ValueError(f"speed hold needs period >= 1, gain >= 0 and limit >= 0, got {self.config}")
        self.u, self._sum, self._n, self._last = 0.0, 0.0, 0, None

    def ask(self, target: float) -> float:
        """The speed to ask for at the coming step (the correction restarts at 0 on a new level)."""
        if self._last is not None and abs(target - self._last) > self.config.reset_jump:
            self.u, self._sum, self._n = 0.0, 0.0, 0
        self._last = target
        return float(np.clip(target + self.u, 0.0, self.top))

    def observe(self, target: float, speed: float) -> bool:
        """After a step run at ``speed`` (m/s) with ``target`` asked; True when the correction was updated."""
        cfg = self.config
        self._sum += target - speed
        self._n += 1
        if self._n < cfg.period:
            return False
        u = np.clip(self.u + cfg.gain * self._sum / self._n, -cfg.limit, cfg.limit)
        self.u = float(np.clip(u, -target, self.top - target)) if target <= self.top else float(u)
        self._sum, self._n = 0.0, 0
        return True


def fastest_speed(task: TaskSpec, stats: dict, factor: float = 1.0) -> float:
    """The fastest speed in a dataset, m/s: its best episode's return per step (times ``factor``), read as a speed."""
    return task.speed_for_reward(factor * stats["max"] / task.max_episode_steps)


def calibrations_from_sweep_file(path: Path) -> dict[str, Calibration]:
    """{model kind: Calibration} from a shipped ``sweep.json``."""
    data = json.loads(Path(path).read_text())
    return {kind: Calibration.from_sweep(m["sweep"]) for kind, m in data["models"].items()}


def wanted_returns(stats: dict, n: int) -> np.ndarray:
    """``n`` wanted returns evenly spaced over the data's 5th percentile to its best episode."""
    return np.linspace(stats["p5"], stats["max"], n)


def summarise(wanted: np.ndarray, returns: np.ndarray) -> dict:
    """Mean |wanted - achieved| over every episode, per wanted return and in all."""
    err = np.abs(returns - wanted[:, None])
    return {"mean_abs_error": float(err.mean()), "per_wanted": err.mean(axis=1).tolist(), "returns": returns.tolist()}
