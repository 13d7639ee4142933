"""Camera rotation from the video where the gyro log has none: a log that ends early, a gap.

The motion analysis covers a frame only where the log has samples for all of its rows. Where a
longer stretch has none, the picture itself still says how the camera turned: dense flow between
consecutive frames gives an angular velocity per frame pair (``sensors.video_motion``, the same
measurement the sync uses). Those rates are aligned to the gyro on a covered stretch next to the
hole (a per-axis scale, which absorbs a lens whose focal length is not quite the assumed one),
resampled onto the log's own sample spacing and written into the hole, so the integration runs on
without a seam. Frames the flow cannot explain (too little texture, too few consistent samples)
stay uncovered; the filter chain eases the virtual camera into pass-through before them.

See docs/architecture.md "Rolling shutter" for the row times the flow pairs are measured at.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.errors import InputError, SolveError
from sensors.progress import get_logger
from sensors.types import CameraModel, GyroLog

log = get_logger(__name__)

#: Per-frame motion sources, as the sidecar names them.
SOURCES = ("gyro", "video", "none")

#: Seconds of covered video next to a hole over which the flow is aligned to the gyro.
ALIGN_S = 1.5
#: Least covered pairs needed for the alignment; with fewer the flow is taken as measured.
MIN_ALIGN_PAIRS = 8
#: Flow rates are trusted only where they explain the gyro this well on the aligned stretch
#: (residual RMS over the gyro's RMS).
MAX_ALIGN_RESIDUAL = 0.6
#: Least share of a pair's flow samples the robust fit must keep.
MIN_INLIER_FRAC = 0.5


@dataclass(frozen=True)
class VideoFill:
    """A log with its holes filled from the video, and what moved the camera per frame.

    Attributes
    ----------
    gyro : GyroLog
        The log on the video clock (bias removed) with flow-derived samples in its holes.
    filled_s : list of (float, float)
        Video-time spans written from the flow.
    scale : (3,) float64
        Per-axis scale applied to the flow rates (1 where not aligned).
    notes : tuple of str
        What was done, for the user.
    """

    gyro: GyroLog
    filled_s: list[tuple[float, float]]
    scale: np.ndarray
    notes: tuple[str, ...]


def uncovered_runs(covered: np.ndarray) -> list[tuple[int, int]]:
    """Runs ``[i0, i1)`` of consecutive False in ``covered``."""
    c = np.concatenate([[True], np.asarray(covered, dtype=bool), [True]])
    d = np.diff(c.astype(np.int8))
    return list(zip(np.flatnonzero(d == -1).tolist(), np.flatnonzero(d == 1).tolist(),
                    strict=True))


def frame_sources(covered_by_gyro: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Per-frame source names: ``gyro``, ``video`` (covered only after the fill) or ``none``."""
    out = np.full(np.shape(covered), "none", dtype="<U5")
    out[np.asarray(covered, dtype=bool)] = "video"
    out[np.asarray(covered_by_gyro, dtype=bool)] = "gyro"
    return out


def _gyro_mean_rates(gyro: GyroLog, t0_s: np.ndarray, t1_s: np.ndarray) -> np.ndarray:
    """Mean gyro rate over each interval (trapezoid on the samples), NaN outside the log."""
    t = gyro.t_s
    w = gyro.omega_rad_s
    cum = np.concatenate([np.zeros((1, 3)),
                          np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(t)[:, None], axis=0)])
    inside = (t0_s >= t[0]) & (t1_s <= t[-1]) & (t1_s > t0_s)
    out = np.full((t0_s.size, 3), np.nan)
    if inside.any():
        a = np.stack([np.interp(t0_s[inside], t, cum[:, k]) for k in range(3)], axis=1)
        b = np.stack([np.interp(t1_s[inside], t, cum[:, k]) for k in range(3)], axis=1)
        out[inside] = (b - a) / (t1_s[inside] - t0_s[inside])[:, None]
    return out


