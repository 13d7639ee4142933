"""Surround360 ``camera_rig.json``: read and write.

Format (``surround360_render/res/config/camera_rig.json``): per camera ``origin`` in cm in a
z-up rig frame, unit ``right``/``up``/``forward`` vectors, ``focal [f, -f]`` in pixels per radian
(the second value is negative because image rows grow downwards), ``principal``, ``resolution``,
``type`` RECTILINEAR (pinhole) or FTHETA (equidistant fisheye, r = f theta), ``distortion
[k1, k2]`` (radial polynomial in r^2 for RECTILINEAR, in theta^2 for FTHETA) and an optional
``fov`` (half angle in radians beyond which pixels are invalid). The camera's OpenCV axes in the
rig are therefore (right, -up, forward), and the z-up rig frame maps to ours
(:mod:`stitch.rig`) by ``x = -y_s360, y = -z_s360, z = x_s360`` (so a camera looking along
+x_s360 sits at yaw 0).
"""

from __future__ import annotations

import json
import os

import numpy as np

from sensors.errors import InputError
from sensors.types import CameraModel

from ..rig import Rig, RigCamera
from ._common import check_writable_rig, load_json, vec, write_text

__all__ = ["R_RIG_FROM_S360", "read_surround360_rig", "write_surround360_rig"]

#: Rotation taking Surround360's z-up rig coordinates into ours (x right, y down, z forward).
R_RIG_FROM_S360 = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


def read_surround360_rig(path: str | os.PathLike, _doc=None) -> Rig:
    """Read a Surround360 ``camera_rig.json`` (see the module docstring for the conventions)."""
    src = str(path)
    doc = load_json(path) if _doc is None else _doc
    if not isinstance(doc, dict) or not isinstance(doc.get("cameras"), list):
        raise InputError("expected {\"cameras\": [...]}", src)
    cams = []
    for k, c in enumerate(doc["cameras"]):
        if not isinstance(c, dict):
            raise InputError(f"camera {k}: expected an object", src)
        cid = str(c.get("id", f"cam{k}"))
        where = f"camera {cid}"
        right = vec(c, "right", 3, where, src)
        up = vec(c, "up", 3, where, src)
        fwd = vec(c, "forward", 3, where, src)
        for name, v in (("right", right), ("up", up), ("forward", fwd)):
            if abs(np.linalg.norm(v) - 1) > 1e-3:
                raise InputError(f"{where}: '{name}' is not a unit vector", src)
        origin_cm = vec(c, "origin", 3, where, src)
        focal = vec(c, "focal", 2, where, src)
        principal = vec(c, "principal", 2, where, src)
        res = vec(c, "resolution", 2, where, src)
        dist = vec(c, "distortion", 2, where, src) if "distortion" in c else np.zeros(2)
        kind = str(c.get("type", "RECTILINEAR")).upper()
        if kind not in ("RECTILINEAR", "FTHETA"):
            raise InputError(f"{where}: unknown type {kind!r}; valid: RECTILINEAR, FTHETA", src)
        if focal[0] == 0 or focal[1] == 0:
            raise InputError(f"{where}: focal must be non-zero", src)
        if np.any(res <= 0) or np.any(res != np.round(res)):
            raise InputError(f"{where}: resolution must be two positive integers", src)
        # Surround360 pixel: principal + focal * (right, up) components; focal[1] < 0 flips rows
        # to grow downwards. Our camera y is down, so y_cam = sign(-focal[1]) * (-up) ... with the
        # usual negative focal[1] that is simply y = -up.
        down = -up if focal[1] < 0 else up
        R_s360_from_cam = np.stack([right, down, fwd], axis=1)
        R = R_RIG_FROM_S360 @ R_s360_from_cam
        K = np.array([[abs(focal[0]), 0, principal[0]], [0, abs(focal[1]), principal[1]],
                      [0, 0, 1.0]])
        if kind == "RECTILINEAR":
            cam = CameraModel(K, [dist[0], dist[1], 0, 0, 0], "opencv_standard",
                              (int(res[0]), int(res[1])), src)
        else:
            cam = CameraModel(K, [dist[0], dist[1], 0, 0], "opencv_fisheye",
                              (int(res[0]), int(res[1])), src)
        fov = c.get("fov")
        cams.append(
            RigCamera(cid, cam, R, R_RIG_FROM_S360 @ origin_cm / 100.0,
                      str(c.get("group", "")), None if fov is None else float(fov))
        )
    if not cams:
        raise InputError("rig has no cameras", src)
    return Rig(tuple(cams), src)



def write_surround360_rig(path: str | os.PathLike, rig: Rig, extra: dict | None = None
                          ) -> None:
    """Write ``rig`` as a Surround360 ``camera_rig.json`` (atomically), with ``extra``
    top-level entries beside ``cameras`` (Surround360 ignores them).

    Only lenses Surround360 can express are accepted: ``opencv_standard`` with radial k1, k2
    (no tangential or higher terms) and ``opencv_fisheye`` with k1, k2 (k3 = k4 = 0), and square
    pixels without skew.
    """
    check_writable_rig(rig)
    out = []
    R_s360_from_rig = R_RIG_FROM_S360.T
    for c in rig:
        cam = c.camera
        d = cam.dist
        if cam.model == "opencv_standard":
            if np.any(np.abs(d[2:]) > 0):
                raise InputError(f"camera {c.id}: Surround360 rigs hold only radial k1, k2",
                                 str(path))
            kind = "RECTILINEAR"
        else:
            if np.any(np.abs(d[2:]) > 0):
                raise InputError(f"camera {c.id}: Surround360 FTHETA holds only k1, k2",
                                 str(path))
            kind = "FTHETA"
        K = cam.K
        if abs(K[0, 1]) > 1e-9:
            raise InputError(f"camera {c.id}: skewed pixels cannot be written to Surround360",
                             str(path))
        R = R_s360_from_rig @ c.R_rig_from_cam
        entry = {
            "group": c.group,
            "id": c.id,
            "origin": (R_s360_from_rig @ c.position_m * 100.0).tolist(),
            "principal": [float(K[0, 2]), float(K[1, 2])],
            "right": R[:, 0].tolist(),
            "up": (-R[:, 1]).tolist(),
            "forward": R[:, 2].tolist(),
            "focal": [float(K[0, 0]), -float(K[1, 1])],
            "resolution": [int(cam.size[0]), int(cam.size[1])],
            "type": kind,
            "distortion": [float(d[0]) if d.size else 0.0, float(d[1]) if d.size > 1 else 0.0],
            "version": 1,
        }
        if c.fov_rad is not None:
            entry["fov"] = float(c.fov_rad)
        out.append(entry)
    write_text(path, json.dumps({"cameras": out, **(extra or {})}, indent=2) + "\n")

