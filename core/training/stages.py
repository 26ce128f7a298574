"""The three training stages and their updates: ``critic`` (SARSA), ``dt`` (BC baseline), ``qalign``.

Fairness by construction: the ``dt`` stage trains BC for ``pretrain_steps + align_steps`` and keeps
its state at ``pretrain_steps``; ``qalign`` starts from exactly that state (weights, EMA, optimiser,
RNGs) and runs ``align_steps`` more with the alignment loss. Same network, data, steps and seeds;
only the loss of the last ``align_steps`` differs. Shipped weights: the final EMA actor (fixed in
advance; no selection by any evaluation).

Every stage also runs under ``torchrun`` (see ``core.training.distributed``): modules are wrapped in DDP,
each rank samples from its own seed, rank 0 alone logs and saves.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from core.data.dataset import OfflineData, load_offline_data
from core.data.windows import FlatData, TransitionSampler, Window, WindowSampler
from core.envs import get_task
from core.models.critic import TwinCritic
from core.models.dt import DecisionTransformer
from core.paths import checkpoints_root, runs_root
from core.seeding import set_seed
from core.training import checkpoint as ckpt
from core.training import losses as L
from core.training.config import TrainConfig
from core.training.distributed import Dist, check_in_sync, setup, teardown, warn_rng_reset

STAGES = ("critic", "dt", "qalign")
Progress = Callable[[int, int, "dict | None"], None]  # (step, total, metrics or None)


@dataclass
class TrainResult:
    stage: str
    step: int
    metrics: dict
    """Last logged metrics."""
    checkpoint: Path
    log_path: Path


@dataclass(frozen=True)
class Run:
    """Where one (task, dataset, seed) training run keeps its files."""

    task: str
    dataset: str
    seed: int = 0

    @property
    def dataset_key(self) -> str:
        return self.dataset.replace("/", "_")

    @property
    def root(self) -> Path:
        return runs_root() / self.task / self.dataset_key / f"s{self.seed}"

    def model_path(self, kind: str) -> Path:
        name = "model" if self.seed == 0 else f"model-s{self.seed}"
        return checkpoints_root() / self.task / self.dataset_key / kind / name

    @property
    def sweep_path(self) -> Path:
        """The shipped alignment sweep of this training seed: sweep.json for seed 0, sweep-s<seed>.json otherwise."""
        folder = checkpoints_root() / self.task / self.dataset_key
        return folder / ("sweep.json" if self.seed == 0 else f"sweep-s{self.seed}.json")

    @property
    def critic_path(self) -> Path:
        return self.root / "critic" / "critic"


class MetricLog:
    """JSONL metrics file plus the progress callback; one record every ``every`` steps."""

    def __init__(self, path: Path, every: int, total: int, progress: Progress | None, fresh: bool, write: bool = True):
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            if fresh:
                path.unlink(missing_ok=True)
        self.path, self.every, self.total, self.progress, self.write = path, every, total, progress, write
        self.last: dict = {}
        self.t0, self.s0 = time.perf_counter(), None

    def due(self, step: int) -> bool:
        return step % self.every == 0 or step == self.total

    def step(self, step: int, metrics: dict[str, torch.Tensor | float]) -> None:
        if self.s0 is None:
            self.s0 = step - 1
        record = None
        if self.due(step):
            record = {"step": step, **{k: float(v) for k, v in metrics.items()}}
            record["perf/steps_per_s"] = (step - self.s0) / max(time.perf_counter() - self.t0, 1e-9)
            if self.write:
                with self.path.open("a") as f:
                    f.write(json.dumps(record) + "\n")
            self.last = record
        if self.progress is not None:
            self.progress(step, self.total, record)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to ``lr``, then cosine decay to 10% of it at the last actor step."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    frac = (step - cfg.warmup_steps) / max(1, cfg.total_actor_steps - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


class ActorState:
    """Actor, EMA actor and optimiser; the part both the baseline and Q-ALIGN DT share."""

    def __init__(self, cfg: TrainConfig, obs_dim: int, act_dim: int, dist: Dist | None = None):
        dist = dist or Dist()
        self.device = dist.device
        self.actor = DecisionTransformer(cfg.dt, obs_dim, act_dim).to(self.device)
        self.ema = copy.deepcopy(self.actor).requires_grad_(False).eval()
        self.model = dist.wrap(self.actor)  # what the training forward goes through (DDP under torchrun)
        self.opt = torch.optim.AdamW(self.actor.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.cfg = cfg

    def forward(self, w: Window) -> torch.Tensor:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.bf16):
            out = self.model(w.rtg, w.states, w.actions, w.timesteps, w.mask)
        return out.float()

    def step(self, loss: torch.Tensor, step: int) -> float:
        lr = lr_at(step, self.cfg)
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.actor.parameters(), self.cfg.grad_clip)
        self.opt.step()
        L.polyak(self.ema, self.actor, 1.0 - self.cfg.ema_decay)
        return lr


class CriticState:
    def __init__(
        self, cfg: TrainConfig, obs_dim: int, act_dim: int, critic: TwinCritic | None = None, dist: Dist | None = None
    ):
        dist = dist or Dist()
        critic = critic if critic is not None else TwinCritic(cfg.critic, obs_dim, act_dim)
        self.critic = critic.to(dist.device)
        self.target = copy.deepcopy(self.critic).requires_grad_(False)
        self.model = dist.wrap(self.critic)  # TD-loss forward; the actor's loss uses the bare critic
        self.opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr)
        self.tau = cfg.tau

    def step(self, loss: torch.Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        L.polyak(self.target, self.critic, self.tau)


# ---------------------------------------------------------------- updates (one optimisation step each)


def critic_update(cs: CriticState, sampler: TransitionSampler, cfg: TrainConfig) -> dict:
    """SARSA: Q(s, a) -> r + gamma * (1 - terminal) * min_i Q_i_target(s', a'_dataset)."""
    b = sampler.sample(cfg.critic_batch_size)
    with torch.no_grad():
        target = L.sarsa_targets(b.rewards, b.not_done, cs.target(b.next_states, b.next_actions), cfg.gamma)
    q = cs.model(b.states, b.actions)  # (2, B)
    loss = L.critic_loss(q, target)
    cs.step(loss)
    return {"losses/critic": loss.detach(), "charts/q_mean": q.detach().mean(), "charts/target_mean": target.mean()}


def dt_update(st: ActorState, sampler: WindowSampler, step: int) -> dict:
    """Behaviour cloning on a batch of windows."""
    w = sampler.sample(st.cfg.batch_size)
    loss = L.bc_loss(st.forward(w), w.actions, w.mask)
    lr = st.step(loss, step)
    return {"losses/bc": loss.detach(), "charts/lr": lr}


class QAlign:
    """The Q-ALIGN update: critic on n-step window targets, then actor on BC + alignment (METHOD.md)."""

    def __init__(
        self, st: ActorState, cs: CriticState, cfg: TrainConfig, task: str, max_return: float, rtg_scale: float
    ):
        self.st, self.cs, self.cfg = st, cs, cfg
        self.sigma = cfg.sigma_for(task)
        self.high = cfg.rtg_high_factor * max(max_return, 1.0) / rtg_scale
        self.q_scale = torch.tensor(0.0)  # running mean of |Q|, saved with the state
        self.align_scale = torch.tensor(0.0)  # running mean of the alignment loss, saved with the state

    def critic_step(self, w: Window) -> dict:
        cfg, K = self.cfg, w.mask.shape[1]
        with torch.no_grad():
            optimistic = (w.rtg + cfg.optimistic_offset).clamp(0.0, self.high) * w.mask
            a_boot = self.st.ema(optimistic, w.states, w.actions, w.timesteps, w.mask)[:, -1]  # (B, A)
            q_boot = self.cs.target(w.states[:, -1], a_boot).min(dim=0).values  # (B,)
            target = L.window_targets(w.rewards, q_boot, cfg.gamma)  # (B, K)
        q = self.cs.model(w.states, w.actions)  # (2, B, K)
        valid = w.mask & (torch.arange(K, device=w.mask.device) < K - 1)[None, :]
        loss = L.critic_loss(q, target, valid)
        self.cs.step(loss)
        return {"losses/critic": loss.detach(), "charts/q_target_mean": L.masked_mean(target, valid)}

    def actor_step(self, w: Window, step: int, gen: torch.Generator) -> dict:
        cfg, B = self.cfg, w.mask.shape[0]
        rtg_p, sign = L.perturb_rtg(w.rtg, w.mask, self.sigma, cfg.min_abs_delta, self.high, cfg.noise == "step", gen)
        both = Window(
            *(torch.cat([x, x]) for x in (w.states, w.actions, w.rewards)),
            torch.cat([w.rtg, rtg_p]),
            torch.cat([w.timesteps, w.timesteps]),
            torch.cat([w.mask, w.mask]),
        )
        preds = self.st.forward(both)  # (2B, K, A): original RTG, then perturbed
        a_orig = preds[:B]
        bc = L.bc_loss(a_orig, w.actions, w.mask)
        self.cs.critic.requires_grad_(False)  # the critic learns only from its TD loss
        q = self.cs.critic(torch.cat([w.states, w.states]), preds)  # (2, 2B, K)
        self.cs.critic.requires_grad_(True)
        q_orig, q_pert = q[:, :B], q[:, B:]
        align = L.alignment_loss(q_pert, q_orig, sign, w.mask, cfg.align_form)
        with torch.no_grad():
            q_abs = L.masked_mean(q_orig.abs().mean(0), w.mask)
            self.q_scale = q_abs if self.q_scale == 0 else 0.99 * self.q_scale + 0.01 * q_abs
            a = align.detach()
            self.align_scale = a if self.align_scale == 0 else 0.99 * self.align_scale + 0.01 * a
        norm = {"self": self.align_scale.clamp_min(1e-6), "q": self.q_scale.clamp_min(1e-3), "none": 1.0}[
            cfg.align_norm
        ]
        loss = cfg.eta_bc * bc + cfg.eta_align * align / norm
        lr = self.st.step(loss, step)
        return {
            "losses/bc": bc.detach(),
            "losses/align": align.detach(),
            "losses/actor": loss.detach(),
            "charts/q_mean": L.masked_mean(q_orig.mean(0), w.mask).detach(),
            "charts/q_scale": self.q_scale,
            "charts/align_scale": self.align_scale,
            "charts/lr": lr,
            "charts/delta_up_frac": (sign > 0).float().mean(),
        }

    def update(self, sampler: WindowSampler, step: int) -> dict:
        w = sampler.sample(self.cfg.batch_size)
        return {**self.critic_step(w), **self.actor_step(w, step, sampler.gen)}


# ---------------------------------------------------------------- stage drivers


def _rank_key(name: str, rank: int) -> str:
    return name if rank == 0 else f"{name}_r{rank}"


def _rngs(gen: torch.Generator, dist: Dist) -> dict[str, torch.Tensor]:
    """RNG states of every rank (rank 0 under the single-process keys); a collective under torchrun."""
    mine = {"sampler": gen.get_state(), "torch": torch.get_rng_state()}
    if not dist.active:
        return mine
    out = {}
    for name, state in mine.items():
        state = state.to(dist.comm_device)  # NCCL gathers GPU tensors only
        parts = [torch.empty_like(state) for _ in range(dist.world)]
        torch.distributed.all_gather(parts, state)
        out.update({_rank_key(name, r): t.cpu() for r, t in enumerate(parts)})
    return out


def _set_rngs(gen: torch.Generator, rngs: dict[str, torch.Tensor], dist: Dist, fresh_seed: int) -> None:
    """Restore this rank's RNGs; a rank the checkpoint has no state for starts from a fresh per-rank seed."""
    keys = [_rank_key(name, dist.rank) for name in ("sampler", "torch")]
    try:
        gen.set_state(rngs[keys[0]])
        torch.set_rng_state(rngs[keys[1]])
    except (KeyError, RuntimeError):
        warn_rng_reset(dist.rank)
        gen.manual_seed(fresh_seed)
        torch.manual_seed(fresh_seed)


