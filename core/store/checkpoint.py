"""One checkpoint format: safetensors weights + a JSON of everything needed to rebuild and use them.

Shipped models (``model.safetensors`` + ``model.json``) hold the EMA actor and its metadata.
Training state (``state.safetensors`` + ``optim.pt`` + ``state.json``) adds the optimisers, RNGs and
step so a killed run resumes; ``optim.pt`` is loaded with ``weights_only=True`` (tensors only).
"""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from core.models.critic import CriticConfig, TwinCritic
from core.models.dt import DecisionTransformer, DTConfig
from core.store.layout import REPO_ROOT

MODEL_FORMAT = "qalign-dt-model-v1"
CRITIC_FORMAT = "qalign-critic-v1"
STATE_FORMAT = "qalign-train-state-v1"
MODEL_KEYS = (
    "kind",
    "task",
    "dataset_id",
    "dt_config",
    "obs_dim",
    "act_dim",
    "obs_mean",
    "obs_std",
    "rtg_scale",
    "return_stats",
    "step",
)


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt or does not match what is asked of it."""


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def versions() -> dict:
    return {"torch": torch.__version__, "python": platform.python_version()}


def _write(path: Path, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.safetensors")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))
    tmp.replace(path.with_suffix(".safetensors"))  # atomic: a kill never leaves half a file
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))


def _read_meta(meta_path: Path, fmt: str) -> dict:
    if not meta_path.exists():
        raise CheckpointError(f"checkpoint file missing: {meta_path}")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"corrupt checkpoint metadata {meta_path}: {err}") from err
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise CheckpointError(
            f"{meta_path} is not a {fmt} checkpoint (format={meta.get('format') if isinstance(meta, dict) else None!r})"
        )
    return meta


def _read(path: Path, fmt: str) -> tuple[dict[str, torch.Tensor], dict]:
    meta_path, weights_path = path.with_suffix(".json"), path.with_suffix(".safetensors")
    meta = _read_meta(meta_path, fmt)
    if not weights_path.exists():
        raise CheckpointError(f"checkpoint file missing: {weights_path}")
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"corrupt checkpoint weights {weights_path}: {err}") from err
    return tensors, meta


def _load_module(module: torch.nn.Module, tensors: dict[str, torch.Tensor], where: Path) -> None:
    try:
        module.load_state_dict(tensors)
    except RuntimeError as err:
        raise CheckpointError(f"weights in {where} do not match the stored config: {str(err)[:400]}") from err


def save_model(path: Path, actor: DecisionTransformer, meta: dict) -> None:
    """Write a shipped actor (``path`` without suffix). ``meta`` must hold ``MODEL_KEYS``."""
    missing = [k for k in MODEL_KEYS if k not in meta and k != "dt_config"]
    if missing:
        raise CheckpointError(f"model metadata lacks {missing}")
    full = {
        "format": MODEL_FORMAT,
        **meta,
        "dt_config": asdict(actor.cfg),
        "commit": git_commit(),
        "versions": versions(),
    }
    _write(Path(path), actor.state_dict(), full)


def load_model(path: Path) -> tuple[DecisionTransformer, dict]:
    """Rebuild an actor from its stored config only; validates format, fields and shapes."""
    path = Path(path)
    tensors, meta = _read(path, MODEL_FORMAT)
    missing = [k for k in MODEL_KEYS if k not in meta]
    if missing:
        raise CheckpointError(f"{path.with_suffix('.json')} lacks fields {missing}")
    try:
        cfg = DTConfig(**meta["dt_config"])
    except TypeError as err:
        raise CheckpointError(f"bad dt_config in {path.with_suffix('.json')}: {err}") from err
    if len(meta["obs_mean"]) != meta["obs_dim"] or len(meta["obs_std"]) != meta["obs_dim"]:
        raise CheckpointError(f"{path.with_suffix('.json')}: normalisation stats do not match obs_dim")
    actor = DecisionTransformer(cfg, meta["obs_dim"], meta["act_dim"])
    _load_module(actor, tensors, path.with_suffix(".safetensors"))
    return actor.eval(), meta


def save_critic(path: Path, critic: TwinCritic, meta: dict) -> None:
    full = {
        "format": CRITIC_FORMAT,
        **meta,
        "critic_config": asdict(critic.cfg),
        "obs_dim": critic.obs_dim,
        "act_dim": critic.act_dim,
        "commit": git_commit(),
        "versions": versions(),
    }
    _write(Path(path), critic.state_dict(), full)


def load_critic(path: Path) -> tuple[TwinCritic, dict]:
    path = Path(path)
    tensors, meta = _read(path, CRITIC_FORMAT)
    critic = TwinCritic(CriticConfig(**meta["critic_config"]), meta["obs_dim"], meta["act_dim"])
    _load_module(critic, tensors, path.with_suffix(".safetensors"))
    return critic, meta


def update_critic_meta(path: Path, extra: dict) -> dict:
    """Add fields (e.g. the quality gate's scores) to a saved critic's JSON; returns the new metadata."""
    path = Path(path)
    _, meta = _read(path, CRITIC_FORMAT)
    meta = {**meta, **extra}
    tmp = path.with_suffix(".tmp.json")
    tmp.write_text(json.dumps(meta, indent=1))
    tmp.replace(path.with_suffix(".json"))
    return meta


def save_state(
    run_dir: Path,
    modules: dict[str, torch.nn.Module],
    optim: dict[str, object],
    rngs: dict[str, torch.Tensor],
    meta: dict,
) -> None:
    """Resumable training state: module weights + RNG states (safetensors), optimiser/scheduler state (tensors only)."""
    tensors = {f"{name}.{k}": v for name, m in modules.items() for k, v in m.state_dict().items()}
    tensors.update({f"rng.{k}": v for k, v in rngs.items()})
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / "optim.tmp.pt"
    torch.save({k: o.state_dict() for k, o in optim.items()}, tmp)
    tmp.replace(run_dir / "optim.pt")
    _write(run_dir / "state", tensors, {"format": STATE_FORMAT, **meta})


def has_state(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a complete resumable state (its JSON is written last)."""
    return (Path(run_dir) / "state.json").exists()


def state_meta(run_dir: Path) -> dict | None:
    """The metadata of the resumable state in ``run_dir`` (step, stage, precision, ...), or None without one."""
    if not has_state(run_dir):
        return None
    return _read_meta(Path(run_dir) / "state.json", STATE_FORMAT)


def load_state(run_dir: Path, modules: dict[str, torch.nn.Module], optim: dict[str, object]) -> tuple[dict, dict]:
    """Restore ``save_state``; returns (metadata, RNG states)."""
    tensors, meta = _read(run_dir / "state", STATE_FORMAT)
    for name, m in modules.items():
        prefix = f"{name}."
        _load_module(m, {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}, run_dir)
    try:
        # On the CPU first: a state saved on a GPU resumes on a CPU-only machine (and the other way); each
        # optimiser's load_state_dict moves its state to its parameters' device.
        saved = torch.load(run_dir / "optim.pt", map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001  (any unreadable file is the same failure for the user)
        raise CheckpointError(f"corrupt optimiser state {run_dir / 'optim.pt'}: {err}") from err
    for k, o in optim.items():
        o.load_state_dict(saved[k])
    rngs = {k[4:]: v for k, v in tensors.items() if k.startswith("rng.")}
    return meta, rngs
