"""The calibration stage of a stitch: coarse-to-fine lens and rotation refinement with a guard.

``--refine intrinsics`` (and ``auto`` when the overlaps support it) runs, on the rig file's
nominal calibration:

1. **features** (``stitch.refine_features``): SIFT matches between overlapping images, verified
   by RANSAC; they converge from seams tens of pixels apart, where dense flow finds nothing;
2. **coarse solve** (``stitch.refine_calib``): rotations and lenses from the feature matches;
3. **dense flow** on the overlaps re-projected with the coarse rig; its matches are taken back
   to image pixels (``camera_matches_from_pano``) so every solve sees the same data;
4. **fine solve** on features + flow: rotations with lenses (from the coarse result);
5. **guard**: every candidate is scored on the held-out matches (never used by a solve): the
   RMS of bearing residuals capped at ``_CAP_PX``. When the lens refinement does not beat the
   nominal calibration, a rotations-only solve on the same data is the third candidate. A more
   refined candidate is kept only if it improves on the simpler one by ``_GAIN``; a candidate
   whose solve failed or left the plausible range (focal +-20 %, principal point 100 px,
   rotation 20 degrees) is dropped. A refinement that is not kept is reported with a warning.

The kept rig is projected onto the ground plane the solve found (``stitch.projection.
with_ground_plane``; the scene above the horizon stays at infinity), and the flow matches,
mapped onto its layers, feed the spline repair directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sensors.errors import InputError, SolveError
from sensors.progress import get_logger, note

from .metrics import residual_stats
from .params import StitchParams
from .projection import find_overlaps, project_rig, with_ground_plane
from .refine_calib import (
    CalibrationResult,
    CameraMatches,
    camera_matches_from_pano,
    match_residuals_px,
    pano_matches_from_camera,
    refine_calibration,
)
from .refine_features import detect_features, feature_matches
from .refine_lens import LENS_PARAMS, camera_angles_deg
from .rig import Rig

__all__ = ["CalibrationOutcome", "supports_intrinsics", "guard_choice", "guard_rotations",
           "calibration_report", "calibrate_rig", "GUARD_CANDIDATES"]

#: Candidates the guard chooses from, simplest first.
GUARD_CANDIDATES = ("nominal", "rotations", "intrinsics")

_MODEL = "rays"  # residual of the calibration solves (stitch.refine_calib)
_CAP_PX = 10.0  # held-out residuals beyond this count as this much (wrong matches)
_GAIN = 0.95  # a more refined candidate must cut the held-out score by 5 %
_MAX_FIT_PER_PAIR = 300  # flow matches per pair handed to the fine solves
_MAX_FEATURES_PER_PAIR = 150  # feature matches per pair handed to the fine solves
_MIN_SUPPORT = 40  # feature matches per camera for intrinsics
_MIN_SPREAD = 0.4  # fraction of the image the matches span (10-90 % range, x or y)
_LIMITS = {"log_focal": math.log(1.2), "pp_px": 100.0, "rotation_rad": math.radians(20.0)}

_log = get_logger(__name__)


@dataclass(frozen=True, eq=False)
class CalibrationOutcome:
    """What :func:`calibrate_rig` decided.

    ``rig`` is the kept calibration; ``matches`` the flow correspondences on its layers
    (``stitch.flow.PairMatches``, for the spline repair), ``layers``/``overlaps`` its
    projection; ``info`` the report section; ``warnings`` the lines to surface.
    """

    rig: Rig
    layers: list
    overlaps: list
    matches: list | None
    info: dict
    warnings: list[str] = field(default_factory=list)


def supports_intrinsics(rig: Rig, matches: list[CameraMatches]) -> tuple[bool, str]:
    """Do the matches support a lens refinement of every camera?

    Every camera needs ``_MIN_SUPPORT`` fitting matches spanning ``_MIN_SPREAD`` of its image
    (10-90 % range of x or of y): a lens's scale shows only between matches far apart.
    """
    pts: list[list[np.ndarray]] = [[] for _ in rig]
    for cm in matches:
        fit = ~cm.heldout
        pts[cm.i].append(cm.x_i[fit])
        pts[cm.j].append(cm.x_j[fit])
    for k, c in enumerate(rig):
        p = np.concatenate(pts[k]) if pts[k] else np.zeros((0, 2))
        if len(p) < _MIN_SUPPORT:
            return False, f"camera {c.id} has {len(p)} feature matches (< {_MIN_SUPPORT})"
        w, h = c.size
        lo, hi = np.percentile(p, [10, 90], axis=0)
        if max((hi[0] - lo[0]) / w, (hi[1] - lo[1]) / h) < _MIN_SPREAD:
            return False, f"camera {c.id}'s matches cover too little of its image"
    return True, "every camera has enough matches spread over its image"


def _score(rig: Rig, heldout: list[CameraMatches], W: int, ground_inv_m: float = 0.0) -> dict:
    d = match_residuals_px(rig, heldout, W, ground_inv_m=ground_inv_m)
    stats = residual_stats(d)
    stats["score_px"] = float(np.sqrt(np.mean(np.minimum(d, _CAP_PX) ** 2))) if d.size else None
    return stats


def guard_choice(scores: dict[str, dict]) -> str:
    """The kept candidate: walking ``GUARD_CANDIDATES`` from the simplest, a candidate
    replaces the kept one only if its held-out score is below ``_GAIN`` times the kept one's."""
    kept = "nominal"
    for name in GUARD_CANDIDATES[1:]:
        s = scores.get(name)
        if s is None or s.get("score_px") is None:
            continue
        if s["score_px"] < _GAIN * scores[kept]["score_px"]:
            kept = name
    return kept


