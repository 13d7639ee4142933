"""Numpy references of the dual-fisheye warp's numba kernels (``_kernels``): the same
arithmetic, vectorised, so a test can hold the kernels to them."""

from __future__ import annotations

import math

import numpy as np

from ._kernels import EXIT_RAD

__all__ = ["field_at", "lens_points", "nodes_reference", "front_weight", "dense_reference",
           "blend_reference", "sample_blend_reference", "bilinear_reference"]


def field_at(field: np.ndarray, step: float, qu: np.ndarray, qv: np.ndarray) -> np.ndarray:
    """Bilinear seam field (..., 2) at stitch panorama points (u wraps, v clamped)."""
    gh, gw = field.shape[:2]
    x = qu / step
    y = np.clip(qv / step, 0.0, gh - 1.0)
    j0 = np.floor(x).astype(np.intp)
    a = (x - j0)[..., None]
    i0 = np.minimum(y.astype(np.intp), gh - 2)
    b = (y - i0)[..., None]
    j0 = np.mod(j0, gw)
    j1 = np.mod(j0 + 1, gw)
    return ((1 - b) * ((1 - a) * field[i0, j0] + a * field[i0, j1])
            + b * ((1 - a) * field[i0 + 1, j0] + a * field[i0 + 1, j1]))


