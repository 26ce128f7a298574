"""Registry of the supported MuJoCo tasks: ids, scales, episode limits and reference returns."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym


@dataclass(frozen=True)
class TaskSpec:
    """One locomotion task and the constants every layer needs about it."""

    name: str
    """Short name used on the command line and in paths (e.g. ``hopper``)."""
    gym_id: str
    """Gymnasium id; v5 is the maintained MuJoCo version."""
    rtg_scale: float = 1000.0
    """Returns-to-go are divided by this before entering the network (METHOD.md)."""
    max_episode_steps: int = 1000
    """Episode limit; also the size of the DT's timestep embedding."""
    healthy_reward: float = 0.0
    """Per-step alive bonus in the reward; the velocity mode adds it when mapping speed to reward."""
    ctrl_cost_weight: float = 1e-3
    """Gymnasium's control-cost weight (reward -= weight * |a|^2)."""
    dt: float = 0.008
    """Simulated seconds per environment step (frame_skip x timestep)."""
    d4rl_random: float = 0.0
    """D4RL v2 random-policy return, kept only as a familiar yardstick."""
    d4rl_expert: float = 1.0
    """D4RL v2 expert return, kept only as a familiar yardstick."""

    def d4rl_score(self, ret: float) -> float:
        """D4RL normalised score: 100 * (return - random) / (expert - random)."""
        return 100.0 * (ret - self.d4rl_random) / (self.d4rl_expert - self.d4rl_random)

    def reward_for_speed(self, speed: float, mean_sq_action: float = 0.5) -> float:
        """Per-step reward of running at ``speed`` m/s: forward reward (= x-velocity) + alive bonus - control
        cost, with the control cost estimated at ``mean_sq_action`` per action dimension."""
        act_dim = {"hopper": 3, "halfcheetah": 6, "walker2d": 6}[self.name]
        return speed + self.healthy_reward - self.ctrl_cost_weight * act_dim * mean_sq_action

    def rtg_for_speed(self, speed: float, steps_left: int) -> float:
        """The return-to-go that asks for ``speed`` m/s over the rest of the episode: r*(speed) x steps left
        (METHOD.md, "Velocity tracking"). The one place a speed becomes a request."""
        return self.reward_for_speed(speed) * steps_left

    def speed_for_reward(self, reward: float, mean_sq_action: float = 0.5) -> float:
        """Inverse of ``reward_for_speed``."""
        return reward - self.reward_for_speed(0.0, mean_sq_action)

    def make(self, **kwargs) -> gym.Env:
        """Build the gymnasium environment with our episode limit."""
        return gym.make(self.gym_id, max_episode_steps=self.max_episode_steps, **kwargs)


TASKS: dict[str, TaskSpec] = {
    t.name: t
    for t in (
        TaskSpec("hopper", "Hopper-v5", healthy_reward=1.0, d4rl_random=-20.272305, d4rl_expert=3234.3),
        TaskSpec(
            "halfcheetah", "HalfCheetah-v5", ctrl_cost_weight=0.1, dt=0.05, d4rl_random=-280.178953, d4rl_expert=12135.0
        ),
        TaskSpec("walker2d", "Walker2d-v5", healthy_reward=1.0, d4rl_random=1.629008, d4rl_expert=4592.3),
    )
}


def get_task(name: str) -> TaskSpec:
    """Look a task up by name; an unknown name raises a ValueError listing the valid ones."""
    key = str(name).strip().lower()
    if key not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(sorted(TASKS))}")
    return TASKS[key]
