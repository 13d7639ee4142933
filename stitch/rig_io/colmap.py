"""COLMAP ``rig_config.json`` (with inline intrinsics or a ``cameras.txt``): read and write.

A list of rigs; the first is read. Each camera entry has ``camera_id``, ``image_prefix`` and for
the non-reference cameras ``rel_qvec`` (w, x, y, z) and ``rel_tvec`` giving ``cam_from_rig``
(``X_cam = R X_rig + t``); the rig frame is the reference camera's frame. The newer layout
(``ref_sensor: true``, ``cam_from_rig_rotation`` [w, x, y, z], ``cam_from_rig_translation``) is
read too. COLMAP keeps intrinsics elsewhere, so we accept them either inline in each camera
entry as COLMAP's own fields (``model``, ``width``, ``height``, ``params``; this is what
:func:`write_colmap_rig` writes) or in a ``cameras.txt`` beside the JSON (``CAMERA_ID MODEL WIDTH
HEIGHT PARAMS...``). Models: SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV,
FULL_OPENCV, SIMPLE_RADIAL_FISHEYE, RADIAL_FISHEYE, OPENCV_FISHEYE.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from sensors.errors import InputError
from sensors.types import CameraModel

from ..rig import Rig, RigCamera
from ._common import check_writable_rig, load_json, vec, write_text

__all__ = ["read_colmap_rig", "write_colmap_rig"]


def _qvec_to_R(q_wxyz: np.ndarray) -> np.ndarray:
    w, x, y, z = q_wxyz / np.linalg.norm(q_wxyz)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def _R_to_qvec(R: np.ndarray) -> np.ndarray:
    # Shepperd's method, scalar-first as COLMAP writes it.
    t = np.trace(R)
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        q = [0.25 * s, (R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s]
    else:
        i = int(np.argmax(np.diag(R)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = math.sqrt(1.0 + R[i, i] - R[j, j] - R[k, k]) * 2
        q = [0.0, 0.0, 0.0, 0.0]
        q[0] = (R[k, j] - R[j, k]) / s
        q[1 + i] = 0.25 * s
        q[1 + j] = (R[j, i] + R[i, j]) / s
        q[1 + k] = (R[k, i] + R[i, k]) / s
    q = np.asarray(q)
    return q if q[0] >= 0 else -q


_COLMAP_MODELS = {
    # name: (n params, builder(params) -> (fx, fy, cx, cy, dist, model))
    "SIMPLE_PINHOLE": (3, lambda p: (p[0], p[0], p[1], p[2], [], "opencv_standard")),
    "PINHOLE": (4, lambda p: (p[0], p[1], p[2], p[3], [], "opencv_standard")),
    "SIMPLE_RADIAL": (4, lambda p: (p[0], p[0], p[1], p[2], [p[3]], "opencv_standard")),
    "RADIAL": (5, lambda p: (p[0], p[0], p[1], p[2], [p[3], p[4]], "opencv_standard")),
    "OPENCV": (8, lambda p: (p[0], p[1], p[2], p[3], list(p[4:8]), "opencv_standard")),
    "FULL_OPENCV": (12, lambda p: (p[0], p[1], p[2], p[3],
                                   [p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]],
                                   "opencv_standard")),
    "SIMPLE_RADIAL_FISHEYE": (4, lambda p: (p[0], p[0], p[1], p[2], [p[3]], "opencv_fisheye")),
    "RADIAL_FISHEYE": (5, lambda p: (p[0], p[0], p[1], p[2], [p[3], p[4]], "opencv_fisheye")),
    "OPENCV_FISHEYE": (8, lambda p: (p[0], p[1], p[2], p[3], list(p[4:8]), "opencv_fisheye")),
}


def _colmap_camera(model: str, width, height, params, where: str, src: str) -> CameraModel:
    model = str(model).upper()
    if model not in _COLMAP_MODELS:
        raise InputError(f"{where}: unsupported COLMAP camera model {model!r}; valid: "
                         + ", ".join(_COLMAP_MODELS), src)
    n, build = _COLMAP_MODELS[model]
    try:
        p = [float(x) for x in params]
        w, h = int(width), int(height)
    except (TypeError, ValueError):
        raise InputError(f"{where}: camera width/height/params must be numbers", src) from None
    if len(p) != n:
        raise InputError(f"{where}: COLMAP model {model} takes {n} params, got {len(p)}", src)
    if not all(math.isfinite(x) for x in p):
        raise InputError(f"{where}: camera params must be finite", src)
    fx, fy, cx, cy, dist, lens = build(p)
    if lens == "opencv_standard":
        dist = (list(dist) + [0.0] * 4)[: max(4, len(dist))]
    if w <= 0 or h <= 0:
        raise InputError(f"{where}: image size must be positive, got {w}x{h}", src)
    if fx <= 0 or fy <= 0:
        raise InputError(f"{where}: focal length must be positive", src)
    K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]])
    return CameraModel(K, dist, lens, (w, h), src, {"colmap_model": model})


def _read_cameras_txt(path: Path) -> dict[int, tuple[str, int, int, list[float]]]:
    out = {}
    for ln, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 5:
            raise InputError(f"line {ln}: expected CAMERA_ID MODEL WIDTH HEIGHT PARAMS...",
                             str(path))
        try:
            out[int(parts[0])] = (parts[1], int(parts[2]), int(parts[3]),
                                  [float(x) for x in parts[4:]])
        except ValueError:
            raise InputError(f"line {ln}: non-numeric camera entry", str(path)) from None
    return out


def read_colmap_rig(path: str | os.PathLike, _doc=None) -> Rig:
    """Read a COLMAP ``rig_config.json`` plus intrinsics (see the module docstring)."""
    src = str(path)
    doc = load_json(path) if _doc is None else _doc
    rigs = doc["rigs"] if isinstance(doc, dict) else doc
    if not isinstance(rigs, list) or not rigs or not isinstance(rigs[0], dict):
        raise InputError("expected a non-empty list of rigs", src)
    entries = rigs[0].get("cameras")
    if not isinstance(entries, list) or not entries:
        raise InputError("rig 0 has no 'cameras' list", src)
    txt = Path(path).with_name("cameras.txt")
    table = _read_cameras_txt(txt) if txt.exists() else {}
    ref_id = rigs[0].get("ref_camera_id")
    cams = []
    for k, e in enumerate(entries):
        if not isinstance(e, dict):
            raise InputError(f"camera {k}: expected an object", src)
        cid = e.get("camera_id", k + 1)
        name = str(e.get("image_prefix", f"cam{cid}")).strip("/").replace("/", "_") or f"cam{cid}"
        where = f"camera {name}"
        if "rel_qvec" in e:
            q = vec(e, "rel_qvec", 4, where, src)
            t = vec(e, "rel_tvec", 3, where, src) if "rel_tvec" in e else np.zeros(3)
        elif "cam_from_rig_rotation" in e:
            q = vec(e, "cam_from_rig_rotation", 4, where, src)
            t = (vec(e, "cam_from_rig_translation", 3, where, src)
                 if "cam_from_rig_translation" in e else np.zeros(3))
        elif e.get("ref_sensor") or (ref_id is not None and cid == ref_id):
            q, t = np.array([1.0, 0, 0, 0]), np.zeros(3)
        else:
            raise InputError(f"{where}: missing rel_qvec/rel_tvec (only the reference camera "
                             "may omit them)", src)
        if np.linalg.norm(q) < 1e-9:
            raise InputError(f"{where}: rotation quaternion is zero", src)
        R_cam_from_rig = _qvec_to_R(q)
        if "model" in e:
            cam = _colmap_camera(e["model"], e.get("width"), e.get("height"), e.get("params", []),
                                 where, src)
        elif cid in table:
            cam = _colmap_camera(*table[cid], where, str(txt))
        else:
            raise InputError(
                f"{where}: no intrinsics (give model/width/height/params in the entry or a "
                f"cameras.txt beside the rig with camera id {cid})", src)
        cams.append(RigCamera(name, cam, R_cam_from_rig.T, -R_cam_from_rig.T @ t,
                              str(e.get("group", ""))))
    return Rig(tuple(cams), src)



def _colmap_params(cam: CameraModel) -> tuple[str, list[float]]:
    K, d = cam.K, cam.dist
    fx, fy, cx, cy = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
    if cam.model == "opencv_fisheye":
        return "OPENCV_FISHEYE", [fx, fy, cx, cy] + [float(x) for x in d[:4]]
    dd = np.zeros(8)
    dd[: min(8, d.size)] = d[:8]
    if np.any(dd[4:] != 0):
        return "FULL_OPENCV", [fx, fy, cx, cy] + dd.tolist()
    return "OPENCV", [fx, fy, cx, cy] + dd[:4].tolist()


def write_colmap_rig(path: str | os.PathLike, rig: Rig, ref_index: int = 0) -> None:
    """Write ``rig`` as a COLMAP ``rig_config.json`` with inline intrinsics, and a
    ``cameras.txt`` beside it (both atomically).

    The rig frame is re-based on camera ``ref_index`` as COLMAP requires (the reference camera
    has identity ``cam_from_rig``); image prefixes are ``<id>``.
    """
    check_writable_rig(rig)
    if not 0 <= ref_index < len(rig):
        raise InputError(f"reference camera index {ref_index} out of range", str(path))
    ref = rig[ref_index]
    R_ref, p_ref = ref.R_rig_from_cam, ref.position_m
    entries, lines = [], ["# Camera list with one line of data per camera:",
                          "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]"]
    for k, c in enumerate(rig):
        # Camera pose in the reference camera's frame (COLMAP's rig frame).
        R_refrig_from_cam = R_ref.T @ c.R_rig_from_cam
        pos = R_ref.T @ (c.position_m - p_ref)
        R_cam_from_rig = R_refrig_from_cam.T
        t = -R_cam_from_rig @ pos
        model, params = _colmap_params(c.camera)
        e = {"camera_id": k + 1, "image_prefix": c.id}
        if k != ref_index:
            e["rel_qvec"] = _R_to_qvec(R_cam_from_rig).tolist()
            e["rel_tvec"] = t.tolist()
        e.update({"model": model, "width": c.size[0], "height": c.size[1], "params": params})
        if c.group:
            e["group"] = c.group
        entries.append(e)
        lines.append(f"{k + 1} {model} {c.size[0]} {c.size[1]} "
                     + " ".join(repr(float(x)) for x in params))
    doc = [{"ref_camera_id": ref_index + 1, "cameras": entries}]
    write_text(path, json.dumps(doc, indent=2) + "\n")
    write_text(Path(path).with_name("cameras.txt"), "\n".join(lines) + "\n")

