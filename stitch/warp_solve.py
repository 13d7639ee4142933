"""Per-layer cubic B-spline displacement warps solved in Ceres from overlap correspondences.

Model (DESIGN.md "stitch/"): the warped layer is ``warped_i(q) = layer_i(q + d_i(q))`` with
``d_i`` a cubic B-spline (``stitch.spline``) over a control grid in panorama pixels. A match
(p_i, p_j) says that one scene point is drawn at ``p_i`` in layer i and at ``p_j`` in layer j.
We choose where it should land after warping: the midpoint ``m = (p_i + p_j) / 2``, and require

    m + d_i(m) = p_i   and   m + d_j(m) = p_j.

Because ``m`` is chosen (not solved for), evaluating the splines at ``m`` is exact: if both
residuals vanish, both warped layers show the scene point at ``m``; no linearisation in q.
The residuals are linear in the control points, so the only non-linearity is the robust loss.

Solve (pyceres, ``SPARSE_NORMAL_CHOLESKY``):
- parameter blocks are **rows of control points** (one block = the ``2 gw`` values of one grid
  row of one layer, x/y interleaved), so a cost function per (pair, band of grid rows) evaluates
  all its matches with vectorised numpy: ~10^2 Python callbacks instead of ~10^4;
- data: 4 residuals per match, scaled by sqrt(match weight x robust weight); the robust loss is
  Cauchy with scale ``robust_scale_px``, applied per match by iteratively reweighted least
  squares (a Ceres loss would act on the whole grouped block, not on each match);
- regularisation: thin-plate bending energy of the grid (u_xx^2 + 2 u_xy^2 + u_yy^2 in second
  differences); the within-row part plus the weak zero anchor is one
  ``pyceres.factors.NormalPrior`` per row (C++), the across-row part a small linear cost per
  pair of rows.
- folds: the smallest Jacobian determinant of q -> q + d(q) over each layer must stay above
  ``min_jacobian_det``; if not, the smoothness weight is raised and the solve repeated, and a
  warp that still folds raises :class:`SolveError`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyceres

from sensors.errors import InputError, SolveError

from .flow import PairMatches
from .params import StitchParams
from .spline import axis_basis, basis_matrix

__all__ = ["SplineWarp", "SolveInfo", "make_grid", "solve_warps", "solve_warps_info"]


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

        ``layer`` may be a ``Layer`` or ``ProjectedLayer`` with the same crop.
        """
        self._check_layer(layer)
        Bu, Bv, _, _ = self._bases((self.height, self.width))
        dx = Bv @ self.ctrl[..., 0] @ Bu.T
        dy = Bv @ self.ctrl[..., 1] @ Bu.T
        return dx.astype(np.float32), dy.astype(np.float32)

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

    @property
    def min_jacobian_det(self) -> float:
        """Smallest Jacobian determinant over the layer."""
        return float(self.jacobian_det().min())

    @property
    def max_displacement_px(self) -> float:
        """Largest displacement magnitude over the layer (px)."""
        dx, dy = self.dense()
        return float(np.sqrt(dx.astype(np.float64) ** 2 + dy ** 2).max())

    @property
    def mean_displacement_px(self) -> float:
        """Mean displacement magnitude over the layer (px)."""
        dx, dy = self.dense()
        return float(np.sqrt(dx.astype(np.float64) ** 2 + dy ** 2).mean())

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
    """residual = scale * (sum_k J_k x_k - b), constant J_k; ``scale`` may change between solves."""

    def __init__(self, jacobians: list[np.ndarray], b: np.ndarray, scale: np.ndarray,
                 blocks: list[np.ndarray]):
        pyceres.CostFunction.__init__(self)
        self.J = [np.ascontiguousarray(J) for J in jacobians]
        self.blocks = blocks  # the parameter arrays, to evaluate residuals between solves
        self.b = b
        self.scale = scale
        self.set_num_residuals(len(b))
        self.set_parameter_block_sizes([J.shape[1] for J in self.J])

    def raw_residual(self) -> np.ndarray:
        """Unscaled residual at the current parameter values."""
        r = -self.b
        for J, x in zip(self.J, self.blocks, strict=True):
            r = r + J @ x
        return r

    def Evaluate(self, parameters, residuals, jacobians):  # noqa: N802 (Ceres API name)
        r = -self.b
        for J, x in zip(self.J, parameters, strict=True):
            r = r + J @ x
        residuals[:] = self.scale * r
        if jacobians is not None:
            for k, J in enumerate(self.J):
                if jacobians[k] is not None:
                    jacobians[k][:] = (self.scale[:, None] * J).ravel()
        return True


