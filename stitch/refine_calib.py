"""Rig calibration refinement: rotations and lenses jointly, in pyceres.

Real rigs come with a nominal calibration whose lenses differ from the real ones by a percent
of focal length and a few pixels of principal point; rotating the cameras cannot absorb that
(the seams stay tens of pixels apart where the layers' scales differ). Here every camera's
rotation correction ``w_k`` (rig frame, ``R <- R(w) R`` as in ``stitch.refine``) and its lens
adjustment ``l_k`` (``stitch.refine_lens.LENS_PARAMS``: log focal scale, principal point shift,
k1, k2; one block per camera, or per lens group with ``share_groups``) are solved together.

Correspondences are **camera pixels** (:class:`CameraMatches`), so they do not depend on the
rig the layers were projected with. A match (x_i, x_j) becomes two rig-frame bearings

    r = R(w) R0 ray(lens0 + l, x),  b = r            (the scene at infinity), or, with the
    b = (c + t r) / D,  |c + t r| = D                 camera's scene distance D and centre c

and the residual is ``(b_i - b_j) * W / (2 pi)`` (3-vector, about panorama px near the
equator). For a rig whose cameras sit off its centre, with the scene at infinity, a ground plane
below the rig is solved too (``stitch.refine_scene``): a ray pointing down is compared by the
direction of the point where it meets the plane. Jacobians are analytic for the rotations, the
ground plane and the lenses of the radial rectilinear and equidistant models
(``stitch.refine_lens.pixel_rays_lens_jacobian``), central differences otherwise. The robust
loss is Cauchy by iteratively reweighted least squares, its scale annealed from the median
residual down to ``robust_scale_px`` so that a start tens of pixels off is not all outliers.
Priors (``pyceres.factors.NormalPrior``) pull every adjustment towards the rig file: focal
3 %, principal point 20 px, k1 0.02, k2 0.01, rotation 5 degrees; camera ``fixed`` keeps its
rotation (the gauge).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyceres

from sensors.equirect import dirs_to_equirect
from sensors.errors import InputError, SolveError

from .flow import PairMatches
from .projection import pano_dirs_from_camera, scene_depth_m, source_pixels
from .refine import _right_jacobian, rotation_matrix
from .refine import _skew as _skew_rows
from .refine_lens import (
    LENS_PARAMS,
    adjusted_camera,
    apply_calibration,
    pixel_rays,
    pixel_rays_lens_jacobian,
    pixel_rays_radius,
)
from .refine_scene import MAX_GROUND_INV_M, ground_bearings, ground_bearings_jacobian
from .rig import Rig

__all__ = ["CameraMatches", "CalibrationResult", "PRIOR_SIGMAS", "camera_matches_from_pano",
           "pano_matches_from_camera", "bearings", "match_residuals_px", "refine_calibration"]

#: Prior sigmas of the lens adjustments (``LENS_PARAMS`` order) and of the rotations (rad).
PRIOR_SIGMAS = {"log_focal": 0.03, "cx_px": 20.0, "cy_px": 20.0, "k1": 0.02, "k2": 0.01,
                "rotation_rad": math.radians(5.0)}

_FD_STEP = np.array([1e-6, 1e-3, 1e-3, 1e-6, 1e-6])
_ROT_STEP = 1e-7
_IRLS_ROUNDS = 6
_MIN_BASELINE_M = 1e-4
_MIN_EPIPOLAR_SIN = 0.3


@dataclass(frozen=True, eq=False)
class CameraMatches:
    """Correspondences between camera i's and camera j's images (pixels).

    Parameters
    ----------
    i, j : int
        Camera indices.
    x_i, x_j : (N, 2) float64
        The same scene content in image i and image j (pixel coordinates).
    weight : (N,) float64
        Confidence in (0, 1].
    heldout : (N,) bool
        Kept aside for the guard and the report (the solve ignores these).
    source : str
        Where they came from (``"features"`` or ``"flow"``).
    """

    i: int
    j: int
    x_i: np.ndarray
    x_j: np.ndarray
    weight: np.ndarray
    heldout: np.ndarray
    source: str = "flow"

    def __len__(self) -> int:
        return len(self.x_i)

    def subset(self, keep: np.ndarray) -> CameraMatches:
        """The matches selected by a boolean or index array."""
        return CameraMatches(self.i, self.j, self.x_i[keep], self.x_j[keep], self.weight[keep],
                             self.heldout[keep], self.source)


def camera_matches_from_pano(rig: Rig, matches: Sequence[PairMatches], W: int
                             ) -> list[CameraMatches]:
    """Image pixels of panorama correspondences (layers projected with ``rig``)."""
    out = []
    for pm in matches:
        xi, yi, oki = source_pixels(rig[pm.i], pm.p_i[:, 0], pm.p_i[:, 1], W)
        xj, yj, okj = source_pixels(rig[pm.j], pm.p_j[:, 0], pm.p_j[:, 1], W)
        ok = oki & okj
        if not ok.any():
            continue
        out.append(CameraMatches(pm.i, pm.j, np.column_stack([xi, yi])[ok].astype(np.float64),
                                 np.column_stack([xj, yj])[ok].astype(np.float64),
                                 np.asarray(pm.weight, float)[ok],
                                 np.asarray(pm.heldout, bool)[ok], "flow"))
    return out


def pano_matches_from_camera(rig: Rig, matches: Sequence[CameraMatches], W: int
                             ) -> list[PairMatches]:
    """Where image correspondences lie on layers projected with ``rig`` (``p_j`` unwrapped to
    lie within W/2 of ``p_i``)."""
    out = []
    for cm in matches:
        if not len(cm):
            continue
        ui = dirs_to_equirect(bearings(rig, cm.i, cm.x_i), W)
        uj = dirs_to_equirect(bearings(rig, cm.j, cm.x_j), W)
        uj[:, 0] = ui[:, 0] + np.mod(uj[:, 0] - ui[:, 0] + W / 2, W) - W / 2
        out.append(PairMatches(cm.i, cm.j, ui, uj, cm.weight, cm.heldout))
    return out


def bearings(rig: Rig, k: int, px: np.ndarray, ground_inv_m: float = 0.0) -> np.ndarray:
    """Rig-frame bearings (N, 3) from the rig centre of pixels of camera k: their panorama
    directions (with the camera's scene distance, ``stitch.projection.scene_depth_m``), or with
    ``ground_inv_m`` > 0 the directions of the points they see on a ground plane that far
    below the rig (``stitch.refine_scene``; rays above the horizon stay at infinity)."""
    c = rig[k]
    rays = pixel_rays(c.camera, px) @ c.R_rig_from_cam.T
    if ground_inv_m > 0 and math.isinf(scene_depth_m(c)):
        return ground_bearings(c.position_m, rays, ground_inv_m)
    return pano_dirs_from_camera(c, rays)


def match_residuals_px(rig: Rig, matches: Sequence[CameraMatches], W: int,
                       split: str = "heldout", ground_inv_m: float = 0.0) -> np.ndarray:
    """Bearing disagreement (panorama px, ``|b_i - b_j| W / 2 pi``) of every match of a split
    (``"heldout"``, ``"fit"`` or ``"all"``) under a rig (and a ground plane, see
    :func:`bearings`)."""
    k = W / (2 * math.pi)
    out = []
    for cm in matches:
        sel = {"heldout": cm.heldout, "fit": ~cm.heldout}.get(split, np.ones(len(cm), bool))
        if not sel.any():
            continue
        bi = bearings(rig, cm.i, cm.x_i[sel], ground_inv_m)
        bj = bearings(rig, cm.j, cm.x_j[sel], ground_inv_m)
        out.append(k * np.linalg.norm(bi - bj, axis=1))
    return np.concatenate(out) if out else np.zeros(0)


class _Side:
    """One camera's end of a pair: its pixels and what the bearings need.

    ``ground``: the camera sits off the rig centre with the scene at infinity, so its bearings
    follow the ground-plane scene model (``stitch.refine_scene``) when the solve has one.
    """

    def __init__(self, cam, px: np.ndarray):
        self.cam, self.px = cam, px
        self.ground = math.isinf(scene_depth_m(cam)) and bool(np.any(cam.position_m))
        self._key: bytes | None = None
        self._cached: tuple[np.ndarray, np.ndarray | None] | None = None

    def _rays_radius(self, lens: np.ndarray | None):
        key = None if lens is None else np.asarray(lens, float).tobytes()
        if self._cached is None or key != self._key:
            camera = self.cam.camera if lens is None else adjusted_camera(self.cam.camera, lens)
            start = None if self._cached is None else self._cached[1]
            if start is not None and self._key is not None and key is not None:
                # Warm start from the last lens: the solve moves it little between calls.
                out = pixel_rays_radius(camera, self.px, start)
                if not np.all(np.isfinite(out[0])):
                    out = pixel_rays_radius(camera, self.px)
            else:
                out = pixel_rays_radius(camera, self.px)
            self._key, self._cached = key, out
        return self._cached

    def rays(self, lens: np.ndarray | None) -> np.ndarray:
        return self._rays_radius(lens)[0]

    def bearings(self, w: np.ndarray, rays: np.ndarray, rho: float | None = None) -> np.ndarray:
        R = rotation_matrix(w) @ self.cam.R_rig_from_cam
        if rho is not None and self.ground:
            return ground_bearings(self.cam.position_m, rays @ R.T, rho)
        return pano_dirs_from_camera(self.cam, rays @ R.T)

    def jacobian(self, w: np.ndarray, lens: np.ndarray | None, rho: float | None = None
                 ) -> tuple:
        """Bearings (n, 3) and their derivatives (n, 3, 3) by w, (n, 3, 5) by the lens and
        (n, 3, 1) by the ground plane's inverse distance (None without a ground model)."""
        rays, radius = self._rays_radius(lens)
        b = self.bearings(w, rays, rho)
        Rw = rotation_matrix(w)
        v = rays @ self.cam.R_rig_from_cam.T
        Jg = None
        db_dr = None  # derivative of the bearing by the rig-frame ray R(w) v
        if rho is not None and self.ground:
            _, db_dr, dg_drho = ground_bearings_jacobian(self.cam.position_m, v @ Rw.T, rho)
            Jg = dg_drho[:, :, None]
        elif math.isinf(scene_depth_m(self.cam)) or not np.any(self.cam.position_m):
            db_dr = np.eye(3)[None]
        if db_dr is not None:
            # b = g(R(w) v):  db/dw = dg/dr (-R(w) [v]x J_r(w))  (as in stitch.refine)
            Jw = db_dr @ (-Rw[None] @ _skew_rows(v) @ _right_jacobian(w)[None])
        else:
            Jw = np.empty(b.shape + (3,))
            for a in range(3):
                e = np.zeros(3)
                e[a] = _ROT_STEP
                Jw[..., a] = (self.bearings(w + e, rays)
                              - self.bearings(w - e, rays)) / (2 * _ROT_STEP)
        Jl = None
        if lens is not None:
            base = self.cam.camera
            dray = None
            if db_dr is not None:
                dray = pixel_rays_lens_jacobian(adjusted_camera(base, lens), self.px, radius)
            if dray is not None:
                Jl = db_dr @ (Rw @ self.cam.R_rig_from_cam)[None] @ dray
            else:
                Jl = np.empty(b.shape + (5,))
                for a in range(5):
                    e = np.zeros(5)
                    e[a] = _FD_STEP[a]
                    plus = pixel_rays_radius(adjusted_camera(base, lens + e), self.px, radius)[0]
                    minus = pixel_rays_radius(adjusted_camera(base, lens - e), self.px,
                                              radius)[0]
                    Jl[..., a] = (self.bearings(w, plus, rho)
                                  - self.bearings(w, minus, rho)) / (2 * _FD_STEP[a])
        return b, Jw, Jl, Jg


def _skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])


