"""Loss functions of the three stages, as plain functions on tensors (tested on hand-made numbers)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` over positions where ``mask`` is True (``x`` may carry extra trailing dims)."""
    m = mask.float()
    while m.dim() < x.dim():
        m = m.unsqueeze(-1)
    m = m.expand_as(x)
    return (x * m).sum() / m.sum().clamp_min(1.0)


def bc_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Behaviour cloning: mean squared error over valid tokens. pred, target (B, K, A); mask (B, K)."""
    return masked_mean((pred - target) ** 2, mask)


def mixture_nll(
    means: torch.Tensor,  # (B, K, M, A)
    log_std: torch.Tensor,  # (B, K, M, A)
    logits: torch.Tensor,  # (B, K, M) unnormalised mode weights
    target: torch.Tensor,  # (B, K, A)
    mask: torch.Tensor,  # (B, K)
) -> torch.Tensor:
    """Behaviour cloning by likelihood: -log sum_m w_m N(target | mean_m, diag(std_m^2)), mean over valid tokens.
    Each data action pulls on the modes in proportion to how well they explain it, so distinct answers to one
    state stay in distinct modes instead of being averaged."""
    z = (target.unsqueeze(-2) - means) / log_std.exp()  # (B, K, M, A)
    log_n = -0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)
    log_p = torch.logsumexp(logits.log_softmax(dim=-1) + log_n.sum(dim=-1), dim=-1)  # (B, K)
    return masked_mean(-log_p, mask)


def perturb_rtg(
    rtg: torch.Tensor,  # (B, K) scaled
    mask: torch.Tensor,  # (B, K)
    sigma: float,
    min_abs: float,
    high: float,
    per_step: bool,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """RTG + delta, delta ~ N(0, sigma^2) with |delta| >= min_abs, clipped so the first RTG stays in [0, high].

    Returns the perturbed RTG (B, K) and sign(delta actually applied): (B, 1) per sequence, (B, K) per step;
    0 where clipping removed the change.
    """
    B, K = rtg.shape
    shape = (B, K) if per_step else (B, 1)
    delta = torch.randn(shape, generator=generator, device=rtg.device) * sigma
    delta = torch.sign(delta) * delta.abs().clamp_min(min_abs)
    if per_step:
        delta = (rtg + delta).clamp(0.0, high) - rtg
    else:
        first = mask.float().argmax(dim=1, keepdim=True)  # (B, 1) first valid position (left padding)
        r0 = rtg.gather(1, first)
        delta = (r0 + delta).clamp(0.0, high) - r0
    return rtg + delta * mask, torch.sign(delta)


def alignment_loss(
    q_pert: torch.Tensor,  # (2, B, K) Q_i(s, pi(R + delta, s))
    q_orig: torch.Tensor,  # (2, B, K) Q_i(s, pi(R, s)); gradient stopped here
    sign: torch.Tensor,  # (B, 1) or (B, K) sign of delta
    mask: torch.Tensor,  # (B, K)
    form: str = "relu",
) -> torch.Tensor:
    """Penalise value moving against the requested change (METHOD.md step 3).

    per head i: pen_i = f(-sign * (Q_i(s, a') - sg(Q_i(s, a)))), f = relu or softplus; min over heads;
    mean over valid tokens. Asking for more must not lower the value; asking for less must not raise it.
    """
    wrong_way = -sign.unsqueeze(0) * (q_pert - q_orig.detach())  # (2, B, K)
    pen = F.relu(wrong_way) if form == "relu" else F.softplus(wrong_way)
    pen = pen.min(dim=0).values * (sign != 0)  # (B, K); a clipped-away delta asks for nothing
    return masked_mean(pen, mask)


def sarsa_targets(
    rewards: torch.Tensor, not_done: torch.Tensor, next_q: torch.Tensor, gamma: torch.Tensor | float
) -> torch.Tensor:
    """r + gamma * (1 - terminal) * min_i Q_i_target(s', a'_dataset). next_q (2, B) -> (B,); ``gamma`` per row
    (gamma^n, n-step targets) or one number."""
    return rewards + gamma * not_done * next_q.min(dim=0).values


def window_targets(rewards: torch.Tensor, q_boot: torch.Tensor, gamma: float) -> torch.Tensor:
    """n-step targets inside a K-step window, bootstrapped from its last step.

    G_i = sum_{j=i}^{K-2} gamma^(j-i) r_j + gamma^(K-1-i) q_boot, for i = 0..K-1 (G_{K-1} = q_boot).
    rewards (B, K) with zeros on padding; q_boot (B,) -> (B, K).
    """
    K = rewards.shape[1]
    i = torch.arange(K, device=rewards.device)
    powers = (i[None, :] - i[:, None]).clamp_min(0).float()  # (K, K): j - i
    discount = torch.where((i[None, :] >= i[:, None]) & (i[None, :] < K - 1), gamma**powers, torch.zeros(()))
    boot = gamma ** (K - 1 - i).float()  # (K,)
    return rewards @ discount.T + boot[None, :] * q_boot[:, None]


def critic_loss(
    q: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, expectile: float = 0.5
) -> torch.Tensor:
    """Sum over the two heads of the (masked) mean squared TD error. q (2, ...), target (...).

    ``expectile`` tau != 0.5 weighs errors asymmetrically, |tau - 1(target < q)| (IQL's expectile loss): with
    tau > 0.5, Q fits an upper expectile of the bootstrapped targets, i.e. the better-than-average continuations
    the data shows from (s, a), in-sample (no action outside the data is queried). tau = 0.5 is plain MSE."""
    diff = target.detach().unsqueeze(0) - q
    err = diff**2 if expectile == 0.5 else 2.0 * torch.abs(expectile - (diff < 0).float()) * diff**2
    if mask is None:
        return err.mean(dim=tuple(range(1, err.dim()))).sum()
    return sum(masked_mean(e, mask) for e in err)


def pair_loss(q1: torch.Tensor, q2: torch.Tensor, gap: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """Sum over the two heads of how far Q_i(s, a1) - Q_i(s, a2) is from ``gap``, what a1 went on to earn over a2
    (``core.branches``): ``mse`` its mean squared error; ``logistic`` the mean log-loss of the difference (one
    return unit per logit) against which branch earned more (1/2 for a tie), so every pair's order weighs alike
    whatever the size of its gap. Only the difference is fitted: the pair says nothing of the level.
    q1, q2 (2, B); gap (B,)."""
    dq = q1 - q2
    if kind == "logistic":
        won = ((torch.sign(gap) + 1.0) / 2.0).unsqueeze(0).expand_as(dq)
        return F.binary_cross_entropy_with_logits(dq, won, reduction="none").mean(dim=1).sum()
    if kind != "mse":
        raise ValueError(f"unknown pair loss {kind!r}: mse or logistic")
    return ((dq - gap.unsqueeze(0)) ** 2).mean(dim=1).sum()


@torch.no_grad()
def polyak(target: torch.nn.Module, source: torch.nn.Module, rate: float) -> None:
    """target <- (1 - rate) * target + rate * source (also the EMA actor, with rate = 1 - decay), one call over
    all parameters."""
    torch._foreach_lerp_(list(target.parameters()), list(source.parameters()), rate)
