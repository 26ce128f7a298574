"""Dashboard live-view speed as a user sees it: start `python app/main.py`, run episodes through the
API (the browser uses the same stream), and print time to first frame and frames per second, for one
model and for two side by side, alone and with N concurrent users. Optionally saves a Chromium
screenshot of the page after an episode (``--screenshot assets/screenshot.png``).

    python benchmarks/dashboard_speed.py --task hopper --dataset medium --users 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_app() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(
        [sys.executable, "app/main.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/"
    for _ in range(180):
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("app did not start")


def one_episode(url: str, task: str, dataset: str, model: str, target: float, seed: int, max_s: float) -> dict:
    from gradio_client import Client

    c = Client(url, verbose=False)
    t0 = time.perf_counter()
    job = c.submit(task, dataset, model, target, seed, api_name="/run_return")
    first, frames = None, 0
    while not job.done() and time.perf_counter() - t0 < max_s:
        n = len(job.outputs())
        if n and first is None:
            first = time.perf_counter() - t0
        frames = n
        time.sleep(0.02)
    if not job.done():
        job.cancel()
    total = time.perf_counter() - t0
    frames = len(job.outputs())
    return {
        "first_frame_s": first or float("nan"),
        "fps": frames / max(total - (first or 0), 1e-9),
        "frames": frames,
        "wall_s": total,
    }


def screenshot(url: str, path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_role("button", name="Run episode").first.click()
        page.get_by_text("D4RL-normalised score").first.wait_for(timeout=180_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(path), full_page=True)
        b.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="hopper")
    ap.add_argument("--dataset", default="medium")
    ap.add_argument("--target", type=float, default=1500.0)
    ap.add_argument("--users", type=int, default=3)
    ap.add_argument("--max-s", type=float, default=120.0)
    ap.add_argument("--screenshot", type=Path, default=None)
    args = ap.parse_args()
    proc, url = start_app()
    try:
        for model in ("Q-ALIGN DT", "Both, side by side"):
            r = one_episode(url, args.task, args.dataset, model, args.target, 0, args.max_s)
            print(
                f"{model:>20}, 1 user : first frame {r['first_frame_s']:.2f}s, {r['fps']:.1f} frames/s, "
                f"{r['frames']} frames in {r['wall_s']:.1f}s"
            )
        with ThreadPoolExecutor(args.users) as pool:
            rs = list(
                pool.map(
                    lambda i: one_episode(url, args.task, args.dataset, "Q-ALIGN DT", args.target, i, args.max_s),
                    range(args.users),
                )
            )
        firsts = ", ".join(f"{r['first_frame_s']:.2f}" for r in rs)
        rates = ", ".join(f"{r['fps']:.1f}" for r in rs)
        ok = all(r["frames"] > 0 for r in rs)
        print(f"{'Q-ALIGN DT':>20}, {args.users} users: first frame {firsts} s; frames/s {rates}; all finished: {ok}")
        if args.screenshot:
            screenshot(url, args.screenshot)
            print(f"screenshot -> {args.screenshot}")
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
