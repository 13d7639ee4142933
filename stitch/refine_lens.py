"""Lens geometry of the calibration refinement: rays through pixels under adjusted intrinsics.

The calibration refinement (``stitch.refine_calib``) adjusts each lens relative to the rig
file's nominal one by five numbers, ``LENS_PARAMS``:

- ``log_focal``: fx and fy scaled by ``exp(log_focal)`` (about the relative focal change),
- ``cx_px``, ``cy_px``: principal point shift in pixels,
- ``k1``, ``k2``: added to the first two distortion coefficients (radial polynomial in r^2 for
  ``opencv_standard``, in theta^2 for the equidistant ``opencv_fisheye``).

:func:`pixel_rays` inverts the lens exactly (Newton on the radius, or on the off-axis angle for
a fisheye), so the residuals the solver differentiates numerically are smooth functions of the
parameters.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from sensors.types import CameraModel

from .refine import rotation_matrix
from .rig import Rig

__all__ = ["LENS_PARAMS", "adjusted_camera", "pixel_rays", "pixel_rays_radius",
           "pixel_rays_lens_jacobian", "apply_calibration",
           "camera_angles_deg"]

#: The per-lens adjustments, in order (see the module docstring).
LENS_PARAMS = ("log_focal", "cx_px", "cy_px", "k1", "k2")

_NEWTON_STEPS = 12
_WARM_STEPS = 4


def adjusted_camera(cam: CameraModel, delta: np.ndarray) -> CameraModel:
    """The lens ``cam`` with the ``LENS_PARAMS`` adjustments ``delta`` (5,) applied."""
    d = np.asarray(delta, dtype=np.float64)
    K = cam.K.copy()
    s = math.exp(float(d[0]))
    K[0, 0] *= s
    K[0, 1] *= s
    K[1, 1] *= s
    K[0, 2] += d[1]
    K[1, 2] += d[2]
    dist = cam.dist.copy()
    if dist.size < 2:
        dist = np.concatenate([dist, np.zeros(2 - dist.size)])
    dist[0] += d[3]
    dist[1] += d[4]
    return CameraModel(K, dist, cam.model, cam.size, cam.source, cam.meta)


def _radial_only(cam: CameraModel) -> bool:
    k = cam.dist
    return cam.model == "opencv_fisheye" or not np.any(k[2:4]) and not np.any(k[5:])


def pixel_rays(cam: CameraModel, px: np.ndarray) -> np.ndarray:
    """Unit camera-frame rays (N, 3) through pixels (N, 2) of a lens (exact inversion).

    Radial-only rectilinear lenses and equidistant fisheyes are inverted by Newton's method on
    the radius (the angle); other rectilinear lenses by ``cv2.undistortPointsIter``.
    """
    return pixel_rays_radius(cam, px)[0]


def pixel_rays_radius(cam: CameraModel, px: np.ndarray, start: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`pixel_rays` and the solved undistorted radius (off-axis angle for a fisheye).

    ``start`` (that radius for a nearby lens) starts Newton's method close to the answer, so a
    few steps reach machine precision (the numerical derivatives of the calibration solve
    perturb one lens parameter at a time). The radius is None for lenses inverted by OpenCV.
    """
    px = np.asarray(px, dtype=np.float64).reshape(-1, 2)
    K = cam.K
    yd = (px[:, 1] - K[1, 2]) / K[1, 1]
    xd = (px[:, 0] - K[0, 2] - K[0, 1] * yd) / K[0, 0]
    rd = np.hypot(xd, yd)
    k = np.zeros(8)
    k[: min(8, cam.dist.size)] = cam.dist[:8]
    steps = _NEWTON_STEPS if start is None else _WARM_STEPS
    if cam.model == "opencv_fisheye":
        th = rd.copy() if start is None else start.copy()
        for _ in range(steps):
            t2 = th * th
            g = th * (1 + t2 * (k[0] + t2 * (k[1] + t2 * (k[2] + t2 * k[3])))) - rd
            dg = 1 + t2 * (3 * k[0] + t2 * (5 * k[1] + t2 * (7 * k[2] + t2 * 9 * k[3])))
            th = np.clip(th - g / np.where(np.abs(dg) > 1e-9, dg, 1e-9), 0.0, math.pi)
        s = np.where(rd > 1e-12, np.sin(th) / np.where(rd > 1e-12, rd, 1.0), 1.0)
        return np.column_stack([xd * s, yd * s, np.cos(th)]), th
    r = None
    if _radial_only(cam):
        r = rd.copy() if start is None else start.copy()
        for _ in range(steps):
            r2 = r * r
            g = r * (1 + r2 * (k[0] + r2 * (k[1] + r2 * k[4]))) - rd
            dg = 1 + r2 * (3 * k[0] + r2 * (5 * k[1] + r2 * 7 * k[4]))
            r = np.maximum(r - g / np.where(np.abs(dg) > 1e-9, dg, 1e-9), 0.0)
        s = np.where(rd > 1e-15, r / np.where(rd > 1e-15, rd, 1.0), 1.0)
        x, y = xd * s, yd * s
    else:
        crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 40, 1e-12)
        und = cv2.undistortPointsIter(px.reshape(-1, 1, 2), K, cam.dist, None, None, crit)
        x, y = und[:, 0, 0].astype(np.float64), und[:, 0, 1].astype(np.float64)
    rays = np.column_stack([x, y, np.ones_like(x)])
    return rays / np.linalg.norm(rays, axis=1, keepdims=True), r


