"""Live-engine replicas in worker processes: one ``LiveEngine`` per core, each checkpoint at home in one of them.

One engine process cannot fill two cores: its simulators' Python and PyTorch's dispatch share one GIL, so the
engine's helper thread gained only 1.32-1.42x at 8 side-by-side viewers (``benchmarks/engine_speed.py``). So
``ShardedEngine`` runs replicas of the same ``LiveEngine`` (continuous batching, one forward per checkpoint per tick,
real-time pacing) in child processes (``python -m core.shards``) and gives every checkpoint a home replica (the one
home to the fewest when it is first used): all its episodes, every viewer's, batch there, so each forward is as
large as on one engine and no replica pays for another's. A side-by-side episode is two models, one per replica:
each replica runs its part (the models at home there) as an episode of its own, on the same reset seed, target
and pace, and the app's process merges the parts into one mirror ``Episode``, publishing step t once every part has
taken it (a part that has ended holds its numbers without a pose, as ``LiveEngine`` shows a model that fell). The
models of an episode are independent simulations, so the steps are those of one engine running the same batches.
Handlers and the live stream read mirrors exactly as they read an in-process engine's episodes.

Requests are validated here first (the same named errors as ``LiveEngine.submit``); a retarget reaches every part
and acts on each one's next step. Messages are plain data, no pickle: framed JSON (``core.lanes``'s framing). A
replica that dies ends the episodes with a part there (status ``error``); the next one it is needed for starts anew.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

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
    check_target,
)
from core.lanes import close_child, protocol_stdout, recv_frame, send_json, spawn
from core.store.checkpoint import CheckpointError

log = logging.getLogger(__name__)

_ERRORS = {e.__name__: e for e in (ValueError, CheckpointError, FileNotFoundError, EngineBusy)}
"""What ``LiveEngine.submit`` raises for a viewer's request, raised again here by name (anything else: RuntimeError)."""

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")

PUMP_S = 0.01
"""How often a replica sends its episodes' new steps: well inside the page's 0.1 s play-out buffer."""


def usable_cpus() -> int:
    """Cores this process may use: its CPU affinity, and the cgroup's CPU quota where one is set (a container's
    "2 vCPU" on a larger host shows all the host's cores to ``os.cpu_count``)."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()  # cgroup v2: "max 100000" or "200000 100000"
        if quota != "max":
            n = min(n, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


@dataclass(frozen=True)
class ShardConfig:
    """How many replicas, and each one's engine."""

    shards: int = field(default_factory=lambda: min(4, usable_cpus()))
    """Replica processes: one per usable core, at most 4 (a replica only helps while checkpoints outnumber it)."""
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
            send_json(out, msg)

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

    def submit(msg: dict, started: list[Episode]) -> dict:
        ep = engine.submit(request_from_json(msg["request"]))
        started.append(ep)
        return {"id": ep.id, "scene": ep.scene, "critics": sorted(ep.critics), "first": record_to_json(ep.records[0])}

    def answer(msg: dict, work) -> None:
        """Reply to a call with what ``work`` returns, or with its error (the caller raises it by kind)."""
        try:
            reply = {"op": "reply", "call": msg["call"], "ok": True, **work(msg)}
        except Exception as err:  # noqa: BLE001
            reply = {"op": "reply", "call": msg["call"], "ok": False, "kind": type(err).__name__, "message": str(err)}
        send(reply)

    send({"op": "ready"})
    threading.Thread(target=pump, name="replica-pump", daemon=True).start()
    while True:
        try:
            msg = json.loads(recv_frame(inp))
        except (EOFError, OSError):
            engine.close()
            return
        op = msg["op"]
        if op == "retarget":
            engine.retarget(msg["id"], msg["target"])
        elif op == "stop":
            engine.stop(msg["id"])
        elif op == "warm":  # on its own thread: a viewer's episode must not wait behind the warm-up
            threading.Thread(target=answer, args=(msg, lambda m: engine.warm(m["tasks"], m["paths"]) or {})).start()
        else:
            started: list[Episode] = []
            answer(msg, lambda m, started=started: submit(m, started))
            for ep in started:  # after the reply: the pump's batches of its steps follow it on the stream
                watched[ep.id] = [ep, 1]


