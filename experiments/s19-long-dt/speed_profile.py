"""What a Hopper `control` DT does when asked for more than it reaches: its forward speed over the first 200 steps
(50-step means, 3 validation episodes per request) beside the data's episodes of those returns (reward - 1, the
alive bonus taken off: forward speed less a small control cost).

    python experiments/s19-long-dt/speed_profile.py /work/exp/s15-control-seeds/ckpt/hopper/control/dt/model-s3 [DATASET]

DATASET (default ``control``) is the Hopper dataset whose episodes the model is set beside.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from core.data.dataset import load_offline_data  # noqa: E402
from core.engine import EngineConfig, EpisodeRequest, LiveEngine  # noqa: E402

REQUESTS = (1517.0, 2523.0, 3530.0)
BANDS = ((1300, 1700), (2300, 2700), (3300, 3800))


def main(path: str, dataset: str = "control") -> None:
    engine = LiveEngine(EngineConfig(max_episodes=1))
    for target in REQUESTS:
        speeds, lengths = [], []
        for seed in range(300_000, 300_003):
            ep = engine.run_to_end(EpisodeRequest("hopper", {"dt": path}, target=target, seed=seed, pace=0))
            v = np.array([r.lanes["dt"].speed for r in ep.records[1:]])
            speeds.append([v[i : i + 50].mean() for i in range(0, 200, 50)])
            lengths.append(len(v))
        print(f"request {target:.0f}: lengths {lengths}, speed per 50 steps {np.round(np.mean(speeds, 0), 2)}")
    data = load_offline_data("hopper", dataset)
    for lo, hi in BANDS:
        rows = [
            [t.rewards[i : i + 50].mean() - 1.0 for i in range(0, 200, 50)]
            for t in data.trajectories
            if lo <= t.rewards.sum() < hi and len(t) >= 200
        ]
        print(f"data, returns {lo}-{hi}: {len(rows)} episodes, reward - 1 per 50 steps {np.round(np.mean(rows, 0), 2)}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
