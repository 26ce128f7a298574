from dataclasses import replace

import numpy as np
import pytest
import torch

from core.data.dataset import OfflineData, trajectory_from_arrays
from core.data.windows import FlatData, TransitionSampler, WindowSampler
from core.models.critic import CriticConfig, Mish, TwinCritic
from core.models.dt import (
    ALL,
    LOG_STD,
    STATE_TOKENS,
    Block,
    CausalSelfAttention,
    DecisionTransformer,
    Dropout,
    DTConfig,
    LastAction,
)

CFG = DTConfig(embed_dim=32, n_layers=2, n_heads=2, context_len=6, dropout=0.0)


def inputs(B=3, K=6, obs_dim=4, act_dim=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(B, K, dtype=torch.bool)
    mask[0, :2] = False  # one left-padded row
    return (
        torch.randn(B, K, generator=g),
        torch.randn(B, K, obs_dim, generator=g),
        torch.rand(B, K, act_dim, generator=g) * 2 - 1,
        torch.arange(K).repeat(B, 1),
        mask,
    )


def test_future_tokens_do_not_change_earlier_predictions():
    torch.manual_seed(0)
    model = DecisionTransformer(CFG, 4, 2).eval()
    rtg, s, a, t, m = inputs()
    base = model(rtg, s, a, t, m)
    for idx, field in enumerate(("rtg", "state", "action")):
        changed = [x.clone() for x in (rtg, s, a)]
        changed[idx][:, 4] += 5.0
        out = model(*changed, t, m)
        # predictions before step 4 unchanged; a_4 itself is never an input to its own prediction
        last_same = 4 if field == "action" else 3
        torch.testing.assert_close(out[:, : last_same + 1], base[:, : last_same + 1])
        assert not torch.allclose(out[:, 5], base[:, 5]), f"future {field} had no effect at all"


def test_padding_does_not_leak_and_outputs_are_finite():
    torch.manual_seed(0)
    model = DecisionTransformer(CFG, 4, 2).eval()
    rtg, s, a, t, m = inputs()
    out = model(rtg, s, a, t, m)
    assert torch.isfinite(out).all() and out.abs().max() < 1
    s2 = s.clone()
    s2[0, :2] = 100.0  # garbage in the padded slots
    torch.testing.assert_close(model(rtg, s2, a, t, m)[0, 2:], out[0, 2:])


def test_critic_shapes():
    critic = TwinCritic(CriticConfig(hidden=16), 4, 2)
    assert critic(torch.zeros(5, 7, 4), torch.zeros(5, 7, 2)).shape == (2, 5, 7)


def test_critic_heads_equal_two_reference_mlps_and_both_learn():
    """Each head is the METHOD.md MLP (Linear, LayerNorm, Mish) with its own weights; gradients reach both."""
    torch.manual_seed(0)
    cfg = CriticConfig(hidden=16, n_layers=2)
    critic = TwinCritic(cfg, 4, 2)
    with torch.no_grad():  # non-trivial LayerNorm affine, so a swapped or shared one would show
        for p in critic.parameters():
            p.add_(0.1 * torch.randn_like(p))
    refs = []
    for head in critic.q:
        ref = torch.nn.Sequential(
            torch.nn.Linear(6, 16), torch.nn.LayerNorm(16), torch.nn.Mish(),
            torch.nn.Linear(16, 16), torch.nn.LayerNorm(16), torch.nn.Mish(),
            torch.nn.Linear(16, 1),
        )  # fmt: skip
        ref.load_state_dict(head.state_dict())
        refs.append(ref)
    s, a = torch.randn(5, 7, 4), torch.rand(5, 7, 2) * 2 - 1
    q = critic(s, a)
    want = torch.stack([ref(torch.cat([s, a], -1)).squeeze(-1) for ref in refs])
    torch.testing.assert_close(q, want, rtol=0, atol=1e-6)
    weights = torch.tensor([1.0, -2.0])  # different per head, so a gradient routed to the wrong head would show
    (q * weights[:, None, None]).sum().backward()
    (want * weights[:, None, None]).sum().backward()
    for head, ref in zip(critic.q, refs):
        for p, p_ref in zip(head.parameters(), ref.parameters()):
            assert p.grad.abs().sum() > 0
            torch.testing.assert_close(p.grad, p_ref.grad, rtol=1e-5, atol=1e-5)


def test_fast_mish_equals_aten_mish_including_extremes():
    x = torch.cat([torch.linspace(-60, 60, 20001), torch.tensor([-1e30, -1e4, 0.0, 19.99, 20.0, 20.01, 1e4, 1e30])])
    x.requires_grad_(True)
    want = torch.nn.functional.mish(x)
    (grad_want,) = torch.autograd.grad(want.sum(), x)
    got = Mish()(x)
    (grad,) = torch.autograd.grad(got.sum(), x)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(grad, grad_want, rtol=1e-6, atol=2e-6)
    with torch.no_grad():  # the forward-only path (target networks) computes the same
        torch.testing.assert_close(Mish()(x), want, rtol=1e-6, atol=1e-6)


def test_cpu_attention_equals_sdpa_and_last_block_keeps_state_tokens():
    """The written-out CPU attention is SDPA's math; the last block computing only the state tokens gives those
    tokens exactly what the full block gives them."""
    torch.manual_seed(0)
    cfg = DTConfig(embed_dim=32, n_heads=2, dropout=0.0)
    x = torch.randn(3, 12, 32)
    allowed = torch.tril(torch.ones(12, 12, dtype=torch.bool)).repeat(3, 1, 1)
    allowed[0, :, :4] = False  # left padding in the first row, every token still sees itself
    allowed |= torch.eye(12, dtype=torch.bool)
    bias = torch.zeros(allowed.shape).masked_fill_(~allowed, float("-inf")).unsqueeze(1)
    attn = CausalSelfAttention(cfg).eval()
    q, k, v = attn.qkv(x).view(3, 12, 3, 2, 16).permute(2, 0, 3, 1, 4)
    y = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed.unsqueeze(1))
    torch.testing.assert_close(attn(x, bias), attn.proj(y.transpose(1, 2).reshape(3, 12, 32)), rtol=0, atol=1e-6)
    block = Block(cfg).eval()
    torch.testing.assert_close(block(x, bias, STATE_TOKENS), block(x, bias, ALL)[:, STATE_TOKENS], rtol=0, atol=1e-6)


