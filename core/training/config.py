"""Every training hyperparameter, in one frozen dataclass with named presets (``cpu``, ``paper``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from core.checks import out_of_range
from core.models.critic import CriticConfig
from core.models.dt import DTConfig

# RTG perturbation std in scaled units (METHOD.md): HalfCheetah's returns spread wider.
DEFAULT_SIGMA = {"hopper": 3.0, "walker2d": 3.0, "halfcheetah": 6.0}


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of all three stages. The baseline DT and Q-ALIGN DT share every one of them."""

    dt: DTConfig = field(default_factory=DTConfig)
    """Actor network shape."""
    critic: CriticConfig = field(default_factory=CriticConfig)
    """Critic network shape."""
    batch_size: int = 64
    """Windows per actor step."""
    lr: float = 3e-4
    """Actor AdamW peak learning rate."""
    weight_decay: float = 1e-4
    """Actor AdamW weight decay."""
    grad_clip: float = 1.0
    """Actor gradient-norm clip (paper 15, original DT 0.25)."""
    warmup_steps: int = 500
    """Linear learning-rate warm-up, then the schedule below."""
    lr_schedule: Literal["cosine", "constant"] = "cosine"
    """After warm-up: cosine decay to 10% of ``lr`` at the last actor step, or ``lr`` throughout (d3rlpy's DT)."""
    pretrain_steps: int = 6000
    """Behaviour-cloning steps shared by both models (the DT stage's first part)."""
    align_steps: int = 2000
    """Steps after pre-training: BC for the baseline, the alignment stage for Q-ALIGN DT."""
    ema_decay: float = 0.995
    """EMA of the actor; the EMA weights are Q-ALIGN's target actor."""
    ship_weights: Literal["ema", "raw"] = "ema"
    """Which actor weights the model file holds: the EMA, or the trained weights as they are (d3rlpy)."""
    window_sampling: Literal["start", "end"] = "start"
    """``start``: a trajectory drawn in proportion to length, the window starting at a uniform step of it. ``end``:
    a uniform transition of the whole dataset, the window ending at it (left-padded near an episode's start, as
    the first steps of a rollout are; d3rlpy's slicer)."""
    critic_steps: int = 10_000
    """SARSA pre-training steps of the twin critic."""
    critic_holdout_every: int = 10
    """Every k-th episode is kept out of critic pre-training, so the quality gate (``core.critic_quality``) scores
    the critic on episodes it never saw; 0 trains on all (then the gate cannot score it)."""
    critic_expectile: float = 0.5
    """Expectile of the critic's TD regression: 0.5 = the paper's SARSA (mean); above 0.5 = in-sample improvement
    (IQL-style), Q reflecting the better actions the data took from similar states."""
    critic_nstep: int = 1
    """Rewards summed before the critic's target bootstraps: 1 = the paper's one-step SARSA; n > 1 carries the
    data's returns back n steps per update (n-step SARSA, the data's own actions), with more variance."""
    critic_pair_weight: float = 0.0
    """Weight of the paired-branch loss: Q(s, a1) - Q(s, a2) regressed on what the two actions went on to earn in
    the simulator (``core.branches``, which must have run for the dataset). 0 = the paper's critic, data only;
    above 0 the loss joins the critic's updates in pre-training and in the alignment stage."""
    critic_pair_batch: int = 256
    """Branch pairs per critic step (with ``critic_pair_weight`` > 0)."""
    critic_pair_loss: Literal["mse", "logistic"] = "mse"
    """How the pairs teach Q: ``mse`` regresses Q(s, a1) - Q(s, a2) on g1 - g2 (the few pairs where one branch falls
    dominate it); ``logistic`` asks only which branch earned more, every pair alike (log-loss of the difference,
    in return units, against 1[g1 > g2]). Session 17 (README, "The critic quality gate"): small probes taught the
    order this way rank held-out pairs 0.62-0.63, taught by the squared loss 0.56-0.57; SARSA critics with the
    logistic term reach 0.60-0.62 there, but 0.54-0.57 on the gate's states (fail), and Q-ALIGN DT gained nothing."""
    critic_batch_size: int = 512
    """Transitions per critic step."""
    critic_lr: float = 3e-4
    """Critic Adam learning rate (paper 1e-4 with far more steps)."""
    gamma: float = 0.99
    """Discount of the critic's targets."""
    tau: float = 0.005
    """Polyak rate of the critic target networks."""
    sigma: float = 0.0
    """Std of the RTG perturbation delta, scaled units; 0 = per-task default (3 Hopper/Walker2d, 6 HalfCheetah)."""
    min_abs_delta: float = 0.2
    """|delta| is pushed up to at least this, so every sequence asks for a real change."""
    rtg_high_factor: float = 1.2
    """Perturbed first RTG is clipped to [0, factor * dataset max return] (scaled)."""
    optimistic_offset: float = 0.5
    """Scaled RTG added to the data RTG when the EMA actor picks the critic's bootstrap action."""
    eta_bc: float = 1.0
    """Weight of the behaviour-cloning loss in the Q-ALIGN actor loss."""
    eta_align: float = 5.0
    """Weight of the alignment loss (paper: about 5)."""
    align_norm: Literal["q", "self", "none"] = "q"
    """``q``: divide the alignment loss by a running mean of |Q| (TD3+BC style), which puts its *gradient* on the
    scale of BC's: measured on Hopper-medium, BC stayed at its floor (0.27) while the alignment loss fell 40% in
    250 steps. ``self``: divide by a running mean of the alignment loss itself (a reading of METHOD.md); the
    hinge's value is small but its gradient is not, and BC loss rose 0.27 -> 0.9 in 300 steps (actions pushed
    off the data). ``none``: raw."""
    align_form: Literal["relu", "softplus"] = "relu"
    """Penalty shape on value moving the wrong way."""
    align_direction: Literal["request", "reversed"] = "request"
    """``reversed``: a control, not a method: the alignment loss asks the critic's value to move against the
    request (asking for more pushed toward actions the critic values less), everything else unchanged. Where
    Q-ALIGN DT beats its DT, this says whether the gain comes from which way the critic points."""
    noise: Literal["sequence", "step"] = "sequence"
    """One delta per sequence (paper default) or one per step."""
    bf16: bool = False
    """bf16 autocast for every network forward in training, actors and critics; weights, optimiser state and losses
    stay float32. Only where the device computes bf16 natively (CPU AVX512-BF16 / AMX, CUDA), else fp32 with a
    warning; a resumed stage keeps the precision its state recorded (``core.training.precision``)."""
    threads: int = 1
    """torch CPU threads. 1: with OpenMP's default spin-waiting, a 2-thread job ran 25-50x slower as soon as
    anything else used the cores (benchmarks/train_speed.py, Nov 26); two 1-thread jobs side by side use both."""
    log_every: int = 50
    """Steps between metric records."""
    save_every: int = 500
    """Steps between resumable checkpoints."""

    @property
    def total_actor_steps(self) -> int:
        return self.pretrain_steps + self.align_steps

    def sigma_for(self, task: str) -> float:
        return self.sigma or DEFAULT_SIGMA.get(task, 3.0)

    def problems(self) -> list[str]:
        """Every field out of its range, as "--cfg.<field> must be ... (got ...)"; empty when the config can train."""
        checks = (
            ("batch-size", self.batch_size, self.batch_size >= 1, ">= 1"),
            ("critic-batch-size", self.critic_batch_size, self.critic_batch_size >= 1, ">= 1"),
            ("lr", self.lr, self.lr > 0, "> 0"),
            ("critic-lr", self.critic_lr, self.critic_lr > 0, "> 0"),
            ("weight-decay", self.weight_decay, self.weight_decay >= 0, ">= 0"),
            ("grad-clip", self.grad_clip, self.grad_clip > 0, "> 0"),
            ("warmup-steps", self.warmup_steps, self.warmup_steps >= 0, ">= 0"),
            ("pretrain-steps", self.pretrain_steps, self.pretrain_steps >= 1, ">= 1"),
            ("align-steps", self.align_steps, self.align_steps >= 0, ">= 0"),
            ("critic-steps", self.critic_steps, self.critic_steps >= 1, ">= 1"),
            ("critic-holdout-every", self.critic_holdout_every, self.critic_holdout_every >= 0, ">= 0"),
            ("critic-expectile", self.critic_expectile, 0 < self.critic_expectile < 1, "in (0, 1)"),
            ("critic-nstep", self.critic_nstep, self.critic_nstep >= 1, ">= 1"),
            ("critic-pair-weight", self.critic_pair_weight, self.critic_pair_weight >= 0, ">= 0"),
            ("critic-pair-batch", self.critic_pair_batch, self.critic_pair_batch >= 1, ">= 1"),
            ("ema-decay", self.ema_decay, 0 <= self.ema_decay < 1, "in [0, 1)"),
            ("gamma", self.gamma, 0 < self.gamma <= 1, "in (0, 1]"),
            ("tau", self.tau, 0 < self.tau <= 1, "in (0, 1]"),
            ("sigma", self.sigma, self.sigma >= 0, ">= 0 (0: the task's default)"),
            ("min-abs-delta", self.min_abs_delta, self.min_abs_delta >= 0, ">= 0"),
            ("rtg-high-factor", self.rtg_high_factor, self.rtg_high_factor > 0, "> 0"),
            ("eta-bc", self.eta_bc, self.eta_bc >= 0, ">= 0"),
            ("eta-align", self.eta_align, self.eta_align >= 0, ">= 0"),
            ("threads", self.threads, self.threads >= 1, ">= 1"),
            ("log-every", self.log_every, self.log_every >= 1, ">= 1"),
            ("save-every", self.save_every, self.save_every >= 1, ">= 1"),
            ("dt.embed-dim", self.dt.embed_dim, self.dt.embed_dim >= 1, ">= 1"),
            ("dt.n-heads", self.dt.n_heads, self.dt.n_heads >= 1 and self.dt.embed_dim % self.dt.n_heads == 0,
             "a divisor of dt.embed-dim"),
            ("dt.n-layers", self.dt.n_layers, self.dt.n_layers >= 1, ">= 1"),
            ("dt.context-len", self.dt.context_len, self.dt.context_len >= 1, ">= 1"),
            ("dt.dropout", self.dt.dropout, 0 <= self.dt.dropout < 1, "in [0, 1)"),
            ("dt.n-modes", self.dt.n_modes, self.dt.n_modes >= 1, ">= 1"),
            ("critic.hidden", self.critic.hidden, self.critic.hidden >= 1, ">= 1"),
        )  # fmt: skip
        return out_of_range(checks, "--cfg.")  # a NaN fails every comparison above, so it is refused with the rest


