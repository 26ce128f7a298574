"""The live engine on the tiny checkpoints: batching (one forward per checkpoint per tick), retargets on the
next step, isolation between viewers, and pacing to wall time (a fake clock, so no test sleeps)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.engine import EngineBusy, EngineConfig, EpisodeRequest, LiveEngine
from core.envs import get_task
from core.policy import ReturnConditionedPolicy
from core.store.layout import Run
from tests.conftest import obs_batch

HOPPER_DT = 0.008


class FakeClock:
    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingPolicy(ReturnConditionedPolicy):
    """Records the batch size of every forward."""

    batches: list[tuple[str, int]] = []

    def act(self, obs=None, index=None):
        a = super().act(obs, index)
        CountingPolicy.batches.append((self.path, len(a)))
        return a


def counting_load(path: str) -> ReturnConditionedPolicy:
    p = CountingPolicy.load(path)
    return p


@pytest.fixture
def paths(tiny_models) -> dict[str, dict[str, str]]:
    """{task: {kind: checkpoint path}} for the tiny Hopper and HalfCheetah models."""
    return {t: {k: str(Run(t, "medium").model_path(k)) for k in ("dt", "qalign")} for t in ("hopper", "halfcheetah")}


@pytest.fixture
def engine():
    CountingPolicy.batches = []
    clock = FakeClock()
    eng = LiveEngine(EngineConfig(max_episodes=8), load=counting_load, clock=clock)
    eng.fake = clock
    return eng


def test_policy_rows_join_leave_and_act_on_subsets_like_separate_policies(tiny_models):
    """The batch a checkpoint's episodes share gives each episode exactly what a policy of its own gives."""
    path = tiny_models["qalign"]
    batch = ReturnConditionedPolicy.load(path)
    singles = {}
    for i, target in enumerate([5.0, 10.0, 20.0]):
        row = batch.add(obs_batch(1, seed=i), np.array([target]))
        assert row.tolist() == [i]
        singles[i] = ReturnConditionedPolicy.load(path)
        singles[i].reset(obs_batch(1, seed=i), np.array([target]))
    rows = {0: 0, 1: 1, 2: 2}
    for t in range(25):  # longer than the context: windows slide
        if t == 7:  # episode 1 leaves; episode 2 moves up to row 1
            batch.remove(np.array([1]))
            del rows[1]
            rows[2] = 1
        stepping = [e for e in rows if t % 3 != 0 or e == 0]  # some ticks only some episodes are due
        obs = obs_batch(len(stepping), seed=100 + t)
        a = batch.act(obs, index=np.array([rows[e] for e in stepping]))
        batch.observe(np.full(len(stepping), 0.5 * t), index=np.array([rows[e] for e in stepping]))
        for k, e in enumerate(stepping):
            np.testing.assert_allclose(a[k], singles[e].act(obs[k : k + 1])[0], atol=1e-6, rtol=0)
            singles[e].observe(np.array([0.5 * t]))
    assert batch.n == 2


def test_a_compiled_policy_acts_like_the_eager_one_at_any_batch_size(tiny_models):
    eager = ReturnConditionedPolicy.load(tiny_models["dt"])
    traced = ReturnConditionedPolicy.load(tiny_models["dt"]).compile()
    assert traced.compiled and not eager.compiled, "the trace was refused: see the warning"
    for n in (1, 3, 8):
        for p in (eager, traced):
            p.reset(obs_batch(n), np.full(n, 5.0))
        for t in range(22):
            obs = obs_batch(n, seed=t)
            np.testing.assert_allclose(traced.act(obs), eager.act(obs), atol=1e-5, rtol=0)
            for p in (eager, traced):
                p.observe(np.ones(n))


def test_every_episode_of_a_checkpoint_shares_one_forward_per_tick(engine, paths):
    eps = [engine.submit(EpisodeRequest("hopper", paths["hopper"], target=20.0, seed=i, pace=0)) for i in range(3)]
    eps.append(engine.submit(EpisodeRequest("halfcheetah", {"qalign": paths["halfcheetah"]["qalign"]}, pace=0)))
    engine.tick()
    assert sorted(n for _, n in CountingPolicy.batches) == [1, 3, 3]  # cheetah Q-ALIGN, hopper DT, hopper Q-ALIGN
    for _ in range(10):
        CountingPolicy.batches.clear()
        engine.tick()
        per_path = [path for path, _ in CountingPolicy.batches]
        assert len(per_path) == len(set(per_path)), "a checkpoint ran more than one forward in a tick"
        alive = sum(not lane.done for ep in eps if not ep.ended.is_set() for lane in engine_lanes(engine, ep))
        assert sum(n for _, n in CountingPolicy.batches) <= alive + 6  # lanes that ended this tick were batched too


def engine_lanes(engine, ep):
    return next((run.lanes for run in engine._runs if run.episode is ep), [])


