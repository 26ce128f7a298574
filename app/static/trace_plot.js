// Draws an episode's trace on a small canvas as its steps arrive: each model's return so far (or forward
// speed) against the step, and the request as a dotted line, so a target moved mid-episode shows at once.

const PAD = { left: 56, right: 12, top: 12, bottom: 26 };

export class TracePlot {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.reset(null);
  }

  // Forget the last episode; `scene` says the mode, the step limit and each model's name and colour.
  reset(scene) {
    this.scene = scene;
    this.data = { t: [], target: [], series: {} }; // exposed on window.qdtLive for tests
    if (scene) scene.lanes.forEach((lane) => (this.data.series[lane.kind] = []));
    this.dirty = true;
  }

  push(steps) {
    if (!this.scene) return;
    const key = this.scene.mode === "velocity" ? "v" : "r";
    for (const step of steps) {
      if (step.t === 0) continue; // the reset pose: nothing achieved yet
      this.data.t.push(step.t);
      this.data.target.push(step.g);
      this.scene.lanes.forEach((lane, i) => this.data.series[lane.kind].push(step.l[i][key]));
    }
    this.dirty = true;
  }

  draw(dpr) {
    if (!this.dirty || !this.scene) return;
    this.dirty = false;
    const { canvas, ctx, data, scene } = this;
    const w = canvas.width;
    const h = canvas.height;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, w, h);
    const all = [...data.target, ...Object.values(data.series).flat()];
    const lo = Math.min(0, ...all);
    const hi = Math.max(1e-6, ...all) * 1.08;
    const left = PAD.left * dpr;
    const right = w - PAD.right * dpr;
    const top = PAD.top * dpr;
    const bottom = h - PAD.bottom * dpr;
    const X = (t) => left + ((right - left) * t) / scene.limit;
    const Y = (v) => bottom - ((bottom - top) * (v - lo)) / (hi - lo);

    ctx.strokeStyle = "#c8d0d8";
    ctx.fillStyle = "#4a5663";
    ctx.lineWidth = dpr;
    ctx.font = `${11 * dpr}px sans-serif`;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let k = 0; k <= 4; k++) {
      const v = lo + ((hi - lo) * k) / 4;
      ctx.beginPath();
      ctx.moveTo(left, Y(v));
      ctx.lineTo(right, Y(v));
      ctx.stroke();
      ctx.fillText(Math.abs(hi) >= 100 ? v.toFixed(0) : v.toFixed(1), left - 6 * dpr, Y(v));
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.fillText(`step (of ${scene.limit})`, (left + right) / 2, bottom + 8 * dpr);

    const line = (ys, color, dash) => {
      if (!ys.length) return;
      ctx.setLineDash(dash.map((d) => d * dpr));
      ctx.strokeStyle = color;
      ctx.lineWidth = 2 * dpr;
      ctx.beginPath();
      ys.forEach((v, i) => (i ? ctx.lineTo(X(data.t[i]), Y(v)) : ctx.moveTo(X(data.t[i]), Y(v))));
      ctx.stroke();
    };
    scene.lanes.forEach((lane) => line(data.series[lane.kind], lane.color, []));
    line(data.target, "#000000", [4, 4]);
    ctx.setLineDash([]);
  }
}