def guard_rotations(nominal: Rig, refined: Rig, matches, W: int) -> tuple[str, dict]:
    """Guard of the rotation refinement: ``"rotations"`` or ``"nominal"`` by the held-out
    panorama matches (``stitch.flow.PairMatches`` under ``nominal``), and the scores."""
    cm = camera_matches_from_pano(nominal, matches, W)
    heldout = [c.subset(c.heldout) for c in cm]
    scores = {"nominal": _score(nominal, heldout, W), "rotations": _score(refined, heldout, W)}
    if scores["nominal"]["score_px"] is None:
        return "rotations", {"scores": scores, "note": "no held-out matches"}
    kept = guard_choice(scores)
    return kept, {"scores": scores, "gain_required": _GAIN, "cap_px": _CAP_PX}


def _plausible(res: CalibrationResult) -> str | None:
    """Why a solve left the plausible range (None when it did not)."""
    ld = res.lens_delta
    if np.abs(ld[:, 0]).max() > _LIMITS["log_focal"]:
        return "a focal length moved by more than 20 %"
    if np.hypot(ld[:, 1], ld[:, 2]).max() > _LIMITS["pp_px"]:
        return "a principal point moved by more than 100 px"
    if np.linalg.norm(res.rotvec_rad, axis=1).max() > _LIMITS["rotation_rad"]:
        return "a camera turned by more than 20 degrees"
    return None


def calibration_report(nominal: Rig, refined: Rig) -> list[dict]:
    """Per camera: yaw/pitch/roll change (deg), focal change (%), principal point change (px)
    and the distortion before and after."""
    rows = []
    for a, b in zip(nominal, refined, strict=True):
        ya, pa, ra = camera_angles_deg(a.R_rig_from_cam)
        yb, pb, rb = camera_angles_deg(b.R_rig_from_cam)
        Ka, Kb = a.camera.K, b.camera.K
        dpp = [float(Kb[0, 2] - Ka[0, 2]), float(Kb[1, 2] - Ka[1, 2])]
        rows.append({
            "camera": a.id,
            "yaw_change_deg": (yb - ya + 180.0) % 360.0 - 180.0,
            "pitch_change_deg": pb - pa,
            "roll_change_deg": (rb - ra + 180.0) % 360.0 - 180.0,
            "focal_change_pct": 100.0 * (Kb[0, 0] / Ka[0, 0] - 1.0),
            "focal_px": [float(Ka[0, 0]), float(Kb[0, 0])],
            "principal_point_change_px": dpp,
            "principal_point_shift_px": float(np.hypot(*dpp)),
            "distortion_before": a.camera.dist.tolist(),
            "distortion_after": b.camera.dist.tolist(),
        })
    return rows


def _cap(matches: list[CameraMatches], most: int) -> list[CameraMatches]:
    """At most ``most`` fitting matches per pair (an even stride; held-out kept)."""
    out = []
    for cm in matches:
        fit = np.flatnonzero(~cm.heldout)
        if len(fit) <= most:
            out.append(cm)
            continue
        keep = np.flatnonzero(cm.heldout)
        pick = fit[np.linspace(0, len(fit) - 1, most).round().astype(int)]
        out.append(cm.subset(np.sort(np.concatenate([pick, keep]))))
    return out


