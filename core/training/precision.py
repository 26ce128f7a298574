"""Which precision a stage trains in: bf16 autocast where the device computes bf16 natively, and a resumed stage in
the precision its saved state was trained in (README, "bf16 autocast on a CPU").

``TrainConfig.bf16`` asks; ``settle`` answers for one stage on one device. Emulated bf16 (a CPU without AVX512-BF16
or AMX) runs slower than fp32, so there the stage trains in fp32 and says so. The answer is what the stage's state and
its model record (``config.bf16``), so a run says what it ran in.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from pathlib import Path

import torch

from core.training.config import TrainConfig


def native_bf16(device: torch.device, cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether ``device`` computes bf16 natively: a CUDA GPU with bf16, or a CPU with AVX512-BF16 or AMX-BF16 (read
    from the kernel's CPU flags; False where they cannot be read)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type != "cpu":
        return False
    try:
        flags = cpuinfo.read_text()
    except OSError:
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", flags) is not None


def settle(cfg: TrainConfig, device: torch.device, saved: dict | None) -> TrainConfig:
    """``cfg`` with ``bf16`` as the stage will run it. ``saved``: the metadata of the state the stage resumes from
    (None for a fresh start); a state that records its precision keeps it."""
    if saved is not None and "bf16" in saved:
        if saved["bf16"] != cfg.bf16:
            warnings.warn(
                f"resuming a {saved['stage']} state trained {'with' if saved['bf16'] else 'without'} bf16 autocast: "
                f"it continues so (the command asked for bf16={cfg.bf16})",
                stacklevel=2,
            )
        return replace(cfg, bf16=bool(saved["bf16"]))
    if cfg.bf16 and not native_bf16(device):
        warnings.warn(
            f"bf16 autocast asked for, but {device} has no native bf16 (slower than fp32): fp32", stacklevel=2
        )
        return replace(cfg, bf16=False)
    return cfg
