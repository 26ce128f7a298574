"""The only module that talks to Minari: dataset ids, writing episodes, reading them back."""

from __future__ import annotations

import warnings

import minari
import numpy as np
from minari.data_collector.episode_buffer import EpisodeBuffer

from core.behavior.episodes import Episode
from core.envs import TaskSpec
from core.store.layout import use_local_datasets

NAMESPACE = "qalign"
QUALITIES = (
    "medium",
    "medium-replay",
    "expert",
    "medium-expert",
    "control",
    "switch",
    "pace",
    "even",
    "ladder",
    "ladder-pure",
)
"""The paper's four (D4RL's names); ``control``: random to expert, spread evenly over its sources' mean returns
(core.data.control); ``switch``: control's sources handing over mid-episode; ``pace``: a policy running at commanded
speeds (core.behavior.pace); ``even``: control's sources, spread evenly over episode returns (core.data.even);
``ladder``: control's bins with one source each (core.data.control.ladder); ``ladder-pure``: the same sources, each
bin keeping only its own source's episodes (core.data.even). Appended only: a quality's index seeds its collection."""


def dataset_id(task: str, quality: str) -> str:
    """Our id for a generated dataset, e.g. ``qalign/hopper/medium-v0``."""
    if quality not in QUALITIES:
        raise ValueError(f"unknown dataset quality {quality!r}; valid qualities: {', '.join(QUALITIES)}")
    return f"{NAMESPACE}/{task}/{quality}-v0"


def resolve_id(task: str, dataset: str) -> str:
    """A quality name maps to our generated id; anything with a '/' is taken as a Minari id as-is
    (e.g. ``mujoco/hopper/medium-v0`` for users who have the remote datasets)."""
    return dataset if "/" in dataset else dataset_id(task, dataset)


def write_dataset(ds_id: str, task: TaskSpec, episodes: list[Episode], description: str, algorithm: str):
    """Write episodes as a Minari dataset (replacing an older one of the same id).

    Built from ready buffers with ``create_dataset_from_buffers``: unlike ``DataCollector`` this
    needs only ``minari[hdf5]``, not jax.
    """
    use_local_datasets()
    if ds_id in minari.list_local_datasets():
        minari.delete_dataset(ds_id)
    buffers = [
        EpisodeBuffer(
            id=i,
            seed=ep.seed,
            observations=ep.observations.astype(np.float64),
            actions=ep.actions.astype(np.float32),
            rewards=ep.rewards,
            terminations=ep.terminations,
            truncations=ep.truncations,
            # Minari keeps one info per observation (T + 1): the source of each step, the last one repeated
            infos={} if ep.sources is None else {"source": np.append(ep.sources, ep.sources[-1:])},
        )
        for i, ep in enumerate(episodes)
    ]
    env = task.make()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*(code_permalink|author_email|eval_env).*")
            return minari.create_dataset_from_buffers(
                dataset_id=ds_id,
                buffer=buffers,
                env=env,
                algorithm_name=algorithm,
                description=description,
                author="qalign-dt dashboard",
                data_format="hdf5",
                jpeg_encoding=False,
            )
    finally:
        env.close()


def episode_seeds(ds_id: str) -> list[int]:
    """The reset seed of every episode, in episode order (Minari stores it with each episode)."""
    ds = load_minari(ds_id)
    ids = list(range(ds.total_episodes))
    return [int(m["seed"]) for m in ds.storage.get_episode_metadata(ids)]


def load_minari(ds_id: str, download: bool = False) -> minari.MinariDataset:
    """``minari.load_dataset`` with a message that says how to make the dataset when it is missing."""
    use_local_datasets()
    try:
        return minari.load_dataset(ds_id, download=download)
    except FileNotFoundError as err:
        parts = ds_id.split("/")
        hint = ""
        if len(parts) == 3 and parts[0] == NAMESPACE:
            hint = f"; generate it with: python -m core.data.collect --task {parts[1]} --quality {parts[2].rsplit('-v', 1)[0]}"
        raise FileNotFoundError(f"dataset {ds_id!r} not found under {use_local_datasets()}{hint}") from err
