"""Critic quality, measured before any alignment: the gate the Q-ALIGN stage asks before it trusts a critic.

    python -m core.critic_quality --task hopper --dataset medium [--seed 0]

Scores the pre-trained critic on held-out episodes of its dataset (every ``critic_holdout_every``-th episode;
the critic stage never trains on them), writes the scores into the critic's JSON (``quality``) and prints them.

- **Value fit**: Spearman and normalised RMSE of min_i Q_i(s, a) against the realised discounted return of the
  held-out episode from (s, a) (steps whose discounted tail is cut by the time limit are left out).
- **Action ranking**: our data comes from our own simulator, so the truth is at hand. A held-out episode is
  replayed from its stored reset seed and actions up to step t (the replay is checked against the stored
  observations: ``replay_match``); there two actions near the data's, a1 = clip(a + e1) and a2 = clip(a + e2)
  with e ~ N(0, 0.3^2), are each played, followed by ``horizon`` steps of the medium behaviour policy with the
  same sampled noise on both branches (common random numbers). ``ranking_agreement`` = how often Q orders
  (a1, a2) as those rollouts' discounted returns do. Neither action is the data's own, so a critic cannot score
  by merely preferring in-distribution actions; the perturbation is of the size the actor's actions move.
- **Truth consistency** (reported, not gated): the same pairs rolled out again with other noise; how often the
  two rollouts order the pair alike. From it, ``ranking_ceiling``: what a perfect critic would reach on
  ``ranking_agreement`` against one noisy rollout (measured: 0.72 on Hopper-medium, 0.80 on medium-replay,
  so the 0.6 threshold sits between chance and what is reachable).
- **Ranking by gap** (reported, not gated): the same agreement within each fifth of the pairs ordered by how much
  their outcomes differ (the two rollouts' mean gap), smallest first: measured on the `control` critics, about
  chance below the top fifth and 0.65-0.68 in it, where one action leads to a fall or a stumble.
- **Reference ranking** (reported, not gated): the same agreement for two scorers that know no returns, closeness
  to the data's action and to the continuation policy's mean action: what a critic would get from knowing only
  that the actions taken beat their neighbours (measured on Hopper: at chance, so a conservative penalty, which
  teaches just that, cannot pass the ranking test).
- **Sensitivity**: at the same states, the spread of Q over 16 uniform random actions divided by the twin heads'
  disagreement there (median over states): how much the action moves Q compared with Q's own noise.

Thresholds (``GATE``), fixed before any critic was scored:
- ``ranking_agreement >= 0.6``: the alignment loss only helps if Q orders actions as the environment does.
  Chance is 0.5; with 256 pairs its standard deviation is 0.031, so 0.6 is three of them above chance, and
  single noisy rollouts keep even a perfect critic below 1. The sample, not the thresholds, changed once: from
  256 to 1,024 states (session 18, before the next critic was scored), because at 256 one standard error
  (0.03) was as large as the differences between the critics it had to separate; at 1,024 it is about 0.016.
- ``value_spearman >= 0.5``: a critic that cannot order held-out states by what they went on to earn has not
  learnt returns; half a rank correlation is a low bar for the state-dominated part of Q.
- ``sensitivity >= 1.0``: if random actions move Q less than the two heads disagree, the actor's alignment
  gradient follows noise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import mujoco
import numpy as np
import torch
import tyro
from tqdm import tqdm

from core.behavior.policy import BehaviorActor, load_actor
from core.checks import out_of_range, refuse
from core.data.dataset import OfflineData, holdout_ids, load_offline_data
from core.data.minari_io import episode_seeds
from core.envs import TaskSpec, get_task
from core.metrics import spearman
from core.models.critic import TwinCritic
from core.physics import step_many
from core.policy import ReturnConditionedPolicy
from core.store import checkpoint as ckpt
from core.store.layout import Run, behavior_path
from core.training import losses as L
from core.training.config import TrainConfig

GATE = {"ranking_agreement": 0.6, "value_spearman": 0.5, "sensitivity": 1.0}
PERTURB_STD = 0.3
RANDOM_ACTIONS = 16


@dataclass(frozen=True)
class QualityConfig:
    """Score a pre-trained critic on its dataset's held-out episodes."""

    task: str = "hopper"
    dataset: str = "medium"
    seed: int = 0
    """Training seed of the run whose critic to score."""
    states: int = 1024
    """Held-out states for action ranking and sensitivity (repeats collapse: about 920 distinct on Hopper
    `control`). 256 until session 18."""
    horizon: int = 200
    """Behaviour-policy steps after each branch's first action (gamma^200 = 0.13 at gamma 0.99)."""
    score_seed: int = 7
    """Seeds the choice of states, perturbations and rollout noise."""
    actor: str = ""
    """A model checkpoint (e.g. the run's DT): also score the *alignment pairs*, the actions Q-ALIGN's loss
    compares (reported beside the gate, not gated). Empty: skip."""
    truth_rollouts: int = 1
    """Rollouts per branch averaged into the truth (each pair's two branches share each rollout's noise). 1 is the
    gate's setting; more estimate each pair's *expected* order, which is what a critic is asked to know, and
    raise the ceiling where single rollouts are mostly noise (HalfCheetah: truth consistency 0.53)."""
    lead_steps: int = 1
    """Alignment pairs only: the actor goes on playing each branch's request (shifted or not) for this many steps in
    all before the behaviour policy takes over; 1: its first action only. With 20 the return follows the request
    where one step cannot show it (Hopper `ladder-pure`: 0.865 of pairs against 0.61; README, "Averaged, and given
    time to act")."""