def test_a_retarget_acts_on_the_next_step_of_that_episode_only(engine, paths):
    """HalfCheetah never ends early: ask for 1 m/s, then 3 m/s after three steps."""
    task_paths = paths["halfcheetah"]
    a = engine.submit(EpisodeRequest("halfcheetah", task_paths, mode="velocity", target=1.0, pace=0, max_steps=8))
    b = engine.submit(EpisodeRequest("halfcheetah", task_paths, mode="velocity", target=1.0, pace=0, max_steps=8))
    for _ in range(3):
        engine.tick()
    assert engine.retarget(a.id, 3.0)
    engine.tick()
    assert [r.target for r in a.records] == [1.0, 1.0, 1.0, 1.0, 3.0]
    assert {r.target for r in b.records} == {1.0}
    task = a.task
    for kind, lane in a.records[4].lanes.items():
        # re-anchored before step 4: speed x steps left from step 3, minus the reward of step 4
        expected = task.rtg_for_speed(3.0, task.max_episode_steps - 3) - lane.reward
        assert lane.rtg == pytest.approx(expected, rel=1e-4), kind
    start = b.records[0].lanes["dt"].rtg  # clamped to the tiny model's range
    assert b.records[4].lanes["dt"].rtg == pytest.approx(start - sum(r.lanes["dt"].reward for r in b.records[1:5]))


def test_asking_for_an_outcome_asks_each_model_for_its_calibrated_rtg(engine, paths):
    """Q-ALIGN DT's calibration says it achieves half of what it is asked; DT has none (asked the target itself)."""
    from core.calibration import Calibration

    half = Calibration.fit(np.array([0.0, 100.0]), np.array([0.0, 50.0]))
    req = EpisodeRequest("hopper", paths["hopper"], target=20.0, pace=0, max_steps=6, outcome={"qalign": half})
    ep = engine.submit(req)
    assert ep.records[0].lanes["qalign"].rtg == pytest.approx(40.0)
    dt_policy = ReturnConditionedPolicy.load(paths["hopper"]["dt"])
    assert ep.records[0].lanes["dt"].rtg == pytest.approx(float(dt_policy.clamp_targets(np.array([20.0]))[0]))
    assert ep.records[0].target == 20.0  # the record keeps what the viewer wants
    for _ in range(2):
        engine.tick()
    assert engine.retarget(ep.id, 30.0)
    engine.tick()
    lane = ep.records[3].lanes["qalign"]
    got = sum(r.lanes["qalign"].reward for r in ep.records[1:4])
    assert lane.rtg == pytest.approx(60.0 - got, rel=1e-4)  # re-anchored: asked 60 in all, minus what it earned
    assert ep.records[3].target == 30.0


def test_asking_for_a_speed_outcome_anchors_each_model_on_its_calibration(engine, paths):
    """Velocity mode with an outcome: Q-ALIGN DT holds ``rtg_for_speed`` of its calibration, DT the plain r*(v)."""
    from core.calibration import Calibration

    half = Calibration.fit(np.array([-1000.0, 1000.0]), np.array([-500.0, 500.0]))
    req = EpisodeRequest(
        "halfcheetah", paths["halfcheetah"], mode="velocity", target=0.4, pace=0, max_steps=6, outcome={"qalign": half}
    )
    task = get_task("halfcheetah")
    assert req.rtg("qalign", 0.4, task, 0.0, 0) == pytest.approx(half.rtg_for_speed(task, 0.4, task.max_episode_steps))
    assert req.rtg("dt", 0.4, task, 0.0, 0) == pytest.approx(task.rtg_for_speed(0.4, task.max_episode_steps))
    ep = engine.submit(req)
    for _ in range(2):
        engine.tick()
    assert engine.retarget(ep.id, 0.2)
    engine.tick()
    lane = ep.records[3].lanes["qalign"]
    expected = half.rtg_for_speed(task, 0.2, task.max_episode_steps - 2) - lane.reward
    assert lane.rtg == pytest.approx(expected, rel=1e-4)


def test_holding_a_speed_reanchors_each_model_on_its_corrected_request(engine, paths):
    """Velocity mode with a hold (period 2): after every 2nd step each model is re-anchored on r*(target + u) for
    the steps left, u the gain times its own measured shortfall (kept inside [0, the data's fastest speed])."""
    from core.calibration import SpeedHoldConfig, fastest_speed

    task = get_task("halfcheetah")
    hold = SpeedHoldConfig(gain=0.5, period=2, limit=10.0)
    top = fastest_speed(task, ReturnConditionedPolicy.load(paths["halfcheetah"]["dt"]).meta["return_stats"])
    target = 0.5 * top
    req = EpisodeRequest(
        "halfcheetah", paths["halfcheetah"], mode="velocity", target=target, pace=0, max_steps=6, hold=hold
    )
    ep = engine.submit(req)
    for _ in range(3):
        engine.tick()
    for kind in paths["halfcheetah"]:
        short = target - np.array([ep.records[k].lanes[kind].speed for k in (1, 2)])
        u = np.clip(0.5 * short.mean(), -target, top - target)
        assert abs(u) > 0.01, kind  # the tiny models miss the target, so the hold moved their requests
        lane = ep.records[3].lanes[kind]
        expected = task.rtg_for_speed(target + u, task.max_episode_steps - 2) - lane.reward
        assert lane.rtg == pytest.approx(expected, rel=1e-4), kind
    assert {r.target for r in ep.records} == {target}  # the record keeps what the viewer asked


