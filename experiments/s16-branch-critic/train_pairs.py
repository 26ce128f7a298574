"""s16 diagnostic (read after B1's gate): how each critic orders the branch pairs B1 was *trained* on.

QDT_RUNS=$QDT_EXP/s16-branch-critic/B1 PYTHONPATH=. python experiments/s16-branch-critic/train_pairs.py
"""

import os
from pathlib import Path

import numpy as np
import torch

from core.branches import load_pairs
from core.critic_quality import order_agreement, pair_gaps, q_values, ranking_by_gap
from core.data.dataset import load_offline_data
from core.store.checkpoint import load_critic

EXP = Path(os.environ.get("QDT_EXP", "/work/exp")) / "s16-branch-critic"
torch.set_num_threads(1)
data = load_offline_data("hopper", "control")
pairs = load_pairs(data, "control", 10)  # reads $QDT_RUNS/hopper/control/branches
obs, gap = pairs["obs"].numpy(), (pairs["g1"] - pairs["g2"]).numpy()
both_obs, both = np.concatenate([obs, obs]), np.concatenate([pairs["a1"].numpy(), pairs["a2"].numpy()])
for arm in ("B0", "B1"):
    critic, _ = load_critic(EXP / arm / "hopper/control/s0/critic/critic")
    dq = pair_gaps(q_values(critic, data, both_obs, both).min(0))  # both branches, one forward
    agree = order_agreement(dq, gap)
    by_gap = [round(x, 2) for x in ranking_by_gap(dq, gap)]
    print(
        f"{arm}: sign agreement {agree:.3f}, by gap {by_gap}, correlation {np.corrcoef(dq, gap)[0, 1]:.3f}, "
        f"MSE {np.mean((dq - gap) ** 2):.1f} (variance of the gaps {gap.var():.1f}), mean |dQ| {np.abs(dq).mean():.2f}"
    )
