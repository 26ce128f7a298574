"""The live view's wire format and an episode's trace: what the page receives about an episode (its scene
once, then batches of steps, then how it ended), and the per-step numbers that the dashboard's plot and
summary and the MP4 overlay read back.

    scene  {"id", "task", "mode", "dt", "pace", "limit", "lanes": [{"kind", "name", "color", "critic": ships one}],
            "geoms": [{"type", "size", "rgba"}], "focus", "floor"}
    steps  {"steps": [{"t", "w": seconds after the start it is due on screen, "g": target,
                       "l": [{"p": [x, z, angle] * geoms or null once ended, "r": return, "v": speed, "d": 0/1,
                              "q": the critic's value of the action taken (only for a lane whose model ships one)}]}]}
    end    {"status", "message", "steps", "wall_s", "slip_s": seconds behind its pace, "summary": {kind: {...}}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.engine import Episode, StepRecord
from core.plots import COLORS, MODEL_NAMES

DECIMALS = 3  # metres and radians: 1 mm / 1 mrad is far below a pixel at any size the page draws


def scene_message(ep: Episode) -> dict:
    lanes = [
        {"kind": k, "name": MODEL_NAMES.get(k, k), "color": COLORS.get(k, "#444444"), "critic": k in ep.critics}
        for k in ep.kinds
    ]
    req = ep.request
    return {
        "id": ep.id,
        "task": ep.task.name,
        "mode": req.mode,
        "dt": ep.task.dt,
        "pace": req.pace,
        "limit": ep.limit,
        "lanes": lanes,
        **ep.scene,
    }


def _lane(s) -> dict:
    pose = None if s.pose is None else np.round(s.pose.astype(np.float64), DECIMALS).ravel().tolist()
    out = {"p": pose, "r": round(s.ret, 2), "v": round(s.speed, 3), "d": int(s.done)}
    if s.q is not None:
        out["q"] = round(s.q, 2)
    return out


def steps_message(records: list[StepRecord]) -> dict:
    return {
        "steps": [
            {"t": r.t, "w": round(r.wall, 4), "g": r.target, "l": [_lane(s) for s in r.lanes.values()]} for r in records
        ]
    }


def end_message(ep: Episode) -> dict:
    return {
        "status": ep.status,
        "message": ep.message,
        "steps": ep.records[-1].t,
        "wall_s": round(ep.wall_s, 3),
        "slip_s": round(ep.slip_s, 3),
        "summary": EpisodeTrace.of(ep.records).summary(),
    }


def encode(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))


@dataclass
class EpisodeTrace:
    """The per-step numbers of one episode (every model), for the plot, the summary and the export."""

    t: list[int] = field(default_factory=list)
    target: list[float] = field(default_factory=list)
    series: dict[str, list[float]] = field(default_factory=dict)
    """``<kind>:return`` and ``<kind>:speed`` per step; ``<kind>:q`` for a model that ships a critic."""
    last: dict[str, dict] = field(default_factory=dict)
    """Each model's numbers at its last step."""
    alive_speeds: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def of(cls, records: list[StepRecord]) -> EpisodeTrace:
        """The trace of an episode's steps after the reset (record 0 is the start pose)."""
        trace = cls()
        for r in records[1:]:
            trace.add(r)
        return trace

    def add(self, record: StepRecord) -> None:
        self.t.append(record.t)
        self.target.append(record.target)
        for kind, s in record.lanes.items():
            self.series.setdefault(f"{kind}:return", []).append(s.ret)
            self.series.setdefault(f"{kind}:speed", []).append(s.speed)
            if s.q is not None:
                self.series.setdefault(f"{kind}:q", []).append(s.q)
            if s.pose is not None:  # the step was taken (not a model that had already ended)
                self.alive_speeds.setdefault(kind, []).append(s.speed)
                self.last[kind] = {"reward": s.reward, "speed": s.speed, "return": s.ret, "rtg": s.rtg, "done": s.done}

    def summary(self) -> dict[str, dict]:
        """Per model: its last numbers plus the mean forward speed while its episode ran."""
        speeds = self.alive_speeds
        return {
            k: {**s, "mean_speed": float(np.mean(speeds[k])) if speeds.get(k) else 0.0} for k, s in self.last.items()
        }

    def to_dict(self) -> dict:
        return {"t": self.t, "target": self.target, **self.series}

    def write(self, path: Path) -> Path:
        """The trace and the summary as JSON."""
        Path(path).write_text(json.dumps({**self.to_dict(), "summary": self.summary()}))
        return Path(path)
