"""A behaviour policy rebuilt by our code from safetensors weights and a JSON description.

Stable-baselines3 saves pickles; we export only the actor (an MLP) and the observation
normaliser, so loading a behaviour snapshot never unpickles anything.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

FORMAT = "qdt-behavior-v1"
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


@dataclass(frozen=True)
class ActorSpec:
    """Everything needed to rebuild a behaviour actor, stored as JSON beside its weights."""

    task: str
    algo: str
    obs_dim: int
    act_dim: int
    hidden: tuple[int, ...]
    activation: str
    """``tanh`` (SB3 PPO default) or ``relu`` (SB3 SAC default)."""
    squash: str
    """``clip`` (PPO: Gaussian mean clipped to [-1, 1]) or ``tanh`` (SAC: tanh-squashed Gaussian)."""
    obs_mean: list[float] | None = None
    obs_var: list[float] | None = None
    obs_clip: float = 10.0
    obs_eps: float = 1e-8
    log_std: list[float] | None = None
    """State-independent log std (PPO); None when the std comes from a head (SAC)."""
    step: int = 0
    stats: dict = field(default_factory=dict)
    """Measured returns of this snapshot (mean, std, episodes, seed)."""


class BehaviorActor(nn.Module):
    """MLP actor: normalise obs -> hidden layers -> mean (and, for SAC, a log-std head)."""

    def __init__(self, spec: ActorSpec):
        super().__init__()
        self.spec = spec
        layers: list[nn.Module] = []
        last = spec.obs_dim
        for width in spec.hidden:
            layers += [nn.Linear(last, width), ACTIVATIONS[spec.activation]()]
            last = width
        self.trunk = nn.Sequential(*layers)
        self.mu = nn.Linear(last, spec.act_dim)
        self.log_std_head = nn.Linear(last, spec.act_dim) if spec.log_std is None else None
        mean = spec.obs_mean if spec.obs_mean is not None else [0.0] * spec.obs_dim
        var = spec.obs_var if spec.obs_var is not None else [1.0 - spec.obs_eps] * spec.obs_dim
        self.register_buffer("obs_mean", torch.tensor(mean, dtype=torch.float32), persistent=False)
        self.register_buffer("obs_var_eps", torch.tensor(var, dtype=torch.float32).add(spec.obs_eps), persistent=False)
        fixed = spec.log_std if spec.log_std is not None else [0.0] * spec.act_dim
        self.register_buffer("fixed_log_std", torch.tensor(fixed, dtype=torch.float32), persistent=False)

    portable: bool = False
    """Bit-identical outputs on every x86 CPU, thread count and batch size (``fixed_order_linear``, numpy
    tanh/exp) instead of MKL's sgemm and vector maths, whose rounding follows the CPU's instruction set
    and the batch size. Slower; changes the last bits of every action, so it is opt-in."""

    def _linear(self, layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        return fixed_order_linear(layer, x) if self.portable else layer(x)

    def _unary(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """``torch.<name>`` (MKL's vector maths when torch has MKL) or, when portable, numpy's float32 ufunc."""
        return torch.from_numpy(getattr(np, name)(x.numpy())) if self.portable else getattr(torch, name)(x)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """obs (B, obs_dim) -> pre-squash mean and log std, each (B, act_dim)."""
        std = self._unary("sqrt", self.obs_var_eps)  # MKL's sqrt is not correctly rounded; numpy's is
        h = ((obs - self.obs_mean) / std).clamp(-self.spec.obs_clip, self.spec.obs_clip)
        for layer in self.trunk:
            if isinstance(layer, nn.Linear):
                h = self._linear(layer, h)
            else:
                h = self._unary("tanh", h) if isinstance(layer, nn.Tanh) else layer(h)
        if self.log_std_head is None:
            return self._linear(self.mu, h), self.fixed_log_std.expand(obs.shape[0], -1)
        return self._linear(self.mu, h), self._linear(self.log_std_head, h).clamp(-20.0, 2.0)

    @torch.no_grad()
    def act(self, obs: np.ndarray, rng: np.random.Generator | None = None, noise_scale: float = 1.0) -> np.ndarray:
        """Batch of actions in [-1, 1]; deterministic when ``rng`` is None, else sampled."""
        mean, log_std = self(torch.as_tensor(np.asarray(obs), dtype=torch.float32))
        if rng is not None:
            eps = torch.as_tensor(rng.standard_normal(mean.shape), dtype=torch.float32)
            mean = mean + noise_scale * self._unary("exp", log_std) * eps
        out = self._unary("tanh", mean) if self.spec.squash == "tanh" else mean.clamp(-1.0, 1.0)
        return out.numpy().astype(np.float32)


def fixed_order_linear(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)`` summed in one fixed pairwise order of elementwise float32 adds.

    Each multiply and add is a single IEEE-rounded operation, so the result depends on neither the CPU's
    instruction set, nor the thread count, nor the other rows of the batch (BLAS kernels choose their
    summation order by all three). x (B, in) -> (B, out).
    """
    t = x[:, None, :] * layer.weight  # (B, out, in)
    while t.shape[-1] > 1:
        half = t.shape[-1] // 2
        head = t[..., :half] + t[..., half : 2 * half]
        t = torch.cat([head, t[..., 2 * half :]], -1) if t.shape[-1] % 2 else head
    return t[..., 0] + layer.bias


def save_actor(actor: BehaviorActor, path: Path) -> None:
    """Write ``path.safetensors`` and ``path.json``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous() for k, v in actor.state_dict().items()}
    save_file(tensors, str(path.with_suffix(".safetensors")))
    meta = {"format": FORMAT, **asdict(actor.spec)}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))


def load_actor(path: Path) -> BehaviorActor:
    """Rebuild a behaviour actor; a missing or mismatched file raises a clear error."""
    path = Path(path)
    meta_path, weights_path = path.with_suffix(".json"), path.with_suffix(".safetensors")
    for p in (meta_path, weights_path):
        if not p.exists():
            raise FileNotFoundError(f"behaviour snapshot file missing: {p}")
    meta = json.loads(meta_path.read_text())
    if meta.pop("format", None) != FORMAT:
        raise ValueError(f"{meta_path} is not a {FORMAT} behaviour snapshot")
    meta["hidden"] = tuple(meta["hidden"])
    actor = BehaviorActor(ActorSpec(**meta))
    actor.load_state_dict(load_file(str(weights_path)))
    return actor.eval()
