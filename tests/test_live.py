"""What the page receives (core.scene, core.live) and the MP4 made afterwards (core.video)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import scene
from core.engine import EpisodeRequest, LiveEngine
from core.envs import get_task
from core.live import EpisodeTrace, encode, end_message, scene_message, steps_message
from core.store.layout import Run


@pytest.mark.parametrize("task", ["hopper", "walker2d", "halfcheetah"])
def test_planar_poses_put_every_geom_where_mujoco_has_it(task):
    """Capsule ends worked out from (x, z, angle) and MuJoCo's size land where MuJoCo's own frame puts them,
    in a bent random pose."""
    env = get_task(task).make()
    env.reset(seed=0)
    u = env.unwrapped
    qpos = u.init_qpos.copy()
    qpos[3:] += np.random.default_rng(0).uniform(-0.7, 0.7, len(qpos) - 3)
    u.set_state(qpos, u.init_qvel)
    ids, desc = scene.geom_ids(u.model), scene.describe(u.model)
    assert len(ids) == len(desc["geoms"]) == u.model.ngeom - 1  # everything but the floor
    assert {g["type"] for g in desc["geoms"]} == {"capsule"} and desc["floor"]["z"] == 0.0
    poses = scene.planar_poses(u.data, ids)
    for (x, z, angle), g, gid in zip(poses, desc["geoms"], ids):
        half = g["size"][1]
        end = np.array([x + np.sin(angle) * half, z + np.cos(angle) * half])
        axis = u.data.geom_xmat[gid].reshape(3, 3)[:, 2]  # the capsule's own axis (local z) in the world
        np.testing.assert_allclose(end, (u.data.geom_xpos[gid] + axis * half)[[0, 2]], atol=1e-5)


def test_wire_messages_carry_scene_poses_and_the_end(tiny_models):
    models = {k: str(p) for k, p in tiny_models.items()}
    ep = LiveEngine().run_to_end(EpisodeRequest("hopper", models, target=20.0, pace=0, max_steps=400))
    first = json.loads(encode(scene_message(ep)))
    assert [lane["name"] for lane in first["lanes"]] == ["Decision Transformer", "Q-ALIGN DT"]
    assert [lane["critic"] for lane in first["lanes"]] == [False, True]  # Q-ALIGN DT ships the critic it aligned with
    assert first["limit"] == 400 and len(first["geoms"]) == 4 and first["dt"] == 0.008
    steps = json.loads(encode(steps_message(ep.records)))["steps"]
    assert [s["t"] for s in steps] == list(range(len(ep.records)))
    assert all(len(lane["p"]) == 3 * 4 for lane in steps[0]["l"])
    assert "q" not in steps[1]["l"][0] and np.isfinite(steps[1]["l"][1]["q"])  # the critic's view of the action taken
    ended = [i for i, lane in enumerate(steps[-1]["l"]) if lane["d"]]
    assert ended, "the tiny Hopper models fall within 400 steps"
    end = json.loads(encode(end_message(ep)))
    assert end["status"] == "done" and set(end["summary"]) == {"dt", "qalign"}
    trace = EpisodeTrace.of(ep.records)
    assert trace.t == list(range(1, len(ep.records))) and len(trace.series["qalign:return"]) == len(trace.t)
    assert "dt:q" not in trace.series and len(trace.series["qalign:q"]) == len(ep.states["qalign"][0]) - 1
    for kind in ("dt", "qalign"):
        n = len(ep.states[kind][0])  # states recorded while the model ran, then it holds its last pose
        assert trace.summary()[kind]["return"] == pytest.approx(ep.records[n - 1].lanes[kind].ret)


def test_mp4_replays_the_recorded_states(tiny_models, roots):
    import imageio.v2 as imageio

    from core.video import frame_skip, write_episode

    task = get_task("hopper")
    models = {k: str(Run("hopper", "medium").model_path(k)) for k in ("dt", "qalign")}
    ep = LiveEngine().run_to_end(EpisodeRequest("hopper", models, target=20.0, pace=0, max_steps=12))
    out = write_episode(ep, roots["results"] / "ep.mp4", size=64)
    frames = [f for f in imageio.get_reader(out)]  # list() asks the reader for its (infinite) length
    n, skip = len(ep.records), frame_skip(task)
    assert len(frames) == len(range(0, n, skip)) + int((n - 1) % skip != 0)  # every 4th step and the last
    assert frames[0].shape == (64, 128, 3) and min(f.mean() for f in frames) > 10, "black frames"
    for size in (0, 100_000):
        with pytest.raises(ValueError, match=f"size must be 16 to 2048 px, got {size}"):
            write_episode(ep, roots["results"] / "bad.mp4", size=size)
