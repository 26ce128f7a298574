"""Vectorised samplers over a loaded dataset: K-step windows for the actor, transitions for the critic.

All trajectories are concatenated into flat tensors once; a batch is built by index arithmetic,
with no Python loop per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.data.dataset import OfflineData


@dataclass
class Window:
    """A batch of K-step windows, left-padded; padded positions hold zeros and mask False."""

    states: torch.Tensor  # (B, K, obs_dim) normalised
    actions: torch.Tensor  # (B, K, act_dim)
    rewards: torch.Tensor  # (B, K) raw rewards
    rtg: torch.Tensor  # (B, K) scaled returns-to-go
    timesteps: torch.Tensor  # (B, K) long
    mask: torch.Tensor  # (B, K) bool
    learn: torch.Tensor | None = None
    """(B, K) bool: the steps whose actions are training targets (``Trajectory.learn_from``); None = ``mask``."""

    @property
    def targets(self) -> torch.Tensor:
        return self.mask if self.learn is None else self.learn


@dataclass
class Transitions:
    """A batch of (s, a, r, s', a') for SARSA-style critic training."""

    states: torch.Tensor  # (B, obs_dim)
    actions: torch.Tensor  # (B, act_dim)
    rewards: torch.Tensor  # (B,)
    next_states: torch.Tensor  # (B, obs_dim)
    next_actions: torch.Tensor  # (B, act_dim)
    not_done: torch.Tensor  # (B,) 0 where s' is terminal
    discount: torch.Tensor | float  # (B,) gamma^n of each target's bootstrap (n-step), or a plain gamma


class FlatData:
    """The dataset as flat tensors plus the index bookkeeping both samplers need."""

    def __init__(self, data: OfflineData, rtg_scale: float, device: str | torch.device = "cpu"):
        trajs = data.trajectories
        as_t = lambda xs: torch.as_tensor(np.concatenate(xs), device=device)  # noqa: E731
        mean, std = (torch.as_tensor(x, dtype=torch.float32, device=device) for x in (data.obs_mean, data.obs_std))
        self.states = (as_t([t.observations for t in trajs]) - mean) / std  # (N, obs_dim)
        self.next_states = (as_t([t.next_observations for t in trajs]) - mean) / std
        self.actions = as_t([t.actions for t in trajs])  # (N, act_dim)
        self.rewards = as_t([t.rewards for t in trajs])  # (N,)
        self.rtg = as_t([t.returns_to_go for t in trajs]) / rtg_scale  # (N,)
        self.timesteps = as_t([np.arange(len(t)) for t in trajs]).long()  # (N,)
        self.learn = as_t([np.arange(len(t)) >= t.learn_from for t in trajs])  # (N,) bool
        self.all_learn = bool(self.learn.all())
        lengths = np.array([len(t) for t in trajs])
        self.lengths = torch.as_tensor(lengths, device=device)
        self.starts = torch.as_tensor(np.concatenate([[0], np.cumsum(lengths)[:-1]]), device=device)
        self.episode_of = torch.repeat_interleave(torch.arange(len(lengths), device=device), self.lengths)  # (N,)
        last = np.zeros(len(self.rewards), dtype=bool)
        last[np.cumsum(lengths) - 1] = True
        terminal = np.zeros_like(last)
        terminal[(np.cumsum(lengths) - 1)[[t.terminated for t in trajs]]] = True
        # A transition can be used for SARSA if its next action exists (not the last step) or if it is
        # terminal (no bootstrap needed). The last step of a time-limited episode has neither.
        self.sarsa_index = torch.as_tensor(np.flatnonzero(~last | terminal), device=device)
        self.terminal = torch.as_tensor(terminal, device=device)
        self.device = device


class WindowSampler:
    """K-step windows. ``start``: trajectories drawn with probability proportional to length, starts uniform (a
    window near an episode's end is cut short). ``end``: a uniform transition, the window ending at it (cut short
    near an episode's start)."""

    def __init__(self, flat: FlatData, context_len: int, generator: torch.Generator, anchor: str = "start"):
        if anchor not in ("start", "end"):
            raise ValueError(f"unknown window anchor {anchor!r}; valid: start, end")
        self.flat, self.K, self.gen, self.anchor = flat, context_len, generator, anchor
        self.traj_probs = flat.lengths.double() / flat.lengths.sum()

    def sample(self, batch_size: int) -> Window:
        f, K = self.flat, self.K
        if self.anchor == "start":
            traj = torch.multinomial(self.traj_probs, batch_size, replacement=True, generator=self.gen)  # (B,)
            length = f.lengths[traj]
            start = (torch.rand(batch_size, generator=self.gen, device=f.device) * length).long()  # (B,)
            n_valid = torch.minimum(length - start, torch.tensor(K, device=f.device))  # (B,)
        else:
            end = torch.randint(len(f.rewards), (batch_size,), generator=self.gen, device=f.device)  # flat index
            traj = f.episode_of[end]
            n_valid = torch.minimum(end - f.starts[traj] + 1, torch.tensor(K, device=f.device))  # (B,)
            start = end - f.starts[traj] - n_valid + 1  # step index of the window's first valid step
        pos = torch.arange(K, device=f.device)[None, :]  # (1, K)
        mask = pos >= (K - n_valid)[:, None]  # (B, K) left padding
        offset = (start - (K - n_valid))[:, None] + pos  # step index in the episode
        idx = torch.where(mask, f.starts[traj][:, None] + offset, torch.zeros_like(offset))  # (B, K) flat index
        m = mask.float()
        return Window(
            states=f.states[idx] * m[..., None],
            actions=f.actions[idx] * m[..., None],
            rewards=f.rewards[idx] * m,
            rtg=f.rtg[idx] * m,
            timesteps=f.timesteps[idx] * mask,
            mask=mask,
            learn=None if f.all_learn else f.learn[idx] & mask,
        )


class TransitionSampler:
    """Uniform transitions that have a SARSA target (see ``FlatData.sarsa_index``). ``nstep`` > 1: the reward is the
    discounted sum over the next n steps of the episode and (s', a') the data's n steps on, fewer where the episode
    ends first (a terminal end: no bootstrap; a time limit: bootstrap from its last step that has an action)."""

    def __init__(self, flat: FlatData, generator: torch.Generator, nstep: int = 1, gamma: float = 0.99):
        if nstep < 1:
            raise ValueError(f"critic n-step must be >= 1, got {nstep}")
        self.flat, self.gen, self.nstep, self.gamma = flat, generator, nstep, gamma

    def sample(self, batch_size: int) -> Transitions:
        f = self.flat
        pick = torch.randint(len(f.sarsa_index), (batch_size,), generator=self.gen, device=f.device)
        i = f.sarsa_index[pick]
        if self.nstep > 1:
            return self._nstep(i)
        nxt = torch.where(f.terminal[i], i, i + 1)  # terminal rows: next action unused (not_done = 0)
        return Transitions(
            f.states[i],
            f.actions[i],
            f.rewards[i],
            f.next_states[i],
            f.actions[nxt],
            (~f.terminal[i]).float(),
            self.gamma,
        )

    def _nstep(self, i: torch.Tensor) -> Transitions:
        f, n = self.flat, self.nstep
        ep = f.episode_of[i]
        end = f.starts[ep] + f.lengths[ep] - 1  # (B,) the last flat index of each row's episode
        term = f.terminal[end]
        # steps summed: n, or up to a terminal end, or (time limit) up to the last step that has a next action
        m = torch.where(term, torch.clamp(end - i + 1, max=n), torch.clamp(end - i, max=n))  # (B,) >= 1
        k = torch.arange(n, device=f.device)  # (n,)
        idx = torch.minimum(i[:, None] + k, end[:, None])  # (B, n)
        weights = (self.gamma ** k.float())[None, :] * (k[None, :] < m[:, None]).float()
        boot = ~(term & (i + m > end))  # a terminal end within reach: nothing to bootstrap
        j = torch.where(boot, i + m, i)  # (B,) the bootstrap step (its state and the data's action there)
        return Transitions(
            f.states[i],
            f.actions[i],
            (f.rewards[idx] * weights).sum(1),
            f.states[j],
            f.actions[j],
            boot.float(),
            self.gamma ** m.float(),
        )


class PairSampler:
    """Uniform batches of branch pairs (``core.branches.load_pairs``), observations normalised as the critic sees
    them (the dataset's ``obs_mean`` / ``obs_std``)."""

    def __init__(
        self,
        pairs: dict[str, torch.Tensor],
        obs_mean: np.ndarray,
        obs_std: np.ndarray,
        generator: torch.Generator,
        device,
    ):
        mean, std = (torch.as_tensor(x, dtype=torch.float32) for x in (obs_mean, obs_std))
        self.states = ((pairs["obs"] - mean) / std).to(device)  # (N, obs_dim)
        self.a1, self.a2 = pairs["a1"].to(device), pairs["a2"].to(device)  # (N, act_dim)
        self.gap = (pairs["g1"] - pairs["g2"]).to(device)  # (N,) what a1 earned over a2
        self.gen = generator

    def __len__(self) -> int:
        return len(self.gap)

    def sample(self, batch_size: int) -> tuple[torch.Tensor, ...]:
        i = torch.randint(len(self.gap), (batch_size,), generator=self.gen, device=self.gap.device)
        return self.states[i], self.a1[i], self.a2[i], self.gap[i]
