"""Live-engine replicas in worker processes: one ``LiveEngine`` per core, each stepping the episodes dealt to it.

One engine process cannot fill two cores: its simulators' Python and PyTorch's dispatch share one GIL, so the
engine's helper thread gained only 1.23x at 8 side-by-side viewers (README, "Live view: before and after"), where
two processes gained 1.94x on the sweeps (``core.lanes``). So the app runs the engine the way model servers run
data-parallel replicas (vLLM's data parallelism, Triton's instance groups): ``ShardedEngine`` deals each new
episode to the replica with the fewest running, and each replica is the same ``LiveEngine`` (continuous batching
of its episodes, one forward per checkpoint per tick, real-time pacing) in a child process (``python -m
core.shards``). The app's process keeps a mirror ``Episode`` per episode, which a reader thread fills from the
replica's stream; handlers and the live stream read mirrors exactly as they read an in-process engine's episodes.

Requests are validated here first (the same named errors as ``LiveEngine.submit``). Messages are plain data, no
pickle: framed JSON (``core.lanes``'s framing). A replica that dies ends only its own episodes, with status
``error``; the next episode dealt to it starts a new one.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field

import numpy as np

from core.calibration import Calibration, SpeedHoldConfig
from core.engine import (
    EngineBusy,
    EngineConfig,
    Episode,
    EpisodeRequest,
    LaneStep,
    LiveEngine,
    StepRecord,
    check_request,
)
from core.lanes import _recv, _send_json
from core.store.checkpoint import CheckpointError
from core.store.layout import REPO_ROOT

log = logging.getLogger(__name__)

_ERRORS = {e.__name__: e for e in (ValueError, CheckpointError, FileNotFoundError, EngineBusy)}
"""What ``LiveEngine.submit`` raises for a viewer's request, raised again here by name (anything else: RuntimeError)."""

PUMP_S = 0.01
"""How often a replica sends its episodes' new steps: well inside the page's 0.1 s play-out buffer."""


@dataclass(frozen=True)
class ShardConfig:
    """How many replicas, and each one's engine."""

    shards: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    """Replica processes: one per core (at most 4: past that, more viewers per replica batch better)."""
    engine: EngineConfig = EngineConfig(parallel_forwards=False)
    """Each replica's engine; its ``max_episodes`` also caps the whole. No helper thread: the replicas use the cores."""
    start_timeout_s: float = 60.0
    """Longest wait for a replica's imports (torch, gymnasium, MuJoCo: 1-3 s here) before its episode is refused."""


# ---------------------------------------------------------------------------------------------- wire format


def request_to_json(req: EpisodeRequest) -> dict:
    return asdict(req)


def request_from_json(d: dict) -> EpisodeRequest:
    outcome = d.get("outcome")
    return EpisodeRequest(
        **{
            **d,
            "outcome": None
            if outcome is None
            else {k: Calibration(tuple(c["requests"]), tuple(c["predicted"])) for k, c in outcome.items()},
            "hold": None if d.get("hold") is None else SpeedHoldConfig(**d["hold"]),
        }
    )


def record_to_json(r: StepRecord) -> dict:
    lanes = {
        kind: [None if s.pose is None else s.pose.ravel().tolist(), s.ret, s.reward, s.speed, s.rtg, s.done, s.q]
        for kind, s in r.lanes.items()
    }
    return {"t": r.t, "w": r.wall, "g": r.target, "l": lanes}


def record_from_json(d: dict) -> StepRecord:
    lanes = {}
    for kind, (pose, ret, reward, speed, rtg, done, q) in d["l"].items():
        pose = None if pose is None else np.asarray(pose, dtype=np.float32).reshape(-1, 3)
        lanes[kind] = LaneStep(pose, ret, reward, speed, rtg, done, q)
    return StepRecord(d["t"], d["w"], d["g"], lanes)


# ---------------------------------------------------------------------------------------------- the replica