def _second_difference(n: int, periodic: bool) -> np.ndarray:
    if periodic:
        D = np.zeros((n, n))
        for a in range(n):
            D[a, (a - 1) % n] += 1
            D[a, a] -= 2
            D[a, (a + 1) % n] += 1
        return D
    D = np.zeros((max(n - 2, 0), n))
    for a in range(n - 2):
        D[a, a:a + 3] = (1, -2, 1)
    return D


def _first_difference(n: int, periodic: bool) -> np.ndarray:
    m = n if periodic else n - 1
    D = np.zeros((m, n))
    for a in range(m):
        D[a, a] = -1
        D[a, (a + 1) % n] += 1
    return D


def _interleave(M: np.ndarray) -> np.ndarray:
    """Apply a per-component operator to x/y interleaved control rows: kron(M, I2)."""
    return np.kron(M, np.eye(2))


class _Grid:
    """Mutable per-layer solve state: the control rows Ceres optimises."""

    def __init__(self, layer, W: int, spacing_px: float):
        h, w = layer.mask.shape
        self.index = layer.index
        self.x0, self.y0, self.w, self.h, self.W = layer.x0, layer.y0, w, h, W
        (self.o_u, self.o_v, self.s_u, self.s_v, self.gw, self.gh,
         self.periodic) = make_grid(layer.x0, layer.y0, w, h, W, spacing_px)
        self.rows = [np.zeros(2 * self.gw) for _ in range(self.gh)]

    def u_in_layer(self, u: np.ndarray) -> np.ndarray:
        return self.x0 + np.mod(u - self.x0, self.W)

    def warp(self) -> SplineWarp:
        ctrl = np.stack(self.rows).reshape(self.gh, self.gw, 2).copy()
        return SplineWarp(self.index, self.x0, self.y0, self.w, self.h, self.W, self.o_u,
                          self.o_v, self.s_u, self.s_v, ctrl, self.periodic)


def _data_terms(grids: dict[int, _Grid], matches: Sequence[PairMatches]):
    """One linear cost per (pair, band of grid rows) with all of its fitting matches."""
    terms = []
    for pm in matches:
        fit = ~np.asarray(pm.heldout, dtype=bool)
        if not fit.any():
            continue
        pi, pj = pm.p_i[fit], pm.p_j[fit]
        wt = np.asarray(pm.weight, dtype=np.float64)[fit]
        m = 0.5 * (pi + pj)
        gi, gj = grids[pm.i], grids[pm.j]
        # Both grids share the row lattice, so grid row k of layer i is row k + shift of j.
        band = np.floor((m[:, 1] - gi.o_v) / gi.s_v).astype(np.intp)
        for k in np.unique(band):
            sel = band == k
            n = int(sel.sum())
            blocks, jac = [], []
            for g, slot in ((gi, 0), (gj, 2)):
                mu = g.u_in_layer(m[sel, 0])
                iu, wu, _ = axis_basis(mu, g.o_u, g.s_u, g.gw, g.periodic)
                iv, wv, _ = axis_basis(m[sel, 1], g.o_v, g.s_v, g.gh)
                if np.any(iv != iv[:1]):
                    raise SolveError("internal: rows of one band differ between matches")
                for a in range(4):
                    J = np.zeros((4 * n, 2 * g.gw))
                    coef = wv[:, a:a + 1] * wu  # (n, 4)
                    rows = 4 * np.arange(n)[:, None] + slot
                    np.add.at(J, (rows, 2 * iu), coef)
                    np.add.at(J, (rows + 1, 2 * iu + 1), coef)
                    blocks.append(g.rows[iv[0, a]])
                    jac.append(J)
            b = np.empty(4 * n)
            b[0::4] = pi[sel, 0] - m[sel, 0]
            b[1::4] = pi[sel, 1] - m[sel, 1]
            b[2::4] = pj[sel, 0] - m[sel, 0]
            b[3::4] = pj[sel, 1] - m[sel, 1]
            scale = np.repeat(np.sqrt(wt[sel]), 4)
            cost = _LinearCost(jac, b, scale.copy(), blocks)
            terms.append((cost, blocks, np.sqrt(wt[sel])))
    return terms


