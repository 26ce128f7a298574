"""Q-ALIGN DT controllability library: data, models, training, rollouts and metrics.

Importing ``core`` picks a headless OpenGL backend for MuJoCo before anything imports mujoco:
without ``MUJOCO_GL`` set, offscreen rendering fails on a machine with no display.
"""

import os

# EGL with Mesa's software rasteriser works on a bare Debian machine (libegl1, libgl1-mesa-dri).
os.environ.setdefault("MUJOCO_GL", "egl")
if os.environ["MUJOCO_GL"] in ("egl", "osmesa"):
    os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
