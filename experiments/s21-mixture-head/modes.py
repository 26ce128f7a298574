"""Which of its modes a mixture-head DT plays along an episode (Hopper): per request, 3 validation episodes
(seeds 300000-300002) with the length, the mean forward speed over steps 150-200, how many distinct modes were
played, how often the played mode changes from one step to the next, and the mean weight of the played mode.

    python experiments/s21-mixture-head/modes.py /work/exp/s21-mixture-head/ckpt/hopper/control/dt/model-s3
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from core.envs import get_task  # noqa: E402
from core.policy import ReturnConditionedPolicy  # noqa: E402

REQUESTS = (1517.0, 2523.0, 3530.0)


def episode(policy: ReturnConditionedPolicy, target: float, seed: int) -> dict:
    played: list[tuple[int, float]] = []

    def grab(_module, _inputs, out):  # the action head's output; its mode weights at the last step
        w = policy.actor.mixture_of(out)[2][0, -1].softmax(-1)
        played.append((int(w.argmax()), float(w.max())))

    hook = policy.actor.action_head.register_forward_hook(grab)
    env = get_task("hopper").make()
    try:
        obs, _ = env.reset(seed=seed)
        policy.reset(obs[None], np.array([target]))
        speeds, done = [], False
        while not done:
            obs, r, term, trunc, info = env.step(policy.act(obs[None])[0])
            policy.observe(np.array([r]))
            speeds.append(info["x_velocity"])
            done = term or trunc
    finally:
        hook.remove()
        env.close()
    modes = np.array([m for m, _ in played])
    return {
        "length": len(speeds),
        "speed": float(np.mean(speeds[150:200])) if len(speeds) >= 200 else float("nan"),
        "modes": len(set(modes.tolist())),
        "switch": float(np.mean(modes[1:] != modes[:-1])),
        "weight": float(np.mean([w for _, w in played])),
    }


def main(path: str) -> None:
    torch.set_num_threads(1)
    policy = ReturnConditionedPolicy.load(path)
    if policy.actor.cfg.action_head != "mixture":
        sys.exit(f"{path} has a {policy.actor.cfg.action_head!r} head, not a mixture")
    for target in REQUESTS:
        eps = [episode(policy, target, seed) for seed in range(300_000, 300_003)]
        print(
            f"request {target:.0f}: lengths {[e['length'] for e in eps]}, speed 150-200 "
            f"{[round(e['speed'], 2) for e in eps]}, modes played {[e['modes'] for e in eps]}, switch rate "
            f"{[round(e['switch'], 3) for e in eps]}, played weight {[round(e['weight'], 2) for e in eps]}"
        )


if __name__ == "__main__":
    main(sys.argv[1])
