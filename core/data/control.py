"""The ``control`` dataset's plan: behaviour sources spanning the skill range from random to expert, with
shares chosen so the data is spread evenly in return.

A return-conditioned policy can only follow a request it has seen examples of. Our medium datasets come from one
policy whose return spread is action noise; ``control`` (in the spirit of D4RL's full-replay) takes a
uniform-random policy and every training snapshot of the behaviour run, places each in one of ``BINS``
equal-width bins by its measured return (the snapshot's own evaluation, stored beside it), and gives every
non-empty bin the same number of transitions, split equally among its sources. ``ladder`` keeps only the best
source of each bin (one gait per return level); ``owners`` says which rung's episodes each bin of ``ladder-pure``
keeps. The plan depends only on committed files, so the dataset rebuilds exactly (``core.data.fingerprint``). Built
by ``python -m core.data.collect --task T --quality control`` (or ``ladder``, ``ladder-pure``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.store.layout import levels_path, snapshot_paths

BINS = 10
RANDOM = "random"
"""The source name of the uniform-random policy (it has no snapshot file)."""


class UniformActor:
    """The random policy: uniform actions in [-1, 1] from the collector's noise stream."""

    def __init__(self, act_dim: int):
        self.act_dim, self.portable = act_dim, True

    def act(self, obs: np.ndarray, rng: np.random.Generator | None = None, noise_scale: float = 1.0) -> np.ndarray:
        rng = rng if rng is not None else np.random.default_rng(0)
        return rng.uniform(-1.0, 1.0, (len(obs), self.act_dim)).astype(np.float32)


def source_returns(task: str) -> dict[str, float]:
    """Measured mean return of the random policy and of every snapshot, by source name (path or ``random``)."""
    snaps = snapshot_paths(task)
    if not snaps:
        raise FileNotFoundError(f"no behaviour snapshots for {task}; run python -m core.behavior.train --task {task}")
    out = {RANDOM: float(json.loads(levels_path(task).read_text())["random"]["mean"])}
    for p in snaps:
        out[str(p)] = float(json.loads(p.with_suffix(".json").read_text())["stats"]["mean"])
    return out


def _edges(values: np.ndarray, bins: int) -> np.ndarray:
    """``bins + 1`` edges of equal-width bins from the lowest value to the highest."""
    return np.linspace(values.min(), values.max(), bins + 1)


def bin_index(values, bin_edges: np.ndarray) -> np.ndarray:
    """Each value's bin (values below the first edge or above the last folded into the end bins)."""
    return np.clip(np.digitize(values, bin_edges[1:-1]), 0, len(bin_edges) - 2)


def edges(task: str, bins: int = BINS) -> np.ndarray:
    """The return bins of ``control``, ``ladder`` and the binned qualities (``core.data.even``): equal-width, from the
    lowest to the highest measured mean return of the task's sources."""
    return _edges(np.array(list(source_returns(task).values())), bins)


def plan(task: str, size: int, bins: int = BINS) -> list[tuple[Path | None, int]]:
    """(snapshot path, or None for the random policy; transitions) per source, in training order."""
    returns = source_returns(task)
    names, values = list(returns), np.array(list(returns.values()))
    which = bin_index(values, _edges(values, bins))
    used = np.unique(which)
    per_bin = size // len(used)
    shares = [per_bin // int((which == which[i]).sum()) for i in range(len(names))]
    return [(None if n == RANDOM else Path(n), s) for n, s in zip(names, shares)]


def ladder(task: str, size: int, bins: int = BINS) -> list[tuple[Path | None, int]]:
    """``control``'s bins with one source per non-empty bin, the one of highest measured return (so the top rung is
    the expert snapshot), each given the same share: every return level is one policy's gait, never a mix of
    neighbouring snapshots' gaits. (source, transitions) in training order, as ``plan``."""
    returns = source_returns(task)
    names, values = list(returns), np.array(list(returns.values()))
    which = bin_index(values, _edges(values, bins))
    best = {b: max(np.flatnonzero(which == b), key=lambda i: values[i]) for b in np.unique(which)}
    keep = sorted(best.values())
    return [(None if names[i] == RANDOM else Path(names[i]), size // len(keep)) for i in keep]


def owners(task: str, bins: int = BINS) -> list[int]:
    """``ladder-pure``: per bin of ``control``'s edges, the index (in ``ladder``'s order) of the one source whose
    episodes it keeps: the rung whose measured mean lies in it, or for a bin no rung's mean lies in, the rung whose
    mean is nearest its centre."""
    returns = source_returns(task)
    bin_edges = _edges(np.array(list(returns.values())), bins)
    rungs = [RANDOM if p is None else str(p) for p, _ in ladder(task, 1, bins)]
    means = np.array([returns[n] for n in rungs])
    which = bin_index(means, bin_edges)
    centres = (bin_edges[:-1] + bin_edges[1:]) / 2
    return [int(np.flatnonzero(which == b)[0]) if (which == b).any() else int(np.abs(means - centres[b]).argmin())
            for b in range(bins)]  # fmt: skip
