"""How far does the Q-ALIGN stage move the actor, and does it change what the critic sees of the request?
Descriptive (session 24; decides nothing): no simulator, existing models only.

    python experiments/s24-branch-ladder/probe.py --models H5=DT_PATH HQ5=QA_PATH ... --critics sarsa=CRITIC ...

At held-out windows of the data (the gate's construction: every 10th episode, 1,024 draws of a step, the data's own
history), each actor acts for the data's RTG and for it shifted by delta (drawn as in training). Per actor: how often
min_i Q(s, a(R + delta)) - min_i Q(s, a(R)) has delta's sign (``q_follows``) for each critic, the alignment loss the
stage minimises (relu of the wrong-way change, min over heads, mean), and the mean |a(R + delta) - a(R)|. Per pair of
actors: mean |a_X(R) - a_Y(R)|, to set the Q-ALIGN stage's change beside a training seed's.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.critic_quality import pick_steps, shifted_requests  # noqa: E402
from core.data.dataset import holdout_ids, load_offline_data  # noqa: E402
from core.envs import get_task  # noqa: E402
from core.policy import ReturnConditionedPolicy  # noqa: E402
from core.store.checkpoint import load_critic  # noqa: E402


def named(pairs: list[str]) -> dict[str, str]:
    return dict(p.split("=", 1) for p in pairs)


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="hopper")
    ap.add_argument("--dataset", default="ladder-pure")
    ap.add_argument("--models", nargs="+", required=True, help="NAME=model path (without suffix)")
    ap.add_argument("--critics", nargs="+", required=True, help="NAME=critic path (without suffix)")
    ap.add_argument("--states", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    task, data = get_task(args.task), load_offline_data(args.task, args.dataset)
    ids = holdout_ids(len(data.trajectories), 10)
    picks = pick_steps(data, ids, args.states, np.random.default_rng([args.seed, 2]))
    steps = [(i, t) for i, ts in picks.items() for t in sorted(set(ts))]
    obs = torch.as_tensor(np.array([data.trajectories[i].observations[t] for i, t in steps]), dtype=torch.float32)
    s = (obs - torch.as_tensor(data.obs_mean, dtype=torch.float32)) / torch.as_tensor(data.obs_std, dtype=torch.float32)
    critics = {k: load_critic(Path(v))[0].eval() for k, v in named(args.critics).items()}
    out, base = {"states": len(steps), "models": {}}, {}
    for name, path in named(args.models).items():
        policy = ReturnConditionedPolicy.load(path)
        w, rtg_p, sign = shifted_requests(policy, data, task, picks, args.seed)  # the same deltas for every actor
        a0 = policy.actor(*w, last_only=True)[:, -1]
        a1 = policy.actor(rtg_p, *w[1:], last_only=True)[:, -1]
        base[name] = a0
        row = {"action_move": float((a1 - a0).abs().mean())}
        sg = sign.reshape(-1)
        for cname, critic in critics.items():
            q0, q1 = critic(s, a0), critic(s, a1)  # (2, N) each
            dq = q1.min(0).values - q0.min(0).values
            wrong = torch.relu(-sg * (q1 - q0)).min(0).values  # per state, the loss's form (min over heads)
            row[cname] = {
                "q_follows": float(((dq > 0) == (sg > 0))[sg != 0].float().mean()),
                "align_loss": float(wrong.mean()),
                "mean_dq_up": float(dq[sg > 0].mean()),
                "mean_dq_down": float(dq[sg < 0].mean()),
            }
        out["models"][name] = row
        print(name, json.dumps(row))
    out["action_gaps"] = {
        f"{x}-{y}": float((base[x] - base[y]).abs().mean()) for x, y in itertools.combinations(base, 2)
    }
    for k, v in out["action_gaps"].items():
        print(f"|a_{k}| {v:.4f}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