def _generator(run: Run, dist: Dist) -> torch.Generator:
    """The sampler's generator: the run's seed on rank 0, a disjoint stream on other ranks."""
    return torch.Generator(device=dist.device).manual_seed(dist.seed(run.seed))


def _per_rank_dropout(run: Run, dist: Dist) -> None:
    """All ranks build identical networks from the run's seed; after that, dropout differs per rank."""
    if dist.rank > 0:
        torch.manual_seed(dist.seed(run.seed))


def _saver(dist: Dist, gen: torch.Generator, run_dir: Path, modules: dict, optim: dict, meta: Callable[[int], dict]):
    """``save(step)`` for ``_run_steps``: every rank hands in its RNGs, rank 0 writes."""

    def save(step: int) -> None:
        rngs = _rngs(gen, dist)
        if dist.main:
            ckpt.save_state(run_dir, modules, optim, rngs, meta(step))

    return save


def _run_steps(
    step: int,
    total: int,
    update: Callable[[int], dict],
    log: MetricLog,
    save_every: int,
    save: Callable[[int], None],
    extra_saves: dict[int, Callable[[], None]] | None = None,
    dist: Dist | None = None,
) -> int:
    """The loop every stage shares: update, log (metrics averaged over ranks), save every ``save_every``
    steps and at the end (plus one-off saves at given steps). Returns the step reached."""
    dist = dist or Dist()
    while step < total:
        metrics = update(step)
        step += 1
        if log.due(step):
            metrics = dist.mean(metrics)
        log.step(step, metrics)
        if extra_saves and step in extra_saves:
            extra_saves[step]()
        if step % save_every == 0 or step == total:
            save(step)
    return step


