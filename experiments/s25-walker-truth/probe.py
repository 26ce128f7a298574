"""How the gate's ranking test reads when each branch's truth is the mean of several rollouts (s25 RULES.md).

    MINARI_DATASETS_PATH=... python experiments/s25-walker-truth/probe.py --task walker2d --dataset control \
        --rollouts 8 --critics W0=PATH WK0=PATH --out FILE.json

The gate's own states, pairs and continuation policy (``core.critic_quality.action_ranking``'s draws, same score
seed), each branch rolled out ``2 * rollouts`` times (seeds score_seed + k, k = 0 .. 2R-1; the gate's one rollout
is k = 0 and its consistency check k = 1). For R in 1, 2, 4, ..: truth A = mean of the even k < 2R, B = of the odd
ones; how often A and B order a pair alike (consistency), the ceiling that implies, and each critic's agreement
with A (R = 1 reproduces the gate's ranking_agreement) and with the mean of all 2R rollouts.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.behavior.policy import load_actor
from core.critic_quality import (
    QualityConfig,
    actor_lead,
    alignment_draws,
    branch_returns,
    order_agreement,
    pair_gaps,
    q_values,
    ranking_ceiling,
    ranking_draws,
)
from core.data.dataset import holdout_ids, load_offline_data
from core.envs import get_task
from core.policy import ReturnConditionedPolicy
from core.store import checkpoint as ckpt
from core.store.layout import behavior_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--rollouts", type=int, default=8, help="R: the largest number of rollouts per truth")
    ap.add_argument("--critics", nargs="+", required=True, help="NAME=path of a critic (no suffix)")
    ap.add_argument("--states", type=int, default=1024)
    ap.add_argument("--horizon", type=int, default=200)
    ap.add_argument("--score-seed", type=int, default=7)
    ap.add_argument("--out", required=True)
    ap.add_argument("--actor", default="", help="a DT checkpoint: score its alignment pairs, not the gate's")
    ap.add_argument("--lead-steps", type=int, default=1,
                    help="with --actor: the DT keeps playing its (shifted or not) request for this many steps "
                         "before the behaviour policy takes over (1: the first action only, as the gate)")  # fmt: skip
    a = ap.parse_args()
    task, data = get_task(a.task), load_offline_data(a.task, a.dataset)
    critics = {n: ckpt.load_critic(Path(p)) for n, p in (c.split("=", 1) for c in a.critics)}
    _, meta = next(iter(critics.values()))
    for key in ("holdout_every", "gamma"):
        if len({m[key] for _, m in critics.values()}) > 1:
            raise SystemExit(f"the critics differ in {key}: score them in separate runs")
    gamma = float(meta["gamma"])
    ids = holdout_ids(len(data.trajectories), int(meta["holdout_every"]))
    up, lead, cfg = None, None, QualityConfig(states=a.states, score_seed=a.score_seed)
    if a.actor:  # alignment_pairs' draws: (asked, base), "more" where delta > 0
        policy = ReturnConditionedPolicy.load(Path(a.actor))
        sims, obs, match, w, rtg_p, sign, a1, a2 = alignment_draws(policy, data, task, ids, cfg)
        up = sign.reshape(-1).numpy() > 0
        if a.lead_steps > 1:
            lead = lambda: actor_lead(policy, w, rtg_p, np.concatenate([a1, a2]))  # noqa: E731
    else:  # the gate's draws
        sims, obs, _, match, a1, a2 = ranking_draws(data, task, ids, cfg)
    actor = load_actor(behavior_path(task.name, "medium"))
    both = np.concatenate([sims, sims]), np.concatenate([a1, a2])
    dq = {n: pair_gaps(q_values(c, data, np.concatenate([obs, obs]), both[1]).min(0)) for n, (c, _) in critics.items()}
    runs = []
    for k in tqdm(range(2 * a.rollouts), desc=f"{task.name}/{a.dataset} rollouts", unit="rollout"):
        g = branch_returns(task, *both, actor, a.horizon, gamma, a.score_seed + k, lead() if lead else None,
                           a.lead_steps)  # fmt: skip
        runs.append(pair_gaps(g))
    runs = np.stack(runs)  # (2R, pairs): each rollout's first-minus-second gap
    out = {"task": task.name, "dataset": a.dataset, "pairs": len(a1), "replay_match": match, "rows": []}
    r = 1
    while r <= a.rollouts:
        ga, gb, gall = runs[0 : 2 * r : 2].mean(0), runs[1 : 2 * r : 2].mean(0), runs[: 2 * r].mean(0)
        both_dec = (np.abs(ga) > 1e-6) & (np.abs(gb) > 1e-6)
        cons = float(np.mean(np.sign(ga[both_dec]) == np.sign(gb[both_dec])))
        row = {"rollouts": r, "consistency": cons, "ceiling": ranking_ceiling(cons),
               "decided": int((np.abs(ga) > 1e-6).sum()),
               "agreement": {n: order_agreement(d, ga) for n, d in dq.items()},
               f"agreement_vs_{2 * r}": {n: order_agreement(d, gall) for n, d in dq.items()}}  # fmt: skip
        if up is not None:
            row["env_follows"] = float(np.mean((ga > 0) == up))
            row["q_follows"] = {n: float(np.mean((d > 0) == up)) for n, d in dq.items()}
            row["action_gap"] = float(np.abs(a1 - a2).mean())
            # The pairs the alignment loss acts on: Q says the request was not followed. Is the environment with Q?
            row["env_agrees_where_q_objects"] = {n: order_agreement(d[(d > 0) != up], ga[(d > 0) != up])
                                                 for n, d in dq.items()}  # fmt: skip
        out["rows"].append(row)
        print(json.dumps(row))
        r *= 2
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    extra = {} if up is None else {"up": up}
    np.savez_compressed(Path(a.out).with_suffix(".npz"), gaps=runs, **{f"dq_{n}": d for n, d in dq.items()}, **extra)


if __name__ == "__main__":
    main()