def _align(flow: np.ndarray, gyro: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-axis scale mapping flow rates onto gyro rates, and the relative residual."""
    scale = np.ones(3)
    for k in range(3):
        den = float(flow[:, k] @ flow[:, k])
        # an axis that hardly moved says nothing about its scale
        if den > 1e-6 * flow.shape[0]:
            scale[k] = float(np.clip((flow[:, k] @ gyro[:, k]) / den, 0.5, 2.0))
    res = np.sqrt(np.mean((flow * scale - gyro) ** 2))
    ref = max(float(np.sqrt(np.mean(gyro ** 2))), 1e-3)
    return scale, float(res / ref)


def fill_from_video(
    video: str,
    gyro: GyroLog,
    frame_t_s: np.ndarray,
    covered: np.ndarray,
    camera: CameraModel,
    readout_s: float,
    *,
    readout_direction: str = "top_to_bottom",
) -> VideoFill:
    """Fill the stretches of ``gyro`` that leave frames uncovered with rates from the video.

    Parameters
    ----------
    video : str
        The clip.
    gyro : GyroLog
        Rates on the video clock, bias removed (``MotionTrack.gyro``).
    frame_t_s : (F,) float64
        Frame times (middle row).
    covered : (F,) bool
        Frames the log covers (``MotionTrack.covered``).
    camera : CameraModel
        The lens at the video size (``sensors.equirect.equirect_camera`` for an equirect clip:
        its rotation is then measured on the sphere, ``sensors.sphere_motion``).
    readout_s : float
        Rolling-shutter readout.
    readout_direction : str
        ``top_to_bottom`` or ``bottom_to_top``.

    Returns
    -------
    VideoFill
        ``gyro`` unchanged and no spans when nothing could be filled.
    """
    from sensors.sphere_motion import flow_samples_for_camera
    from sensors.video_motion import pair_rates

    ft = np.asarray(frame_t_s, dtype=np.float64)
    runs = uncovered_runs(covered)
    if not runs:
        return VideoFill(gyro, [], np.ones(3), ())
    period = float(np.median(np.diff(ft))) if ft.size > 1 else 1.0 / 30
    windows: list[list[float]] = []
    for i0, i1 in runs:
        w0 = max(ft[0], ft[i0] - ALIGN_S - period)
        w1 = min(ft[-1], ft[i1 - 1] + period) if i1 < ft.size else ft[-1]
        w1 = max(w1, min(ft[-1], ft[min(i1, ft.size - 1)] + ALIGN_S))
        if windows and w0 <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], w1)
        else:
            windows.append([w0, w1])
    try:
        samples = flow_samples_for_camera(video, camera, readout_direction=readout_direction,
                                          windows_s=[(a, b + 0.5 * period) for a, b in windows])
        rates = pair_rates(samples, readout_s)
    except (InputError, SolveError) as exc:
        note = f"no camera motion from the video where the log has none ({exc})"
        log.info(note)
        return VideoFill(gyro, [], np.ones(3), (note,))
    good = rates.valid & (rates.inlier_frac >= MIN_INLIER_FRAC)
    pair_t0 = samples.frame_t_s[:-1]
    pair_t1 = samples.frame_t_s[1:]
    # pairs across two analysis windows have no samples and are never valid
    good &= (pair_t1 - pair_t0) < 1.5 * period
    g_at = _gyro_mean_rates(gyro, pair_t0, pair_t1)
    in_log = good & np.isfinite(g_at[:, 0])
    notes: list[str] = []
    if in_log.sum() >= MIN_ALIGN_PAIRS:
        scale, resid = _align(rates.omega_rad_s[in_log], g_at[in_log])
        if resid > MAX_ALIGN_RESIDUAL:
            note = (f"the video's motion does not follow the gyro where both exist (residual "
                    f"{resid:.0%} of the motion): frames without log are not filled from it")
            log.info(note)
            return VideoFill(gyro, [], scale, (note,))
    else:
        scale, resid = np.ones(3), float("nan")
    omega_flow = rates.omega_rad_s * scale
    t = gyro.t_s
    dt = float(np.median(np.diff(t)))
    new_t = [t]
    new_w = [gyro.omega_rad_s]
    filled: list[tuple[float, float]] = []
    # the holes of the log on the video clock: before it, its gaps, after it
    holes = [(ft[0] - period, t[0])] + [(a, b) for a, b in gyro.gaps()] + [(t[-1],
                                                                            ft[-1] + period)]
    for h0, h1 in holes:
        if h1 - h0 <= dt:
            continue
        # valid pairs whose interval lies in the hole, contiguous from the hole's log side(s)
        sel = good & (pair_t1 > h0) & (pair_t0 < h1)
        if not sel.any():
            continue
        idx = np.flatnonzero(sel)
        keep = _contiguous_from_edges(idx, h0 <= t[0] - 0.5 * dt, h1 >= t[-1] + 0.5 * dt,
                                      pair_t0, pair_t1, h0, h1, period)
        if keep.size == 0:
            continue
        span0 = max(h0, float(pair_t0[keep[0]]))
        span1 = min(h1, float(pair_t1[keep[-1]]))
        k0 = np.ceil((span0 - t[0]) / dt)
        grid = t[0] + np.arange(k0, np.floor((span1 - t[0]) / dt) + 1) * dt
        # strictly inside the hole: the log's own samples stay as they are
        grid = grid[(grid > h0 + 0.5 * dt) & (grid < h1 - 0.5 * dt)]
        if grid.size == 0:
            continue
        mid = 0.5 * (pair_t0[keep] + pair_t1[keep])
        w = np.stack([np.interp(grid, mid, omega_flow[keep, k]) for k in range(3)], axis=1)
        new_t.append(grid)
        new_w.append(w)
        filled.append((float(grid[0]), float(grid[-1])))
    if not filled:
        return VideoFill(gyro, [], scale, ("the video gave no reliable motion where the log "
                                           "has none",))
    tt = np.concatenate(new_t)
    ww = np.concatenate(new_w)
    order = np.argsort(tt, kind="stable")
    tt, ww = tt[order], ww[order]
    keep_u = np.concatenate([[True], np.diff(tt) > 1e-9])
    acc = gyro.accel_m_s2
    if acc is not None:  # gravity held from the nearest samples: horizon lock keeps its input
        acc = np.stack([np.interp(tt[keep_u], t, acc[:, k]) for k in range(3)], axis=1)
    filled_gyro = GyroLog(tt[keep_u], ww[keep_u], acc, gyro.source)
    span_txt = ", ".join(f"{a:.2f}..{b:.2f} s" for a, b in filled)
    how = (f"aligned to the gyro on {int(in_log.sum())} frame pairs (scale "
           f"{', '.join(f'{s:.2f}' for s in scale)})" if np.isfinite(resid)
           else "not aligned (too little overlap with the log)")
    note = f"camera motion taken from the video over {span_txt}, {how}"
    log.info(note)
    return VideoFill(filled_gyro, filled, scale, tuple(notes) + (note,))


def _contiguous_from_edges(idx: np.ndarray, before_log: bool, after_log: bool,
                           t0: np.ndarray, t1: np.ndarray, h0: float, h1: float,
                           period: float) -> np.ndarray:
    """The pairs of ``idx`` that chain without a break from the hole's edge next to the log.

    A hole after the log is filled forward from the log's end, one before it backward from its
    start, a gap inside it from both sides; a missing pair ends the chain, since integrating
    across it would be a guess.
    """
    if idx.size == 0:
        return idx
    breaks = np.flatnonzero(np.diff(idx) != 1)
    chains = np.split(idx, breaks + 1)
    if after_log:  # after the log: the chain that starts at the log's end
        first = chains[0]
        return first if t0[first[0]] <= h0 + period else idx[:0]
    if before_log:  # before the log: the chain that reaches its start
        last = chains[-1]
        return last if t1[last[-1]] >= h1 - period else idx[:0]
    # a gap inside the log: filled only when one chain bridges it
    for c in chains:
        if t0[c[0]] <= h0 + period and t1[c[-1]] >= h1 - period:
            return c
    return idx[:0]
