"""What the dashboard can show: the shipped checkpoints, found on disk, and cached loaders for them."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import gradio as gr

from app.validate import one_of
from core import plots
from core.calibration import Calibration
from core.envs import get_task
from core.policy import ReturnConditionedPolicy
from core.store.checkpoint import load_model
from core.store.layout import Run, checkpoints_root, shipped_models, stale_models

MODEL_NAMES = {k: plots.MODEL_NAMES[k] for k in ("qalign", "dt")}  # the order the UI lists them
CHOICE_BOTH = "Both, side by side"


def available() -> dict[str, dict[str, list[str]]]:
    """{task: {dataset: [kinds]}} for every pair the dashboard shows (``model`` files), in the UI's order of kinds."""
    found = shipped_models()
    return {t: {d: [k for k in MODEL_NAMES if k in kinds] for d, kinds in ds.items()} for t, ds in found.items()}


def task_name(task: str) -> str:
    """The UI edge: a task typed any way (``HalfCheetah``) becomes its registry name, or a clear error."""
    try:
        return get_task(task).name
    except ValueError as err:
        raise gr.Error(str(err)) from err


def checked_pair(task, dataset) -> tuple[str, str, list[str]]:
    """The UI edge for a (task, dataset) request: the task's registry name, a dataset that has shipped models,
    and their kinds; a gr.Error names the bad field."""
    models = available()
    task = one_of(task_name(task) if isinstance(task, str) else task, "Task", sorted(models))
    dataset = one_of(dataset, "Training dataset", sorted(models[task]))
    return task, dataset, models[task][dataset]


def model_path(task: str, dataset: str, kind: str) -> Path:
    return Run(task, dataset).model_path(kind)  # the shown pair (``model``; its training seed is in its JSON)


@lru_cache(maxsize=16)
def _load(path: str):
    return load_model(Path(path))


def policy(task: str, dataset: str, kind: str) -> ReturnConditionedPolicy:
    """A fresh policy object (its context is per rollout) over cached weights."""
    path = model_path(task, dataset, kind)
    if not path.with_suffix(".json").exists():
        raise FileNotFoundError(f"no {MODEL_NAMES.get(kind, kind)} checkpoint for {task}/{dataset}")
    actor, meta = _load(str(path))
    return ReturnConditionedPolicy(actor, dict(meta))


def return_stats(task: str, dataset: str) -> dict:
    """The dataset's return statistics, from whichever model of the pair is present."""
    for kind in MODEL_NAMES:
        if (meta := model_meta(task, dataset, kind)) is not None:
            return meta["return_stats"]
    raise FileNotFoundError(f"no checkpoint for {task}/{dataset}")


def calibrations(task: str, dataset: str) -> dict[str, Calibration]:
    """{kind: Calibration} fitted on the shipped sweep (empty when none is shipped)."""
    return dict(_calibrations(task, dataset))


@lru_cache(maxsize=32)
def _calibrations(task: str, dataset: str) -> tuple[tuple[str, Calibration], ...]:
    sweep = precomputed_sweep(task, dataset)
    if sweep is None:
        return ()
    return tuple((kind, Calibration.from_sweep(m["sweep"])) for kind, m in sweep["models"].items())


def calibration_measurement(task: str, dataset: str) -> dict | None:
    """What ``python -m core.calibrate --ship`` measured for the pair (calibration.json), if shipped."""
    p = Run(task, dataset).calibration_path
    return json.loads(p.read_text()) if p.exists() else None


def calibration_errors(task: str, dataset: str) -> dict[str, dict]:
    """Per model kind, its calibration's measured errors (``calibration_measurement``'s models; {} where none ships)."""
    return (calibration_measurement(task, dataset) or {}).get("models", {})


def precomputed_sweep(task: str, dataset: str) -> dict | None:
    """The alignment sweep shipped beside the checkpoints (``sweep.json``), if any."""
    p = Run(task, dataset).sweep_path
    return json.loads(p.read_text()) if p.exists() else None


def model_meta(task: str, dataset: str, kind: str) -> dict | None:
    """The shown model's JSON (training seed, budget, network, data fingerprint), or None when not shipped."""
    p = model_path(task, dataset, kind).with_suffix(".json")
    return json.loads(p.read_text()) if p.exists() else None


def stale_reason(task: str, dataset: str, kind: str) -> str | None:
    """Why the shown model's data cannot be rebuilt (``checkpoints/stale.json``), or None when it can."""
    return stale_models().get(model_path(task, dataset, kind).relative_to(checkpoints_root()).as_posix())


def critic_record(task: str, dataset: str) -> dict | None:
    """What the shipped Q-ALIGN model records about the critic it aligned with (objective, steps, the quality
    gate's scores and verdict), or None when the pair has no Q-ALIGN model or it predates the record."""
    meta = model_meta(task, dataset, "qalign")
    return meta.get("critic") if meta is not None else None
