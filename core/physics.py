"""Step many simulators of one task at once: MuJoCo's step per simulator, then the v5 environments' reward,
observation and termination computed for all of them in arrays.

Gymnasium's ``env.step`` for Hopper spends as long in Python (three wrappers, the info dict, a dozen small
numpy calls for the observation and the health check) as MuJoCo spends simulating (about 90 of 190 us on this
machine). A sweep lane or the live engine steps tens of simulators per policy forward, so that overhead is paid
tens of times per step; here it is paid once per step for all of them (``benchmarks/rollout_speed.py``).

The numbers are gymnasium's own, bit for bit (``tests/test_physics.py`` steps both side by side): the same MuJoCo
calls on the same ``MjData`` (``mj_step`` over the frame skip, then ``mj_rnePostConstraint``), the same formulas in
the same order and precision (the control cost in the action's dtype, as gymnasium's ``np.sum(np.square(a))``),
and the constants read from the environment itself (weights, health ranges, frame skip), not restated. Resets
stay gymnasium's (its seeding and initial noise); the time limit is the caller's (``TaskSpec.max_episode_steps``),
as gymnasium's ``TimeLimit`` wrapper is bypassed. An environment of another kind is stepped through its own
unwrapped ``step``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv


@dataclass(frozen=True)
class _Rules:
    """One v5 environment's reward, observation and health constants, read from an instance."""

    forward_weight: float
    ctrl_weight: float
    healthy_reward: float  # 0 for HalfCheetah, which has no alive bonus and never terminates
    terminates: bool
    z_range: tuple[float, float] | None
    angle_range: tuple[float, float] | None
    state_range: tuple[float, float] | None  # Hopper: every qpos/qvel entry after the first two
    skip_x: bool  # the observation leaves out the x position
    clip_velocity: float | None  # Hopper and Walker2d clip qvel to +/- 10 in the observation

    @staticmethod
    def of(env) -> _Rules | None:
        if isinstance(env, HalfCheetahEnv):
            return _Rules(
                env._forward_reward_weight, env._ctrl_cost_weight, 0.0, False, None, None, None,
                env._exclude_current_positions_from_observation, None,
            )  # fmt: skip
        if isinstance(env, (HopperEnv, Walker2dEnv)):
            return _Rules(
                env._forward_reward_weight,
                env._ctrl_cost_weight,
                env._healthy_reward,
                env._terminate_when_unhealthy,
                env._healthy_z_range,
                env._healthy_angle_range,
                env._healthy_state_range if isinstance(env, HopperEnv) else None,
                env._exclude_current_positions_from_observation,
                10.0,
            )
        return None


def step_many(
    envs: Sequence[gym.Env], actions: np.ndarray, errors: dict[int, str] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Step each environment (all of one task) with its row of ``actions`` (N, act_dim): (observations (N,
    obs_dim) float64, rewards (N,) float64, terminated (N,) bool, x velocities (N,)) as gymnasium's ``step``
    gives them. No truncation: the episode limit is the caller's.

    An environment that raises ends the call, unless ``errors`` is given: then its row's message goes there, its
    numbers are zeros, and the others are stepped as usual (the live engine: one viewer's failure is not
    another's)."""
    raw = [env.unwrapped for env in envs]
    rules = _Rules.of(raw[0]) if raw else None  # a few attribute reads: not worth a cache
    if rules is None or any(type(u) is not type(raw[0]) for u in raw):
        return _step_each(raw, actions, errors)
    n, model = len(raw), raw[0].model
    x_before = np.zeros(n)
    qpos, qvel = np.zeros((n, model.nq)), np.zeros((n, model.nv))
    ok = np.ones(n, dtype=bool)
    for i, (u, action) in enumerate(zip(raw, actions)):
        try:
            x_before[i] = u.data.qpos[0]
            u.data.ctrl[:] = action
            mujoco.mj_step(u.model, u.data, nstep=u.frame_skip)
            mujoco.mj_rnePostConstraint(u.model, u.data)  # gymnasium's step calls it too; it leaves the state alone
            qpos[i], qvel[i] = u.data.qpos, u.data.qvel
        except Exception as err:  # noqa: BLE001  (reported per row when the caller asks)
            if errors is None:
                raise
            errors[i], ok[i] = str(err), False
    x_velocity = np.where(ok, (qpos[:, 0] - x_before) / raw[0].dt, 0.0)
    ctrl_cost = rules.ctrl_weight * np.sum(np.square(actions), axis=1)  # the action's dtype, as gymnasium's
    healthy = _healthy(rules, qpos, qvel)
    reward = (rules.forward_weight * x_velocity + healthy * rules.healthy_reward) - ctrl_cost  # + 0.0: HalfCheetah
    velocity = qvel if rules.clip_velocity is None else np.clip(qvel, -rules.clip_velocity, rules.clip_velocity)
    obs = np.concatenate((qpos[:, 1:] if rules.skip_x else qpos, velocity), axis=1)
    terminated = ~healthy & rules.terminates
    return obs, np.where(ok, reward, 0.0), terminated & ok, x_velocity


def _healthy(rules: _Rules, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
    """gymnasium's ``is_healthy`` for every row (all True where the task has no health check)."""
    ok = np.ones(len(qpos), dtype=bool)
    if rules.z_range is not None:
        (z_lo, z_hi), (a_lo, a_hi) = rules.z_range, rules.angle_range
        z, angle = qpos[:, 1], qpos[:, 2]
        ok &= (z_lo < z) & (z < z_hi) & (a_lo < angle) & (angle < a_hi)
    if rules.state_range is not None:
        lo, hi = rules.state_range
        state = np.concatenate((qpos, qvel), axis=1)[:, 2:]
        ok &= np.all((lo < state) & (state < hi), axis=1)
    return ok


def _step_each(
    raw: list, actions: np.ndarray, errors: dict[int, str] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fallback: each unwrapped environment's own ``step`` (errors as ``step_many``)."""
    out = {}
    for i, (u, action) in enumerate(zip(raw, actions)):
        try:
            out[i] = u.step(action)
        except Exception as err:  # noqa: BLE001
            if errors is None:
                raise
            errors[i] = str(err)
    width = len(next(iter(out.values()))[0]) if out else 0
    obs = np.zeros((len(raw), width))
    reward, terminated, x_velocity = np.zeros(len(raw)), np.zeros(len(raw), dtype=bool), np.zeros(len(raw))
    for i, (o, r, term, _, info) in out.items():
        obs[i], reward[i], terminated[i], x_velocity[i] = o, r, term, info.get("x_velocity", 0.0)
    return obs, reward, terminated, x_velocity