# GPT-2's initialisation (DTConfig.init): with PyTorch's default N(0, 1) timestep embedding our DT leaned on the
# timestep more than on the request. Chosen on validation seeds (README, "The baseline DT against a mature
# implementation"): Hopper medium-replay in-range Spearman 0.87 -> 0.99, best return 1,547 -> 1,869; HalfCheetah
# better on all three measures; Walker2d higher Spearman, lower best return. No cost per step.
ACTOR = DTConfig(init="gpt2")

PRESETS: dict[str, TrainConfig] = {
    # Sized for 2 CPU cores: a task's critic + DT + Q-ALIGN DT in well under an hour.
    "cpu": TrainConfig(dt=ACTOR),
    # Twice the `cpu` budget: 12k BC steps kept for Q-ALIGN, then 4k more BC (DT) or 4k alignment steps. What one
    # 15-minute GPU lease trained for nine pairs at once (NVIDIA H200, Nov 26: ~60 DT and ~25-35 Q-ALIGN steps/s per
    # job); about 40 minutes a pair on 2 CPU cores. On HalfCheetah `control` it made every seed's Q-ALIGN DT follow
    # the request (README, "Twice the budget").
    "mid": TrainConfig(
        dt=ACTOR,
        warmup_steps=1_000,
        pretrain_steps=12_000,
        align_steps=4_000,
        critic_steps=50_000,
        log_every=100,
        save_every=1_000,
    ),
    # Real runs on 2 CPU cores, 10x the `cpu` budget. Sized from the idle machine's measured speeds (2 threads:
    # critic 50 steps/s, DT 15.7, Q-ALIGN 5.1; two 1-thread jobs side by side run at about 0.65x that each):
    # critic 100k steps (~50 min), DT 80k (~2.2 h), Q-ALIGN 20k after the shared 60k (~1.7 h). Every stage saves
    # every 1,000 steps and resumes, so a run spans several sessions; run critic and dt side by side, then qalign.
    "long": TrainConfig(
        dt=ACTOR,
        warmup_steps=2_000,
        pretrain_steps=60_000,
        align_steps=20_000,
        critic_steps=100_000,
        log_every=200,
        save_every=1_000,
        threads=1,
    ),
    # The paper's network and batch; meant for a GPU.
    "paper": TrainConfig(
        dt=DTConfig(embed_dim=256, n_layers=4, n_heads=4, init="gpt2"),
        batch_size=256,
        grad_clip=15.0,
        warmup_steps=10_000,
        pretrain_steps=50_000,
        align_steps=50_000,
        critic_steps=200_000,
        critic_lr=1e-4,
    ),
    # Seconds, for tests and smoke runs.
    "tiny": TrainConfig(
        dt=DTConfig(embed_dim=16, n_layers=1, n_heads=1, context_len=5, dropout=0.0),
        batch_size=8,
        warmup_steps=2,
        pretrain_steps=20,
        align_steps=10,
        critic_steps=20,
        critic_batch_size=32,
        critic=CriticConfig(hidden=32),
        log_every=5,
        save_every=10,
        threads=1,
    ),
}


def preset(name: str, **overrides) -> TrainConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)