def _regulariser_terms(g: _Grid, smooth: float, anchor: float):
    """Bending energy + zero anchor of one grid: NormalPriors per row, linear costs across rows.

    Second differences are taken in control-point units (spacing-free), so the weights mean
    "px of bending per control cell".
    """
    priors, costs = [], []
    Dxx = _interleave(_second_difference(g.gw, g.periodic))
    info = anchor * np.eye(2 * g.gw) + smooth * Dxx.T @ Dxx
    cov = np.linalg.inv(info)
    cov = 0.5 * (cov + cov.T)
    for r in range(g.gh):
        priors.append((pyceres.factors.NormalPrior(np.zeros(2 * g.gw), cov), [g.rows[r]]))
    I = np.eye(2 * g.gw)
    Dx = _interleave(_first_difference(g.gw, g.periodic))
    a, b = math.sqrt(2 * smooth), math.sqrt(smooth)
    for r in range(g.gh - 1):
        # Cross term 2 u_xy^2 (u-difference of the row difference) between rows r and r + 1,
        # and u_yy^2 centred on row r + 1 when row r + 2 exists.
        if r + 2 < g.gh:
            jac = [np.vstack([-a * Dx, b * I]), np.vstack([a * Dx, -2 * b * I]),
                   np.vstack([np.zeros_like(Dx), b * I])]
            blocks = [g.rows[r], g.rows[r + 1], g.rows[r + 2]]
        else:
            jac = [-a * Dx, a * Dx]
            blocks = [g.rows[r], g.rows[r + 1]]
        nres = jac[0].shape[0]
        costs.append((_LinearCost(jac, np.zeros(nres), np.ones(nres), blocks), blocks))
    return priors, costs


def _solve_once(layers, matches, params: StitchParams, smooth: float):
    W = layers[0].pano_width
    grids = {ly.index: _Grid(ly, W, params.spline_spacing_px) for ly in layers}
    for pm in matches:
        if pm.i not in grids or pm.j not in grids:
            raise InputError(f"matches name camera {pm.i} or {pm.j}, which has no layer")
    problem = pyceres.Problem()
    data = _data_terms(grids, matches)
    keep = []  # Python cost objects must outlive the solve
    for cost, blocks, _ in data:
        problem.add_residual_block(cost, None, blocks)
        keep.append(cost)
    for g in grids.values():
        priors, costs = _regulariser_terms(g, smooth, params.anchor_weight)
        for cost, blocks in priors + costs:
            problem.add_residual_block(cost, None, blocks)
            keep.append(cost)
    opts = pyceres.SolverOptions()
    opts.linear_solver_type = pyceres.LinearSolverType.SPARSE_NORMAL_CHOLESKY
    opts.max_num_iterations = params.max_iterations
    opts.num_threads = 2
    opts.minimizer_progress_to_stdout = False
    opts.logging_type = pyceres.LoggingType.SILENT
    c = params.robust_scale_px
    rounds, iters, first_cost, summary = 0, 0, None, None
    while rounds < 4:
        rounds += 1
        summary = pyceres.SolverSummary()
        pyceres.solve(opts, problem, summary)
        iters += summary.num_successful_steps + summary.num_unsuccessful_steps
        if first_cost is None:
            first_cost = summary.initial_cost
        if summary.termination_type == pyceres.TerminationType.FAILURE:
            raise SolveError(f"spline warp solve failed: {summary.message}")
        # Cauchy weights 1 / (1 + r^2 / c^2) from each match's residual norm (IRLS).
        changed = 0.0
        for cost, _, sqrt_w in data:
            e2 = (cost.raw_residual().reshape(-1, 4) ** 2).sum(axis=1)
            robust = 1.0 / (1.0 + e2 / (2 * c * c))
            new = np.repeat(sqrt_w * np.sqrt(robust), 4)
            changed = max(changed, float(np.abs(new - cost.scale).max()))
            cost.scale[:] = new
        if changed < 1e-3:
            break
    return grids, SolveInfo(
        n_matches=int(sum(int((~np.asarray(m.heldout)).sum()) for m in matches)),
        n_parameters=int(sum(2 * g.gw * g.gh for g in grids.values())),
        n_residual_blocks=len(keep), irls_rounds=rounds, ceres_iterations=iters,
        initial_cost=float(first_cost), final_cost=float(summary.final_cost),
        smoothness_weight=smooth, solve_s=0.0, termination=str(summary.termination_type))


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
