"""Paired branch rollouts from our simulator: what two nearby actions at a dataset state went on to earn.

    python -m core.branches --task hopper --dataset control --pairs 16000

A critic trained on the data alone orders nearby actions at chance (README, "The critic quality gate"): the data
shows one action per state, so nothing tells Q which of two close actions the environment rewards more. Our data
comes from our own simulator, so that can be measured instead: at a state of a *training* episode (replayed from
its reset seed), two actions a1, a2 = clip(a + N(0, 0.3^2)) are each played, followed by ``horizon`` steps of
the medium behaviour policy with the same noise on both branches (common random numbers, so the difference of
the two returns carries little of the continuation's noise). The critic stage can then regress
Q(s, a1) - Q(s, a2) on g1 - g2 beside its SARSA loss (``--cfg.critic-pair-weight``).

This is the gate's own construction (``core.critic_quality``), on other episodes with other rollout seeds: the
gate's held-out episodes (every ``holdout_every``-th) are never used here, and the critic stage refuses pairs
whose held-out episodes differ from its own. Because the training signal is the gate's kind of question, a critic
that passes the gate this way is weaker evidence than one that passes from the data alone; what it does to
Q-ALIGN DT's returns is the test that counts.

Written in chunks (``chunk-NNNNN.safetensors``) under ``runs/<task>/<dataset>/branches/`` with ``pairs.json``
(settings and the data's fingerprint); a stopped run resumes at the next chunk.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import tyro
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from core.behavior.policy import BehaviorActor, load_actor
from core.checks import out_of_range, refuse
from core.critic_quality import PERTURB_STD, branch_returns, perturbed_pair, pick_steps, replay_states
from core.data.dataset import OfflineData, holdout_ids, load_offline_data
from core.data.fingerprint import fingerprint
from core.data.minari_io import episode_seeds
from core.envs import get_task
from core.store.layout import behavior_path, branches_dir

FORMAT = "qalign-branch-pairs-v1"
SEED_BASE = 1_000_000
"""Rollout seeds here are seed * SEED_BASE + chunk: far from the gate's (score_seed + 0..2R, single digits)."""


@dataclass(frozen=True)
class BranchConfig:
    """Roll out paired branches at training states of one dataset."""

    task: str = "hopper"
    dataset: str = "control"
    pairs: int = 16_000
    """Pairs to have in all (a resumed run adds chunks up to this)."""
    horizon: int = 200
    """Behaviour-policy steps after each branch's first action (the gate's)."""
    gamma: float = 0.99
    """Discount of the branches' returns (the critic's)."""
    chunk: int = 512
    """Pairs per saved chunk (1,024 simulators at once)."""
    holdout_every: int = 10
    """Episodes the gate scores on and the pairs never use (the critic's ``critic_holdout_every``)."""
    seed: int = 1000
    """Seeds the states, perturbations and rollout noise."""

    def settings(self, data: OfflineData) -> dict:
        """What must match for chunks to belong to one set (pairs and chunk size may grow)."""
        keep = ("horizon", "gamma", "chunk", "holdout_every", "seed")
        return {"format": FORMAT, "task": data.task, "dataset_id": data.dataset_id, "data": fingerprint(data),
                "perturb_std": PERTURB_STD, "continuation": "medium behaviour policy",
                **{k: v for k, v in asdict(self).items() if k in keep}}  # fmt: skip


def chunk_path(root: Path, c: int) -> Path:
    return root / f"chunk-{c:05d}.safetensors"


def make_chunk(
    cfg: BranchConfig, data: OfflineData, train: list[int], actor: BehaviorActor, c: int
) -> dict[str, torch.Tensor]:
    """One chunk of pairs at states of the ``train`` episodes, continued by ``actor``: raw observations (n, obs_dim),
    both actions (n, act_dim), both returns (n,)."""
    task = get_task(data.task)
    rng = np.random.default_rng([cfg.seed, c])
    sims, obs, acts, match = replay_states(task, data, episode_seeds(data.dataset_id), pick_steps(data, train,
                                                                                                  cfg.chunk, rng))  # fmt: skip
    if match < 1.0:
        raise RuntimeError(f"replay does not reproduce {data.dataset_id} ({match:.3f} of states match): rebuild it")
    a1, a2 = perturbed_pair(acts, rng)
    g = branch_returns(task, np.concatenate([sims, sims]), np.concatenate([a1, a2]), actor, cfg.horizon, cfg.gamma,
                       cfg.seed * SEED_BASE + c)  # fmt: skip
    n = len(obs)
    f32 = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32)  # noqa: E731
    return {"obs": f32(obs), "a1": f32(a1), "a2": f32(a2), "g1": f32(g[:n]), "g2": f32(g[n:])}