def lens_points(d: np.ndarray, M: np.ndarray, lens: np.ndarray, R: np.ndarray,
                field: np.ndarray, step: float, pano_w: float, iterations: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame pixels (x, y) and off-axis angles of one lens for output directions d (..., 3)."""
    n = M.shape[0]
    f, cx, cy, k1 = lens[:4]
    row = np.full(d.shape[:-1], 0.5 * (n - 1))
    done = np.zeros(d.shape[:-1], bool)
    x = y = th = None
    for _ in range(iterations + 1):
        r = np.clip(row, 0.0, n - 1.0)
        r0 = np.minimum(r.astype(np.intp), n - 2)
        a = (r - r0)[..., None, None]
        Mr = (1 - a) * M[r0] + a * M[r0 + 1]
        s = np.einsum("...ij,...j->...i", Mr, d)
        qu = (0.5 + np.arctan2(s[..., 0], s[..., 2]) / (2 * math.pi)) * pano_w
        qv = (0.5 + np.arctan2(s[..., 1], np.hypot(s[..., 0], s[..., 2])) / math.pi) \
            * (0.5 * pano_w)
        dd = field_at(field, step, qu, qv)
        qu = qu + dd[..., 0]
        qv = qv + dd[..., 1]
        yaw = (qu / pano_w - 0.5) * 2 * math.pi
        pitch = (0.5 - qv / (0.5 * pano_w)) * math.pi
        e = np.stack([np.cos(pitch) * np.sin(yaw), -np.sin(pitch), np.cos(pitch) * np.cos(yaw)],
                     axis=-1)
        ray = e @ R  # R^T e for row vectors
        rho = np.hypot(ray[..., 0], ray[..., 1])
        th = np.arctan2(rho, ray[..., 2])
        rad = f * th * (1.0 + k1 * th * th)
        s_ = np.where(rho > 1e-12, rad / np.where(rho > 1e-12, rho, 1.0), 0.0)
        if x is None:
            x, y, t = cx + ray[..., 0] * s_, cy + ray[..., 1] * s_, th
        else:  # points that stopped iterating keep their values (``EXIT_RAD``)
            x = np.where(done, x, cx + ray[..., 0] * s_)
            y = np.where(done, y, cy + ray[..., 1] * s_)
            t = np.where(done, t, th)
        row = y
        done |= t - lens[4] > EXIT_RAD
    return x, y, t


def nodes_reference(us, vs, width, height, M, lenses, R0, R1, field0, field1, step, pano_w,
                    iterations) -> np.ndarray:
    """Numpy twin of ``_kernels._df_nodes``: (ny, nx, 6) = (x0, y0, x1, y1, e0, e1)."""
    U, V = np.meshgrid(np.asarray(us, np.float64), np.asarray(vs, np.float64))
    yaw = (U / width - 0.5) * 2 * math.pi
    pitch = (0.5 - V / height) * math.pi
    d = np.stack([np.cos(pitch) * np.sin(yaw), -np.sin(pitch), np.cos(pitch) * np.cos(yaw)],
                 axis=-1)
    x0, y0, t0 = lens_points(d, M, lenses[0], R0, field0, step, pano_w, iterations)
    x1, y1, t1 = lens_points(d, M, lenses[1], R1, field1, step, pano_w, iterations)
    return np.stack([x0, y0, x1, y1, lenses[0, 4] - t0, lenses[1, 4] - t1], axis=-1)


def front_weight(e0: np.ndarray, e1: np.ndarray) -> np.ndarray:
    """Numpy twin of ``_kernels._front_weight``."""
    both = (e0 > 0) & (e1 > 0)
    alone = np.where(e1 <= 0, np.where((e0 <= 0) & (e0 < e1), 0.0, 1.0), 0.0)
    return np.where(both, e0 / np.where(both, e0 + e1, 1.0), alone)


def dense_reference(nodes, node_du, node_dv, qu, qv, sx, sy, edges, far
                    ) -> tuple[np.ndarray, ...]:
    """Numpy twin of ``_kernels._df_dense``: (mx0, my0, mx1, my1, w0) float64 planes
    (interpolated down the node columns, then across, as the kernel does)."""
    ny, nx = nodes.shape[:2]
    y = np.asarray(qv, np.float64) / node_dv
    x = np.asarray(qu, np.float64) / node_du
    i0 = np.minimum(y.astype(np.intp), ny - 2)
    j0 = np.minimum(x.astype(np.intp), nx - 2)
    b = (y - i0)[:, None, None]
    a = (x - j0)[None, :, None]
    rows = (1 - b) * nodes[i0][..., :4] + b * nodes[i0 + 1][..., :4]  # (ph, nx, 4)
    n = (1 - a) * rows[:, j0] + a * rows[:, j0 + 1]
    corners = (nodes[i0][:, j0], nodes[i0][:, j0 + 1], nodes[i0 + 1][:, j0],
               nodes[i0 + 1][:, j0 + 1])
    e = []
    for k in (0, 1):
        ek = (edges[k, 2] - np.hypot(n[..., 2 * k] - edges[k, 0],
                                     n[..., 2 * k + 1] - edges[k, 1])) * (1.0 / edges[k, 3])
        nearest = np.max(np.stack([c[..., 4 + k] for c in corners]), axis=0)
        e.append(np.where(nearest < -far, -far, ek))
    return ((n[..., 0] + 0.5) * sx - 0.5, (n[..., 1] + 0.5) * sy - 0.5,
            (n[..., 2] + 0.5) * sx - 0.5, (n[..., 3] + 0.5) * sy - 0.5, front_weight(*e))


def blend_reference(a0, a1, w0, g0, g1, base, top) -> np.ndarray:
    """Numpy twin of ``_kernels._df_blend`` (float64 result, rounded and clipped)."""
    w = np.asarray(w0, np.float64)
    val = base + w * g0 * (a0 - base) + (1.0 - w) * g1 * (np.asarray(a1, np.float64) - base)
    return np.clip(np.floor(val + 0.5), 0.0, top)


def sample_blend_reference(nodes, node_du, node_dv, qu, qv, sx, sy, edges, far, src, g0, g1,
                           base, top) -> np.ndarray:
    """Numpy twin of ``_kernels._df_sample_blend`` for one plane (float64 result, rounded and
    clipped); the kernel's second plane is this of that plane."""
    mx0, my0, mx1, my1, w0 = dense_reference(nodes, node_du, node_dv, qu, qv, sx, sy, edges,
                                             far)
    a0 = bilinear_reference(src, mx0, my0)
    a1 = bilinear_reference(src, mx1, my1)
    return blend_reference(a0, a1, w0, g0, g1, base, top)


def bilinear_reference(src: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of a plane at (x, y), pixel centres at integers, edges replicated."""
    h, w = src.shape
    x = np.clip(x, 0.0, w - 1.0)
    y = np.clip(y, 0.0, h - 1.0)
    j0, i0 = x.astype(np.intp), y.astype(np.intp)
    j1, i1 = np.minimum(j0 + 1, w - 1), np.minimum(i0 + 1, h - 1)
    a, b = x - j0, y - i0
    s = src.astype(np.float64)
    return ((1 - b) * ((1 - a) * s[i0, j0] + a * s[i0, j1])
            + b * ((1 - a) * s[i1, j0] + a * s[i1, j1]))
