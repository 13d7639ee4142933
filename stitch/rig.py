"""Camera rigs: read Surround360 ``camera_rig.json`` and COLMAP ``rig_config.json``, write both
and a Hugin ``.pto`` for inspection.

The **rig frame** is the panorama's world frame (DESIGN.md "Panorama"): OpenCV-like, x right,
y down, z forward at yaw 0. Each camera carries ``R_rig_from_cam`` (camera axes are OpenCV: x
right, y down, z forward) and its centre ``position_m`` in that frame.

Surround360 (``surround360_render/res/config/camera_rig.json``): per camera ``origin`` in cm in a
z-up rig frame, unit ``right``/``up``/``forward`` vectors, ``focal [f, -f]`` in pixels per radian
(the second value is negative because image rows grow downwards), ``principal``, ``resolution``,
``type`` RECTILINEAR (pinhole) or FTHETA (equidistant fisheye, r = f theta), ``distortion
[k1, k2]`` (radial polynomial in r^2 for RECTILINEAR, in theta^2 for FTHETA) and an optional
``fov`` (half angle in radians beyond which pixels are invalid). The camera's OpenCV axes in the
rig are therefore (right, -up, forward), and the z-up rig frame maps to ours by
``x = -y_s360, y = -z_s360, z = x_s360`` (so a camera looking along +x_s360 sits at yaw 0).

COLMAP (``rig_config.json``): a list of rigs; the first is read. Each camera entry has
``camera_id``, ``image_prefix`` and for the non-reference cameras ``rel_qvec`` (w, x, y, z) and
``rel_tvec`` giving ``cam_from_rig`` (``X_cam = R X_rig + t``); the rig frame is the reference
camera's frame. The newer layout (``ref_sensor: true``, ``cam_from_rig_rotation`` [w, x, y, z],
``cam_from_rig_translation``) is read too. COLMAP keeps intrinsics elsewhere, so we accept them
either inline in each camera entry as COLMAP's own fields (``model``, ``width``, ``height``,
``params``; this is what :func:`write_colmap_rig` writes) or in a ``cameras.txt`` beside the JSON
(``CAMERA_ID MODEL WIDTH HEIGHT PARAMS...``). Models: SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL,
RADIAL, OPENCV, FULL_OPENCV, SIMPLE_RADIAL_FISHEYE, RADIAL_FISHEYE, OPENCV_FISHEYE.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sensors.atomic import atomic_output
from sensors.errors import InputError
from sensors.types import CameraModel

__all__ = [
    "RigCamera",
    "Rig",
    "read_rig",
    "read_surround360_rig",
    "read_colmap_rig",
    "write_surround360_rig",
    "write_colmap_rig",
    "write_pto",
    "R_RIG_FROM_S360",
]

#: Rotation taking Surround360's z-up rig coordinates into ours (x right, y down, z forward).
R_RIG_FROM_S360 = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


@dataclass(frozen=True, eq=False)
class RigCamera:
    """One camera of a rig.

    Parameters
    ----------
    id : str
        Name of the camera (Surround360 ``id`` / COLMAP image prefix); images are matched by it.
    camera : CameraModel
        Intrinsics and lens (``opencv_standard`` rectilinear, ``opencv_fisheye`` equidistant).
    R_rig_from_cam : (3, 3) float64
        Rotation from camera axes to the rig (panorama) frame.
    position_m : (3,) float64
        Camera centre in the rig frame, metres.
    group : str
        Lens group (cameras of one group share a lens design).
    fov_rad : float, optional
        Half angle from the optical axis beyond which pixels are invalid (circular fisheyes).
    """

    id: str
    camera: CameraModel
    R_rig_from_cam: np.ndarray
    position_m: np.ndarray = field(default_factory=lambda: np.zeros(3))
    group: str = ""
    fov_rad: float | None = None

    def __post_init__(self) -> None:
        R = np.ascontiguousarray(np.asarray(self.R_rig_from_cam, dtype=np.float64))
        src = self.camera.source
        if R.shape != (3, 3) or not np.all(np.isfinite(R)):
            raise InputError(f"camera {self.id}: rotation must be a finite 3x3 matrix", src)
        if np.abs(R.T @ R - np.eye(3)).max() > 1e-4 or np.linalg.det(R) < 0:
            raise InputError(
                f"camera {self.id}: rotation is not orthonormal and right-handed "
                "(check that right/up/forward are unit, orthogonal and right x down = forward)",
                src,
            )
        # Re-orthonormalise the tiny rounding that files carry (SVD keeps the nearest rotation).
        u, _, vt = np.linalg.svd(R)
        object.__setattr__(self, "R_rig_from_cam", u @ vt)
        p = np.asarray(self.position_m, dtype=np.float64).reshape(-1)
        if p.shape != (3,) or not np.all(np.isfinite(p)):
            raise InputError(f"camera {self.id}: position must be 3 finite numbers", src)
        object.__setattr__(self, "position_m", p)
        if self.fov_rad is not None and not (0 < float(self.fov_rad) <= math.pi):
            raise InputError(f"camera {self.id}: fov must be in (0, pi] radians", src)

    @property
    def size(self) -> tuple[int, int]:
        """Image (width, height) in pixels."""
        return self.camera.size

    def with_rotation(self, R_rig_from_cam: np.ndarray) -> RigCamera:
        """The same camera with another orientation."""
        return RigCamera(self.id, self.camera, R_rig_from_cam, self.position_m, self.group,
                         self.fov_rad)


@dataclass(frozen=True, eq=False)
class Rig:
    """An ordered set of cameras sharing one rig frame (see the module docstring).

    Parameters
    ----------
    cameras : tuple of RigCamera
        In image order.
    source : str, optional
        File the rig was read from.
    """

    cameras: tuple[RigCamera, ...]
    source: str | None = None

    def __post_init__(self) -> None:
        cams = tuple(self.cameras)
        if not cams:
            raise InputError("rig has no cameras", self.source)
        ids = [c.id for c in cams]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise InputError(f"rig has duplicated camera ids: {', '.join(dup)}", self.source)
        object.__setattr__(self, "cameras", cams)

    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self):
        return iter(self.cameras)

    def __getitem__(self, i: int) -> RigCamera:
        return self.cameras[i]

    @property
    def ids(self) -> list[str]:
        """Camera ids in order."""
        return [c.id for c in self.cameras]

    def rotations(self) -> np.ndarray:
        """(N, 3, 3) ``R_rig_from_cam`` of every camera."""
        return np.stack([c.R_rig_from_cam for c in self.cameras])

    def with_rotations(self, R_rig_from_cam: np.ndarray) -> Rig:
        """The same rig with new camera orientations ((N, 3, 3), in camera order)."""
        R = np.asarray(R_rig_from_cam, dtype=np.float64)
        if R.shape != (len(self), 3, 3):
            raise InputError(f"expected {len(self)} rotations, got shape {R.shape}", self.source)
        return Rig(tuple(c.with_rotation(r) for c, r in zip(self.cameras, R, strict=True)),
                   self.source)


# ---------------------------------------------------------------------------------------------
# reading


def read_rig(path: str | os.PathLike) -> Rig:
    """Read a rig file, detecting Surround360 or COLMAP layout from its content.

    Raises
    ------
    InputError
        Missing, unparsable or inconsistent file (one line naming the file and the problem).
    """
    doc = _load_json(path)
    if isinstance(doc, dict) and isinstance(doc.get("cameras"), list) and doc["cameras"] and all(
        isinstance(c, dict) and "forward" in c for c in doc["cameras"]
    ):
        return read_surround360_rig(path, _doc=doc)
    if isinstance(doc, list) or (isinstance(doc, dict) and "rigs" in doc):
        return read_colmap_rig(path, _doc=doc)
    raise InputError(
        "not a rig file: expected Surround360 camera_rig.json ({\"cameras\": [...]} with "
        "forward/up/right) or COLMAP rig_config.json (a list of rigs)",
        str(path),
    )


def _load_json(path: str | os.PathLike):
    p = Path(path)
    if not p.exists():
        raise InputError("rig file does not exist", str(p))
    if p.is_dir():
        raise InputError("rig path is a folder, expected a JSON file", str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read rig file ({exc.__class__.__name__})", str(p)) from None
    if not text.strip():
        raise InputError("rig file is empty", str(p))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"rig file is not valid JSON (line {exc.lineno}: {exc.msg})",
                         str(p)) from None


def _vec(entry: dict, key: str, n: int, where: str, src: str) -> np.ndarray:
    if key not in entry:
        raise InputError(f"{where}: missing '{key}'", src)
    try:
        v = np.asarray(entry[key], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"{where}: '{key}' must be a list of {n} numbers", src) from None
    if v.shape != (n,) or not np.all(np.isfinite(v)):
        raise InputError(f"{where}: '{key}' must be {n} finite numbers, got {entry[key]!r}", src)
    return v


def read_surround360_rig(path: str | os.PathLike, _doc=None) -> Rig:
    """Read a Surround360 ``camera_rig.json`` (see the module docstring for the conventions)."""
    src = str(path)
    doc = _load_json(path) if _doc is None else _doc
    if not isinstance(doc, dict) or not isinstance(doc.get("cameras"), list):
        raise InputError("expected {\"cameras\": [...]}", src)
    cams = []
    for k, c in enumerate(doc["cameras"]):
        if not isinstance(c, dict):
            raise InputError(f"camera {k}: expected an object", src)
        cid = str(c.get("id", f"cam{k}"))
        where = f"camera {cid}"
        right = _vec(c, "right", 3, where, src)
        up = _vec(c, "up", 3, where, src)
        fwd = _vec(c, "forward", 3, where, src)
        for name, v in (("right", right), ("up", up), ("forward", fwd)):
            if abs(np.linalg.norm(v) - 1) > 1e-3:
                raise InputError(f"{where}: '{name}' is not a unit vector", src)
        origin_cm = _vec(c, "origin", 3, where, src)
        focal = _vec(c, "focal", 2, where, src)
        principal = _vec(c, "principal", 2, where, src)
        res = _vec(c, "resolution", 2, where, src)
        dist = _vec(c, "distortion", 2, where, src) if "distortion" in c else np.zeros(2)
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
    doc = _load_json(path) if _doc is None else _doc
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
            q = _vec(e, "rel_qvec", 4, where, src)
            t = _vec(e, "rel_tvec", 3, where, src) if "rel_tvec" in e else np.zeros(3)
        elif "cam_from_rig_rotation" in e:
            q = _vec(e, "cam_from_rig_rotation", 4, where, src)
            t = (_vec(e, "cam_from_rig_translation", 3, where, src)
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


# ---------------------------------------------------------------------------------------------
# writing


def _check_writable_rig(rig: Rig) -> None:
    if not isinstance(rig, Rig) or len(rig) == 0:
        raise InputError("expected a non-empty Rig")


def write_surround360_rig(path: str | os.PathLike, rig: Rig) -> None:
    """Write ``rig`` as a Surround360 ``camera_rig.json`` (atomically).

    Only lenses Surround360 can express are accepted: ``opencv_standard`` with radial k1, k2
    (no tangential or higher terms) and ``opencv_fisheye`` with k1, k2 (k3 = k4 = 0), and square
    pixels without skew.
    """
    _check_writable_rig(rig)
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
    _write_text(path, json.dumps({"cameras": out}, indent=2) + "\n")


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
    _check_writable_rig(rig)
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
    _write_text(path, json.dumps(doc, indent=2) + "\n")
    _write_text(Path(path).with_name("cameras.txt"), "\n".join(lines) + "\n")


def _write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_output(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def hugin_angles(R_rig_from_cam: np.ndarray) -> tuple[float, float, float]:
    """Hugin yaw, pitch, roll (degrees) of a camera orientation in our rig frame.

    ``R = R_y(yaw) R_x(pitch) R_z(roll)`` in our axes (y down): yaw turns right, pitch looks up,
    roll turns the image about its optical axis (positive = the scene turns clockwise in the
    image, Hugin's sense). Written for inspection in Hugin; the sign of roll follows Hugin's
    documented behaviour that positive roll rotates the image clockwise in the panorama.
    """
    R = np.asarray(R_rig_from_cam, dtype=np.float64)
    f = R[:, 2]
    yaw = math.atan2(f[0], f[2])
    pitch = -math.atan2(f[1], math.hypot(f[0], f[2]))
    cy, sy = math.cos(yaw), math.sin(yaw)
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    # In our y-down axes a rotation by +pitch about x tilts the optical axis up.
    cp, sp = math.cos(pitch), math.sin(pitch)
    Rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    Rz = (Ry @ Rx).T @ R
    roll = math.atan2(Rz[1, 0], Rz[0, 0])
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def write_pto(path: str | os.PathLike, rig: Rig, image_paths: Sequence[str | os.PathLike],
              width_px: int = 3072) -> None:
    """Write a Hugin project (``.pto``) of the rig, to open a stitch in Hugin.

    An equirectangular p-line (360 x 180 degrees, ``width_px`` x ``width_px / 2``), one i-line
    per camera with lens type (``f0`` rectilinear, ``f3`` full-frame fisheye), horizontal field
    of view ``v``, ``y``/``p``/``r`` from :func:`hugin_angles`, size and file name. Hugin's radial
    polynomial ``r_src = (a r^3 + b r^2 + c r + d) r`` (r normalised to half the shorter side)
    only approximates OpenCV distortion: ``b`` and the field of view are matched to k1 (see
    the comment in the code); higher and tangential terms are dropped. Lens shift ``d``/``e``
    comes from the principal point.
    Checked against Hugin 2022's ``nona`` on rotated (yaw/pitch/roll) and distorted cameras:
    layers agree to ~0.5 px, the half pixel being Hugin's panorama pixel convention (yaw 0 at
    column (W - 1) / 2, where ours puts it at W / 2).
    """
    _check_writable_rig(rig)
    if len(image_paths) != len(rig):
        raise InputError(f"{len(rig)} cameras but {len(image_paths)} image names", str(path))
    H = width_px // 2
    lines = ["# hugin project file written by steadyrig (for inspection)",
             f'p f2 w{int(width_px)} h{H} v360 E0 R0 n"TIFF_m c:LZW"',
             "m i0", ""]
    for c, img in zip(rig, image_paths, strict=True):
        cam = c.camera
        w, h = cam.size
        f = float(cam.K[0, 0])
        # Hugin: r_src = ((1 - b) rho + b rho^3) with rho the ideal radius over half the shorter
        # side; ours: r_src = f (t + k1 t^3) (t = tan or angle). Matching both terms gives a
        # Hugin focal f_H = f / (1 - b) and b / (1 - b)^3 = k1 (s / f)^2 (solved by iteration).
        half = min(w, h) / 2
        k1 = float(cam.dist[0]) if cam.dist.size else 0.0
        b = 0.0
        for _ in range(50):
            b = k1 * (half / f) ** 2 * (1 - b) ** 3
        f_h = f / (1 - b)
        if cam.model == "opencv_fisheye":
            lens, hfov = 3, math.degrees(w / f_h)
        else:
            lens, hfov = 0, math.degrees(2 * math.atan(w / (2 * f_h)))
        yaw, pitch, roll = hugin_angles(c.R_rig_from_cam)
        dx = float(cam.K[0, 2]) - (w - 1) / 2
        dy = float(cam.K[1, 2]) - (h - 1) / 2
        lines.append(
            f"i w{w} h{h} f{lens} v{hfov:.6f} Ra0 Rb0 Rc0 Rd0 Re0 Eev0 Er1 Eb1 "
            f"r{roll:.6f} p{pitch:.6f} y{yaw:.6f} TrX0 TrY0 TrZ0 Tpy0 Tpp0 j0 "
            f"a0 b{b:.8f} c0 d{dx:.4f} e{dy:.4f} g0 t0 Va1 Vb0 Vc0 Vd0 Vx0 Vy0 Vm5 "
            f'n"{Path(img).as_posix()}"'
        )
    lines += ["", "# optimisation targets", "v", ""]
    _write_text(path, "\n".join(lines) + "\n")
