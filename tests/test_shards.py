"""Live-engine replicas in worker processes (core/shards.py) on the tiny checkpoints: the same episodes as the
in-process engine, episodes dealt across replicas, retarget / stop / bad input as LiveEngine, and a replica that
dies ends only its own episodes. One ShardedEngine (two worker processes) serves every test here."""

from __future__ import annotations

import time

import numpy as np
import pytest

from core.calibration import Calibration, SpeedHoldConfig
from core.engine import EngineBusy, EngineConfig, EpisodeRequest, LaneStep, LiveEngine, StepRecord
from core.shards import ShardConfig, ShardedEngine, record_from_json, record_to_json, request_from_json, request_to_json
from core.store.checkpoint import CheckpointError
from core.store.layout import Run


@pytest.fixture(scope="module")
def paths(tiny_store, tmp_path_factory) -> dict[str, dict[str, str]]:
    from tests.conftest import ROOT_VARS

    mp = pytest.MonkeyPatch()
    for name, path in tiny_store.items():  # the replicas inherit these roots through the environment
        mp.setenv(ROOT_VARS[name], str(path))
    mp.setenv(ROOT_VARS["results"], str(tmp_path_factory.mktemp("results")))
    yield {t: {k: str(Run(t, "medium").model_path(k)) for k in ("dt", "qalign")} for t in ("hopper", "halfcheetah")}
    mp.undo()


@pytest.fixture(scope="module")
def sharded(paths):
    eng = ShardedEngine(ShardConfig(shards=2, engine=EngineConfig(max_episodes=4, parallel_forwards=False))).start()
    yield eng
    eng.close()


def lanes_of(ep) -> list:
    return [
        (r.t, r.target, k, s.ret, s.reward, s.rtg, s.q, s.done, None if s.pose is None else s.pose.tolist())
        for r in ep.records
        for k, s in r.lanes.items()
    ]


def test_a_replica_plays_the_same_episode_as_the_in_process_engine(paths, sharded):
    request = EpisodeRequest("hopper", paths["hopper"], target=20.0, seed=3, pace=0, max_steps=40)
    here = LiveEngine(EngineConfig(max_episodes=2)).run_to_end(request)
    there = sharded.run_to_end(request)
    assert there.status == here.status == "done" and there.id != here.id
    assert lanes_of(there) == lanes_of(here) and len(there.records) > 5
    assert there.critics == here.critics == {"qalign"} and there.scene == here.scene
    for kind in here.states:  # qpos / qvel after every step, for the MP4 replay
        for a, b in zip(here.states[kind], there.states[kind]):
            np.testing.assert_array_equal(a, b)
    assert sharded.episode(there.id) is there


def test_a_held_speed_request_plays_the_same_through_the_replicas(paths, sharded):
    """Velocity mode with the speed loop (each model's own loop re-anchors its RTG): nothing crosses between parts."""
    request = EpisodeRequest("halfcheetah", paths["halfcheetah"], "velocity", 1.5, 2, 0.0, 45, hold=SpeedHoldConfig())
    here = LiveEngine(EngineConfig(max_episodes=2)).run_to_end(request)
    there = sharded.run_to_end(request)
    assert there.status == here.status == "done" and len(there.records) == 46
    assert lanes_of(there) == lanes_of(here)


