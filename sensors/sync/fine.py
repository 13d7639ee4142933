"""Fine video-to-gyro sync: the offset (and the readout time, and the focal length, when unknown)
that minimise the reprojection of every flow sample under the gyro's rotation.

Each flow sample is scored between its own two row times (rolling shutter included) with a
Cauchy loss, so moving objects and bad flow have bounded pull; the offset is found by
golden-section search per window, the readout jointly with the offset (they are correlated
through the row times), the focal length by golden section on a common scale of ``K``.
"""

from __future__ import annotations

import numpy as np

from ..errors import SolveError
from ..quaternion import qconj, qmul, qto_matrix
from ..types import CameraModel
from ..video_motion import FlowSamples
from .numerics import golden

__all__ = ["fit_drift", "fit_focal", "fit_readout", "refine_window_offsets", "reproj_cost"]


def reproj_cost(samples: FlowSamples, orient, readout_s: float, offset_s: float,
                scale: float) -> float:
    """Robust reprojection cost of the samples under the gyro's rotation between their row
    times, with the log ``offset_s`` ahead of the video (Cauchy loss of scale ``scale`` rad)."""
    t0, t1 = samples.sample_times(readout_s)
    q0 = orient.at(t0 + offset_s)
    q1 = orient.at(t1 + offset_s)
    # Ray in frame k+1 = R(t1)^T R(t0) ray0 for a static point (docs/architecture.md rotations).
    R = qto_matrix(qmul(qconj(q1), q0))
    pred = np.einsum("mij,mj->mi", R, samples.ray0_cam)
    err = np.linalg.norm(pred - samples.ray1_cam, axis=1)
    # Cauchy loss: outliers (moving objects, bad flow) have bounded pull on the offset.
    return float(np.sum(np.log1p((err / scale) ** 2)))


def fit_readout(samples: FlowSamples, wins, orient, offset0: float, readout0: float,
                frame_dt: float, scale: float) -> tuple[float, float]:
    """Joint (offset, readout) fit on the windows' samples (Karpenko et al. 2011 style).

    Offset and readout are correlated through the row times, so they are solved together
    (Nelder-Mead in ms units, readout kept inside [0, frame interval]) on a seeded subset of
    the samples. Returns ``(readout_s, offset_s)``; the per-window offsets are refined afterwards
    around that offset with the fitted readout.
    """
    from scipy.optimize import minimize

    keep = np.zeros(samples.n_pairs, dtype=bool)
    for a, b in wins:
        keep |= (samples.frame_t_s[:-1] >= a) & (samples.frame_t_s[1:] <= b)
    sub = samples.select_pairs(keep)
    if sub.pair.size > 20000:
        pick = np.sort(np.random.default_rng(0).choice(sub.pair.size, 20000, replace=False))
        sub = sub.take(pick)

    def cost(x: np.ndarray) -> float:
        r = float(np.clip(x[1] * 1e-3, 0.0, frame_dt))
        return reproj_cost(sub, orient, r, offset0 + x[0] * 1e-3, scale)

    start = np.array([0.0, readout0 * 1e3])
    simplex = np.array([start, start + [1.0, 0.0], start + [0.0, 0.25 * frame_dt * 1e3]])
    res = minimize(cost, start, method="Nelder-Mead",
                   options={"initial_simplex": simplex, "xatol": 2e-3, "fatol": 1e-9,
                            "maxfev": 200})
    r = float(np.clip(res.x[1] * 1e-3, 0.0, frame_dt))
    if not np.isfinite(r):
        raise SolveError("readout time estimation failed")
    return r, offset0 + float(res.x[0]) * 1e-3


def fit_focal(samples: FlowSamples, wins, orient, offset0: float, readout_s: float,
              scale: float) -> CameraModel:
    """Focal length (both axes scaled together) minimising the reprojection, golden section
    over a factor 0.5-2 of the current camera's focal."""
    keep = np.zeros(samples.n_pairs, dtype=bool)
    for a, b in wins:
        keep |= (samples.frame_t_s[:-1] >= a) & (samples.frame_t_s[1:] <= b)
    sub = samples.select_pairs(keep)
    if sub.pair.size > 20000:
        sub = sub.take(np.sort(np.random.default_rng(1).choice(sub.pair.size, 20000,
                                                               replace=False)))
    cam0 = samples.camera

    def with_scale(log_s: float) -> CameraModel:
        K = cam0.K.copy()
        K[0, 0] *= np.exp(log_s)
        K[0, 1] *= np.exp(log_s)
        K[1, 1] *= np.exp(log_s)
        return CameraModel(K, cam0.dist, cam0.model, cam0.size, cam0.source, dict(cam0.meta))

    def cost(log_s: float) -> float:
        return reproj_cost(sub.with_camera(with_scale(log_s)), orient, readout_s, offset0,
                            scale)

    best = golden(cost, np.log(0.5), np.log(2.0), 1e-3)
    if abs(best - np.log(0.5)) < 2e-3 or abs(best - np.log(2.0)) < 2e-3:
        raise SolveError("focal length estimate ran to the search limit (0.5x-2x the guess)")
    return with_scale(best)


def refine_window_offsets(samples: FlowSamples, wins, orient, readout_s: float,
                          base_offset_s: float, scale: float, min_samples: int = 200
                          ) -> tuple[list[float], list[float]]:
    """Offset per window by golden section within 3 ms of ``base_offset_s``.

    The coarse grid is 1 ms and the video times were rounded to it: +/-3 ms brackets it (or the
    joint readout fit's offset, when the readout was estimated). ``orient`` and the offsets are
    on the log's clock relative to its first sample. Windows with fewer than ``min_samples``
    flow samples are skipped.

    Returns
    -------
    window_t_s, window_offset_s : lists of float
        Centre (video time, clipped to the frames) and offset of every window kept.
    """
    wt, wo = [], []
    for a, b in wins:
        keep = (samples.frame_t_s[:-1] >= a) & (samples.frame_t_s[1:] <= b)
        sub = samples.select_pairs(keep)
        if sub.pair.size < min_samples:
            continue

        def cost(o: float, sub=sub) -> float:
            return reproj_cost(sub, orient, readout_s, o, scale)

        o = golden(cost, base_offset_s - 3e-3, base_offset_s + 3e-3, 2e-6)
        wt.append(0.5 * (max(a, samples.frame_t_s[0]) + min(b, samples.frame_t_s[-1])))
        wo.append(o)
    return wt, wo


def fit_drift(window_t_s: np.ndarray, window_offset_s: np.ndarray,
              min_span_s: float = 20.0) -> tuple[float, float, float]:
    """``(offset_s, drift_ppm, t_ref_s)`` from per-window offsets.

    A straight line through them when there are three or more spanning ``min_span_s``; else
    their median and no drift. ``t_ref_s`` is the windows' mean time.
    """
    t_ref = float(np.mean(window_t_s))
    if window_t_s.size >= 3 and window_t_s.max() - window_t_s.min() >= min_span_s:
        slope, icpt = np.polyfit(window_t_s - t_ref, window_offset_s, 1)
        return float(icpt), float(slope * 1e6), t_ref
    return float(np.median(window_offset_s)), 0.0, t_ref
