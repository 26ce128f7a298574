"""What a browser needs to draw a planar MuJoCo robot: its geoms once (type, size, colour), then each
step their poses in the x-z plane.

Hopper, Walker2d and HalfCheetah move in the x-z plane and every geom turns about the y axis only, so a
pose is three numbers (x, z, angle) taken from MuJoCo's own ``data.geom_xpos`` / ``data.geom_xmat``.
"""

from __future__ import annotations

import mujoco
import numpy as np

DRAWN = {
    int(mujoco.mjtGeom.mjGEOM_PLANE): "plane",
    int(mujoco.mjtGeom.mjGEOM_SPHERE): "sphere",
    int(mujoco.mjtGeom.mjGEOM_CAPSULE): "capsule",
    int(mujoco.mjtGeom.mjGEOM_ELLIPSOID): "ellipsoid",
    int(mujoco.mjtGeom.mjGEOM_CYLINDER): "cylinder",
    int(mujoco.mjtGeom.mjGEOM_BOX): "box",
}
"""Geom types the page knows how to draw; meshes and height fields are not used by these robots."""
VISIBLE_GROUPS = 3  # MuJoCo's viewer shows geom groups 0-2 by default
DEFAULT_RGBA = (0.5, 0.5, 0.5, 1.0)  # MuJoCo's default geom colour: a material, if any, decides instead
FOCUS_BODY = 1  # the torso (first body after the world) in all three tasks: the camera follows it


def geom_ids(model: mujoco.MjModel) -> np.ndarray:
    """Indices of the geoms to draw (visible, of a drawable type, not the floor), in model order."""
    ids = [
        g
        for g in range(model.ngeom)
        if DRAWN.get(int(model.geom_type[g]), "plane") != "plane"
        and model.geom_group[g] < VISIBLE_GROUPS
        and model.geom_rgba[g][3] > 0
    ]
    return np.array(ids, dtype=np.int64)


def _rgba(model: mujoco.MjModel, g: int) -> list[float]:
    rgba = model.geom_rgba[g]
    if model.geom_matid[g] >= 0 and np.allclose(rgba, DEFAULT_RGBA):
        rgba = model.mat_rgba[model.geom_matid[g]]
    return [round(float(c), 3) for c in rgba]


def describe(model: mujoco.MjModel) -> dict:
    """The static scene, sent once per episode: drawable geoms and the floor.

    ``size`` is MuJoCo's own: sphere [r], capsule/cylinder [r, half length along local z], ellipsoid
    and box [half extents x, y, z]. ``focus`` is the index (into ``geoms``) of a torso geom.
    """
    ids = geom_ids(model)
    geoms = [
        {
            "type": DRAWN[model.geom_type[g]],
            "size": [round(float(v), 4) for v in model.geom_size[g]],
            "rgba": _rgba(model, g),
        }
        for g in ids
    ]
    bodies = model.geom_bodyid[ids]
    focus = int(np.flatnonzero(bodies == FOCUS_BODY)[0]) if (bodies == FOCUS_BODY).any() else 0
    floors = [g for g in range(model.ngeom) if DRAWN.get(int(model.geom_type[g])) == "plane"]
    floor = {"z": float(model.geom_pos[floors[0]][2]), "rgba": _rgba(model, floors[0])} if floors else None
    return {"geoms": geoms, "focus": focus, "floor": floor}


def planar_poses(data: mujoco.MjData, ids: np.ndarray) -> np.ndarray:
    """(G, 3) float32: x, z and the rotation angle about y of each geom in ``ids``.

    A rotation about y is [[c, 0, s], [0, 1, 0], [-s, 0, c]], so the angle is atan2(R[0, 2], R[0, 0]).
    """
    pos = data.geom_xpos[ids]  # (G, 3)
    mat = data.geom_xmat[ids]  # (G, 9), row-major 3x3
    out = np.empty((len(ids), 3), dtype=np.float32)
    out[:, 0], out[:, 1] = pos[:, 0], pos[:, 2]
    out[:, 2] = np.arctan2(mat[:, 2], mat[:, 0])
    return out
