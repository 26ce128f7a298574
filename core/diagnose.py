"""Why does (or doesn't) alignment work? Probe the critic and the actors on dataset windows.

    python -m core.diagnose --task hopper --dataset medium

Prints, for the SARSA-pretrained critic and the critic as fine-tuned by the Q-ALIGN stage:
Q(s, pi(R + d)) averaged over windows for RTG shifts d (scaled units), how much the actions move
between d = -1 and d = +1, and the Spearman correlation of Q(s, a_data) with the realised return-to-go.
For each actor also how much its last action moves when the window's *history* (every step before the last:
states, actions) is taken from another window of the data, the current state and the RTG kept: where that is far
larger than the RTG's effect, the model copies its own recent past and a request barely steers it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import tyro

from core.data.dataset import load_offline_data
from core.data.windows import FlatData, WindowSampler
from core.envs import get_task
from core.metrics import spearman
from core.models.critic import TwinCritic
from core.store.checkpoint import has_state, load_critic, load_model, load_state
from core.store.layout import Run
from core.training.config import preset

SHIFTS = (-1.0, -0.5, 0.0, 0.5, 1.0)


@dataclass(frozen=True)
class DiagnoseConfig:
    """Critic/actor probe on dataset windows."""

    task: str = "hopper"
    dataset: str = "medium"
    seed: int = 0
    """Training seed of the run to probe."""
    windows: int = 256
    """Dataset windows sampled (generator seed 123)."""


def masked(x: torch.Tensor, mask: torch.Tensor) -> float:
    return float((x * mask).sum() / mask.sum())


@torch.no_grad()
def history_move(actor, w) -> float:
    """Mean |change of the last action| when every step before the last comes from another full window (a fixed
    permutation), the last state, the RTGs and the timesteps kept; nan when fewer than two windows are full."""
    full = torch.nonzero(w.mask.all(1)).flatten()
    if len(full) < 2:
        return float("nan")
    perm = full[torch.roll(torch.arange(len(full)), 1)]
    states, actions = w.states[full].clone(), w.actions[full].clone()
    states[:, :-1], actions[:, :-1] = w.states[perm, :-1], w.actions[perm, :-1]
    rtg, steps, mask = w.rtg[full], w.timesteps[full], w.mask[full]
    own = actor(rtg, w.states[full], w.actions[full], steps, mask)[:, -1]
    other = actor(rtg, states, actions, steps, mask)[:, -1]
    return float((own - other).abs().mean())


def probe(cfg: DiagnoseConfig) -> dict:
    task = get_task(cfg.task)
    data = load_offline_data(task.name, cfg.dataset)
    run = Run(task.name, cfg.dataset, cfg.seed)
    actors = {k: load_model(run.shipped_model(k))[0] for k in ("dt", "qalign")}
    K = actors["dt"].cfg.context_len
    w = WindowSampler(FlatData(data, task.rtg_scale), K, torch.Generator().manual_seed(123)).sample(cfg.windows)
    high = preset("cpu").rtg_high_factor * data.return_stats["max"] / task.rtg_scale
    critics = {"pretrained": load_critic(run.critic_path)[0]}
    if has_state(run.stage_dir("qalign")):  # the critic as the alignment stage left it
        tuned = TwinCritic(critics["pretrained"].cfg, data.obs_dim, data.act_dim)
        load_state(run.stage_dir("qalign"), {"critic": tuned}, {})
        critics["after Q-ALIGN"] = tuned
    out = {}
    with torch.no_grad():
        for cname, critic in critics.items():
            q_data = critic(w.states, w.actions).min(0).values[w.mask]
            rho = spearman(q_data.numpy(), w.rtg[w.mask].numpy())
            print(f"critic {cname}: Spearman(Q(s, a_data), realised RTG) = {rho:.3f}")
            for kind, actor in actors.items():
                acts = {
                    d: actor((w.rtg + d).clamp(0, high) * w.mask, w.states, w.actions, w.timesteps, w.mask)
                    for d in SHIFTS
                }
                qs = [masked(critic(w.states, acts[d]).min(0).values, w.mask) for d in SHIFTS]
                move = masked((acts[1.0] - acts[-1.0]).abs().mean(-1), w.mask)
                history = history_move(actor, w)
                print(
                    f"  {kind:>6}: Q(s, pi(R+d)) for d={SHIFTS}: {[round(q, 2) for q in qs]}; "
                    f"mean |a(R+1) - a(R-1)| = {move:.3f}; last action, history swapped: {history:.3f}"
                )
                out[(cname, kind)] = {"q": qs, "action_move": move, "critic_rank": rho, "history_move": history}
    return out


if __name__ == "__main__":
    probe(tyro.cli(DiagnoseConfig))
