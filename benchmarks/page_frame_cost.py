"""What one drawn frame of the live view costs headless Chromium (software rendering, --disable-gpu), and how much of
that is our drawing: why 8 viewers' pages cannot all draw 30 frames/s on the server's own 2 cores.

A recorded Hopper episode (both shipped `control` models, stepped by the live engine, unpaced) is replayed at real
time in a plain page that imports the dashboard's own drawing modules (``app/static``) and draws as the live view
does: the page's variants, side by side in one run:
  page   as the live view draws (both robots at 721 px each, labels, the trace as steps arrive)
  bare   the same canvases, only cleared each frame (the trace still drawn as steps arrive)
  small  as ``page`` in a canvas a third as wide
  idle   nothing drawn (the page's fixed cost)
and, with ``--dashboard``, the real dashboard page (``python app/main.py``, one viewer, the same models, requested
return 3000) for comparison. For each: frames drawn per second and per page, CPU cores the browser's processes use
(renderer, GPU process, browser, ...), CPU milliseconds per drawn frame, and the milliseconds our JavaScript spent
drawing per frame.

    python benchmarks/page_frame_cost.py [--pages 1,8] [--seconds 8] [--dashboard]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import socketserver
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import core  # noqa: E402,F401  (headless MuJoCo before anything imports it)
from benchmarks.dashboard_speed import (  # noqa: E402
    CHROMIUM_ARGS,
    CLICK,
    READ,
    VIEWPORT,
    cpu_seconds,
    open_viewer,
    start_app,
)

PAGE = """<!doctype html><html><head><style>
body { margin: 0; font-family: sans-serif; } .wrap { width: 1448px; padding: 20px; }
canvas { display: block; width: 1448px; } .s { height: 380px; } .t { height: 180px; margin-top: 6px; }
</style></head><body><div class="wrap"><canvas class="s"></canvas><canvas class="t"></canvas></div>
<script type="module">
import { Playback, lerpPose } from "./static/playback.js";
import { drawLabel, drawPane, prepare } from "./static/scene2d.js";
import { TracePlot } from "./static/trace_plot.js";
const variant = new URLSearchParams(location.search).get("v");
const ep = await (await fetch("episode.json")).json();
const canvas = document.querySelector("canvas.s");
if (variant === "small") canvas.style.width = "483px";
for (const c of document.querySelectorAll("canvas")) { c.width = c.clientWidth; c.height = c.clientHeight; }
const ctx = canvas.getContext("2d", { alpha: false });
const trace = new TracePlot(document.querySelector("canvas.t"));
const stats = (window.bench = { frames: 0, drawMs: 0 });
let playback, prepared, next, start, fed = 0;
function restart(now) {
  playback = new Playback();
  trace.reset(ep.scene);
  prepared = prepare(ep.scene, ep.steps[0].l[0].p);
  next = 0;
  start = now;
}
function feed(now) { // what the stream would have delivered by now, in batches 1/30 s apart
  const batch = [];
  while (next < ep.steps.length && ep.steps[next].w <= (now - start) / 1000) batch.push(structuredClone(ep.steps[next++]));
  if (batch.length) { playback.push(batch); trace.push(batch); }
}
function frame(now) {
  if (start === undefined) restart(now);
  if (now - fed > 33) { feed(now); fed = now; }
  const s = playback.sample(now / 1000);
  if (s && variant !== "idle") {
    const t0 = performance.now();
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const n = ep.scene.lanes.length, gap = 6, w = (canvas.width - gap * (n - 1)) / n;
    if (variant !== "bare") ep.scene.lanes.forEach((lane, i) => {
      const rect = { x: i * (w + gap), y: 0, w, h: canvas.height };
      drawPane(ctx, prepared, lerpPose(s.a.l[i].p, s.b.l[i].p, s.f), rect, 1);
      drawLabel(ctx, rect, [lane.name, `return ${s.a.l[i].r.toFixed(0)}`, `step ${s.a.t}`], lane.color, 1);
    });
    trace.draw(1);
    stats.drawMs += performance.now() - t0;
    stats.frames += 1;
  }
  if (next >= ep.steps.length && s && s.done) restart(now);
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
</script></body></html>
"""


def record_episode(path: Path) -> int:
    """Both shipped Hopper `control` models on one seed, as the live engine streams them; wall time = sim time."""
    from core.engine import EngineConfig, EpisodeRequest, LiveEngine
    from core.live import scene_message, steps_message

    models = {k: str(ROOT / f"checkpoints/hopper/control/{k}/model") for k in ("dt", "qalign")}
    engine = LiveEngine(EngineConfig(max_episodes=1, compile=False))
    ep = engine.submit(EpisodeRequest("hopper", models, target=3000.0, pace=0.0))
    while not ep.ended.is_set():
        engine.tick()
    scene, steps = scene_message(ep), steps_message(ep.records)["steps"]
    for s in steps:
        s["w"] = s["t"] * scene["dt"]
    path.write_text(json.dumps({"scene": scene, "steps": steps}))
    return len(steps)


def chromium_cpu() -> dict[str, float]:
    """CPU seconds of every Chromium process by kind (renderer, gpu-process, browser, utility)."""
    out: dict[str, float] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore").split()
            if not cmd or "chrom" not in cmd[0]:
                continue
            seconds = cpu_seconds(int(d.name))
        except OSError:
            continue
        kind = next((a.split("=", 1)[1] for a in cmd if a.startswith("--type=")), "browser")
        out[kind] = out.get(kind, 0.0) + seconds
    return out


def measure(pages, seconds: float, read_frames) -> dict:
    """Frames, CPU by process kind and JS draw time over ``seconds`` of the pages running."""
    f0, c0, t0 = [read_frames(p) for p in pages], chromium_cpu(), time.perf_counter()
    time.sleep(seconds)
    f1, c1, el = [read_frames(p) for p in pages], chromium_cpu(), time.perf_counter() - t0
    frames = [b[0] - a[0] for a, b in zip(f0, f1)]
    draw_ms = sum(b[1] - a[1] for a, b in zip(f0, f1))
    cores = {k: (c1[k] - c0.get(k, 0.0)) / el for k in c1}
    return {
        "fps": sorted(f / el for f in frames),
        "cores": cores,
        "cpu_ms_per_frame": 1000 * sum(cores.values()) * el / max(1, sum(frames)),
        "js_ms_per_frame": draw_ms / max(1, sum(frames)),
    }


def show(name: str, n: int, m: dict) -> None:
    fps = m["fps"]
    split = ", ".join(f"{k} {v:.2f}" for k, v in sorted(m["cores"].items(), key=lambda kv: -kv[1]) if v >= 0.01)
    print(
        f"{name:9s} {n} page(s): {fps[len(fps) // 2]:5.1f} frames/s per page (min {fps[0]:.1f}); browser "
        f"{sum(m['cores'].values()):.2f} cores ({split}); {m['cpu_ms_per_frame']:.2f} CPU ms per frame, of which our "
        f"drawing JS {m['js_ms_per_frame']:.2f}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", default="1,8", help="numbers of pages to run at once")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--variants", default="page,bare,small,idle")
    ap.add_argument("--dashboard", action="store_true", help="also the real dashboard page, one viewer")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        shutil.copytree(ROOT / "app" / "static", site / "static")
        (site / "index.html").write_text(PAGE)
        steps = record_episode(site / "episode.json")
        quiet = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), functools.partial(quiet, directory=tmp))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        print(f"replaying a {steps}-step Hopper episode (both control models) at real time, looped; 1600 px viewport")
        bench_frames = lambda p: p.evaluate("[window.bench.frames, window.bench.drawMs]")  # noqa: E731
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            for n in [int(x) for x in args.pages.split(",")]:
                for variant in args.variants.split(","):
                    pages = [browser.new_context(viewport=VIEWPORT).new_page() for _ in range(n)]
                    for p in pages:
                        p.goto(f"{base}?v={variant}")
                        p.wait_for_function("window.bench && window.bench.frames + 0 >= 0")
                    time.sleep(2)
                    show(variant, n, measure(pages, args.seconds, bench_frames))
                    for p in pages:
                        p.context.close()
            if args.dashboard:
                dashboard(browser, args.seconds)
            browser.close()
        server.shutdown()


def dashboard(browser, seconds: float) -> None:
    """One viewer of the real dashboard: both Hopper `control` models, requested return 3000, real time."""
    proc, url = start_app(ROOT, nice=-10)
    try:
        page = open_viewer(browser, url, False, "hopper", "control", 3000, 0)
        page.evaluate(CLICK)
        page.wait_for_function("window.qdtLive.views.return.frames > 0", timeout=30_000)
        read = lambda p: p.evaluate("[window.qdtLive.views.return.frames, window.qdtLive.views.return.drawMs]")  # noqa: E731
        show("dashboard", 1, measure([page], min(seconds, 5.0), read))  # the episode lasts about 7 s
        print(f"  (the episode: {page.evaluate(READ)['status']})")
    finally:
        proc.kill()


if __name__ == "__main__":
    main()
