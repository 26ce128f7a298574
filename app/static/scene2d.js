// Draws planar MuJoCo robots on a 2D canvas: the geoms the server described once (capsule, cylinder,
// sphere, ellipsoid, box; MuJoCo's own sizes and colours) at the x-z poses of one step, over a floor
// with metre marks, seen by a camera that follows the torso. One pane per model, side by side.

const SKY_TOP = "#dfe9f3";
const SKY_LOW = "#f5f8fb";
const GROUND_AT = 0.8; // the floor line sits this far down a pane
const HEADROOM = 1.5; // a pane shows this many times the robot's standing height

function css(rgba, shade = 1) {
  const [r, g, b, a] = rgba;
  const c = (v) => Math.round(255 * Math.min(1, v * shade));
  return `rgba(${c(r)}, ${c(g)}, ${c(b)}, ${a})`;
}

// The fixed parts of a scene, worked out once: colours and the metres a pane shows from top to bottom.
export function prepare(scene, firstPose) {
  let top = 0.5;
  scene.geoms.forEach((g, i) => {
    top = Math.max(top, firstPose[3 * i + 1] + Math.max(...g.size.slice(0, 2)));
  });
  return {
    geoms: scene.geoms.map((g) => ({ ...g, fill: css(g.rgba), edge: css(g.rgba, 0.55) })),
    floorZ: scene.floor ? scene.floor.z : 0,
    floorFill: scene.floor ? css(scene.floor.rgba, 0.85) : "#cfd8cf",
    focus: scene.focus,
    metres: (top * HEADROOM) / GROUND_AT,
  };
}

function geomPath(ctx, g, x, y, angle, s, widen) {
  // (x, y) on screen; angle about the world y axis; s pixels per metre; widen: extra px for the outline
  const sin = Math.sin(angle);
  const cos = Math.cos(angle);
  ctx.beginPath();
  if (g.type === "capsule" || g.type === "cylinder") {
    const [r, half] = g.size;
    const dx = sin * half * s;
    const dy = -cos * half * s;
    ctx.lineCap = g.type === "capsule" ? "round" : "butt";
    ctx.lineWidth = 2 * r * s + widen;
    ctx.moveTo(x - dx, y - dy);
    ctx.lineTo(x + dx, y + dy);
    return "stroke";
  }
  if (g.type === "sphere") {
    ctx.arc(x, y, g.size[0] * s + widen / 2, 0, 2 * Math.PI);
  } else if (g.type === "ellipsoid") {
    ctx.ellipse(x, y, g.size[0] * s + widen / 2, g.size[2] * s + widen / 2, angle, 0, 2 * Math.PI);
  } else if (g.type === "box") {
    const hx = g.size[0] * s + widen / 2;
    const hz = g.size[2] * s + widen / 2;
    const corners = [[-hx, -hz], [hx, -hz], [hx, hz], [-hx, hz]];
    corners.forEach(([u, v], k) => {
      const px = x + u * cos + v * sin; // canvas rotation by `angle` (screen y points down)
      const py = y + u * sin - v * cos;
      if (k === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.closePath();
  }
  return "fill";
}

// Draws one pane: `rect` {x, y, w, h} in canvas pixels, `pose` [x, z, angle] per geom.
export function drawPane(ctx, prepared, pose, rect, dpr) {
  const s = rect.h / prepared.metres;
  const camX = pose[3 * prepared.focus];
  const groundY = rect.y + rect.h * GROUND_AT;
  const X = (x) => rect.x + rect.w / 2 + (x - camX) * s;
  const Y = (z) => groundY - (z - prepared.floorZ) * s;

  ctx.save();
  ctx.beginPath();
  ctx.rect(rect.x, rect.y, rect.w, rect.h);
  ctx.clip();
  const sky = ctx.createLinearGradient(0, rect.y, 0, groundY);
  sky.addColorStop(0, SKY_TOP);
  sky.addColorStop(1, SKY_LOW);
  ctx.fillStyle = sky;
  ctx.fillRect(rect.x, rect.y, rect.w, groundY - rect.y);
  ctx.fillStyle = prepared.floorFill;
  ctx.fillRect(rect.x, groundY, rect.w, rect.y + rect.h - groundY);

  // Marks every half metre, numbered every metre: they carry the sense of speed while the camera follows.
  const halfW = rect.w / 2 / s;
  ctx.strokeStyle = "rgba(40, 60, 40, 0.55)";
  ctx.fillStyle = "rgba(40, 60, 40, 0.8)";
  ctx.lineWidth = dpr;
  ctx.font = `${11 * dpr}px sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let m = Math.ceil((camX - halfW) * 2) / 2; m <= camX + halfW; m += 0.5) {
    const whole = Math.abs(m - Math.round(m)) < 1e-6;
    const x = X(m);
    ctx.beginPath();
    ctx.moveTo(x, groundY);
    ctx.lineTo(x, groundY + (whole ? 10 : 5) * dpr);
    ctx.stroke();
    if (whole) ctx.fillText(`${Math.round(m)} m`, x, groundY + 12 * dpr);
  }

  // Outlines first, then fills, so the limbs read as one body with dark edges.
  for (const pass of ["edge", "fill"]) {
    prepared.geoms.forEach((g, i) => {
      const x = X(pose[3 * i]);
      const y = Y(pose[3 * i + 1]);
      const how = geomPath(ctx, g, x, y, pose[3 * i + 2], s, pass === "edge" ? 2.5 * dpr : 0);
      if (how === "stroke") {
        ctx.strokeStyle = g[pass];
        ctx.stroke();
      } else {
        ctx.fillStyle = g[pass];
        ctx.fill();
      }
    });
  }
  ctx.restore();
}

// Text lines in a pane's top-left corner; the first in `color`.
export function drawLabel(ctx, rect, lines, color, dpr) {
  ctx.save();
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  lines.forEach((line, i) => {
    ctx.font = `${i === 0 ? "bold " : ""}${13 * dpr}px sans-serif`;
    ctx.fillStyle = i === 0 ? color : "#1d2733";
    ctx.fillText(line, rect.x + 10 * dpr, rect.y + (8 + 17 * i) * dpr);
  });
  ctx.restore();
}