class _PairCost(pyceres.CostFunction):
    """All matches of one camera pair; parameter blocks are each side's rotation and, when
    refined, its lens (a lens shared by both sides appears once).

    Without a baseline (or with a finite scene distance) the residual is the bearing
    difference (3 rows per match); with a baseline and the scene at infinity it is the
    epipolar distance ``b_j . n``, ``n = B x b_i / |B x b_i|`` (1 row), which near content's
    parallax along the baseline does not bias (see ``stitch.refine``).
    """

    def __init__(self, side_i: _Side, side_j: _Side, slots: list[tuple[int, int | None]],
                 n_blocks: list[int], scale_px: float, weight: np.ndarray,
                 baseline: np.ndarray | None, ground_slot: int | None = None):
        pyceres.CostFunction.__init__(self)
        self.sides = (side_i, side_j)
        self.slots = slots  # per side: (index of its w block, index of its lens block or None)
        self.gi = ground_slot  # index of the ground plane's block (bearing model only)
        self.k = scale_px
        self.B = baseline
        self.rows = 3 if baseline is None else 1
        self.sqrt_w = np.sqrt(weight)
        self.scale = self.sqrt_w.copy()
        self.set_num_residuals(self.rows * len(weight))
        self.set_parameter_block_sizes(n_blocks)

    def _rho(self, params) -> float | None:
        return None if self.gi is None else float(params[self.gi][0])

    def _bearings(self, params) -> list[np.ndarray]:
        b = []
        rho = self._rho(params)
        for side, (wi, li) in zip(self.sides, self.slots, strict=True):
            lens = None if li is None else params[li]
            b.append(side.bearings(params[wi], side.rays(lens), rho))
        return b

    def _residual(self, bi: np.ndarray, bj: np.ndarray) -> np.ndarray:
        if self.B is None:
            return self.k * (bi - bj)
        c = bi @ _skew(self.B).T
        n = c / np.linalg.norm(c, axis=1, keepdims=True)
        return self.k * np.einsum("nk,nk->n", bj, n)[:, None]

    def raw(self, params) -> np.ndarray:
        """Unweighted residuals (n, rows) in px."""
        return self._residual(*self._bearings(params))

    def Evaluate(self, parameters, residuals, jacobians):  # noqa: N802 (Ceres API name)
        if jacobians is None:
            residuals[:] = (self.scale[:, None] * self.raw(parameters)).ravel()
            return bool(np.all(np.isfinite(residuals)))
        n = len(self.scale)
        rho = self._rho(parameters)
        out = [side.jacobian(parameters[wi], None if li is None else parameters[li], rho)
               for side, (wi, li) in zip(self.sides, self.slots, strict=True)]
        bi, bj = out[0][0], out[1][0]
        if self.B is None:
            dr = [self.k * np.broadcast_to(np.eye(3), (n, 3, 3)),
                  -self.k * np.broadcast_to(np.eye(3), (n, 3, 3))]
        else:
            Bx = _skew(self.B)
            c = bi @ Bx.T
            cn = np.linalg.norm(c, axis=1, keepdims=True)
            nn = c / cn
            g = (bj - nn * np.einsum("nk,nk->n", bj, nn)[:, None]) / cn
            dr = [self.k * (g @ Bx)[:, None, :], self.k * nn[:, None, :]]
        acc = [np.zeros((n, self.rows, len(p))) for p in parameters]
        for (wi, li), (_, Jw, Jl, Jg), d in zip(self.slots, out, dr, strict=True):
            acc[wi] += d @ Jw
            if li is not None:
                acc[li] += d @ Jl
            if Jg is not None:
                acc[self.gi] += d @ Jg
        s = self.scale[:, None]
        residuals[:] = (s * self._residual(bi, bj)).ravel()
        for blk, J in enumerate(acc):
            if jacobians[blk] is not None:
                jacobians[blk][:] = (s[:, :, None] * J).reshape(self.rows * n, -1).ravel()
        return bool(np.all(np.isfinite(residuals)))


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """What :func:`refine_calibration` found.

    ``rotvec_rad`` (N, 3) are the rotation corrections, ``lens_delta`` (N, 5) every camera's
    lens adjustment (``LENS_PARAMS``; zeros for a rotations-only solve), both relative to the
    rig handed in; ``rig`` has them applied. Residual figures are fitting-match bearing
    distances in panorama px. ``ground_inv_m`` is the solved ground plane's inverse distance
    below the rig centre (1/m; 0 without one, see ``stitch.refine_scene``).
    """

    rig: Rig
    rotvec_rad: np.ndarray
    lens_delta: np.ndarray
    intrinsics: bool
    n_matches: int
    median_before_px: float
    median_after_px: float
    ceres_iterations: int
    solve_s: float
    lens_blocks: list[int] = field(default_factory=list)
    ground_inv_m: float = 0.0


