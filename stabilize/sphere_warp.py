"""Sphere warp: stabilize an equirectangular frame by rotating the sphere (docs/architecture.md
"Sphere stabilization").

An output pixel is a direction ``d`` of the virtual camera (the panorama mapping ``E`` of
docs/architecture.md "Panorama"); the source camera saw it as ``R_world_from_cam(t)^T R_virtual
d`` at the time ``t`` of the source row it lands on, and ``E`` of that is the source pixel:
``p_src = E(R(t)^T R_virtual E^-1(p_out))``. No crop, no zoom, and every output pixel is defined
(u wraps at 0 <-> W, and the poles continue over the top: the rows above row 0 are row 0's
neighbours half a turn away).

Rolling shutter, the simple model: a 360 camera stitches its frame from sensors read row by row,
and the equirect row ``v`` is taken to be captured at that row's own time,
``t_frame + ((v + 0.5) / H - 0.5) * readout_s`` (``sensors.rolling_shutter.row_time_s``), as a
flat frame's row would be. The sensors' true rows run across the panorama along the lenses'
geometry; the model is exact for a camera whose rows sweep the panorama from top to bottom and
a first-order description of the others. The source row of each point is found by fixed-point
iteration (the row gives the time, the time the rotation, the rotation the row), on a table of
one rotation per source row (``row_rotations``).

Speed: the map is computed exactly on a coarse output grid (``step_px``) and interpolated
bilinearly in between, with the source u unwrapped inside each cell so the seam u = 0 <-> W is
never averaged across. Cells where that is not accurate - near the source poles, where u swings,
or wherever the bilinear estimate of the cell centre is off the exact point by more than
``tol_px`` - are mapped per pixel instead. The maps are computed a band of rows at a time and
each plane is resampled with one ``cv2.remap`` (``BORDER_WRAP`` across the seam, pole rows
padded). Numba kernels in ``stabilize._sphere_kernels``; numpy references here.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sensors.errors import InputError
from sensors.quaternion import qto_matrix

from .motion import FrameMotion
from .synthesis import INTERPOLATION_FLAGS

__all__ = [
    "SphereMap",
    "SphereWarper",
    "row_rotations",
    "source_points",
    "source_points_reference",
    "pole_padded",
    "DEFAULT_STEP_PX",
    "DEFAULT_TOL_PX",
    "REFINE",
]

#: Output grid spacing of the exact map, pixels, at a 1280 px wide frame; the grid keeps its
#: angular spacing (4.5 degrees) at other widths, at least 4 px.
DEFAULT_STEP_PX = 16
#: Largest bilinear error (at a cell's centre, px of arc) a cell may have before it is refined.
DEFAULT_TOL_PX = 0.1
# Fixed-point iterations on the source row. One row of error moves a point by about
# readout * rate * H / pi / H px (0.006 px at 1 rad/s, 20 ms), so each iteration shrinks the
# error ~150-fold: the grids start from the output row (tens of rows off after a rotation),
# single pixels from their fine cell's interpolated row (a fraction of a row off).
_ITERATIONS = 2
# cell centres, fine vertices and single pixels start from an interpolated row
_FINE_ITERATIONS = 0
#: Fine cells per coarse cell and axis where the coarse cell is not accurate enough.
REFINE = 4
# Rows of padding above and below a plane: bicubic and Lanczos taps reach 3 rows past the map.
_PAD = 4


def row_rotations(fm: FrameMotion, virtual_quat: np.ndarray, height: int) -> np.ndarray:
    """``M[r] = R_world_from_cam(t_r)^T R_virtual`` (H, 3, 3) for each source row ``r``.

    The real orientation is blended (normalised linear, as the flat warp does) between the
    frame's row bands.
    """
    q = np.asarray(virtual_quat, dtype=np.float64).reshape(-1)
    if q.shape != (4,) or not np.all(np.isfinite(q)):
        raise InputError("virtual orientation must be one finite quaternion (4,)")
    rows = fm.band_rows
    if rows.size < 2:
        raise InputError("frame motion needs at least 2 row bands")
    r = np.arange(int(height), dtype=np.float64)
    pos = np.clip((r - rows[0]) / (rows[1] - rows[0]), 0.0, rows.size - 1.0)
    i0 = np.minimum(pos.astype(np.intp), rows.size - 2)
    a = (pos - i0)[:, None]
    qb = (1 - a) * fm.quat[i0] + a * fm.quat[i0 + 1]
    R = qto_matrix(qb / np.linalg.norm(qb, axis=1, keepdims=True))
    return np.ascontiguousarray(np.einsum("rji,jk->rik", R, qto_matrix(q)))


def _dirs(u: np.ndarray, v: np.ndarray, width: float, height: float) -> np.ndarray:
    yaw = (u / width - 0.5) * 2 * np.pi
    pitch = (0.5 - v / height) * np.pi
    cp = np.cos(pitch)
    return np.stack([cp * np.sin(yaw), -np.sin(pitch), cp * np.cos(yaw)], axis=-1)


def source_points_reference(u: np.ndarray, v: np.ndarray, M: np.ndarray, size: tuple[int, int],
                            v_guess: np.ndarray | None = None,
                            iterations: int = _ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """Numpy reference of the exact mapping: source continuous ``(u, v)`` of output continuous
    points ``(u, v)`` (same shapes), ``u`` in ``[0, W)``."""
    w, h = float(size[0]), float(size[1])
    u, v = np.broadcast_arrays(np.asarray(u, np.float64), np.asarray(v, np.float64))
    d = _dirs(u, v, w, h)
    vs = v.copy() if v_guess is None else np.broadcast_to(v_guess, v.shape).astype(np.float64)
    n = M.shape[0]
    us = np.zeros_like(vs)
    for _ in range(iterations + 1):
        r = np.clip(vs - 0.5, 0.0, n - 1.0)
        r0 = np.minimum(r.astype(np.intp), n - 2)
        a = (r - r0)[..., None, None]
        Mr = (1 - a) * M[r0] + a * M[r0 + 1]
        s = np.einsum("...ij,...j->...i", Mr, d)
        us = np.mod((0.5 + np.arctan2(s[..., 0], s[..., 2]) / (2 * np.pi)) * w, w)
        vs = (0.5 + np.arctan2(s[..., 1], np.hypot(s[..., 0], s[..., 2])) / np.pi) * h
    return us, vs


def source_points(u: np.ndarray, v: np.ndarray, M: np.ndarray,
                  size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Exact source continuous ``(u, v)`` of output grid ``u`` (nx,) x ``v`` (ny,): two (ny, nx)
    arrays (numba kernel; ``source_points_reference`` is its numpy twin)."""
    from .warmup import sphere_kernel

    us = np.ascontiguousarray(u, np.float64)
    vs = np.ascontiguousarray(v, np.float64)
    out = np.empty((vs.size, us.size, 2))
    sphere_kernel("sphere_vertices")(us, vs, np.ascontiguousarray(M, np.float64),
                                     float(size[0]), float(size[1]), _ITERATIONS, out)
    return out[..., 0], out[..., 1]


