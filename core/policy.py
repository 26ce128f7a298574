"""A return-conditioned policy over a loaded checkpoint, batched over episodes.

    policy = ReturnConditionedPolicy.load(path)
    policy.reset(obs, target_returns)           # obs (N, obs_dim), targets (N,) raw returns
    while ...:
        actions = policy.act(obs)               # one batched forward for all N episodes
        obs, rewards, ... = env.step(actions)
        policy.observe(rewards)                 # RTG_{t+1} = RTG_t - r_t / scale
    policy.set_target(new_returns, return_so_far)  # re-anchor mid-episode

Episodes can join and leave a running batch (``add``, ``remove``) and a step can act on some rows only
(``index=``): the live engine batches every viewer's episode of one checkpoint into one forward.
The last K steps of (RTG, state, action, timestep) are kept per episode, left-padded at the start.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from core.models.dt import Bf16LastAction, DecisionTransformer, LastAction
from core.store.checkpoint import load_model


def checked_trace(
    module, example: tuple, checks: list[tuple], atol: float, rtol: float = 0.0, warmup: int = 0, what: str = ""
):
    """A frozen TorchScript trace of ``module`` (traced on ``example``) if its outputs match the module's on every
    input tuple in ``checks`` (batch sizes other than the traced one: the trace keeps the batch dimension free), else
    None with the warning ``what`` (and why): a trace is a speed-up only, the eager module is always right. ``warmup``
    calls pay for TorchScript's optimisation over its first calls here rather than on a viewer's first step."""
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shapes read as Python numbers
            traced = torch.jit.freeze(torch.jit.trace(module, example, check_trace=False))
            for inputs in checks:
                if not torch.allclose(traced(*inputs), module(*inputs), atol=atol, rtol=rtol):
                    raise ValueError(f"the trace differs from the eager module at batch {len(inputs[0])}")
            for _ in range(warmup):
                traced(*example)
    except Exception as err:  # noqa: BLE001  (a speed-up only)
        warnings.warn(f"{what} ({err})", stacklevel=3)
        return None
    return traced


class ReturnConditionedPolicy:
    def __init__(self, actor: DecisionTransformer, meta: dict):
        self.actor, self.meta = actor.eval(), meta
        self.K = actor.cfg.context_len
        self.scale = float(meta["rtg_scale"])
        self.obs_mean = torch.tensor(meta["obs_mean"], dtype=torch.float32)
        self.obs_std = torch.tensor(meta["obs_std"], dtype=torch.float32)
        self.max_t = actor.cfg.max_timestep - 1
        self.n = 0
        self._eager = LastAction(self.actor).eval()
        self._forward = self._eager  # (B, K, ...) windows -> (B, act_dim) last actions
        self.path = ""
        """The checkpoint it was loaded from (empty when built from weights in memory)."""

    @classmethod
    def load(cls, path: str | Path) -> ReturnConditionedPolicy:
        actor, meta = load_model(Path(path))
        policy = cls(actor, meta)
        policy.path = str(path)
        return policy

    def twin(self) -> ReturnConditionedPolicy:
        """Another policy over the same weights (and the same compiled forward, if any), with no episodes of its
        own: sweep lanes step their episodes side by side in threads, each with its own windows."""
        other = ReturnConditionedPolicy(self.actor, self.meta)
        other._eager, other._forward, other.path = self._eager, self._forward, self.path
        return other

    def bf16(self, tolerance: float = 0.02) -> ReturnConditionedPolicy:
        """Run the actor in bfloat16 from now on (``Bf16LastAction``), if its actions stay within ``tolerance`` of the
        fp32 actor's on random padded windows; returns self. Call before ``compile`` (which then traces it).

        Actions change in the third decimal, so episodes are not bit-identical to fp32 ones: for the live view and
        quick sweeps, not for numbers compared with fp32 runs. Speed: ``benchmarks/rollout_speed.py --bf16``."""
        if self.compiled:
            raise RuntimeError("bf16() must come before compile()")
        half = Bf16LastAction(self.actor).eval()
        with torch.no_grad():
            gaps = [(half(*w) - self.actor(*w)[:, -1]).abs().max().item() for w in map(self._example, (1, 4), (1, 4))]
        if max(gaps) > tolerance:
            warnings.warn(f"policy.bf16: keeping fp32 (actions moved by {max(gaps):.3f} > {tolerance})", stacklevel=2)
            return self
        self._eager = self._forward = half
        return self

    @property
    def is_bf16(self) -> bool:
        """Whether ``bf16`` switched the actor to bfloat16."""
        return isinstance(self._eager, Bf16LastAction)

    def compile(self) -> ReturnConditionedPolicy:
        """Run the actor as a frozen TorchScript trace from now on, if it gives the eager actor's actions; returns self.

        Checked here at batch sizes other than the traced one (the trace keeps the batch dimension free), with
        padding and random inputs; on any difference or tracing error the eager actor stays, with a warning.
        Measured on our 2-core CPU (interleaved with the eager actor, shipped Hopper model): 1.6x faster per step
        at batch 1, 1.3x at 8, 1.2x at 16, because Python dispatch dominates such small forwards; the live engine
        runs exactly those.
        """
        checks = [self._example(n, seed=n) for n in (1, 3)]
        traced = checked_trace(
            self._eager, self._example(2), checks, atol=1e-5, warmup=3, what="policy.compile: keeping the eager actor"
        )
        if traced is not None:
            self._forward = traced
        return self

    @property
    def compiled(self) -> bool:
        """Whether ``compile`` replaced the eager actor by its trace."""
        return self._forward is not self._eager

    def _example(self, n: int, seed: int | None = None) -> tuple[torch.Tensor, ...]:
        """A window for n episodes: zeros, or random values with some left padding if ``seed`` is given."""
        K, obs_dim, act_dim = self.K, len(self.obs_mean), self.actor.act_dim
        if seed is None:
            return (
                torch.zeros(n, K),
                torch.zeros(n, K, obs_dim),
                torch.zeros(n, K, act_dim),
                torch.zeros(n, K, dtype=torch.long),
                torch.ones(n, K, dtype=torch.bool),
            )
        g = torch.Generator().manual_seed(seed)
        mask = torch.arange(K).expand(n, K) >= torch.randint(0, K, (n, 1), generator=g)  # (n, K), padded left
        return (
            torch.randn(n, K, generator=g),
            torch.randn(n, K, obs_dim, generator=g),
            torch.rand(n, K, act_dim, generator=g) * 2 - 1,
            torch.randint(0, self.max_t + 1, (n, K), generator=g),
            mask,
        )

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

    _BUFFERS = ("states", "actions", "rtg", "timesteps", "mask", "rtg_now", "t", "_pending")
    """Every per-episode tensor: row i of each belongs to episode i."""

    def reset(self, obs: np.ndarray, targets: np.ndarray) -> None:
        """Start N episodes from observations ``obs`` (N, obs_dim), asking for returns ``targets`` (N,)."""
        self._set(self._fresh(obs, targets))

    def add(self, obs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Start more episodes beside the running ones; returns their row indices (M,)."""
        new = self._fresh(obs, targets)
        first = self.n
        self._set(new if first == 0 else {k: torch.cat([getattr(self, k), v]) for k, v in new.items()})
        return np.arange(first, self.n)

    def remove(self, index: np.ndarray) -> None:
        """Drop the rows ``index``; the rows after them move up (the caller renumbers its episodes)."""
        keep = torch.ones(self.n, dtype=torch.bool)
        keep[torch.as_tensor(np.atleast_1d(index), dtype=torch.long)] = False
        self._set({k: getattr(self, k)[keep] for k in self._BUFFERS})

    def _fresh(self, obs: np.ndarray, targets: np.ndarray) -> dict[str, torch.Tensor]:
        """Empty windows for len(obs) new episodes."""
        obs = np.atleast_2d(obs)
        targets = self.clamp_targets(targets)
        if len(targets) == 1 and len(obs) > 1:
            targets = np.repeat(targets, len(obs))
        if len(targets) != len(obs):
            raise ValueError(f"{len(targets)} targets for {len(obs)} episodes")
        n, K = len(obs), self.K
        return {
            "states": torch.zeros(n, K, len(self.obs_mean)),
            "actions": torch.zeros(n, K, self.actor.act_dim),
            "rtg": torch.zeros(n, K),
            "timesteps": torch.zeros(n, K, dtype=torch.long),
            "mask": torch.zeros(n, K, dtype=torch.bool),
            "rtg_now": torch.as_tensor(targets, dtype=torch.float32) / self.scale,  # (N,)
            "t": torch.zeros(n, dtype=torch.long),
            "_pending": torch.as_tensor(obs, dtype=torch.float32),
        }

    def resume(self, windows: list[torch.Tensor], first: np.ndarray) -> None:
        """Take over N episodes mid-way. ``windows`` = rtg (N, K), states (N, K, obs_dim) normalised, actions
        (N, K, act_dim), timesteps (N, K), mask (N, K): the last K steps up to the current one, as a rollout (or
        ``core.critic_quality.data_window``) holds them; ``first`` (N, act_dim): the current step's action, already
        chosen. Then ``observe`` and ``act`` go on from the next step as if this policy had played the window."""
        rtg, states, actions, timesteps, mask = (w.clone() for w in windows)
        actions[:, -1] = torch.as_tensor(np.asarray(first, dtype=np.float32))
        self._set({"states": states, "actions": actions, "rtg": rtg, "timesteps": timesteps, "mask": mask,
                   "rtg_now": rtg[:, -1].clone(), "t": timesteps[:, -1].clone(),
                   "_pending": torch.zeros(len(rtg), states.shape[-1])})  # fmt: skip

    def _set(self, buffers: dict[str, torch.Tensor]) -> None:
        for k, v in buffers.items():
            setattr(self, k, v)
        self.n = len(self.t)

    def normalise(self, obs: torch.Tensor) -> torch.Tensor:
        """States as the actor (and the critic trained beside it) sees them: by the dataset's mean and std."""
        return (obs - self.obs_mean) / self.obs_std

    def _push(self, obs: torch.Tensor, rows) -> None:
        """Shift the windows of ``rows`` left and write step t's RTG, state and timestep in the last slot."""
        for buf in (self.states, self.actions, self.rtg, self.timesteps, self.mask):
            buf[rows, :-1] = buf[rows, 1:].clone()
        self.states[rows, -1] = self.normalise(obs)
        self.actions[rows, -1] = 0.0
        self.rtg[rows, -1] = self.rtg_now[rows]
        self.timesteps[rows, -1] = self.t[rows].clamp(max=self.max_t)
        self.mask[rows, -1] = True

    @staticmethod
    def _rows(index: np.ndarray | None):
        return slice(None) if index is None else torch.as_tensor(np.atleast_1d(index), dtype=torch.long)

    @torch.no_grad()
    def act(self, obs: np.ndarray | None = None, index: np.ndarray | None = None) -> np.ndarray:
        """Deterministic actions (M, act_dim) for the current observations (M, obs_dim) of episodes ``index``
        (all N if None); the other rows are left as they are."""
        rows = self._rows(index)
        o = self._pending[rows] if obs is None else torch.as_tensor(np.atleast_2d(obs), dtype=torch.float32)
        self._push(o, rows)
        window = [self.rtg, self.states, self.actions, self.timesteps, self.mask]
        if index is not None:
            window = [buf[rows] for buf in window]  # (M, K, ...) gathered copies
        a = self._forward(*window)
        self.actions[rows, -1] = a
        return a.numpy().astype(np.float32)

    def observe(self, rewards: np.ndarray, index: np.ndarray | None = None) -> None:
        """After an environment step: RTG_{t+1} = RTG_t - r_t / scale, t += 1 (for rows ``index``, or all)."""
        rows = self._rows(index)
        self.rtg_now[rows] -= torch.as_tensor(np.asarray(rewards, dtype=np.float32)) / self.scale
        self.t[rows] += 1

    def set_rtg(self, rtg: np.ndarray, index: np.ndarray | None = None) -> None:
        """Re-anchor the remaining return (raw units) of episodes ``index`` (all if None).

        The whole window is shifted by the same amount, as if the new request had stood from the
        start of the context (the shape the alignment stage trains on).
        """
        idx = self._rows(index)
        new = torch.as_tensor(np.asarray(rtg, dtype=np.float32)) / self.scale
        shift = new - self.rtg_now[idx]
        self.rtg[idx] = self.rtg[idx] + shift.reshape(-1, 1) * self.mask[idx]
        self.rtg_now[idx] = new

    def set_target(self, targets: np.ndarray, return_so_far: np.ndarray, index: np.ndarray | None = None) -> None:
        """Change the requested *total* return mid-episode: remaining = target - return so far."""
        targets = self.clamp_targets(targets)
        self.set_rtg(targets - np.asarray(return_so_far), index)
