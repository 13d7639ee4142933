"""Numba kernels of the dual-fisheye warp (private; ``stabilize.dual_fisheye.warp`` validates
and calls them, ``stabilize.dual_fisheye.reference`` holds their numpy twins, and
tests/test_dual_fisheye_warp.py ties the two together).

Conventions (docs/architecture.md "360 video"): output points are continuous equirect
coordinates (pixel centres at +0.5, ``sphere_warp``'s), lens pixels are frame pixels (centres at
integers), the seam field lives on the stitch panorama of width ``pano_w`` (centres at integers,
``stitch.projection``'s) sampled every ``field_step`` px, u periodic.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: A lens point this far (radians) outside its usable disc after an evaluation is not iterated
#: further: no sample near it is weighted (``FAR_RAD`` in ``warp``, plus a node cell).
EXIT_RAD = 0.5


@njit(cache=True, nogil=True)
def _field_at(field, step, qu, qv):
    """Bilinear sample (dx, dy) of a seam field (gh, gw, 2) at stitch panorama point (qu, qv);
    u wraps, v is clamped to the field."""
    gh, gw = field.shape[0], field.shape[1]
    x = qu / step
    y = qv / step
    if y < 0.0:
        y = 0.0
    if y > gh - 1.0:
        y = gh - 1.0
    j0 = int(math.floor(x))
    a = x - j0
    i0 = int(y)
    if i0 > gh - 2:
        i0 = gh - 2
    b = y - i0
    j0 = j0 % gw
    j1 = (j0 + 1) % gw
    dx = ((1 - b) * ((1 - a) * field[i0, j0, 0] + a * field[i0, j1, 0])
          + b * ((1 - a) * field[i0 + 1, j0, 0] + a * field[i0 + 1, j1, 0]))
    dy = ((1 - b) * ((1 - a) * field[i0, j0, 1] + a * field[i0, j1, 1])
          + b * ((1 - a) * field[i0 + 1, j0, 1] + a * field[i0 + 1, j1, 1]))
    return dx, dy


@njit(cache=True, nogil=True)
def _lens_point(dx, dy, dz, M, lens, R, field, step, pano_w, iterations):
    """Frame pixel (x, y) and off-axis angle of lens ``lens`` (f, cx, cy, k1, fov) showing the
    output direction (dx, dy, dz): the camera direction ``M[row] d`` at the time of the row the
    pixel lies on (fixed-point iteration from the middle row), moved by the seam field in the
    stitch panorama, turned into the lens (``R``: rig from lens)."""
    n_rows = M.shape[0]
    two_pi = 2.0 * math.pi
    f, cx, cy, k1 = lens[0], lens[1], lens[2], lens[3]
    row = 0.5 * (n_rows - 1)
    x = cx
    y = cy
    th = 0.0
    for _ in range(iterations + 1):
        r = row
        if r < 0.0:
            r = 0.0
        if r > n_rows - 1.0:
            r = n_rows - 1.0
        r0 = int(r)
        if r0 > n_rows - 2:
            r0 = n_rows - 2
        a = r - r0
        b = 1.0 - a
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for k in range(3):
            c = dx if k == 0 else (dy if k == 1 else dz)
            s0 += (b * M[r0, 0, k] + a * M[r0 + 1, 0, k]) * c
            s1 += (b * M[r0, 1, k] + a * M[r0 + 1, 1, k]) * c
            s2 += (b * M[r0, 2, k] + a * M[r0 + 1, 2, k]) * c
        # the stitch panorama point of the camera direction, moved by the seam field
        rxz = math.sqrt(s0 * s0 + s2 * s2)
        yaw = math.atan2(s0, s2)
        pitch = math.atan2(s1, rxz)
        ddx, ddy = _field_at(field, step, (0.5 + yaw / two_pi) * pano_w,
                             (0.5 + pitch / math.pi) * (0.5 * pano_w))
        # its direction: the camera direction turned by the field's angles (du along the
        # panorama's rows, dv down its columns), by the angle sums; no trigonometry where the
        # field is zero (away from the overlap ring)
        norm = math.sqrt(rxz * rxz + s1 * s1)
        if rxz > 0.0:
            sin_yaw, cos_yaw = s0 / rxz, s2 / rxz
        else:
            sin_yaw, cos_yaw = math.sin(yaw), math.cos(yaw)
        sin_p, cos_p = s1 / norm, rxz / norm
        if ddx != 0.0:
            du = ddx * two_pi / pano_w
            sin_du, cos_du = math.sin(du), math.cos(du)
            sin_yaw, cos_yaw = (sin_yaw * cos_du + cos_yaw * sin_du,
                                cos_yaw * cos_du - sin_yaw * sin_du)
        if ddy != 0.0:
            dv = ddy * two_pi / pano_w
            sin_dv, cos_dv = math.sin(dv), math.cos(dv)
            sin_p, cos_p = sin_p * cos_dv + cos_p * sin_dv, cos_p * cos_dv - sin_p * sin_dv
        e0 = cos_p * sin_yaw
        e1 = sin_p
        e2 = cos_p * cos_yaw
        # into the lens: R^T e
        l0 = R[0, 0] * e0 + R[1, 0] * e1 + R[2, 0] * e2
        l1 = R[0, 1] * e0 + R[1, 1] * e1 + R[2, 1] * e2
        l2 = R[0, 2] * e0 + R[1, 2] * e1 + R[2, 2] * e2
        rho = math.sqrt(l0 * l0 + l1 * l1)
        th = math.atan2(rho, l2)
        rad = f * th * (1.0 + k1 * th * th)
        if rho > 1e-12:
            x = cx + l0 * rad / rho
            y = cy + l1 * rad / rho
        else:
            x = cx
            y = cy
        row = y
        if th - lens[4] > EXIT_RAD:
            break  # far outside the disc: weighted zero, its pixel needs no precision
    return x, y, th


@njit(cache=True, nogil=True)
def _df_nodes(us, vs, width, height, M, lenses, R0, R1, field0, field1, step, pano_w,
              iterations, out):
    """Both lenses' frame pixels and angles inside their usable discs at every output grid
    node: ``out[i, j] = (x0, y0, x1, y1, e0, e1)`` (``e_k = fov_k - theta_k``, radians)."""
    for i in range(vs.shape[0]):
        pitch = (0.5 - vs[i] / height) * math.pi
        cp = math.cos(pitch)
        sp = math.sin(pitch)
        for j in range(us.shape[0]):
            yaw = (us[j] / width - 0.5) * 2.0 * math.pi
            dx = cp * math.sin(yaw)
            dy = -sp
            dz = cp * math.cos(yaw)
            x0, y0, t0 = _lens_point(dx, dy, dz, M, lenses[0], R0, field0, step, pano_w,
                                     iterations)
            x1, y1, t1 = _lens_point(dx, dy, dz, M, lenses[1], R1, field1, step, pano_w,
                                     iterations)
            out[i, j, 0] = x0
            out[i, j, 1] = y0
            out[i, j, 2] = x1
            out[i, j, 3] = y1
            out[i, j, 4] = lenses[0, 4] - t0
            out[i, j, 5] = lenses[1, 4] - t1


@njit(cache=True, nogil=True)
def _front_weight(e0, e1):
    """Blend weight of the front lens from both lenses' angles inside their discs: ``e0 / (e0 +
    e1)`` where both see, the one that sees alone, and where neither does, the nearer."""
    if e0 <= 0.0 and e1 <= 0.0:
        return 1.0 if e0 >= e1 else 0.0
    if e1 <= 0.0:
        return 1.0
    if e0 <= 0.0:
        return 0.0
    return e0 / (e0 + e1)


@njit(cache=True, nogil=True)
def _node_columns(qu, node_du, nx):
    """Per plane column, the node grid's column left of it and the fraction towards the next."""
    pw = qu.shape[0]
    cols = np.empty(pw, np.int64)
    fr = np.empty(pw)
    for j in range(pw):
        x = qu[j] / node_du
        j0 = int(x)
        if j0 > nx - 2:
            j0 = nx - 2
        cols[j] = j0
        fr[j] = x - j0
    return cols, fr


