"""Rig rotation refinement: a robust rotation-only bundle adjustment in pyceres.

When the rig calibration is only approximate (a few tenths of a degree per camera), most of the
seam error is a rotation per camera; the spline warps should only have to absorb parallax. Each
match (p_i, p_j) (``stitch.flow.PairMatches``, panorama px under the current rig) becomes two
rig-frame rays ``d_i, d_j`` (``sensors.equirect.equirect_to_dirs``). Correcting camera k's
orientation by a rotation ``R(w_k)`` applied in the rig frame (``R_rig_from_cam <- R(w_k)
R_rig_from_cam``) turns its rays into ``R(w_k) d``, so the residual is

    (R(w_i) d_i - R(w_j) d_j) * W / (2 pi)      (3-vector, ~panorama px near the equator)

with camera ``fixed`` held constant (the gauge). When the rig gives the cameras distinct
positions, near content shows parallax along the baseline ``b = c_j - c_i`` that no rotation
explains (on a rosette with a ground plane it is most of the matches, and fitting it tilts the
cameras by degrees); the residual is then the **epipolar distance** instead,

    (R(w_j) d_j) . n,   n = b x R(w_i) d_i / |b x R(w_i) d_i|     (times W / (2 pi))

which is zero for a correct rotation whatever the depth (the two rays and the baseline are
coplanar). One Python cost function per camera pair
evaluates all its matches vectorised; the Jacobian is exact, ``d(R(w) d)/dw = -R(w) [d]x
J_r(w)`` with the SO(3) right Jacobian ``J_r``. The robust loss is Cauchy, applied per match by
iteratively reweighted least squares (a Ceres loss would act on the whole pair's block). A weak
``pyceres.factors.NormalPrior`` on each correction keeps cameras that no match connects to the
fixed one at zero instead of leaving them unconstrained.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyceres

from sensors.equirect import dirs_to_equirect, equirect_to_dirs
from sensors.errors import InputError, SolveError

from .ceres_solve import solve
from .flow import PairMatches
from .projection import camera_dirs_from_pano

__all__ = ["RefineInfo", "REFINE_MODELS", "refine_rotations", "rotation_matrix",
           "rotate_matches"]

_PRIOR_SIGMA_RAD = math.radians(5.0)
_MIN_BASELINE_M = 1e-4  # below this, parallax is negligible: use the full ray difference
_MIN_EPIPOLAR_SIN = 0.3  # rays this close to the baseline direction give ill-posed planes


def _skew(v: np.ndarray) -> np.ndarray:
    """Skew matrices (..., 3, 3) of vectors (..., 3): skew(a) @ b = a x b."""
    z = np.zeros(v.shape[:-1])
    return np.stack([np.stack([z, -v[..., 2], v[..., 1]], -1),
                     np.stack([v[..., 2], z, -v[..., 0]], -1),
                     np.stack([-v[..., 1], v[..., 0], z], -1)], -2)


def rotation_matrix(rotvec: np.ndarray) -> np.ndarray:
    """Rodrigues: the rotation matrix (3, 3) of a rotation vector (3,) in radians."""
    x, y, z = (float(v) for v in np.asarray(rotvec, dtype=np.float64).reshape(3))
    th = math.sqrt(x * x + y * y + z * z)
    K = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    if th < 1e-12:
        return np.eye(3) + K
    return np.eye(3) + math.sin(th) / th * K + (1 - math.cos(th)) / th**2 * K @ K


def _right_jacobian(rotvec: np.ndarray) -> np.ndarray:
    w = np.asarray(rotvec, dtype=np.float64)
    th = float(np.linalg.norm(w))
    K = _skew(w)
    if th < 1e-8:
        return np.eye(3) - 0.5 * K
    return np.eye(3) - (1 - math.cos(th)) / th**2 * K + (th - math.sin(th)) / th**3 * K @ K


class _PairCost(pyceres.CostFunction):
    """All matches of one camera pair: blocks (w_i, w_j).

    Without a baseline the residual is the ray difference (3 rows per match); with one it is
    the epipolar distance (1 row per match), see the module docstring.
    """

    def __init__(self, d_i: np.ndarray, d_j: np.ndarray, baseline_m: np.ndarray,
                 scale_px: float, weight: np.ndarray):
        pyceres.CostFunction.__init__(self)
        self.d_i, self.d_j, self.k = d_i, d_j, scale_px
        nb = float(np.linalg.norm(baseline_m))
        self.b = None if nb < _MIN_BASELINE_M else np.asarray(baseline_m, float) / nb
        self.rows = 3 if self.b is None else 1
        self.sqrt_w = np.sqrt(weight)
        self.scale = np.repeat(self.sqrt_w, self.rows)
        self.set_num_residuals(self.rows * len(d_i))
        self.set_parameter_block_sizes([3, 3])

    def raw(self, w_i: np.ndarray, w_j: np.ndarray) -> np.ndarray:
        """Unweighted residuals (n, rows) in px."""
        x_i = self.d_i @ rotation_matrix(w_i).T
        x_j = self.d_j @ rotation_matrix(w_j).T
        if self.b is None:
            return self.k * (x_i - x_j)
        c = np.cross(self.b, x_i)
        n = c / np.linalg.norm(c, axis=1, keepdims=True)
        return self.k * np.einsum("nk,nk->n", x_j, n)[:, None]

    def _dx_dw(self, w: np.ndarray, d: np.ndarray) -> np.ndarray:
        return -rotation_matrix(w)[None] @ _skew(d) @ _right_jacobian(w)[None]  # (n, 3, 3)

    def Evaluate(self, parameters, residuals, jacobians):  # noqa: N802 (Ceres API name)
        w_i, w_j = parameters
        residuals[:] = self.scale * self.raw(w_i, w_j).ravel()
        if jacobians is None:
            return True
        s = self.k * self.scale[:, None]
        if self.b is None:
            for blk, (w, d, sign) in enumerate(((w_i, self.d_i, 1.0), (w_j, self.d_j, -1.0))):
                if jacobians[blk] is not None:
                    jacobians[blk][:] = (sign * s * self._dx_dw(w, d).reshape(-1, 3)).ravel()
            return True
        x_i = self.d_i @ rotation_matrix(w_i).T
        x_j = self.d_j @ rotation_matrix(w_j).T
        c = np.cross(self.b, x_i)
        cn = np.linalg.norm(c, axis=1, keepdims=True)
        n = c / cn
        if jacobians[0] is not None:
            # r = x_j . n(c(x_i)):  dn/dc = (I - n n^T) / |c|,  dc/dx_i = [b]x
            g = x_j - n * np.einsum("nk,nk->n", x_j, n)[:, None]  # (I - n n^T) x_j
            g = g / cn
            gx = g @ _skew(self.b)  # row vectors: g^T [b]x
            J = np.einsum("nk,nkl->nl", gx, self._dx_dw(w_i, self.d_i))
            jacobians[0][:] = (s * J).ravel()
        if jacobians[1] is not None:
            J = np.einsum("nk,nkl->nl", n, self._dx_dw(w_j, self.d_j))
            jacobians[1][:] = (s * J).ravel()
        return True


@dataclass(frozen=True)
class RefineInfo:
    """Result figures of :func:`refine_rotations`.

    ``rotvec_rad`` (N, 3) are the applied corrections (``R <- R(w) R``); the residual figures
    are per-match distances in panorama px over the fitting matches (robust median and RMSE).
    """

    model: str
    rotvec_rad: np.ndarray
    fixed: int
    n_matches: int
    median_before_px: float
    median_after_px: float
    rmse_before_px: float
    rmse_after_px: float
    ceres_iterations: int
    solve_s: float

    def to_dict(self) -> dict:
        """Plain dict (for reports)."""
        return {"model": self.model, "rotvec_rad": self.rotvec_rad.tolist(),
                "rotvec_deg": np.degrees(self.rotvec_rad).round(5).tolist(),
                "fixed_camera": self.fixed, "n_matches": self.n_matches,
                "median_before_px": self.median_before_px,
                "median_after_px": self.median_after_px, "rmse_before_px": self.rmse_before_px,
                "rmse_after_px": self.rmse_after_px, "ceres_iterations": self.ceres_iterations,
                "solve_s": self.solve_s}


def rotate_matches(matches: Sequence[PairMatches], rotvec_rad: np.ndarray, W: int
                   ) -> list[PairMatches]:
    """Where the matched content lands on layers projected with the refined rig.

    ``p_j`` is unwrapped to lie within W/2 of ``p_i`` (as the flow gives it).
    """
    rotvec_rad = np.asarray(rotvec_rad, dtype=np.float64)
    out = []
    for pm in matches:
        ui = dirs_to_equirect(equirect_to_dirs(pm.p_i, W) @ rotation_matrix(rotvec_rad[pm.i]).T,
                              W)
        uj = dirs_to_equirect(equirect_to_dirs(pm.p_j, W) @ rotation_matrix(rotvec_rad[pm.j]).T,
                              W)
        # Keep u near its old value (both arrays wrap into [0, W) otherwise).
        ui[:, 0] = pm.p_i[:, 0] + np.mod(ui[:, 0] - pm.p_i[:, 0] + W / 2, W) - W / 2
        uj[:, 0] = ui[:, 0] + np.mod(uj[:, 0] - ui[:, 0] + W / 2, W) - W / 2
        out.append(PairMatches(pm.i, pm.j, ui, uj, pm.weight, pm.heldout))
    return out


def _robust_stats(costs, params) -> tuple[float, float, list[np.ndarray]]:
    dist = [np.linalg.norm(c.raw(params[i], params[j]), axis=1) for c, i, j in costs]
    allv = np.concatenate(dist) if dist else np.zeros(0)
    return float(np.median(allv)), float(np.sqrt(np.mean(allv**2))), dist


#: Residual models of :func:`refine_rotations`.
REFINE_MODELS = ("auto", "epipolar", "rays")


def refine_rotations(rig, layers, matches: Sequence[PairMatches], fixed: int = 0,
                     robust_scale_px: float = 1.0, max_iterations: int = 50,
                     model: str = "auto"):
    """Refine camera rotations from overlap correspondences (rotation-only bundle adjustment).

    Parameters
    ----------
    rig : Rig
        The rig the layers were projected with.
    layers : sequence of ProjectedLayer
        The projected layers (only ``pano_width`` is read; kept for the pipeline's signature).
    matches : sequence of PairMatches
        Correspondences under ``rig``; held-out matches are ignored.
    fixed : int
        Camera whose rotation is held (the gauge).
    robust_scale_px : float
        Cauchy scale of the per-match robust loss.
    max_iterations : int
        Ceres iteration limit per reweighting round.
    model : {"auto", "epipolar", "rays"}
        Residual: ``rays`` (ray difference: right for a scene far away, biased by parallax),
        ``epipolar`` (distance to the epipolar plane: parallax-proof, but blind to rotations
        that move content along the baseline, e.g. yaw on a ring, which the spline stage then
        absorbs), ``auto`` = epipolar for pairs with a baseline, rays otherwise.

    Returns
    -------
    (Rig, dict)
        A new rig (``dataclasses.replace`` of every camera's rotation) and the figures of a
        :class:`RefineInfo` as a JSON-ready dict (``rotvec_rad`` is an (N, 3) list).

    Raises
    ------
    InputError
        No usable matches, or ``fixed`` is not a camera index.
    SolveError
        Ceres fails or returns non-finite corrections.
    """
    n = len(rig)
    if model not in REFINE_MODELS:
        raise InputError(f"unknown refinement model {model!r}; valid: "
                         + ", ".join(REFINE_MODELS), rig.source)
    if not 0 <= fixed < n:
        raise InputError(f"fixed camera {fixed} is not in 0..{n - 1}", rig.source)
    if not layers:
        raise InputError("no layers given to the rotation refinement", rig.source)
    W = layers[0].pano_width
    k = W / (2 * math.pi)
    params = [np.zeros(3) for _ in range(n)]
    costs = []
    for pm in matches:
        if not (0 <= pm.i < n and 0 <= pm.j < n):
            raise InputError(f"matches name camera {pm.i} or {pm.j}; the rig has {n}",
                             rig.source)
        fit = ~np.asarray(pm.heldout, dtype=bool)
        if fit.sum() == 0:
            continue
        d_i = equirect_to_dirs(pm.p_i[fit], W)
        d_j = equirect_to_dirs(pm.p_j[fit], W)
        wt = np.asarray(pm.weight, float)[fit]
        base = rig[pm.j].position_m - rig[pm.i].position_m
        if model == "rays":
            base = np.zeros(3)
        if np.linalg.norm(base) >= _MIN_BASELINE_M:
            # The epipolar plane holds the cameras' own rays (with a scene distance, the
            # panorama direction of a pixel is not its camera's ray).
            d_i = camera_dirs_from_pano(rig[pm.i], d_i)
            d_j = camera_dirs_from_pano(rig[pm.j], d_j)
            sin = np.linalg.norm(np.cross(base / np.linalg.norm(base), d_i), axis=1)
            keep = sin > _MIN_EPIPOLAR_SIN
            d_i, d_j, wt = d_i[keep], d_j[keep], wt[keep]
            if not len(d_i):
                continue
        costs.append((_PairCost(d_i, d_j, base, k, wt), pm.i, pm.j))
    if not costs:
        raise InputError("no correspondences to refine the rig rotations with", rig.source)
    med0, rmse0, _ = _robust_stats(costs, params)
    problem = pyceres.Problem()
    for c, i, j in costs:
        problem.add_residual_block(c, None, [params[i], params[j]])
    prior_cov = np.eye(3) * _PRIOR_SIGMA_RAD**2
    priors = []
    for p in params:
        pr = pyceres.factors.NormalPrior(np.zeros(3), prior_cov)
        priors.append(pr)
        problem.add_residual_block(pr, None, [p])
    problem.set_parameter_block_constant(params[fixed])
    opts = pyceres.SolverOptions()
    opts.linear_solver_type = pyceres.LinearSolverType.DENSE_QR
    opts.max_num_iterations = max_iterations
    opts.logging_type = pyceres.LoggingType.SILENT
    t0 = time.perf_counter()
    iters = 0
    for _ in range(5):
        summary = pyceres.SolverSummary()
        solve(opts, problem, summary)  # stops between iterations on a stop signal
        iters += summary.num_successful_steps + summary.num_unsuccessful_steps
        if summary.termination_type == pyceres.TerminationType.FAILURE:
            raise SolveError(f"rig rotation refinement failed: {summary.message}", rig.source)
        _, _, dist = _robust_stats(costs, params)
        change = 0.0
        for (c, _, _), e in zip(costs, dist, strict=True):
            new = c.sqrt_w / np.sqrt(1.0 + (e / robust_scale_px) ** 2)
            new = np.repeat(new, c.rows)
            change = max(change, float(np.abs(new - c.scale).max()))
            c.scale[:] = new
        if change < 1e-3:
            break
    rot = np.stack(params)
    if not np.all(np.isfinite(rot)):
        raise SolveError("rig rotation refinement returned non-finite corrections", rig.source)
    med1, rmse1, _ = _robust_stats(costs, params)
    new_R = np.stack([rotation_matrix(w) @ c.R_rig_from_cam for w, c in zip(rot, rig,
                                                                            strict=True)])
    info = RefineInfo(model, rot, fixed, int(sum(len(c.d_i) for c, _, _ in costs)), med0, med1,
                      rmse0, rmse1, iters, time.perf_counter() - t0)
    return rig.with_rotations(new_R), info.to_dict()