def _model_meta(kind: str, data: OfflineData, run: Run, cfg: TrainConfig, step: int, metrics: dict) -> dict:
    task = get_task(data.task)
    return {
        "kind": kind,
        "task": data.task,
        "dataset": run.dataset,
        "dataset_id": data.dataset_id,
        "seed": run.seed,
        "obs_dim": data.obs_dim,
        "act_dim": data.act_dim,
        "obs_mean": data.obs_mean.tolist(),
        "obs_std": data.obs_std.tolist(),
        "rtg_scale": task.rtg_scale,
        "max_episode_steps": task.max_episode_steps,
        "return_stats": data.return_stats,
        "step": step,
        "train_config": asdict(cfg),
        "metrics": metrics,
        "selection": "final EMA weights (fixed before training; no evaluation used)",
    }


def _resume(run_dir: Path, modules: dict, optim: dict, gen: torch.Generator, run: Run, dist: Dist) -> int:
    """Load the stage's saved state if there is one; returns the step to continue from (0: none)."""
    if not (run_dir / "state.json").exists():
        return 0
    meta, rngs = ckpt.load_state(run_dir, modules, optim)
    _set_rngs(gen, rngs, dist, dist.seed(run.seed) + meta["step"])
    return meta["step"]


def _finish(dist: Dist, what: str, modules: tuple[torch.nn.Module, ...], write: Callable[[dict], None]) -> None:
    """End of a stage on every rank: compare the ranks' weight digests (a collective; raises if they drifted
    apart), let rank 0 write the result with world size and digests, and wait until it is on disk."""
    prints = dist.fingerprints(*modules)
    check_in_sync(prints, what)
    if dist.main:
        write({"world_size": dist.world, "device": dist.device.type, "rank_fingerprints": prints})
    dist.barrier()


