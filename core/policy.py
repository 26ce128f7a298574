"""A return-conditioned policy over a loaded checkpoint, batched over episodes.

    policy = ReturnConditionedPolicy.load(path)
    policy.reset(obs, target_returns)           # obs (N, obs_dim), targets (N,) raw returns
    while ...:
        actions = policy.act(obs)               # one batched forward for all N episodes
        obs, rewards, ... = env.step(actions)
        policy.observe(rewards)                 # RTG_{t+1} = RTG_t - r_t / scale
    policy.set_target(new_returns, return_so_far)  # re-anchor mid-episode

The last K steps of (RTG, state, action, timestep) are kept per episode, left-padded at the start.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from core.models.dt import DecisionTransformer
from core.store.checkpoint import load_model


class ReturnConditionedPolicy:
    def __init__(self, actor: DecisionTransformer, meta: dict):
        self.actor, self.meta = actor.eval(), meta
        self.K = actor.cfg.context_len
        self.scale = float(meta["rtg_scale"])
        self.obs_mean = torch.tensor(meta["obs_mean"], dtype=torch.float32)
        self.obs_std = torch.tensor(meta["obs_std"], dtype=torch.float32)
        self.max_t = actor.cfg.max_timestep - 1
        self.n = 0
        self.path = ""
        """The checkpoint it was loaded from (empty when built from weights in memory)."""

    @classmethod
    def load(cls, path: str | Path) -> ReturnConditionedPolicy:
        actor, meta = load_model(Path(path))
        policy = cls(actor, meta)
        policy.path = str(path)
        return policy

    @property
    def return_range(self) -> tuple[float, float]:
        s = self.meta["return_stats"]
        return s["min"], s["max"]

    def clamp_targets(self, targets: np.ndarray, high_factor: float = 3.0) -> np.ndarray:
        """Finite targets inside [0, high_factor * data max]; anything else is clamped with a warning."""
        t = np.asarray(targets, dtype=np.float64).reshape(-1)
        hi = high_factor * max(self.return_range[1], 1.0)
        bad = ~np.isfinite(t) | (t < 0) | (t > hi)
        if bad.any():
            warnings.warn(
                f"target return(s) {t[bad].tolist()} outside [0, {hi:.0f}] or not finite: clamped", stacklevel=2
            )
            t = np.where(np.isnan(t), 0.0, np.clip(np.nan_to_num(t, posinf=hi, neginf=0.0), 0.0, hi))
        return t

    def reset(self, obs: np.ndarray, targets: np.ndarray) -> None:
        """Start N episodes from observations ``obs`` (N, obs_dim), asking for returns ``targets`` (N,)."""
        obs = np.atleast_2d(obs)
        targets = self.clamp_targets(targets)
        if len(targets) == 1 and len(obs) > 1:
            targets = np.repeat(targets, len(obs))
        if len(targets) != len(obs):
            raise ValueError(f"{len(targets)} targets for {len(obs)} episodes")
        n, K = len(obs), self.K
        self.n = n
        self.states = torch.zeros(n, K, len(self.obs_mean))
        self.actions = torch.zeros(n, K, self.actor.act_dim)
        self.rtg = torch.zeros(n, K)
        self.timesteps = torch.zeros(n, K, dtype=torch.long)
        self.mask = torch.zeros(n, K, dtype=torch.bool)
        self.rtg_now = torch.as_tensor(targets, dtype=torch.float32) / self.scale  # (N,)
        self.t = torch.zeros(n, dtype=torch.long)
        self._pending = torch.as_tensor(obs, dtype=torch.float32)

    def _push(self, obs: torch.Tensor) -> None:
        """Shift the window left and write step t's RTG, state and timestep in the last slot."""
        for buf in (self.states, self.actions, self.rtg, self.timesteps, self.mask):
            buf[:, :-1] = buf[:, 1:].clone()
        self.states[:, -1] = (obs - self.obs_mean) / self.obs_std
        self.actions[:, -1] = 0.0
        self.rtg[:, -1] = self.rtg_now
        self.timesteps[:, -1] = self.t.clamp(max=self.max_t)
        self.mask[:, -1] = True

    @torch.no_grad()
    def act(self, obs: np.ndarray | None = None) -> np.ndarray:
        """Deterministic actions (N, act_dim) for the current observations."""
        o = self._pending if obs is None else torch.as_tensor(np.atleast_2d(obs), dtype=torch.float32)
        self._push(o)
        a = self.actor(self.rtg, self.states, self.actions, self.timesteps, self.mask)[:, -1]
        self.actions[:, -1] = a
        return a.numpy().astype(np.float32)

    def observe(self, rewards: np.ndarray) -> None:
        """After an environment step: RTG_{t+1} = RTG_t - r_t / scale, t += 1."""
        self.rtg_now = self.rtg_now - torch.as_tensor(np.asarray(rewards, dtype=np.float32)) / self.scale
        self.t = self.t + 1

    def set_rtg(self, rtg: np.ndarray, index: np.ndarray | None = None) -> None:
        """Re-anchor the remaining return (raw units) of episodes ``index`` (all if None).

        The whole window is shifted by the same amount, as if the new request had stood from the
        start of the context (the shape the alignment stage trains on).
        """
        idx = slice(None) if index is None else torch.as_tensor(np.atleast_1d(index))
        new = torch.as_tensor(np.asarray(rtg, dtype=np.float32)) / self.scale
        shift = new - self.rtg_now[idx]
        self.rtg[idx] = self.rtg[idx] + shift.reshape(-1, 1) * self.mask[idx]
        self.rtg_now[idx] = new

    def set_target(self, targets: np.ndarray, return_so_far: np.ndarray, index: np.ndarray | None = None) -> None:
        """Change the requested *total* return mid-episode: remaining = target - return so far."""
        targets = self.clamp_targets(targets)
        self.set_rtg(targets - np.asarray(return_so_far), index)
