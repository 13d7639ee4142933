"""The equidistant fisheye lens with one radial term (the lens of dual-fisheye 360 cameras).

A lens maps a camera-frame ray at angle ``theta`` off its axis and azimuth ``phi`` to the pixel

    r = f (theta + k1 theta^3),   (x, y) = (cx, cy) + r (cos phi, sin phi)

(OpenCV's fisheye model with k2 = k3 = k4 = 0). Camera axes: docs/architecture.md "Camera axes".
Unlike ``sensors.camera``'s ``opencv_fisheye`` (which goes through the pinhole plane) this form
holds past 90 degrees off the axis, as a 190-200 degree lens needs.

Examples
--------
>>> lens = FisheyeLens(100.0, 160.0, 120.0, k1=0.0, fov_rad=np.radians(95))
>>> px, th = rays_to_pixels(np.array([1.0, 0.0, 0.0]), lens.f_px, lens.cx_px, lens.cy_px, 0.0)
>>> [round(float(v), 3) for v in px], round(float(np.degrees(th)), 1)
([317.08, 120.0], 90.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["FisheyeLens", "R_BACK", "pixels_to_rays", "rays_to_pixels", "rotation_matrix",
           "theta_of"]

#: Nominal orientation of a back-to-back second lens: a half turn about the (downward) y axis,
#: so both lenses keep the frame's "up".
R_BACK = np.diag([-1.0, 1.0, -1.0])


@dataclass(frozen=True)
class FisheyeLens:
    """One lens: focal ``f_px`` (px per radian), centre, radial term ``k1`` and the half angle
    ``fov_rad`` of its usable disc, in full-frame pixels."""

    f_px: float
    cx_px: float
    cy_px: float
    k1: float = 0.0
    fov_rad: float = math.radians(95.0)

    def radius_px(self, theta_rad: float | np.ndarray) -> float | np.ndarray:
        """Image radius of rays ``theta_rad`` off the axis."""
        t = np.asarray(theta_rad, dtype=np.float64)
        return self.f_px * t * (1.0 + self.k1 * t * t)

    def theta_rad(self, radius_px: float | np.ndarray) -> np.ndarray:
        """Off-axis angle of image radius ``radius_px`` (Newton on the odd polynomial)."""
        return theta_of(np.asarray(radius_px, dtype=np.float64) / self.f_px, self.k1)


def theta_of(theta_d: np.ndarray, k1) -> np.ndarray:
    """Off-axis angle whose ``theta + k1 theta^3`` is ``theta_d`` (Newton)."""
    t = theta_d.copy()
    for _ in range(8):
        t = t - (t * (1.0 + k1 * t * t) - theta_d) / (1.0 + 3.0 * k1 * t * t)
    return t


def rotation_matrix(rotvec: np.ndarray) -> np.ndarray:
    """Rodrigues: the rotation of a rotation vector (radians)."""
    w = np.asarray(rotvec, dtype=np.float64)
    a = float(np.linalg.norm(w))
    if a < 1e-12:
        return np.eye(3)
    k = w / a
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(a) * K + (1 - math.cos(a)) * (K @ K)


def rays_to_pixels(rays: np.ndarray, f_px, cx_px, cy_px, k1) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (..., 2) of camera-frame rays (..., 3) and their off-axis angle (...)."""
    x, y, z = rays[..., 0], rays[..., 1], rays[..., 2]
    rho = np.hypot(x, y)
    th = np.arctan2(rho, z)
    r = f_px * th * (1.0 + k1 * th * th)
    s = np.where(rho > 1e-12, r / np.where(rho > 1e-12, rho, 1.0), f_px)
    return np.stack([cx_px + x * s, cy_px + y * s], axis=-1), th


def pixels_to_rays(px: np.ndarray, f_px, cx_px, cy_px, k1) -> np.ndarray:
    """Unit camera-frame rays (..., 3) of pixels (..., 2)."""
    dx, dy = px[..., 0] - cx_px, px[..., 1] - cy_px
    r = np.hypot(dx, dy)
    th = theta_of(r / f_px, k1)
    s = np.where(r > 1e-12, np.sin(th) / np.where(r > 1e-12, r, 1.0), 1.0 / f_px)
    return np.stack([dx * s, dy * s, np.cos(th)], axis=-1)