def test_a_model_that_ships_a_critic_reports_its_value_of_each_action(engine, paths):
    import torch

    from core.envs import get_task
    from core.store.checkpoint import load_critic
    from core.store.layout import critic_beside

    ep = engine.submit(EpisodeRequest("hopper", paths["hopper"], target=20.0, seed=5, pace=0, max_steps=4))
    assert ep.critics == {"qalign"}
    engine.tick()
    step = ep.records[1].lanes
    assert step["dt"].q is None and math.isfinite(step["qalign"].q)
    # the value is the shipped critic's min over its heads, at the reset state, of the action the policy took there
    obs0, _ = get_task("hopper").make().reset(seed=5)
    policy = ReturnConditionedPolicy.load(paths["hopper"]["qalign"])
    policy.reset(obs0[None], np.array([ep.records[0].lanes["qalign"].rtg]))
    action = policy.act(obs0[None])
    critic, _ = load_critic(critic_beside(paths["hopper"]["qalign"]))
    state = (torch.as_tensor(obs0[None], dtype=torch.float32) - policy.obs_mean) / policy.obs_std
    with torch.no_grad():
        expected = critic(state, torch.as_tensor(action, dtype=torch.float32)).min(dim=0).values.item()
    assert step["qalign"].q == pytest.approx(expected, rel=1e-3, abs=1e-4)


def test_one_viewers_stop_bad_input_or_crash_leaves_the_others_running(engine, paths):
    ok = engine.submit(EpisodeRequest("halfcheetah", paths["halfcheetah"], target=10.0, pace=0, max_steps=6))
    stopped = engine.submit(EpisodeRequest("halfcheetah", paths["halfcheetah"], target=10.0, pace=0, max_steps=6))
    crashing = engine.submit(EpisodeRequest("halfcheetah", paths["halfcheetah"], target=10.0, pace=0, max_steps=6))
    for bad, field in [
        ({"target": math.nan}, "target"),
        ({"pace": 99.0}, "pace"),
        ({"seed": -1}, "seed"),
        ({"mode": "speed"}, "mode"),
        ({"task": "ant"}, "task"),
    ]:
        with pytest.raises(ValueError, match=field):
            engine.submit(EpisodeRequest(**{"task": "halfcheetah", "models": paths["halfcheetah"], **bad}))
    with pytest.raises(ValueError, match="finite"):
        engine.retarget(ok.id, math.inf)
    engine.tick()
    engine.stop(stopped.id)

    class Exploding:  # a simulator whose state cannot be read or stepped
        def __getattr__(self, name):
            raise RuntimeError("simulator exploded")

    engine._runs[-1].lanes[0].env.unwrapped.data = Exploding()  # the third episode's first model
    while not ok.ended.is_set():
        engine.tick()
    assert (ok.status, stopped.status, crashing.status) == ("done", "stopped", "error")
    assert "exploded" in crashing.message and len(ok.records) == 7
    assert set(ok.states) == {"dt", "qalign"} and ok.states["dt"][0].shape[0] == 7  # qpos after every step


def test_a_full_engine_refuses_with_a_message(paths):
    eng = LiveEngine(EngineConfig(max_episodes=1), clock=FakeClock())
    eng.submit(EpisodeRequest("hopper", paths["hopper"], pace=0))
    with pytest.raises(EngineBusy, match="try again"):
        eng.submit(EpisodeRequest("hopper", paths["hopper"], pace=0))


