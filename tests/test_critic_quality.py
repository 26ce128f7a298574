"""The critic quality gate: its scores on a tiny critic, its arithmetic, and Q-ALIGN DT refusing a critic below it."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from core.critic_quality import (
    GATE,
    QualityConfig,
    _set_sim_state,
    actor_lead,
    branch_returns,
    data_window,
    discounted_tails,
    gate_report,
    passes,
    perturbed_pair,
    pick_steps,
    ranking_by_gap,
    reference_ranking,
    replay_states,
    score,
    shifted_requests,
)
from core.data.dataset import load_offline_data
from core.data.minari_io import episode_seeds
from core.envs import get_task
from core.policy import ReturnConditionedPolicy
from core.store.checkpoint import load_critic, update_critic_meta
from core.training.config import preset
from core.training.driver import run_stage
from core.training.records import CriticGateError

TINY = QualityConfig(states=12, horizon=6)


def test_discounted_tails_by_hand():
    np.testing.assert_allclose(discounted_tails(np.array([1.0, 2.0, 4.0]), 0.5), [1 + 1 + 1, 2 + 2, 4])


def test_gate_verdict_and_report():
    good = {k: v + 0.01 for k, v in GATE.items()}
    assert passes(good) and "FAIL" not in gate_report(good)
    bad = {**good, "ranking_agreement": 0.55}
    assert not passes(bad) and "ranking_agreement =   0.550  (needs >= 0.6: FAIL)" in gate_report(bad)
    assert not passes({k: v for k, v in good.items() if k != "sensitivity"})  # a missing score fails
    # with the pair count, the ranking's standard error sqrt(p (1 - p) / n): 0.55 over 250 pairs -> 0.031
    assert "FAIL)  +- 0.031 (one standard error, 250 pairs)" in gate_report({**bad, "ranking_pairs": 250})


def test_ranking_by_gap_bins_pairs_by_how_much_their_outcomes_differ():
    """A critic right only where the outcomes differ most scores 1 in the top fifth and 0 elsewhere; undecided pairs
    (gap 0) count in no bin; the bins hold a fifth of the pairs each."""
    gap = np.r_[np.arange(1.0, 101.0), 0.0] * np.where(np.arange(101) % 2, 1.0, -1.0)  # |gap| 1..100, one 0
    dq = np.where(np.abs(gap) >= 80, gap, -gap)  # right on the top fifth (edges 0, 20, ..., 80, 100), wrong below
    assert ranking_by_gap(dq, gap) == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert ranking_by_gap(-dq, gap) == [1.0, 1.0, 1.0, 1.0, 0.0]


class Centre:
    """A stand-in continuation policy whose mean action is a fixed point."""

    def __init__(self, centre):
        self.centre = centre

    def act(self, obs):
        return np.repeat(self.centre[None], len(obs), 0)


def test_reference_scorers_rank_by_closeness_to_their_centre():
    """Truth = minus the distance to the data's action: near_data orders every pair as the truth does; near_behaviour,
    centred elsewhere, does not."""
    rng = np.random.default_rng(0)
    n, obs = 40, np.zeros((40, 11))
    data_a = rng.uniform(-0.5, 0.5, (n, 3))
    pairs = np.concatenate([data_a + rng.normal(0, 0.3, (n, 3)), data_a + rng.normal(0, 0.3, (n, 3))])
    truth = -((pairs - np.concatenate([data_a, data_a])) ** 2).sum(-1)
    gap = truth[:n] - truth[n:]
    ref = reference_ranking(truth, gap, obs, data_a, pairs, Centre(np.zeros(3)))
    assert ref["near_data"]["agreement"] == 1.0 and ref["near_data"]["by_gap"] == [1.0] * 5
    # a centre far from every data action orders the pairs otherwise: below perfect
    far = reference_ranking(truth, gap, obs, data_a, pairs, Centre(np.full(3, 5.0)))
    assert far["near_data"] == ref["near_data"] and far["near_behaviour"]["agreement"] < 1.0


class Negated(torch.nn.Module):
    """Both heads = -min_i Q_i of a critic: its min is exactly -min Q, so it must rank every pair the other way."""

    def __init__(self, critic):
        super().__init__()
        self.critic = critic

    def forward(self, s, a):
        m = -self.critic(s, a).min(0).values
        return torch.stack([m, m])


def test_scores_on_held_out_episodes_replay_and_flip_with_a_negated_critic(with_behaviour):
    run = with_behaviour
    critic, meta = load_critic(run.critic_path)
    meta = {**meta, "holdout_every": 2}  # the tiny data's only held-out episode is cut short: score on more
    data = load_offline_data("hopper", "medium")
    out = score(critic, meta, data, TINY)
    assert out["held_out_episodes"] == 6 and out["replay_match"] == 1.0  # replayed from seed + actions exactly
    assert out["value_points"] == 19 + 16 + 18  # the three held-out episodes that ended by termination
    assert 0 < out["ranking_pairs"] <= TINY.states and 0.0 <= out["ranking_agreement"] <= 1.0
    assert -1.0 <= out["value_spearman"] <= 1.0 and out["sensitivity"] > 0
    assert out["passed"] == passes(out) and out["thresholds"] == GATE
    flipped = score(Negated(critic), meta, data, TINY)
    assert flipped["ranking_agreement"] == pytest.approx(1.0 - out["ranking_agreement"])
    assert flipped["reference_ranking"] == out["reference_ranking"]  # the references know no critic
    assert set(out["reference_ranking"]) == {"near_data", "near_behaviour"}
    assert flipped["value_spearman"] == pytest.approx(-out["value_spearman"])


class Flailing:
    """A continuation that acts at random from the rng it is given (the behaviour policy's ``act`` signature): the
    hopper falls within tens of steps, so branches end at different steps."""

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, (len(obs), 3)).astype(np.float32)


@pytest.mark.parametrize("lead_steps", [1, 6])
def test_branches_stepped_together_return_what_one_environment_at_a_time_does(with_behaviour, lead_steps):
    """``branch_returns`` steps its simulators together (``core.physics.step_many``): each branch's return is, to the
    last bit, what its own environment stepped through gymnasium's ``step`` earns with the same actions and noise,
    also when branches fall at different steps; with a ``lead`` playing the steps after the first up to
    ``lead_steps`` - 1 (here a function of the observation) before the continuation takes over."""
    task, data = get_task("hopper"), load_offline_data("hopper", "medium")
    rng = np.random.default_rng(3)
    picks = pick_steps(data, list(range(len(data.trajectories))), 8, rng)
    sims, _, acts, match = replay_states(task, data, episode_seeds(data.dataset_id), picks)
    a1, a2 = perturbed_pair(acts, rng)
    sims, first, actor = np.concatenate([sims, sims]), np.concatenate([a1, a2]), Flailing()
    horizon, gamma, seed = 200, 0.99, 11
    lead_calls = []

    def lead(rows, o, r):  # the actions after the first, for the rows just stepped
        lead_calls.append(len(rows))
        return np.tanh(o[:, :3]).astype(np.float32)

    got = branch_returns(task, sims, first, actor, horizon, gamma, seed, lead, lead_steps)
    assert len(lead_calls) == lead_steps - 1
    n, half = len(sims), len(sims) // 2
    envs = [task.make().unwrapped for _ in range(n)]
    ret, alive, obs, actions, disc, ended = np.zeros(n), np.ones(n, bool), np.zeros((n, 11)), first, 1.0, []
    for j, env in enumerate(envs):
        env.reset(seed=0)
        _set_sim_state(env, sims[j])
    for k in range(horizon + 1):
        for j in np.flatnonzero(alive):
            obs[j], r, term, *_ = envs[j].step(actions[j])
            ret[j], alive[j] = ret[j] + disc * r, not term
            ended += [k] if term else []
        disc *= gamma
        if k + 1 < lead_steps:
            actions = np.tanh(obs[:, :3]).astype(np.float32)
            continue
        noise = int(np.random.default_rng([seed, k]).integers(2**63))
        actions = np.concatenate([actor.act(o, np.random.default_rng(noise)) for o in (obs[:half], obs[half:])])
    assert match == 1.0 and len(set(ended)) > 1  # branches fell at several different steps
    np.testing.assert_array_equal(got, ret)


def test_averaged_truth_keeps_the_pairs_and_one_rollout_is_the_gates_truth(with_behaviour):
    """``truth_rollouts`` averages each branch over rollouts: the same states, pairs and Q (so the same sensitivity
    and value fit), another truth; 1 is exactly the gate's default."""
    critic, meta = load_critic(with_behaviour.critic_path)
    meta, data = {**meta, "holdout_every": 2}, load_offline_data("hopper", "medium")
    one = score(critic, meta, data, TINY)
    assert score(critic, meta, data, replace(TINY, truth_rollouts=1)) == one
    avg = score(critic, meta, data, replace(TINY, truth_rollouts=3))
    assert avg["truth_rollouts"] == 3 and one["truth_rollouts"] == 1
    assert avg["sensitivity"] == one["sensitivity"] and avg["value_spearman"] == one["value_spearman"]
    assert avg["rollout_gap_mean"] != one["rollout_gap_mean"]  # a different (averaged) truth


def test_alignment_pairs_use_the_datas_history_and_flip_with_a_negated_critic(with_behaviour, writable_models):
    """With an actor, the pairs Q-ALIGN compares (pi(R + delta) vs pi(R) at held-out states, the data's own
    window) are scored beside the gate: fractions in [0, 1], a real action gap, and a negated critic orders every
    pair (and every request) the other way. The window is the data's: its last RTG is the step's return-to-go."""
    critic, meta = load_critic(with_behaviour.critic_path)
    meta, data = {**meta, "holdout_every": 2}, load_offline_data("hopper", "medium")
    cfg = replace(TINY, actor=str(writable_models["dt"]))
    out = score(critic, meta, data, cfg)["alignment_pairs"]
    assert 0 < out["pairs"] <= TINY.states and out["action_gap"] > 0
    for k in ("pair_agreement", "env_follows_request", "q_follows_request"):
        assert 0.0 <= out[k] <= 1.0
    flipped = score(Negated(critic), meta, data, cfg)["alignment_pairs"]
    assert flipped["pair_agreement"] == pytest.approx(1.0 - out["pair_agreement"])
    assert flipped["q_follows_request"] == pytest.approx(1.0 - out["q_follows_request"])
    assert flipped["env_follows_request"] == out["env_follows_request"]  # the truth does not depend on the critic
    assert flipped["objections"] == pytest.approx(1.0 - out["objections"])  # Q objects exactly where -Q does not
    led = score(critic, meta, data, replace(cfg, lead_steps=8))["alignment_pairs"]  # the actor plays 8 steps first
    assert led["lead_steps"] == 8 and led["objections"] == out["objections"]  # same pairs, same Q
    for o in (out, led):
        assert 0.0 <= o["env_follows_request"] <= 1.0
        agree = o["objection_agreement"]
        assert 0.0 <= agree <= 1.0 if o["objection_pairs"] else np.isnan(agree)
    policy = ReturnConditionedPolicy.load(writable_models["dt"])
    tr = data.trajectories[1]
    rtg, states, actions, timesteps, mask = data_window(policy, tr, 3)
    assert mask[0].tolist() == [False] * (policy.K - 4) + [True] * 4 and timesteps[0, -1] == 3
    assert rtg[0, -1].item() * policy.scale == pytest.approx(float(tr.returns_to_go[3]), rel=1e-5)
    assert torch.equal(actions[0, -1], torch.zeros(actions.shape[-1]))  # the current action is the one asked for
    assert torch.allclose(actions[0, -2], torch.as_tensor(tr.actions[2]))
    w, rtg_p, _ = shifted_requests(policy, data, get_task("hopper"), {1: [3, 5], 2: [4]}, 7)
    first = np.arange(6 * 3, dtype=np.float32).reshape(6, 3) / 18.0
    lead = actor_lead(policy, w, rtg_p, first)  # branches stacked (asked, base): each continues its own window
    torch.testing.assert_close(policy.rtg_now, torch.cat([rtg_p[:, -1], w[0][:, -1]]))
    assert torch.equal(policy.actions[:, -1], torch.as_tensor(first)) and torch.equal(policy.t[:3], w[3][:, -1])
    obs = np.stack([data.trajectories[i].observations[t + 1] for i, t in ((1, 3), (1, 5), (2, 4))] * 2)
    acts = lead(np.arange(6), obs, np.ones(6))
    assert acts.shape == (6, 3) and not np.allclose(acts[:3], acts[3:])  # the shifted request changes the action


def test_critic_never_trains_on_held_out_episodes(with_behaviour):
    meta = json.loads(with_behaviour.critic_path.with_suffix(".json").read_text())
    assert meta["holdout_every"] == preset("tiny").critic_holdout_every == 10
    critic, meta = load_critic(with_behaviour.critic_path)
    with pytest.raises(ValueError, match="no held-out episodes"):
        score(critic, {**meta, "holdout_every": 0}, load_offline_data("hopper", "medium"), TINY)


def test_qalign_refuses_a_critic_below_the_gate_unless_overridden(with_behaviour):
    run, cfg = with_behaviour, preset("tiny")
    with pytest.raises(CriticGateError, match="score it first: python -m core.critic_quality --task hopper"):
        run_stage("qalign", "hopper", "medium", cfg)
    failing = {**{k: v - 0.2 for k, v in GATE.items()}, "thresholds": GATE, "passed": False}
    update_critic_meta(run.critic_path, {"quality": failing})
    with pytest.raises(CriticGateError, match="scored below the gate"):
        run_stage("qalign", "hopper", "medium", cfg)
    res = run_stage("qalign", "hopper", "medium", replace(cfg, align_steps=2), allow_weak_critic=True)
    record = json.loads(res.checkpoint.with_suffix(".json").read_text())["critic"]
    assert record["gate"] == "failed (overridden by --allow-weak-critic)" and record["quality"] == failing
    passing = {**{k: v + 0.1 for k, v in GATE.items()}, "thresholds": GATE, "passed": True}
    update_critic_meta(run.critic_path, {"quality": passing})
    res = run_stage("qalign", "hopper", "medium", replace(cfg, align_steps=2), resume=False)
    assert json.loads(res.checkpoint.with_suffix(".json").read_text())["critic"]["gate"] == "passed"


def test_scoring_refuses_sizes_out_of_range_naming_the_option():
    from core.critic_quality import score_run

    with pytest.raises(ValueError, match=r"--states must be >= 2 \(got 0\); --truth-rollouts must be >= 1"):
        score_run(replace(TINY, states=0, truth_rollouts=0))


def test_ranking_ceiling_from_truth_consistency():
    from core.critic_quality import ranking_ceiling

    assert ranking_ceiling(1.0) == 1.0 and ranking_ceiling(0.5) == 0.5 and ranking_ceiling(0.3) == 0.5
    p = 0.8  # a rollout right 80% of the time: two agree 0.68 of the time
    assert ranking_ceiling(p**2 + (1 - p) ** 2) == pytest.approx(p)
