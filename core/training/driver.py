"""One driver runs every training stage: ``critic`` (SARSA), ``dt`` (BC baseline) and ``qalign``.

A ``Stage`` says what differs between stages (modules, the update, where it starts, what it ships);
``drive`` does the rest the same way for all of them: resume, the step loop, logging, saving, shipping.

Fairness by construction (``actor_stage``): both models are the same ``ActorState`` built from the same
seed and data, stepped by the same loop. The ``dt`` stage runs ``dt_update`` for ``pretrain_steps +
align_steps`` and keeps its state at ``pretrain_steps``; ``qalign`` starts from exactly that state (weights,
EMA, optimiser, RNGs) and runs ``QAlign.update`` for the last ``align_steps``. Only that update differs.
Shipped weights: the final EMA actor (fixed in advance; no selection by any evaluation).

Every stage also runs under ``torchrun`` (``core.training.distributed``): modules are wrapped in DDP, each
rank samples from its own seed, rank 0 alone logs and saves.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from core.checks import refuse
from core.data.dataset import OfflineData, holdout_ids, load_offline_data, without
from core.data.windows import FlatData, PairSampler, TransitionSampler, WindowSampler
from core.envs import get_task
from core.seeding import set_seed
from core.store import checkpoint as ckpt
from core.store.layout import Run
from core.training import precision
from core.training.config import TrainConfig
from core.training.distributed import (
    Dist,
    finish,
    gather_rngs,
    generator,
    per_rank_dropout,
    restore_rngs,
    setup,
    teardown,
)
from core.training.log import MetricLog, Progress
from core.training.records import critic_meta, critic_record, model_meta, require_inputs
from core.training.updates import ActorState, CriticState, QAlign, critic_update, dt_update

STAGES = ("critic", "dt", "qalign")


@dataclass
class TrainResult:
    stage: str
    step: int
    metrics: dict
    """Last logged metrics."""
    checkpoint: Path
    log_path: Path


@dataclass
class Stage:
    """Everything that differs between stages; ``drive`` does the rest."""

    name: str
    total: int
    """The step the stage ends at (Q-ALIGN DT counts on from the DT's ``pretrain_steps``)."""
    modules: dict[str, torch.nn.Module]
    optim: dict[str, torch.optim.Optimizer]
    update: Callable[[int], dict]
    """One optimisation step at a step index; returns its metrics."""
    ship: Callable[[int, dict], Path]
    """End of the stage, on every rank, with (step, last metrics): writes the result, returns its path."""
    start_from: Path | None = None
    """State to start from when the stage has none of its own (Q-ALIGN DT: the DT's ``pretrain`` state)."""
    start_keys: tuple[str, ...] = ()
    """The modules and optimisers ``start_from`` holds."""
    keep: dict[int, str] = field(default_factory=dict)
    """Extra copies of the state at given steps, by stage folder (the DT stage keeps ``pretrain``)."""
    state_meta: Callable[[], dict] = dict
    """Numbers saved with the state beyond weights and RNGs (Q-ALIGN DT's running scales)."""
    restore_meta: Callable[[dict], None] = lambda meta: None


def _load(where: Path, stage: Stage, keys: tuple[str, ...] | None, gen, run: Run, dist: Dist) -> dict:
    """Load a saved state into the stage (only ``keys`` when given) and restore this rank's RNGs."""
    pick = lambda d: d if keys is None else {k: v for k, v in d.items() if k in keys}  # noqa: E731
    meta, rngs = ckpt.load_state(where, pick(stage.modules), pick(stage.optim))
    restore_rngs(gen, rngs, dist, dist.seed(run.seed) + meta["step"])
    return meta


def drive(
    stage: Stage, run: Run, cfg: TrainConfig, gen: torch.Generator, dist: Dist, progress: Progress | None, resume: bool
) -> TrainResult:
    """Resume (or start), then update / log / save every ``save_every`` steps and at the end, then ship."""
    run_dir, step, own = run.stage_dir(stage.name), 0, False
    if resume and ckpt.has_state(run_dir):
        meta = _load(run_dir, stage, None, gen, run, dist)
        stage.restore_meta(meta)
        step, own = meta["step"], True
    elif stage.start_from is not None:
        step = _load(stage.start_from, stage, stage.start_keys, gen, run, dist)["step"]
    log = MetricLog(run.metrics_path(stage.name), cfg.log_every, stage.total, progress, not own, dist.main)

    def save(step: int, name: str = stage.name) -> None:
        rngs = gather_rngs(gen, dist)  # a collective: every rank hands in its RNGs, rank 0 writes
        if dist.main:
            meta = {"stage": name, "step": step, "bf16": cfg.bf16, **(stage.state_meta() if name == stage.name else {})}
            ckpt.save_state(run.stage_dir(name), stage.modules, stage.optim, rngs, meta)

    while step < stage.total:
        metrics = stage.update(step)
        step += 1
        if log.due(step):
            metrics = dist.mean(metrics)
        log.step(step, metrics)
        if step in stage.keep:
            save(step, stage.keep[step])
        if step % cfg.save_every == 0 or step == stage.total:
            save(step)
    return TrainResult(stage.name, step, log.last, stage.ship(step, log.last), log.path)


def pair_sampler(data: OfflineData, run: Run, cfg: TrainConfig, gen, dist: Dist) -> PairSampler | None:
    """The dataset's branch pairs (``core.branches``) when the critic trains on them, else None."""
    if cfg.critic_pair_weight == 0:
        return None
    from core.branches import load_pairs  # the simulator's side: only when asked for

    pairs = load_pairs(data, run.dataset, cfg.critic_holdout_every)
    return PairSampler(pairs, data.obs_mean, data.obs_std, gen, dist.device)


def critic_stage(data: OfflineData, run: Run, cfg: TrainConfig, gen, dist: Dist) -> Stage:
    """SARSA pre-training of the twin critic on all but the held-out episodes (the quality gate scores it on
    those); ships ``runs/.../critic/critic`` for Q-ALIGN DT."""
    held_out = holdout_ids(len(data.trajectories), cfg.critic_holdout_every)
    flat = FlatData(without(data, held_out), get_task(data.task).rtg_scale, dist.device)
    set_seed(run.seed)
    cs = CriticState(cfg, data.obs_dim, data.act_dim, dist=dist)
    per_rank_dropout(run.seed, dist)
    sampler = TransitionSampler(flat, gen, cfg.critic_nstep, cfg.gamma)
    pairs = pair_sampler(data, run, cfg, gen, dist)

    def ship(step: int, metrics: dict) -> Path:
        meta = critic_meta(data, cfg, step, metrics, pairs=len(pairs) if pairs else 0)
        write = lambda ranks: ckpt.save_critic(run.critic_path, cs.critic, meta | ranks)  # noqa: E731
        finish(dist, "critic", (cs.critic, cs.target), write)
        return run.critic_path

    modules, optim = {"critic": cs.critic, "target": cs.target}, {"critic": cs.opt}
    update = lambda _s: critic_update(cs, sampler, cfg, pairs)  # noqa: E731
    return Stage("critic", cfg.critic_steps, modules, optim, update, ship)


def actor_stage(
    kind: str, data: OfflineData, run: Run, cfg: TrainConfig, gen, dist: Dist, critic: dict | None = None
) -> Stage:
    """The baseline DT (``dt``) or Q-ALIGN DT (``qalign``): one actor, one loop, two update functions.
    ``critic``: what the shipped Q-ALIGN model records about its critic (``critic_record``)."""
    flat = FlatData(data, get_task(data.task).rtg_scale, dist.device)
    set_seed(run.seed)
    st = ActorState(cfg, data.obs_dim, data.act_dim, dist)
    per_rank_dropout(run.seed, dist)
    sampler = WindowSampler(flat, cfg.dt.context_len, gen, cfg.window_sampling)
    modules, optim = {"actor": st.actor, "ema": st.ema}, {"actor": st.opt}
    path = run.model_path(kind)

    def ship(step: int, metrics: dict) -> Path:
        shipped = st.ema if cfg.ship_weights == "ema" else st.actor

        def write(ranks: dict) -> None:
            meta = model_meta(kind, data, run, cfg, step, metrics, critic)
            ckpt.save_model(path, shipped, meta | ranks)
            if kind == "qalign":  # the critic it aligned with, as it ended: the dashboard's critic view
                own = critic_meta(data, cfg, step, metrics, meta["data_fingerprint"], len(pairs) if pairs else 0)
                if critic and critic.get("step") is not None:  # the steps it was pre-trained for, not this run's
                    own["critic_steps"] = critic["step"]  # config (a critic continued past it recorded the config)
                ckpt.save_critic(
                    run.shipped_critic_path(kind), cs.critic, own | {"stage": "qalign", "pretrained": critic} | ranks
                )

        finish(dist, "actor", (st.actor, st.ema), write)
        return path

    st.actor.train()
    if kind == "dt":
        update = lambda s: dt_update(st, sampler, s)  # noqa: E731
        return Stage("dt", cfg.total_actor_steps, modules, optim, update, ship, keep={cfg.pretrain_steps: "pretrain"})
    cs = CriticState(cfg, data.obs_dim, data.act_dim, ckpt.load_critic(run.critic_path)[0], dist)
    pairs = pair_sampler(data, run, cfg, gen, dist)
    qa = QAlign(st, cs, cfg, data.task, data.return_stats["max"], get_task(data.task).rtg_scale, pairs)

    def restore(meta: dict) -> None:
        qa.q_scale, qa.align_scale = torch.tensor(meta["q_scale"]), torch.tensor(meta["align_scale"])

    return Stage(
        "qalign",
        cfg.total_actor_steps,
        modules | {"critic": cs.critic, "critic_target": cs.target},
        optim | {"critic": cs.opt},
        lambda s: qa.update(sampler, s),
        ship,
        start_from=run.stage_dir("pretrain"),
        start_keys=("actor", "ema"),
        state_meta=lambda: {"q_scale": float(qa.q_scale), "align_scale": float(qa.align_scale)},
        restore_meta=restore,
    )


def run_stage(
    stage: str,
    task: str,
    dataset: str,
    cfg: TrainConfig,
    seed: int = 0,
    progress: Progress | None = None,
    resume: bool = True,
    device: str = "auto",
    allow_weak_critic: bool = False,
) -> TrainResult:
    """Load the dataset and run one stage (as one rank of a torchrun job when launched by torchrun).
    Q-ALIGN DT refuses a critic below the quality gate unless ``allow_weak_critic``."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; valid stages: {', '.join(STAGES)}")
    refuse(cfg.problems())
    torch.set_num_threads(cfg.threads)
    run, critic = Run(get_task(task).name, dataset, seed), None
    data = load_offline_data(run.task, dataset)
    if stage == "qalign":
        require_inputs(run)
        critic = critic_record(run, allow_weak_critic)
    dist = setup(device)
    cfg = precision.settle(cfg, dist.device, ckpt.state_meta(run.stage_dir(stage)) if resume else None)
    spec = None
    try:
        gen = generator(run.seed, dist)
        build = critic_stage if stage == "critic" else lambda *a: actor_stage(stage, *a, critic=critic)
        spec = build(data, run, cfg, gen, dist)
        return drive(spec, run, cfg, gen, dist, progress if dist.main else None, resume)
    finally:
        # The DDP wrappers hold the process group and gloo work objects: free them (cycles included) while the
        # group is alive, then destroy it. Left to interpreter exit, gloo's threads can abort the rank.
        spec = None
        gc.collect()
        teardown(dist)
