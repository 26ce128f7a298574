"""Paired branch rollouts (``core.branches``) and the critic's paired-branch loss: made from training states only,
resumed by chunk, refused when they do not belong to the data, and a loss that teaches Q the order it is shown."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from core.branches import BranchConfig, generate, load_pairs
from core.data.dataset import holdout_ids, load_offline_data
from core.data.windows import PairSampler
from core.models.critic import CriticConfig, TwinCritic
from core.store.layout import branches_dir
from core.training import losses as L
from core.training.config import TrainConfig, preset
from core.training.driver import run_stage
from core.training.records import critic_meta
from core.training.updates import CriticState
from tests.conftest import run_cli

TINY = BranchConfig(task="hopper", dataset="medium", pairs=6, chunk=4, horizon=5)


def test_pair_loss_by_hand_fits_only_the_difference():
    q1 = torch.tensor([[3.0, 1.0], [2.0, 0.0]])  # (2 heads, 2 pairs)
    q2 = torch.tensor([[1.0, 1.0], [2.0, 1.0]])
    gap = torch.tensor([2.0, 0.0])
    # head 0: errors (2 - 2, 0 - 0) -> 0; head 1: errors (0 - 2, -1 - 0) -> (4 + 1) / 2
    assert L.pair_loss(q1, q2, gap).item() == pytest.approx(2.5)
    assert L.pair_loss(q1 + 7.0, q2 + 7.0, gap).item() == pytest.approx(2.5)  # the level is not asked about


def test_logistic_pair_loss_by_hand_asks_only_the_order():
    q1 = torch.tensor([[3.0, 1.0], [2.0, 0.0]])  # (2 heads, 2 pairs): differences (2, 0) and (0, -1)
    q2 = torch.tensor([[1.0, 1.0], [2.0, 1.0]])
    gap = torch.tensor([2.0, 0.0])  # first branch won, then a tie (target 1/2)
    nll = lambda z, y: y * np.log1p(np.exp(-z)) + (1 - y) * np.log1p(np.exp(z))  # noqa: E731
    want = (nll(2, 1) + nll(0, 0.5)) / 2 + (nll(0, 1) + nll(-1, 0.5)) / 2
    assert L.pair_loss(q1, q2, gap, "logistic").item() == pytest.approx(want, rel=1e-6)
    assert L.pair_loss(q1, q2, gap * 100, "logistic").item() == pytest.approx(want, rel=1e-6)  # size of gap: no
    assert L.pair_loss(q1 + 7.0, q2 + 7.0, gap, "logistic").item() == pytest.approx(want, rel=1e-6)
    with pytest.raises(ValueError, match="mse or logistic"):
        L.pair_loss(q1, q2, gap, "hinge")


def test_pairs_come_from_training_states_and_resume_by_chunk(with_behaviour):
    root = generate(TINY)
    meta = json.loads((root / "pairs.json").read_text())
    assert meta["chunks"] == 2 and meta["settings"]["horizon"] == 5 and meta["settings"]["holdout_every"] == 10
    data = load_offline_data("hopper", "medium")
    pairs = load_pairs(data, "medium", 10)
    assert pairs["obs"].shape == (8, data.obs_dim) and pairs["a1"].shape == (8, data.act_dim)
    assert not torch.equal(pairs["a1"], pairs["a2"]) and pairs["a1"].abs().max() <= 1.0
    held = {tuple(np.round(o, 6)) for i in holdout_ids(len(data.trajectories), 10)
            for o in data.trajectories[i].observations}  # fmt: skip
    assert not any(tuple(np.round(o, 6)) in held for o in pairs["obs"].numpy())  # never a state the gate scores
    train = {tuple(np.round(o, 6)) for t in data.trajectories for o in t.observations}
    assert all(tuple(np.round(o, 6)) in train for o in pairs["obs"].numpy())  # replayed states are the data's
    stamps = [p.stat().st_mtime_ns for p in sorted(root.glob("chunk-*"))]
    generate(replace(TINY, pairs=12))  # one more chunk; the first two untouched
    assert [p.stat().st_mtime_ns for p in sorted(root.glob("chunk-*"))][:2] == stamps
    assert len(load_pairs(data, "medium", 10)["g1"]) == 12
    with pytest.raises(ValueError, match="other settings"):
        generate(replace(TINY, horizon=6))
    with pytest.raises(ValueError, match="--cfg.critic-holdout-every 10"):
        load_pairs(data, "medium", 5)
    for chunk in root.glob("chunk-*"):
        chunk.unlink()
    with pytest.raises(ValueError, match="no chunk of pairs: rerun `python -m core.branches --task hopper"):
        load_pairs(data, "medium", 10)


def test_the_critic_trains_on_pairs_and_says_so(with_behaviour):
    cfg = replace(preset("tiny"), critic_pair_weight=1.0, critic_pair_batch=4)
    with pytest.raises(ValueError, match="python -m core.branches --task hopper --dataset medium"):
        run_stage("critic", "hopper", "medium", cfg, resume=False)
    run_cli("core.branches", "--task", "hopper", "--dataset", "medium", "--pairs", "4", "--chunk", "4",
            "--horizon", "3")  # fmt: skip
    res = run_stage("critic", "hopper", "medium", cfg, resume=False)
    meta = json.loads(with_behaviour.critic_path.with_suffix(".json").read_text())
    assert meta["branch_pairs"] == 4 and meta["objective"] == "sarsa + branch pairs x1"
    assert "losses/critic_pair" in res.metrics
    res = run_stage("qalign", "hopper", "medium", replace(cfg, align_steps=2), resume=False, allow_weak_critic=True)
    assert "losses/critic_pair" in res.metrics  # the alignment stage's critic keeps the pairs
    logistic = replace(cfg, critic_pair_weight=10.0, critic_pair_loss="logistic")
    data = load_offline_data("hopper", "medium")
    assert critic_meta(data, logistic, 1, {}, pairs=4)["objective"] == "sarsa + branch pairs x10 (logistic)"


@pytest.mark.parametrize("kind", ["mse", "logistic"])
def test_the_pair_loss_teaches_q_the_order_of_the_pairs(kind):
    """A critic trained on the pair loss alone, on pairs whose outcome favours the action with the larger first
    component, orders fresh pairs that way; a critic trained on the reversed gaps orders them the other way."""
    gen = torch.Generator().manual_seed(0)
    obs = torch.randn(512, 3, generator=gen)
    a1, a2 = torch.rand(512, 2, generator=gen) * 2 - 1, torch.rand(512, 2, generator=gen) * 2 - 1
    fresh = torch.randn(256, 3, generator=gen), torch.rand(256, 2, generator=gen) * 2 - 1
    fresh_b = torch.rand(256, 2, generator=gen) * 2 - 1
    agreement = {}
    for sign in (1.0, -1.0):
        pairs = {"obs": obs, "a1": a1, "a2": a2, "g1": sign * 5 * a1[:, 0], "g2": sign * 5 * a2[:, 0]}
        sampler = PairSampler(pairs, np.zeros(3), np.ones(3), torch.Generator().manual_seed(1), "cpu")
        cfg = TrainConfig(critic=CriticConfig(hidden=32), critic_pair_weight=1.0, critic_pair_batch=64,
                          critic_pair_loss=kind)  # fmt: skip
        torch.manual_seed(0)
        cs = CriticState(cfg, 3, 2, TwinCritic(cfg.critic, 3, 2))
        for _ in range(300):
            loss, _ = cs.pair_term(sampler, cfg)
            cs.step(loss)
        with torch.no_grad():
            dq = cs.critic(fresh[0], fresh[1]).min(0).values - cs.critic(fresh[0], fresh_b).min(0).values
        agreement[sign] = float(((dq > 0) == (fresh[1][:, 0] > fresh_b[:, 0])).float().mean())
    assert agreement[1.0] > 0.9 and agreement[-1.0] < 0.1


def test_branch_options_out_of_range_are_refused_by_name(roots):
    with pytest.raises(ValueError, match="--horizon must be >= 1") as err:
        generate(replace(TINY, horizon=0, chunk=1))
    assert "--chunk must be >= 2" in str(err.value)
    assert branches_dir("hopper", "qalign/hopper/medium-v0").name == "branches"
    assert "--cfg.critic-pair-weight must be >= 0" in TrainConfig(critic_pair_weight=-1).problems()[0]
