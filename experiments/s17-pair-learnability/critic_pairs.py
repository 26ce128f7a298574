"""s17 diagnostic (read after B2's gate): how each critic orders its training pairs and the probes' 922-state test set.

PYTHONPATH=. python experiments/s17-pair-learnability/critic_pairs.py
"""

import os
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file as load_np

from core.branches import load_pairs
from core.critic_quality import order_agreement, pair_gaps, q_values, ranking_by_gap
from core.data.dataset import load_offline_data
from core.store.checkpoint import load_critic

torch.set_num_threads(1)
X = Path(os.environ.get("QDT_EXP", "/work/exp"))
data = load_offline_data("hopper", "control")
os.environ["QDT_RUNS"] = str(X / "s16-branch-critic/B1")
pairs = load_pairs(data, "control", 10)
t = load_np(str(X / "s17-pair-learnability/test-pairs.safetensors"))
gap, mean_gap = (pairs["g1"] - pairs["g2"]).numpy(), (t["gap"] + t["gap2"]) / 2


def dq_of(critic, obs, a1, a2) -> np.ndarray:
    """min-head Q(s, a1) - Q(s, a2), both branches in one forward."""
    return pair_gaps(q_values(critic, data, np.concatenate([obs, obs]), np.concatenate([a1, a2])).min(0))


ARMS = {
    "B0": "s16-branch-critic/B0",
    "B1": "s16-branch-critic/B1",
    "B2": "s17-pair-learnability/B2",
    "B3": "s17-pair-learnability/B3",
}
for arm, path in ARMS.items():
    if not (X / path / "hopper/control/s0/critic/critic.json").exists():
        continue
    critic, _ = load_critic(X / path / "hopper/control/s0/critic/critic")
    dq = dq_of(critic, pairs["obs"].numpy(), pairs["a1"].numpy(), pairs["a2"].numpy())
    dqt = dq_of(critic, t["obs"], t["a1"], t["a2"])
    print(
        f"{arm}: training pairs {order_agreement(dq, gap):.3f} (mean |dQ| {np.abs(dq).mean():.2f}), "
        f"test set (922) {order_agreement(dqt, t['gap']):.3f}, by gap {[round(x, 2) for x in ranking_by_gap(dqt, mean_gap)]}"
    )