#: Node cell modes of an interpolated node row (``_node_row``): both lenses weighted per
#: sample, or the front (back) lens alone with weight exactly 1 (0) over the whole cell.
MODE_BOTH, MODE_FRONT, MODE_BACK = 0, 1, 2
#: Margin (px) by which a cell's ends must lie inside a disc for all of its samples to: the
#: distance from the disc's centre is convex along the cell, rounding adds ~1e-12 px.
_INSIDE_PX = 1e-6


@njit(cache=True, nogil=True)
def _inside(x, y, disc, k):
    """Whether lens pixel (x, y) lies inside lens k's usable disc by ``_INSIDE_PX``."""
    return (math.sqrt((x - disc[k, 0]) * (x - disc[k, 0]) + (y - disc[k, 1]) * (y - disc[k, 1]))
            < disc[k, 2] - _INSIDE_PX)


@njit(cache=True, nogil=True)
def _outside(x0, y0, x1, y1, disc, k):
    """Whether the segment (x0, y0) - (x1, y1) lies outside lens k's usable disc by
    ``_INSIDE_PX``: its nearest point to the disc's centre does."""
    cx, cy = disc[k, 0], disc[k, 1]
    ux, uy = x1 - x0, y1 - y0
    uu = ux * ux + uy * uy
    t = 0.0
    if uu > 0.0:
        t = min(max(((cx - x0) * ux + (cy - y0) * uy) / uu, 0.0), 1.0)
    px, py = x0 + t * ux - cx, y0 + t * uy - cy
    return math.sqrt(px * px + py * py) > disc[k, 2] + _INSIDE_PX


