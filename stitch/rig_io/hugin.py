"""Hugin ``.pto`` projects: write a rig's project to inspect a stitch in Hugin, and read a
project (Hugin's or PTGui's ``.pto`` export) as a rig and its images.

Conventions shared by both directions: ``y``/``p``/``r`` as in :func:`hugin_angles`; the lens
shift ``d``/``e`` is the principal point's offset from the image centre ``((w - 1) / 2,
(h - 1) / 2)``; Hugin's radial polynomial ``r_src = (a r^3 + b r^2 + c r + (1 - a - b - c)) r``
(``r`` the ideal radius over half the shorter side) maps to OpenCV's radial k1, k2 (exactly
for ``b`` alone, by a least-squares fit over the image's radii otherwise).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensors.errors import InputError
from sensors.types import CameraModel

from ..rig import Rig, RigCamera
from ._common import check_writable_rig, write_text

__all__ = ["hugin_angles", "hugin_rotation", "write_pto", "PtoProject", "read_pto",
           "PTO_PROJECTIONS"]


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
    check_writable_rig(rig)
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
    write_text(path, "\n".join(lines) + "\n")


def hugin_rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """``R_rig_from_cam`` of Hugin's yaw, pitch, roll (the inverse of :func:`hugin_angles`)."""
    y, p, r = (math.radians(float(a)) for a in (yaw_deg, pitch_deg, roll_deg))
    Ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    Rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    Rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return Ry @ Rx @ Rz


#: Hugin image projections (``f`` of an i-line) by number; the rig model reads 0, 2 and 3.
PTO_PROJECTIONS = {0: "rectilinear", 1: "panoramic (cylindrical)", 2: "circular fisheye",
                   3: "full-frame fisheye", 4: "equirectangular", 8: "orthographic fisheye",
                   10: "stereographic fisheye", 19: "equisolid fisheye", 20: "Thoby fisheye"}
_SUPPORTED = {0: "opencv_standard", 2: "opencv_fisheye", 3: "opencv_fisheye"}
_TOKEN = re.compile(r'n"[^"]*"|\S+')
_KEY = re.compile(r"([A-Za-z]+)(.*)")


@dataclass(frozen=True, eq=False)
class PtoProject:
    """A Hugin project read as a rig: ``rig`` (one camera per image, ids from the file names),
    ``image_paths`` (resolved against the project's folder) and the p-line's ``width_px``."""

    rig: Rig
    image_paths: list[Path]
    width_px: int | None


def _parse_line(line: str) -> dict[str, str]:
    out = {}
    for tok in _TOKEN.findall(line[1:]):
        if tok.startswith('n"'):
            out["n"] = tok[2:-1]
            continue
        m = _KEY.fullmatch(tok)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _number(entries: list[dict], k: int, key: str, default: float | None, src: str,
            seen: tuple = ()) -> float:
    raw = entries[k].get(key)
    if raw is None or raw == "":
        if default is None:
            raise InputError(f"image {k}: missing '{key}'", src)
        return float(default)
    if raw.startswith("="):
        try:
            ref = int(raw[1:])
        except ValueError:
            raise InputError(f"image {k}: bad back-reference {key}{raw}", src) from None
        if not 0 <= ref < len(entries) or ref in seen or ref == k:
            raise InputError(f"image {k}: back-reference {key}{raw} names no other image", src)
        return _number(entries, ref, key, default, src, (*seen, k))
    try:
        v = float(raw)
    except ValueError:
        raise InputError(f"image {k}: '{key}' is not a number ({raw!r})", src) from None
    if not math.isfinite(v):
        raise InputError(f"image {k}: '{key}' must be finite", src)
    return v


def _fit_odd(f_h: float, half: float, abc: tuple[float, float, float], t_max: float
             ) -> tuple[float, list[float]]:
    """OpenCV focal and radial k1, k2 matching Hugin's polynomial over ``t`` in [0, t_max].

    Two terms keep every project's lenses writable as a Surround360 rig (``--save-rig``); on a
    typical lens the fit stays within a tenth of a pixel.
    """
    a, b, c = abc
    if a == 0.0 and c == 0.0:  # exact (the writer's case)
        f = f_h * (1 - b)
        return f, [b * f_h**3 / (half * half * f), 0.0]
    t = np.linspace(0.0, t_max, 400)[1:]
    rho = f_h * t / half
    r_src = half * rho * (a * rho**3 + b * rho**2 + c * rho + (1 - a - b - c))
    cols = np.column_stack([t, t**3, t**5])
    scale = np.abs(cols).max(axis=0)
    coef, *_ = np.linalg.lstsq(cols / scale, r_src, rcond=None)
    coef = coef / scale
    return float(coef[0]), [float(x / coef[0]) for x in coef[1:]]


