"""Numba kernels of the stabilizer (private; see ``stabilize.synthesis`` for the checked API).

Each kernel has a plain numpy reference in the public module and a parity test. The same
functions are also built ahead of time (``stabilize.warmup.STABILIZE``, ``sensors.aot``); a
kernel must keep everything it calls in this module, whose source stamps that build.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _distort(x, y, dist, fisheye):
    if fisheye:
        r = np.sqrt(x * x + y * y)
        th = np.arctan(r)
        th2 = th * th
        thd = th * (1 + th2 * (dist[0] + th2 * (dist[1] + th2 * (dist[2] + th2 * dist[3]))))
        s = thd / r if r > 1e-12 else 1.0
        return x * s, y * s
    k1, k2, p1, p2, k3, k4, k5, k6 = (dist[0], dist[1], dist[2], dist[3], dist[4], dist[5],
                                      dist[6], dist[7])
    r2 = x * x + y * y
    radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return xd, yd


@njit(cache=True)
def _band_at(y, band_rows, band_quat, band_K, R, K):
    """Fill R (3x3, cam->world) and K at row ``y`` by blending the two nearest bands."""
    B = band_rows.shape[0]
    pos = (y - band_rows[0]) / (band_rows[1] - band_rows[0])
    if pos < 0.0:
        pos = 0.0
    if pos > B - 1.0:
        pos = B - 1.0
    i0 = int(pos)
    if i0 > B - 2:
        i0 = B - 2
    a = pos - i0
    qx = (1 - a) * band_quat[i0, 0] + a * band_quat[i0 + 1, 0]
    qy = (1 - a) * band_quat[i0, 1] + a * band_quat[i0 + 1, 1]
    qz = (1 - a) * band_quat[i0, 2] + a * band_quat[i0 + 1, 2]
    qw = (1 - a) * band_quat[i0, 3] + a * band_quat[i0 + 1, 3]
    n = np.sqrt(qx * qx + qy * qy + qz * qz + qw * qw)
    qx /= n
    qy /= n
    qz /= n
    qw /= n
    R[0, 0] = 1 - 2 * (qy * qy + qz * qz)
    R[0, 1] = 2 * (qx * qy - qz * qw)
    R[0, 2] = 2 * (qx * qz + qy * qw)
    R[1, 0] = 2 * (qx * qy + qz * qw)
    R[1, 1] = 1 - 2 * (qx * qx + qz * qz)
    R[1, 2] = 2 * (qy * qz - qx * qw)
    R[2, 0] = 2 * (qx * qz - qy * qw)
    R[2, 1] = 2 * (qy * qz + qx * qw)
    R[2, 2] = 1 - 2 * (qx * qx + qy * qy)
    for i in range(3):
        for j in range(3):
            K[i, j] = (1 - a) * band_K[i0, i, j] + a * band_K[i0 + 1, i, j]


@njit(cache=True, nogil=True)
def _map_vertices(world, band_rows, band_quat, band_K, dist, fisheye, iterations, out):
    """Source pixel of each world ray (M, 3), with its own row time (fixed point on the row)."""
    M = world.shape[0]
    R = np.empty((3, 3))
    K = np.empty((3, 3))
    y0 = 0.5 * (band_rows[0] + band_rows[-1])
    for m in range(M):
        y = y0
        u = np.nan
        v = np.nan
        for _ in range(iterations + 1):
            _band_at(y, band_rows, band_quat, band_K, R, K)
            # ray in the source camera: R^T world
            cx = R[0, 0] * world[m, 0] + R[1, 0] * world[m, 1] + R[2, 0] * world[m, 2]
            cy = R[0, 1] * world[m, 0] + R[1, 1] * world[m, 1] + R[2, 1] * world[m, 2]
            cz = R[0, 2] * world[m, 0] + R[1, 2] * world[m, 1] + R[2, 2] * world[m, 2]
            if cz <= 1e-9:
                u = np.nan
                v = np.nan
                break
            xd, yd = _distort(cx / cz, cy / cz, dist, fisheye)
            u = K[0, 0] * xd + K[0, 1] * yd + K[0, 2]
            v = K[1, 1] * yd + K[1, 2]
            y = v
        out[m, 0] = u
        out[m, 1] = v


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _densify(v, seg, bx, iy, ay, sx, ox, sy, oy, mx, my):
    """Separable bilinear densification of a vertex map (ny, nx, 2) into maps (H, W).

    Columns ``seg[k] <= x < seg[k + 1]`` lie between vertex columns k and k + 1 (weight
    ``bx[x]``); the result is ``u * sx + ox`` and ``v * sy + oy`` (chroma pixels from luma
    ones: 4:2:0 halves both axes, 4:2:2 only x).
    """
    H = iy.shape[0]
    nx = v.shape[1]
    for y in range(H):
        i = iy[y]
        a = ay[y]
        b = np.float32(1.0) - a
        for k in range(nx - 1):
            u0 = (v[i, k, 0] * b + v[i + 1, k, 0] * a) * sx + ox
            u1 = (v[i, k + 1, 0] * b + v[i + 1, k + 1, 0] * a) * sx + ox
            v0 = (v[i, k, 1] * b + v[i + 1, k, 1] * a) * sy + oy
            v1 = (v[i, k + 1, 1] * b + v[i + 1, k + 1, 1] * a) * sy + oy
            du = u1 - u0
            dv = v1 - v0
            # unsigned column indices: numba wraps negative indices per element, which makes
            # LLVM gather and scatter instead of streaming (8x slower here)
            x0 = np.uint64(seg[k])
            for t in range(np.uint64(seg[k + 1]) - x0):
                x = x0 + t
                mx[y, x] = u0 + du * bx[x]
                my[y, x] = v0 + dv * bx[x]
