import numpy as np

from core.envs import get_task
from core.live import LiveControl, live_rollout
from core.policy import ReturnConditionedPolicy


def test_live_rollout_side_by_side_frames_and_retarget(tiny_models):
    pols = {k: ReturnConditionedPolicy.load(p) for k, p in tiny_models.items()}
    ctl = LiveControl(mode="return", target=20.0)
    steps = []
    for step in live_rollout(pols, get_task("hopper"), ctl, seed=3, size=64, frame_skip=2, max_steps=12):
        steps.append(step)
        if step.t == 4:
            ctl.set_target(5.0)
    assert steps[0].frame.shape == (64, 128, 3) and steps[0].frame.dtype == np.uint8
    assert steps[1].frame is None or steps[1].stats["dt"]["done"]
    alive = [s for s in steps if not s.stats["qalign"]["done"]]
    assert len(alive) > 6, "the episode ended before the retarget could be checked"
    s = alive[6]  # re-anchored at t = 5: remaining RTG = new target - return so far
    assert abs(s.stats["qalign"]["rtg"] - (5.0 - s.stats["qalign"]["return"])) < 1e-3


def test_live_rollout_stops_when_asked(tiny_models):
    pols = {"dt": ReturnConditionedPolicy.load(tiny_models["dt"])}
    ctl = LiveControl(mode="velocity", target=1.0)
    n = 0
    for step in live_rollout(pols, get_task("hopper"), ctl, seed=0, size=32, max_steps=50):
        n += 1
        ctl.stop = step.t >= 2
    assert n == 3


def test_frames_stay_visible_when_steps_come_from_several_threads(tiny_models):
    """A Gradio server advances a generator from whichever worker thread is free, but an EGL context is
    current in one thread only: ``in_own_thread`` keeps every env call on one thread."""
    from concurrent.futures import ThreadPoolExecutor

    from core.live import in_own_thread

    pool = ThreadPoolExecutor(3)
    for run in range(2):
        pols = {k: ReturnConditionedPolicy.load(p) for k, p in tiny_models.items()}
        ctl = LiveControl(target=20.0)
        gen = in_own_thread(
            lambda pols=pols, ctl=ctl, run=run: live_rollout(
                pols, get_task("hopper"), ctl, seed=run, size=48, frame_skip=1, max_steps=8
            ),
            ctl,
        )
        frames = []
        while (step := pool.submit(next, gen, None).result()) is not None:
            if step.frame is not None:
                frames.append(step.frame)
        assert frames and min(f.mean() for f in frames) > 10, "black frames"
