"""Sweep lanes in worker processes: the second core runs part of a sweep's episodes beside the caller.

A sweep splits its episodes into lanes (``core.rollout.sweep``). Lane 0 runs in the calling thread; every other
lane runs in a child process (``python -m core.lanes``, talking over its stdin and stdout) kept for the next sweep:
starting one imports torch, gymnasium and MuJoCo (about 2 s). A plain child rather than ``multiprocessing``: spawn
would re-import the caller's main script in the child (the whole app, Gradio included), fork is unsafe under the
app's threads.
Threads could not do this: gymnasium's Python and PyTorch's dispatch hold one GIL, so two thread lanes measured only
1.3x one lane on two cores; two processes measured close to 2x (``benchmarks/rollout_speed.py``).

Messages are plain data, nothing unpickled: JSON headers, the actor's weights as safetensors bytes (sent once per
model and kept by the worker, keyed by a hash of weights and metadata), results as JSON. A lane gives the same
numbers in a worker as in the caller (same rows, one torch thread, the same code: ``_sweep_rows``). The framing and
the child-process helpers (``spawn``, ``close_child``, ``protocol_stdout``) serve the live engine's replicas too
(``core.shards``).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import asdict

import numpy as np
import torch
from safetensors.torch import load as load_weights
from safetensors.torch import save as save_weights

from core.envs import TaskSpec
from core.models.dt import DecisionTransformer, DTConfig
from core.policy import ReturnConditionedPolicy
from core.store.layout import REPO_ROOT

MAX_WORKERS = 4
"""Worker processes kept at most; a lane that finds every worker busy (several sweeps at once) runs in a thread."""


class LaneError(RuntimeError):
    """A worker process failed or died while running a lane."""


def _blob(policy: ReturnConditionedPolicy) -> tuple[str, dict, bytes]:
    """(key, header, weights) describing the policy's actor for a worker."""
    actor = policy.actor
    weights = save_weights({k: v.detach().contiguous() for k, v in actor.state_dict().items()})
    header = {
        "cfg": asdict(actor.cfg),
        "obs_dim": actor.obs_dim,
        "act_dim": actor.act_dim,
        "meta": {k: policy.meta[k] for k in ("rtg_scale", "obs_mean", "obs_std", "return_stats")},
        "compiled": policy.compiled,
        "bf16": policy.is_bf16,
        "path": policy.path,
    }
    key = hashlib.sha1(weights + json.dumps(header, sort_keys=True).encode()).hexdigest()
    return key, header, weights


def _policy_from(header: dict, weights: bytes) -> ReturnConditionedPolicy:
    actor = DecisionTransformer(DTConfig(**header["cfg"]), header["obs_dim"], header["act_dim"])
    actor.load_state_dict(load_weights(weights))
    policy = ReturnConditionedPolicy(actor, header["meta"])
    policy.path = header["path"]
    if header.get("bf16"):
        policy.bf16()
    return policy.compile() if header["compiled"] else policy


def send_frame(stream, payload: bytes) -> None:
    stream.write(struct.pack(">Q", len(payload)) + payload)
    stream.flush()


def recv_frame(stream) -> bytes:
    """One frame; EOFError when the other side has gone."""
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError("pipe closed")
    (n,) = struct.unpack(">Q", head)
    body = stream.read(n)
    if len(body) < n:
        raise EOFError("pipe closed mid-message")
    return body


def send_json(stream, msg: dict) -> None:
    send_frame(stream, json.dumps(msg).encode())