def pole_padded(plane: np.ndarray, pad: int = _PAD, out: np.ndarray | None = None) -> np.ndarray:
    """``plane`` with ``pad`` rows above and below that continue the sphere over the poles: the
    row above row 0 is row 0 half a turn away, and so on (and likewise at the bottom)."""
    h, w = plane.shape[:2]
    if out is None:
        out = np.empty((h + 2 * pad, w) + plane.shape[2:], plane.dtype)
    half = w // 2
    out[pad:pad + h] = plane
    for k in range(pad):
        src_top = plane[min(k, h - 1)]
        src_bot = plane[max(h - 1 - k, 0)]
        out[pad - 1 - k, :w - half] = src_top[half:]
        out[pad - 1 - k, w - half:] = src_top[:half]
        out[pad + h + k, :w - half] = src_bot[half:]
        out[pad + h + k, w - half:] = src_bot[:half]
    return out


@dataclass(frozen=True, eq=False)
class SphereMap:
    """One frame's mapping (``SphereWarper.vertex_map``): the per-row rotations ``M``, the exact
    source points of the coarse grid, each coarse cell's unwrapped corners and whether it is
    ``bad`` (refined), and the same for the fine grid inside bad cells (``fine_exact``: mapped
    per pixel)."""

    M: np.ndarray
    vertices: np.ndarray
    corners: np.ndarray
    bad: np.ndarray
    fine_vertices: np.ndarray
    fine_corners: np.ndarray
    fine_exact: np.ndarray


