"""Where datasets, checkpoints and results live; every root can be moved by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


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


def use_local_datasets() -> Path:
    """Point Minari at our datasets folder unless the user already chose one; returns it."""
    root = datasets_root()
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    root.mkdir(parents=True, exist_ok=True)
    return root
