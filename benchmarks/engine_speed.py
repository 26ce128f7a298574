"""The live engine alone (no server, no pages): N side-by-side episodes of a dataset's shown DT and Q-ALIGN DT (its
critic's view included), unpaced, on one thread, with ``parallel_forwards`` (a helper thread), and dealt to engine
replicas in worker processes (``core.shards``, what the app runs), alternated; wall and CPU milliseconds per episode
step (both models; the replicas' CPU included) and what real time needs.

    python benchmarks/engine_speed.py --task hopper --dataset medium --viewers 1,8 --runs 3 [--shards 2]

An episode step is one step of both models; at real time a Hopper episode takes 125 of them a second, so N viewers
need N x 125 per second: the engine keeps real time while wall ms per step x N x 125 stays under 1,000. The episodes
are checked to be identical on one thread and with the helper (returns and critic values); the replicas batch
fewer episodes per forward, which may move the last digits of an action, so theirs are reported apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.engine import EngineConfig, EpisodeRequest, LiveEngine  # noqa: E402
from core.envs import get_task  # noqa: E402
from core.shards import ShardConfig, ShardedEngine  # noqa: E402

SETTINGS = ("one thread", "parallel", "replicas")


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (fields 14-15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def outcome_of(eps) -> list:
    return [(k, s.ret, s.q) for ep in eps for r in ep.records for k, s in r.lanes.items()]


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
    return 1e3 * wall / steps, 1e3 * cpu / steps, outcome_of(eps)


def run_replicas(task: str, models: dict[str, str], n: int, shards: int, target: float) -> tuple[float, float, list]:
    """``run`` with the episodes dealt to ``shards`` engine replicas; CPU: this process's and the replicas'."""
    engine = ShardedEngine(ShardConfig(shards, EngineConfig(max_episodes=n, parallel_forwards=False))).start()
    engine.warm([task], list(models.values()))
    pids = [r.proc.pid for r in engine._replicas]

    def cpu_now() -> float:
        return time.process_time() + sum(proc_cpu_s(pid) for pid in pids)

    wall, cpu = time.perf_counter(), cpu_now()
    eps = [engine.submit(EpisodeRequest(task, models, target=target, seed=i, pace=0.0)) for i in range(n)]
    for ep in eps:
        ep.ended.wait()
    wall, cpu = time.perf_counter() - wall, cpu_now() - cpu
    engine.close()
    steps = sum(len(ep.records) - 1 for ep in eps)
    return 1e3 * wall / steps, 1e3 * cpu / steps, outcome_of(eps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", default="hopper")
    ap.add_argument("--dataset", default="medium")
    ap.add_argument("--viewers", default="1,8", help="episodes at once, comma-separated")
    ap.add_argument("--runs", type=int, default=3, help="alternating runs per setting")
    ap.add_argument("--target", type=float, default=1500.0)
    ap.add_argument("--shards", type=int, default=2, help="engine replicas (worker processes) in the third setting")
    args = ap.parse_args()
    torch.set_num_threads(1)
    models = {k: str(ROOT / "checkpoints" / args.task / args.dataset / k / "model") for k in ("dt", "qalign")}
    real_time = 1.0 / get_task(args.task).dt
    print(f"{args.task} {args.dataset}, both models side by side, unpaced; {args.runs} runs per setting, alternated")
    print(f"{'viewers':>7} {'setting':>10} {'wall ms/step':>13} {'CPU ms/step':>12} {'of real time at N':>18}")
    for n in (int(v) for v in args.viewers.split(",")):
        res: dict[str, list] = {name: [] for name in SETTINGS}
        for i in range(args.runs):
            for name in SETTINGS if i % 2 == 0 else SETTINGS[::-1]:
                if name == "replicas":
                    res[name].append(run_replicas(args.task, models, n, args.shards, args.target))
                else:
                    res[name].append(run(args.task, models, n, name == "parallel", args.target))
        walls = {name: statistics.median(r[0] for r in rs) for name, rs in res.items()}
        for name, rs in res.items():
            cpu = statistics.median(r[1] for r in rs)
            speed = 1e3 / (walls[name] * n * real_time)
            print(f"{n:>7} {name:>10} {walls[name]:13.3f} {cpu:12.3f} {min(speed, 99):17.2f}x")
        same = len({repr(r[2]) for name in ("one thread", "parallel") for r in res[name]}) == 1
        replicas_same = {repr(r[2]) for r in res["replicas"]} == {repr(res["one thread"][0][2])}
        print(
            f"{'':>7} one thread / parallel {walls['one thread'] / walls['parallel']:.2f}x, / replicas "
            f"{walls['one thread'] / walls['replicas']:.2f}x; episodes identical, one thread and parallel: "
            f"{'yes' if same else 'NO'}; replicas: {'yes' if replicas_same else 'no (batches of other sizes)'}"
        )


if __name__ == "__main__":
    main()
