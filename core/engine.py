"""The live engine: one thread owns the simulators and policies of every running episode of every viewer,
steps them together with one batched policy forward per checkpoint per step (continuous batching, as model
servers do), paces each episode to wall time, and publishes what the page draws. Request handlers only
submit, retarget, stop and read. When several checkpoints are due on one tick, a helper thread advances one of
them meanwhile (``EngineConfig.parallel_forwards``); the engine thread waits for it before publishing.

    engine = LiveEngine().start()
    ep = engine.submit(EpisodeRequest("hopper", {"dt": dt_path, "qalign": qa_path}, target=1500.0))
    engine.retarget(ep.id, 2000.0)   # acts on the episode's next step
    ep.records                       # one StepRecord per step, appended as they happen
    ep.ended.wait()                  # then ep.status, ep.states (qpos/qvel per model, for the MP4)

Pacing: an episode at pace p takes its k-th step at t0 + k * dt / p. Episodes join on the engine's time grid
(t0 a multiple of dt / p), so every episode of one task and pace falls due on the same ticks and shares one
forward per checkpoint. An overloaded engine lets episodes slip (slow motion) instead of bursting to catch up.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from core import scene
from core.calibration import Calibration, SpeedHold, SpeedHoldConfig, speed_rtg
from core.envs import TaskSpec, get_task
from core.models.critic import TwinCritic
from core.physics import step_many
from core.policy import ReturnConditionedPolicy, checked_trace
from core.store.checkpoint import load_critic
from core.store.layout import critic_beside

log = logging.getLogger(__name__)

Mode = Literal["return", "velocity"]
MAX_PACE = 16.0


@dataclass(frozen=True)
class EngineConfig:
    """Limits of the live engine."""

    max_episodes: int = 16
    """Episodes running at once; more are refused with a message. Hopper at real time costs the DT about
    0.5 ms of one core per model per step batched (README), so 16 side-by-side episodes fill a 2-core machine."""
    max_lag_s: float = 0.25
    """An episode further behind its schedule than this drops the debt (it slows down) instead of
    fast-forwarding to catch up, so overload shows as slow motion, never as bursts."""
    idle_wait_s: float = 0.05
    """Longest sleep when nothing is due; a submit or stop wakes the engine at once."""
    keep_finished: int = 64
    """Finished episodes kept for late readers and the MP4 export."""
    torch_threads: int = 1
    """Measured: with 2 threads on a busy 2-core machine a batched sweep ran more than 10x slower."""
    compile: bool = True
    """Run each checkpoint's actor (ReturnConditionedPolicy.compile) and critic as TorchScript traces: 1.3-1.6x
    faster steps at the batches of 1-8 episodes the engine runs."""
    parallel_forwards: bool = True
    """When episodes of several checkpoints are due on one tick and the engine needs the speed, advance them side by
    side: one checkpoint's forward and simulator steps on a helper thread while this thread does another's (torch,
    TorchScript and MuJoCo's step release the GIL while they compute). Needed: an unpaced episode is due, or a paced
    one is due more than half a step late, until every due episode is on time again; an engine that keeps up on one
    thread stays on one (two threads cost more CPU: +23% at one viewer). Episodes are the same either way."""


@dataclass(frozen=True)
class EpisodeRequest:
    """What a viewer asks for: one task, one or more models on the same reset seed, a target and a pace."""

    task: str
    models: dict[str, str]
    """Model kind -> checkpoint path, in the order the page shows them (left to right)."""
    mode: Mode = "return"
    target: float = 0.0
    """Requested total return (return mode) or forward speed in m/s (velocity mode)."""
    seed: int = 0
    pace: float = 1.0
    """Simulated seconds per wall-clock second; 0 runs as fast as the engine can."""
    max_steps: int | None = None
    outcome: dict[str, Calibration] | None = None
    """Ask for an outcome: ``target`` is the return (or speed) wanted, and model ``kind`` is asked for the RTG its
    calibration says reaches it (``outcome[kind].rtg_for(target)``, ``.rtg_for_speed``). Models without an entry
    are asked for ``target`` itself."""
    hold: SpeedHoldConfig | None = None
    """Velocity mode: hold the speed (``core.calibration.SpeedHold``: each model is asked for the target plus an
    integral correction of its measured shortfall); None asks open loop."""

    def asked(self, kind: str, target: float) -> float:
        """The total return model ``kind`` is asked for when the viewer's target is ``target`` (return mode)."""
        if self.mode == "return" and self.outcome and kind in self.outcome:
            return self.outcome[kind].rtg_for(target)[0]
        return target

    def rtg(self, kind: str, target: float, task: TaskSpec, ret_so_far: float, t: int) -> float:
        """The RTG model ``kind`` holds at step ``t`` for the viewer's ``target``: the return asked minus the return so
        far, or the speed's RTG for the steps left (through the model's calibration when asking for an outcome)."""
        if self.mode == "velocity":
            return speed_rtg(task, target, task.max_episode_steps - t, (self.outcome or {}).get(kind))
        return self.asked(kind, target) - ret_so_far


@dataclass
class LaneStep:
    """One model's numbers at one step."""

    pose: np.ndarray | None
    """(G, 3) float32 planar geom poses (see core.scene); None once this model's episode has ended."""
    ret: float
    reward: float
    speed: float
    """Forward (x) velocity in m/s."""
    rtg: float
    """Remaining return the policy is asked for (raw units)."""
    done: bool
    q: float | None = None
    """The model's critic on the action it took at this step, min_i Q_i(s, a) (raw return units, discounted);
    None for a model that ships no critic."""

    def held(self) -> LaneStep:
        """This model's numbers on a step after its own episode ended (it fell): held, no pose, no reward."""
        return LaneStep(None, self.ret, 0.0, 0.0, self.rtg, True)


@dataclass
class StepRecord:
    t: int
    wall: float
    """Seconds after the episode's start at which this step is due on screen."""
    target: float
    lanes: dict[str, LaneStep]


class Episode:
    """The read side of one episode: its request, the static scene, and the steps published so far.

    The engine thread appends to ``records`` and sets the rest once; readers only read. Appending to a list
    is atomic in CPython, so a reader may index ``records[:len(records)]`` at any time.
    """

    def __init__(self, request: EpisodeRequest, task: TaskSpec, scene_desc: dict):
        self.id = uuid.uuid4().hex
        self.request, self.task, self.scene = request, task, scene_desc
        self.records: list[StepRecord] = []
        self.status = "running"
        """running, done, stopped or error."""
        self.message = ""
        self.ended = threading.Event()
        self.states: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        """Per model, set at the end: qpos (T+1, nq) and qvel (T+1, nv) after every step, for the MP4 replay."""
        self.start = 0.0
        """Engine-clock time at which the reset pose (record 0) is due on screen; on the grid of its step length."""
        self.slip_s = 0.0
        """Seconds the episode fell behind its pace (0 when the engine kept up)."""
        self.wall_s = 0.0
        """Wall-clock seconds from its first step being due to its end."""
        self.critics: set[str] = set()
        """The model kinds that ship a critic: their steps carry its value of the action taken (``LaneStep.q``)."""

    @property
    def kinds(self) -> list[str]:
        return list(self.request.models)

    @property
    def limit(self) -> int:
        cap = self.request.max_steps or self.task.max_episode_steps
        return min(cap, self.task.max_episode_steps)


class EngineBusy(RuntimeError):
    """Refused: the engine already runs its maximum number of episodes."""

    @classmethod
    def full(cls, max_episodes: int) -> EngineBusy:
        return cls(f"the live view is running {max_episodes} episodes already; try again in a few seconds")


@dataclass(eq=False)
class _Lane:
    """One model in one episode: its simulator and its row in the checkpoint's batch."""

    kind: str
    group: _Group
    env: object
    obs: np.ndarray
    geoms: np.ndarray
    ret: float = 0.0
    done: bool = False
    row: int = -1
    rtg0: float = 0.0
    """The RTG the episode starts from, as the policy holds it (clamped to its range)."""
    loop: SpeedHold | None = None
    """Velocity mode with a hold: this model's speed loop (``moved``: re-anchor before the next step)."""
    moved: bool = False
    qpos: list = field(default_factory=list)
    qvel: list = field(default_factory=list)


class _Group:
    """One checkpoint's batched policy; row i of the policy belongs to ``lanes[i]``."""

    def __init__(self, policy: ReturnConditionedPolicy, critic: TwinCritic | None = None):
        self.policy, self.lanes, self.critic = policy, [], critic

    def values(self, lanes: list[_Lane], actions: np.ndarray) -> np.ndarray | None:
        """The critic's min_i Q_i(s, a) for each lane's state and action, or None without a critic."""
        if self.critic is None:
            return None
        states = self.policy.normalise(torch.as_tensor(np.stack([lane.obs for lane in lanes]), dtype=torch.float32))
        with torch.inference_mode():
            q = self.critic(states, torch.as_tensor(actions, dtype=torch.float32))
        return q.min(dim=0).values.numpy()

    def add(self, lane: _Lane, rtg: float) -> None:
        lane.row = int(self.policy.add(lane.obs[None], np.array([rtg]))[0])
        self.lanes.append(lane)

    def remove(self, lane: _Lane) -> None:
        if lane.row < 0:
            return
        self.policy.remove(np.array([lane.row]))
        del self.lanes[lane.row]
        lane.row = -1
        for i, other in enumerate(self.lanes):
            other.row = i

    def _index(self, lanes: list[_Lane]) -> np.ndarray | None:
        rows = np.array([lane.row for lane in lanes])
        return None if len(rows) == len(self.lanes) and (rows == np.arange(len(rows))).all() else rows

    def act(self, lanes: list[_Lane]) -> np.ndarray:
        """One forward for ``lanes`` (any subset of this group): actions (M, act_dim)."""
        return self.policy.act(np.stack([lane.obs for lane in lanes]), self._index(lanes))

    def observe(self, lanes: list[_Lane], rewards: np.ndarray) -> np.ndarray:
        """Subtract the rewards from the RTGs; returns each lane's remaining RTG in raw units (M,)."""
        index = self._index(lanes)
        self.policy.observe(rewards, index)
        rtg = self.policy.rtg_now.numpy() * self.policy.scale
        return rtg if index is None else rtg[index]


@dataclass(eq=False)
class _Run:
    """The engine's private state of one running episode."""

    episode: Episode
    lanes: list[_Lane]
    step_s: float
    """Wall seconds per step (dt / pace); 0 = unpaced."""
    t0: float = 0.0
    start: float = 0.0
    t: int = 0
    target: float = 0.0

    @property
    def due(self) -> float:
        return self.t0 + (self.t + 1) * self.step_s


class LiveEngine:
    """Steps every running episode; see the module docstring. Thread-safe entry points: ``submit``,
    ``retarget``, ``stop``, ``episode``. Everything else runs on the engine thread (or the caller of ``tick``)."""

    def __init__(
        self,
        cfg: EngineConfig = EngineConfig(),  # noqa: B008  (frozen)
        load: Callable[[str], ReturnConditionedPolicy] = ReturnConditionedPolicy.load,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.cfg, self._load, self.clock = cfg, load, clock
        self._inbox: collections.deque = collections.deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._groups: dict[str, _Group] = {}
        self._envs: dict[str, list] = collections.defaultdict(list)
        self._scenes: dict[str, tuple[dict, np.ndarray]] = {}
        self._runs: list[_Run] = []
        self._episodes: collections.OrderedDict[str, Episode] = collections.OrderedDict()
        self._pending = 0  # submitted, not yet admitted
        self._thread: threading.Thread | None = None
        self._closed = False
        self.forwards = 0
        """Policy forwards so far (one per checkpoint per tick that had episodes of it due)."""
        self.ticks = 0
        self._helper: ThreadPoolExecutor | None = None
        """The thread that advances one checkpoint's episodes while this one advances another's (``parallel_forwards``)."""
        self._behind = False
        """Whether the last tick found an episode late (or unpaced): ``parallel_forwards`` applies while it holds."""

    # ------------------------------------------------------------------ thread-safe entry points

    def submit(self, request: EpisodeRequest) -> Episode:
        """Validate, build the simulators (reset on the request's seed) and queue the episode; its first
        record (the reset pose) is published before this returns. Raises ValueError naming a bad field,
        FileNotFoundError for a missing checkpoint, EngineBusy when full."""
        task = check_request(request)
        with self._lock:
            if len(self._runs) + self._pending >= self.cfg.max_episodes:
                raise EngineBusy.full(self.cfg.max_episodes)
            self._pending += 1
        try:
            groups = {kind: self._group(path) for kind, path in request.models.items()}
            desc, ids = self._scene(task)
            episode = Episode(request, task, desc)
            episode.critics = {kind for kind, group in groups.items() if group.critic is not None}
            lanes = []
            for kind, group in groups.items():
                env = self._take_env(task)
                obs, _ = env.reset(seed=request.seed)
                lanes.append(_Lane(kind, group, env, obs, ids))
                if request.mode == "velocity" and request.hold is not None:
                    lanes[-1].loop = request.hold.start(task, group.policy.meta["return_stats"])
            for lane in lanes:
                asked = lane.loop.ask(request.target) if lane.loop is not None else request.target
                rtg0 = max(request.rtg(lane.kind, asked, task, 0.0, 0), 0.0)
                lane.rtg0 = float(lane.group.policy.clamp_targets(np.array([rtg0]))[0])  # what the policy will hold
                _record_state(lane)
            episode.records.append(
                StepRecord(0, 0.0, request.target, {lane.kind: _lane_step(lane, 0.0, 0.0, lane.rtg0) for lane in lanes})
            )
            step_s = task.dt / request.pace if request.pace > 0 else 0.0
            run = _Run(episode, lanes, step_s, target=request.target)
            with self._lock:
                self._episodes[episode.id] = episode
            self._inbox.append(("start", run))
        except BaseException:
            with self._lock:
                self._pending -= 1
            raise
        self._wake.set()
        return episode

    def retarget(self, episode_id: str, target: float) -> bool:
        """Change a running episode's target from its next step on; False if it is not running."""
        check_target(target)
        ep = self.episode(episode_id)
        if ep is None or ep.ended.is_set():
            return False
        self._inbox.append(("target", episode_id, float(target)))
        self._wake.set()
        return True

    def stop(self, episode_id: str) -> bool:
        """End a running episode at the next tick; False if it is not running."""
        ep = self.episode(episode_id)
        if ep is None or ep.ended.is_set():
            return False
        self._inbox.append(("stop", episode_id))
        self._wake.set()
        return True

    def episode(self, episode_id: str) -> Episode | None:
        with self._lock:
            return self._episodes.get(str(episode_id))

    def warm(self, tasks: list[str], paths: list[str]) -> None:
        """Build one simulator per task and load (and compile) each checkpoint, so the first viewer does not
        pay for imports, MuJoCo model compilation and tracing."""
        for name in tasks:
            task = get_task(name)
            self._scene(task)
            self._give_env(task, self._take_env(task))
        for path in paths:
            self._group(path)

    # ------------------------------------------------------------------ the engine thread

    def start(self) -> LiveEngine:
        """Run the engine on its own daemon thread (idempotent); returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="live-engine", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._helper is not None:
            self._helper.shutdown(wait=False)

    def _loop(self) -> None:
        torch.set_num_threads(self.cfg.torch_threads)
        while not self._closed:
            try:
                if self.tick() == 0:
                    wait = min(self.next_due() - self.clock(), self.cfg.idle_wait_s)
                    if wait > 0:
                        self._wake.wait(wait)
                    self._wake.clear()
            except Exception:  # noqa: BLE001  (a bug must not take every viewer's episode down with it)
                log.exception("live engine tick failed")
                time.sleep(0.05)

    def next_due(self) -> float:
        return min((run.due for run in self._runs), default=math.inf)

    def tick(self, now: float | None = None) -> int:
        """Apply queued requests, then take one step of every episode that is due. Returns how many stepped."""
        now = self.clock() if now is None else now
        self._drain(now)
        due = [run for run in self._runs if run.step_s == 0 or run.due <= now]
        if not due:
            return 0
        self.ticks += 1
        worst = 0.0  # the latest due episode's lateness, in steps (unpaced: always behind)
        for run in due:
            late = now - run.due
            worst = max(worst, late / run.step_s if run.step_s > 0 else math.inf)
            if run.step_s > 0 and late > self.cfg.max_lag_s:
                skipped = math.floor(late / run.step_s) * run.step_s
                run.t0 += skipped
                run.episode.slip_s += skipped
        self._behind = worst > 0.5 or (self._behind and worst > 0.1)
        self._step(due, now)
        return len(due)

    def run_to_end(self, request: EpisodeRequest) -> Episode:
        """Run one episode to its end: on the engine thread if started, else by ticking from this thread."""
        if self._thread is None:
            torch.set_num_threads(self.cfg.torch_threads)
        ep = self.submit(request)
        while not ep.ended.is_set():
            if self._thread is not None:
                ep.ended.wait(0.1)
            else:
                self.tick()
                if not ep.ended.is_set() and (wait := self.next_due() - self.clock()) > 0:
                    time.sleep(min(wait, self.cfg.idle_wait_s))
        return ep

    # ------------------------------------------------------------------ steps

    def _drain(self, now: float) -> None:
        while self._inbox:
            msg = self._inbox.popleft()
            if msg[0] == "start":
                self._admit(msg[1], now)
                continue
            run = next((r for r in self._runs if r.episode.id == msg[1]), None)
            if run is None:
                continue
            if msg[0] == "stop":
                self._finish(run, "stopped", "stopped by the viewer")
            elif msg[0] == "target":
                run.target = msg[2]  # re-anchored when the episode takes its next step

    def _admit(self, run: _Run, now: float) -> None:
        with self._lock:
            self._pending -= 1
        try:
            for lane in run.lanes:
                lane.group.add(lane, lane.rtg0)
        except Exception as err:  # noqa: BLE001
            self._runs.append(run)
            self._finish(run, "error", f"could not start: {err}")
            return
        # Join on the grid of this step length, so episodes of one task and pace fall due together.
        run.t0 = math.ceil(now / run.step_s) * run.step_s if run.step_s > 0 else now
        run.start = run.episode.start = run.t0
        self._runs.append(run)

    def _step(self, due: list[_Run], now: float) -> None:
        """One step of every due episode: one forward per checkpoint over all its due models, then physics."""
        for run in due:
            new_target = run.target != run.episode.records[-1].target  # every model; else only held ones that moved
            lanes = [lane for lane in run.lanes if new_target or lane.moved]
            if lanes:
                self._retarget(run, lanes)
        by_group: dict[_Group, list[_Lane]] = collections.defaultdict(list)
        owner: dict[_Lane, _Run] = {}
        for run in due:
            for lane in run.lanes:
                owner[lane] = run
                if not lane.done:
                    by_group[lane.group].append(lane)
        taken: dict[_Lane, tuple[float, float, float, float | None]] = {}
        failed: dict[_Run, str] = {}
        for group_taken, group_failed in self._advance_all(list(by_group.items()), owner):
            taken.update(group_taken)
            failed.update(group_failed)
        for run in due:
            if run in failed:
                self._finish(run, "error", failed[run])
            else:
                self._publish(run, taken, now)

    def _advance_all(self, work: list[tuple[_Group, list[_Lane]]], owner: dict) -> list[tuple[dict, dict]]:
        """``_advance`` for each (group, lanes); with ``parallel_forwards`` and several groups, the first ones on the
        helper thread while this thread takes the last (groups share no policy, simulator or lane)."""
        self.forwards += len(work)
        if len(work) < 2 or not self.cfg.parallel_forwards or not self._behind:
            return [self._advance(group, lanes, owner) for group, lanes in work]
        if self._helper is None:  # OpenMP's thread count is per thread: the helper's is set to the engine's
            threads = torch.get_num_threads()
            self._helper = ThreadPoolExecutor(1, "live-forward", initializer=torch.set_num_threads, initargs=(threads,))
        ahead = self._helper.submit(lambda: [self._advance(g, ls, owner) for g, ls in work[:-1]])
        last = self._advance(*work[-1], owner)
        return [*ahead.result(), last]

    def _advance(self, group: _Group, lanes: list[_Lane], owner: dict) -> tuple[dict, dict]:
        """One forward for ``lanes`` (any subset of ``group``), then their simulators' steps: ({lane: (reward,
        speed, rtg after, critic's value of the action or None)}, {run: message} for the episodes it failed)."""
        try:
            actions = group.act(lanes)
            values = group.values(lanes, actions)
        except Exception as err:  # noqa: BLE001  (ends only this checkpoint's episodes)
            return {}, {owner[lane]: f"policy failed: {err}" for lane in lanes}
        return self._physics(group, lanes, actions, values, owner)

    def _physics(
        self, group: _Group, lanes: list[_Lane], actions: np.ndarray, values, owner: dict
    ) -> tuple[dict, dict]:
        """Step ``lanes``' simulators with their actions: ({lane: (reward, speed, rtg after, critic's value of the
        action or None)}, {run: message}): a failure ends only the episodes it touched."""
        failed: dict[_Run, str] = {}
        errors: dict[int, str] = {}  # one episode's simulator must not end the others
        obs, reward, term, speeds = step_many([lane.env for lane in lanes], actions, errors)  # failed rows: zeros
        rewards = reward.astype(np.float32)
        for i, lane in enumerate(lanes):
            run = owner[lane]
            if i in errors:
                failed[run] = f"simulation failed: {errors[i]}"
                continue
            ended = term[i] or run.t + 1 >= run.episode.task.max_episode_steps  # gymnasium's time limit
            lane.obs, lane.ret, lane.done = obs[i], lane.ret + float(reward[i]), bool(ended)
        rtgs = group.observe(lanes, rewards)
        qs = [None] * len(lanes) if values is None else [float(q) for q in values]
        taken = {
            lane: (float(r), float(v), float(g), q)
            for lane, r, v, g, q in zip(lanes, rewards, speeds, rtgs, qs)
            if owner[lane] not in failed
        }
        return taken, failed

    def _publish(self, run: _Run, taken: dict, now: float) -> None:
        """Append the run's step record; retire models that ended and the episode if it is over."""
        run.t += 1
        wall = run.t0 + run.t * run.step_s - run.start if run.step_s > 0 else now - run.start
        lanes = {}
        for lane in run.lanes:
            if lane in taken:
                _record_state(lane)
                lanes[lane.kind] = _lane_step(lane, *taken[lane])
                lane.moved = lane.loop is not None and lane.loop.observe(run.target, lanes[lane.kind].speed)
                if lane.done:
                    lane.group.remove(lane)
            else:  # ended on an earlier step: holds its numbers, no pose
                lanes[lane.kind] = run.episode.records[-1].lanes[lane.kind].held()
        run.episode.records.append(StepRecord(run.t, wall, run.target, lanes))
        if all(lane.done for lane in run.lanes) or run.t >= run.episode.limit:
            self._finish(run, "done", "")

    def _retarget(self, run: _Run, lanes: list[_Lane]) -> None:
        """Re-anchor ``lanes``' RTG on the run's target (a held lane: on its loop's corrected speed)."""
        req, task = run.episode.request, run.episode.task
        for lane in lanes:
            if not lane.done:
                asked = lane.loop.ask(run.target) if lane.loop is not None else run.target
                rtg = req.rtg(lane.kind, asked, task, lane.ret, run.t)
                lane.group.policy.set_rtg(np.array([rtg]), index=np.array([lane.row]))
            lane.moved = False

    def _finish(self, run: _Run, status: str, message: str) -> None:
        ep = run.episode
        for lane in run.lanes:
            lane.group.remove(lane)
            self._give_env(ep.task, lane.env)
            ep.states[lane.kind] = (np.array(lane.qpos), np.array(lane.qvel))
        if run in self._runs:
            self._runs.remove(run)
        ep.status, ep.message = status, message
        ep.wall_s = self.clock() - run.start
        ep.ended.set()
        with self._lock:
            finished = [k for k, e in self._episodes.items() if e.ended.is_set()]
            for k in finished[: max(0, len(finished) - self.cfg.keep_finished)]:
                del self._episodes[k]

    # ------------------------------------------------------------------ shared resources

    def _group(self, path: str) -> _Group:
        with self._lock:
            group = self._groups.get(str(path))
        if group is None:
            policy = self._load(str(path))  # outside the lock: loading takes tens of ms
            if self.cfg.compile:
                policy.compile()
            critic, critic_path = None, critic_beside(Path(path))
            if critic_path.with_suffix(".json").exists():  # the critic's view
                critic = load_critic(critic_path)[0].eval()
                if self.cfg.compile:
                    critic = _traced_critic(critic)
            with self._lock:
                group = self._groups.setdefault(str(path), _Group(policy, critic))
        return group

    def _scene(self, task: TaskSpec) -> tuple[dict, np.ndarray]:
        if task.name not in self._scenes:
            env = self._take_env(task)
            model = env.unwrapped.model
            self._scenes[task.name] = (scene.describe(model), scene.geom_ids(model))
            self._give_env(task, env)
        return self._scenes[task.name]

    def _take_env(self, task: TaskSpec):
        with self._lock:
            pool = self._envs[task.name]
            if pool:
                return pool.pop()
        return task.make()

    def _give_env(self, task: TaskSpec, env) -> None:
        with self._lock:
            pool = self._envs[task.name]
            if len(pool) < 2 * self.cfg.max_episodes:
                pool.append(env)
                return
        env.close()


def _traced_critic(critic: TwinCritic):
    """The critic as a checked TorchScript trace (``checked_trace``), else the eager critic: at the engine's batches
    of 1-16, Python dispatch is most of an eager forward."""
    g = torch.Generator().manual_seed(0)

    def example(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(n, critic.obs_dim, generator=g), torch.rand(n, critic.act_dim, generator=g) * 2 - 1

    traced = checked_trace(
        critic, example(2), [example(1), example(5)], atol=1e-4, rtol=1e-5, what="live engine: keeping the eager critic"
    )
    return critic if traced is None else traced


def check_target(target: float) -> None:
    """A retarget's value: a ValueError naming the field unless it is finite."""
    if not math.isfinite(target):
        raise ValueError(f"target must be a finite number, got {target!r}")


def check_request(request: EpisodeRequest) -> TaskSpec:
    """The request's task, or a ValueError that names the bad field."""
    task = get_task(request.task)
    if request.mode not in ("return", "velocity"):
        raise ValueError(f"mode must be 'return' or 'velocity', got {request.mode!r}")
    if not request.models:
        raise ValueError("models: at least one checkpoint is needed")
    for name, value in (("target", request.target), ("pace", request.pace)):
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not 0 <= request.pace <= MAX_PACE:
        raise ValueError(f"pace must be between 0 and {MAX_PACE:g}, got {request.pace:g}")
    if not isinstance(request.seed, int) or not 0 <= request.seed < 2**31:
        raise ValueError(f"seed must be an integer in [0, 2^31), got {request.seed!r}")
    if request.max_steps is not None and request.max_steps < 1:
        raise ValueError(f"max_steps must be at least 1, got {request.max_steps}")
    return task


def _record_state(lane: _Lane) -> None:
    data = lane.env.unwrapped.data
    lane.qpos.append(data.qpos.copy())
    lane.qvel.append(data.qvel.copy())


def _lane_step(lane: _Lane, reward: float, speed: float, rtg: float, q: float | None = None) -> LaneStep:
    pose = scene.planar_poses(lane.env.unwrapped.data, lane.geoms)
    return LaneStep(pose, lane.ret, reward, speed, rtg, lane.done, q)
