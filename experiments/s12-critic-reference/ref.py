"""The gate's reference ranking on a dataset's held-out pairs, no trained critic needed (the placeholder critic's own
agreement is meaningless): python experiments/s12-critic-reference/ref.py TASK DATASET"""

import json
import sys

import torch

from core.critic_quality import QualityConfig, action_ranking
from core.data.dataset import holdout_ids, load_offline_data
from core.envs import get_task
from core.models.critic import CriticConfig, TwinCritic

task, dataset = get_task(sys.argv[1]), sys.argv[2]
data = load_offline_data(task.name, dataset)
torch.manual_seed(0)
critic = TwinCritic(CriticConfig(), data.obs_dim, data.act_dim)
ids = holdout_ids(len(data.trajectories), 10)  # the critic stage's default holdout
scores, _ = action_ranking(critic, data, task, ids, QualityConfig(task=task.name, dataset=dataset), gamma=0.99)
keep = ("reference_ranking", "truth_consistency", "ranking_ceiling", "ranking_pairs", "replay_match")
print(json.dumps({k: scores[k] for k in keep}))
