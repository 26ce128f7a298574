"""Which transport carries the live view's steps to the page: (a) Gradio's own streaming (a generator that
yields each batch of steps as a component value, which the page watches) or (b) a server-sent-event route
on Gradio's FastAPI app (app/live_routes.py). Both carry the same messages (core.live) of the same engine
episodes (shipped Hopper models side by side, real-time pace) to N headless Chromium pages, at most 30
batches a second. Measured: server CPU seconds per viewer, batches and steps received per second in the
page, and the gaps between batches (what the page's playback delay has to absorb).

    python benchmarks/live_transport.py --viewers 8
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SINK = """
window.recv = [];
const note = (text) => {
  const m = JSON.parse(text);
  if (Array.isArray(m.steps)) window.recv.push([performance.now(), m.steps.length]);
  if (m.status) window.done = true;
};
watch("value", () => {
  const v = props.value;
  if (!v) return;
  if (v.startsWith("live/")) {
    const es = new EventSource(v);
    es.addEventListener("steps", (e) => note(e.data));
    es.addEventListener("end", (e) => { es.close(); note(e.data); });
  } else note(v);
});
"""


def serve(port: int, mode: str) -> None:
    import gradio as gr
    import uvicorn
    from fastapi import FastAPI

    import core  # noqa: F401
    from app import live_routes
    from core.engine import EngineConfig, EpisodeRequest, LiveEngine
    from core.live import encode, end_message, steps_message

    engine = LiveEngine(EngineConfig(max_episodes=32)).start()
    models = {k: str(ROOT / f"checkpoints/hopper/medium/{k}/model") for k in ("dt", "qalign")}
    engine.warm(["hopper"], list(models.values()))

    def run(seed):
        ep = engine.submit(EpisodeRequest("hopper", models, target=1500.0, seed=int(seed)))
        if mode == "sse":
            yield f"live/stream/{ep.id}"
            ep.ended.wait()
            return
        sent = 0
        while True:
            ended, n = ep.ended.is_set(), len(ep.records)
            if n > sent:
                yield encode(steps_message(ep.records[sent:n]))
                sent = n
            if ended:
                yield encode(end_message(ep))
                return
            time.sleep(live_routes.SEND_EVERY_S)

    with gr.Blocks() as demo:
        seed = gr.Number(0, precision=0, elem_id="seed")
        go = gr.Button("go", elem_id="go")
        sink = gr.HTML("", html_template="<div></div>", js_on_load=SINK, elem_id="sink")
        go.click(run, seed, sink, concurrency_limit=32)
    app = live_routes.mount(FastAPI(), engine)
    uvicorn.run(gr.mount_gradio_app(app, demo.queue(), path="/"), host="127.0.0.1", port=port, log_level="warning")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(mode: str, viewers: int) -> dict:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), mode], cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        time.sleep(2)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"),
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            pages = []
            for i in range(viewers):
                page = browser.new_context().new_page()
                page.goto(url)
                page.wait_for_function("window.recv !== undefined", timeout=60_000)
                page.locator("#seed input").fill(str(i))
                page.locator("#seed input").dispatch_event("change")
                pages.append(page)
            cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
            for page in pages:
                page.locator("#go").click()
            for page in pages:
                page.wait_for_function("window.done === true", timeout=240_000, polling=200)
            cpu, elapsed = cpu_seconds(proc.pid) - cpu0, time.perf_counter() - t0
            recv = [page.evaluate("window.recv") for page in pages]
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    gaps = [(b[0] - a[0]) / 1000 for r in recv for a, b in zip(r, r[1:])]
    rates = [len(r) / ((r[-1][0] - r[0][0]) / 1000) for r in recv if len(r) > 1]
    steps = [sum(n for _, n in r) / ((r[-1][0] - r[0][0]) / 1000) for r in recv if len(r) > 1]
    return {
        "cpu_per_viewer": cpu / viewers,
        "elapsed": elapsed,
        "batches_per_s": statistics.median(rates),
        "steps_per_s": statistics.median(steps),
        "gap_p95": statistics.quantiles(gaps, n=20)[-1],
        "gap_max": max(gaps),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--viewers", type=int, default=8)
    ap.add_argument("--serve", nargs=2, metavar=("PORT", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    print(f"load before: {Path('/proc/loadavg').read_text().strip()}")
    for mode in ("gradio", "sse", "gradio", "sse"):  # interleaved, so a change in machine load hits both
        r = measure(mode, args.viewers)
        print(
            f"{mode:>6}, {args.viewers} viewers: server CPU {r['cpu_per_viewer']:.2f} s per viewer over "
            f"{r['elapsed']:.1f} s; per page {r['batches_per_s']:.1f} batches/s, {r['steps_per_s']:.0f} steps/s; "
            f"gap between batches p95 {r['gap_p95'] * 1000:.0f} ms, max {r['gap_max'] * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
