"""Where to sync: windows of strong, changing rotation.

Angular acceleration is what makes the offset observable, so both choices rank stretches by it:
``motion_windows`` among the video's own frame-pair rates (the fine-sync windows of a clip
analysed whole), ``decode_windows_from_gyro`` from the gyro alone before any decoding (the
video is then decoded and flowed only there), one per part of the clip so drift stays
observable.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..types import GyroLog

__all__ = [
    "DECODE_WINDOW_S",
    "MID_WINDOWED_S",
    "MID_WINDOWS",
    "MIN_WINDOWED_S",
    "decode_windows_from_gyro",
    "motion_windows",
]

#: Clips of this length or more are analysed in ``windows`` (default 4) windows.
MIN_WINDOWED_S = 20.0
#: Clips from this length up to ``MIN_WINDOWED_S`` are analysed in ``MID_WINDOWS`` windows
#: (7 s of video, about half a 15 s clip); shorter ones whole (windows would leave too little).
MID_WINDOWED_S = 10.0
MID_WINDOWS = 2
#: Length of each decode window, seconds (a fine-sync window is the whole decode window).
DECODE_WINDOW_S = 3.5


def motion_windows(t: np.ndarray, w: np.ndarray, valid: np.ndarray, n_windows: int,
                   window_s: float) -> list[tuple[float, float]]:
    """Up to ``n_windows`` non-overlapping ``window_s`` windows of the frame-pair rates ``w``
    at times ``t`` ranked by angular-acceleration energy (what pins the offset); one window
    around everything when the clip is short."""
    if t[-1] - t[0] <= window_s * 1.5 or n_windows <= 1:
        return [(float(t[0]) - 1.0, float(t[-1]) + 1.0)]
    acc = np.zeros(t.size)
    acc[1:] = np.sum(np.diff(w, axis=0) ** 2, axis=1) / np.maximum(np.diff(t), 1e-6) ** 2
    acc[~valid] = 0.0
    starts = np.arange(t[0], t[-1] - window_s + 1e-9, window_s / 4)
    cs = np.concatenate([[0.0], np.cumsum(acc)])
    score = np.array([cs[np.searchsorted(t, s + window_s)] - cs[np.searchsorted(t, s)]
                      for s in starts])
    chosen: list[tuple[float, float]] = []
    for i in np.argsort(-score):
        s = float(starts[i])
        if all(s + window_s <= a or s >= b for a, b in chosen):
            chosen.append((s, s + window_s))
        if len(chosen) >= n_windows:
            break
    return sorted(chosen)


def decode_windows_from_gyro(
    gyro: GyroLog,
    video_span_s: tuple[float, float],
    *,
    search_s: float = 5.0,
    n_windows: int = 4,
    window_s: float = DECODE_WINDOW_S,
    min_clip_s: float = MIN_WINDOWED_S,
    frame_dt_s: float = 1.0 / 30.0,
    keyframes: Callable[[float, float], np.ndarray | None] | None = None,
) -> list[tuple[float, float]] | None:
    """Video-time windows worth decoding for sync, chosen from the gyro alone.

    The clip is split into ``n_windows`` equal segments (spread, so drift is observable) and in
    each the ``window_s`` stretch with the most angular-acceleration energy of the gyro
    (rotation that changes is what pins the offset; the measure is invariant to the axis
    permutation) is taken. With ``keyframes`` (``(start_s, end_s) -> keyframe times`` such as
    ``sensors.video_motion.keyframe_times``) the frames decoded only to reach a window after
    a seek count as cost: a start is scored by its energy per second decoded, a preroll second
    weighing half an analysed one (it is decoded but not flowed). The gyro's clock is only
    known to ``+/- search_s`` (around the logs' start difference when the clocks cannot
    overlap), so windows are kept where the log covers them at every offset the coarse search
    tries, when the log is long enough for that.

    Returns
    -------
    Sorted ``(start_s, end_s)`` video-time windows, or None when the clip is shorter than
    ``min_clip_s`` or too short for the windows (then the whole clip is analysed).
    """
    v0, v1 = float(video_span_s[0]), float(video_span_s[1])
    if v1 - v0 < min_clip_s or n_windows < 1:
        return None
    g0, g1 = float(gyro.t_s[0]), float(gyro.t_s[-1])
    center = 0.0
    if v1 < g0 - search_s or v0 > g1 + search_s:
        center = g0 - v0  # same rule as the coarse search: start from the starts
    # Allowed window starts in video time: whole windows inside the video, and the log present
    # at the window's time under any offset in center +/- search_s (else just the video).
    lo = max(v0, g0 - center + search_s)
    hi = min(v1, g1 - center - search_s) - window_s
    if hi - lo < n_windows * window_s:
        lo, hi = max(v0, g0 - center), min(v1, g1 - center) - window_s
        if hi - lo < n_windows * window_s:
            return None
    # Gyro rate averaged over frame intervals, then its change per interval (noise averages
    # out; what remains is the motion the video's frame-pair rates will show).
    n = int(np.floor((g1 - g0) / frame_dt_s))
    if n < 4:
        return None
    edges = g0 + np.arange(n + 1) * frame_dt_s
    idx = np.clip(np.searchsorted(gyro.t_s, edges), 0, gyro.t_s.size)
    cs = np.concatenate([np.zeros((1, 3)), np.cumsum(gyro.omega_rad_s, axis=0)])
    cnt = np.maximum(np.diff(idx), 1)[:, None]
    mean = (cs[idx[1:]] - cs[idx[:-1]]) / cnt
    acc = np.zeros(n)
    acc[1:] = np.sum(np.diff(mean, axis=0) ** 2, axis=1)
    acc_cs = np.concatenate([[0.0], np.cumsum(acc)])
    t_bins = edges[:-1] - center  # video time of each bin's start

    def energy(starts: np.ndarray) -> np.ndarray:
        i0 = np.searchsorted(t_bins, starts)
        i1 = np.searchsorted(t_bins, starts + window_s)
        return acc_cs[i1] - acc_cs[i0]

    seg = np.linspace(lo, hi + window_s, n_windows + 1)
    kf = None if keyframes is None else keyframes(lo, hi)
    out: list[tuple[float, float]] = []
    for a, b in zip(seg[:-1], seg[1:], strict=True):
        starts = np.arange(a, max(a, b - window_s) + 1e-9, 0.25)
        if kf is not None and kf.size:
            # Keyframe starts are free of preroll: offer them as candidates too.
            starts = np.union1d(starts, kf[(kf >= a) & (kf <= b - window_s)])
        score = energy(starts)
        if kf is not None and kf.size:
            i = np.searchsorted(kf, starts + 1e-6, side="right") - 1
            pre = np.where(i >= 0, starts - kf[np.maximum(i, 0)], starts - v0)
            score = score / (window_s + 0.5 * pre)
        best = float(starts[int(np.argmax(score))])
        out.append((best, best + window_s))
    return out