def serve(inp, out, cfg: EngineConfig) -> None:
    """A replica's loop: run a ``LiveEngine``; answer submit / warm, apply retarget / stop, and stream every
    episode's new steps (then its end) until the input closes."""
    engine = LiveEngine(cfg).start()
    lock = threading.Lock()  # one writer at a time on ``out``
    watched: dict[str, list] = {}  # episode id -> [episode, records sent]

    def send(msg: dict) -> None:
        with lock:
            _send_json(out, msg)

    def pump() -> None:
        while True:
            time.sleep(PUMP_S)
            steps, ends = {}, []
            for eid, entry in list(watched.items()):
                ep, sent = entry
                ended = ep.ended.is_set()  # read before the records: an ended episode has published its last step
                n = len(ep.records)
                if n > sent:
                    steps[eid] = [record_to_json(r) for r in ep.records[sent:n]]
                    entry[1] = n
                if ended:
                    del watched[eid]
                    ends.append(_end_json(ep))
            try:
                if steps:
                    send({"op": "steps", "eps": steps})
                for end in ends:
                    send(end)
            except (OSError, ValueError):
                return

    send({"op": "ready"})
    threading.Thread(target=pump, name="replica-pump", daemon=True).start()
    while True:
        try:
            msg = json.loads(_recv(inp))
        except (EOFError, OSError):
            engine.close()
            return
        op = msg["op"]
        if op == "retarget":
            engine.retarget(msg["id"], msg["target"])
        elif op == "stop":
            engine.stop(msg["id"])
        else:
            try:
                if op == "submit":
                    ep = engine.submit(request_from_json(msg["request"]))
                    first = record_to_json(ep.records[0])
                    send({"op": "reply", "call": msg["call"], "ok": True, "id": ep.id, "scene": ep.scene,
                          "critics": sorted(ep.critics), "first": first})  # fmt: skip
                    watched[ep.id] = [ep, 1]  # after the reply: its steps follow it on the stream
                else:  # warm
                    engine.warm(msg["tasks"], msg["paths"])
                    send({"op": "reply", "call": msg["call"], "ok": True})
            except Exception as err:  # noqa: BLE001  (the caller raises it, by kind)
                send({"op": "reply", "call": msg["call"], "ok": False, "kind": type(err).__name__, "message": str(err)})