def generate(cfg: BranchConfig) -> Path:
    """Roll out chunks until ``cfg.pairs`` exist; returns the folder."""
    refuse(out_of_range((
        ("pairs", cfg.pairs, cfg.pairs >= 1, ">= 1"),
        ("horizon", cfg.horizon, cfg.horizon >= 1, ">= 1"),
        ("gamma", cfg.gamma, 0 < cfg.gamma <= 1, "in (0, 1]"),
        ("chunk", cfg.chunk, cfg.chunk >= 2, ">= 2"),
        ("holdout-every", cfg.holdout_every, cfg.holdout_every >= 2, ">= 2 (the gate needs held-out episodes)"))))  # fmt: skip
    task = get_task(cfg.task)
    data = load_offline_data(task.name, cfg.dataset)
    root = branches_dir(task.name, cfg.dataset)
    root.mkdir(parents=True, exist_ok=True)
    meta_path, settings = root / "pairs.json", cfg.settings(data)
    if meta_path.exists():
        old = json.loads(meta_path.read_text())
        if old.get("settings") != settings:
            raise ValueError(f"{root} holds pairs made with other settings or data ({old.get('settings')}); "
                             "move it away to make a new set")  # fmt: skip
    held = set(holdout_ids(len(data.trajectories), cfg.holdout_every))
    train = [i for i in range(len(data.trajectories)) if i not in held]
    actor = load_actor(behavior_path(task.name, "medium"))  # the gate's continuation policy, read once
    chunks = -(-cfg.pairs // cfg.chunk)
    with tqdm(total=chunks, desc=f"{task.name}/{cfg.dataset} branch pairs", unit="chunk") as bar:
        for c in range(chunks):
            path = chunk_path(root, c)
            if not path.exists():
                tmp = path.with_suffix(".tmp")
                save_file(make_chunk(cfg, data, train, actor, c), str(tmp))
                tmp.replace(path)  # atomic: a kill never leaves half a chunk
            meta_path.write_text(json.dumps({"settings": settings, "chunks": c + 1}, indent=1))
            bar.update(1)
    return root


def load_pairs(data: OfflineData, dataset: str, holdout_every: int) -> dict[str, torch.Tensor]:
    """Every saved chunk of the dataset's pairs, concatenated; refuses pairs of other data or other held-out
    episodes (the gate's states must stay unseen)."""
    root = branches_dir(data.task, dataset)
    meta_path = root / "pairs.json"
    make = f"python -m core.branches --task {data.task} --dataset {dataset}"
    if not meta_path.exists():
        raise ValueError(f"no branch pairs for {data.task}/{dataset} ({meta_path}): run `{make}` first")
    s = json.loads(meta_path.read_text())["settings"]
    if s.get("data") != fingerprint(data):
        raise ValueError(f"the branch pairs in {root} were rolled out from other data: rerun `{make}` in a new folder")
    if s.get("holdout_every") != holdout_every:
        raise ValueError(f"the branch pairs in {root} hold out every {s.get('holdout_every')}th episode, the critic "
                         f"every {holdout_every}th: pass --cfg.critic-holdout-every {s.get('holdout_every')}")  # fmt: skip
    parts = [load_file(str(p)) for p in sorted(root.glob("chunk-*.safetensors"))]
    if not parts:
        raise ValueError(f"{root} has settings but no chunk of pairs: rerun `{make}`")
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def main(cfg: BranchConfig) -> Path:
    root = generate(cfg)
    print(f"branch pairs in {root}")
    return root


if __name__ == "__main__":
    main(tyro.cli(BranchConfig))