def spawn(module: str, *args: str) -> subprocess.Popen:
    """``python -m module args`` from the repository root, talking frames over its stdin and stdout."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.Popen(
        [sys.executable, "-m", module, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=REPO_ROOT
    )


def close_child(proc: subprocess.Popen) -> None:
    """Close a worker's pipes (its loop ends on end of input) and reap it; kill it if it has not ended in 5 s."""
    for stream in (proc.stdin, proc.stdout):
        try:
            stream.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def protocol_stdout():
    """In a worker: the real stdout, binary, for the protocol alone; anything printed afterwards (a library's
    warning) goes to stderr."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def serve(inp, out) -> None:
    """A worker's loop: load models, run lanes, report progress and results until its input closes."""
    from core.rollout import _sweep_rows  # here, not at import: core.rollout imports this module

    torch.set_num_threads(1)
    policies: dict[str, ReturnConditionedPolicy] = {}
    send_json(out, {"op": "ready"})  # imports done
    while True:
        try:
            msg = json.loads(recv_frame(inp))
        except EOFError:
            return
        try:
            if msg["op"] == "model":
                policies = {msg["key"]: _policy_from(msg["header"], recv_frame(inp))}  # keep the latest only
                continue
            ret, length, vel = _sweep_rows(
                policies[msg["key"]],
                TaskSpec(**msg["task"]),
                np.asarray(msg["targets"], dtype=np.float64),
                np.asarray(msg["seeds"]),
                msg["limit"],
                lambda done: send_json(out, {"op": "progress", "done": done}),
            )
            reply = {"op": "result", "ret": ret.tolist(), "length": length.tolist(), "vel": vel.tolist()}
        except Exception:  # noqa: BLE001  (reported to the caller, who raises it)
            reply = {"op": "error", "message": traceback.format_exc(limit=4)}
        send_json(out, reply)


class _Worker:
    def __init__(self):
        self.proc = spawn("core.lanes")
        self.model_key = None
        self.ready = False

    def wait_ready(self) -> None:
        """Block until the worker has imported everything (its first message)."""
        if not self.ready:
            try:
                msg = json.loads(recv_frame(self.proc.stdout))
            except (EOFError, OSError) as err:
                self.close()
                raise LaneError(
                    f"sweep lane worker (pid {self.proc.pid}) did not start: {self.proc.returncode}"
                ) from err
            if msg.get("op") != "ready":
                raise LaneError(f"sweep lane worker sent {msg!r} before it was ready")
            self.ready = True

    def run(
        self,
        policy: ReturnConditionedPolicy,
        task: TaskSpec,
        targets: np.ndarray,
        seeds: np.ndarray,
        limit: int,
        tell: Callable[[int], None],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key, header, weights = _blob(policy)
        self.wait_ready()
        try:
            if key != self.model_key:
                send_json(self.proc.stdin, {"op": "model", "key": key, "header": header})
                send_frame(self.proc.stdin, weights)
                self.model_key = key
            job = {
                "op": "sweep",
                "key": key,
                "task": asdict(task),
                "targets": np.asarray(targets, dtype=np.float64).tolist(),
                "seeds": np.asarray(seeds).tolist(),
                "limit": int(limit),
            }
            send_json(self.proc.stdin, job)
            while True:
                msg = json.loads(recv_frame(self.proc.stdout))
                if msg["op"] == "progress":
                    tell(msg["done"])
                elif msg["op"] == "error":
                    raise LaneError(f"sweep lane worker failed:\n{msg['message']}")
                else:
                    return np.array(msg["ret"]), np.array(msg["length"], dtype=int), np.array(msg["vel"])
        except (EOFError, OSError) as err:
            self.close()
            raise LaneError(f"sweep lane worker (pid {self.proc.pid}) died: exit code {self.proc.returncode}") from err

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        close_child(self.proc)


_idle: list[_Worker] = []
_count = 0
_lock = threading.Lock()


def take() -> _Worker | None:
    """An idle worker (started if none is idle and fewer than MAX_WORKERS exist), or None."""
    global _count
    with _lock:
        while _idle:
            worker = _idle.pop()
            if worker.alive:
                return worker
            _count -= 1
        if _count >= MAX_WORKERS:
            return None
        _count += 1
    try:
        return _Worker()
    except Exception:
        with _lock:
            _count -= 1
        raise


def give(worker: _Worker) -> None:
    """Hand a worker back after its lane; a dead one is dropped."""
    global _count
    with _lock:
        if worker.alive and not worker.proc.stdin.closed:
            _idle.append(worker)
        else:
            _count -= 1


def warm(n: int = 1, wait: bool = False) -> None:
    """Start ``n`` workers now (the first sweep then skips their start-up); ``wait``: until they are ready."""
    workers = [w for w in (take() for _ in range(n)) if w is not None]
    for w in workers:
        if wait:
            w.wait_ready()
        give(w)


@atexit.register
def shutdown() -> None:
    """Stop every idle worker (a busy one ends when its input closes, as the caller's process exits)."""
    global _count
    with _lock:
        workers, _idle[:] = list(_idle), []
        _count -= len(workers)
    for w in workers:
        w.close()


if __name__ == "__main__":
    serve(sys.stdin.buffer, protocol_stdout())
