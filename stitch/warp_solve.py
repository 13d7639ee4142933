"""Per-layer cubic B-spline displacement warps solved in Ceres from overlap correspondences.

Model (docs/architecture.md "stitch/"): the warped layer is
``warped_i(q) = layer_i(q + d_i(q))`` with ``d_i`` a cubic B-spline (``stitch.spline``) over a
control grid in panorama pixels. A match (p_i, p_j) says that one scene point is drawn at
``p_i`` in layer i and at ``p_j`` in layer j. At the midpoint ``m = (p_i + p_j) / 2`` we require

    d_j(m) - d_i(m) = p_j - p_i,

i.e. ``m + d_i(m) = p_i + t`` and ``m + d_j(m) = p_j + t`` for a common ``t``: both warped
layers show at ``m`` the content found at ``p_i + t`` / ``p_j + t``, which correspond up to
``|t|`` times the gradient of the disagreement field (a few px times ~0.01: a few hundredths
of a px). The relative form keeps multi-layer overlaps consistent (absolute per-pair targets
such as "meet at the midpoint" send the same content of a layer to different places when three
layers overlap: measured on a 12-camera rosette, held-out p90 1.7 px vs 0.13 px); the split of
the correction between the layers is left to the regularisation and the anchor. The residuals
are linear in the control points, so the only non-linearity is the robust loss.

Solve (pyceres, ``SPARSE_NORMAL_CHOLESKY``):
- one 2-vector parameter block per control point; one Python cost function per (pair, cell in
  layer i, cell in layer j) evaluates all matches there with vectorised numpy (2 rows per match
  over 16 + 16 blocks; ~10^3 callbacks instead of ~10^4);
- the robust loss is Cauchy with scale ``robust_scale_px``, applied per match by iteratively
  reweighted least squares (a Ceres loss would act on the whole grouped block, not on each
  match); for fixed weights the problem is linear, so a round is one Gauss-Newton step and the
  last round runs to Ceres' convergence test;
- regularisation: thin-plate bending energy (u_xx^2 + 2 u_xy^2 + u_yy^2 in second differences
  of the control grid), one linear cost per 4x4 tile of control points, plus a weak zero anchor
  per control point (``pyceres.factors.NormalPrior``, C++). Control points farther than
  ~160 px from any data stay at zero (constant), which keeps the solve small;
- folds: the smallest Jacobian determinant of q -> q + d(q) over each layer must stay above
  ``min_jacobian_det``; if not, the smoothness weight is raised and the solve repeated, and a
  warp that still folds raises :class:`SolveError`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
import pyceres

from sensors.errors import InputError, SolveError

from .ceres_solve import solve
from .flow import PairMatches
from .params import StitchParams
from .spline import axis_basis, basis_matrix

__all__ = ["SplineWarp", "SolveInfo", "make_grid", "solve_warps", "solve_warps_info"]

#: Rows of a layer per band of the fold check (``SplineWarp.min_jacobian_det``).
_DET_BAND_ROWS = 64


@dataclass(frozen=True, eq=False)
class SplineWarp:
    """A cubic B-spline displacement field over one layer (panorama pixels).

    Parameters
    ----------
    index : int
        Camera index of the layer.
    x0, y0, width, height : int
        The layer crop (unwrapped frame, see ``stitch.projection``).
    pano_width : int
        Panorama width W.
    origin_u, origin_v : float
        Panorama position of control point (0, 0).
    spacing_u_px, spacing_v_px : float
        Control spacing along u and v.
    ctrl : (gh, gw, 2) float64
        Control displacements (dx, dy) in px.
    periodic : bool
        The layer spans the whole width: control columns wrap modulo gw.
    """

    index: int
    x0: int
    y0: int
    width: int
    height: int
    pano_width: int
    origin_u: float
    origin_v: float
    spacing_u_px: float
    spacing_v_px: float
    ctrl: np.ndarray
    periodic: bool

    def _u_in_layer(self, u: np.ndarray) -> np.ndarray:
        return self.x0 + np.mod(np.asarray(u, dtype=np.float64) - self.x0, self.pano_width)

    def displacement(self, points: np.ndarray) -> np.ndarray:
        """d(q) (N, 2) at absolute panorama points q (N, 2) (u wraps into the layer frame)."""
        q = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        gh, gw = self.ctrl.shape[:2]
        iu, wu, _ = axis_basis(self._u_in_layer(q[:, 0]), self.origin_u, self.spacing_u_px, gw,
                               self.periodic)
        iv, wv, _ = axis_basis(q[:, 1], self.origin_v, self.spacing_v_px, gh)
        c = self.ctrl[iv[:, :, None], iu[:, None, :]]  # (N, 4, 4, 2)
        return np.einsum("na,nb,nabk->nk", wv, wu, c)

    def inverse(self, points: np.ndarray, iterations: int = 20) -> np.ndarray:
        """Where the warped layer shows what the unwarped layer shows at ``points``.

        Solves ``q + d(q) = p`` by fixed-point iteration ``q <- p - d(q)`` (a contraction while
        the displacement gradient stays below 1, which the fold check guarantees).
        """
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        q = p.copy()
        for _ in range(iterations):
            q = p - self.displacement(q)
        return q

    def _bases(self, shape_hw):
        h, w = shape_hw
        gh, gw = self.ctrl.shape[:2]
        u = self.x0 + np.arange(w, dtype=np.float64)
        v = self.y0 + np.arange(h, dtype=np.float64)
        Bu = basis_matrix(u, self.origin_u, self.spacing_u_px, gw, self.periodic)
        Bv = basis_matrix(v, self.origin_v, self.spacing_v_px, gh)
        return Bu, Bv, u, v

    def dense(self, layer=None) -> tuple[np.ndarray, np.ndarray]:
        """(dx, dy) float32 arrays over the layer (default: the layer the warp was solved on).

        ``layer`` may be a ``Layer`` or ``ProjectedLayer`` with the same crop. The arrays are
        computed once and read-only.
        """
        self._check_layer(layer)
        return self._dense

    @cached_property
    def _dense(self) -> tuple[np.ndarray, np.ndarray]:
        # Computed once: the fold check's figures, the render and the report all read it.
        Bu, Bv, _, _ = self._bases((self.height, self.width))
        out = []
        for k in range(2):
            d = (Bv @ self.ctrl[..., k] @ Bu.T).astype(np.float32)
            d.setflags(write=False)
            out.append(d)
        return out[0], out[1]

    def jacobian_det(self, layer=None) -> np.ndarray:
        """det(I + grad d) (h, w) of q -> q + d(q) over the layer (> 0 everywhere: no fold)."""
        self._check_layer(layer)
        gh, gw = self.ctrl.shape[:2]
        Bu, Bv, u, v = self._bases((self.height, self.width))
        dBu = basis_matrix(u, self.origin_u, self.spacing_u_px, gw, self.periodic, True)
        dBv = basis_matrix(v, self.origin_v, self.spacing_v_px, gh, derivative=True)
        cx, cy = self.ctrl[..., 0], self.ctrl[..., 1]
        dxu = Bv @ cx @ dBu.T
        dxv = dBv @ cx @ Bu.T
        dyu = Bv @ cy @ dBu.T
        dyv = dBv @ cy @ Bu.T
        return (1 + dxu) * (1 + dyv) - dxv * dyu

    @cached_property
    def min_jacobian_det(self) -> float:
        """Smallest Jacobian determinant over the layer: ``jacobian_det().min()`` to rounding,
        over the rows the moved control points reach (elsewhere the displacement is zero and
        the determinant exactly 1), in bands of rows, each output pixel summing its four
        control columns' terms: no dense basis product, whose BLAS threads spin against
        other work on a busy machine (a 500 x 1800 dual-fisheye seam layer: 25-400 -> ~10 ms).
        """
        gh, gw = self.ctrl.shape[:2]
        u = self.x0 + np.arange(self.width, dtype=np.float64)
        v = self.y0 + np.arange(self.height, dtype=np.float64)
        iu, wu, dwu = axis_basis(u, self.origin_u, self.spacing_u_px, gw, self.periodic)
        iv, wv, dwv = axis_basis(v, self.origin_v, self.spacing_v_px, gh)
        moved = np.any(self.ctrl != 0, axis=(1, 2))
        reach = ((wv != 0) | (dwv != 0)) & moved[iv]
        rows = np.flatnonzero(reach.any(axis=1))
        worst = 1.0 if rows.size < self.height else math.inf

        def down(weights, r):  # (rows, gw, 2): the control grid's rows combined for rows r
            return sum(weights[r, k, None, None] * self.ctrl[iv[r, k]] for k in range(4))

        def across(a, weights):  # (rows, width): a's columns combined for every pixel
            return sum(a[:, iu[:, k]] * weights[:, k] for k in range(4))

        val_all, dv_all = down(wv, rows), down(dwv, rows)  # (rows, gw, 2): small
        for k in range(0, rows.size, _DET_BAND_ROWS):
            val, dv = val_all[k:k + _DET_BAND_ROWS], dv_all[k:k + _DET_BAND_ROWS]
            det = ((1 + across(val[..., 0], dwu)) * (1 + across(dv[..., 1], wu))
                   - across(dv[..., 0], wu) * across(val[..., 1], dwu))
            worst = min(worst, float(det.min()))
        return float(worst)

    @cached_property
    def _magnitude(self) -> np.ndarray:
        dx, dy = self.dense()
        return np.hypot(dx.astype(np.float64), dy)

    @property
    def max_displacement_px(self) -> float:
        """Largest displacement magnitude over the layer (px)."""
        return float(self._magnitude.max())

    @property
    def mean_displacement_px(self) -> float:
        """Mean displacement magnitude over the layer (px)."""
        return float(self._magnitude.mean())

    def _check_layer(self, layer) -> None:
        if layer is None:
            return
        if hasattr(layer, "mask"):
            h, w = layer.mask.shape
        else:
            h, w = layer.height, layer.width
        if (layer.x0, layer.y0, w, h) != (self.x0, self.y0, self.width, self.height):
            raise InputError(f"warp of camera {self.index} was solved on layer "
                             f"({self.x0}, {self.y0}, {self.width}x{self.height}), asked for "
                             f"({layer.x0}, {layer.y0}, {w}x{h})")


@dataclass(frozen=True)
class SolveInfo:
    """What the warp solve did: Ceres figures, robust rounds, folds, timing."""

    n_matches: int
    n_parameters: int
    n_residual_blocks: int
    irls_rounds: int
    ceres_iterations: int
    initial_cost: float
    final_cost: float
    smoothness_weight: float
    solve_s: float
    ceres_s: float
    termination: str


def make_grid(x0: int, y0: int, width: int, height: int, W: int, spacing_px: float
              ) -> tuple[float, float, float, float, int, int, bool]:
    """Control grid of a layer: (origin_u, origin_v, spacing_u, spacing_v, gw, gh, periodic).

    Grids of all layers sit on one lattice (multiples of the spacing in panorama pixels), so a
    band of grid rows is the same band of panorama rows in every layer. A full-width layer gets a
    periodic grid whose spacing divides W exactly.
    """
    s = float(spacing_px)
    if s < 4:
        raise InputError(f"spline spacing must be >= 4 px, got {spacing_px}")
    o_v = math.floor(y0 / s) * s - s
    gh = int(math.floor((y0 + height - 1 - o_v) / s)) + 3
    if width >= W:
        gw = max(4, round(W / s))
        return 0.0, o_v, W / gw, s, gw, gh, True
    o_u = math.floor(x0 / s) * s - s
    gw = int(math.floor((x0 + width - 1 - o_u) / s)) + 3
    return o_u, o_v, s, s, gw, gh, False


class _LinearCost(pyceres.CostFunction):
    """residual = scale * (A @ concat(x_k) - b) with a constant dense A over small blocks.

    ``scale`` may change between solves (robust reweighting).
    """

    def __init__(self, A: np.ndarray, b: np.ndarray, scale: np.ndarray,
                 blocks: list[np.ndarray]):
        pyceres.CostFunction.__init__(self)
        self.A = np.ascontiguousarray(A)
        self.b = b
        self.blocks = blocks  # the parameter arrays, to evaluate residuals between solves
        self.sizes = [len(x) for x in blocks]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        self.set_num_residuals(len(b))
        self.set_parameter_block_sizes(self.sizes)
        self.set_scale(scale)

    def set_scale(self, scale: np.ndarray) -> None:
        """New residual scale; the (constant) scaled Jacobian blocks are precomputed here."""
        self.scale = np.asarray(scale, dtype=np.float64)
        SA = self.scale[:, None] * self.A
        o = self.offsets
        self.J = [np.ascontiguousarray(SA[:, o[k]:o[k + 1]]).ravel()
                  for k in range(len(self.sizes))]

    def raw_residual(self) -> np.ndarray:
        """Unscaled residual at the current parameter values."""
        return self.A @ np.concatenate(self.blocks) - self.b

    def Evaluate(self, parameters, residuals, jacobians):  # noqa: N802 (Ceres API name)
        residuals[:] = self.scale * (self.A @ np.concatenate(parameters) - self.b)
        if jacobians is not None:
            for k, J in enumerate(self.J):
                if jacobians[k] is not None:
                    jacobians[k][:] = J
        return True


class _Grid:
    """Mutable per-layer solve state: one 2-vector parameter block per control point."""

    def __init__(self, layer, W: int, spacing_px: float):
        h, w = layer.mask.shape
        self.index = layer.index
        self.x0, self.y0, self.w, self.h, self.W = layer.x0, layer.y0, w, h, W
        (self.o_u, self.o_v, self.s_u, self.s_v, self.gw, self.gh,
         self.periodic) = make_grid(layer.x0, layer.y0, w, h, W, spacing_px)
        self.pts = [[np.zeros(2) for _ in range(self.gw)] for _ in range(self.gh)]
        self.active = np.zeros((self.gh, self.gw), bool)

    def activate(self, touched: np.ndarray, reach: int) -> None:
        """Free the control points within ``reach`` cells of one that data touches.

        The others stay at zero displacement (constant blocks): with the weak anchor they would
        be ~0 anyway, and leaving them out keeps the solve small.
        """
        k = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
        src = touched.astype(np.uint8)
        if self.periodic:
            src = np.hstack([src[:, -reach:], src, src[:, :reach]])
        grown = cv2.dilate(src, k, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
        self.active = grown[:, reach:reach + self.gw] if self.periodic else grown

    def u_in_layer(self, u: np.ndarray) -> np.ndarray:
        return self.x0 + np.mod(u - self.x0, self.W)

    def col(self, a: int) -> int | None:
        """Control column a (wrapped on a periodic grid; None when off the grid)."""
        if self.periodic:
            return a % self.gw
        return a if 0 <= a < self.gw else None

    def warp(self) -> SplineWarp:
        ctrl = np.array([[p for p in row] for row in self.pts]).reshape(self.gh, self.gw, 2)
        return SplineWarp(self.index, self.x0, self.y0, self.w, self.h, self.W, self.o_u,
                          self.o_v, self.s_u, self.s_v, ctrl, self.periodic)


def _data_terms(grids: dict[int, _Grid], matches: Sequence[PairMatches]):
    """One linear cost per (pair, cell in layer i, cell in layer j) with its fitting matches.

    Residual per match (2 rows): ``d_j(m) - d_i(m) - (p_j - p_i)`` over the 16 + 16 control
    points around m. It is relative, so where three or more layers overlap the pairs' demands
    are consistent (an absolute target per pair, e.g. "both move to the midpoint", is not: two
    pairs would send the same content of one layer to two different places).
    """
    terms = []
    for pm in matches:
        fit = ~np.asarray(pm.heldout, dtype=bool)
        if not fit.any():
            continue
        pi, pj = pm.p_i[fit], pm.p_j[fit]
        wt = np.asarray(pm.weight, dtype=np.float64)[fit]
        m = 0.5 * (pi + pj)
        bases = []
        for g in (grids[pm.i], grids[pm.j]):
            iu, wu, _ = axis_basis(g.u_in_layer(m[:, 0]), g.o_u, g.s_u, g.gw, g.periodic)
            iv, wv, _ = axis_basis(m[:, 1], g.o_v, g.s_v, g.gh)
            bases.append((g, iu, wu, iv, wv))
        (gi, iui, _, ivi, _), (gj, iuj, _, ivj, _) = bases
        key = (((ivi[:, 0] * (gi.gw + 1) + iui[:, 0]) * (gj.gh + 1) + ivj[:, 0])
               * (gj.gw + 1) + iuj[:, 0])
        order = np.argsort(key, kind="stable")
        bounds = np.flatnonzero(np.diff(key[order])) + 1
        target = (pj - pi).ravel()
        for sel in np.split(order, bounds):
            n = len(sel)
            A = np.zeros((2 * n, 64))
            rows = 2 * np.arange(n)[:, None]
            blocks = []
            for slot, (g, iu, wu, iv, wv) in enumerate(bases):
                cols = 32 * slot + 2 * np.arange(16)[None, :]
                coef = (wv[sel, :, None] * wu[sel, None, :]).reshape(n, 16)
                if slot == 0:
                    coef = -coef
                A[rows, cols] = coef
                A[rows + 1, cols + 1] = coef
                r0, c0 = iv[sel[0]], iu[sel[0]]
                blocks += [g.pts[r0[a]][c0[c]] for a in range(4) for c in range(4)]
                g.touched[np.ix_(r0, c0)] = True
            b = target.reshape(-1, 2)[sel].ravel()
            sqrt_w = np.sqrt(wt[sel])
            terms.append((_LinearCost(A, b, np.repeat(sqrt_w, 2), blocks), sqrt_w))
    return terms


_REACH_PX = 160.0  # how far from data the warp may reach before it is held at zero
# Two robust rounds (one reweighting) reach the same held-out residuals as three on generated
# rosettes (median 0.051 px, p90 0.146 px) in two thirds of the Ceres time.
_IRLS_ROUNDS = 2
_TILE = 4  # control points per side of a regulariser tile (one Python cost per tile)


def _regulariser_terms(g: _Grid, smooth: float):
    """Thin-plate bending energy of a grid, one linear cost per tile of control points.

    Each term belongs to one control point c = (row r, column a): u_xx centred on c, u_yy
    centred on c, and the mixed difference of the square with c at its top-left (weight 2).
    Differences are in control-point units (spacing-free), so the weight means "px of bending
    per control cell".
    """
    sq, sq2 = math.sqrt(smooth), math.sqrt(2 * smooth)
    costs = []
    for r0 in range(0, g.gh, _TILE):
        near_rows = g.active[max(r0 - 1, 0):r0 + _TILE + 1]
        if not near_rows.any():
            continue
        for a0 in range(0, g.gw, _TILE):
            # a tile's terms reach one control point beyond it; none active there: no term kept
            near = [c for c in map(g.col, range(a0 - 1, a0 + _TILE + 1)) if c is not None]
            if not near_rows[:, near].any():
                continue
            terms = []  # list of [(coef, (r, a)), ...]
            for r in range(r0, min(r0 + _TILE, g.gh)):
                for a in range(a0, min(a0 + _TILE, g.gw)):
                    left, right = g.col(a - 1), g.col(a + 1)
                    if left is not None and right is not None:
                        terms.append([(sq, (r, left)), (-2 * sq, (r, a)), (sq, (r, right))])
                    if 0 < r < g.gh - 1:
                        terms.append([(sq, (r - 1, a)), (-2 * sq, (r, a)), (sq, (r + 1, a))])
                    if right is not None and r + 1 < g.gh:
                        terms.append([(sq2, (r, a)), (-sq2, (r, right)), (-sq2, (r + 1, a)),
                                      (sq2, (r + 1, right))])
            terms = [t for t in terms if any(g.active[key] for _, key in t)]
            if not terms:
                continue
            index: dict[tuple[int, int], int] = {}
            for t in terms:
                for _, key in t:
                    index.setdefault(key, len(index))
            A = np.zeros((2 * len(terms), 2 * len(index)))
            for q, t in enumerate(terms):
                for coef, key in t:
                    col = 2 * index[key]
                    A[2 * q, col] += coef
                    A[2 * q + 1, col + 1] += coef
            blocks = [g.pts[r][a] for (r, a) in index]
            cost = _LinearCost(A, np.zeros(len(A)), np.ones(len(A)), blocks)
            cost.keys = list(index)
            costs.append(cost)
    return costs


def _solve_once(layers, matches, params: StitchParams, smooth: float):
    W = layers[0].pano_width
    grids = {ly.index: _Grid(ly, W, params.spline_spacing_px) for ly in layers}
    for pm in matches:
        if pm.i not in grids or pm.j not in grids:
            raise InputError(f"matches name camera {pm.i} or {pm.j}, which has no layer")
    problem = pyceres.Problem()
    for g in grids.values():
        g.touched = np.zeros((g.gh, g.gw), bool)
    data = _data_terms(grids, matches)
    keep = []  # Python cost objects must outlive the solve
    for cost, _ in data:
        problem.add_residual_block(cost, None, cost.blocks)
        keep.append(cost)
    anchor_cov = np.eye(2) / params.anchor_weight
    reach = max(2, int(math.ceil(_REACH_PX / params.spline_spacing_px)))
    for g in grids.values():
        g.activate(g.touched, reach)
        for cost in _regulariser_terms(g, smooth):
            problem.add_residual_block(cost, None, cost.blocks)
            keep.append(cost)
            for blk, (r, a) in zip(cost.blocks, cost.keys, strict=True):
                if not g.active[r, a]:
                    problem.set_parameter_block_constant(blk)
        for r, a in zip(*np.nonzero(g.active), strict=True):
            # Weak pull to zero (C++ factor): away from the overlaps the warp fades out.
            prior = pyceres.factors.NormalPrior(np.zeros(2), anchor_cov)
            problem.add_residual_block(prior, None, [g.pts[r][a]])
            keep.append(prior)
    opts = pyceres.SolverOptions()
    opts.linear_solver_type = pyceres.LinearSolverType.SPARSE_NORMAL_CHOLESKY
    opts.max_num_iterations = params.max_iterations
    # One thread: the data terms are Python cost functions, and two Ceres threads calling them
    # fight over the GIL (8-camera rosette: Jacobian evaluation 0.20 -> 0.14 s per solve; the
    # sparse Cholesky does not use the second thread).
    opts.num_threads = 1
    opts.logging_type = pyceres.LoggingType.SILENT
    # The problem is linear for fixed robust weights: a huge first trust region makes the
    # first LM step the Gauss-Newton solution.
    opts.initial_trust_region_radius = 1e12
    c = params.robust_scale_px
    rounds, iters, first_cost, summary, ceres_s = 0, 0, None, None, 0.0
    while True:
        rounds += 1
        # For fixed robust weights the problem is linear and one Gauss-Newton step solves it;
        # the last round runs to Ceres' own convergence test.
        last = rounds == _IRLS_ROUNDS
        opts.max_num_iterations = params.max_iterations if last else 1
        summary = pyceres.SolverSummary()
        solve(opts, problem, summary)  # stops between iterations on a stop signal
        iters += summary.num_successful_steps + summary.num_unsuccessful_steps
        ceres_s += summary.total_time_in_seconds
        if first_cost is None:
            first_cost = summary.initial_cost
        if summary.termination_type == pyceres.TerminationType.FAILURE or (
                last and summary.termination_type != pyceres.TerminationType.CONVERGENCE):
            raise SolveError(f"spline warp solve did not converge: {summary.message}")
        if last:
            break
        # Cauchy weights 1 / (1 + r^2 / c^2) per match (IRLS).
        for cost, sqrt_w in data:
            e2 = (cost.raw_residual().reshape(-1, 2) ** 2).sum(axis=1)
            cost.set_scale(np.repeat(sqrt_w / np.sqrt(1.0 + e2 / (c * c)), 2))
    return grids, SolveInfo(
        n_matches=int(sum(int((~np.asarray(m.heldout)).sum()) for m in matches)),
        n_parameters=int(sum(2 * g.gw * g.gh for g in grids.values())),
        n_residual_blocks=len(keep), irls_rounds=rounds, ceres_iterations=iters,
        initial_cost=float(first_cost), final_cost=float(summary.final_cost),
        smoothness_weight=smooth, solve_s=0.0, ceres_s=ceres_s,
        termination=str(summary.termination_type))


def solve_warps_info(layers, matches: Sequence[PairMatches], params: StitchParams | None = None
                     ) -> tuple[list[SplineWarp], SolveInfo]:
    """:func:`solve_warps` plus a :class:`SolveInfo` (Ceres figures and timing)."""
    params = params or StitchParams()
    if not layers:
        raise InputError("no layers to warp")
    if params.smoothness_weight <= 0 or params.anchor_weight <= 0:
        raise InputError("smoothness_weight and anchor_weight must be positive")
    for pm in matches:
        if not (np.all(np.isfinite(pm.p_i)) and np.all(np.isfinite(pm.p_j))):
            raise InputError(f"matches of pair ({pm.i}, {pm.j}) contain NaN or infinite values")
    smooth = params.smoothness_weight
    t0 = time.perf_counter()
    for _ in range(4):
        grids, info = _solve_once(layers, matches, params, smooth)
        warps = [grids[ly.index].warp() for ly in layers]
        worst = min(w.min_jacobian_det for w in warps)
        if worst >= params.min_jacobian_det:
            info = _with_time(info, time.perf_counter() - t0)
            return warps, info
        smooth *= 4.0
    raise SolveError(f"spline warps fold (smallest Jacobian determinant {worst:.3f} < "
                     f"{params.min_jacobian_det}) even with smoothness weight {smooth / 4:g}; "
                     "the correspondences disagree too much for a subtle warp")


def _with_time(info: SolveInfo, seconds: float) -> SolveInfo:
    from dataclasses import replace
    return replace(info, solve_s=seconds)


def solve_warps(layers, matches: Sequence[PairMatches], params: StitchParams | None = None
                ) -> list[SplineWarp]:
    """Solve one spline warp per layer so matched content lands at the same place.

    Parameters
    ----------
    layers : sequence of ProjectedLayer
        The projected layers (``index, x0, y0, mask, pano_width`` are used).
    matches : sequence of PairMatches
        Overlap correspondences (``stitch.flow.overlap_correspondences``); held-out matches are
        ignored.
    params : StitchParams
        ``spline_spacing_px``, ``smoothness_weight``, ``anchor_weight``, ``robust_scale_px``,
        ``max_iterations``, ``min_jacobian_det``.

    Returns
    -------
    list of SplineWarp, in the order of ``layers``.

    Raises
    ------
    SolveError
        Ceres fails, or the warps fold even after stiffening the regularisation.
    """
    return solve_warps_info(layers, matches, params)[0]