def calibrate_rig(rig: Rig, images, layers, overlaps, params: StitchParams, flow,
                  feature_matches_override: list[CameraMatches] | None = None
                  ) -> CalibrationOutcome | None:
    """Refine the rig's lenses and rotations (see the module docstring).

    Parameters
    ----------
    rig : Rig
        The nominal rig.
    images : list of ndarray
        Checked BGR images in rig order.
    layers, overlaps : list
        The projection with ``rig`` (``stitch.projection``).
    params : StitchParams
        ``refine_mode``, ``width_px``, ``refine_fixed_camera``, ``robust_scale_px``,
        ``refine_share_lens_groups``, ``seed`` and the flow settings.
    flow : callable(layers, overlaps, params) -> list of PairMatches
        The overlap flow.
    feature_matches_override : list of CameraMatches, optional
        Use these instead of detecting features (tests feed wrong matches this way).

    Returns
    -------
    CalibrationOutcome, or None when ``refine_mode`` is ``auto`` and the matches do not support
    a lens refinement (the caller refines rotations instead).
    """
    W = params.width_px
    warnings: list[str] = []
    pairs = [(o.i, o.j) for o in overlaps]
    fm = feature_matches_override
    if fm is None:
        fm = feature_matches(rig, images, pairs, detect_features(images), seed=params.seed)
    ok, why = supports_intrinsics(rig, fm)
    if params.refine_mode == "auto" and not ok:
        _log.info("refine auto: rotations only (%s)", why)
        return None
    if not ok:
        note(warnings, _log, f"lens refinement asked, but {why}; the guard decides")
    kw = dict(fixed=params.refine_fixed_camera, share_groups=params.refine_share_lens_groups,
              robust_scale_px=params.robust_scale_px, model=_MODEL)
    candidates: dict[str, CalibrationResult] = {}
    dropped: dict[str, str] = {}
    start_rig = rig
    coarse = None
    try:
        coarse = refine_calibration(rig, fm, W, intrinsics=True, **kw)
        why_not = _plausible(coarse)
        if why_not is None:
            start_rig = coarse.rig
        else:
            dropped["coarse"] = why_not
            coarse = None
    except (SolveError, InputError) as exc:
        dropped["coarse"] = str(exc)
    # Dense flow on the overlaps as the coarse calibration projects them.
    lay = project_rig(start_rig, images, W, params.feather_px, params.margin_px)
    ovs = find_overlaps(lay)
    pm = flow(lay, ovs, params) if ovs else []
    cm = camera_matches_from_pano(start_rig, pm, W)
    data = _cap(list(fm), _MAX_FEATURES_PER_PAIR) + _cap(cm, _MAX_FIT_PER_PAIR)
    start = None if coarse is None else (coarse.rotvec_rad, coarse.lens_delta,
                                         coarse.ground_inv_m)
    heldout = [c.subset(c.heldout) for c in list(fm) + cm]
    rigs = {"nominal": rig}
    scores: dict[str, dict] = {}

    def candidate(name, intr, st):
        try:
            res = refine_calibration(rig, data, W, intrinsics=intr, start=st, **kw)
        except (SolveError, InputError) as exc:
            dropped[name] = str(exc)
            return
        why_not = _plausible(res)
        if why_not is not None:
            dropped[name] = why_not
            return
        candidates[name] = res
        rigs[name] = res.rig

    def rescore():
        # One scene for every candidate: the ground plane of the most refined solve.
        best = next((candidates[k] for k in ("intrinsics", "rotations") if k in candidates),
                    coarse)
        g = 0.0 if best is None else best.ground_inv_m
        for name, r in rigs.items():
            scores[name] = _score(r, heldout, W, g)
        return g

    candidate("intrinsics", True, start)
    ground_inv_m = rescore()
    # The rotations-only candidate is solved only when the lens refinement is not kept.
    if guard_choice(scores) != "intrinsics":
        candidate("rotations", False, (np.zeros((len(rig), 3)), np.zeros((len(rig), 5)),
                                       ground_inv_m))
        ground_inv_m = rescore()
    kept = guard_choice(scores)
    for name, reason in dropped.items():
        note(warnings, _log, f"calibration refinement: the {name} solve was dropped ({reason})")
    if kept != "intrinsics":
        note(warnings, _log,
             f"calibration refinement: lens refinement not kept; the held-out residuals favour "
             f"the {kept} calibration ("
             + ", ".join(f"{k} {v['score_px']:.3f} px" for k, v in scores.items()
                         if v.get("score_px") is not None) + ")")
    final = rigs[kept]
    # The kept solve's ground plane (a guard that keeps the rig file trusts no solve's scene).
    ground_inv_m = candidates[kept].ground_inv_m if kept in candidates else 0.0
    if ground_inv_m > 0:
        # Project onto the scene the solve found: the ground's parallax is then removed by
        # geometry, and the repair corrects only what the plane does not explain.
        final = with_ground_plane(final, 1.0 / ground_inv_m)
    if final is start_rig:
        lay_f, ovs_f = lay, ovs
    else:
        lay_f = project_rig(final, images, W, params.feather_px, params.margin_px)
        ovs_f = find_overlaps(lay_f)
    matches = pano_matches_from_camera(final, cm, W)
    info = {
        "mode_requested": params.refine_mode,
        "mode_used": "intrinsics",
        "support": why,
        "kept": kept,
        "guard": {"scores": scores, "gain_required": _GAIN, "cap_px": _CAP_PX,
                  "dropped": dropped},
        "ground_plane_m": (1.0 / ground_inv_m) if ground_inv_m > 0 else None,
        "n_feature_matches": int(sum(len(c) for c in fm)),
        "n_flow_matches": int(sum(len(c) for c in cm)),
        "lens_params": list(LENS_PARAMS),
        "share_lens_groups": params.refine_share_lens_groups,
        "fixed_camera": params.refine_fixed_camera,
        "cameras": calibration_report(rig, final),
        "solves": {k: {"median_before_px": v.median_before_px,
                       "median_after_px": v.median_after_px,
                       "ceres_iterations": v.ceres_iterations, "solve_s": v.solve_s}
                   for k, v in candidates.items()},
    }
    return CalibrationOutcome(final, lay_f, ovs_f, matches, info, warnings)
