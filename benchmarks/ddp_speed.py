"""Data-parallel training throughput: the DT stage as 1 process vs N torchrun ranks, side by side in one run.

    python benchmarks/ddp_speed.py [--task hopper --dataset medium --steps 300 --nprocs 1,2 --device cpu]

Each configuration runs the real entry point (``torchrun ... -m core.train --stage dt``) on the whole
machine: with C cores, a single process gets C torch threads and N ranks get C / N each. Windows/s counts
every rank's batch (``batch_size`` is per rank). Needs the dataset (``python -m core.data.collect``).
Runs and checkpoints go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.envs import get_task  # noqa: E402
from core.store.layout import Run, runs_root  # noqa: E402


def run(nproc: int, args, cores: int, tmp: Path) -> dict:
    threads = max(1, cores // nproc)
    env = {
        **os.environ,
        "QDT_RUNS": str(tmp / f"n{nproc}" / "runs"),
        "QDT_CHECKPOINTS": str(tmp / f"n{nproc}" / "ckpt"),
    }
    env["OMP_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)]
    cmd += ["-m", "core.train", "--task", args.task, "--dataset", args.dataset, "--stage", "dt", "--config", "cpu"]
    cmd += ["--device", args.device, "--cfg.threads", str(threads), "--cfg.pretrain-steps", str(args.steps)]
    cmd += ["--cfg.align-steps", "0", "--cfg.warmup-steps", "10", "--cfg.save-every", str(10 * args.steps)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    log = Path(env["QDT_RUNS"]) / Run(get_task(args.task).name, args.dataset).metrics_path("dt").relative_to(
        runs_root()
    )
    last = json.loads(log.read_text().splitlines()[-1])
    return {"steps_per_s": last["perf/steps_per_s"], "wall": wall, "threads": threads}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="hopper")
    ap.add_argument("--dataset", default="medium")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--nprocs", default="1,2")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    batch = 64  # the cpu preset's per-rank batch
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.nprocs.split(",")):
            results[n] = run(n, args, cores, Path(tmp))
    base = results[min(results)]
    base_rate = base["steps_per_s"] * batch * min(results)
    print(f"{args.task}/{args.dataset} DT stage, cpu preset, {args.steps} steps, {cores} cores, device {args.device}")
    for n, r in results.items():
        windows = r["steps_per_s"] * batch * n
        print(
            f"{n} rank(s) x {r['threads']} thread(s): {r['steps_per_s']:6.2f} steps/s, {windows:7.0f} windows/s "
            f"({windows / base_rate:.2f}x), wall {r['wall']:.1f} s with start-up"
        )


if __name__ == "__main__":
    main()