def train_critic(
    data: OfflineData,
    run: Run,
    cfg: TrainConfig,
    progress: Progress | None = None,
    resume: bool = True,
    dist: Dist | None = None,
) -> TrainResult:
    dist = dist or Dist()
    flat = FlatData(data, get_task(data.task).rtg_scale, dist.device)
    gen = _generator(run, dist)
    set_seed(run.seed)
    cs = CriticState(cfg, data.obs_dim, data.act_dim, dist=dist)
    _per_rank_dropout(run, dist)
    run_dir = run.root / "critic"
    modules, optim = {"critic": cs.critic, "target": cs.target}, {"critic": cs.opt}
    step = _resume(run_dir, modules, optim, gen, run, dist) if resume else 0
    log = MetricLog(run_dir / "metrics.jsonl", cfg.log_every, cfg.critic_steps, progress, step == 0, dist.main)
    sampler = TransitionSampler(flat, gen)
    step = _run_steps(
        step,
        cfg.critic_steps,
        lambda _s: critic_update(cs, sampler, cfg),
        log,
        cfg.save_every,
        _saver(dist, gen, run_dir, modules, optim, lambda s: {"stage": "critic", "step": s}),
        dist=dist,
    )
    meta = {"task": data.task, "dataset_id": data.dataset_id, "step": step, "metrics": log.last, "gamma": cfg.gamma}
    _finish(
        dist, "critic", (cs.critic, cs.target), lambda ranks: ckpt.save_critic(run.critic_path, cs.critic, meta | ranks)
    )
    return TrainResult("critic", step, log.last, run.critic_path, log.path)


