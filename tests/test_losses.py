import math

import pytest
import torch

from core.training.losses import (
    alignment_loss,
    mixture_nll,
    perturb_rtg,
    polyak,
    sarsa_targets,
    window_targets,
)


def hand_critic(states, actions):
    """Q grows with the action for head 0; head 1 agrees but is twice as steep. -> (2, B, K)."""
    a = actions.sum(-1)
    return torch.stack([a, 2 * a])


def test_alignment_penalises_lower_value_for_higher_rtg_only():
    s = torch.zeros(1, 1, 3)
    a_orig = torch.full((1, 1, 1), 0.5)
    lower, higher = torch.full((1, 1, 1), 0.2), torch.full((1, 1, 1), 0.9)
    mask = torch.ones(1, 1, dtype=torch.bool)
    q_o = hand_critic(s, a_orig)
    up, down = torch.ones(1, 1), -torch.ones(1, 1)
    # asked for more, got a lower-valued action: penalised by min over heads of the value drop (0.3 vs 0.6)
    assert alignment_loss(hand_critic(s, lower), q_o, up, mask).item() == pytest.approx(0.3)
    # asked for more, got more: no penalty
    assert alignment_loss(hand_critic(s, higher), q_o, up, mask).item() == 0.0
    # asked for less, got more: penalised; asked for less, got less: not
    assert alignment_loss(hand_critic(s, higher), q_o, down, mask).item() == pytest.approx(0.4)
    assert alignment_loss(hand_critic(s, lower), q_o, down, mask).item() == 0.0
    # nothing asked (delta clipped away): nothing penalised
    assert alignment_loss(hand_critic(s, lower), q_o, torch.zeros(1, 1), mask).item() == 0.0
    # softplus variant is positive but smaller when the value moves the right way
    right = alignment_loss(hand_critic(s, higher), q_o, up, mask, "softplus")
    wrong = alignment_loss(hand_critic(s, lower), q_o, up, mask, "softplus")
    assert 0 < right < wrong


def test_alignment_gradient_flows_only_through_perturbed_action():
    a_pert = torch.full((1, 1, 1), 0.2, requires_grad=True)
    a_orig = torch.full((1, 1, 1), 0.5, requires_grad=True)
    s = torch.zeros(1, 1, 3)
    loss = alignment_loss(
        hand_critic(s, a_pert), hand_critic(s, a_orig), torch.ones(1, 1), torch.ones(1, 1, dtype=torch.bool)
    )
    loss.backward()
    assert a_pert.grad.item() < 0 and a_orig.grad is None  # raising a_pert lowers the loss


def test_alignment_ignores_padding():
    q_o = torch.zeros(2, 1, 2)
    q_p = torch.tensor([[[-5.0, -1.0]], [[-5.0, -1.0]]])
    mask = torch.tensor([[False, True]])
    assert alignment_loss(q_p, q_o, torch.ones(1, 1), mask).item() == pytest.approx(1.0)


def test_perturbation_respects_min_abs_and_clip():
    g = torch.Generator().manual_seed(0)
    rtg = torch.full((500, 4), 1.0)
    mask = torch.ones(500, 4, dtype=torch.bool)
    out, sign = perturb_rtg(rtg, mask, sigma=0.05, min_abs=0.2, high=1.5, per_step=False, generator=g)
    delta = out[:, 0] - 1.0
    up = sign[:, 0] > 0
    assert torch.all(delta[up] > 0.2 - 1e-6) and torch.all(out <= 1.5 + 1e-6)
    assert torch.all(delta[~up] <= -0.2 + 1e-6) and torch.all(out >= -1e-6)
    torch.testing.assert_close(out - out[:, :1], torch.zeros_like(out))  # same shift along the sequence
    _, s2 = perturb_rtg(torch.full((200, 4), 1.5), mask[:200], 3.0, 0.2, 1.5, False, g)
    assert torch.all(s2 <= 0)  # nothing can go up from the ceiling