def pixel_rays_lens_jacobian(cam: CameraModel, px: np.ndarray, radius: np.ndarray
                             ) -> np.ndarray | None:
    """Derivatives (N, 3, 5) of :func:`pixel_rays` by the ``LENS_PARAMS`` adjustments of
    ``cam`` (at zero adjustment), or None for lenses inverted by OpenCV.

    ``radius`` is the solved radius (angle) :func:`pixel_rays_radius` returned for these
    pixels. The inversion ``g(r) = r (1 + k1 r^2 + ...) = r_d`` is differentiated implicitly:
    ``dr = (d r_d - r^3 dk1 - r^5 dk2) / g'(r)``; the distorted coordinates move with the focal
    scale and the principal point. Central differences of :func:`pixel_rays` agree
    (``tests/test_stitch_calibrate.py``).
    """
    if radius is None:
        return None
    px = np.asarray(px, dtype=np.float64).reshape(-1, 2)
    K = cam.K
    fx, s, cx, fy, cy = K[0, 0], K[0, 1], K[0, 2], K[1, 1], K[1, 2]
    yd = (px[:, 1] - cy) / fy
    xd = (px[:, 0] - cx - s * yd) / fx
    rd = np.hypot(xd, yd)
    n = len(px)
    dxd = np.zeros((n, 5))
    dyd = np.zeros((n, 5))
    dxd[:, 0], dxd[:, 1], dxd[:, 2] = -xd, -1.0 / fx, s / (fx * fy)
    dyd[:, 0], dyd[:, 2] = -yd, -1.0 / fy
    safe = rd > 1e-12
    rds = np.where(safe, rd, 1.0)
    drd = np.where(safe[:, None], (xd[:, None] * dxd + yd[:, None] * dyd) / rds[:, None], 0.0)
    k = np.zeros(8)
    k[: min(8, cam.dist.size)] = cam.dist[:8]
    r = np.asarray(radius, dtype=np.float64)
    r2 = r * r
    if cam.model == "opencv_fisheye":
        dg = 1 + r2 * (3 * k[0] + r2 * (5 * k[1] + r2 * (7 * k[2] + r2 * 9 * k[3])))
    else:
        dg = 1 + r2 * (3 * k[0] + r2 * (5 * k[1] + r2 * 7 * k[4]))
    dg = np.where(np.abs(dg) > 1e-9, dg, 1e-9)
    dr = drd / dg[:, None]
    dr[:, 3] -= r * r2 / dg
    dr[:, 4] -= r * r2 * r2 / dg
    out = np.zeros((n, 3, 5))
    if cam.model == "opencv_fisheye":
        # ray = (x_d sin(t) / r_d, y_d sin(t) / r_d, cos(t)), t the off-axis angle
        a = np.where(safe, np.sin(r) / rds, 1.0)
        da = np.where(safe[:, None], (np.cos(r)[:, None] * dr * rd[:, None]
                                      - np.sin(r)[:, None] * drd) / (rds * rds)[:, None], 0.0)
        out[:, 0] = dxd * a[:, None] + xd[:, None] * da
        out[:, 1] = dyd * a[:, None] + yd[:, None] * da
        out[:, 2] = -np.sin(r)[:, None] * dr
        return out
    # ray = (x, y, 1) / |.|, (x, y) = (x_d, y_d) q with q = r / r_d
    q = np.where(safe, r / rds, 1.0)
    dq = np.where(safe[:, None], (dr - q[:, None] * drd) / rds[:, None], 0.0)
    x, y = xd * q, yd * q
    nv = np.sqrt(x * x + y * y + 1.0)
    ray = np.column_stack([x, y, np.ones_like(x)]) / nv[:, None]
    dv = np.zeros((n, 3, 5))
    dv[:, 0] = dxd * q[:, None] + xd[:, None] * dq
    dv[:, 1] = dyd * q[:, None] + yd[:, None] * dq
    P = (np.eye(3)[None] - ray[:, :, None] * ray[:, None, :]) / nv[:, None, None]
    return P @ dv


def apply_calibration(rig: Rig, rotvec_rad: np.ndarray, lens_delta: np.ndarray | None) -> Rig:
    """The rig with camera k rotated by ``R(rotvec_rad[k])`` (rig frame, ``R <- R(w) R``) and
    its lens adjusted by ``lens_delta[k]`` (``LENS_PARAMS``; None keeps every lens)."""
    cams = []
    for k, c in enumerate(rig):
        cam = c.camera if lens_delta is None else adjusted_camera(c.camera, lens_delta[k])
        R = rotation_matrix(rotvec_rad[k]) @ c.R_rig_from_cam
        # replace keeps the camera's kind (a scene distance, stitch.projection.SceneRigCamera)
        cams.append(dataclasses.replace(c, camera=cam, R_rig_from_cam=R))
    return Rig(tuple(cams), rig.source)


def camera_angles_deg(R_rig_from_cam: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch (up positive) and roll of a camera, degrees.

    ``R = R_y(yaw) R_x(pitch) R_z(roll)`` in the rig frame (x right, y down, z forward): yaw
    turns the optical axis about the vertical, pitch lifts it, roll turns the image about it.
    """
    R = np.asarray(R_rig_from_cam, dtype=np.float64)
    f = R[:, 2]
    yaw = math.atan2(f[0], f[2])
    pitch = math.atan2(-f[1], math.hypot(f[0], f[2]))
    cy, sy, cp, sp = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    M = (Ry @ Rx).T @ R
    roll = math.atan2(M[1, 0], M[0, 0])
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)
