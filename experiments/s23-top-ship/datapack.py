"""Carry a dataset of ours to another machine as its reset seeds and actions, and replay it there.

A lent GPU machine receives at most 64 MiB of working tree, and a 171k-transition dataset is 36 MB on disk; its
collection there (``core.data.collect``) costs minutes of device time on one core. Our datasets are deterministic
simulations, so an episode is its reset seed and its actions: ``pack`` writes those (about 2 MB) with the dataset's
description and fingerprint; ``unpack`` replays every episode in MuJoCo, writes the Minari dataset under
``MINARI_DATASETS_PATH`` as ``core.data.collect`` would, and exits 1 unless the fingerprint matches bit for bit.

    MINARI_DATASETS_PATH=... python experiments/s23-top-ship/datapack.py pack hopper ladder-pure pack.npz
    MINARI_DATASETS_PATH=... python experiments/s23-top-ship/datapack.py unpack pack.npz
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from core.behavior.episodes import Episode  # noqa: E402
from core.data.dataset import load_offline_data  # noqa: E402
from core.data.fingerprint import fingerprint  # noqa: E402
from core.data.minari_io import dataset_id, episode_seeds, load_minari, write_dataset  # noqa: E402
from core.envs import get_task  # noqa: E402


def pack(task: str, quality: str, out: Path) -> None:
    ds_id = dataset_id(task, quality)
    ds = load_minari(ds_id)
    meta = ds.storage.metadata
    if any(ep.infos for ep in ds.iterate_episodes()):
        raise SystemExit(f"{ds_id}: episodes carry infos (switch / pace sources); not packable this way")
    actions = [np.asarray(ep.actions, dtype=np.float32) for ep in ds.iterate_episodes()]
    record = {
        "task": task,
        "quality": quality,
        "description": meta["description"],
        "algorithm": meta.get("algorithm_name", ""),
        "fingerprint": fingerprint(load_offline_data(task, quality)),
    }
    np.savez_compressed(
        out,
        seeds=np.array(episode_seeds(ds_id), dtype=np.int64),
        lengths=np.array([len(a) for a in actions], dtype=np.int64),
        actions=np.concatenate(actions),
        record=np.array(json.dumps(record)),
    )
    print(json.dumps({"packed": str(out), "bytes": out.stat().st_size, **record["fingerprint"]}))


def replay(task_name: str, seeds: np.ndarray, lengths: np.ndarray, actions: np.ndarray) -> list[Episode]:
    task = get_task(task_name)
    env = task.make()
    episodes, start = [], 0
    try:
        for seed, n in tqdm(list(zip(seeds.tolist(), lengths.tolist())), desc="replay", unit="episode"):
            acts = actions[start : start + n]
            start += n
            obs, rew, term, trunc = [env.reset(seed=seed)[0].copy()], [], [], []
            for a in acts:
                o, r, te, tr, _ = env.step(a)
                obs.append(o.copy())
                rew.append(r)
                term.append(te)
                trunc.append(tr)
            episodes.append(Episode(np.array(obs), acts, np.array(rew), np.array(term), np.array(trunc), seed))
    finally:
        env.close()
    return episodes


def unpack(path: Path) -> int:
    z = np.load(path)
    record = json.loads(str(z["record"]))
    task, quality = record["task"], record["quality"]
    episodes = replay(task, z["seeds"], z["lengths"], z["actions"])
    write_dataset(dataset_id(task, quality), get_task(task), episodes, record["description"], record["algorithm"])
    got, want = fingerprint(load_offline_data(task, quality)), record["fingerprint"]
    print(json.dumps({"replayed": dataset_id(task, quality), **got, "matches": got == want}))
    return 0 if got == want else 1


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "pack":
        pack(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
    elif len(sys.argv) == 3 and sys.argv[1] == "unpack":
        sys.exit(unpack(Path(sys.argv[2])))
    else:
        sys.exit(__doc__)
