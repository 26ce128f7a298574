"""Where datasets, behaviour policies, training runs, shipped models and results live on disk.

The one place that builds an on-disk path. Every root can be moved by an environment variable
(``MINARI_DATASETS_PATH``, ``QDT_CHECKPOINTS``, ``QDT_RUNS``, ``QDT_RESULTS``, ``QDT_REFERENCES``), which
is how tests work in a temp folder. Task names arrive here already normalised (``core.envs.get_task``
at the command-line or UI edge); ``Run`` refuses any other spelling, so ``HalfCheetah`` can never
become a second folder.

    checkpoints/behavior/<task>/{medium,expert}.{json,safetensors}, levels.json, snapshots/step_*.json
    checkpoints/<task>/<dataset>/<kind>/model[-s<seed>].{json,safetensors}   (``model``: the pair the dashboard shows)
    checkpoints/<task>/<dataset>/sweep[-s<seed>].json
    runs/<task>/<dataset>/s<seed>/{critic,pretrain,dt,qalign}/   (resumable state, metrics.jsonl)
    runs/<task>/<dataset>/branches/chunk-*.safetensors, pairs.json   (``core.branches``)
    results/<task>/<dataset>[/s<seed>]/report.json, alignment.html, ...
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
MODEL_KINDS = ("dt", "qalign")
"""Kinds of shipped actor: the baseline Decision Transformer and Q-ALIGN DT."""
BEHAVIOR = "behavior"


def datasets_root() -> Path:
    """Minari's own variable, so `minari.load_dataset` and our collector agree on one folder."""
    return Path(os.environ.get("MINARI_DATASETS_PATH", REPO_ROOT / "data" / "datasets"))


def checkpoints_root() -> Path:
    """Trained models shipped with the repo; QDT_CHECKPOINTS moves it (e.g. for tests)."""
    return Path(os.environ.get("QDT_CHECKPOINTS", REPO_ROOT / "checkpoints"))


def runs_root() -> Path:
    """Logs and resumable training state; never committed."""
    return Path(os.environ.get("QDT_RUNS", REPO_ROOT / "runs"))


def results_root() -> Path:
    """Evaluation reports and figures; never committed."""
    return Path(os.environ.get("QDT_RESULTS", REPO_ROOT / "results"))


def references_path() -> Path:
    """Random/expert returns measured on our setup (written by ``core.behavior.select``)."""
    return Path(os.environ.get("QDT_REFERENCES", REPO_ROOT / "assets" / "reference_returns.json"))


def use_local_datasets() -> Path:
    """Point Minari at our datasets folder unless the user already chose one; returns it."""
    root = datasets_root()
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _check_task(task: str) -> None:
    from core.envs import TASKS

    if task not in TASKS:
        raise ValueError(
            f"task {task!r} is not a normalised task name ({', '.join(sorted(TASKS))}); "
            "pass it through core.envs.get_task(...).name first"
        )


# ---------------------------------------------------------------- behaviour policies


def behavior_dir(task: str) -> Path:
    """Exported behaviour snapshots and the chosen medium/expert levels of one task."""
    _check_task(task)
    return checkpoints_root() / BEHAVIOR / task


def behavior_path(task: str, level: str) -> Path:
    """A chosen behaviour actor (``medium``, ``expert``), without suffix."""
    return behavior_dir(task) / level


def snapshot_path(task: str, step: int, family: str = "snapshots") -> Path:
    """``family``: ``snapshots`` (the return-maximising run) or ``pace`` (``core.behavior.pace``)."""
    return behavior_dir(task) / family / f"step_{step:07d}"


def snapshot_paths(task: str, family: str = "snapshots") -> list[Path]:
    """Every exported snapshot of ``task`` (of one ``family``) in training order, without suffix."""
    return [p.with_suffix("") for p in sorted((behavior_dir(task) / family).glob("step_*.json"))]


def snapshot_step(path: Path) -> int:
    return int(Path(path).stem.split("_")[1])


def levels_path(task: str) -> Path:
    return behavior_dir(task) / "levels.json"


def behavior_run_dir(task: str, family: str = "snapshots") -> Path:
    """SB3 training state of the behaviour run (resumable; never committed); the pace run beside it."""
    _check_task(task)
    return runs_root() / BEHAVIOR / task / ("" if family == "snapshots" else family)


def branches_dir(task: str, dataset: str) -> Path:
    """Paired branch rollouts of one dataset (``core.branches``), which a critic can train on; never committed."""
    _check_task(task)
    return runs_root() / task / dataset.replace("/", "_") / "branches"


# ---------------------------------------------------------------- trained models