class SphereWarper:
    """Warps equirectangular frames of one clip by a rotation of the sphere per source row.

    Parameters
    ----------
    size : (int, int)
        Frame width and height (W = 2H is usual but not required).
    step_px : float, optional
        Spacing of the exact grid, output pixels (default ``DEFAULT_STEP_PX`` scaled to the
        width).
    interpolation : str
        ``bilinear``, ``bicubic`` or ``lanczos``.
    tol_px : float
        Cells whose bilinear estimate is off by more are mapped per pixel.

    Examples
    --------
    The identity rotation maps every pixel to itself:

    >>> import numpy as np
    >>> from stabilize.sphere_warp import SphereWarper
    >>> w = SphereWarper((64, 32), step_px=8)
    >>> vm = w.map_rotation(np.eye(3))
    >>> mx, my = w.dense_maps(vm)
    >>> bool(np.allclose(mx, np.arange(64)[None, :] % 64, atol=1e-6))
    True
    """

    def __init__(self, size: tuple[int, int], step_px: float | None = None,
                 interpolation: str = "bilinear", tol_px: float = DEFAULT_TOL_PX):
        if interpolation not in INTERPOLATION_FLAGS:
            raise InputError(f"unknown interpolation {interpolation!r}; valid: "
                             + ", ".join(INTERPOLATION_FLAGS))
        w, h = int(size[0]), int(size[1])
        if w < 8 or h < 4:
            raise InputError(f"equirect frame too small: {w}x{h}")
        if step_px is None:
            step_px = max(4.0, DEFAULT_STEP_PX * w / 1280.0)
        if not step_px >= 1:
            raise InputError(f"grid step must be >= 1 px, got {step_px}")
        self.size = (w, h)
        self.flag = INTERPOLATION_FLAGS[interpolation]
        self.tol_px = float(tol_px)
        nx = int(np.ceil(w / step_px)) + 1
        ny = int(np.ceil(h / step_px)) + 1
        # the grid spans the whole sphere in continuous coordinates: u 0..W (the last column is
        # the first one again), v 0..H (pole to pole)
        self.us = np.linspace(0.0, float(w), nx)
        self.vs = np.linspace(0.0, float(h), ny)
        self.fus = np.linspace(0.0, float(w), (nx - 1) * REFINE + 1)
        self.fvs = np.linspace(0.0, float(h), (ny - 1) * REFINE + 1)
        self._geom: dict[str, tuple] = {}
        self._scratch: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._padded: dict[tuple, np.ndarray] = {}

    # -- geometry of a plane's samples ----------------------------------------------------
    def _plane(self, kind: str) -> tuple:
        """Query points of a plane kind in continuous luma coordinates, their cells and
        weights, and the luma -> plane scale per axis."""
        if kind not in self._geom:
            w, h = self.size
            if kind == "luma":
                sx, sy, pw, ph = 1.0, 1.0, w, h
            elif kind == "420":
                sx, sy, pw, ph = 0.5, 0.5, (w + 1) // 2, (h + 1) // 2
            elif kind == "422":
                sx, sy, pw, ph = 0.5, 1.0, (w + 1) // 2, h
            else:
                raise InputError(f"unknown plane kind {kind!r}; valid: luma, 420, 422")
            qu = (np.arange(pw) + 0.5) / sx
            qv = (np.arange(ph) + 0.5) / sy
            jx, bx = self._cells(qu, self.us)
            iy, ay = self._cells(qv, self.vs)
            fjx, fbx = self._cells(qu, self.fus)
            fiy, fay = self._cells(qv, self.fvs)
            yaw = (qu / w - 0.5) * 2 * np.pi
            pitch = (0.5 - qv / h) * np.pi
            col_dir = np.ascontiguousarray(np.stack([np.sin(yaw), np.cos(yaw)], axis=1))
            row_dir = np.ascontiguousarray(np.stack([np.sin(pitch), np.cos(pitch)], axis=1))
            # query columns of each coarse cell column: seg[j] <= x < seg[j + 1]
            seg = np.searchsorted(jx, np.arange(self.us.size), side="left").astype(np.int64)
            self._geom[kind] = (qu, qv, jx, bx, iy, ay, sx, sy, fjx, fbx, fiy, fay, col_dir,
                                row_dir, seg)
        return self._geom[kind]

    @staticmethod
    def _cells(q: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = (q - nodes[0]) / (nodes[1] - nodes[0])
        i0 = np.clip(np.floor(pos).astype(np.int64), 0, nodes.size - 2)
        return i0, pos - i0

    @staticmethod
    def _kind(chroma: bool | str) -> str:
        kind = {False: "luma", True: "420"}.get(chroma, chroma)
        if kind not in ("luma", "420", "422"):
            raise InputError(f"unknown plane kind {chroma!r}; valid: False, True/'420', '422'")
        return kind

    # -- the frame's mapping --------------------------------------------------------------
    def vertex_map(self, fm: FrameMotion, virtual_quat: np.ndarray,
                   zoom: float = 1.0) -> SphereMap:
        """The mapping of one frame from its motion and virtual orientation (``zoom`` must be
        1: the sphere is rotated, never zoomed)."""
        if abs(float(zoom) - 1.0) > 1e-9:
            raise InputError(f"an equirect frame is never zoomed (zoom {zoom})")
        return self.map_rows(row_rotations(fm, virtual_quat, self.size[1]))

    def map_rotation(self, M: np.ndarray) -> SphereMap:
        """The mapping of one global rotation ``M`` (3, 3): source direction = ``M`` output
        direction (no rolling shutter)."""
        M = np.asarray(M, dtype=np.float64)
        if M.shape != (3, 3):
            raise InputError(f"rotation must be 3x3, got {M.shape}")
        return self.map_rows(np.broadcast_to(M, (self.size[1], 3, 3)))

    def map_rows(self, M: np.ndarray) -> SphereMap:
        """The mapping of per-source-row rotations ``M`` (H, 3, 3) (numba kernels)."""
        from .warmup import sphere_kernel

        w, h = self.size
        M = np.ascontiguousarray(M, dtype=np.float64)
        if M.shape != (h, 3, 3) or not np.all(np.isfinite(M)):
            raise InputError(f"row rotations must be finite ({h}, 3, 3), got {M.shape}")
        W, H = float(w), float(h)
        ny, nx = self.vs.size, self.us.size
        vert = np.empty((ny, nx, 2))
        sphere_kernel("sphere_vertices")(self.us, self.vs, M, W, H, _ITERATIONS, vert)
        corners = np.zeros((ny - 1, nx - 1, 4, 2))
        bad = np.zeros((ny - 1, nx - 1), np.bool_)
        sphere_kernel("sphere_cells")(vert, self.us, self.vs, M, W, H, _FINE_ITERATIONS,
                                      self.tol_px, np.ones_like(bad), corners, bad)
        fvert = np.zeros((self.fvs.size, self.fus.size, 2))
        sphere_kernel("sphere_refine")(bad, corners, REFINE, self.fus, self.fvs, M, W, H,
                                       _FINE_ITERATIONS, fvert)
        fbad = np.ascontiguousarray(np.repeat(np.repeat(bad, REFINE, 0), REFINE, 1))
        fcorners = np.zeros(fbad.shape + (4, 2))
        fexact = np.zeros_like(fbad)
        sphere_kernel("sphere_cells")(fvert, self.fus, self.fvs, M, W, H, _FINE_ITERATIONS,
                                      self.tol_px, fbad, fcorners, fexact)
        return SphereMap(M, vert, corners, bad, fvert, fcorners, fexact)

    def _cells_reference(self, vert, us, vs, M, active, iterations):
        w = self.size[0]
        c = np.stack([vert[:-1, :-1], vert[:-1, 1:], vert[1:, :-1], vert[1:, 1:]], axis=2)
        du = c[..., 0] - c[..., :1, 0]
        du = np.where(du >= w / 2, du - w, np.where(du < -w / 2, du + w, du))
        c[..., 0] = c[..., :1, 0] + du
        spread = np.abs(du).max(axis=2)
        uc, vc = c[..., 0].mean(axis=2), c[..., 1].mean(axis=2)
        cu = 0.5 * (us[:-1] + us[1:])
        cv = 0.5 * (vs[:-1] + vs[1:])
        ue, ve = source_points_reference(cu[None, :], cv[:, None], M, self.size, v_guess=vc,
                                         iterations=iterations)
        de = np.mod(ue - uc + w / 2, w) - w / 2
        arc = np.maximum(np.sin(np.pi * np.clip(ve / self.size[1], 0.0, 1.0)), 0.05)
        exact = ((spread > 0.125 * w) | (np.abs(de) * arc > self.tol_px)
                 | (np.abs(ve - vc) > self.tol_px))
        c[~active] = 0.0
        return c, exact & active

    def map_rows_reference(self, M: np.ndarray) -> SphereMap:
        """Numpy reference of ``map_rows`` (same grids, same decisions)."""
        M = np.ascontiguousarray(M, dtype=np.float64)
        gu, gv = np.meshgrid(self.us, self.vs)
        vert = np.stack(source_points_reference(gu, gv, M, self.size), axis=-1)
        corners, bad = self._cells_reference(vert, self.us, self.vs, M,
                                             np.ones(gu.shape[0] - 1, bool)[:, None]
                                             | np.zeros(gu.shape[1] - 1, bool)[None, :],
                                             _FINE_ITERATIONS)
        fbad = np.repeat(np.repeat(bad, REFINE, 0), REFINE, 1)
        need = np.zeros((self.fvs.size, self.fus.size), bool)
        for di in (0, 1):
            for dj in (0, 1):
                need[di:need.shape[0] - 1 + di, dj:need.shape[1] - 1 + dj] |= fbad
        fu, fv = np.meshgrid(self.fus, self.fvs)
        # each fine vertex starts from the row a bad coarse cell holding it interpolates: the
        # last such cell in row-major order, whose write the kernel keeps
        fi, fj = np.nonzero(need)
        ci = np.zeros(fi.size, np.intp)
        cj = np.zeros(fj.size, np.intp)
        for di in (1, 0):
            for dj in (1, 0):
                ii = np.minimum(fi // REFINE, bad.shape[0] - 1) - di * (fi % REFINE == 0)
                jj = np.minimum(fj // REFINE, bad.shape[1] - 1) - dj * (fj % REFINE == 0)
                ii = np.where(fi == self.fvs.size - 1, bad.shape[0] - 1, ii)
                jj = np.where(fj == self.fus.size - 1, bad.shape[1] - 1, jj)
                ok = (ii >= 0) & (jj >= 0)
                ok[ok] &= bad[ii[ok], jj[ok]]
                ci = np.where(ok, ii, ci)
                cj = np.where(ok, jj, cj)
        a = (fi - ci * REFINE) / REFINE
        b = (fj - cj * REFINE) / REFINE
        c = corners[ci, cj]
        guess = ((1 - a) * (1 - b) * c[:, 0, 1] + (1 - a) * b * c[:, 1, 1]
                 + a * (1 - b) * c[:, 2, 1] + a * b * c[:, 3, 1])
        fvert = np.zeros(fu.shape + (2,))
        su, sv = source_points_reference(fu[need], fv[need], M, self.size, v_guess=guess,
                                         iterations=_FINE_ITERATIONS)
        fvert[need] = np.stack([su, sv], axis=-1)
        fcorners, fexact = self._cells_reference(fvert, self.fus, self.fvs, M, fbad,
                                                 _FINE_ITERATIONS)
        return SphereMap(M, vert, corners, bad, fvert, fcorners, fexact)

    # -- dense maps -----------------------------------------------------------------------
    def _maps_into(self, sm: SphereMap, kind: str, mx: np.ndarray, my: np.ndarray,
                   rows: slice, pad: int) -> tuple[np.ndarray, np.ndarray]:
        from .warmup import sphere_kernel

        _, _, jx, bx, iy, ay, sx, sy, fjx, fbx, fiy, fay, cd, rd, seg = self._plane(kind)
        w, h = self.size
        sphere_kernel("sphere_maps")(sm.corners, sm.bad, sm.fine_corners, sm.fine_exact, seg, bx,
                                     fjx, fbx, iy[rows], ay[rows], fiy[rows], fay[rows], cd,
                                     rd[rows], sm.M, float(w), float(h), _FINE_ITERATIONS, sx,
                                     sy, float(pad), mx, my)
        return mx, my

    def dense_maps(self, sm: SphereMap, chroma: bool | str = False
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Float32 maps of a whole plane into the (unpadded) source plane: luma, or a chroma
        plane (``chroma`` True or ``"420"``, or ``"422"``); x in ``[-0.5, plane width - 0.5)``."""
        kind = self._kind(chroma)
        qu, qv = self._plane(kind)[:2]
        mx = np.empty((qv.size, qu.size), np.float32)
        my = np.empty_like(mx)
        return self._maps_into(sm, kind, mx, my, slice(None), 0)

    def dense_maps_reference(self, sm: SphereMap, chroma: bool | str = False
                             ) -> tuple[np.ndarray, np.ndarray]:
        """Numpy reference of ``dense_maps`` (float64)."""
        kind = self._kind(chroma)
        qu, qv, jx, bx, iy, ay, sx, sy, fjx, fbx, fiy, fay = self._plane(kind)[:12]
        w, h = self.size

        def bilinear(corners, ii, jj, a, b):
            c = corners[ii[:, None], jj[None, :]]  # (h, w, 4, 2)
            a, b = a[:, None], b[None, :]
            wts = np.stack([(1 - a) * (1 - b), (1 - a) * b, a * (1 - b), a * b], axis=-1)
            return np.sum(wts * c[..., 0], axis=-1), np.sum(wts * c[..., 1], axis=-1)

        u, v = bilinear(sm.corners, iy, jx, ay, bx)
        fu, fv = bilinear(sm.fine_corners, fiy, fjx, fay, fbx)
        refined = sm.bad[iy[:, None], jx[None, :]]
        u = np.where(refined, fu, u)
        v = np.where(refined, fv, v)
        ex = refined & sm.fine_exact[fiy[:, None], fjx[None, :]]
        if ex.any():
            yy, xx = np.nonzero(ex)
            ue, ve = source_points_reference(qu[xx], qv[yy], sm.M, self.size, v_guess=v[yy, xx],
                                             iterations=_FINE_ITERATIONS)
            u[yy, xx] = ue
            v[yy, xx] = ve
        pw = w * sx
        px = u * sx - 0.5
        px = np.where(px >= pw - 0.5, px - pw, np.where(px < -0.5, px + pw, px))
        return px, v * sy - 0.5

    def exact_maps(self, sm: SphereMap, chroma: bool | str = False
                   ) -> tuple[np.ndarray, np.ndarray]:
        """The exact per-pixel maps (float64, numpy): what ``dense_maps`` approximates."""
        kind = self._kind(chroma)
        qu, qv, _, _, _, _, sx, sy = self._plane(kind)[:8]
        u, v = source_points_reference(qu[None, :], qv[:, None], sm.M, self.size)
        return u * sx - 0.5, v * sy - 0.5

    # -- resampling -----------------------------------------------------------------------
    def _remap(self, srcs: list[np.ndarray], sm: SphereMap, kind: str,
               dsts: list[np.ndarray | None]) -> list[np.ndarray]:
        qu, qv = self._plane(kind)[:2]
        h, w = qv.size, qu.size
        padded = []
        for s in srcs:
            if s.shape[:2] != (h, w):
                raise InputError(f"plane {s.shape[:2]} is not the {w}x{h} the frame needs")
            key = (kind, len(padded), s.dtype.str, s.shape[2:])
            buf = self._padded.get(key)
            if buf is None:
                buf = self._padded[key] = np.empty((h + 2 * _PAD, w) + s.shape[2:], s.dtype)
            padded.append(pole_padded(s, _PAD, buf))
        dsts = [np.empty(s.shape, s.dtype) if d is None else d
                for s, d in zip(srcs, dsts, strict=True)]
        band = int(np.clip((2 << 20) // (8 * w), 16, h))
        key = (kind, band)
        if key not in self._scratch:
            self._scratch[key] = (np.empty((band, w), np.float32), np.empty((band, w), np.float32))
        bx_, by_ = self._scratch[key]
        for r0 in range(0, h, band):
            r1 = min(h, r0 + band)
            mx, my = self._maps_into(sm, kind, bx_[:r1 - r0], by_[:r1 - r0], slice(r0, r1),
                                     _PAD)
            for src, dst in zip(padded, dsts, strict=True):
                cv2.remap(src, mx, my, self.flag, dst=dst[r0:r1], borderMode=cv2.BORDER_WRAP)
        return dsts

    def warp_gray(self, img: np.ndarray, sm: SphereMap, border_value: float = 0) -> np.ndarray:
        """Warp one full-resolution plane (or a BGR image); ``border_value`` is unused (every
        output pixel is defined) and kept for the flat warper's signature."""
        return self._remap([np.asarray(img)], sm, "luma", [None])[0]

    def warp_yuv(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, sm: SphereMap,
                 out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                 black: tuple[float, float] = (16, 128)
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Warp Y and 4:2:0 or 4:2:2 U, V planes (told apart by shape), as
        ``synthesis.MeshWarper.warp_yuv`` does; ``black`` is unused (no undefined pixels)."""
        w, h = self.size
        cw = (w + 1) // 2
        kind = {((h + 1) // 2, cw): "420", (h, cw): "422"}.get(u.shape[:2])
        if y.shape[:2] != (h, w) or kind is None or v.shape[:2] != u.shape[:2]:
            raise InputError(f"planes {y.shape[:2]}, {u.shape[:2]}, {v.shape[:2]} are not "
                             f"4:2:0 or 4:2:2 YUV of a {w}x{h} frame")
        oy, ou, ov = (None, None, None) if out is None else out
        (yo,) = self._remap([y], sm, "luma", [oy])
        uo, vo = self._remap([u, v], sm, kind, [ou, ov])
        return yo, uo, vo