def _actor_modules(st: ActorState, cs: CriticState | None = None) -> tuple[dict, dict]:
    modules: dict = {"actor": st.actor, "ema": st.ema}
    optim: dict = {"actor": st.opt}
    if cs is not None:
        modules.update(critic=cs.critic, critic_target=cs.target)
        optim["critic"] = cs.opt
    return modules, optim


def _ship(path: Path, st: ActorState, dist: Dist, meta: Callable[[], dict]) -> None:
    """The shipped model: the final EMA actor, written by rank 0 once the ranks agree."""
    _finish(dist, "actor", (st.actor, st.ema), lambda ranks: ckpt.save_model(path, st.ema, meta() | ranks))


def train_dt(
    data: OfflineData,
    run: Run,
    cfg: TrainConfig,
    progress: Progress | None = None,
    resume: bool = True,
    dist: Dist | None = None,
) -> TrainResult:
    """Baseline: BC for all actor steps; the state at ``pretrain_steps`` is kept for Q-ALIGN DT."""
    dist = dist or Dist()
    flat = FlatData(data, get_task(data.task).rtg_scale, dist.device)
    gen = _generator(run, dist)
    set_seed(run.seed)
    st = ActorState(cfg, data.obs_dim, data.act_dim, dist)
    _per_rank_dropout(run, dist)
    modules, optim = _actor_modules(st)
    run_dir = run.root / "dt"
    step = _resume(run_dir, modules, optim, gen, run, dist) if resume else 0
    total = cfg.total_actor_steps
    log = MetricLog(run_dir / "metrics.jsonl", cfg.log_every, total, progress, step == 0, dist.main)
    sampler = WindowSampler(flat, cfg.dt.context_len, gen)
    st.actor.train()
    # the state Q-ALIGN DT starts from
    save_pretrain = _saver(dist, gen, run.root / "pretrain", modules, optim, lambda s: {"stage": "pretrain", "step": s})
    step = _run_steps(
        step,
        total,
        lambda s: dt_update(st, sampler, s),
        log,
        cfg.save_every,
        _saver(dist, gen, run_dir, modules, optim, lambda s: {"stage": "dt", "step": s}),
        {cfg.pretrain_steps: lambda: save_pretrain(cfg.pretrain_steps)},
        dist,
    )
    path = run.model_path("dt")
    _ship(path, st, dist, lambda: _model_meta("dt", data, run, cfg, step, log.last))
    return TrainResult("dt", step, log.last, path, log.path)