@njit(cache=True, nogil=True)
def _node_row(nodes, i0, b, far, disc, row, far0, far1, mode):
    """The node grid between node rows ``i0`` and ``i0 + 1`` at fraction ``b``: ``row[j] =
    (x0, y0, x1, y1)`` interpolated down each node column, and per node cell whether all four of
    its corners lie more than ``far`` radians outside lens 0's (``far0``) and lens 1's
    (``far1``) disc, and its mode. Bilinear interpolation is separable: a plane row then only
    interpolates across, and its node cells' figures are computed once per row, not once per
    sample. A cell is ``MODE_FRONT`` where the back lens does not see any of its samples (far,
    or the cell's segment of the row outside its disc) and both ends of the segment lie inside
    the front lens's disc, so every sample between does (the distance is convex along it):
    there the front lens's weight is exactly 1 (``_front_weight``); ``MODE_BACK`` the other
    way round."""
    nx = nodes.shape[1]
    for j in range(nx):
        for k in range(4):
            row[j, k] = (1 - b) * nodes[i0, j, k] + b * nodes[i0 + 1, j, k]
    in0 = _inside(row[0, 0], row[0, 1], disc, 0)
    in1 = _inside(row[0, 2], row[0, 3], disc, 1)
    for j in range(nx - 1):
        far0[j] = (nodes[i0, j, 4] < -far and nodes[i0, j + 1, 4] < -far
                   and nodes[i0 + 1, j, 4] < -far and nodes[i0 + 1, j + 1, 4] < -far)
        far1[j] = (nodes[i0, j, 5] < -far and nodes[i0, j + 1, 5] < -far
                   and nodes[i0 + 1, j, 5] < -far and nodes[i0 + 1, j + 1, 5] < -far)
        next0 = _inside(row[j + 1, 0], row[j + 1, 1], disc, 0)
        next1 = _inside(row[j + 1, 2], row[j + 1, 3], disc, 1)
        mode[j] = MODE_BOTH
        if in0 and next0 and (far1[j] or _outside(row[j, 2], row[j, 3], row[j + 1, 2],
                                                  row[j + 1, 3], disc, 1)):
            mode[j] = MODE_FRONT
        elif in1 and next1 and (far0[j] or _outside(row[j, 0], row[j, 1], row[j + 1, 0],
                                                    row[j + 1, 1], disc, 0)):
            mode[j] = MODE_BACK
        in0, in1 = next0, next1


