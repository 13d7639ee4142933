"""Numba kernels of the sphere warp (private; ``stabilize.sphere_warp`` validates and calls them,
holds their numpy references, and tests/test_sphere_warp.py ties the two together).

Built ahead of time too (``stabilize.warmup.SPHERE``): everything a kernel calls lives in this
module, whose source stamps that build.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _source_uv(uo, vo, M, width, height, v_guess, iterations):
    """Source equirect point (continuous u in [0, W), v in [0, H]) of the continuous output
    point ``(uo, vo)``; each source row has its own rotation ``M[row]`` (rows at pixel centres,
    linear between them) and the row is found by fixed-point iteration from ``v_guess``."""
    yaw = (uo / width - 0.5) * 2.0 * math.pi
    pitch = (0.5 - vo / height) * math.pi
    cp = math.cos(pitch)
    return _source_uv_dir(cp * math.sin(yaw), -math.sin(pitch), cp * math.cos(yaw), M, width,
                          height, v_guess, iterations)


@njit(cache=True, nogil=True)
def _source_uv_dir(dx, dy, dz, M, width, height, v_guess, iterations):
    """``_source_uv`` of the output direction ``(dx, dy, dz)``."""
    two_pi = 2.0 * math.pi
    n_rows = M.shape[0]
    v = v_guess
    u = 0.0
    for _ in range(iterations + 1):
        r = v - 0.5
        if r < 0.0:
            r = 0.0
        if r > n_rows - 1.0:
            r = n_rows - 1.0
        r0 = int(r)
        if r0 > n_rows - 2:
            r0 = n_rows - 2
        a = r - r0
        b = 1.0 - a
        sx = 0.0
        sy = 0.0
        sz = 0.0
        for k in range(3):
            m0 = b * M[r0, 0, k] + a * M[r0 + 1, 0, k]
            m1 = b * M[r0, 1, k] + a * M[r0 + 1, 1, k]
            m2 = b * M[r0, 2, k] + a * M[r0 + 1, 2, k]
            c = dx if k == 0 else (dy if k == 1 else dz)
            sx += m0 * c
            sy += m1 * c
            sz += m2 * c
        u = (0.5 + math.atan2(sx, sz) / two_pi) * width
        if u >= width:
            u -= width
        elif u < 0.0:
            u += width
        v = (0.5 + math.atan2(sy, math.hypot(sx, sz)) / math.pi) * height
    return u, v


@njit(cache=True, nogil=True)
def _sphere_vertices(us, vs, M, width, height, iterations, out):
    """Source points (ny, nx, 2) of the output grid ``us`` x ``vs`` (continuous coordinates)."""
    for i in range(vs.shape[0]):
        for j in range(us.shape[0]):
            u, v = _source_uv(us[j], vs[i], M, width, height, vs[i], iterations)
            out[i, j, 0] = u
            out[i, j, 1] = v


@njit(cache=True, nogil=True)
def _bilinear(corners, i, j, a, b):
    w00 = (1.0 - a) * (1.0 - b)
    w01 = (1.0 - a) * b
    w10 = a * (1.0 - b)
    w11 = a * b
    u = (w00 * corners[i, j, 0, 0] + w01 * corners[i, j, 1, 0] + w10 * corners[i, j, 2, 0]
         + w11 * corners[i, j, 3, 0])
    v = (w00 * corners[i, j, 0, 1] + w01 * corners[i, j, 1, 1] + w10 * corners[i, j, 2, 1]
         + w11 * corners[i, j, 3, 1])
    return u, v


@njit(cache=True, nogil=True)
def _sphere_refine(bad, corners, sub, us, vs, M, width, height, iterations, vert):
    """Exact source points of the fine grid (``sub`` fine cells per coarse cell and axis; fine
    nodes ``us``, ``vs``) at the corners of every fine cell inside a ``bad`` coarse cell, each
    starting from the source row its coarse cell interpolates (``corners``)."""
    for i in range(bad.shape[0]):
        for j in range(bad.shape[1]):
            if not bad[i, j]:
                continue
            for fi in range(i * sub, (i + 1) * sub + 1):
                a = (fi - i * sub) / sub
                for fj in range(j * sub, (j + 1) * sub + 1):
                    _, vg = _bilinear(corners, i, j, a, (fj - j * sub) / sub)
                    u, v = _source_uv(us[fj], vs[fi], M, width, height, vg, iterations)
                    vert[fi, fj, 0] = u
                    vert[fi, fj, 1] = v


@njit(cache=True, nogil=True)
def _sphere_cells(vert, us, vs, M, width, height, iterations, tol, active, corners, exact):
    """Per ``active`` cell: its corners' source u unwrapped next to the first corner's
    (ny-1, nx-1, 4, 2), and whether bilinear interpolation is not good enough there (a seam
    swing near a pole, or a bilinear estimate of the cell centre off the exact point by more
    than ``tol`` px of arc: an error along u counts cos(latitude) times, at least a quarter).
    Inactive cells are left as they are."""
    half = 0.5 * width
    for i in range(vs.shape[0] - 1):
        for j in range(us.shape[0] - 1):
            if not active[i, j]:
                continue
            u00 = vert[i, j, 0]
            spread = 0.0
            for k in range(4):
                ii = i + k // 2
                jj = j + k % 2
                du = vert[ii, jj, 0] - u00
                if du >= half:
                    du -= width
                elif du < -half:
                    du += width
                corners[i, j, k, 0] = u00 + du
                corners[i, j, k, 1] = vert[ii, jj, 1]
                if abs(du) > spread:
                    spread = abs(du)
            uc = 0.25 * (corners[i, j, 0, 0] + corners[i, j, 1, 0] + corners[i, j, 2, 0]
                         + corners[i, j, 3, 0])
            vc = 0.25 * (corners[i, j, 0, 1] + corners[i, j, 1, 1] + corners[i, j, 2, 1]
                         + corners[i, j, 3, 1])
            ue, ve = _source_uv(0.5 * (us[j] + us[j + 1]), 0.5 * (vs[i] + vs[i + 1]), M, width,
                                height, vc, iterations)
            de = ue - uc
            while de >= half:
                de -= width
            while de < -half:
                de += width
            # an error along u is an arc of cos(latitude) as long (floored near the poles)
            arc = max(math.sin(math.pi * min(max(ve / height, 0.0), 1.0)), 0.05)
            exact[i, j] = (spread > 0.125 * width or abs(de) * arc > tol or abs(ve - vc) > tol)


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _sphere_maps(corners, bad, fcorners, fexact, seg, bx, fjx, fbx, iy, ay, fiy, fay, col_dir,
                 row_dir, M, width, height, iterations, scale_x, scale_y, pad, mx, my):
    """Remap maps of one plane. Query columns ``seg[j] <= x < seg[j + 1]`` lie in coarse cell
    column ``j`` (weight ``bx``; fine cell ``fjx`` and weight ``fbx``), query rows in coarse
    cell row ``iy`` (weight ``ay``; fine ``fiy``, ``fay``). A point is interpolated in its
    coarse cell, or where that is ``bad`` in its fine cell, or where that is ``fexact`` too,
    mapped exactly from its output direction (``cos(pitch) * (sin(yaw), cos(yaw))``, with
    ``col_dir`` (x, 2) the (sin, cos) of each column's yaw and ``row_dir`` (y, 2) of each row's
    pitch). The result is in the plane's pixels: ``u * scale_x - 0.5`` wrapped into the plane
    width, ``v * scale_y - 0.5 + pad`` (rows of padding above the plane)."""
    plane_w = width * scale_x
    for y in range(iy.shape[0]):
        i = iy[y]
        a = ay[y]
        fi = fiy[y]
        fa = fay[y]
        for j in range(seg.shape[0] - 1):
            x0 = np.uint64(seg[j])
            n = np.uint64(seg[j + 1]) - x0
            if not bad[i, j]:
                # linear along the row inside the cell: the inner loop vectorises
                uL = ((1.0 - a) * corners[i, j, 0, 0] + a * corners[i, j, 2, 0]) * scale_x - 0.5
                uR = ((1.0 - a) * corners[i, j, 1, 0] + a * corners[i, j, 3, 0]) * scale_x - 0.5
                vL = ((1.0 - a) * corners[i, j, 0, 1] + a * corners[i, j, 2, 1]) * scale_y \
                    - 0.5 + pad
                vR = ((1.0 - a) * corners[i, j, 1, 1] + a * corners[i, j, 3, 1]) * scale_y \
                    - 0.5 + pad
                du = uR - uL
                dv = vR - vL
                for t in range(n):
                    x = x0 + t
                    px = uL + du * bx[x]
                    px = px - plane_w if px >= plane_w - 0.5 else px
                    px = px + plane_w if px < -0.5 else px
                    mx[y, x] = px
                    my[y, x] = vL + dv * bx[x]
                continue
            for t in range(n):
                x = x0 + t
                fj = fjx[x]
                u, v = _bilinear(fcorners, fi, fj, fa, fbx[x])
                if fexact[fi, fj]:
                    cp = row_dir[y, 1]
                    u, v = _source_uv_dir(cp * col_dir[x, 0], -row_dir[y, 0], cp * col_dir[x, 1],
                                          M, width, height, v, iterations)
                px = u * scale_x - 0.5
                if px >= plane_w - 0.5:
                    px -= plane_w
                elif px < -0.5:
                    px += plane_w
                mx[y, x] = px
                my[y, x] = v * scale_y - 0.5 + pad