def _end_json(ep: Episode) -> dict:
    states = {k: [q.tolist(), v.tolist()] for k, (q, v) in ep.states.items()}
    return {
        "op": "end", "id": ep.id, "status": ep.status, "message": ep.message, "start": ep.start, "slip_s": ep.slip_s,
        "wall_s": ep.wall_s, "states": states,
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------- the app's side


class _Part:
    """One replica's share of a viewer's episode: the models of it that this replica runs, as an episode there."""

    def __init__(self, merged: _Merged, replica: _Replica, kinds: list[str]):
        self.merged, self.replica, self.kinds = merged, replica, kinds
        self.id = ""
        """The episode's id in its replica."""
        self.records: list[StepRecord] = []
        self.end: dict | None = None
        """The replica's end message, once this part has ended."""


class _Merged:
    """A viewer's episode: its mirror ``Episode`` and its parts. Step t is published once every part has taken it (a
    part that has ended holds its last numbers, without a pose, as ``LiveEngine`` shows a model that fell)."""

    def __init__(self, episode: Episode):
        self.episode, self.parts = episode, []
        self.lock = threading.Lock()

    def update(self) -> None:
        """Publish every step all parts have reached; end the episode when every part has ended (reader threads)."""
        with self.lock:
            ep = self.episode
            while not ep.ended.is_set():
                t, lanes, wall, target = len(ep.records), {}, 0.0, None
                if any(p.end is not None and p.end["status"] != "done" and t >= len(p.records) for p in self.parts):
                    # stopped or failed: the episode ends at that part's last step, as all of it does in LiveEngine
                    if all(p.end is not None for p in self.parts):
                        self._finish()
                    return
                for part in self.parts:
                    if t < len(part.records):
                        r = part.records[t]
                        lanes.update(r.lanes)
                        wall, target = max(wall, r.wall), r.target if target is None else target
                    elif part.end is not None and part.records:  # ended: holds its numbers, no pose
                        lanes.update({k: s.held() for k, s in part.records[-1].lanes.items()})
                    else:
                        return  # this part has not taken step t yet
                if target is None:  # every part has ended and published all its steps
                    self._finish()
                    return
                ep.records.append(StepRecord(t, wall, target, {k: lanes[k] for k in ep.kinds}))

    def _finish(self) -> None:
        ep, ends = self.episode, [part.end for part in self.parts]
        failed = [e for e in ends if e["status"] == "error"]
        stopped = [e for e in ends if e["status"] == "stopped"]
        ep.status, ep.message = (
            ("error", failed[0]["message"])
            if failed
            else ("stopped", stopped[0]["message"])
            if stopped
            else ("done", "")
        )
        ep.states = {k: (np.asarray(q), np.asarray(v)) for e in ends for k, (q, v) in e["states"].items()}
        ep.start = min(e["start"] for e in ends)
        ep.slip_s, ep.wall_s = max(e["slip_s"] for e in ends), max(e["wall_s"] for e in ends)
        ep.ended.set()

    def part_ended(self, part: _Part, msg: dict) -> None:
        part.end = msg
        if msg["status"] == "error":  # one model's failure ends the whole episode, as in LiveEngine
            for other in self.parts:
                if other is not part and other.end is None:
                    other.replica.tell({"op": "stop", "id": other.id})
        self.update()


class _Replica:
    """One replica process, its reader thread, and the parts of episodes it runs."""

    def __init__(self, cfg: EngineConfig):
        self.proc = spawn("core.shards", json.dumps(asdict(cfg)))
        self.ready = threading.Event()
        self.dead = self.closing = False
        self.running: dict[str, _Part] = {}
        self._calls: dict[int, tuple[Future, Callable[[dict], None] | None]] = {}
        self._count = itertools.count()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, name=f"replica-{self.proc.pid}", daemon=True).start()

    def call(self, msg: dict, timeout: float, on_reply: Callable[[dict], None] | None = None) -> dict:
        """Send ``msg`` and wait for its reply; ``on_reply`` runs on the reader thread before any later message
        is read (so a part it registers sees every step that follows the reply)."""
        fut: Future = Future()
        with self._lock:
            if self.dead:
                raise RuntimeError("the live engine's worker process has stopped")
            n = next(self._count)
            self._calls[n] = (fut, on_reply)
            send_json(self.proc.stdin, {**msg, "call": n})
        return fut.result(timeout)

    def tell(self, msg: dict) -> None:
        with self._lock:
            if not self.dead:
                try:
                    send_json(self.proc.stdin, msg)
                except OSError:
                    pass  # the reader thread finds it dead and ends its episodes

    def _read(self) -> None:
        try:
            while True:
                msg = json.loads(recv_frame(self.proc.stdout))
                op = msg["op"]
                if op == "steps":
                    for pid, records in msg["eps"].items():
                        part = self.running.get(pid)
                        if part is not None:
                            part.records.extend(record_from_json(r) for r in records)
                            part.merged.update()
                elif op == "end":
                    part = self.running.pop(msg["id"], None)
                    if part is not None:
                        part.merged.part_ended(part, msg)
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

    def _died(self, err: BaseException) -> None:
        if not self.closing:
            log.warning("live engine replica (pid %d) stopped: %r; its episodes end with an error", self.proc.pid, err)
        with self._lock:
            self.dead = True
            calls, self._calls = self._calls, {}
        self.ready.set()
        if self.proc.poll() is None:
            self.proc.kill()
        for fut, _ in calls.values():
            fut.set_exception(RuntimeError(f"the live engine's worker process stopped: {err}"))
        message = "the live engine's worker process stopped"
        for part in list(self.running.values()):
            part.merged.part_ended(part, {"status": "error", "message": message, "states": {}, "start": math.inf,
                                          "slip_s": 0.0, "wall_s": 0.0})  # fmt: skip
        self.running.clear()

    def close(self) -> None:
        self.closing = True
        close_child(self.proc)


