// The live view: opens an episode's stream, plays it at display rate (requestAnimationFrame) with the
// models side by side in one canvas, overlays their numbers, keeps the trace plot current, and counts the
// frames it draws. window.qdtLive.views[name] exposes those counts and the trace to tests and benchmarks.

import { Playback, lerpPose } from "./playback.js";
import { drawLabel, drawPane, prepare } from "./scene2d.js";
import { openStream } from "./stream.js";
import { TracePlot } from "./trace_plot.js";

const registry = (window.qdtLive ??= { views: {} });

export function mount(root, name) {
  const view = new LiveView(root);
  registry.views[name] = view.stats;
  return view;
}

function fmt(v, digits = 0) {
  return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

class LiveView {
  constructor(root) {
    this.canvas = root.querySelector("canvas.qdt-scene");
    this.ctx = this.canvas.getContext("2d", { alpha: false });
    this.trace = new TracePlot(root.querySelector("canvas.qdt-trace"));
    this.stats = { episode: null, status: "idle", frames: 0, fps: 0 };
    this.stats.trace = this.trace.data;
    this.close = () => {};
    this.running = false;
    new ResizeObserver(() => this.resize()).observe(this.canvas);
    this.resize();
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.canvas, this.trace.canvas]) {
      c.width = Math.max(1, Math.round(c.clientWidth * dpr));
      c.height = Math.max(1, Math.round(c.clientHeight * dpr));
    }
    this.trace.dirty = true;
  }

  // `value`: the JSON the server put in the component, {"id": ..., "stream": path relative to the page}.
  open(value) {
    let episode;
    try {
      episode = JSON.parse(value);
    } catch {
      return; // empty or not an episode: keep showing the last one
    }
    if (!episode || !episode.stream || episode.id === this.stats.episode) return;
    this.close();
    this.playback = new Playback();
    this.scene = null;
    this.prepared = null;
    this.ended = null;
    this.laneEnd = {}; // lane index -> the step its model ended at
    Object.assign(this.stats, {
      episode: episode.id,
      status: "connecting",
      frames: 0,
      fps: 0,
      drawMs: 0,
      openedAt: performance.now(),
      firstFrameAt: null,
      endedAt: null,
      end: null, // the server's end message: status, steps, wall_s, slip_s, summary
    });
    this.close = openStream(new URL(episode.stream, document.baseURI), {
      onScene: (scene) => {
        this.scene = scene;
        this.trace.reset(scene);
        this.stats.trace = this.trace.data;
        this.stats.status = "running";
      },
      onSteps: (steps) => {
        if (!this.prepared && this.scene && steps.length) this.prepared = prepare(this.scene, steps[0].l[0].p);
        this.playback.push(steps);
        this.trace.push(steps);
      },
      onEnd: (end) => {
        this.ended = end;
      },
      onFail: (why) => {
        this.stats.status = `error: ${why}`;
        this.running = false;
      },
    });
    this.fpsMark = { at: performance.now(), frames: 0 };
    if (!this.running) {
      this.running = true;
      requestAnimationFrame((t) => this.frame(t));
    }
  }

  frame(now) {
    if (!this.running) return;
    const sample = this.prepared ? this.playback.sample(now / 1000) : null;
    if (sample) {
      const t0 = performance.now();
      this.draw(sample);
      const s = this.stats;
      s.drawMs += performance.now() - t0; // time spent drawing, summed: divide by frames for the mean
      s.frames += 1;
      if (s.firstFrameAt === null) s.firstFrameAt = now;
      if (now - this.fpsMark.at >= 1000) {
        s.fps = ((s.frames - this.fpsMark.frames) * 1000) / (now - this.fpsMark.at);
        this.fpsMark = { at: now, frames: s.frames };
      }
      if (this.ended && sample.done) {
        Object.assign(s, { status: this.ended.status, end: this.ended, endedAt: now });
        this.running = false; // the last pose stays on the canvas
        return;
      }
    }
    requestAnimationFrame((t) => this.frame(t));
  }

  draw({ a, b, f }) {
    const { ctx, canvas, scene, prepared } = this;
    const dpr = window.devicePixelRatio || 1;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const n = scene.lanes.length;
    const gap = 6 * dpr;
    const w = (canvas.width - gap * (n - 1)) / n;
    scene.lanes.forEach((lane, i) => {
      const rect = { x: i * (w + gap), y: 0, w, h: canvas.height };
      drawPane(ctx, prepared, lerpPose(a.l[i].p, b.l[i].p, f), rect, dpr);
      drawLabel(ctx, rect, this.lines(lane, a, i), lane.color, dpr);
    });
    this.trace.draw(dpr);
  }

  lines(lane, step, i) {
    const l = step.l[i];
    const ask =
      this.scene.mode === "velocity"
        ? `speed ${fmt(l.v, 2)} m/s, target ${fmt(step.g, 2)} m/s`
        : `return ${fmt(l.r)} of ${fmt(step.g)} requested`;
    const when = l.d ? `ended at step ${this.endStep(i)}` : `step ${step.t} of ${this.scene.limit}`;
    return [lane.name, ask, when];
  }

  endStep(i) {
    this.laneEnd[i] ??= this.playback.steps.find((s) => s.l[i].d)?.t;
    return this.laneEnd[i] ?? "?";
  }
}