def test_last_only_forward_gives_the_full_forwards_last_action():
    """Acting computes the last block for the last state token alone: the same action as the full forward, padded
    windows included, and ``LastAction`` (what the policy runs and traces) returns exactly that."""
    torch.manual_seed(0)
    actor = DecisionTransformer(DTConfig(embed_dim=32, n_heads=2, context_len=6, dropout=0.0), 5, 3).eval()
    rtg, states, actions = torch.randn(4, 6), torch.randn(4, 6, 5), torch.rand(4, 6, 3) * 2 - 1
    timesteps, mask = torch.randint(0, 900, (4, 6)), torch.arange(6).expand(4, 6) >= torch.tensor([[0], [2], [5], [1]])
    full = actor(rtg, states, actions, timesteps, mask)[:, -1]
    last = actor(rtg, states, actions, timesteps, mask, last_only=True)
    assert last.shape == (4, 1, 3)
    torch.testing.assert_close(last[:, -1], full, rtol=0, atol=1e-6)
    assert torch.equal(LastAction(actor)(rtg, states, actions, timesteps, mask), last[:, -1])


def test_mixture_head_acts_with_its_most_probable_mode():
    """The mixture head's action is the mean of the mode with the highest logit, at every step and in ``LastAction``;
    ``full`` returns the mixture it came from (stds inside their bounds)."""
    torch.manual_seed(0)
    actor = DecisionTransformer(replace(CFG, action_head="mixture", n_modes=3), 4, 2).eval()
    args = inputs()
    out = actor(*args, full=True)
    means, log_std, logits = out.mixture
    assert means.shape == (3, 6, 3, 2) and log_std.shape == (3, 6, 3, 2) and logits.shape == (3, 6, 3)
    best = logits.argmax(-1)
    for b, t in np.ndindex(3, 6):
        assert torch.equal(out.action[b, t], means[b, t, best[b, t]])
    assert torch.equal(actor(*args), out.action)
    torch.testing.assert_close(LastAction(actor)(*args), out.action[:, -1], rtol=0, atol=1e-6)  # last block alone
    assert log_std.min() >= LOG_STD[0] and log_std.max() <= LOG_STD[1]


