// Plays an episode's steps at their own pace, whatever rate they arrive at: keeps the received steps,
// moves a playhead along their due times, and returns the geom poses interpolated between the two steps
// around it. A short delay absorbs the batching of the stream; if data runs late the playhead waits
// (slow motion) instead of jumping, and if it falls far behind it catches up.

const DELAY_S = 0.1; // behind the newest step: the stream sends a batch every 1/30 s
const MAX_BEHIND_S = 0.5; // further behind than this (e.g. a hidden tab) and the playhead catches up

export class Playback {
  constructor() {
    this.steps = []; // {t, w, g, l: [{p, r, v, d}]}, poses of ended models filled from their last step
    this.offset = null; // page clock (s) minus episode time (s)
  }

  push(steps) {
    for (const step of steps) {
      const prev = this.steps[this.steps.length - 1];
      step.l.forEach((lane, i) => {
        if (lane.p === null && prev) lane.p = prev.l[i].p; // an ended model holds its last pose
      });
      this.steps.push(step);
    }
  }

  get last() {
    return this.steps[this.steps.length - 1];
  }

  // The state to draw at page time `now` (seconds): {a, b, f} with f in [0, 1] between steps a and b.
  sample(now) {
    const steps = this.steps;
    if (!steps.length) return null;
    if (this.offset === null) this.offset = now - steps[0].w + DELAY_S;
    let head = now - this.offset;
    const newest = this.last.w;
    if (head > newest) {
      this.offset += head - newest; // starved: hold here, so the next steps play on instead of jumping
      head = newest;
    } else if (newest - head > MAX_BEHIND_S) {
      this.offset -= newest - head - MAX_BEHIND_S;
      head = newest - MAX_BEHIND_S;
    }
    head = Math.max(head, steps[0].w);
    let lo = 0;
    let hi = steps.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1; // the last step due at or before the playhead
      if (steps[mid].w <= head) lo = mid;
      else hi = mid - 1;
    }
    const a = steps[lo];
    const b = steps[Math.min(lo + 1, steps.length - 1)];
    const f = b.w > a.w ? Math.min(1, (head - a.w) / (b.w - a.w)) : 0;
    return { a, b, f, done: lo === steps.length - 1 };
  }
}

// Poses [x, z, angle, ...] between two steps; angles take the short way round.
export function lerpPose(p, q, f) {
  const out = new Array(p.length);
  for (let i = 0; i < p.length; i += 3) {
    out[i] = p[i] + (q[i] - p[i]) * f;
    out[i + 1] = p[i + 1] + (q[i + 1] - p[i + 1]) * f;
    let d = q[i + 2] - p[i + 2];
    d -= 2 * Math.PI * Math.round(d / (2 * Math.PI));
    out[i + 2] = p[i + 2] + d * f;
  }
  return out;
}