@njit(cache=True, nogil=True)
def _row_sample(row, far0, far1, j0, a, disc, far):
    """Both lenses' pixels at fraction ``a`` of node cell ``j0`` of an interpolated node row
    (``_node_row``), and the front lens's blend weight from how far inside each disc they land
    (``disc[k] = (cx, cy, edge radius, radians per px at the edge)``; see ``_df_dense``)."""
    x0 = (1 - a) * row[j0, 0] + a * row[j0 + 1, 0]
    y0 = (1 - a) * row[j0, 1] + a * row[j0 + 1, 1]
    x1 = (1 - a) * row[j0, 2] + a * row[j0 + 1, 2]
    y1 = (1 - a) * row[j0, 3] + a * row[j0 + 1, 3]
    if far0[j0]:
        e0 = -far
    else:
        e0 = (disc[0, 2] - math.sqrt((x0 - disc[0, 0]) * (x0 - disc[0, 0])
                                     + (y0 - disc[0, 1]) * (y0 - disc[0, 1]))) * disc[0, 3]
    if far1[j0]:
        e1 = -far
    else:
        e1 = (disc[1, 2] - math.sqrt((x1 - disc[1, 0]) * (x1 - disc[1, 0])
                                     + (y1 - disc[1, 1]) * (y1 - disc[1, 1]))) * disc[1, 3]
    return x0, y0, x1, y1, _front_weight(e0, e1)


@njit(cache=True, nogil=True)
def _discs(edges):
    """``edges`` with the last column (px per radian) turned into radians per px."""
    disc = edges.copy()
    for k in range(disc.shape[0]):
        disc[k, 3] = 1.0 / edges[k, 3]
    return disc


@njit(cache=True, nogil=True)
def _row_cell(qv, node_dv, ny):
    """Node row above a plane row at luma coordinate ``qv`` and the fraction towards the next."""
    y = qv / node_dv
    i0 = int(y)
    if i0 > ny - 2:
        i0 = ny - 2
    return i0, y - i0


@njit(cache=True, nogil=True)
def _df_dense(nodes, node_du, node_dv, qu, qv, sx, sy, edges, far, mx0, my0, mx1, my1, w0):
    """Bilinear interpolation of the node grid at plane samples (continuous luma coordinates
    ``qu`` (pw,) x ``qv`` (ph,)); lens pixels scaled into the plane (``sx``, ``sy``: plane px per
    luma px, centres at integers). The blend weight is computed per sample from where it lands
    in each disc (``edges[k] = (cx, cy, edge radius, px per radian at the edge)``), so no sample
    beyond a disc's edge gets weight; a lens whose nodes around the sample are all more than
    ``far`` radians outside its disc does not see it (its interpolated pixel means nothing)."""
    ny, nx = nodes.shape[0], nodes.shape[1]
    pw = qu.shape[0]
    cols, fr = _node_columns(qu, node_du, nx)
    disc = _discs(edges)
    row = np.empty((nx, 4))
    far0 = np.empty(nx, np.bool_)
    far1 = np.empty(nx, np.bool_)
    mode = np.empty(nx, np.int8)
    for i in range(qv.shape[0]):
        i0, b = _row_cell(qv[i], node_dv, ny)
        _node_row(nodes, i0, b, far, disc, row, far0, far1, mode)
        for j in range(pw):
            x0, y0, x1, y1, w = _row_sample(row, far0, far1, cols[j], fr[j], disc, far)
            mx0[i, j] = (x0 + 0.5) * sx - 0.5
            my0[i, j] = (y0 + 0.5) * sy - 0.5
            mx1[i, j] = (x1 + 0.5) * sx - 0.5
            my1[i, j] = (y1 + 0.5) * sy - 0.5
            w0[i, j] = w


@njit(cache=True, nogil=True)
def _df_blend(a0, a1, w0, g0, g1, base, top, out):
    """``out = base + w0 g0 (a0 - base) + (1 - w0) g1 (a1 - base)``, rounded and clipped to
    ``0 .. top`` (``base``: black for luma, neutral for chroma)."""
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            w = w0[i, j]
            val = base + w * g0 * (a0[i, j] - base) + (1.0 - w) * g1 * (a1[i, j] - base)
            val = math.floor(val + 0.5)
            if val < 0.0:
                val = 0.0
            if val > top:
                val = top
            out[i, j] = val


