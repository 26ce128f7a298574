"""The Decision Transformer actor: a causal GPT over interleaved (R_t, s_t, a_t) tokens.

Reads top to bottom: config -> attention -> block -> model. The action a_t is predicted from the
hidden state of token s_t (it sees R_<=t, s_<=t, a_<t), squashed by tanh: one action (the DT paper's head), or a
mixture of Gaussians whose most probable mode is the action taken (``DTConfig.action_head``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ALL = slice(None)
STATE_TOKENS = slice(1, None, 3)
"""s_1, s_2, ... in the interleaved sequence (R_1, s_1, a_1, R_2, ...): the tokens actions are read from."""


@dataclass(frozen=True)
class DTConfig:
    """Network shape; every field is stored in the checkpoint and the model is rebuilt from it."""

    embed_dim: int = 64
    """Token width (paper 256). Measured on 2 CPU cores: 64 trains 2.7x faster than 128, which buys
    3x more steps in the same budget; BC on low-dimensional states needs steps more than width."""
    n_layers: int = 3
    """Transformer blocks (paper: 4)."""
    n_heads: int = 1
    """Attention heads; embed_dim must divide by it."""
    context_len: int = 20
    """K: steps of history the actor sees (METHOD.md)."""
    dropout: float = 0.1
    """Dropout on embeddings, attention and MLP outputs."""
    max_timestep: int = 1000
    """Size of the timestep embedding table (episode limit)."""
    state_encoder: Literal["linear", "mlp"] = "linear"
    """State token: one linear layer, or linear + ReLU (d3rlpy's vector encoder)."""
    activation: Literal["gelu", "relu"] = "gelu"
    """Activation inside each block's MLP (GPT-2: GELU; d3rlpy's DT: ReLU)."""
    ln_eps: float = 1e-5
    """Epsilon of the blocks' and the final LayerNorm (PyTorch's default; d3rlpy's DT uses 0.003 there, which damps
    tokens of small variance); the embedding LayerNorm keeps PyTorch's default, as in d3rlpy."""
    init: Literal["torch", "gpt2"] = "torch"
    """Initial weights. ``torch``: PyTorch's defaults (the timestep embedding N(0, 1)). ``gpt2``: the timestep
    embedding and the transformer blocks N(0, 0.02) with zero biases (GPT-2, the original DT and d3rlpy), so at
    the start the timestep adds little to the RTG, state and action tokens; the input and output layers keep
    PyTorch's defaults, as in d3rlpy."""
    action_head: Literal["tanh", "mixture"] = "tanh"
    """``tanh``: one action per step, fitted by squared error (the DT paper's): where the data answers a state with
    several distinct actions (several behaviour policies' gaits) it learns their average, which may be no gait at
    all. ``mixture``: ``n_modes`` diagonal Gaussians (means squashed by tanh), fitted by likelihood; the actor acts
    with the mean of its most probable mode, one of the data's answers rather than their average (robomimic's GMM
    policy head, played deterministically)."""
    n_modes: int = 5
    """Components of the ``mixture`` head (robomimic's default); unused by ``tanh``."""


LOG_STD = (-4.0, 0.5)
"""Bounds of a mixture component's log std: std >= 0.018 keeps the likelihood finite on the many actions the data
holds at exactly +-1 (behaviour noise clipped to the action box), std <= 1.65 covers the whole box."""


class ActionOut(NamedTuple):
    """What the actor says at each step: the action it takes and, for a mixture head, the mixture it came from."""

    action: torch.Tensor
    """(B, T, A) in (-1, 1)."""
    mixture: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
    """means (B, T, M, A) in (-1, 1), log stds (B, T, M, A), mode logits (B, T, M); None for the ``tanh`` head."""

    def map(self, fn) -> ActionOut:
        """The same output with ``fn`` applied to every tensor (a dtype cast, a slice of rows)."""
        return ActionOut(fn(self.action), None if self.mixture is None else tuple(fn(t) for t in self.mixture))


class Dropout(nn.Dropout):
    """``nn.Dropout`` whose mask comes from numpy's PCG64 on CPU. ATen draws one mt19937 number per element through
    ``bernoulli_``, and dropout was a third of a DT forward; with PCG64 the whole dropout measured 3x faster. The
    PCG64 seed is drawn from torch's generator on each call, so ``torch.manual_seed`` or a restored RNG state repeats
    the masks (seeded runs and resumes stay reproducible). Each mask is exact Bernoulli(1 - p) (24-bit uniforms, as
    ``torch.rand``), scaled by 1 / (1 - p) as ATen's; only the random stream differs from ``nn.Dropout``'s. Other
    devices, and a model under ``torch.compile``, use ``nn.Dropout``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not 0.0 < self.p < 1.0 or x.device.type != "cpu" or torch.compiler.is_compiling():
            return super().forward(x)  # under torch.compile: its own fused RNG, no graph break
        seed = int(torch.randint(2**62, ()))
        u = np.random.Generator(np.random.PCG64(seed)).random(x.numel(), dtype=np.float32)
        keep = torch.from_numpy(u).view(x.shape).ge_(self.p).to(x.dtype).mul_(1.0 / (1.0 - self.p))
        return x * keep


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: DTConfig):
        super().__init__()
        assert cfg.embed_dim % cfg.n_heads == 0, "embed_dim must be divisible by n_heads"
        self.n_heads, self.dropout = cfg.n_heads, cfg.dropout
        self.qkv = nn.Linear(cfg.embed_dim, 3 * cfg.embed_dim)
        self.proj = nn.Linear(cfg.embed_dim, cfg.embed_dim)
        self.attn_drop = Dropout(cfg.dropout)
        self.resid_drop = Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, attn_bias: torch.Tensor, out: slice = ALL) -> torch.Tensor:
        """x (B, L, C), attn_bias (B, 1, L', L) additive (0 or -inf), queries x[:, out] -> (B, L', C)."""
        B, L, C = x.shape
        H, D = self.n_heads, C // self.n_heads
        if out == ALL:
            q, k, v = self.qkv(x).split(C, dim=-1)
        else:  # keys and values from every token, queries only from the tokens asked for
            w, b = self.qkv.weight, self.qkv.bias
            q = F.linear(x[:, out], w[:C], b[:C])
            k, v = F.linear(x, w[C:], b[C:]).split(C, dim=-1)
        q, k, v = (t.reshape(B, -1, H, D).transpose(1, 2) for t in (q, k, v))  # (B, H, L or L', D)
        if x.device.type == "cpu":
            # SDPA's fused CPU kernel takes no dropout, so training falls back to its generic path; written out
            # here (mask added once, no fully-masked-row checks) it measured 1.4x faster, and faster in eval too.
            att = (q @ k.transpose(-2, -1)).mul_(D**-0.5).add_(attn_bias).softmax(dim=-1)  # (B, H, L', L)
            y = self.attn_drop(att) @ v
        else:
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=attn_bias.to(q.dtype), dropout_p=self.dropout if self.training else 0.0
            )
        return self.resid_drop(self.proj(y.transpose(1, 2).reshape(B, -1, C)))


class Block(nn.Module):
    """Pre-LayerNorm transformer block."""

    def __init__(self, cfg: DTConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.embed_dim, eps=cfg.ln_eps), nn.LayerNorm(cfg.embed_dim, eps=cfg.ln_eps)
        self.attn = CausalSelfAttention(cfg)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.embed_dim, 4 * cfg.embed_dim),
            nn.GELU() if cfg.activation == "gelu" else nn.ReLU(),
            nn.Linear(4 * cfg.embed_dim, cfg.embed_dim),
            Dropout(cfg.dropout),
        )

    def forward(self, x: torch.Tensor, attn_bias: torch.Tensor, out: slice = ALL) -> torch.Tensor:
        """x (B, L, C) -> (B, L', C): the block's output at tokens x[:, out] only (attention and MLP are per token)."""
        x = x[:, out] + self.attn(self.ln1(x), attn_bias[:, :, out], out)
        return x + self.mlp(self.ln2(x))


class LastAction(nn.Module):
    """The action for each window's last step, (B, act_dim): what a rollout asks of the actor (traceable)."""

    def __init__(self, actor: DecisionTransformer):
        super().__init__()
        self.actor = actor

    def forward(self, rtg, states, actions, timesteps, mask) -> torch.Tensor:
        return self.actor(rtg, states, actions, timesteps, mask, last_only=True)[:, -1]


class Bf16LastAction(LastAction):
    """``LastAction`` in bfloat16: a bf16 copy of the actor, fed bf16 inputs (timesteps and mask as they are), its
    actions returned as float32. On CPUs with AMX / AVX512-BF16 its matmuls run at twice fp32's width."""

    def __init__(self, actor: DecisionTransformer):
        super().__init__(copy.deepcopy(actor).to(torch.bfloat16).eval())

    def forward(self, rtg, states, actions, timesteps, mask) -> torch.Tensor:
        bf = torch.bfloat16
        return super().forward(rtg.to(bf), states.to(bf), actions.to(bf), timesteps, mask).float()


def _gpt2_init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)


class DecisionTransformer(nn.Module):
    """pi(a_t | R_<=t, s_<=t, a_<t). Inputs are already normalised: states by dataset stats, RTG by scale."""

    def __init__(self, cfg: DTConfig, obs_dim: int, act_dim: int):
        super().__init__()
        self.cfg, self.obs_dim, self.act_dim = cfg, obs_dim, act_dim
        C = cfg.embed_dim
        self.embed_rtg, self.embed_state, self.embed_action = (
            nn.Linear(1, C),
            nn.Linear(obs_dim, C) if cfg.state_encoder == "linear" else nn.Sequential(nn.Linear(obs_dim, C), nn.ReLU()),
            nn.Linear(act_dim, C),
        )
        self.embed_time = nn.Embedding(cfg.max_timestep, C)
        self.embed_ln = nn.LayerNorm(C)
        self.drop = Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(C, eps=cfg.ln_eps)
        M = cfg.n_modes if cfg.action_head == "mixture" else 0
        # tanh: A action values; mixture: M x (A means, A log stds) and M logits
        self.action_head = nn.Linear(C, act_dim if M == 0 else M * (2 * act_dim + 1))
        if cfg.init == "gpt2":
            for module in (self.embed_time, *self.blocks):
                module.apply(_gpt2_init)
        causal = torch.tril(torch.ones(3 * cfg.context_len, 3 * cfg.context_len, dtype=torch.bool))
        self.register_buffer("causal", causal, persistent=False)

    def forward(
        self,
        rtg: torch.Tensor,  # (B, T) scaled returns-to-go
        states: torch.Tensor,  # (B, T, obs_dim)
        actions: torch.Tensor,  # (B, T, act_dim); a_t is never seen by the prediction of a_t
        timesteps: torch.Tensor,  # (B, T) long
        mask: torch.Tensor,  # (B, T) bool, False on left padding
        last_only: bool = False,
        full: bool = False,
    ) -> torch.Tensor | ActionOut:
        """Predicted actions (B, T, act_dim) in (-1, 1); ``last_only``: the last step's alone, (B, 1, act_dim), the
        last block computing that one token (what acting needs: about 10% less work per step at 3 layers).
        ``full``: an ``ActionOut`` with the mixture too (what training fits)."""
        B, T = rtg.shape
        t_emb = self.embed_time(timesteps.clamp(0, self.cfg.max_timestep - 1))  # (B, T, C)
        tokens = torch.stack(
            [
                self.embed_rtg(rtg.unsqueeze(-1)) + t_emb,
                self.embed_state(states) + t_emb,
                self.embed_action(actions) + t_emb,
            ],
            dim=2,
        ).reshape(B, 3 * T, -1)  # (B, 3T, C): R_1, s_1, a_1, R_2, ...
        x = self.drop(self.embed_ln(tokens))
        key_ok = mask.repeat_interleave(3, dim=1)  # (B, 3T)
        # Causal and not padding; every token may see itself so padded rows never become all -inf (NaN).
        eye = torch.eye(3 * T, dtype=torch.bool, device=rtg.device)
        allowed = (self.causal[: 3 * T, : 3 * T] & key_ok[:, None, :]) | eye  # (B, 3T, 3T)
        attn_bias = torch.zeros(allowed.shape, device=rtg.device).masked_fill_(~allowed, float("-inf")).unsqueeze(1)
        # Only the state tokens' final hidden states are read, so the last block computes those alone (a third
        # of its attention rows and MLP): the same outputs, ~15% less work per step at 3 layers.
        last = slice(3 * T - 2, 3 * T - 1) if last_only else STATE_TOKENS
        for i, block in enumerate(self.blocks):
            x = block(x, attn_bias, last if i == len(self.blocks) - 1 else ALL)
        out = self.action_head(self.ln_f(x))  # from each s_t token, (B, T, act_dim or M * (2A + 1))
        if self.cfg.action_head == "tanh":
            action = torch.tanh(out)
            return ActionOut(action) if full else action
        means, log_std, logits = mixture = self.mixture_of(out)
        # the most probable mode's mean: (B, T, M, A) -> (B, T, A)
        pick = logits.argmax(dim=-1)[..., None, None].expand(*means.shape[:-2], 1, self.act_dim)
        action = means.gather(-2, pick).squeeze(-2)
        return ActionOut(action, mixture) if full else action

    def mixture_of(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The mixture head's raw output (..., M * (2A + 1)) read as its means (..., M, A) in (-1, 1), log stds
        (..., M, A) within ``LOG_STD`` and mode logits (..., M): the one place that knows the layout."""
        M, A = self.cfg.n_modes, self.act_dim
        params = out[..., M:].unflatten(-1, (M, 2 * A))  # (..., M, 2A)
        return torch.tanh(params[..., :A]), params[..., A:].clamp(*LOG_STD), out[..., :M]
