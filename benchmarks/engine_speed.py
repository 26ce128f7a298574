"""The live engine alone (no server, no pages): N side-by-side episodes of a dataset's shown DT and Q-ALIGN DT (its
critic's view included), unpaced, with ``parallel_forwards`` off and on, alternated; wall and CPU milliseconds per
episode step (both models) and what real time needs.

    python benchmarks/engine_speed.py --task hopper --dataset medium --viewers 1,8 --runs 3

An episode step is one step of both models; at real time a Hopper episode takes 125 of them a second, so N viewers
need N x 125 per second: the engine keeps real time while wall ms per step x N x 125 stays under 1,000. The episodes
are checked to be identical in both settings (returns and critic values).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.engine import EngineConfig, EpisodeRequest, LiveEngine  # noqa: E402
from core.envs import get_task  # noqa: E402


def run(task: str, models: dict[str, str], n: int, parallel: bool, target: float) -> tuple[float, float, list]:
    """(wall ms, CPU ms) per episode step of n side-by-side episodes, and every model's final return and values."""
    engine = LiveEngine(EngineConfig(max_episodes=n, parallel_forwards=parallel))
    engine.warm([task], list(models.values()))
    eps = [engine.submit(EpisodeRequest(task, models, target=target, seed=i, pace=0.0)) for i in range(n)]
    wall, cpu = time.perf_counter(), time.process_time()
    while not all(ep.ended.is_set() for ep in eps):
        engine.tick()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    engine.close()
    steps = sum(len(ep.records) - 1 for ep in eps)
    outcome = [(k, s.ret, s.q) for ep in eps for r in ep.records for k, s in r.lanes.items()]
    return 1e3 * wall / steps, 1e3 * cpu / steps, outcome


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", default="hopper")
    ap.add_argument("--dataset", default="medium")
    ap.add_argument("--viewers", default="1,8", help="episodes at once, comma-separated")
    ap.add_argument("--runs", type=int, default=3, help="alternating runs per setting")
    ap.add_argument("--target", type=float, default=1500.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    models = {k: str(ROOT / "checkpoints" / args.task / args.dataset / k / "model") for k in ("dt", "qalign")}
    real_time = 1.0 / get_task(args.task).dt
    print(f"{args.task} {args.dataset}, both models side by side, unpaced; {args.runs} runs per setting, alternated")
    print(f"{'viewers':>7} {'setting':>9} {'wall ms/step':>13} {'CPU ms/step':>12} {'of real time at N':>18}")
    for n in (int(v) for v in args.viewers.split(",")):
        res: dict[bool, list] = {False: [], True: []}
        for i in range(args.runs):
            for parallel in (False, True) if i % 2 == 0 else (True, False):
                res[parallel].append(run(args.task, models, n, parallel, args.target))
        outcomes = {repr(r[2]) for rs in res.values() for r in rs}
        walls = {p: statistics.median(r[0] for r in rs) for p, rs in res.items()}
        for parallel, rs in res.items():
            cpu = statistics.median(r[1] for r in rs)
            speed = 1e3 / (walls[parallel] * n * real_time)
            name = "parallel" if parallel else "one thread"
            print(f"{n:>7} {name:>9} {walls[parallel]:13.3f} {cpu:12.3f} {min(speed, 99):17.2f}x")
        print(
            f"{'':>7} parallel / one thread: {walls[False] / walls[True]:.2f}x; episodes identical in every run: "
            f"{'yes' if len(outcomes) == 1 else 'NO'}"
        )


if __name__ == "__main__":
    main()
