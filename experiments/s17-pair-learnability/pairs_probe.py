"""s17: can the order of a branch pair be learnt from (s, a1, a2) with session 16's 16,249 Hopper `control` pairs?

    PYTHONPATH=. python experiments/s17-pair-learnability/pairs_probe.py test        # build the test set once
    PYTHONPATH=. python experiments/s17-pair-learnability/pairs_probe.py probe NAME  # one probe (see RULES.md)

Probes are small MLPs trained on the pairs alone (no SARSA); the test set is the gate's construction on its
held-out episodes with 1,024 states. Results append to $QDT_EXP/s17-pair-learnability/results.jsonl.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file as load_np
from safetensors.numpy import save_file as save_np
from safetensors.torch import load_file

from core.behavior.policy import load_actor
from core.critic_quality import (
    QualityConfig,
    order_agreement,
    pair_gaps,
    perturbed_pair,
    pick_steps,
    ranking_by_gap,
    ranking_ceiling,
    replay_states,
    truth,
)
from core.data.dataset import holdout_ids, load_offline_data
from core.data.minari_io import episode_seeds
from core.envs import get_task
from core.store.layout import behavior_path

EXP = Path(os.environ.get("QDT_EXP", "/work/exp")) / "s17-pair-learnability"
PAIRS = Path(os.environ.get("QDT_EXP", "/work/exp")) / "s16-branch-critic/B1/hopper/control/branches"
TEST = EXP / "test-pairs.safetensors"
GAMMA = 0.99
torch.set_num_threads(1)
data = load_offline_data("hopper", "control")


def build_test() -> None:
    """The gate's pairs (core.critic_quality.action_ranking) on 1,024 held-out states, both rollouts kept."""
    cfg = QualityConfig(task="hopper", dataset="control", states=1024)
    task = get_task("hopper")
    rng = np.random.default_rng(cfg.score_seed)
    ids = holdout_ids(len(data.trajectories), 10)
    picks = pick_steps(data, ids, cfg.states, rng)
    sims, obs, acts, match = replay_states(task, data, episode_seeds(data.dataset_id), picks)
    a1, a2 = perturbed_pair(acts, rng)
    actor = load_actor(behavior_path("hopper", "medium"))
    both = np.concatenate([sims, sims]), np.concatenate([a1, a2])
    g = truth(task, both, actor, cfg, GAMMA)
    g2 = truth(task, both, actor, cfg, GAMMA, offset=1)
    EXP.mkdir(parents=True, exist_ok=True)
    out = {"obs": obs, "a1": a1, "a2": a2, "gap": pair_gaps(g), "gap2": pair_gaps(g2)}
    save_np({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}, str(TEST))
    print(f"test set: {len(obs)} pairs, replay match {match:.3f}")


class Probe(torch.nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, grad: bool):
        super().__init__()
        self.grad = grad
        width_in = obs_dim if grad else obs_dim + act_dim
        self.net = torch.nn.Sequential(
            torch.nn.Linear(width_in, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
            torch.nn.Linear(256, act_dim if grad else 1),
        )  # fmt: skip

    def forward(self, s, a1, a2):
        if self.grad:
            return (self.net(s) * (a1 - a2)).sum(-1)
        return (self.net(torch.cat([s, a1], -1)) - self.net(torch.cat([s, a2], -1))).squeeze(-1)


def probe(name: str, epochs: int = 60) -> None:
    """One probe, e.g. sign-100-0 (loss, percent of the training chunks, seed); with ``epochs`` other than 60 it
    also prints the held-out chunks' and the test set's agreement every 25 epochs (how fast the pairs overfit)."""
    kind, frac, seed = name.split("-")
    torch.manual_seed(int(seed))
    norm = lambda o: torch.as_tensor((o - data.obs_mean) / data.obs_std, dtype=torch.float32)  # noqa: E731
    chunks = sorted(PAIRS.glob("chunk-*.safetensors"))
    val = [c for i, c in enumerate(chunks) if i % 10 == 9]
    train = [c for i, c in enumerate(chunks) if i % 10 != 9]
    train = train[: max(1, round(len(train) * int(frac) / 100))]

    def cat(paths):
        parts = [load_file(str(p)) for p in paths]
        p = {k: torch.cat([x[k] for x in parts]) for k in parts[0]}
        return norm(p["obs"].numpy()), p["a1"], p["a2"], p["g1"] - p["g2"]

    tr, va = cat(train), cat(val)
    t = load_np(str(TEST))
    te = norm(t["obs"]), torch.as_tensor(t["a1"]), torch.as_tensor(t["a2"])
    model = Probe(data.obs_dim, data.act_dim, grad=kind == "grad")
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    n, best, started = len(tr[3]), (-1.0, None, 0), time.time()
    for epoch in range(epochs):
        model.train()
        for idx in torch.randperm(n).split(256):
            dq = model(tr[0][idx], tr[1][idx], tr[2][idx])
            gap = tr[3][idx]
            if kind == "mse":
                loss = ((dq - gap) ** 2).mean()
            else:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(dq, (gap > 0).float())
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            v = order_agreement(model(*va[:3]).numpy(), va[3].numpy())
            if v > best[0]:
                best = (v, model(*te).numpy(), epoch)
            if epochs != 60 and (epoch + 1) % 25 == 0:
                print(
                    f"epoch {epoch + 1}: held-out chunks {v:.3f}, test {order_agreement(model(*te).numpy(), t['gap']):.3f}"
                )
    with torch.no_grad():
        fit = order_agreement(model(*tr[:3]).numpy(), tr[3].numpy())
    dq = best[1]
    consistency = order_agreement(t["gap"], t["gap2"])
    row = {
        "probe": name, "epochs": epochs, "train_pairs": n, "val_pairs": len(va[3]), "best_epoch": best[2], "val_agreement": best[0],
        "train_agreement_last": fit, "test_agreement": order_agreement(dq, t["gap"]),
        "test_agreement_mean_truth": order_agreement(dq, (t["gap"] + t["gap2"]) / 2),
        "test_by_gap": ranking_by_gap(dq, (t["gap"] + t["gap2"]) / 2), "truth_consistency": consistency,
        "ceiling": ranking_ceiling(consistency), "seconds": round(time.time() - started),
    }  # fmt: skip
    print(json.dumps(row))
    with open(EXP / "results.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    build_test() if sys.argv[1] == "test" else probe(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 60)
