"""The updates: one optimisation step of each stage, on one page (METHOD.md, "Critic" and "The alignment loss").

- ``critic_update``: SARSA pre-training of the twin critic on dataset transitions.
- ``dt_update``: behaviour cloning; the whole baseline DT, and the first ``pretrain_steps`` of Q-ALIGN DT.
- ``QAlign.update``: the paper's step: the critic on n-step window targets, then the actor on BC + alignment.

The two models differ only in which of ``dt_update`` / ``QAlign.update`` runs for the last ``align_steps``
(``core.training.driver.actor_stage``). The loops, logging and saving live in ``core.training.driver``.
"""

from __future__ import annotations

import copy
import math

import torch

from core.data.windows import PairSampler, TransitionSampler, Window, WindowSampler
from core.models.critic import TwinCritic
from core.models.dt import ActionOut, DecisionTransformer
from core.training import losses as L
from core.training.config import TrainConfig
from core.training.distributed import Dist


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to ``lr``, then constant or cosine decay to 10% of it at the last actor step."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "constant":
        return cfg.lr
    frac = (step - cfg.warmup_steps) / max(1, cfg.total_actor_steps - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


class ActorState:
    """Actor, EMA actor and optimiser; the part both the baseline and Q-ALIGN DT share."""

    def __init__(self, cfg: TrainConfig, obs_dim: int, act_dim: int, dist: Dist | None = None):
        dist = dist or Dist()
        self.device = dist.device
        self.actor = DecisionTransformer(cfg.dt, obs_dim, act_dim).to(self.device)
        self.ema = copy.deepcopy(self.actor).requires_grad_(False).eval()
        self.model = dist.wrap(self.actor)  # what the training forward goes through (DDP under torchrun)
        # fused: one kernel over all parameters; on CPU the default is a per-parameter loop, 4.5x slower
        self.opt = torch.optim.AdamW(self.actor.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
        self.cfg = cfg
        self.grad_norm = torch.tensor(0.0)
        """The last step's actor gradient norm before clipping (logged: how often ``grad_clip`` binds)."""

    def forward(self, w: Window) -> ActionOut:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.bf16):
            out = self.model(w.rtg, w.states, w.actions, w.timesteps, w.mask, full=True)
        return out.map(torch.Tensor.float)

    def boot(self, rtg: torch.Tensor, w: Window) -> torch.Tensor:
        """The EMA actor's action at each window's last step for ``rtg`` (no gradient; bf16 autocast with ``bf16``)."""
        with torch.no_grad(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.bf16):
            return self.ema(rtg, w.states, w.actions, w.timesteps, w.mask)[:, -1].float()

    @staticmethod
    def bc_loss(out: ActionOut, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Behaviour cloning of the actor's head (``DTConfig.action_head``): squared error of its action, or the
        mixture's negative log-likelihood. target (B, K, A); mask (B, K)."""
        if out.mixture is None:
            return L.bc_loss(out.action, target, mask)
        return L.mixture_nll(*out.mixture, target, mask)

    def step(self, loss: torch.Tensor, step: int) -> float:
        lr = lr_at(step, self.cfg)
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.grad_norm = torch.nn.utils.clip_grad_norm_(self.actor.parameters(), self.cfg.grad_clip).detach()
        self.opt.step()
        L.polyak(self.ema, self.actor, 1.0 - self.cfg.ema_decay)
        return lr


class CriticState:
    """Twin critic, its Polyak target and optimiser."""

    def __init__(
        self, cfg: TrainConfig, obs_dim: int, act_dim: int, critic: TwinCritic | None = None, dist: Dist | None = None
    ):
        dist = dist or Dist()
        critic = critic if critic is not None else TwinCritic(cfg.critic, obs_dim, act_dim)
        self.critic = critic.to(dist.device)
        self.target = copy.deepcopy(self.critic).requires_grad_(False)
        self.model = dist.wrap(self.critic)  # TD-loss forward; the actor's loss uses the bare critic
        self.opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr, fused=True)  # as the actor's
        self.tau = cfg.tau
        self.bf16 = cfg.bf16

    def q(self, net: torch.nn.Module, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``net`` (``model``, ``critic`` or ``target``) on (states, actions), under bf16 autocast with ``bf16``;
        Q values in float32."""
        with torch.autocast(states.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            return net(states, actions).float()

    def pair_term(self, pairs: PairSampler | None, cfg: TrainConfig) -> tuple[torch.Tensor | float, dict]:
        """``critic_pair_weight`` x the paired-branch loss on a batch of pairs (0 without pairs), and its metric."""
        if pairs is None or cfg.critic_pair_weight == 0:
            return 0.0, {}
        s, a1, a2, gap = pairs.sample(cfg.critic_pair_batch)
        q = self.q(self.model, torch.cat([s, s]), torch.cat([a1, a2]))  # (2, 2B): one forward for both branches
        loss = L.pair_loss(q[:, : len(s)], q[:, len(s) :], gap, cfg.critic_pair_loss)
        return cfg.critic_pair_weight * loss, {"losses/critic_pair": loss.detach()}

    def step(self, loss: torch.Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        L.polyak(self.target, self.critic, self.tau)


def critic_update(
    cs: CriticState, sampler: TransitionSampler, cfg: TrainConfig, pairs: PairSampler | None = None
) -> dict:
    """SARSA: Q(s, a) -> r + gamma * (1 - terminal) * min_i Q_i_target(s', a'_dataset) (r summed over
    ``critic_nstep`` steps, gamma^n); an expectile above 0.5 (``critic_expectile``) fits the better-than-average side
    of those targets instead of their mean. With ``pairs``, plus the paired-branch loss (``CriticState.pair_term``)."""
    b = sampler.sample(cfg.critic_batch_size)
    with torch.no_grad():
        target = L.sarsa_targets(b.rewards, b.not_done, cs.q(cs.target, b.next_states, b.next_actions), b.discount)
    q = cs.q(cs.model, b.states, b.actions)  # (2, B)
    loss = L.critic_loss(q, target, expectile=cfg.critic_expectile)
    extra, logged = cs.pair_term(pairs, cfg)
    cs.step(loss + extra)
    return {"losses/critic": loss.detach(), "charts/q_mean": q.detach().mean(), "charts/target_mean": target.mean(),
            **logged}  # fmt: skip


def dt_update(st: ActorState, sampler: WindowSampler, step: int) -> dict:
    """Behaviour cloning on a batch of windows."""
    w = sampler.sample(st.cfg.batch_size)
    loss = st.bc_loss(st.forward(w), w.actions, w.targets)
    lr = st.step(loss, step)
    return {"losses/bc": loss.detach(), "charts/lr": lr, "charts/grad_norm": st.grad_norm}


class QAlign:
    """The Q-ALIGN update: critic on n-step window targets, then actor on BC + alignment (METHOD.md)."""

    def __init__(
        self,
        st: ActorState,
        cs: CriticState,
        cfg: TrainConfig,
        task: str,
        max_return: float,
        rtg_scale: float,
        pairs: PairSampler | None = None,
    ):
        self.st, self.cs, self.cfg, self.pairs = st, cs, cfg, pairs
        self.sigma = cfg.sigma_for(task)
        self.high = cfg.rtg_high_factor * max(max_return, 1.0) / rtg_scale
        self.q_scale = torch.tensor(0.0)  # running mean of |Q|, saved with the state
        self.align_scale = torch.tensor(0.0)  # running mean of the alignment loss, saved with the state

    def critic_step(self, w: Window) -> dict:
        cfg, K = self.cfg, w.mask.shape[1]
        with torch.no_grad():
            optimistic = (w.rtg + cfg.optimistic_offset).clamp(0.0, self.high) * w.mask
            a_boot = self.st.boot(optimistic, w)  # (B, A)
            q_boot = self.cs.q(self.cs.target, w.states[:, -1], a_boot).min(dim=0).values  # (B,)
            target = L.window_targets(w.rewards, q_boot, cfg.gamma)  # (B, K)
        q = self.cs.q(self.cs.model, w.states, w.actions)  # (2, B, K)
        valid = w.mask & (torch.arange(K, device=w.mask.device) < K - 1)[None, :]
        loss = L.critic_loss(q, target, valid)
        extra, logged = self.cs.pair_term(self.pairs, cfg)
        self.cs.step(loss + extra)
        return {"losses/critic": loss.detach(), "charts/q_target_mean": L.masked_mean(target, valid), **logged}

    def actor_step(self, w: Window, step: int, gen: torch.Generator) -> dict:
        cfg, B = self.cfg, w.mask.shape[0]
        rtg_p, sign = L.perturb_rtg(w.rtg, w.mask, self.sigma, cfg.min_abs_delta, self.high, cfg.noise == "step", gen)
        both = Window(
            *(torch.cat([x, x]) for x in (w.states, w.actions, w.rewards)),
            torch.cat([w.rtg, rtg_p]),
            torch.cat([w.timesteps, w.timesteps]),
            torch.cat([w.mask, w.mask]),
        )
        out = self.st.forward(both)  # (2B, K, A) actions: original RTG, then perturbed
        a_orig, a_pert = out.action[:B], out.action[B:]
        bc = self.st.bc_loss(out.map(lambda t: t[:B]), w.actions, w.targets)
        with torch.no_grad():  # the alignment loss stops the gradient through Q(s, a_orig): skip its backward
            q_orig = self.cs.q(self.cs.critic, w.states, a_orig)  # (2, B, K)
        self.cs.critic.requires_grad_(False)  # the critic learns only from its TD loss
        q_pert = self.cs.q(self.cs.critic, w.states, a_pert)  # (2, B, K)
        self.cs.critic.requires_grad_(True)
        asked = sign if cfg.align_direction == "request" else -sign
        align = L.alignment_loss(q_pert, q_orig, asked, w.mask, cfg.align_form)
        with torch.no_grad():
            q_abs = L.masked_mean(q_orig.abs().mean(0), w.mask)
            self.q_scale = q_abs if self.q_scale == 0 else 0.99 * self.q_scale + 0.01 * q_abs
            a = align.detach()
            self.align_scale = a if self.align_scale == 0 else 0.99 * self.align_scale + 0.01 * a
        norm = {"self": self.align_scale.clamp_min(1e-6), "q": self.q_scale.clamp_min(1e-3), "none": 1.0}[
            cfg.align_norm
        ]
        loss = cfg.eta_bc * bc + cfg.eta_align * align / norm
        lr = self.st.step(loss, step)
        return {
            "losses/bc": bc.detach(),
            "losses/align": align.detach(),
            "losses/actor": loss.detach(),
            "charts/q_mean": L.masked_mean(q_orig.mean(0), w.mask).detach(),
            "charts/q_scale": self.q_scale,
            "charts/align_scale": self.align_scale,
            "charts/lr": lr,
            "charts/grad_norm": self.st.grad_norm,
            "charts/delta_up_frac": (sign > 0).float().mean(),
        }

    def update(self, sampler: WindowSampler, step: int) -> dict:
        w = sampler.sample(self.cfg.batch_size)
        return {**self.critic_step(w), **self.actor_step(w, step, sampler.gen)}