def _end_json(ep: Episode) -> dict:
    states = {k: [q.tolist(), v.tolist()] for k, (q, v) in ep.states.items()}
    return {
        "op": "end", "id": ep.id, "status": ep.status, "message": ep.message, "start": ep.start, "slip_s": ep.slip_s,
        "wall_s": ep.wall_s, "states": states,
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------- the app's side


class _Replica:
    """One replica process, its reader thread, and the mirrors of its running episodes."""

    def __init__(self, cfg: EngineConfig):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.shards", json.dumps(asdict(cfg))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=REPO_ROOT,
        )  # fmt: skip
        self.ready = threading.Event()
        self.dead = False
        self.running: dict[str, Episode] = {}
        self._calls: dict[int, tuple[Future, Callable[[dict], None] | None]] = {}
        self._count = itertools.count()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, name=f"replica-{self.proc.pid}", daemon=True).start()

    def call(self, msg: dict, timeout: float, on_reply: Callable[[dict], None] | None = None) -> dict:
        """Send ``msg`` and wait for its reply; ``on_reply`` runs on the reader thread before any later message
        is read (so a mirror it registers sees every step that follows the reply)."""
        fut: Future = Future()
        with self._lock:
            if self.dead:
                raise RuntimeError("the live engine's worker process has stopped")
            n = next(self._count)
            self._calls[n] = (fut, on_reply)
            _send_json(self.proc.stdin, {**msg, "call": n})
        return fut.result(timeout)

    def tell(self, msg: dict) -> None:
        with self._lock:
            if not self.dead:
                try:
                    _send_json(self.proc.stdin, msg)
                except OSError:
                    pass  # the reader thread finds it dead and ends its episodes

    def _read(self) -> None:
        try:
            while True:
                msg = json.loads(_recv(self.proc.stdout))
                op = msg["op"]
                if op == "steps":
                    for eid, records in msg["eps"].items():
                        ep = self.running.get(eid)
                        if ep is not None:
                            ep.records.extend(record_from_json(r) for r in records)
                elif op == "end":
                    self._end(msg)
                elif op == "reply":
                    with self._lock:
                        fut, on_reply = self._calls.pop(msg["call"])
                    if on_reply is not None:
                        on_reply(msg)
                    fut.set_result(msg)
                elif op == "ready":
                    self.ready.set()
        except (EOFError, OSError, ValueError) as err:
            self._died(err)

    def _end(self, msg: dict) -> None:
        ep = self.running.pop(msg["id"], None)
        if ep is None:
            return
        ep.states = {k: (np.asarray(q), np.asarray(v)) for k, (q, v) in msg["states"].items()}
        ep.start, ep.slip_s, ep.wall_s = msg["start"], msg["slip_s"], msg["wall_s"]
        ep.status, ep.message = msg["status"], msg["message"]
        ep.ended.set()

    def _died(self, err: BaseException) -> None:
        with self._lock:
            self.dead = True
            calls, self._calls = self._calls, {}
        self.ready.set()
        if self.proc.poll() is None:
            self.proc.kill()
        for fut, _ in calls.values():
            fut.set_exception(RuntimeError(f"the live engine's worker process stopped: {err}"))
        for ep in list(self.running.values()):
            ep.status, ep.message = "error", "the live engine's worker process stopped"
            ep.ended.set()
        self.running.clear()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class ShardedEngine:
    """``LiveEngine``'s entry points (``submit``, ``retarget``, ``stop``, ``episode``, ``warm``, ``run_to_end``,
    ``start``, ``close``) over ``cfg.shards`` replica processes; see the module docstring."""

    def __init__(self, cfg: ShardConfig = ShardConfig()):  # noqa: B008  (frozen)
        if cfg.shards < 1:
            raise ValueError(f"shards must be at least 1, got {cfg.shards}")
        self.shard_cfg, self.cfg = cfg, cfg.engine
        self._replicas: list[_Replica | None] = [None] * cfg.shards
        self._episodes: dict[str, Episode] = {}
        self._lock = threading.Lock()
        self._pending = 0

    def start(self) -> ShardedEngine:
        """Start every replica process (idempotent; a dead one is replaced); returns self."""
        with self._lock:
            for i, rep in enumerate(self._replicas):
                if rep is None or rep.dead:
                    self._replicas[i] = _Replica(self.cfg)
        return self

    def _ready(self, rep: _Replica) -> _Replica:
        if not rep.ready.wait(self.shard_cfg.start_timeout_s) or rep.dead:
            raise RuntimeError("the live engine's worker process did not start")
        return rep

    def submit(self, request: EpisodeRequest) -> Episode:
        """Validate here, deal the episode to the replica with the fewest running, return its mirror (its first
        record, the reset pose, already in it). Raises as ``LiveEngine.submit`` does."""
        task = check_request(request)
        self.start()
        with self._lock:
            running = sum(len(r.running) for r in self._replicas if r is not None) + self._pending
            if running >= self.cfg.max_episodes:
                raise EngineBusy(
                    f"the live view is running {self.cfg.max_episodes} episodes already; try again in a few seconds"
                )
            rep = min(self._replicas, key=lambda r: len(r.running))
            self._pending += 1
        mirror: list[Episode] = []

        def register(reply: dict) -> None:  # on the reader thread, before the episode's first steps arrive
            if reply["ok"]:
                ep = Episode(request, task, reply["scene"])
                ep.id, ep.critics = reply["id"], set(reply["critics"])
                ep.records.append(record_from_json(reply["first"]))
                rep.running[ep.id] = ep
                mirror.append(ep)

        try:
            reply = self._ready(rep).call({"op": "submit", "request": request_to_json(request)}, 120, register)
            if not reply["ok"]:
                raise _ERRORS.get(reply["kind"], RuntimeError)(reply["message"])
            ep = mirror[0]
            with self._lock:
                self._episodes[ep.id] = ep
                self._forget()
        finally:
            with self._lock:
                self._pending -= 1
        return ep

    def _forget(self) -> None:
        """Keep at most ``keep_finished`` ended episodes (for late readers and the MP4 export)."""
        ended = [k for k, e in self._episodes.items() if e.ended.is_set()]
        for k in ended[: max(0, len(ended) - self.cfg.keep_finished)]:
            del self._episodes[k]

    def _owner(self, episode_id: str) -> _Replica | None:
        return next((r for r in self._replicas if r is not None and episode_id in r.running), None)

    def retarget(self, episode_id: str, target: float) -> bool:
        if not math.isfinite(target):
            raise ValueError(f"target must be a finite number, got {target!r}")
        rep = self._owner(str(episode_id))
        if rep is None:
            return False
        rep.tell({"op": "retarget", "id": str(episode_id), "target": float(target)})
        return True

    def stop(self, episode_id: str) -> bool:
        rep = self._owner(str(episode_id))
        if rep is None:
            return False
        rep.tell({"op": "stop", "id": str(episode_id)})
        return True

    def episode(self, episode_id: str) -> Episode | None:
        with self._lock:
            return self._episodes.get(str(episode_id))

    def warm(self, tasks: list[str], paths: list[str]) -> None:
        """Every replica builds the tasks' simulators and loads (and traces) the checkpoints, side by side."""
        self.start()
        calls = [
            threading.Thread(
                target=lambda r=r: self._ready(r).call({"op": "warm", "tasks": tasks, "paths": paths}, 600)
            )
            for r in self._replicas
        ]
        for t in calls:
            t.start()
        for t in calls:
            t.join()

    def run_to_end(self, request: EpisodeRequest) -> Episode:
        ep = self.submit(request)
        ep.ended.wait()
        return ep

    def close(self) -> None:
        for rep in self._replicas:
            if rep is not None:
                rep.close()


if __name__ == "__main__":
    # The protocol owns the real stdout; anything printed (a library's warning) goes to stderr instead.
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    engine_cfg = json.loads(sys.argv[1])
    serve(sys.stdin.buffer, protocol_out, EngineConfig(**engine_cfg))
