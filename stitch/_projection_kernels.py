"""Numba kernel of the panorama -> camera lookup. Private: call ``stitch.projection``.

``_pano_to_camera`` computes, per panorama coordinate, the source pixel and its validity in one
pass without numpy temporaries; ``_pano_grid_to_camera`` does the same over a grid of columns
and rows (a layer), with the trigonometry of each column and row done once. Their plain numpy
reference is ``stitch.projection._source_pixels_reference``;
``tests/test_stitch_projection.py`` holds them together.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, fastmath=False)
def _scene_ray(dx, dy, dz, c, ground_inv):
    """The rig-frame view direction (not normalised) of panorama direction d from camera centre
    ``c``: d itself at infinity, or ``X - c`` for the ground point X = d / (d_y ground_inv)."""
    if ground_inv > 0.0 and dy > 0.0:
        t = 1.0 / (dy * ground_inv)
        return dx * t - c[0], dy * t - c[1], dz * t - c[2]
    return dx, dy, dz


@njit(cache=True, fastmath=False)
def _camera_pixel(dx, dy, dz, R, K, dist, fisheye, w, h, use_cos_limit, cos_limit, r_max2):
    """Source pixel (px, py) and validity of the rig-frame direction (dx, dy, dz)."""
    fx, skew, cx = K[0, 0], K[0, 1], K[0, 2]
    fy, cy = K[1, 1], K[1, 2]
    # Camera ray R^T d.
    rx = R[0, 0] * dx + R[1, 0] * dy + R[2, 0] * dz
    ry = R[0, 1] * dx + R[1, 1] * dy + R[2, 1] * dz
    rz = R[0, 2] * dx + R[1, 2] * dy + R[2, 2] * dz
    good = True
    if use_cos_limit:
        n = math.sqrt(rx * rx + ry * ry + rz * rz)
        if rz / n < cos_limit:
            good = False
    if fisheye:
        r = math.hypot(rx, ry)
        th = math.atan2(r, rz)
        th2 = th * th
        thd = th * (1 + th2 * (dist[0] + th2 * (dist[1] + th2 * (dist[2] + th2 * dist[3]))))
        s = thd / r if r > 1e-12 else 0.0
        xd = rx * s
        yd = ry * s
    else:
        if rz <= 1e-9:
            good = False
            xd = 0.0
            yd = 0.0
        else:
            x = rx / rz
            y = ry / rz
            r2 = x * x + y * y
            if r2 >= r_max2:
                good = False
            k1, k2, p1, p2, k3, k4, k5, k6 = (dist[0], dist[1], dist[2], dist[3], dist[4],
                                              dist[5], dist[6], dist[7])
            radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2
                                                                                    * k6)))
            xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
            yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    px = fx * xd + skew * yd + cx
    py = fy * yd + cy
    if not (px >= -0.5 and px <= w - 0.5 and py >= -0.5 and py <= h - 0.5):
        good = False
    return px, py, good


@njit(cache=True, fastmath=False)
def _pano_to_camera(u, v, W, R, K, dist, fisheye, w, h, use_cos_limit, cos_limit, r_max2,
                    c, ground_inv, mx, my, ok):
    """Fill ``mx, my`` (float32, -1 where invalid) and ``ok`` (bool) for flat ``u, v``.

    ``R`` is ``R_rig_from_cam``; ``dist`` holds 8 OpenCV coefficients (k1 k2 p1 p2 k3 k4 k5 k6)
    for the standard model or k1..k4 (padded) for the fisheye; ``r_max2`` bounds the squared
    undistorted radius of the standard model (inf when its distortion never folds);
    ``cos_limit`` the off-axis angle (fov / fisheye limit) when ``use_cos_limit``. With
    ``ground_inv`` > 0 directions below the horizon are points of a ground plane ``1 /
    ground_inv`` below the rig centre, which the camera at ``c`` sees along ``X - c``.
    """
    H = W // 2
    two_pi = 2.0 * math.pi
    for i in range(u.shape[0]):
        yaw = (u[i] / W - 0.5) * two_pi
        pitch = (0.5 - v[i] / H) * math.pi
        cp = math.cos(pitch)
        dx, dy, dz = _scene_ray(cp * math.sin(yaw), -math.sin(pitch), cp * math.cos(yaw), c,
                                ground_inv)
        px, py, good = _camera_pixel(dx, dy, dz, R, K, dist, fisheye, w, h, use_cos_limit,
                                     cos_limit, r_max2)
        ok[i] = good
        if good:
            mx[i] = px
            my[i] = py
        else:
            mx[i] = -1.0
            my[i] = -1.0


@njit(cache=True, fastmath=False)
def _pano_grid_to_camera(u, v, W, R, K, dist, fisheye, w, h, use_cos_limit, cos_limit, r_max2,
                         c, ground_inv, mx, my, ok):
    """:func:`_pano_to_camera` over the grid of columns ``u`` (n_u,) and rows ``v`` (n_v,):
    fills ``mx, my, ok`` of shape (n_v, n_u). The trigonometry of a column or a row is done
    once, not per pixel."""
    H = W // 2
    two_pi = 2.0 * math.pi
    n_u = u.shape[0]
    su = np.empty(n_u)
    cu = np.empty(n_u)
    for i in range(n_u):
        yaw = (u[i] / W - 0.5) * two_pi
        su[i] = math.sin(yaw)
        cu[i] = math.cos(yaw)
    for j in range(v.shape[0]):
        pitch = (0.5 - v[j] / H) * math.pi
        cp = math.cos(pitch)
        sp = math.sin(pitch)
        for i in range(n_u):
            dx, dy, dz = _scene_ray(cp * su[i], -sp, cp * cu[i], c, ground_inv)
            px, py, good = _camera_pixel(dx, dy, dz, R, K, dist, fisheye, w, h, use_cos_limit,
                                         cos_limit, r_max2)
            ok[j, i] = good
            if good:
                mx[j, i] = px
                my[j, i] = py
            else:
                mx[j, i] = -1.0
                my[j, i] = -1.0
