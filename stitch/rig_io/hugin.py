"""Hugin ``.pto`` projects of a rig, to inspect a stitch in Hugin (written, not read)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sensors.errors import InputError

from ..rig import Rig
from ._common import check_writable_rig, write_text

__all__ = ["hugin_angles", "write_pto"]


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
