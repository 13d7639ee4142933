"""Flow samples to gyro: coarse offset and axes, then fine offset (readout, focal) per window, then
drift."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import InputError, SolveError
from ..orientation import integrate_gyro
from ..progress import get_logger, note
from ..types import GyroLog
from ..video_motion import FlowSamples, pair_rates
from .axes import AXES_ALL, LOG_AXES, axes_matrix
from .coarse import coarse_video
from .fine import fit_drift, fit_focal, fit_readout, refine_window_offsets
from .result import SyncResult
from .windows import motion_windows

__all__ = ["sync_samples_to_gyro"]

_log = get_logger(__name__)


def sync_samples_to_gyro(
    samples: FlowSamples,
    gyro: GyroLog,
    *,
    readout_s: float = 0.0,
    search_s: float = 5.0,
    center_s: float | None = None,
    axes: str | None = None,
    estimate_axes: bool = True,
    windows: int = 4,
    window_s: float = 3.0,
    estimate_readout: bool = False,
    estimate_focal: bool = False,
    min_rate_rad_s: float = 0.05,
    max_unexplained: float = 0.5,
    min_margin: float = 0.15,
    window_bounds: list[tuple[float, float]] | None = None,
) -> SyncResult:
    """Synchronise precomputed flow samples with a gyro log (see ``sync_video_to_gyro``).

    ``readout_s`` is the readout time to use, or the starting guess when ``estimate_readout``.
    ``window_bounds`` (video-time ``(start, end)`` pairs) fixes the fine-sync windows, e.g. to
    the decode windows when the samples only cover those; otherwise they are chosen from the
    samples' own motion.
    """
    if not (np.isfinite(search_s) and search_s > 0):
        raise InputError(f"search window must be positive, got {search_s} s")
    if not (np.isfinite(readout_s) and readout_s >= 0):
        raise InputError(f"readout time must be >= 0, got {readout_s} s")
    notes: list[str] = []
    if samples.camera_assumed:
        hfov = samples.camera.meta.get("assumed_hfov_deg", 70.0)
        note(notes, _log, f"no lens profile: assumed a pinhole with {hfov:.0f} deg horizontal "
             "field of view")
    rates = pair_rates(samples, readout_s)
    t_v, w_v, ok = rates.t_s, rates.omega_rad_s, rates.valid
    if ok.sum() < 10:
        raise SolveError(f"only {int(ok.sum())} frame pairs have usable flow; sync needs 10+",)
    rms = float(np.sqrt(np.mean(np.sum(w_v[ok] ** 2, axis=1))))
    if rms < min_rate_rad_s:
        raise SolveError(
            f"the video barely rotates (RMS {np.degrees(rms):.2f} deg/s, need "
            f"{np.degrees(min_rate_rad_s):.1f}+): motion too weak to sync; give --offset-ms")
    frame_dt = float(np.median(np.diff(samples.frame_t_s)))
    if center_s is None:
        center_s = 0.0
        # A log whose clock cannot overlap the video within the window: start from the starts.
        lo, hi = gyro.t_s[0] - search_s, gyro.t_s[-1] + search_s
        if t_v[-1] < lo or t_v[0] > hi:
            center_s = float(gyro.t_s[0] - samples.frame_t_s[0])
    if axes is not None:
        candidates: tuple[str, ...] = (axes,)
        axes_matrix(axes)
    elif estimate_axes:
        candidates = AXES_ALL
    else:
        candidates = (LOG_AXES,)
    coarse = coarse_video(t_v[ok], w_v[ok], frame_dt, gyro, center_s, search_s, candidates)
    if coarse.score > max_unexplained:
        hint = ("the gyro rotates far more than the picture: in-camera stabilised (EIS) video?"
                if coarse.score > 1.0 else "wrong log, lens or search window, or OIS on without "
                "its lens-shift log?")
        raise SolveError(
            f"gyro and video motion do not match (best fit leaves {coarse.score:.0%} of the "
            f"video's rotation unexplained): {hint}")
    if coarse.margin < min_margin:
        raise SolveError(
            f"offset is ambiguous (second-best peak within {coarse.margin:.0%} of the best): "
            "motion too repetitive or too weak")
    if (len(candidates) > 1 and coarse.runner_up is not None
            and coarse.runner_up_score < 1.5 * coarse.score + 0.01):
        # Motion about one axis cannot tell the others apart; the readers put every log in
        # camera axes, so the log's own axes win when they explain the motion as well.
        own = (coarse if coarse.axes == LOG_AXES else
               coarse_video(t_v[ok], w_v[ok], frame_dt, gyro, center_s, search_s, (LOG_AXES,)))
        if own.score < 1.5 * coarse.score + 0.01 and own.margin >= min_margin:
            note(notes, _log, f"the motion does not tell the IMU axes apart ({coarse.axes} "
                 f"{coarse.score:.0%}, {coarse.runner_up} {coarse.runner_up_score:.0%}, the "
                 f"log's own {own.score:.0%} unexplained): kept the log's axes")
            coarse = replace(own, runner_up=None)
    if coarse.runner_up is not None and coarse.runner_up_score < 1.5 * coarse.score + 0.01:
        raise SolveError(
            f"IMU axis orientation is ambiguous ({coarse.axes} leaves {coarse.score:.0%} "
            f"unexplained, {coarse.runner_up} {coarse.runner_up_score:.0%}): the motion does not "
            "excite all axes; give the axes")
    P = axes_matrix(coarse.axes)
    mapped = GyroLog(gyro.t_s - gyro.t_s[0], gyro.omega_rad_s @ P.T, None, gyro.source)
    tg0 = float(gyro.t_s[0])
    # Constant bias difference (gyro bias) estimated at the coarse alignment, then removed so
    # the integrated rotation between row times is unbiased.
    g_at = np.stack([np.interp(t_v[ok] + coarse.offset_s - tg0, mapped.t_s,
                               mapped.omega_rad_s[:, a]) for a in range(3)], axis=1)
    bias = np.median(g_at - w_v[ok], axis=0)
    orient = integrate_gyro(mapped, bias_rad_s=bias)
    f = samples.camera.K[0, 0]
    scale = 1.0 / f  # one pixel
    if window_bounds is not None:
        wins = [(float(a), float(b)) for a, b in window_bounds]
    else:
        wins = motion_windows(t_v, w_v, ok, windows, window_s)
    base_offset = coarse.offset_s
    if estimate_focal:
        samples = samples.with_camera(fit_focal(samples, wins, orient, coarse.offset_s - tg0,
                                                readout_s, scale))
        hfov = 2 * np.degrees(np.arctan(0.5 * samples.camera.width / samples.camera.K[0, 0]))
        note(notes, _log, f"focal length estimated: {samples.camera.K[0, 0]:.1f} px at "
             f"{samples.camera.width} px wide ({hfov:.1f} deg horizontal field of view)")
    if estimate_readout:
        readout_s, base_offset = fit_readout(samples, wins, orient, coarse.offset_s - tg0,
                                             readout_s, frame_dt, scale)
        base_offset += tg0
        note(notes, _log, f"readout time estimated: {readout_s * 1e3:.2f} ms")
    if estimate_focal or estimate_readout:
        # Rates for the curves and residual with the fitted lens/readout.
        w_v = pair_rates(samples, readout_s).omega_rad_s
    wt, wo = refine_window_offsets(samples, wins, orient, readout_s, base_offset - tg0, scale)
    if not wo:
        raise SolveError("no sync window has enough flow samples")
    wt_a, wo_a = np.asarray(wt), np.asarray(wo) + tg0
    offset, drift, t_ref = fit_drift(wt_a, wo_a)
    # Curves for plotting and the residual after alignment.
    t_all = t_v[ok]
    off_t = offset + drift * 1e-6 * (t_all - t_ref)
    after = np.stack([np.interp(t_all + off_t - tg0, mapped.t_s, mapped.omega_rad_s[:, a])
                      for a in range(3)], axis=1) - bias
    before = np.stack([np.interp(t_all, gyro.t_s, gyro.omega_rad_s[:, a], left=0.0, right=0.0)
                       for a in range(3)], axis=1)
    resid = float(np.sqrt(np.mean(np.sum((after - w_v[ok]) ** 2, axis=1))))
    conf = float(np.clip((1.0 - coarse.score) * coarse.margin, 0.0, 1.0))
    return SyncResult(
        offset_s=offset, drift_ppm=drift, t_ref_s=t_ref, axes=coarse.axes,
        axes_runner_up=coarse.runner_up, axes_score=coarse.score,
        axes_runner_up_score=coarse.runner_up_score, confidence=conf, window_t_s=wt_a,
        window_offset_s=wo_a, residual_rad_s=resid, rotation=P, readout_s=float(readout_s),
        curves={"t_s": t_all, "video_rad_s": w_v[ok], "gyro_before_rad_s": before,
                "gyro_after_rad_s": after},
        notes=tuple(notes), focal_px=float(samples.camera.K[0, 0]),
        focal_width_px=int(samples.camera.width),
    )