def test_perturbation_keeps_padding_zero():
    rtg = torch.tensor([[0.0, 0.0, 1.0, 0.9]])
    mask = torch.tensor([[False, False, True, True]])
    out, _ = perturb_rtg(rtg, mask, 1.0, 0.2, 10.0, False, torch.Generator().manual_seed(1))
    assert out[0, :2].tolist() == [0.0, 0.0] and out[0, 2] - 1.0 == pytest.approx(out[0, 3].item() - 0.9)


def test_window_targets_hand_computed():
    r = torch.tensor([[1.0, 2.0, 3.0]])
    g = window_targets(r, torch.tensor([10.0]), gamma=0.5)
    # G0 = 1 + 0.5*2 + 0.25*10, G1 = 2 + 0.5*10, G2 = 10
    torch.testing.assert_close(g, torch.tensor([[4.5, 7.0, 10.0]]))


def test_sarsa_targets_use_min_head_and_stop_at_terminal():
    t = sarsa_targets(torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.0]), torch.tensor([[4.0, 4.0], [2.0, 8.0]]), 0.5)
    torch.testing.assert_close(t, torch.tensor([2.0, 1.0]))


def test_expectile_critic_loss_weighs_under_and_over_estimates():
    from core.training.losses import critic_loss

    q = torch.tensor([[1.0, 3.0], [1.0, 3.0]])  # (2 heads, 2 samples)
    target = torch.tensor([2.0, 2.0])  # the first is under-estimated, the second over-estimated, by 1
    assert critic_loss(q, target).item() == pytest.approx(2.0)  # MSE: 1 per head
    # tau 0.9: 2 * (0.9 * 1 + 0.1 * 1) / 2 per head
    assert critic_loss(q, target, expectile=0.9).item() == pytest.approx(2.0)
    q_low = torch.tensor([[1.0, 1.0], [1.0, 1.0]])  # both under-estimated
    assert critic_loss(q_low, target, expectile=0.9).item() == pytest.approx(2 * 2 * 0.9)
    assert critic_loss(-q_low + 4, target, expectile=0.9).item() == pytest.approx(2 * 2 * 0.1)


def test_polyak_moves_every_parameter_by_the_reference_formula():
    target, source = torch.nn.Linear(2, 3), torch.nn.Linear(2, 3)
    with torch.no_grad():
        for i, (t, s) in enumerate(zip(target.parameters(), source.parameters())):
            t.copy_(torch.arange(t.numel(), dtype=torch.float32).view_as(t) - i)
            s.copy_(torch.full_like(s, 10.0))
    before = [t.detach().clone() for t in target.parameters()]
    polyak(target, source, 0.25)
    for t, t0 in zip(target.parameters(), before):
        torch.testing.assert_close(t.detach(), 0.75 * t0 + 0.25 * 10.0, rtol=0, atol=1e-6)  # (1 - tau) t + tau s
    torch.testing.assert_close(target.weight[0, 0].detach(), torch.tensor(2.5))  # 0.75 * 0 + 0.25 * 10


def test_mixture_nll_hand_computed_and_masked():
    """Two modes, one action dimension: -log(0.75 N(0.5 | 0.5, 1) + 0.25 N(0.5 | -0.5, 0.5^2)) from the formula;
    a padded token with a wild target changes nothing."""
    means = torch.tensor([[[[0.5], [-0.5]], [[0.0], [0.0]]]])  # (B=1, K=2, M=2, A=1)
    log_std = torch.tensor([[[[0.0], [math.log(0.5)]], [[0.0], [0.0]]]])
    logits = torch.log(torch.tensor([[[0.75, 0.25], [0.5, 0.5]]]))
    target = torch.tensor([[[0.5], [50.0]]])
    mask = torch.tensor([[True, False]])

    def normal(x, mu, sd):
        return math.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))

    expected = -math.log(0.75 * normal(0.5, 0.5, 1.0) + 0.25 * normal(0.5, -0.5, 0.5))
    assert mixture_nll(means, log_std, logits, target, mask).item() == pytest.approx(expected, rel=1e-6)