@pytest.mark.parametrize("head", ["tanh", "mixture"])
def test_a_bimodal_answer_is_averaged_by_tanh_and_kept_by_the_mixture(head):
    """One state answered half the time with +0.8 and half with -0.8: squared error learns the average (about 0,
    an action the data never took), the mixture plays one of the two answers."""
    from core.training.updates import ActorState

    torch.manual_seed(0)
    actor = DecisionTransformer(DTConfig(embed_dim=16, n_layers=1, context_len=2, dropout=0.0, action_head=head), 3, 1)
    opt = torch.optim.Adam(actor.parameters(), lr=3e-3)
    rtg, states, timesteps = torch.ones(64, 2), torch.ones(64, 2, 3), torch.zeros(64, 2, dtype=torch.long)
    mask = torch.ones(64, 2, dtype=torch.bool)
    for _ in range(300):
        target = torch.where(torch.rand(64, 2, 1) < 0.5, 0.8, -0.8)
        loss = ActorState.bc_loss(actor(rtg, states, target, timesteps, mask, full=True), target, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
    acted = actor(rtg[:1], states[:1], torch.zeros(1, 2, 1), timesteps[:1], mask[:1])[0, -1, 0].abs().item()
    assert acted < 0.2 if head == "tanh" else abs(acted - 0.8) < 0.1


def synthetic_data(lengths=(3, 7, 12), obs_dim=2, terminated=(True, False, True)) -> OfflineData:
    trajs = []
    for k, (T, term) in enumerate(zip(lengths, terminated)):
        obs = np.arange((T + 1) * obs_dim, dtype=float).reshape(T + 1, obs_dim) + 100 * k
        acts = np.full((T, 1), k / 10)
        rewards = np.arange(T, dtype=float) + 10 * k
        done = np.zeros(T, bool)
        done[-1] = term
        trajs.append(trajectory_from_arrays(obs, acts, rewards, done, ~done & (np.arange(T) == T - 1)))
    return OfflineData("hopper", "synthetic", trajs, np.zeros(obs_dim), np.ones(obs_dim), {"max": 100.0})


def naive_window(data: OfflineData, traj: int, start: int, K: int, scale: float):
    """The per-sample Python loop the vectorised sampler replaces."""
    t = data.trajectories[traj]
    steps = list(range(start, min(start + K, len(t))))
    pad = K - len(steps)
    s = np.zeros((K, t.observations.shape[1]))
    r = np.zeros(K)
    m = np.zeros(K, bool)
    for j, i in enumerate(steps):
        s[pad + j], r[pad + j], m[pad + j] = t.observations[i], t.returns_to_go[i] / scale, True
    return s, r, m


def test_vectorised_windows_match_naive_loop():
    data = synthetic_data()
    flat = FlatData(data, rtg_scale=10.0)
    sampler = WindowSampler(flat, context_len=5, generator=torch.Generator().manual_seed(0))
    w = sampler.sample(64)
    for b in range(64):
        # recover (traj, start) from the first valid state: obs value = 100*k + 2*t
        first = int(w.mask[b].float().argmax())
        v = int(w.states[b, first, 0])
        traj, start = v // 100, (v % 100) // 2
        s, r, m = naive_window(data, traj, start, 5, 10.0)
        np.testing.assert_allclose(w.states[b].numpy(), s)
        np.testing.assert_allclose(w.rtg[b].numpy(), r, rtol=1e-6)
        np.testing.assert_array_equal(w.mask[b].numpy(), m)
        assert int(w.timesteps[b, -1]) == start + int(m.sum()) - 1


def test_trajectories_drawn_in_proportion_to_length():
    data = synthetic_data(lengths=(10, 30), terminated=(True, True))
    sampler = WindowSampler(FlatData(data, 1.0), 4, torch.Generator().manual_seed(0))
    w = sampler.sample(4000)
    from_second = (w.states[:, -1, 0] >= 100).float().mean().item()
    assert abs(from_second - 0.75) < 0.03


def test_end_anchored_windows_match_naive_loop_and_cover_every_step_evenly():
    data = synthetic_data(lengths=(3, 12, 30), terminated=(True, False, True))
    flat = FlatData(data, rtg_scale=10.0)
    w = WindowSampler(flat, 5, torch.Generator().manual_seed(0), anchor="end").sample(6000)
    for b in range(200):
        n = int(w.mask[b].sum())
        v = int(w.states[b, -1, 0])
        traj, end = v // 100, (v % 100) // 2
        s, r, m = naive_window(data, traj, end - n + 1, n, 10.0)  # the n steps ending at `end`, then left-padded
        np.testing.assert_allclose(w.states[b, 5 - n :].numpy(), s)
        np.testing.assert_allclose(w.rtg[b, 5 - n :].numpy(), r, rtol=1e-6)
        assert m.all() and not w.mask[b, : 5 - n].any() and w.states[b, : 5 - n].abs().sum() == 0
        assert n == 5 or end - n + 1 == 0, "only a window reaching back to step 0 is cut short"
    assert w.mask[:, -1].all(), "the last position is the sampled step: always valid"
    # the window's last step is uniform over all 45 transitions: each episode's share is its length / 45
    last = w.states[:, -1, 0].long() // 100
    shares = torch.bincount(last, minlength=3).float() / len(last)
    torch.testing.assert_close(shares, torch.tensor([3, 12, 30]) / 45.0, atol=0.02, rtol=0)
    with pytest.raises(ValueError, match="anchor"):
        WindowSampler(flat, 5, torch.Generator(), anchor="middle")


def test_lr_schedules():
    from core.training.config import preset
    from core.training.updates import lr_at

    cos = preset("cpu", warmup_steps=10, pretrain_steps=90, align_steps=10)
    const = preset("cpu", warmup_steps=10, pretrain_steps=90, align_steps=10, lr_schedule="constant")
    assert lr_at(4, cos) == lr_at(4, const) == pytest.approx(cos.lr * 5 / 10)  # the same warm-up
    assert lr_at(99, cos) == pytest.approx(0.1 * cos.lr, rel=1e-2)  # decays to 10% at the last step
    assert [lr_at(s, const) for s in (10, 50, 99)] == [const.lr] * 3


def test_state_encoder_and_activation_options_build_the_asked_layers():
    torch.manual_seed(0)
    plain = DecisionTransformer(CFG, 4, 2)
    d3 = DecisionTransformer(DTConfig(**{**CFG.__dict__, "state_encoder": "mlp", "activation": "relu"}), 4, 2)
    assert isinstance(plain.embed_state, torch.nn.Linear) and isinstance(plain.blocks[0].mlp[1], torch.nn.GELU)
    assert isinstance(d3.embed_state[1], torch.nn.ReLU) and isinstance(d3.blocks[0].mlp[1], torch.nn.ReLU)
    out = d3.eval()(*inputs())
    assert out.shape == (3, 6, 2) and torch.isfinite(out).all()
    gpt2 = DecisionTransformer(DTConfig(**{**CFG.__dict__, "init": "gpt2"}), 4, 2)
    assert plain.embed_time.weight.std() > 0.5 and abs(gpt2.embed_time.weight.std().item() - 0.02) < 0.002
    assert gpt2.blocks[0].mlp[0].weight.std() < 0.025 and not gpt2.blocks[0].mlp[0].bias.any()
    assert gpt2.embed_rtg.weight.abs().max() > 0.1  # input layers keep PyTorch's defaults
    d3_ln = DecisionTransformer(DTConfig(**{**CFG.__dict__, "ln_eps": 0.003}), 4, 2)
    assert {b.ln1.eps for b in d3_ln.blocks} | {d3_ln.blocks[0].ln2.eps, d3_ln.ln_f.eps} == {0.003}
    assert d3_ln.embed_ln.eps == plain.ln_f.eps == 1e-5  # the default is PyTorch's, as every checkpoint before it


def test_transitions_skip_truncated_last_step_and_mask_terminals():
    data = synthetic_data(lengths=(3, 4), terminated=(True, False))
    flat = FlatData(data, 1.0)
    # 3 + 4 transitions; the truncated episode's last step has no next action -> 6 usable
    assert len(flat.sarsa_index) == 6
    b = TransitionSampler(flat, torch.Generator().manual_seed(0)).sample(500)
    terminal_rows = b.not_done == 0
    assert terminal_rows.any() and torch.all(b.rewards[terminal_rows] == 2.0)  # last reward of episode 0
    nonterminal = ~terminal_rows
    torch.testing.assert_close(b.next_states[nonterminal], b.states[nonterminal] + 2.0)


def test_nstep_transitions_match_a_loop_over_the_episode():
    """n-step targets: the discounted sum of the next n rewards and the data's (s, a) n steps on, or fewer where the
    episode ends first: a terminal end sums to it with nothing to bootstrap; a time limit stops at its last step
    that has an action. Checked against a plain loop for every sampled row (state value = 100 k + 2 t)."""
    data = synthetic_data(lengths=(3, 7, 12), terminated=(True, False, True))
    n, gamma = 4, 0.9
    b = TransitionSampler(FlatData(data, 1.0), torch.Generator().manual_seed(0), nstep=n, gamma=gamma).sample(400)
    seen = set()
    for row in range(400):
        v = int(b.states[row, 0])
        k, t = v // 100, (v % 100) // 2
        traj = data.trajectories[k]
        T, term = len(traj), bool(traj.terminated)
        m = min(n, T - t) if term else min(n, T - 1 - t)
        expected = sum(gamma**j * traj.rewards[t + j] for j in range(m))
        assert b.rewards[row].item() == pytest.approx(expected), (k, t)
        assert b.discount[row].item() == pytest.approx(gamma**m)
        boot = not (term and t + m == T)
        assert b.not_done[row].item() == float(boot)
        if boot:
            assert int(b.next_states[row, 0]) == 100 * k + 2 * (t + m) and b.next_actions[row, 0] == pytest.approx(
                k / 10
            )
        seen.add((k, t, m < n))
    assert {(0, 2, True), (1, 5, True), (2, 0, False)} <= seen  # ends reached early, and a full n-step row
    one = TransitionSampler(FlatData(data, 1.0), torch.Generator().manual_seed(0), gamma=gamma).sample(8)
    assert one.discount == gamma  # one step: the plain gamma, as before
    with pytest.raises(ValueError, match="n-step"):
        TransitionSampler(FlatData(data, 1.0), torch.Generator(), nstep=0)


def test_dropout_is_bernoulli_scaled_and_follows_torch_seed():
    drop = Dropout(0.1)
    x = torch.ones(200, 500, requires_grad=True)
    torch.manual_seed(3)
    y = drop(x)
    kept = y != 0
    assert y.unique().tolist() == [0.0, pytest.approx(1 / 0.9)]
    assert abs(kept.float().mean().item() - 0.9) < 0.005  # 100k draws: 0.005 is over 5 standard deviations
    y.sum().backward()
    torch.testing.assert_close(x.grad, y.detach())  # the gradient is the same scaled mask
    torch.manual_seed(3)
    torch.testing.assert_close(drop(x), y)  # torch's seed fixes the mask (seeded runs and resumes repeat)
    assert not torch.equal(drop(x), y)  # and each call draws a new one
    assert torch.equal(drop.eval()(x), x)
