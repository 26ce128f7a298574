"""Data-parallel training on torch's own engine: ``torchrun`` + DistributedDataParallel.

``python -m core.train ...`` runs as one process; under ``torchrun --nproc_per_node N -m core.train ...`` the
same command runs N ranks (NCCL on GPUs, gloo on CPU). Each rank samples its own windows from its own seed
(rank 0 keeps the run's seed, so one rank reproduces a plain run exactly); gradients are averaged by DDP, so
the weights, and the EMA built from them, stay identical on every rank. Rank 0 alone logs and saves, and the
files are the single-process format, so a run resumes on any number of ranks. ``batch_size`` is per rank:
N ranks see N times as many windows per step.

This module is the distributed glue of training: process group, per-rank seeds and RNG states, and the
end-of-stage check that every rank holds the same weights.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.distributed as tdist
from torch.nn.parallel import DistributedDataParallel

RANK_SEED_STRIDE = 1_000_003  # rank r samples from seed + r * stride: disjoint streams for any sane seed


def resolve_device(name: str) -> torch.device:
    """``auto``: cuda when present, else cpu. ``cuda`` without a GPU is an error, not a silent fallback."""
    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}; valid: auto, cpu, cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but torch sees no CUDA GPU (torch.cuda.is_available() is False)")
    if name == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))


@dataclass
class Dist:
    """This process's place in the job: rank, world size and device. A plain run is rank 0 of 1."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def seed(self, seed: int) -> int:
        return seed + self.rank * RANK_SEED_STRIDE

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """DDP around ``module`` when there are several ranks (it broadcasts rank 0's weights); else as is."""
        if not self.active:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def mean(self, metrics: dict) -> dict:
        """Average scalar metrics over ranks (for the log); a no-op on one rank."""
        if not self.active or not metrics:
            return metrics
        keys = sorted(metrics)
        vals = torch.tensor([float(metrics[k]) for k in keys], dtype=torch.float64, device=self.comm_device)
        tdist.all_reduce(vals)
        return dict(zip(keys, (vals / self.world).tolist()))

    @property
    def comm_device(self) -> torch.device:
        return self.device if tdist.is_initialized() and tdist.get_backend() == "nccl" else torch.device("cpu")

    def barrier(self) -> None:
        if self.active:
            tdist.barrier()

    def fingerprints(self, *modules: torch.nn.Module) -> list[str]:
        """Every rank's digest of the given modules' weights (rank order); equal digests = identical weights."""
        digest = weights_digest(*modules)
        if not self.active:
            return [digest]
        out: list = [None] * self.world
        tdist.all_gather_object(out, digest)
        return out


def weights_digest(*modules: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for m in modules:
        for name, p in m.state_dict().items():
            h.update(name.encode())
            h.update(p.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def setup(device: str = "auto") -> Dist:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); otherwise a plain single process."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    rank = int(os.environ.get("RANK", 0))
    dev = resolve_device(device)
    if world > 1 and not tdist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        tdist.init_process_group(backend=backend)
    return Dist(rank, world, dev)


def teardown(dist: Dist) -> None:
    if dist.active and tdist.is_initialized():
        tdist.barrier()
        tdist.destroy_process_group()


def check_in_sync(prints: list[str], what: str) -> None:
    if len(set(prints)) > 1:
        raise RuntimeError(f"ranks hold different {what} weights after training: {prints}")


def rank_key(name: str, rank: int) -> str:
    """Rank 0's RNG states keep the single-process keys; rank r adds ``_r<r>``."""
    return name if rank == 0 else f"{name}_r{rank}"


def generator(seed: int, dist: Dist) -> torch.Generator:
    """The sampler's generator: the run's seed on rank 0, a disjoint stream on other ranks."""
    return torch.Generator(device=dist.device).manual_seed(dist.seed(seed))


def per_rank_dropout(seed: int, dist: Dist) -> None:
    """All ranks build identical networks from the run's seed; after that, dropout differs per rank."""
    if dist.rank > 0:
        torch.manual_seed(dist.seed(seed))


def gather_rngs(gen: torch.Generator, dist: Dist) -> dict[str, torch.Tensor]:
    """RNG states of every rank (rank 0 under the single-process keys); a collective under torchrun."""
    mine = {"sampler": gen.get_state(), "torch": torch.get_rng_state()}
    if not dist.active:
        return mine
    out = {}
    for name, state in mine.items():
        state = state.to(dist.comm_device)  # NCCL gathers GPU tensors only
        parts = [torch.empty_like(state) for _ in range(dist.world)]
        tdist.all_gather(parts, state)
        out.update({rank_key(name, r): t.cpu() for r, t in enumerate(parts)})
    return out


def restore_rngs(gen: torch.Generator, rngs: dict[str, torch.Tensor], dist: Dist, fresh_seed: int) -> None:
    """Restore this rank's RNGs; a rank the checkpoint has no state for starts from a fresh per-rank seed."""
    keys = [rank_key(name, dist.rank) for name in ("sampler", "torch")]
    try:
        gen.set_state(rngs[keys[0]])
        torch.set_rng_state(rngs[keys[1]])
    except (KeyError, RuntimeError):
        warn_rng_reset(dist.rank)
        gen.manual_seed(fresh_seed)
        torch.manual_seed(fresh_seed)


def finish(dist: Dist, what: str, modules: tuple[torch.nn.Module, ...], write: Callable[[dict], None]) -> None:
    """End of a stage on every rank: compare the ranks' weight digests (a collective; raises if they drifted
    apart), let rank 0 write the result with world size and digests, and wait until it is on disk."""
    prints = dist.fingerprints(*modules)
    check_in_sync(prints, what)
    if dist.main:
        write({"world_size": dist.world, "device": dist.device.type, "rank_fingerprints": prints})
    dist.barrier()


def warn_rng_reset(rank: int) -> None:
    warnings.warn(
        f"rank {rank}: no saved sampler state for this rank (checkpoint from another world size or device); "
        "it continues from a fresh per-rank seed",
        stacklevel=2,
    )