def _lens_slots(rig: Rig, share_groups: bool) -> list[int]:
    """Lens block of every camera: its own, or its group's when groups share a lens."""
    if not share_groups:
        return list(range(len(rig)))
    first: dict[str, int] = {}
    slots = []
    for k, c in enumerate(rig):
        key = c.group or f"\0{k}"
        slots.append(first.setdefault(key, len(first)))
    return slots


def refine_calibration(rig: Rig, matches: Sequence[CameraMatches], W: int, *,
                       intrinsics: bool = True, fixed: int = 0,
                       start: tuple[np.ndarray, np.ndarray] | None = None,
                       share_groups: bool = False,
                       robust_scale_px: float = 1.0, max_iterations: int = 30,
                       model: str = "auto", ground_plane: bool = True) -> CalibrationResult:
    """Refine the rig's rotations, and its lenses with ``intrinsics``, from image matches.

    Parameters
    ----------
    rig : Rig
        The nominal rig (the priors pull towards it).
    matches : sequence of CameraMatches
        Image correspondences; held-out ones are ignored.
    W : int
        Panorama width (sets the pixel scale of the residuals, ``W / 2 pi`` per radian).
    intrinsics : bool
        Also refine the lenses (else rotations only).
    fixed : int
        Camera whose rotation is held (the gauge).
    start : (rotvec (N, 3), lens_delta (N, 5)[, ground_inv_m]), optional
        Where to start (e.g. a coarse solve's result); relative to ``rig``.
    share_groups : bool
        Cameras of one lens group (``RigCamera.group``) share one lens adjustment.
    robust_scale_px : float
        Final Cauchy scale of the per-match robust loss.
    max_iterations : int
        Ceres iteration limit per reweighting round.
    model : {"auto", "epipolar", "rays"}
        Residual: bearing difference (``rays``), epipolar distance (``epipolar``, pairs with a
        baseline), ``auto`` = epipolar for pairs with a baseline when the scene is at infinity.
    ground_plane : bool
        With bearing residuals, cameras off the rig centre and the scene at infinity: solve a
        ground plane below the rig with the calibration (``stitch.refine_scene``), so that the
        ground's parallax is not taken for a tilt of the lenses.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    InputError
        No usable matches, or ``fixed`` is not a camera index.
    SolveError
        Ceres fails or returns non-finite values.

    Examples
    --------
    Exact matches of a ring whose lenses differ from the nominal ones; the solve finds the
    focal length errors:

    >>> import numpy as np
    >>> from stitch.refine_calib import CameraMatches, refine_calibration
    >>> from stitch.synthetic import perturb_intrinsics, ring_rig
    >>> from sensors.camera import project
    >>> nominal = ring_rig(6, 320, 240, hfov_deg=90.0, ring_radius_m=0.0)
    >>> true = perturb_intrinsics(nominal, np.random.default_rng(1), focal_error=0.02)
    >>> rng = np.random.default_rng(2)
    >>> ms = []
    >>> for i in range(6):
    ...     j = (i + 1) % 6
    ...     yaw = 2 * np.pi * (i + 0.5) / 6 + rng.uniform(-0.2, 0.2, 200)
    ...     pitch = rng.uniform(-0.5, 0.5, 200)
    ...     d = np.column_stack([np.sin(yaw) * np.cos(pitch), -np.sin(pitch),
    ...                          np.cos(yaw) * np.cos(pitch)])
    ...     xi = project(true[i].camera, d @ true[i].R_rig_from_cam)
    ...     xj = project(true[j].camera, d @ true[j].R_rig_from_cam)
    ...     ms.append(CameraMatches(i, j, xi, xj, np.ones(200), np.zeros(200, bool)))
    >>> res = refine_calibration(nominal, ms, 1024)
    >>> f_err = [abs(r.camera.K[0, 0] / t.camera.K[0, 0] - 1) for r, t in zip(res.rig, true)]
    >>> bool(max(f_err) < 0.002), bool(res.median_after_px < 0.05)
    (True, True)
    """
    n = len(rig)
    if model not in ("auto", "epipolar", "rays"):
        raise InputError(f"unknown refinement model {model!r}; valid: auto, epipolar, rays",
                         rig.source)
    if not 0 <= fixed < n:
        raise InputError(f"fixed camera {fixed} is not in 0..{n - 1}", rig.source)
    k = W / (2 * math.pi)
    slots = _lens_slots(rig, share_groups)
    n_lens = max(slots) + 1
    rot = [np.zeros(3) for _ in range(n)]
    lens = [np.zeros(5) for _ in range(n_lens)]
    ground = np.zeros(1)
    if start is not None:
        for c in range(n):
            rot[c][:] = start[0][c]
            if intrinsics:
                lens[slots[c]][:] = start[1][c]
        if len(start) > 2:
            ground[0] = min(max(float(start[2]), 0.0), MAX_GROUND_INV_M)
    costs = []
    for cm in matches:
        if not (0 <= cm.i < n and 0 <= cm.j < n) or cm.i == cm.j:
            raise InputError(f"matches name cameras {cm.i} and {cm.j}; the rig has {n}",
                             rig.source)
        fit = ~np.asarray(cm.heldout, bool)
        if fit.sum() < 3:
            continue
        blocks: list[np.ndarray] = [rot[cm.i], rot[cm.j]]
        side_slots = []
        for side, wi in ((cm.i, 0), (cm.j, 1)):
            li = None
            if intrinsics:
                blk = lens[slots[side]]
                li = next((b for b, p in enumerate(blocks) if p is blk), None)
                if li is None:
                    blocks.append(blk)
                    li = len(blocks) - 1
            side_slots.append((wi, li))
        xi, xj, wt = cm.x_i[fit], cm.x_j[fit], np.asarray(cm.weight, float)[fit]
        base = rig[cm.j].position_m - rig[cm.i].position_m
        nb = float(np.linalg.norm(base))
        finite = math.isfinite(scene_depth_m(rig[cm.i]))
        epi = model == "epipolar" or (model == "auto" and not finite)
        B = base / nb if epi and nb >= _MIN_BASELINE_M else None
        if B is not None:
            # Rays close to the baseline give ill-posed epipolar planes.
            d_i = bearings(rig, cm.i, xi)
            keep = np.linalg.norm(np.cross(B, d_i), axis=1) > _MIN_EPIPOLAR_SIN
            xi, xj, wt = xi[keep], xj[keep], wt[keep]
            if len(xi) < 3:
                continue
        sides = (_Side(rig[cm.i], xi), _Side(rig[cm.j], xj))
        gi = None
        if ground_plane and B is None and not finite and (sides[0].ground or sides[1].ground):
            blocks.append(ground)
            gi = len(blocks) - 1
        cost = _PairCost(*sides, side_slots, [len(b) for b in blocks], k, wt, B, gi)
        costs.append((cost, blocks))
    if not costs:
        raise InputError("no correspondences to refine the rig calibration with", rig.source)

    def distances():
        return [np.linalg.norm(c.raw(b), axis=1) for c, b in costs]

    d0 = np.concatenate(distances())
    problem = pyceres.Problem()
    for c, b in costs:
        problem.add_residual_block(c, None, b)
    used = {id(p) for _, b in costs for p in b}
    sig = np.array([PRIOR_SIGMAS[p] for p in LENS_PARAMS])
    for p in rot:
        if id(p) in used:
            problem.add_residual_block(pyceres.factors.NormalPrior(
                np.zeros(3), np.eye(3) * PRIOR_SIGMAS["rotation_rad"] ** 2), None, [p])
    for p in lens:
        if id(p) in used:
            problem.add_residual_block(pyceres.factors.NormalPrior(np.zeros(5), np.diag(sig**2)),
                                       None, [p])
    if id(rot[fixed]) in used:
        problem.set_parameter_block_constant(rot[fixed])
    if id(ground) in used:
        problem.set_parameter_lower_bound(ground, 0, 0.0)
        problem.set_parameter_upper_bound(ground, 0, MAX_GROUND_INV_M)
    opts = pyceres.SolverOptions()
    opts.linear_solver_type = pyceres.LinearSolverType.DENSE_QR
    opts.max_num_iterations = max_iterations
    opts.logging_type = pyceres.LoggingType.SILENT
    t0 = time.perf_counter()
    iters = 0
    scale = max(robust_scale_px, 2.0 * float(np.median(d0)))
    for _ in range(_IRLS_ROUNDS):
        for (c, _), e in zip(costs, distances(), strict=True):
            c.scale[:] = c.sqrt_w / np.sqrt(1.0 + (e / scale) ** 2)
        summary = pyceres.SolverSummary()
        pyceres.solve(opts, problem, summary)
        iters += summary.num_successful_steps + summary.num_unsuccessful_steps
        if summary.termination_type == pyceres.TerminationType.FAILURE:
            raise SolveError(f"rig calibration refinement failed: {summary.message}",
                             rig.source)
        if scale <= robust_scale_px:
            break
        scale = max(robust_scale_px, scale / 3.0)
    rv = np.stack(rot)
    ld = np.stack([lens[slots[c]] for c in range(n)]) if intrinsics else np.zeros((n, 5))
    if not (np.all(np.isfinite(rv)) and np.all(np.isfinite(ld))):
        raise SolveError("rig calibration refinement returned non-finite values", rig.source)
    d1 = np.concatenate(distances())
    return CalibrationResult(apply_calibration(rig, rv, ld if intrinsics else None), rv, ld,
                             intrinsics, int(d1.size), float(np.median(d0)),
                             float(np.median(d1)), iters, time.perf_counter() - t0, slots,
                             float(ground[0]) if id(ground) in used else 0.0)