def passes(scores: dict) -> bool:
    return all(scores.get(k, float("nan")) >= v for k, v in GATE.items())


def gate_report(scores: dict) -> str:
    """One line per criterion: value, threshold, pass/fail; the ranking's standard error where its pair count is
    known (about 0.016 at the default 1,024 states; 0.03 at the 256 used until session 17, as large as the
    differences between the critics we trained: session 17 read one critic 0.538 there and 0.601 at 1,024)."""
    lines = []
    for k, v in GATE.items():
        got = scores.get(k, float("nan"))
        line = f"{k:>18} = {got:7.3f}  (needs >= {v}: {'pass' if got >= v else 'FAIL'})"
        n = scores.get("ranking_pairs", 0) if k == "ranking_agreement" else 0
        if n:
            line += f"  +- {np.sqrt(got * (1.0 - got) / n):.3f} (one standard error, {n} pairs)"
        lines.append(line)
    return "\n".join(lines)


def discounted_tails(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """G_t = sum_k gamma^k r_{t+k} to the end of the episode. rewards (T,) -> (T,)."""
    out, acc = np.zeros(len(rewards)), 0.0
    for t in range(len(rewards) - 1, -1, -1):
        acc = rewards[t] + gamma * acc
        out[t] = acc
    return out


@torch.no_grad()
def q_values(critic: TwinCritic, data: OfflineData, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """(2, N) Q of each head for raw observations (normalised with the dataset's stats) and actions."""
    s = torch.as_tensor((obs - data.obs_mean) / data.obs_std, dtype=torch.float32)
    return critic(s, torch.as_tensor(actions, dtype=torch.float32)).numpy()


def value_fit(critic: TwinCritic, data: OfflineData, ids: list[int], gamma: float) -> dict:
    """Spearman / normalised RMSE of min Q against realised discounted returns on held-out episodes."""
    cut = int(np.ceil(np.log(0.01) / np.log(gamma)))  # a time-limit cut hides < 1% of the tail past this
    obs, acts, target = [], [], []
    for i in ids:
        tr = data.trajectories[i]
        keep = len(tr) if tr.terminated else max(0, len(tr) - cut)
        obs.append(tr.observations[:keep])
        acts.append(tr.actions[:keep])
        target.append(discounted_tails(tr.rewards.astype(np.float64), gamma)[:keep])
    obs, acts, target = np.concatenate(obs), np.concatenate(acts), np.concatenate(target)
    if len(target) < 2:
        return {"value_spearman": float("nan"), "value_nrmse": float("nan"), "value_points": int(len(target))}
    q = q_values(critic, data, obs, acts).min(0)
    return {
        "value_spearman": spearman(q, target),
        "value_nrmse": float(np.sqrt(np.mean((q - target) ** 2)) / max(target.std(), 1e-9)),
        "value_points": int(len(q)),
    }


def _sim_state(env) -> np.ndarray:
    u = env.unwrapped
    state = np.empty(mujoco.mj_stateSize(u.model, mujoco.mjtState.mjSTATE_INTEGRATION))
    mujoco.mj_getState(u.model, u.data, state, mujoco.mjtState.mjSTATE_INTEGRATION)
    return state


def _set_sim_state(env, state: np.ndarray) -> None:
    u = env.unwrapped
    mujoco.mj_setState(u.model, u.data, state, mujoco.mjtState.mjSTATE_INTEGRATION)
    mujoco.mj_forward(u.model, u.data)


def replay_states(task: TaskSpec, data: OfflineData, seeds: list[int], picks: dict[int, list[int]]) -> tuple:
    """Replay held-out episodes from their reset seeds and stored actions; at each picked step t keep the full
    simulator state. Returns (states, observations, actions, fraction of picks whose replayed observation matches
    the stored one to 1e-5)."""
    env = task.make()
    sims, obs, acts, match = [], [], [], []
    try:
        for i, steps in picks.items():
            tr = data.trajectories[i]
            o, _ = env.reset(seed=seeds[i])
            for t in range(max(steps) + 1):
                if t in steps:
                    sims.append(_sim_state(env))
                    obs.append(o)
                    acts.append(tr.actions[t])
                    match.append(np.abs(o - tr.observations[t]).max() < 1e-5)
                o, *_ = env.step(tr.actions[t])
    finally:
        env.close()
    return np.array(sims), np.array(obs), np.array(acts), float(np.mean(match))


def branch_returns(
    task: TaskSpec,
    sims: np.ndarray,
    first: np.ndarray,
    actor: BehaviorActor,
    horizon: int,
    gamma: float,
    seed: int,
    lead: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
    lead_steps: int = 1,
) -> np.ndarray:
    """Discounted return of playing ``first[j]`` from simulator state ``sims[j]``, then ``horizon`` steps of the
    behaviour actor. Rows j and j + N/2 get the same action noise (common random numbers). -> (N,).
    ``lead``: plays the steps after the first up to step ``lead_steps`` - 1 instead of the behaviour actor (a branch
    is then its first action and what, say, a DT does after it); after each of those steps it is called with the
    rows just stepped, their observations and rewards, and returns those rows' next actions."""
    n = len(sims)
    envs = [task.make().unwrapped for _ in range(n)]
    ret, alive, disc = np.zeros(n), np.ones(n, bool), 1.0
    try:
        obs = np.zeros((n, envs[0].observation_space.shape[0]))
        for j, env in enumerate(envs):
            env.reset(seed=0)
            _set_sim_state(env, sims[j])
        actions = first
        for k in range(horizon + 1):
            live = np.flatnonzero(alive)  # stepped together (core.physics): gymnasium's numbers, 1.4x faster
            o, r, term, _ = step_many([envs[j] for j in live], actions[live])
            obs[live], ret[live] = o, ret[live] + disc * r
            alive[live] = ~term
            disc *= gamma
            if not alive.any():
                break
            if lead is not None and k + 1 < lead_steps:
                actions = np.zeros_like(first)
                actions[live] = lead(live, o, r)
                continue
            step_seed = int(np.random.default_rng([seed, k]).integers(2**63))
            half = n // 2  # both branches of a pair draw the same noise (common random numbers)
            actions = np.concatenate([actor.act(obs[:half], np.random.default_rng(step_seed)),
                                      actor.act(obs[half:], np.random.default_rng(step_seed))])  # fmt: skip
    finally:
        for env in envs:
            env.close()
    return ret


def truth(
    task: TaskSpec,
    both: tuple,
    actor: BehaviorActor,
    cfg: QualityConfig,
    gamma: float,
    offset: int = 0,
    lead: Callable[[], Callable] | None = None,
):
    """Each branch's discounted return, averaged over ``cfg.truth_rollouts`` rollouts (seeds score_seed + 2r +
    offset: with one rollout, score_seed for the truth and score_seed + 1 for its consistency check). -> (N,)
    ``lead``: makes a fresh ``branch_returns`` lead for each rollout (it plays ``cfg.lead_steps`` - 1 steps)."""
    runs = []
    for r in range(max(1, cfg.truth_rollouts)):
        seed, lead_r = cfg.score_seed + 2 * r + offset, lead() if lead else None
        runs.append(branch_returns(task, *both, actor, cfg.horizon, gamma, seed, lead_r, cfg.lead_steps))
    return np.mean(runs, axis=0)


def actor_lead(policy: ReturnConditionedPolicy, windows: list[torch.Tensor], asked: torch.Tensor, first: np.ndarray):
    """A ``branch_returns`` lead for alignment pairs stacked (asked, base): the actor takes over each branch from
    its window (``shifted_requests``'), the asked ones with the shifted RTG ``asked`` (N, K), its current actions
    ``first`` (2N, act_dim) already played, and goes on asking what its window asks."""
    policy.resume([torch.cat([asked, windows[0]])] + [torch.cat([w, w]) for w in windows[1:]], first)

    def lead(rows: np.ndarray, obs: np.ndarray, rewards: np.ndarray) -> np.ndarray:
        policy.observe(rewards, index=rows)
        return policy.act(obs, index=rows)

    return lead


def pick_steps(data: OfflineData, ids: list[int], n: int, rng: np.random.Generator) -> dict[int, list[int]]:
    """``n`` draws of a held-out episode and a step t >= 1 of it (the stored obs[0] was wrong in old data):
    {episode: [steps]}."""
    picks: dict[int, list[int]] = {}
    for _ in range(n):
        i = int(rng.choice(ids))
        if len(data.trajectories[i]) > 1:
            picks.setdefault(i, []).append(int(rng.integers(1, len(data.trajectories[i]))))
    return picks


def perturbed_pair(acts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two actions near each of the data's, clip(a + N(0, PERTURB_STD^2)) drawn a1 then a2, neither the data's own.
    acts (N, A) -> two (N, A) float32."""
    return tuple(np.clip(acts + rng.normal(0.0, PERTURB_STD, acts.shape), -1.0, 1.0).astype(np.float32) for _ in "12")


def pair_gaps(x: np.ndarray) -> np.ndarray:
    """Pairs stacked as (first branches, second branches), (2N,) -> each pair's difference, first minus second (N,)."""
    n = len(x) // 2
    return x[:n] - x[n:]


def order_agreement(dq: np.ndarray, dg: np.ndarray) -> float:
    """How often the differences ``dq`` order a pair as ``dg`` does, over the pairs ``dg`` decides (|dg| > 1e-6)."""
    decided = np.abs(dg) > 1e-6
    return float(np.mean(np.sign(dq[decided]) == np.sign(dg[decided])))


def pair_orders(g: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Pairs stacked as (first branches, second branches): returns (N,) each of the truth's and Q's differences,
    which pairs the truth decides, and how often Q orders a decided pair as the truth does."""
    dg, dq = pair_gaps(g), pair_gaps(q)
    return dg, dq, np.abs(dg) > 1e-6, order_agreement(dq, dg)


def ranking_by_gap(dq: np.ndarray, gap: np.ndarray, bins: int = 5) -> list[float]:
    """Q's agreement with the truth's order within each quantile bin of |truth gap| (smallest gaps first): whether
    the critic ranks the pairs whose actions matter most (one falls, the other does not) better than the many
    whose outcomes differ by less than the rollouts' noise. ``gap``: the mean of the two rollouts' differences."""
    size = np.abs(gap)
    edges = np.quantile(size, np.linspace(0.0, 1.0, bins + 1))
    out = []
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        m = (size >= lo) & ((size < hi) if k < bins - 1 else (size <= hi)) & (size > 1e-6)
        out.append(float(np.mean(np.sign(dq[m]) == np.sign(gap[m]))) if m.any() else float("nan"))
    return out


def ranking_ceiling(consistency: float) -> float:
    """Expected agreement of a perfect critic (one that knows each pair's expected order) with one noisy rollout:
    if a rollout gets the order right with probability p, two rollouts agree with c = p^2 + (1 - p)^2, so
    p = (1 + sqrt(2c - 1)) / 2."""
    return float((1.0 + np.sqrt(max(2.0 * consistency - 1.0, 0.0))) / 2.0)


def sensitivity(critic: TwinCritic, data: OfflineData, obs: np.ndarray, seed: int) -> float:
    """Median over states of std_a(min Q(s, a)) / mean_a |Q_1(s, a) - Q_2(s, a)| for random actions a."""
    rng = np.random.default_rng([seed, 1])
    n, act_dim = len(obs), data.act_dim
    acts = rng.uniform(-1, 1, (n, RANDOM_ACTIONS, act_dim))
    q = q_values(critic, data, np.repeat(obs, RANDOM_ACTIONS, 0), acts.reshape(-1, act_dim))
    q = q.reshape(2, n, RANDOM_ACTIONS)
    spread = q.min(0).std(1)
    noise = np.abs(q[0] - q[1]).mean(1)
    return float(np.median(spread / np.maximum(noise, 1e-9)))


def ranking_draws(data: OfflineData, task: TaskSpec, ids: list[int], cfg: QualityConfig) -> tuple:
    """The ranking test's held-out states and pairs (score seed ``cfg.score_seed``): (simulator states, observations,
    the data's actions, replay match, first actions a1, second actions a2)."""
    rng = np.random.default_rng(cfg.score_seed)
    picks = pick_steps(data, ids, cfg.states, rng)
    sims, obs, acts, replay_match = replay_states(task, data, episode_seeds(data.dataset_id), picks)
    return (sims, obs, acts, replay_match, *perturbed_pair(acts, rng))


def action_ranking(
    critic: TwinCritic, data: OfflineData, task: TaskSpec, ids: list[int], cfg: QualityConfig, gamma: float
) -> tuple[dict, np.ndarray]:
    """Agreement of Q's order of (a, a') with the rollouts' order; returns the scores and the states' observations."""
    sims, obs, acts, replay_match, a1, a2 = ranking_draws(data, task, ids, cfg)
    actor = load_actor(behavior_path(task.name, "medium"))
    both = np.concatenate([sims, sims]), np.concatenate([a1, a2])
    g = truth(task, both, actor, cfg, gamma)
    dg, dq, decided, agree = pair_orders(g, q_values(critic, data, np.concatenate([obs, obs]), both[1]).min(0))
    # The truth's own reliability: the same pairs again with other rollout noise. If the two rollouts' orders
    # agree little more than chance, no critic could score well and the gate would measure noise.
    g2 = truth(task, both, actor, cfg, gamma, offset=1)
    dg2 = pair_gaps(g2)
    both_decided = decided & (np.abs(dg2) > 1e-6)
    consistency = float(np.mean(np.sign(dg[both_decided]) == np.sign(dg2[both_decided])))
    by_gap = ranking_by_gap(dq, (dg + dg2) / 2)
    scores = {"ranking_agreement": agree, "ranking_pairs": int(decided.sum()), "replay_match": replay_match,
              "rollout_gap_mean": float(np.abs(dg).mean()), "truth_consistency": consistency,
              "ranking_ceiling": ranking_ceiling(consistency), "truth_rollouts": max(1, cfg.truth_rollouts),
              "ranking_by_gap": by_gap,
              "reference_ranking": reference_ranking(g, (dg + dg2) / 2, obs, acts, both[1], actor)}  # fmt: skip
    return scores, obs


def reference_ranking(
    g: np.ndarray, gap: np.ndarray, obs: np.ndarray, data_actions: np.ndarray, pairs: np.ndarray, actor: BehaviorActor
) -> dict:
    """The gate's ranking agreement (and by gap, as ``ranking_by_gap``) of two scorers that know no returns, for
    scale (reported, not gated): ``near_data`` rates an action by closeness to the data's own action at that state,
    ``near_behaviour`` by closeness to the continuation policy's mean action there. What they reach is what a critic
    gets from knowing only that the actions taken beat their neighbours, which is what a conservative (CQL-style)
    penalty teaches. Measured on Hopper: at chance (README, "The critic quality gate")."""
    mean = actor.act(obs)  # deterministic
    out = {}
    for name, centre in (("near_data", data_actions), ("near_behaviour", mean)):
        closeness = -((pairs - np.concatenate([centre, centre])) ** 2).sum(-1)
        _, dq, _, agree = pair_orders(g, closeness)
        out[name] = {"agreement": agree, "by_gap": ranking_by_gap(dq, gap)}
    return out


def data_window(policy: ReturnConditionedPolicy, tr, t: int) -> tuple[torch.Tensor, ...]:
    """The actor's window at step t of a dataset episode, as a rollout would have it: the last K steps' data RTG
    (scaled), states (normalised), actions (the current one zero) and timesteps, left-padded. Each (1, K, ...)."""
    K, lo = policy.K, max(0, t - policy.K + 1)
    pad = K - (t - lo + 1)
    obs = torch.as_tensor(tr.observations[lo : t + 1], dtype=torch.float32)
    states, actions = torch.zeros(1, K, obs.shape[1]), torch.zeros(1, K, tr.actions.shape[1])
    states[0, pad:] = policy.normalise(obs)
    actions[0, pad : K - 1] = torch.as_tensor(tr.actions[lo:t], dtype=torch.float32)
    rtg, timesteps, mask = torch.zeros(1, K), torch.zeros(1, K, dtype=torch.long), torch.zeros(1, K, dtype=torch.bool)
    rtg[0, pad:] = torch.as_tensor(tr.returns_to_go[lo : t + 1], dtype=torch.float32) / policy.scale
    timesteps[0, pad:] = torch.arange(lo, t + 1).clamp(max=policy.max_t)
    mask[0, pad:] = True
    return rtg, states, actions, timesteps, mask


def shifted_requests(
    policy: ReturnConditionedPolicy, data: OfflineData, task: TaskSpec, picks: dict[int, list[int]], seed: int
) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """The actor's windows at the picked steps (``data_window``, picks in order, each step once), stacked (N, K, ...),
    and their RTG shifted by delta as training draws it (N(0, sigma^2), |delta| >= 0.2, clipped to [0, 1.2 x best],
    torch seed ``seed``): (windows, shifted RTG (N, K), sign of delta (N, 1))."""
    tcfg = TrainConfig()
    windows = [data_window(policy, data.trajectories[i], t) for i, steps in picks.items() for t in sorted(set(steps))]
    w = [torch.cat(parts) for parts in zip(*windows)]
    high = tcfg.rtg_high_factor * max(data.return_stats["max"], 1.0) / policy.scale
    gen = torch.Generator().manual_seed(seed)
    rtg_p, sign = L.perturb_rtg(w[0], w[4], tcfg.sigma_for(task.name), tcfg.min_abs_delta, high, False, gen)
    return w, rtg_p, sign


@torch.no_grad()
def alignment_draws(
    policy: ReturnConditionedPolicy, data: OfflineData, task: TaskSpec, ids: list[int], cfg: QualityConfig
) -> tuple:
    """The alignment pairs' held-out states and actions (score seed ``cfg.score_seed``): (simulator states,
    observations, replay match, the actor's windows, their shifted RTG, sign of the shift (N, 1), the actor's action
    asked for the shifted RTG, its action for the RTG as it is; actions float32 (N, act_dim))."""
    picks = pick_steps(data, ids, cfg.states, np.random.default_rng([cfg.score_seed, 2]))
    sims, obs, _, replay_match = replay_states(task, data, episode_seeds(data.dataset_id), picks)
    w, rtg_p, sign = shifted_requests(policy, data, task, picks, cfg.score_seed)
    base = policy.actor(*w, last_only=True)[:, -1].numpy().astype(np.float32)
    asked = policy.actor(rtg_p, *w[1:], last_only=True)[:, -1].numpy().astype(np.float32)
    return sims, obs, replay_match, w, rtg_p, sign, asked, base


@torch.no_grad()
def alignment_pairs(
    critic: TwinCritic, data: OfflineData, task: TaskSpec, ids: list[int], cfg: QualityConfig, gamma: float
) -> dict:
    """The pairs Q-ALIGN's loss compares: at held-out states with the data's history, the actor's action for the
    data's RTG shifted by delta (drawn as in training: N(0, sigma^2), |delta| >= 0.2, clipped to [0, 1.2 x best]
    scaled) against its action for the RTG as it is. Rolled out like the ranking pairs (with ``cfg.lead_steps``
    > 1 the actor plays each branch's request that long first). Reports how often Q orders each pair as the
    rollouts do (``pair_agreement``), how often asking for more (delta > 0) gave more in the environment
    (``env_follows_request``) and in Q (``q_follows_request``), the mean action gap, and where the paper's hinge
    acts, the pairs on which Q *objects* (rates the request as not followed): their share (``objections``) and how
    often the rollouts side with Q there (``objection_agreement``; session 25: 0.24-0.40 at 20 steps, so the
    loss's corrections mostly pointed the wrong way)."""
    policy = ReturnConditionedPolicy.load(cfg.actor)
    sims, obs, _, w, rtg_p, sign, asked, base = alignment_draws(policy, data, task, ids, cfg)
    both = np.concatenate([sims, sims]), np.concatenate([asked, base])
    actor = load_actor(behavior_path(task.name, "medium"))
    lead = (lambda: actor_lead(policy, w, rtg_p, both[1])) if cfg.lead_steps > 1 else None  # noqa: E731
    g = truth(task, both, actor, cfg, gamma, lead=lead)
    dg, dq, decided, agree = pair_orders(g, q_values(critic, data, np.concatenate([obs, obs]), both[1]).min(0))
    up = sign.reshape(-1).numpy() > 0
    objects = (dq > 0) != up
    judged = objects & decided  # objected pairs whose rollouts differ at all
    return {
        "pair_agreement": agree,
        "pairs": int(decided.sum()),
        "env_follows_request": float(np.mean((dg > 0) == up)),
        "q_follows_request": float(np.mean((dq > 0) == up)),
        "action_gap": float(np.abs(asked - base).mean()),
        "actor": cfg.actor,
        "truth_rollouts": max(1, cfg.truth_rollouts),
        "lead_steps": cfg.lead_steps,
        "objections": float(objects.mean()),
        "objection_pairs": int(judged.sum()),
        "objection_agreement": order_agreement(dq[judged], dg[judged]) if judged.any() else float("nan"),
    }


def score(critic: TwinCritic, meta: dict, data: OfflineData, cfg: QualityConfig) -> dict:
    """Every score, the thresholds and the verdict, as stored in the critic's JSON."""
    task, gamma = get_task(data.task), float(meta["gamma"])
    ids = holdout_ids(len(data.trajectories), int(meta.get("holdout_every", 0)))
    if not ids:
        raise ValueError("this critic was trained on every episode: no held-out episodes to score it on")
    out = value_fit(critic, data, ids, gamma)
    ranking, obs = action_ranking(critic, data, task, ids, cfg, gamma)
    out |= ranking
    out["sensitivity"] = sensitivity(critic, data, obs, cfg.score_seed)
    if cfg.actor:
        out["alignment_pairs"] = alignment_pairs(critic, data, task, ids, cfg, gamma)
    out |= {"thresholds": GATE, "passed": passes(out), "held_out_episodes": len(ids), "config": vars(cfg)}
    return out


def score_run(cfg: QualityConfig) -> dict:
    """Score the run's critic and write the result into its JSON (``quality``)."""
    refuse(out_of_range((
        ("states", cfg.states, cfg.states >= 2, ">= 2"),
        ("horizon", cfg.horizon, cfg.horizon >= 1, ">= 1"),
        ("truth-rollouts", cfg.truth_rollouts, cfg.truth_rollouts >= 1, ">= 1"),
        ("lead-steps", cfg.lead_steps, 1 <= cfg.lead_steps <= cfg.horizon + 1, f"in [1, horizon + 1 = {cfg.horizon + 1}]"))))  # fmt: skip
    task = get_task(cfg.task)
    run = Run(task.name, cfg.dataset, cfg.seed)
    critic, meta = ckpt.load_critic(run.critic_path)
    scores = score(critic, meta, load_offline_data(task.name, cfg.dataset), cfg)
    ckpt.update_critic_meta(run.critic_path, {"quality": scores})
    return scores


def main(cfg: QualityConfig) -> dict:
    from dataclasses import replace

    cfg = replace(cfg, task=get_task(cfg.task).name)
    with tqdm(total=1, desc=f"{cfg.task}/{cfg.dataset} critic quality", unit="critic") as bar:
        scores = score_run(cfg)
        bar.update(1)
    print(gate_report(scores))
    print(json.dumps({k: v for k, v in scores.items() if k not in ("thresholds", "config")}))
    return scores


if __name__ == "__main__":
    main(tyro.cli(QualityConfig))
