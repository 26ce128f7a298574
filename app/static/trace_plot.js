// Draws an episode's trace on a small canvas as its steps arrive: each model's return so far (or forward
// speed) against the step, and the request as a dotted line, so a target moved mid-episode shows at once.
// The critic's view: for a model that ships its critic, the critic's value of the action it took, Q(s, a),
// as a dashed line in the model's colour on its own scale, the right axis (return mode: Q is a discounted
// value, a tenth of an episode's return or less, and would lie flat on the return axis); a caption says which
// models ship none.

const PAD = { left: 56, right: 12, top: 24, bottom: 26 }; // the caption sits in the top band, above the axes
const Q_AXIS = 52; // extra right margin for the critic's axis

export class TracePlot {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.reset(null);
  }

  // Forget the last episode; `scene` says the mode, the step limit and each model's name and colour.
  reset(scene) {
    this.scene = scene;
    this.data = { t: [], target: [], series: {}, q: {} }; // exposed on window.qdtLive for tests
    if (scene)
      scene.lanes.forEach((lane) => {
        this.data.series[lane.kind] = [];
        if (lane.critic) this.data.q[lane.kind] = { t: [], v: [] };
      });
    this.dirty = true;
  }

  push(steps) {
    if (!this.scene) return;
    const key = this.scene.mode === "velocity" ? "v" : "r";
    for (const step of steps) {
      if (step.t === 0) continue; // the reset pose: nothing achieved yet
      this.data.t.push(step.t);
      this.data.target.push(step.g);
      this.scene.lanes.forEach((lane, i) => {
        this.data.series[lane.kind].push(step.l[i][key]);
        const q = this.data.q[lane.kind];
        if (q && step.l[i].q !== undefined) {
          q.t.push(step.t);
          q.v.push(step.l[i].q);
        }
      });
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
    const showQ = scene.mode === "return";
    const qs = showQ ? Object.values(data.q).flatMap((q) => q.v) : [];
    const all = [...data.target, ...Object.values(data.series).flat()];
    const lo = Math.min(0, ...all);
    const hi = Math.max(1e-6, ...all) * 1.08;
    const qlo = Math.min(0, ...qs);
    const qhi = Math.max(1e-6, ...qs) * 1.08;
    const left = PAD.left * dpr;
    const hasQ = showQ && scene.lanes.some((lane) => lane.critic); // margin kept from the first step, no jump
    const right = w - (PAD.right + (hasQ ? Q_AXIS : 0)) * dpr;
    const top = PAD.top * dpr;
    const bottom = h - PAD.bottom * dpr;
    const X = (t) => left + ((right - left) * t) / scene.limit;
    const scale = (a, b) => (v) => bottom - ((bottom - top) * (v - a)) / (b - a);
    const Y = scale(lo, hi); // returns or speeds, the request
    const YQ = scale(qlo, qhi); // the critic's values, right axis
    const tick = (v, max) => (Math.abs(max) >= 100 ? v.toFixed(0) : v.toFixed(1));

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
      ctx.fillText(tick(v, hi), left - 6 * dpr, Y(v));
    }
    if (qs.length) {
      ctx.textAlign = "left";
      for (let k = 0; k <= 4; k += 2) {
        const v = qlo + ((qhi - qlo) * k) / 4;
        ctx.fillText(k === 4 ? `Q ${tick(v, qhi)}` : tick(v, qhi), right + 6 * dpr, YQ(v));
      }
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.fillText(`step (of ${scene.limit})`, (left + right) / 2, bottom + 8 * dpr);

    const line = (ts, ys, y, color, dash, width) => {
      if (!ys.length) return;
      ctx.setLineDash(dash.map((d) => d * dpr));
      ctx.strokeStyle = color;
      ctx.lineWidth = width * dpr;
      ctx.beginPath();
      ys.forEach((v, i) => (i ? ctx.lineTo(X(ts[i]), y(v)) : ctx.moveTo(X(ts[i]), y(v))));
      ctx.stroke();
    };
    scene.lanes.forEach((lane) => line(data.t, data.series[lane.kind], Y, lane.color, [], 2));
    line(data.t, data.target, Y, "#000000", [4, 4], 2);
    if (showQ)
      scene.lanes.forEach((lane) => {
        const q = data.q[lane.kind];
        if (q) line(q.t, q.v, YQ, lane.color, [8, 3], 1);
      });
    ctx.setLineDash([]);
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    ctx.fillStyle = "#4a5663";
    const what = showQ ? "return so far" : "forward speed (m/s)";
    const caption = scene.lanes
      .map((lane) => `${lane.name}: ${lane.critic ? (showQ ? "critic Q(s, a) dashed, right axis" : "critic shown in return mode") : "ships no critic"}`)
      .join("   ");
    ctx.fillText(`${what}, request dotted.   ${caption}`, left, 5 * dpr);
  }
}
