"""The training log: a JSONL file of metrics plus the progress callback the CLI and the UI listen to."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import torch

Progress = Callable[[int, int, "dict | None"], None]
"""(step, total, metrics logged at this step or None): a tqdm bar in the CLI, a progress bar in a UI."""


class MetricLog:
    """JSONL metrics file plus the progress callback; one record every ``every`` steps.

    Metric names are grouped by prefix: ``losses/...``, ``charts/...``, ``perf/...``."""

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
