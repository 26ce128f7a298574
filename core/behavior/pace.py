"""Pace policies: behaviour that runs at a commanded speed, for data whose return spread comes from speed.

On Hopper and Walker2d the ``control`` dataset's return spread is almost all *when the robot falls*: every
episode between 500 and 3,000 return moves at 3.2-3.9 reward per step and none reaches the 1,000-step limit
(``python -m core.data.summary``'s length share, README). A return request there means "fall at step n", which no
model follows reliably. A pace policy is trained with the commanded speed as one more observation and rewarded for
matching it while staying up, so its episodes all run their full length and their returns differ by speed, the
thing the slider is meant to change. The target changes at random times during training (and in the data), both
up and down, so a slider moved mid-episode has examples too.

Training: ``python -m core.behavior.train --task T --pace`` (PPO on Hopper/Walker2d, SAC on HalfCheetah, as for
the return-maximising run; snapshots under ``checkpoints/behavior/<task>/pace``). The dataset these policies collect:
``core.data.pace``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from core.envs import TaskSpec

PACE_RANGE = {"hopper": (0.0, 2.5), "walker2d": (0.0, 4.0), "halfcheetah": (0.0, 7.0)}
"""Commanded speeds, m/s: from standing to about the return-maximising policy's own pace."""
SWITCH_EVERY = 300
"""Mean steps between target changes in training episodes (geometric)."""


def tracking_reward(speed: np.ndarray | float, target: np.ndarray | float) -> np.ndarray | float:
    """``target - |speed - target|``: the task's own forward reward (= speed) up to the target, falling as fast
    beyond it. A first version, bounded in (0, 1] (``1 / (1 + |error| / 0.5)``), taught Hopper to stand still for
    the alive bonus (300k PPO steps, every target); this one keeps the gradient the locomotion tasks are learned
    with."""
    return target - np.abs(np.asarray(speed) - target)


def pace_reward(info: dict, target: float) -> float:
    """Alive bonus (Hopper, Walker2d) + speed tracking + the environment's own control cost."""
    return (
        float(info.get("reward_survive", 0.0))
        + float(tracking_reward(info["x_velocity"], target))
        + float(info["reward_ctrl"])
    )


def draw_target(task: str, rng: np.random.Generator) -> float:
    lo, hi = PACE_RANGE[task]
    return float(rng.uniform(lo, hi))


class PaceEnv(gym.Wrapper):
    """The task's environment with the commanded speed appended to the observation and the pace reward.

    The target is drawn at reset and redrawn with probability ``1 / switch_every`` after every step."""

    def __init__(self, env: gym.Env, task: TaskSpec, switch_every: int = SWITCH_EVERY, seed: int | None = None):
        super().__init__(env)
        self.task, self.switch_every = task.name, switch_every
        self.rng = np.random.default_rng(seed)
        lo, hi = PACE_RANGE[task.name]
        box = env.observation_space
        self.observation_space = gym.spaces.Box(
            np.append(box.low, lo).astype(box.dtype), np.append(box.high, hi).astype(box.dtype), dtype=box.dtype
        )
        self.target = draw_target(self.task, self.rng)

    def _obs(self, obs: np.ndarray) -> np.ndarray:
        return np.append(obs, self.target).astype(obs.dtype)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.target = draw_target(self.task, self.rng)
        return self._obs(obs), info

    def step(self, action):
        obs, _, term, trunc, info = self.env.step(action)
        reward = pace_reward(info, self.target)
        info = info | {"target": self.target}
        if self.rng.random() < 1.0 / self.switch_every:
            self.target = draw_target(self.task, self.rng)
        return self._obs(obs), reward, term, trunc, info


EVAL_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)
"""Snapshot evaluation: one episode at each of these fractions of ``PACE_RANGE``, target held constant."""


def evaluate_pace(actor, task: TaskSpec, seed_base: int, warmup: int = 100) -> dict:
    """Deterministic episodes at constant targets: mean task return and length, and the mean |episode speed -
    target| with the episode speed averaged after ``warmup`` steps (the speed-up from standing)."""
    lo, hi = PACE_RANGE[task.name]
    rows = []
    for k, frac in enumerate(EVAL_FRACTIONS):
        target = lo + frac * (hi - lo)
        env = task.make()
        obs, _ = env.reset(seed=seed_base + k)
        ret, speeds, done = 0.0, [], False
        while not done:
            action = actor.act(np.append(obs, target)[None].astype(np.float32))[0]
            obs, r, term, trunc, info = env.step(action)
            ret, done = ret + float(r), term or trunc
            speeds.append(float(info["x_velocity"]))
        env.close()
        settled = speeds[warmup:] if len(speeds) > warmup else speeds
        rows.append({"target": target, "return": ret, "length": len(speeds), "speed": float(np.mean(settled))})
    returns = np.array([r["return"] for r in rows])
    return {
        "mean": float(returns.mean()),
        "std": float(returns.std()),
        "speed_error": float(np.mean([abs(r["speed"] - r["target"]) for r in rows])),
        "length": float(np.mean([r["length"] for r in rows])),
        "per_target": rows,
        "episodes": len(rows),
        "seed_base": seed_base,
    }