def train_qalign(
    data: OfflineData,
    run: Run,
    cfg: TrainConfig,
    progress: Progress | None = None,
    resume: bool = True,
    dist: Dist | None = None,
) -> TrainResult:
    """Q-ALIGN DT: from the shared pre-trained state, ``align_steps`` of critic + aligned actor updates."""
    dist = dist or Dist()
    pretrain, run_dir = run.root / "pretrain", run.root / "qalign"
    for need, cmd in ((run.critic_path.with_suffix(".json"), "critic"), (pretrain / "state.json", "dt")):
        if not need.exists():
            raise FileNotFoundError(
                f"Q-ALIGN needs {need}; run first: python -m core.train --task {run.task} "
                f"--dataset {run.dataset} --seed {run.seed} --stage {cmd}"
            )
    flat = FlatData(data, get_task(data.task).rtg_scale, dist.device)
    gen = _generator(run, dist)
    st = ActorState(cfg, data.obs_dim, data.act_dim, dist)
    critic, _ = ckpt.load_critic(run.critic_path)
    cs = CriticState(cfg, data.obs_dim, data.act_dim, critic, dist)
    qa = QAlign(st, cs, cfg, data.task, data.return_stats["max"], get_task(data.task).rtg_scale)
    if resume and (run_dir / "state.json").exists():
        modules, optim = _actor_modules(st, cs)
        meta, rngs = ckpt.load_state(run_dir, modules, optim)
        qa.q_scale, qa.align_scale = torch.tensor(meta["q_scale"]), torch.tensor(meta["align_scale"])
    else:
        modules, optim = _actor_modules(st)
        meta, rngs = ckpt.load_state(pretrain, modules, optim)
        modules, optim = _actor_modules(st, cs)
    _set_rngs(gen, rngs, dist, dist.seed(run.seed) + meta["step"])
    step, total = meta["step"], cfg.total_actor_steps
    log = MetricLog(run_dir / "metrics.jsonl", cfg.log_every, total, progress, step == cfg.pretrain_steps, dist.main)
    sampler = WindowSampler(flat, cfg.dt.context_len, gen)
    st.actor.train()
    step = _run_steps(
        step,
        total,
        lambda s: qa.update(sampler, s),
        log,
        cfg.save_every,
        _saver(
            dist,
            gen,
            run_dir,
            modules,
            optim,
            lambda s: {
                "stage": "qalign",
                "step": s,
                "q_scale": float(qa.q_scale),
                "align_scale": float(qa.align_scale),
            },
        ),
        dist=dist,
    )
    path = run.model_path("qalign")
    _ship(path, st, dist, lambda: _model_meta("qalign", data, run, cfg, step, log.last))
    return TrainResult("qalign", step, log.last, path, log.path)


def run_stage(
    stage: str,
    task: str,
    dataset: str,
    cfg: TrainConfig,
    seed: int = 0,
    progress: Progress | None = None,
    resume: bool = True,
    device: str = "auto",
) -> TrainResult:
    """Load the dataset and run one stage (as one rank of a torchrun job when launched by torchrun)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; valid stages: {', '.join(STAGES)}")
    torch.set_num_threads(cfg.threads)
    data = load_offline_data(task, dataset)
    run = Run(get_task(task).name, dataset, seed)
    fn = {"critic": train_critic, "dt": train_dt, "qalign": train_qalign}[stage]
    dist = setup(device)
    try:
        return fn(data, run, cfg, progress if dist.main else None, resume, dist)
    finally:
        teardown(dist)