class ShardedEngine:
    """``LiveEngine``'s entry points (``submit``, ``retarget``, ``stop``, ``episode``, ``warm``, ``run_to_end``,
    ``start``, ``close``) over ``cfg.shards`` replica processes; see the module docstring."""

    def __init__(self, cfg: ShardConfig = ShardConfig()):  # noqa: B008  (frozen)
        if cfg.shards < 1:
            raise ValueError(f"shards must be at least 1, got {cfg.shards}")
        self.shard_cfg, self.cfg = cfg, cfg.engine
        self._replicas: list[_Replica | None] = [None] * cfg.shards
        self._home: dict[str, int] = {}
        """Checkpoint path -> the replica that runs it (all its episodes batch there)."""
        self._episodes: dict[str, _Merged] = {}
        self._lock = threading.Lock()
        self._pending = 0

    def start(self) -> ShardedEngine:
        """Start every replica process (idempotent; a dead one is replaced); returns self."""
        with self._lock:
            for i, rep in enumerate(self._replicas):
                if rep is None or rep.dead:
                    self._replicas[i] = _Replica(self.cfg)
        return self

    def _place(self, path: str) -> int:
        """The replica of checkpoint ``path``: its home, or (new) the replica home to the fewest (under the lock)."""
        if path not in self._home:
            load = [0] * len(self._replicas)
            for i in self._home.values():
                load[i] += 1
            self._home[path] = load.index(min(load))
        return self._home[path]

    def _ready(self, rep: _Replica) -> _Replica:
        if not rep.ready.wait(self.shard_cfg.start_timeout_s) or rep.dead:
            raise RuntimeError("the live engine's worker process did not start")
        return rep

    def submit(self, request: EpisodeRequest) -> Episode:
        """Validate here, hand each model to the replica that runs its checkpoint, return the episode's mirror (its
        first record, the reset pose, already in it). Raises as ``LiveEngine.submit`` does."""
        task = check_request(request)
        self.start()
        with self._lock:
            running = sum(not m.episode.ended.is_set() for m in self._episodes.values()) + self._pending
            if running >= self.cfg.max_episodes:
                raise EngineBusy.full(self.cfg.max_episodes)
            self._pending += 1
            homes: dict[int, list[str]] = {}
            for kind, path in request.models.items():
                homes.setdefault(self._place(str(path)), []).append(kind)
            merged = _Merged(Episode(request, task, {}))
            merged.parts = [_Part(merged, self._replicas[i], kinds) for i, kinds in homes.items()]
        try:
            for part in merged.parts:
                self._submit_part(request, part)
            ep = merged.episode
            merged.update()  # every part has its reset pose: step 0 is published
            with self._lock:
                self._episodes[ep.id] = merged
                self._forget()
            return ep
        except BaseException:
            for part in merged.parts:
                if part.id:
                    part.replica.tell({"op": "stop", "id": part.id})
            raise
        finally:
            with self._lock:
                self._pending -= 1

    def _submit_part(self, request: EpisodeRequest, part: _Part) -> None:
        models = {k: request.models[k] for k in part.kinds}
        outcome = {k: c for k, c in request.outcome.items() if k in models} if request.outcome else None
        sub = replace(request, models=models, outcome=outcome or None)

        def register(reply: dict) -> None:  # on the reader thread, before this part's first steps arrive
            if reply["ok"]:
                part.id = reply["id"]
                part.records.append(record_from_json(reply["first"]))
                part.replica.running[part.id] = part

        reply = self._ready(part.replica).call({"op": "submit", "request": request_to_json(sub)}, 120, register)
        if not reply["ok"]:
            raise _ERRORS.get(reply["kind"], RuntimeError)(reply["message"])
        ep = part.merged.episode
        ep.scene = reply["scene"]
        ep.critics |= set(reply["critics"])

    def _forget(self) -> None:
        """Keep at most ``keep_finished`` ended episodes (for late readers and the MP4 export)."""
        ended = [k for k, m in self._episodes.items() if m.episode.ended.is_set()]
        for k in ended[: max(0, len(ended) - self.cfg.keep_finished)]:
            del self._episodes[k]

    def _running(self, episode_id: str) -> _Merged | None:
        merged = self._episodes.get(str(episode_id))
        return None if merged is None or merged.episode.ended.is_set() else merged

    def retarget(self, episode_id: str, target: float) -> bool:
        """Every part of the episode takes the new target from its next step on (each replica's own next step)."""
        check_target(target)
        merged = self._running(episode_id)
        if merged is None:
            return False
        for part in merged.parts:
            part.replica.tell({"op": "retarget", "id": part.id, "target": float(target)})
        return True

    def stop(self, episode_id: str) -> bool:
        merged = self._running(episode_id)
        if merged is None:
            return False
        for part in merged.parts:
            part.replica.tell({"op": "stop", "id": part.id})
        return True

    def episode(self, episode_id: str) -> Episode | None:
        with self._lock:
            merged = self._episodes.get(str(episode_id))
        return None if merged is None else merged.episode

    def warm(self, tasks: list[str], paths: list[str]) -> None:
        """Give each checkpoint its replica; each replica builds the tasks' simulators and loads (and traces) its
        checkpoints, side by side."""
        self.start()
        with self._lock:
            mine = [[p for p in paths if self._place(str(p)) == i] for i in range(len(self._replicas))]
        calls = [
            threading.Thread(
                target=lambda r=r, ps=ps: self._ready(r).call({"op": "warm", "tasks": tasks, "paths": ps}, 600)
            )
            for r, ps in zip(self._replicas, mine)
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


Engine = LiveEngine | ShardedEngine
"""What the app's handlers and routes take: either one has the same entry points."""


def live_engine() -> Engine:
    """The app's live engine: replicas on a machine with two or more usable cores, else one in-process engine."""
    cfg = ShardConfig()
    return ShardedEngine(cfg) if cfg.shards > 1 else LiveEngine()


if __name__ == "__main__":
    serve(sys.stdin.buffer, protocol_stdout(), EngineConfig(**json.loads(sys.argv[1])))