@njit(cache=True, nogil=True)
def _bilinear_at(src, x, y):
    """Bilinear sample of a plane at (x, y), pixel centres at integers, edges replicated."""
    h, w = src.shape[0], src.shape[1]
    if x < 0.0:
        x = 0.0
    if x > w - 1.0:
        x = w - 1.0
    if y < 0.0:
        y = 0.0
    if y > h - 1.0:
        y = h - 1.0
    j0 = int(x)
    i0 = int(y)
    j1 = j0 + 1 if j0 < w - 1 else j0
    i1 = i0 + 1 if i0 < h - 1 else i0
    a = x - j0
    b = y - i0
    return ((1 - b) * ((1 - a) * src[i0, j0] + a * src[i0, j1])
            + b * ((1 - a) * src[i1, j0] + a * src[i1, j1]))


@njit(cache=True, nogil=True)
def _blend_at(src, x0, y0, x1, y1, w, g0, g1, base, top):
    """Both lenses' bilinear samples of a plane blended with weight ``w``, gains about
    ``base``, rounded and clipped to ``0 .. top``. Both are read even where one is weighted
    zero (its pixel is finite, clamped to the plane, and adds exactly zero): a branch per
    sample costs more than the read (1280 x 640 luma, 26 -> 13 ms)."""
    val = (base + w * g0 * (_bilinear_at(src, x0, y0) - base)
           + (1.0 - w) * g1 * (_bilinear_at(src, x1, y1) - base))
    return min(max(math.floor(val + 0.5), 0.0), top)


@njit(cache=True, nogil=True)
def _one_at(src, x, y, g, base, top):
    """``_blend_at`` where one lens has all the weight: the same value, the other not read."""
    return min(max(math.floor(base + g * (_bilinear_at(src, x, y) - base) + 0.5), 0.0), top)


@njit(cache=True, nogil=True)
def _df_sample_blend(nodes, node_du, node_dv, qu, qv, sx, sy, edges, far, src, g0, g1, base,
                     top, out, src2, out2, n_planes):
    """``_df_dense``, bilinear sampling of both lenses and ``_df_blend`` in one pass over a
    plane, no maps stored. With ``n_planes`` 2, ``src2`` (a plane of the same size, e.g. V beside
    U) is warped into ``out2`` in the same pass, with the same mapping; with 1 they are not
    touched. Cells one lens has alone (``_node_row``) read that lens only: the same values, about
    half the reads there."""
    ny, nx = nodes.shape[0], nodes.shape[1]
    pw = qu.shape[0]
    cols, fr = _node_columns(qu, node_du, nx)
    disc = _discs(edges)
    row = np.empty((nx, 4))
    far0 = np.empty(nx, np.bool_)
    far1 = np.empty(nx, np.bool_)
    mode = np.empty(nx, np.int8)
    for i in range(qv.shape[0]):
        i0, b = _row_cell(qv[i], node_dv, ny)
        _node_row(nodes, i0, b, far, disc, row, far0, far1, mode)
        for j in range(pw):
            j0, a = cols[j], fr[j]
            m = mode[j0]
            if m == MODE_FRONT:
                x = ((1 - a) * row[j0, 0] + a * row[j0 + 1, 0] + 0.5) * sx - 0.5
                y = ((1 - a) * row[j0, 1] + a * row[j0 + 1, 1] + 0.5) * sy - 0.5
                out[i, j] = _one_at(src, x, y, g0, base, top)
                if n_planes == 2:
                    out2[i, j] = _one_at(src2, x, y, g0, base, top)
            elif m == MODE_BACK:
                x = ((1 - a) * row[j0, 2] + a * row[j0 + 1, 2] + 0.5) * sx - 0.5
                y = ((1 - a) * row[j0, 3] + a * row[j0 + 1, 3] + 0.5) * sy - 0.5
                out[i, j] = _one_at(src, x, y, g1, base, top)
                if n_planes == 2:
                    out2[i, j] = _one_at(src2, x, y, g1, base, top)
            else:
                x0, y0, x1, y1, w = _row_sample(row, far0, far1, j0, a, disc, far)
                x0 = (x0 + 0.5) * sx - 0.5
                y0 = (y0 + 0.5) * sy - 0.5
                x1 = (x1 + 0.5) * sx - 0.5
                y1 = (y1 + 0.5) * sy - 0.5
                out[i, j] = _blend_at(src, x0, y0, x1, y1, w, g0, g1, base, top)
                if n_planes == 2:
                    out2[i, j] = _blend_at(src2, x0, y0, x1, y1, w, g0, g1, base, top)
