"""Calibrate a dual-fisheye camera from its overlap ring, in pyceres.

Unknowns: per lens the focal ``f`` (px per radian; with the disc radius it fixes the field of
view), the centre ``(cx, cy)`` and a radial term ``k1``, and the back lens's orientation
relative to the front lens, ``R = R_start R(w)``. A pixel pair ``(x0, x1)``
(:class:`~stitch.dual_fisheye.ring.PixelPairs`) becomes two unit rays, and the residual is
their difference in the rig frame in frame pixels along the ring,

    (ray0(x0) - R ray1(x1)) * r90      (r90: the radius of rays 90 degrees off axis)

All pairs lie near the great circle halfway between the axes, so some combinations are barely
seen by them: moving both centres together while tilting the back lens, or trading focal for
``k1`` so that the radius at 90 degrees off axis stays (the ring fixes that radius, not the
slope of the lens curve through it). Priors settle those: each centre is held near its detected
disc's centre, and since both lenses are one design, their discs are held to span about the
same field of view (which fixes how the 90-degree radius is shared between them), their mean
``k1`` near zero (equidistant) and the difference of their ``k1`` weakly near zero. The residuals of
all pairs are evaluated vectorised in one Python cost function with a central-difference
Jacobian; the robust loss is Cauchy, per pair, by iteratively reweighted least squares (a Ceres
loss would act on the whole block).

:func:`calibrate` runs the whole ring calibration: nominal start from the discs and a field of
view, the field of view whose ring strips agree best (a 1-D search), SIFT matches in the ring
strips where it has enough texture (any roll of the back lens), then rounds of dense ring flow.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyceres

from sensors.errors import SolveError

from ..params import StitchParams
from .circles import ImageCircle
from .ground import LENS_CENTRES, ground_info, ground_parallax
from .lens import R_BACK, FisheyeLens, pixels_to_rays, rotation_matrix, theta_of
from .ring import (
    STRIP_OVERSAMPLE,
    PixelPairs,
    coarse_matches,
    dense_matches,
    ring_agreement,
    ring_strips,
    strip_columns,
)

__all__ = ["Calibration", "nominal_lenses", "solve_calibration", "calibrate", "usable_fov",
           "edge_margin_px", "solve_ring", "dense_round"]

_CENTRE_SIGMA_PX = 1.0
_K1_SIGMA = 0.05
_K1_DIFF_SIGMA = 0.02
_FOV_DIFF_SIGMA_RAD = math.radians(0.5)
_PRIOR_MATCHES = 20.0  # each prior weighs like this many pairs
_STEPS = np.array([1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-6, 1e-6, 1e-7, 1e-7, 1e-7])
_N = 11
_N_GROUND = 4
_N_PRIORS = 9
_GROUND_STEPS = np.array([1e-5, 1e-4, 1e-4, 1e-5])
_GROUND_START = (0.01, 0.0, 0.0, 0.0)
_GROUND_GAIN = 0.95
_MAX_GROUND_PARALLAX_RAD = 0.1  # a plane ten baselines away: nearer is not a ground
_TILT_SIGMA = 0.35  # the ground's tilt from the frame's down, as tan: about 20 degrees
_MIN_PAIRS = 30
_FOV_SEARCH_DEG = 14.0
_FOV_STEP_DEG = 2.0


@dataclass(frozen=True, eq=False)
class Calibration:
    """A dual-fisheye calibration.

    Parameters
    ----------
    lenses : (FisheyeLens, FisheyeLens)
        Front and back lens (``fov_rad``: the usable disc's half angle).
    R_rig_from_back : (3, 3)
        Orientation of the back lens; the front lens is the rig frame.
    circles : (ImageCircle, ImageCircle)
        The detected discs.
    layout : str
        ``"side_by_side"`` or ``"stacked"``.
    info : dict
        Figures of each stage (pairs, ring residual median and p90 in frame px, time).
    """

    lenses: tuple[FisheyeLens, FisheyeLens]
    R_rig_from_back: np.ndarray
    circles: tuple[ImageCircle, ImageCircle]
    layout: str
    info: dict = field(default_factory=dict)


def nominal_lenses(circles: tuple[ImageCircle, ImageCircle], fov_deg: float
                   ) -> tuple[FisheyeLens, FisheyeLens]:
    """Equidistant lenses whose discs are ``circles`` and span ``fov_deg`` each."""
    half = math.radians(fov_deg) / 2
    return tuple(FisheyeLens(c.radius_px / half, c.cx_px, c.cy_px, 0.0, half)
                 for c in circles)


def _unpack(x: np.ndarray, base: tuple[FisheyeLens, FisheyeLens], R0: np.ndarray):
    lenses = (FisheyeLens(x[0], x[1], x[2], x[6], base[0].fov_rad),
              FisheyeLens(x[3], x[4], x[5], x[7], base[1].fov_rad))
    return lenses, R0 @ rotation_matrix(x[8:11])


class _RingCost(pyceres.CostFunction):
    """Every pair's scene-direction difference plus the priors (see the module docstring).

    Two parameter blocks: the lenses and the back lens's rotation (``_N``), and the ground
    ``(s, tx, tz, r)`` of :mod:`~stitch.dual_fisheye.ground` (``s = 0``: no ground, rays
    compared as they are).
    """

    def __init__(self, pairs: PixelPairs, circles, scale: float, R0: np.ndarray):
        super().__init__()
        self.x0, self.x1 = pairs.x0, pairs.x1
        self.n = len(pairs)
        self.scale = scale
        self.R0 = R0
        self.c0 = np.array([circles[0].cx_px, circles[0].cy_px, circles[1].cx_px,
                            circles[1].cy_px])
        self.radii = np.array([circles[0].radius_px, circles[1].radius_px])
        self.sqrt_w = np.sqrt(np.asarray(pairs.weight, dtype=np.float64))
        self.irls = np.ones(self.n)
        self.prior_w = math.sqrt(_PRIOR_MATCHES)
        self.set_num_residuals(3 * self.n + _N_PRIORS)
        self.set_parameter_block_sizes([_N, _N_GROUND])

    def _front(self, x: np.ndarray) -> np.ndarray:
        return pixels_to_rays(self.x0, x[0], x[1], x[2], x[6])

    def _back(self, x: np.ndarray) -> np.ndarray:
        return pixels_to_rays(self.x1, x[3], x[4], x[5], x[7])

    def _rotation(self, x: np.ndarray) -> np.ndarray:
        return self.R0 @ rotation_matrix(x[8:11])

    @staticmethod
    def _lens_scene(k: int, rays: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Rig rays of lens ``k`` with the ground's parallax added (none without a ground)."""
        return rays if g[0] <= 0.0 else rays + ground_parallax(LENS_CENTRES[k], rays, g)

    def _scene(self, a: np.ndarray, bR: np.ndarray, g: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        return self._lens_scene(0, a, g), self._lens_scene(1, bR, g)

    def ray_residual(self, x: np.ndarray, g: np.ndarray | None = None) -> np.ndarray:
        """(N, 3) unweighted differences in frame px along the ring."""
        da, db = self._scene(self._front(x), self._back(x) @ self._rotation(x).T,
                             np.zeros(_N_GROUND) if g is None else g)
        return (da - db) * self.scale

    def _prior(self, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        return np.array([(x[1] - self.c0[0]) / _CENTRE_SIGMA_PX,
                         (x[2] - self.c0[1]) / _CENTRE_SIGMA_PX,
                         (x[4] - self.c0[2]) / _CENTRE_SIGMA_PX,
                         (x[5] - self.c0[3]) / _CENTRE_SIGMA_PX,
                         0.5 * (x[6] + x[7]) / _K1_SIGMA,
                         (x[6] - x[7]) / _K1_DIFF_SIGMA,
                         (theta_of(np.array([self.radii[0] / x[0]]), x[6])[0]
                          - theta_of(np.array([self.radii[1] / x[3]]), x[7])[0])
                         / _FOV_DIFF_SIGMA_RAD,
                         g[1] / _TILT_SIGMA, g[2] / _TILT_SIGMA]) * self.prior_w

    def residual(self, x: np.ndarray, g: np.ndarray | None = None) -> np.ndarray:
        """All residuals: weighted differences (3N) then the priors."""
        g = np.zeros(_N_GROUND) if g is None else g
        data = self.ray_residual(x, g) * (self.sqrt_w * self.irls)[:, None]
        return np.concatenate([data.ravel(), self._prior(x, g)])

    def Evaluate(self, parameters, residuals, jacobians):  # noqa: N802 (Ceres API name)
        x = np.array(parameters[0], dtype=np.float64)
        g = np.array(parameters[1], dtype=np.float64)
        a, b, R = self._front(x), self._back(x), self._rotation(x)
        w = (self.sqrt_w * self.irls)[:, None] * self.scale
        bR = b @ R.T
        da, db = self._scene(a, bR, g)
        r = np.concatenate([((da - db) * w).ravel(), self._prior(x, g)])
        if not np.all(np.isfinite(r)):
            return False
        residuals[:] = r
        if jacobians is None:
            return True
        n_data = 3 * self.n
        if jacobians[0] is not None:
            # Central differences, each parameter moving only the rays it touches: the front
            # lens's four move ``a``, the back lens's four move ``b``, the rotation moves ``R b``.
            J = np.empty((r.size, _N))

            def front(v):
                return self._lens_scene(0, v, g)

            def back(v):
                return self._lens_scene(1, v, g)

            for k in range(_N):
                e = np.zeros(_N)
                e[k] = _STEPS[k]
                if k in (0, 1, 2, 6):
                    d = (front(pixels_to_rays(self.x0, *(x + e)[[0, 1, 2, 6]]))
                         - front(pixels_to_rays(self.x0, *(x - e)[[0, 1, 2, 6]]))) * w
                elif k in (3, 4, 5, 7):
                    d = -(back(pixels_to_rays(self.x1, *(x + e)[[3, 4, 5, 7]]) @ R.T)
                          - back(pixels_to_rays(self.x1, *(x - e)[[3, 4, 5, 7]]) @ R.T)) * w
                else:
                    Rp = self.R0 @ rotation_matrix((x + e)[8:11])
                    Rm = self.R0 @ rotation_matrix((x - e)[8:11])
                    d = -(back(b @ Rp.T) - back(b @ Rm.T)) * w
                J[:n_data, k] = d.ravel() / (2 * _STEPS[k])
                J[n_data:, k] = (self._prior(x + e, g) - self._prior(x - e, g)) / (2 * _STEPS[k])
            jacobians[0][:] = J.ravel()
        if jacobians[1] is not None:
            J = np.empty((r.size, _N_GROUND))
            for k in range(_N_GROUND):
                e = np.zeros(_N_GROUND)
                e[k] = _GROUND_STEPS[k]
                # one-sided at the bounds at 0 (allowed; below is not)
                lo = g if k in (0, 3) and g[k] < e[k] else g - e
                pa, pb = self._scene(a, bR, g + e)
                ma, mb = self._scene(a, bR, lo)
                step = float((g + e - lo)[k])
                J[:n_data, k] = (((pa - pb) - (ma - mb)) * w).ravel() / step
                J[n_data:, k] = (self._prior(x, g + e) - self._prior(x, lo)) / step
            jacobians[1][:] = J.ravel()
        return True


def solve_calibration(pairs: PixelPairs, lenses: tuple[FisheyeLens, FisheyeLens],
                      R_rig_from_back: np.ndarray, circles, scale: float,
                      robust_scale_px: float = 1.0, max_iterations: int = 50,
                      ground: Sequence[float] | None = None, fit_ground: bool = True
                      ) -> tuple[tuple[FisheyeLens, FisheyeLens], np.ndarray, dict]:
    """Refine both lenses, the back lens's orientation and the ground below the camera
    (:mod:`~stitch.dual_fisheye.ground`) from ring pixel pairs.

    Parameters
    ----------
    ground : (s, tx, tz, r), optional
        Where to start the ground (a previous solve's ``figures["ground"]``); default: a
        plane straight down at 1/100 of a radian of parallax.
    fit_ground : bool
        False: the whole ring at infinity (no ground).

    Returns
    -------
    (lenses, R_rig_from_back, figures) with the pairs' residual median and p90 (frame px)
    before and after, and the ground solved (``ground``; ``s = 0``: none seen).
    """
    if len(pairs) < _MIN_PAIRS:
        raise SolveError(f"only {len(pairs)} correspondences in the lenses' overlap ring "
                         f"(need {_MIN_PAIRS}); the frame may not be a dual-fisheye 360 capture, "
                         "or its field of view is far from the one given (--fov)")
    R0 = np.asarray(R_rig_from_back, dtype=np.float64)
    cost = _RingCost(pairs, circles, scale, R0)
    x = np.array([lenses[0].f_px, lenses[0].cx_px, lenses[0].cy_px, lenses[1].f_px,
                  lenses[1].cx_px, lenses[1].cy_px, lenses[0].k1, lenses[1].k1, 0.0, 0.0, 0.0])
    g = np.array(_GROUND_START if ground is None else ground, dtype=np.float64)
    g[[0, 3]] = np.clip(g[[0, 3]], 0.0, _MAX_GROUND_PARALLAX_RAD) if fit_ground else 0.0
    d0 = np.linalg.norm(cost.ray_residual(x, g), axis=1)
    problem = pyceres.Problem()
    problem.add_residual_block(cost, None, [x, g])
    problem.set_parameter_lower_bound(g, 0, 0.0)
    problem.set_parameter_upper_bound(g, 0, _MAX_GROUND_PARALLAX_RAD)
    problem.set_parameter_lower_bound(g, 3, 0.0)
    problem.set_parameter_upper_bound(g, 3, _MAX_GROUND_PARALLAX_RAD)
    if not fit_ground:
        problem.set_parameter_block_constant(g)
    opts = pyceres.SolverOptions()
    opts.linear_solver_type = pyceres.LinearSolverType.DENSE_QR
    opts.max_num_iterations = max_iterations
    opts.logging_type = pyceres.LoggingType.SILENT
    t0 = time.perf_counter()
    for _ in range(4):
        summary = pyceres.SolverSummary()
        pyceres.solve(opts, problem, summary)
        if summary.termination_type == pyceres.TerminationType.FAILURE:
            raise SolveError(f"dual-fisheye calibration failed: {summary.message}")
        d = np.linalg.norm(cost.ray_residual(x, g), axis=1)
        new = 1.0 / np.sqrt(1.0 + (d / robust_scale_px) ** 2)
        change = float(np.abs(new - cost.irls).max())
        cost.irls[:] = new
        if change < 1e-3:
            break
    if not np.all(np.isfinite(x)) or not np.all(np.isfinite(g)) or x[0] <= 0 or x[3] <= 0:
        raise SolveError("dual-fisheye calibration returned an invalid lens")
    d1 = np.linalg.norm(cost.ray_residual(x, g), axis=1)
    out_lenses, R = _unpack(x, lenses, R0)
    figures = {"pairs": len(pairs),
               "before_median_px": float(np.median(d0)), "before_p90_px":
                   float(np.percentile(d0, 90)),
               "after_median_px": float(np.median(d1)), "after_p90_px":
                   float(np.percentile(d1, 90)),
               "ground": [float(v) for v in g] if fit_ground else None,
               "robust_cost": float(np.sum(np.log1p((d1 / robust_scale_px) ** 2)
                                           * cost.sqrt_w ** 2)),
               "seconds": round(time.perf_counter() - t0, 3)}
    return out_lenses, R, figures


def solve_ring(pairs: PixelPairs, lenses: tuple[FisheyeLens, FisheyeLens],
               R_rig_from_back: np.ndarray, circles, scale: float,
               robust_scale_px: float = 1.0, ground: Sequence[float] | None = None
               ) -> tuple[tuple[FisheyeLens, FisheyeLens], np.ndarray, dict]:
    """:func:`solve_calibration` with the ground and without, keeping the ground only where
    it explains the ring clearly better (its robust cost at most ``_GROUND_GAIN`` of the
    other's).

    Three more unknowns always fit a little noise: on a far scene a spurious plane would move
    the lenses off what a stitch at infinity needs. ``figures["ground"]`` is ``None`` when the
    ground was dropped; ``figures["ground_cost_ratio"]`` says by how much it won or lost.
    """
    with_g = solve_calibration(pairs, lenses, R_rig_from_back, circles, scale, robust_scale_px,
                               ground=ground)
    without = solve_calibration(pairs, lenses, R_rig_from_back, circles, scale,
                                robust_scale_px, fit_ground=False)
    ratio = with_g[2]["robust_cost"] / max(without[2]["robust_cost"], 1e-12)
    keep = with_g if ratio <= _GROUND_GAIN and with_g[2]["ground"][0] > 0 else without
    fig = dict(keep[2])
    fig["ground_cost_ratio"] = round(float(ratio), 4)
    return keep[0], keep[1], fig


def dense_round(k: int, pairs: PixelPairs, lenses, R_rig_from_back: np.ndarray, circles,
                scale: float, robust_scale_px: float, ground):
    """Dense round ``k``'s solve: the first decides between ground and none
    (:func:`solve_ring`), the later ones refine what it kept."""
    if k == 0:
        return solve_ring(pairs, lenses, R_rig_from_back, circles, scale, robust_scale_px)
    return solve_calibration(pairs, lenses, R_rig_from_back, circles, scale, robust_scale_px,
                             ground=ground, fit_ground=ground is not None)


def usable_fov(lens: FisheyeLens, circle: ImageCircle, edge_px: float) -> FisheyeLens:
    """The lens with ``fov_rad`` stopping at the disc (less ``edge_px``) all around."""
    off = math.hypot(lens.cx_px - circle.cx_px, lens.cy_px - circle.cy_px)
    theta = float(lens.theta_rad(max(circle.radius_px - edge_px - off, 1.0)))
    return FisheyeLens(lens.f_px, lens.cx_px, lens.cy_px, lens.k1,
                       min(theta, math.radians(175.0)))


def edge_margin_px(circles) -> float:
    """Pixels dropped at each disc's rim: its darkened band (see ``ImageCircle``) and one more.
    """
    return 1.0 + max(c.radius_px - c.usable_radius_px for c in circles)


def calibrate(image: np.ndarray, circles: tuple[ImageCircle, ImageCircle], layout: str,
              fov_deg: float = 190.0, params: StitchParams | None = None,
              dense_rounds: int = 3) -> Calibration:
    """Calibrate both lenses and their relative orientation from the frame's overlap ring.

    Parameters
    ----------
    image : (h, w, 3) uint8
        The dual-fisheye frame.
    circles : (ImageCircle, ImageCircle)
        Its discs (:func:`~stitch.dual_fisheye.circles.find_circles`).
    layout : str
        The frame layout (recorded only).
    fov_deg : float
        Starting field of view of each lens (full angle, degrees).
    params : StitchParams, optional
        Flow settings (``flow_*``) and ``robust_scale_px`` of the dense stage.
    dense_rounds : int
        Rounds of dense ring flow after the coarse stages.

    Returns
    -------
    Calibration

    Raises
    ------
    SolveError
        Too few correspondences in the ring, or Ceres fails.
    """
    params = params or StitchParams()
    edge = edge_margin_px(circles)
    lenses = nominal_lenses(circles, fov_deg)
    R = R_BACK.copy()
    n_cols = strip_columns(lenses[0])
    scale = n_cols / (2 * math.pi * STRIP_OVERSAMPLE)  # residuals in frame px along the ring
    info: dict = {"start_fov_deg": float(fov_deg), "strip_columns": n_cols, "stages": []}
    # Coarse 1: the field of view whose strips agree best (a 1-D search; the disc radius
    # fixes each lens's focal for a given field of view).
    # At the frame's own resolution (half the strips'), which is enough to rank the candidates.
    fovs = fov_deg + np.arange(-_FOV_SEARCH_DEG, _FOV_SEARCH_DEG + 0.5, _FOV_STEP_DEG)
    fovs = fovs[fovs > 181.0]  # two lenses of 180 degrees or less have no overlap
    span = math.radians(max(fovs) / 2 - 90 + 4)
    scores = [ring_agreement(ring_strips(image, nominal_lenses(circles, fv), R, circles, edge,
                                         n_cols // 2, span)) for fv in fovs]
    best = float(fovs[int(np.argmax(scores))])
    lenses = nominal_lenses(circles, best)
    info["searched_fov_deg"] = best
    ground = None
    # Coarse 2: SIFT matches in the ring (any roll of the back lens), when the ring has them.
    strips = ring_strips(image, lenses, R, circles, edge, n_cols, math.radians(30))
    pairs = coarse_matches(strips)
    if len(pairs) >= _MIN_PAIRS:
        lenses, R, fig = solve_calibration(pairs, lenses, R, circles, scale,
                                           robust_scale_px=3.0, fit_ground=False)
        info["stages"].append({"stage": "coarse", **fig})
    for k in range(dense_rounds):
        strips = ring_strips(image, lenses, R, circles, edge, n_cols)
        pairs = dense_matches(strips, params)
        # The first dense round may start a few pixels off: a wider robust scale.
        robust = params.robust_scale_px if info["stages"] else 3.0
        lenses, R, fig = dense_round(k, pairs, lenses, R, circles, scale, robust, ground)
        info["stages"].append({"stage": "dense", **fig})
        ground = fig["ground"]
    info["ground"] = ground_info(ground)
    info["ground_params"] = None if ground is None else [float(v) for v in ground]
    lenses = tuple(usable_fov(L, c, edge) for L, c in zip(lenses, circles, strict=True))
    info["fov_deg"] = [2 * math.degrees(L.fov_rad) for L in lenses]
    info["f_px"] = [L.f_px for L in lenses]
    info["k1"] = [L.k1 for L in lenses]
    return Calibration(lenses, R, tuple(circles), layout, info)