def test_episodes_keep_real_time_pace_on_a_shared_grid(engine, paths):
    clock = engine.fake
    clock.now = 100.0031  # not on the grid
    a = engine.submit(EpisodeRequest("halfcheetah", paths["halfcheetah"], pace=1.0))
    engine.tick()
    clock.now += 0.0123  # a second viewer arrives 12 ms later, a third asks for 2x
    b = engine.submit(EpisodeRequest("halfcheetah", paths["halfcheetah"], pace=1.0))
    fast = engine.submit(EpisodeRequest("halfcheetah", paths["halfcheetah"], pace=2.0))
    engine.tick()
    dt = a.task.dt  # 0.05 s
    for _ in range(400):  # 0.4 s of wall time in 1 ms ticks
        clock.now += 0.001
        engine.tick()
    steps = {name: len(ep.records) - 1 for name, ep in (("a", a), ("b", b), ("fast", fast))}
    assert 7 <= steps["a"] <= 8 and 7 <= steps["b"] <= 8 and 15 <= steps["fast"] <= 16, steps
    # Both start on the grid of their step length, so a and b fall due on the same ticks (one forward for both).
    for ep, step in ((a, dt), (b, dt), (fast, dt / 2)):
        assert abs(ep.start / step - round(ep.start / step)) < 1e-6
    assert a.start == b.start and [r.wall for r in a.records[:5]] == pytest.approx([k * dt for k in range(5)])
    # Overload: the engine stalls for 1 s; the episode slips instead of fast-forwarding 20 steps at once.
    before = len(a.records)
    clock.now += 1.0
    engine.tick()
    engine.tick()
    assert len(a.records) == before + 1 and a.slip_s >= 0.75


def test_the_engine_thread_plays_an_episode_in_real_time(paths):
    eng = LiveEngine().start()
    try:
        ep = eng.run_to_end(EpisodeRequest("halfcheetah", paths["halfcheetah"], pace=1.0, max_steps=6))
    finally:
        eng.close()
    assert ep.status == "done" and len(ep.records) == 7
    assert 0.29 <= ep.wall_s < 1.5, ep.wall_s  # 6 steps x 0.05 s


def test_checkpoints_advanced_side_by_side_on_two_threads_give_the_same_episodes(paths):
    """parallel_forwards runs one checkpoint's forward and simulators on a helper thread: nothing may cross over."""
    runs = {}
    for parallel in (False, True):
        eng = LiveEngine(EngineConfig(max_episodes=8, parallel_forwards=parallel), clock=FakeClock())
        eps = [
            eng.submit(EpisodeRequest("hopper", paths["hopper"], target=20.0 + 5 * i, seed=i, pace=0, max_steps=25))
            for i in range(3)
        ]
        while not all(ep.ended.is_set() for ep in eps):
            eng.tick()
        assert (eng._helper is not None) == parallel  # the helper thread ran (or not)
        assert eng.forwards == 2 * eng.ticks  # still one forward per checkpoint per tick
        runs[parallel] = [
            [
                (k, s.ret, s.q, s.done, None if s.pose is None else s.pose.tolist())
                for r in ep.records
                for k, s in r.lanes.items()
            ]
            for ep in eps
        ]
        eng.close()
    assert runs[True] == runs[False]


def test_an_episode_reaching_the_time_limit_ends_there_as_gymnasiums_time_limit_says(paths, monkeypatch):
    """An episode that runs to the task's time limit ends there, its last step marked done (both models)."""
    import dataclasses

    import core.engine
    from core.envs import get_task

    short = dataclasses.replace(get_task("halfcheetah"), max_episode_steps=12)  # HalfCheetah never falls
    monkeypatch.setattr(core.engine, "get_task", lambda name: short)
    eng = LiveEngine(EngineConfig(max_episodes=2), clock=FakeClock())
    ep = eng.submit(EpisodeRequest("halfcheetah", paths["halfcheetah"], target=10.0, pace=0))
    while not ep.ended.is_set():
        eng.tick()
    assert ep.status == "done" and len(ep.records) == 13
    assert [all(s.done for s in r.lanes.values()) for r in ep.records] == [False] * 12 + [True]
    env = short.make()  # the wrapped env says the same at its 12th step
    env.reset(seed=0)
    flags = [env.step(env.action_space.sample())[3] for _ in range(12)]
    assert flags == [False] * 11 + [True]
    eng.close()


def test_checkpoints_go_side_by_side_only_while_the_engine_is_behind(paths):
    """On time on one thread: no helper. More than half a step late: the helper, until on time again."""
    clock = FakeClock()
    eng = LiveEngine(EngineConfig(max_episodes=2), clock=clock)
    ep = eng.submit(EpisodeRequest("halfcheetah", paths["halfcheetah"], target=10.0, pace=1.0))
    eng.tick()  # admitted on the grid
    dt = ep.task.dt
    run = eng._runs[0]
    for _ in range(3):  # each tick exactly when the next step falls due
        clock.now = run.due
        assert eng.tick() == 1 and not eng._behind
    assert eng._helper is None
    clock.now = run.due + 0.6 * dt  # late by more than half a step: both checkpoints advance side by side
    eng.tick()
    assert eng._behind and eng._helper is not None
    clock.now = run.due + 0.3 * dt  # still a little late: stays side by side (no flapping)
    eng.tick()
    assert eng._behind
    clock.now = run.due  # on time again
    eng.tick()
    assert not eng._behind
    eng.close()