def read_pto(path: str | os.PathLike, check_images: bool = True) -> PtoProject:
    """Read a Hugin ``.pto`` project (or PTGui's ``.pto`` export) as a rig and its images.

    Parameters
    ----------
    path : path
        The project. Each ``i`` (or PTGui ``o``, with its ``#-imgfile W H "name"`` comment)
        line is one camera: size ``w``/``h``,
        projection ``f`` (0 rectilinear, 2/3 fisheye; others are refused by name), field of
        view ``v``, distortion ``a``/``b``/``c``, shift ``d``/``e``, circular crop ``S``
        (fisheyes: the lens's field of view stops at the crop circle), ``y``/``p``/``r`` and the
        file ``n"..."``; ``v=0``-style back-references take image 0's value.
    check_images : bool
        Refuse a project whose images do not exist.

    Returns
    -------
    PtoProject

    Raises
    ------
    InputError
        Missing or unreadable project, no images, missing images, unsupported projections or
        malformed values (one line naming the file and the problem).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from stitch.rig_io.hugin import read_pto
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     pto = Path(tmp) / "p.pto"
    ...     _ = pto.write_text('p f2 w2000 h1000 v360\\n'
    ...                        'i w640 h480 f0 v90 y0 p0 r0 a0 b0 c0 d0 e0 n"a.jpg"\\n'
    ...                        'i w640 h480 f0 v=0 y90 p0 r0 a0 b0 c0 d0 e0 n"b.jpg"\\n')
    ...     proj = read_pto(pto, check_images=False)
    >>> proj.rig.ids, round(float(proj.rig[1].camera.K[0, 0]), 3), proj.width_px
    (['a', 'b'], 320.0, 2000)
    """
    p = Path(path)
    src = str(p)
    if not p.exists():
        raise InputError("project file does not exist", src)
    if p.is_dir():
        raise InputError("project path is a folder, expected a .pto file", src)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read project ({exc.__class__.__name__})", src) from None
    entries, width, imgfiles = [], None, []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#-imgfile"):
            # PTGui: '#-imgfile W H "name"' gives the size and file its 'o' lines leave out.
            m = re.match(r'#-imgfile\s+(\d+)\s+(\d+)\s+"([^"]*)"', line)
            if m:
                imgfiles.append({"w": m.group(1), "h": m.group(2), "n": m.group(3)})
        elif line.startswith(("i ", "o ")):
            entry = _parse_line(line)
            if line.startswith("o ") and len(imgfiles) > len(entries):
                entry = {**imgfiles[len(entries)], **entry}
            entries.append(entry)
        elif line.startswith("p ") and width is None:
            w = _parse_line(line).get("w")
            width = int(float(w)) if w and not w.startswith("=") else None
    if not entries:
        raise InputError("no images in the project (no 'i' lines): not a Hugin project?", src)
    cams, paths, ids = [], [], []
    for k in range(len(entries)):
        proj = int(_number(entries, k, "f", 0, src))
        if proj not in _SUPPORTED:
            name = PTO_PROJECTIONS.get(proj, f"number {proj}")
            raise InputError(f"image {k}: {name} projection (f{proj}) is not supported; the "
                             "rig model reads rectilinear (f0) and fisheye (f2, f3) images", src)
        w, h = int(_number(entries, k, "w", None, src)), int(_number(entries, k, "h", None, src))
        if w <= 0 or h <= 0:
            raise InputError(f"image {k}: size must be positive, got {w}x{h}", src)
        v = _number(entries, k, "v", None, src)
        if not 0 < v < (360 if proj else 180):
            raise InputError(f"image {k}: field of view v{v:g} out of range", src)
        half = min(w, h) / 2
        abc = tuple(_number(entries, k, key, 0.0, src) for key in ("a", "b", "c"))
        if proj == 0:
            f_h = (w / 2) / math.tan(math.radians(v) / 2)
            t_max = math.hypot(w, h) / 2 / f_h
        else:
            f_h = w / math.radians(v)
            t_max = min(math.hypot(w, h) / 2 / f_h, math.radians(175))
        f, ks = _fit_odd(f_h, half, abc, t_max)
        if not f > 0:
            raise InputError(f"image {k}: distortion a/b/c leave no positive focal length", src)
        ks = [0.0 if abs(x) < 1e-12 else x for x in ks]
        cx = (w - 1) / 2 + _number(entries, k, "d", 0.0, src)
        cy = (h - 1) / 2 + _number(entries, k, "e", 0.0, src)
        K = np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])
        model = _SUPPORTED[proj]
        dist = [ks[0], ks[1], 0.0, 0.0] if proj == 0 else [ks[0], ks[1], 0.0, 0.0]
        name = entries[k].get("n")
        if not name:
            raise InputError(f"image {k}: no file name (n\"...\")", src)
        img = Path(name)
        img = img if img.is_absolute() else p.parent / img
        if check_images and not img.is_file():
            raise InputError(f"image {k}: {name} does not exist", src)
        fov = None
        crop = entries[k].get("S")
        if proj in (2, 3) and crop and not crop.startswith("="):
            try:
                left, right, top, bottom = (float(x) for x in crop.split(","))
            except ValueError:
                raise InputError(f"image {k}: crop S{crop} must be left,right,top,bottom",
                                 src) from None
            radius = min(right - left, bottom - top) / 2
            off = math.hypot((left + right) / 2 - cx, (top + bottom) / 2 - cy)
            if radius - off > 0:
                fov = min((radius - off) / f, math.pi)
        R = hugin_rotation(*(_number(entries, k, key, 0.0, src) for key in ("y", "p", "r")))
        cid = img.stem or f"cam{k}"
        if cid in ids:
            cid = f"{cid}_{k}"
        ids.append(cid)
        cams.append(RigCamera(cid, CameraModel(K, dist, model, (w, h), src, {"pto_f": proj}),
                              R, fov_rad=fov))
        paths.append(img)
    return PtoProject(Rig(tuple(cams), src), paths, width)