def test_each_checkpoint_runs_in_its_home_replica_and_each_episode_acts_on_its_own_requests(paths, sharded):
    eps = [
        sharded.submit(EpisodeRequest("halfcheetah", paths["halfcheetah"], target=10.0, seed=i, pace=4.0))
        for i in range(4)
    ]
    homes = {sharded._home[paths["halfcheetah"][k]] for k in ("dt", "qalign")}
    assert homes == {0, 1}  # the two checkpoints in different replicas, every episode's two models apart
    for rep in sharded._replicas:  # each replica runs one part (one model) of each episode, batched together
        assert sorted(len(p.kinds) for p in rep.running.values()) == [1, 1, 1, 1]
    with pytest.raises(EngineBusy, match="4 episodes already"):  # the cap holds over all replicas
        sharded.submit(EpisodeRequest("halfcheetah", paths["halfcheetah"], target=10.0))
    assert sharded.retarget(eps[0].id, 55.0)
    for ep in eps[1:]:
        assert sharded.stop(ep.id)
    deadline = time.time() + 30
    while eps[0].records[-1].target != 55.0 and time.time() < deadline:  # the episode has taken the new target
        time.sleep(0.01)
    assert sharded.stop(eps[0].id)
    for ep in eps:
        assert ep.ended.wait(30) and ep.status == "stopped"
    assert sharded.retarget(eps[1].id, 1.0) is False
    assert eps[0].records[-1].target == 55.0 and eps[2].records[-1].target == 10.0  # only its own episode moved
    assert all(r.t == i and list(r.lanes) == ["dt", "qalign"] for ep in eps for i, r in enumerate(ep.records))
    assert all(s.pose is not None for ep in eps for r in ep.records for s in r.lanes.values())  # stopped as one


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"target": float("nan")}, ValueError),
        ({"pace": -1.0}, ValueError),
        ({"task": "ant"}, ValueError),
        ({"models": {"dt": "/nonexistent/model"}}, CheckpointError),  # found by the replica, raised here by name
    ],
)
def test_bad_input_gets_the_in_process_engines_error(paths, sharded, change, error):
    request = EpisodeRequest(**{"task": "hopper", "models": paths["hopper"], "target": 20.0, **change})
    with pytest.raises(error) as here:
        LiveEngine(EngineConfig(max_episodes=1)).submit(request)
    with pytest.raises(error) as there:
        sharded.submit(request)
    assert type(there.value) is type(here.value) and str(there.value) == str(here.value)


def test_requests_and_steps_cross_the_pipe_unchanged():
    cal = Calibration((0.0, 100.0, 200.0), (10.0, 90.0, 150.0))
    req = EpisodeRequest("halfcheetah", {"dt": "a"}, "velocity", 2.5, 7, 2.0, 30, {"dt": cal}, SpeedHoldConfig())
    assert request_from_json(request_to_json(req)) == req
    pose = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    rec = StepRecord(3, 0.024, 20.0, {"dt": LaneStep(pose, 1.5, 0.5, 1.1, 18.5, False, None),
                                      "qalign": LaneStep(None, 2.0, 0.0, 0.0, 18.0, True, 3.25)})  # fmt: skip
    back = record_from_json(record_to_json(rec))
    np.testing.assert_array_equal(back.lanes["dt"].pose, pose)
    assert back.lanes["dt"].pose.dtype == np.float32 and back.lanes["qalign"] == rec.lanes["qalign"]
    assert (back.t, back.wall, back.target) == (3, 0.024, 20.0)


def test_a_replica_that_dies_ends_only_the_episodes_with_a_part_there(paths, sharded):
    models = paths["halfcheetah"]
    alone = {k: EpisodeRequest("halfcheetah", {k: models[k]}, target=10.0, pace=1.0) for k in ("dt", "qalign")}
    a, b = sharded.submit(alone["dt"]), sharded.submit(alone["qalign"])
    both = sharded.submit(EpisodeRequest("halfcheetah", models, target=10.0, pace=1.0))
    sharded._replicas[sharded._home[models["dt"]]].proc.kill()
    for ep in (a, both):
        assert ep.ended.wait(10) and ep.status == "error" and "worker process stopped" in ep.message
    assert not b.ended.is_set()  # the other replica's episode runs on
    again = sharded.run_to_end(EpisodeRequest("hopper", paths["hopper"], target=20.0, pace=0, max_steps=5))
    assert again.status == "done" and len(again.records) == 6  # a dead replica is replaced
    sharded.stop(b.id)
    assert b.ended.wait(10) and b.status == "stopped"


@pytest.mark.parametrize(("cpu_max", "quota"), [("max 100000\n", None), ("150000 100000\n", 2), ("50000 100000\n", 1)])
def test_replicas_follow_the_containers_cpu_quota(tmp_path, monkeypatch, cpu_max, quota):
    import os

    import core.shards

    (tmp_path / "cpu.max").write_text(cpu_max)
    monkeypatch.setattr(core.shards, "CGROUP_CPU_MAX", tmp_path / "cpu.max")
    cores = len(os.sched_getaffinity(0))
    assert core.shards.usable_cpus() == (cores if quota is None else min(cores, quota))
    monkeypatch.setattr(core.shards, "CGROUP_CPU_MAX", tmp_path / "absent")
    assert core.shards.usable_cpus() == cores
