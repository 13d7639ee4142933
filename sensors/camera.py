"""Lens models: projection of camera-frame rays to pixels and back.

Axes: docs/architecture.md "Camera axes".

Two OpenCV models: ``opencv_standard`` (radial-tangential ``k1, k2, p1, p2[, k3[, k4, k5, k6]]``)
and ``opencv_fisheye`` (equidistant with ``k1..k4``). Both are written out in numpy so they
vectorise over any leading shape; the inverse uses Newton iterations on the radial term.
Gyroflow lens-profile JSON loading lives in ``sensors.lens_profile``.
"""

from __future__ import annotations

import numpy as np

from .types import CameraModel

__all__ = ["project", "unproject", "distort_normalized", "undistort_normalized"]


def distort_normalized(cam: CameraModel, xy: np.ndarray) -> np.ndarray:
    """Apply lens distortion to normalized pinhole coordinates ``(x/z, y/z)`` (..., 2)."""
    xy = np.asarray(xy, dtype=np.float64)
    x = xy[..., 0]
    y = xy[..., 1]
    d = cam.dist
    if cam.model == "opencv_fisheye":
        r = np.hypot(x, y)
        th = np.arctan(r)
        th2 = th * th
        thd = th * (1 + th2 * (d[0] + th2 * (d[1] + th2 * (d[2] + th2 * d[3]))))
        s = np.where(r > 1e-12, thd / np.where(r > 1e-12, r, 1.0), 1.0)
        return np.stack([x * s, y * s], axis=-1)
    k = np.zeros(8)
    k[: min(8, d.size)] = d[:8]
    k1, k2, p1, p2, k3, k4, k5, k6 = k
    r2 = x * x + y * y
    radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.stack([xd, yd], axis=-1)


def undistort_normalized(cam: CameraModel, xyd: np.ndarray, iterations: int = 20) -> np.ndarray:
    """Invert ``distort_normalized`` (fixed-point / Newton iterations)."""
    xyd = np.asarray(xyd, dtype=np.float64)
    d = cam.dist
    if cam.model == "opencv_fisheye":
        rd = np.hypot(xyd[..., 0], xyd[..., 1])
        th = np.clip(rd, 0, np.pi / 2 * 0.999)
        for _ in range(iterations):
            th2 = th * th
            f = th * (1 + th2 * (d[0] + th2 * (d[1] + th2 * (d[2] + th2 * d[3])))) - rd
            df = 1 + th2 * (3 * d[0] + th2 * (5 * d[1] + th2 * (7 * d[2] + th2 * 9 * d[3])))
            th = np.clip(th - f / df, 0, np.pi / 2 * 0.999)
        r = np.tan(th)
        s = np.where(rd > 1e-12, r / np.where(rd > 1e-12, rd, 1.0), 1.0)
        return xyd * s[..., None]
    # Newton iterations with a finite-difference 2x2 Jacobian: the plain fixed-point update
    # (divide by the radial factor) stalls far off axis on wide lenses.
    xy = xyd / _radial(cam, xyd)[..., None]
    eps = 1e-7
    for _ in range(iterations):
        cur = distort_normalized(cam, xy)
        err = cur - xyd
        if np.all(np.abs(err[np.isfinite(err)]) < 1e-13):
            break
        jx = (distort_normalized(cam, xy + [eps, 0.0]) - cur) / eps
        jy = (distort_normalized(cam, xy + [0.0, eps]) - cur) / eps
        a, c = jx[..., 0], jx[..., 1]
        b, d = jy[..., 0], jy[..., 1]
        det = a * d - b * c
        det = np.where(np.abs(det) < 1e-12, 1e-12, det)
        dx = (d * err[..., 0] - b * err[..., 1]) / det
        dy = (-c * err[..., 0] + a * err[..., 1]) / det
        xy = xy - np.stack([dx, dy], axis=-1)
    return xy


def _radial(cam: CameraModel, xy: np.ndarray) -> np.ndarray:
    k = np.zeros(8)
    k[: min(8, cam.dist.size)] = cam.dist[:8]
    r2 = xy[..., 0] ** 2 + xy[..., 1] ** 2
    num = 1 + r2 * (k[0] + r2 * (k[1] + r2 * k[4]))
    den = 1 + r2 * (k[5] + r2 * (k[6] + r2 * k[7]))
    return np.maximum(num / den, 0.2)


def project(cam: CameraModel, rays_cam: np.ndarray) -> np.ndarray:
    """Pixels (..., 2) of camera-frame rays (..., 3) (z forward); NaN for rays behind the lens.

    For the fisheye model rays up to 90 degrees off axis project; beyond that they are NaN too.
    """
    v = np.asarray(rays_cam, dtype=np.float64)
    z = v[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = v[..., :2] / z[..., None]
    valid = z > 1e-9
    xy = np.where(valid[..., None], xy, np.nan)
    xyd = distort_normalized(cam, xy)
    K = cam.K
    u = K[0, 0] * xyd[..., 0] + K[0, 1] * xyd[..., 1] + K[0, 2]
    w = K[1, 1] * xyd[..., 1] + K[1, 2]
    return np.stack([u, w], axis=-1)


def unproject(cam: CameraModel, px: np.ndarray) -> np.ndarray:
    """Unit camera-frame rays (..., 3) through pixels (..., 2)."""
    px = np.asarray(px, dtype=np.float64)
    K = cam.K
    yd = (px[..., 1] - K[1, 2]) / K[1, 1]
    xd = (px[..., 0] - K[0, 2] - K[0, 1] * yd) / K[0, 0]
    xy = undistort_normalized(cam, np.stack([xd, yd], axis=-1))
    rays = np.concatenate([xy, np.ones(xy.shape[:-1] + (1,))], axis=-1)
    return rays / np.linalg.norm(rays, axis=-1, keepdims=True)
