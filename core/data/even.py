"""The ``even`` dataset: ``control``'s sources, each episode kept or dropped by its own return, so that the data is
spread evenly over episode returns.

``control`` gives equal transitions to equal-width bins of its sources' *mean* returns. A source's episodes spread
far around its mean (a hopper that falls early or late), and on Hopper the band between 2,500 and 3,500 ends up thin
(33 of 1,523 episodes, 12% of the transitions), just where every DT trained on it stops following the request
(README, "The `control` data where the slider stops"). Here each source (the uniform-random policy and every
snapshot) plays its own stream of episodes, from its own reset seeds and noise stream as in ``control``; the sources
take turns, one batch of ``n_envs`` episodes each, and an episode is kept while its return's bin has room
(a tenth of ``size`` per bin; ``control.edges``: ten equal-width bins from the random policy's mean return to the
best source's, with returns outside folded into the end bins). A source whose last ``RETIRE`` batches added nothing
leaves the rotation. Collection stops when every bin is full, when no source is left, or after ``MAX_FACTOR`` x
``size`` simulated steps; a bin no source reaches stays short (``collect`` reports each bin's fill). The same seeds
give the same dataset. Built by ``python -m core.data.collect --task T --quality even``.

``ladder-pure`` plays only ``control.ladder``'s sources, and each bin keeps the episodes of one of them alone (its
owner, ``control.owners``): every return level of the data is one policy's gait, whatever the action noise does to
each policy's returns. With ``--open-bins`` a bin whose owner has left the rotation keeps any rung's episodes from
then on: a bin its owner rarely reaches under the noise (Hopper's medium rung, 1,458-2,178) fills from the rungs
that do, while the top bin stays the expert's as long as the expert adds to it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from core.behavior.episodes import Episode, run_episodes
from core.data import control
from core.envs import TaskSpec

RETIRE = 3
"""Consecutive batches without a kept episode after which a source leaves the rotation."""
MAX_FACTOR = 8
"""Simulated steps at most, as a multiple of the dataset's size."""


def bin_of(ret: float, bin_edges: np.ndarray) -> int:
    return int(control.bin_index(ret, bin_edges))


def _stream(
    task: TaskSpec, actor, seed: int, noise_scale: float, n_envs: int, batches: int | None
) -> Iterator[list[Episode]]:
    """One source's batches of episodes (at most ``batches``), from reset seeds seed, seed + 1, ... and one noise
    stream."""
    rng = np.random.default_rng(seed)
    start = seed
    while batches is None or start < seed + batches * n_envs:
        seeds = list(range(start, start + n_envs))
        start += n_envs
        yield run_episodes(task, lambda o: actor.act(o, rng, noise_scale), seeds, True, n_envs)[1]


def sample_episodes(
    task: TaskSpec,
    actors: list,
    seeds: list[int],
    size: int,
    bin_edges: np.ndarray,
    noise_scale: float,
    n_envs: int,
    bar=None,
    batches: int | None = None,
    owners: list[int] | None = None,
    top_share: float = 0.0,
    open_bins: bool = False,
) -> tuple[list[Episode], np.ndarray]:
    """(kept episodes in the order kept, transitions kept per bin); see the module docstring. ``batches``: each
    source plays at most that many (the start of the full collection: the same episodes, kept alike). ``owners``:
    per bin, the index of the one source whose episodes it keeps (``ladder-pure``); None: any source's.
    ``top_share``: the top bin's share of ``size`` (0: ``1 / bins``, as every other bin's). ``open_bins``: a bin
    whose owner retires (``RETIRE`` batches without a kept episode) keeps any source's episodes from then on."""
    if owners is not None and len(owners) != len(bin_edges) - 1:
        raise ValueError(f"owners: one source per bin ({len(bin_edges) - 1}), got {len(owners)}")
    owners = None if owners is None else list(owners)  # None in a slot: that bin is open to every source
    bins = len(bin_edges) - 1
    room = np.full(bins, size // bins)
    if top_share:
        room[-1] = round(top_share * size)
        room[:-1] = (size - room[-1]) // (bins - 1)
    filled = np.zeros_like(room)
    cap = MAX_FACTOR * size
    streams = {
        i: _stream(task, actor, seed, noise_scale, n_envs, batches)
        for i, (actor, seed) in enumerate(zip(actors, seeds))
    }
    idle = dict.fromkeys(streams, 0)
    kept: list[Episode] = []
    simulated = 0
    while streams and (filled < room).any() and simulated < cap:
        for i in list(streams):
            added = 0
            batch = next(streams[i], None)
            if batch is None:  # played all its batches
                del streams[i]
                continue
            for ep in batch:
                simulated += len(ep)
                b = bin_of(ep.ret, bin_edges)
                if filled[b] < room[b] and (owners is None or owners[b] in (i, None)):
                    kept.append(ep)
                    filled[b] += len(ep)
                    added += len(ep)
            if bar is not None:
                bar.update(added)
            idle[i] = 0 if added else idle[i] + 1
            if idle[i] >= RETIRE:
                del streams[i]
                if open_bins and owners is not None:
                    owners = [None if o == i else o for o in owners]
            if not (filled < room).any() or simulated >= cap:
                break
    return kept, filled