@dataclass(frozen=True)
class Run:
    """One (task, dataset, training seed): its training state, shipped models, sweep and results."""

    task: str
    """Normalised task name (``core.envs.get_task(name).name``)."""
    dataset: str
    """Dataset quality (``medium``) or a full Minari id."""
    seed: int = 0

    def __post_init__(self) -> None:
        _check_task(self.task)

    @property
    def dataset_key(self) -> str:
        """The dataset as one folder name (Minari ids contain slashes)."""
        return self.dataset.replace("/", "_")

    @property
    def root(self) -> Path:
        return runs_root() / self.task / self.dataset_key / f"s{self.seed}"

    def stage_dir(self, stage: str) -> Path:
        """Resumable state and metrics of one stage (``critic``, ``pretrain``, ``dt``, ``qalign``)."""
        return self.root / stage

    def metrics_path(self, stage: str) -> Path:
        """The stage's JSONL log of training metrics."""
        return self.stage_dir(stage) / "metrics.jsonl"

    @property
    def critic_path(self) -> Path:
        """The pre-trained critic (SARSA) Q-ALIGN DT starts from."""
        return self.stage_dir("critic") / "critic"

    @property
    def shipped_dir(self) -> Path:
        return checkpoints_root() / self.task / self.dataset_key

    def model_path(self, kind: str) -> Path:
        """The shipped actor of ``kind``: ``model`` for seed 0, ``model-s<seed>`` otherwise.

        ``model`` is the pair the dashboard shows. It is training seed 0 unless a retrained pair of another seed
        replaced the one before it by the ship rule (README); its JSON records its training ``seed``, the same for
        both kinds. ``model-s<seed>`` files always hold that training seed."""
        if kind not in MODEL_KINDS:
            raise ValueError(f"unknown model kind {kind!r}; valid: {', '.join(MODEL_KINDS)}")
        return self.shipped_dir / kind / ("model" if self.seed == 0 else f"model-s{self.seed}")

    def shipped_model(self, kind: str) -> Path:
        """``model_path(kind)`` when that model is shipped; otherwise a ValueError naming the models that are, with
        their training seeds (the shown ``model`` pair need not be seed 0), instead of a missing-file error later."""
        path = self.model_path(kind)
        if path.with_suffix(".json").exists():
            return path
        there = []
        for meta in sorted(self.shipped_dir.glob("*/model*.json")):
            seed = json.loads(meta.read_text()).get("seed", 0)
            there.append(f"{meta.parent.name}/{meta.stem} (training seed {seed})")
        raise ValueError(
            f"no shipped {kind} model for {self.task}/{self.dataset} at --seed {self.seed} ({path}.json); "
            + (f"shipped there: {', '.join(there)}; --seed picks the file (0: model, N: model-sN)" if there else
               "nothing is shipped for that task and dataset")
        )  # fmt: skip

    def shipped_critic_path(self, kind: str) -> Path:
        """The critic shipped beside a Q-ALIGN model (the one it aligned with, as it ended): ``critic`` for seed 0,
        ``critic-s<seed>`` otherwise; the dashboard's critic view reads it (``critic_beside``)."""
        return critic_beside(self.model_path(kind))

    @property
    def sweep_path(self) -> Path:
        """The shipped alignment sweep of this training seed: sweep.json for seed 0, sweep-s<seed>.json otherwise."""
        return self.shipped_dir / ("sweep.json" if self.seed == 0 else f"sweep-s{self.seed}.json")

    @property
    def calibration_path(self) -> Path:
        """The shipped ask-for-an-outcome measurement (``core.calibrate``), beside the sweep it is fitted on."""
        return self.shipped_dir / ("calibration.json" if self.seed == 0 else f"calibration-s{self.seed}.json")

    @property
    def results_dir(self) -> Path:
        """Evaluation report and figures: results/<task>/<dataset>, with /s<seed> for other training seeds."""
        out = results_root() / self.task / self.dataset_key
        return out if self.seed == 0 else out / f"s{self.seed}"


def critic_beside(model_path: Path) -> Path:
    """The critic file that ships beside a model file (``.../qalign/model-s1`` -> ``.../qalign/critic-s1``)."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name.replace("model", "critic", 1))


def shipped_models() -> dict[str, dict[str, list[str]]]:
    """{task: {dataset: [kinds]}} for every shipped ``model`` on disk (the pair the dashboard shows: its catalogue)."""
    out: dict[str, dict[str, list[str]]] = {}
    for meta in sorted(checkpoints_root().glob("*/*/*/model.json")):
        kind, dataset, task = meta.parent.name, meta.parent.parent.name, meta.parent.parent.parent.name
        if task != BEHAVIOR and kind in MODEL_KINDS:
            out.setdefault(task, {}).setdefault(dataset, []).append(kind)
    return out


def stale_models() -> dict[str, str]:
    """{``<task>/<dataset>/<kind>/model[-s<seed>]``: why} for shipped models whose training data cannot be rebuilt
    (``checkpoints/stale.json``): kept, marked, until a retrained model beats them."""
    p = checkpoints_root() / "stale.json"
    return json.loads(p.read_text()) if p.exists() else {}


def shipped_model_paths() -> list[Path]:
    """Every shipped actor of every training seed, without suffix."""
    metas = checkpoints_root().glob("*/*/*/model*.json")
    return sorted(p.with_suffix("") for p in metas if p.parts[-4] != BEHAVIOR and p.parent.name in MODEL_KINDS)
