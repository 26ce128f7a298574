"""s17 diagnostic (read after B2's gate): how each critic orders its training pairs and the probes' 922-state test set.

PYTHONPATH=. python experiments/s17-pair-learnability/critic_pairs.py
"""

import os
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file as load_np

from core.branches import load_pairs
from core.critic_quality import q_values, ranking_by_gap
from core.data.dataset import load_offline_data
from core.store.checkpoint import load_critic

torch.set_num_threads(1)
X = Path(os.environ.get("QDT_EXP", "/work/exp"))
data = load_offline_data("hopper", "control")
os.environ["QDT_RUNS"] = str(X / "s16-branch-critic/B1")
pairs = load_pairs(data, "control", 10)
t = load_np(str(X / "s17-pair-learnability/test-pairs.safetensors"))


def agree(dq, gap):
    m = np.abs(gap) > 1e-6
    return np.mean(np.sign(dq[m]) == np.sign(gap[m]))


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
    dq = q_values(critic, data, pairs["obs"].numpy(), pairs["a1"].numpy()).min(0) - q_values(
        critic, data, pairs["obs"].numpy(), pairs["a2"].numpy()
    ).min(0)
    gap = (pairs["g1"] - pairs["g2"]).numpy()
    dqt = q_values(critic, data, t["obs"], t["a1"]).min(0) - q_values(critic, data, t["obs"], t["a2"]).min(0)
    print(
        f"{arm}: training pairs {agree(dq, gap):.3f} (mean |dQ| {np.abs(dq).mean():.2f}), test set (922) {agree(dqt, t['gap']):.3f}, "
        f"by gap {[round(x, 2) for x in ranking_by_gap(dqt, (t['gap'] + t['gap2']) / 2)]}"
    )
