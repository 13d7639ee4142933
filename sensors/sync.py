"""Gyro <-> video (and gyro <-> gyro) time offset, clock drift and IMU axis orientation.

Convention (DESIGN.md "Time"): ``t_video = t_log - offset_s``; with drift the offset at video
time ``t`` is ``offset_s + drift_ppm * 1e-6 * (t - t_ref_s)``.

Video to gyro, in three steps:

1. **Coarse** (1 ms grid over +/- ``search_s``): the per-pair angular velocity measured from the
   video's optical flow (``sensors.video_motion``) is compared with the gyro rate averaged over a
   frame interval, for every offset at once by FFT cross-correlation. The nine axis-by-axis
   correlations give the residual of all 48 signed axis permutations (proper and improper) for
   free, so the IMU orientation is picked by the same fit.
2. **Fine** (sub-millisecond, per window): in a few windows placed where the rotation changes most
   (angular acceleration is what makes the offset observable), golden-section search on the
   offset minimises the robust reprojection error of every flow sample under the gyro's rotation
   between the sample's own two row times (rolling shutter included).
3. **Drift**: a straight line through the per-window offsets when the windows span long enough.

On clips of ``MIN_WINDOWED_S`` or more, ``sync_video_to_gyro`` decodes and flows only a few
windows chosen from the gyro before any decoding (``decode_windows_from_gyro``: strong, changing
rotation, one per part of the clip so drift stays observable), on clips from ``MID_WINDOWED_S``
``MID_WINDOWS`` of them; the coarse search then runs on the windows' samples against the whole
log, and the fine windows are those decode windows.

Refuses with ``SolveError`` when the video rotates too little, the best fit explains too little
of the video's motion, or a second offset fits nearly as well.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.fft

from .damage import damage_note
from .errors import InputError, SolveError
from .orientation import integrate_gyro
from .quaternion import qconj, qmul, qto_matrix
from .types import CameraModel, GyroLog
from .video_motion import FlowSamples, flow_samples_from_video, keyframe_times, pair_rates

__all__ = [
    "SyncResult",
    "AXES_ALL",
    "axes_matrix",
    "apply_axes",
    "sync_video_to_gyro",
    "sync_samples_to_gyro",
    "decode_windows_from_gyro",
    "MID_WINDOWED_S",
    "MID_WINDOWS",
    "MIN_WINDOWED_S",
    "DECODE_WINDOW_S",
    "sync_logs",
    "write_sync_json",
]

_GRID_S = 1e-3


def _axes_strings() -> tuple[str, ...]:
    out = []
    for perm in itertools.permutations("xyz"):
        for signs in itertools.product("+-", repeat=3):
            out.append("".join(s + a for s, a in zip(signs, perm, strict=True)))
    return tuple(out)


#: The 48 signed axis permutations; ``"-y+x-z"`` means ``omega_cam = (-g_y, +g_x, -g_z)`` where
#: ``g`` are the GyroLog's rates as given. ``"+x+y+z"`` is the identity.
AXES_ALL = _axes_strings()


def axes_matrix(axes: str) -> np.ndarray:
    """The 3x3 signed permutation ``P`` with ``omega_cam = P @ g`` for an axes string."""
    a = str(axes).strip().lower()
    if len(a) != 6 or sorted(a[1::2]) != ["x", "y", "z"] or any(c not in "+-" for c in a[::2]):
        raise InputError(f"axes {axes!r} must look like '+x+y+z' or '-y+x-z' (a signed "
                         "permutation of x, y, z)")
    P = np.zeros((3, 3))
    for row in range(3):
        P[row, "xyz".index(a[2 * row + 1])] = 1.0 if a[2 * row] == "+" else -1.0
    return P


def apply_axes(gyro: GyroLog, axes: str) -> GyroLog:
    """The log with its rates mapped through ``axes`` (see ``AXES_ALL``)."""
    P = axes_matrix(axes)
    acc = None if gyro.accel_m_s2 is None else gyro.accel_m_s2 @ P.T
    return GyroLog(gyro.t_s, gyro.omega_rad_s @ P.T, acc, gyro.source)


@dataclass(frozen=True, eq=False)
class SyncResult:
    """Outcome of a synchronisation.

    Attributes
    ----------
    offset_s : float
        ``t_video = t_log - offset_s`` at ``t_ref_s`` (for log-to-log: ``t_reference = t_gyro -
        offset_s``).
    drift_ppm : float
        Clock drift; offset at video time ``t`` is ``offset_s + drift_ppm*1e-6*(t - t_ref_s)``.
    t_ref_s : float
        Video (reference) time the offset refers to (middle of the fitted windows).
    axes : str
        Signed axis permutation applied to the log (``AXES_ALL``); for log-to-log the nearest one
        to ``rotation``.
    axes_runner_up : str or None
        Second best permutation (None when the axes were given).
    axes_score, axes_runner_up_score : float
        Fraction of the video's rate energy left unexplained by each (lower is better).
    confidence : float
        In [0, 1]: explained fraction times the margin over the second-best offset peak.
    window_t_s, window_offset_s : (W,) float64
        Centre (video time) and fitted offset of each fine-sync window.
    residual_rad_s : float
        RMS rate residual after alignment.
    rotation : (3, 3) float64
        ``omega_reference = rotation @ omega_gyro`` (log-to-log; the axes matrix for video).
    readout_s : float
        Readout time used (video sync).
    curves : dict
        Arrays for plotting: ``t_s`` (reference/video clock), ``video_rad_s`` (N, 3),
        ``gyro_before_rad_s`` (gyro on the reference clock with offset 0 and the log's axes),
        ``gyro_after_rad_s`` (after alignment).
    notes : tuple of str
        Assumptions made (pinhole guess, ...).
    focal_px, focal_width_px : float, int
        Focal length used (estimated when the lens was unknown) at the analysis width.
    frames_decoded : int
        Video frames decoded (``sync_video_to_gyro``; 0 for precomputed samples and logs).
    decode_windows_s : tuple of (start_s, end_s)
        Video-time windows that were decoded and analysed; empty when the whole clip was.
    """

    offset_s: float
    drift_ppm: float
    t_ref_s: float
    axes: str
    axes_runner_up: str | None
    axes_score: float
    axes_runner_up_score: float
    confidence: float
    window_t_s: np.ndarray
    window_offset_s: np.ndarray
    residual_rad_s: float
    rotation: np.ndarray
    readout_s: float = 0.0
    curves: dict = field(default_factory=dict, repr=False)
    notes: tuple = ()
    focal_px: float = float("nan")
    focal_width_px: int = 0
    frames_decoded: int = 0
    decode_windows_s: tuple = ()

    def offset_at(self, t_s: np.ndarray | float) -> np.ndarray | float:
        """Offset (s) at reference/video time(s) ``t_s``, drift included."""
        return self.offset_s + self.drift_ppm * 1e-6 * (np.asarray(t_s) - self.t_ref_s)

    def to_json(self) -> dict:
        """A JSON-ready summary (``offset_ms`` first)."""
        return {
            "offset_ms": self.offset_s * 1e3,
            "offset_s": self.offset_s,
            "drift_ppm": self.drift_ppm,
            "t_ref_s": self.t_ref_s,
            "axes": self.axes,
            "axes_runner_up": self.axes_runner_up,
            "axes_score": self.axes_score,
            "axes_runner_up_score": self.axes_runner_up_score,
            "confidence": self.confidence,
            "residual_rad_s": self.residual_rad_s,
            "readout_ms": self.readout_s * 1e3,
            "focal_px": self.focal_px,
            "focal_width_px": self.focal_width_px,
            "rotation": self.rotation.tolist(),
            "windows": [{"t_s": float(t), "offset_ms": float(o) * 1e3}
                        for t, o in zip(self.window_t_s, self.window_offset_s, strict=True)],
            "frames_decoded": self.frames_decoded,
            "decode_windows_s": [[float(a), float(b)] for a, b in self.decode_windows_s],
            "notes": list(self.notes),
        }


def write_sync_json(result: SyncResult, path: str, extra: dict | None = None) -> None:
    """Write ``result.to_json()`` (plus ``extra`` keys) atomically to ``path``."""
    import json

    from .atomic import atomic_output

    doc = result.to_json()
    if extra:
        doc.update(extra)
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=2) + "\n")


# ---------------------------------------------------------------------------------------------
# Shared signal helpers


def _uniform(t_s: np.ndarray, v: np.ndarray, t0: float, n: int) -> np.ndarray:
    """Linear resampling of (N, 3) ``v`` on ``t0 + k * grid``; zero outside the log's span."""
    tg = t0 + np.arange(n) * _GRID_S
    out = np.zeros((n, v.shape[1]))
    inside = (tg >= t_s[0]) & (tg <= t_s[-1])
    for a in range(v.shape[1]):
        out[inside, a] = np.interp(tg[inside], t_s, v[:, a])
    return out


def _boxcar(v: np.ndarray, width: int) -> np.ndarray:
    if width <= 1:
        return v
    k = np.ones(width) / width
    return np.stack([np.convolve(v[:, a], k, mode="same") for a in range(v.shape[1])], axis=1)


def _xcorr(impulses: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """``out[j] = sum_i impulses[i] * signal[i + j]`` for every full overlap ``j``."""
    # FFT convolution with the reversed impulses, the "valid" part; scipy.fft rather than
    # scipy.signal, whose import (stats, windows, ...) costs ~1 s of GIL-held start-up.
    n, m = signal.size, impulses.size
    size = n + m - 1
    nfft = scipy.fft.next_fast_len(size, real=True)
    full = scipy.fft.irfft(scipy.fft.rfft(signal, nfft) * scipy.fft.rfft(impulses[::-1], nfft),
                           nfft)[:size]
    return full[min(n, m) - 1:max(n, m)]


def _second_minimum(cost: np.ndarray, best: int, exclude: int) -> float:
    """Lowest local minimum of ``cost`` farther than ``exclude`` samples from ``best``."""
    c = cost
    loc = np.flatnonzero((c[1:-1] <= c[:-2]) & (c[1:-1] <= c[2:])) + 1
    loc = loc[np.abs(loc - best) > exclude]
    if loc.size == 0:
        far = np.abs(np.arange(c.size) - best) > exclude
        return float(c[far].min()) if np.any(far) else float("inf")
    return float(c[loc].min())


def _golden(f: Callable[[float], float], lo: float, hi: float, tol: float) -> float:
    g = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return 0.5 * (a + b)


def _kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Proper rotation ``R`` minimising ``sum |dst - R src|^2`` (both centred by the caller)."""
    H = src.T @ dst
    U, _, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(Vt.T @ U.T))
    D = np.diag([1.0, 1.0, d])
    return Vt.T @ D @ U.T


def _nearest_axes(R: np.ndarray) -> str:
    scores = [float(np.sum(axes_matrix(a) * R)) for a in AXES_ALL]
    return AXES_ALL[int(np.argmax(scores))]


# ---------------------------------------------------------------------------------------------
# Video to gyro


@dataclass(frozen=True)
class _Coarse:
    offset_s: float
    axes: str
    score: float
    runner_up: str | None
    runner_up_score: float
    margin: float


def _coarse_video(
    t_v: np.ndarray, w_v: np.ndarray, frame_dt: float, gyro: GyroLog, center_s: float,
    search_s: float, candidates: tuple[str, ...],
) -> _Coarse:
    # Video samples as impulses on a 1 ms grid starting at the first pair's time.
    tv0 = float(t_v[0])
    iv = np.round((t_v - tv0) / _GRID_S).astype(np.int64)
    nv = int(iv[-1]) + 1
    imp = np.zeros((nv, 3))
    np.add.at(imp, iv, w_v)
    mask = np.zeros(nv)
    np.add.at(mask, iv, 1.0)
    ns = int(round(search_s / _GRID_S))
    g0 = tv0 + center_s - ns * _GRID_S  # log time of grid index 0
    ng = nv + 2 * ns
    # Gyro relative to its first sample keeps float64 precision for large log clocks.
    tg_rel = gyro.t_s - g0
    g = _uniform(tg_rel, gyro.omega_rad_s, 0.0, ng)
    g = _boxcar(g, max(1, int(round(frame_dt / _GRID_S))))
    energy_v = float(np.sum(w_v**2))
    E = _xcorr(mask, np.sum(g**2, axis=1))
    X = np.empty((3, 3, E.size))
    for a in range(3):
        for b in range(3):
            X[a, b] = _xcorr(imp[:, a], g[:, b])
    per_axes = []
    for ax in candidates:
        P = axes_matrix(ax)
        cross = np.einsum("ab,abj->j", P, X)
        cost = energy_v + E - 2.0 * cross
        j = int(np.argmin(cost))
        per_axes.append((float(cost[j]) / energy_v, ax, j, cost))
    per_axes.sort(key=lambda r: r[0])
    score, ax, j, cost = per_axes[0]
    # A second peak must be clearly worse: exclude the main basin (about one frame interval).
    excl = max(3, int(round(2.0 * frame_dt / _GRID_S)))
    second = _second_minimum(cost, j, excl) / energy_v
    margin = float(np.clip(1.0 - score / max(second, 1e-12), 0.0, 1.0))
    ru = per_axes[1] if len(per_axes) > 1 else None
    return _Coarse(offset_s=center_s + (j - ns) * _GRID_S, axes=ax, score=score,
                   runner_up=None if ru is None else ru[1],
                   runner_up_score=float("nan") if ru is None else ru[0], margin=margin)


def _reproj_cost(samples: FlowSamples, orient, readout_s: float, offset_s: float,
                 scale: float) -> float:
    t0, t1 = samples.sample_times(readout_s)
    q0 = orient.at(t0 + offset_s)
    q1 = orient.at(t1 + offset_s)
    # Ray in frame k+1 = R(t1)^T R(t0) ray0 for a static point (DESIGN.md rotations).
    R = qto_matrix(qmul(qconj(q1), q0))
    pred = np.einsum("mij,mj->mi", R, samples.ray0_cam)
    err = np.linalg.norm(pred - samples.ray1_cam, axis=1)
    # Cauchy loss: outliers (moving objects, bad flow) have bounded pull on the offset.
    return float(np.sum(np.log1p((err / scale) ** 2)))


def _windows(t: np.ndarray, w: np.ndarray, valid: np.ndarray, n_windows: int,
             window_s: float) -> list[tuple[float, float]]:
    """Non-overlapping windows ranked by angular-acceleration energy (what pins the offset)."""
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


def _fit_readout(samples: FlowSamples, wins, orient, offset0: float, readout0: float,
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
        return _reproj_cost(sub, orient, r, offset0 + x[0] * 1e-3, scale)

    start = np.array([0.0, readout0 * 1e3])
    simplex = np.array([start, start + [1.0, 0.0], start + [0.0, 0.25 * frame_dt * 1e3]])
    res = minimize(cost, start, method="Nelder-Mead",
                   options={"initial_simplex": simplex, "xatol": 2e-3, "fatol": 1e-9,
                            "maxfev": 200})
    r = float(np.clip(res.x[1] * 1e-3, 0.0, frame_dt))
    if not np.isfinite(r):
        raise SolveError("readout time estimation failed")
    return r, offset0 + float(res.x[0]) * 1e-3


def _fit_focal(samples: FlowSamples, wins, orient, offset0: float, readout_s: float,
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
        return _reproj_cost(sub.with_camera(with_scale(log_s)), orient, readout_s, offset0,
                            scale)

    best = _golden(cost, np.log(0.5), np.log(2.0), 1e-3)
    if abs(best - np.log(0.5)) < 2e-3 or abs(best - np.log(2.0)) < 2e-3:
        raise SolveError("focal length estimate ran to the search limit (0.5x-2x the guess)")
    return with_scale(best)


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
    notes = []
    if samples.camera_assumed:
        hfov = samples.camera.meta.get("assumed_hfov_deg", 70.0)
        notes.append(f"no lens profile: assumed a pinhole with {hfov:.0f} deg horizontal "
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
        candidates = ("+x+y+z",)
    coarse = _coarse_video(t_v[ok], w_v[ok], frame_dt, gyro, center_s, search_s, candidates)
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
        wins = _windows(t_v, w_v, ok, windows, window_s)
    base_offset = coarse.offset_s
    if estimate_focal:
        samples = samples.with_camera(_fit_focal(samples, wins, orient, coarse.offset_s - tg0,
                                                 readout_s, scale))
        hfov = 2 * np.degrees(np.arctan(0.5 * samples.camera.width / samples.camera.K[0, 0]))
        notes.append(f"focal length estimated: {samples.camera.K[0, 0]:.1f} px at "
                     f"{samples.camera.width} px wide ({hfov:.1f} deg horizontal field of view)")
    if estimate_readout:
        readout_s, base_offset = _fit_readout(samples, wins, orient, coarse.offset_s - tg0,
                                              readout_s, frame_dt, scale)
        base_offset += tg0
        notes.append(f"readout time estimated: {readout_s * 1e3:.2f} ms")
    if estimate_focal or estimate_readout:
        # Rates for the curves and residual with the fitted lens/readout.
        w_v = pair_rates(samples, readout_s).omega_rad_s
    wt, wo, wn = [], [], []
    for a, b in wins:
        keep = (samples.frame_t_s[:-1] >= a) & (samples.frame_t_s[1:] <= b)
        sub = samples.select_pairs(keep)
        if sub.pair.size < 200:
            continue
        base = base_offset - tg0

        def cost(o: float, sub=sub) -> float:
            return _reproj_cost(sub, orient, readout_s, o, scale)

        # The coarse grid is 1 ms and the video times were rounded to it: +/-3 ms brackets it
        # (or the joint readout fit's offset, when the readout was estimated).
        o = _golden(cost, base - 3e-3, base + 3e-3, 2e-6)
        wt.append(0.5 * (max(a, samples.frame_t_s[0]) + min(b, samples.frame_t_s[-1])))
        wo.append(o + tg0)
        wn.append(sub.pair.size)
    if not wo:
        raise SolveError("no sync window has enough flow samples")
    wt_a, wo_a = np.asarray(wt), np.asarray(wo)
    t_ref = float(np.mean(wt_a))
    drift = 0.0
    if wt_a.size >= 3 and wt_a.max() - wt_a.min() >= 20.0:
        slope, icpt = np.polyfit(wt_a - t_ref, wo_a, 1)
        drift, offset = float(slope * 1e6), float(icpt)
    else:
        offset = float(np.median(wo_a))
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


def sync_video_to_gyro(
    video_path: str,
    gyro: GyroLog,
    *,
    camera: CameraModel | None = None,
    readout_s: float | None = None,
    search_s: float = 5.0,
    axes: str | None = None,
    estimate_axes: bool = True,
    windows: int = 4,
    readout_direction: str = "top_to_bottom",
    progress: Callable[[int], None] | None = None,
) -> SyncResult:
    """Find the offset (and drift, and IMU axis orientation) between a video and a gyro log.

    Parameters
    ----------
    video_path : str
        The video (any container/codec PyAV decodes).
    gyro : GyroLog
        Rates on the log's clock; in camera axes if the reader knew the orientation.
    camera : CameraModel, optional
        The lens (e.g. ``sensors.lens_profile.load_lens_profile``); otherwise a distortion-free
        pinhole whose focal length is estimated from the fit, starting at 70 degrees (reported
        in ``notes`` and ``SyncResult.focal_px``).
    readout_s : float, optional
        Rolling-shutter readout time; estimated jointly with the offset when None (the estimate
        is ``SyncResult.readout_s`` and is reported in ``notes``).
    search_s : float
        Half-width of the coarse offset search, seconds.
    axes : str, optional
        The axis mapping to use (``AXES_ALL``); when None and ``estimate_axes``, all 48 are tried.
    estimate_axes : bool
        Try all 48 signed permutations (else keep the log's axes as given).
    windows : int
        Number of sync windows (placed where the motion is most informative); on clips of
        ``MIN_WINDOWED_S`` or more only these windows of the video are decoded, on clips from
        ``MID_WINDOWED_S`` at most ``MID_WINDOWS`` of them (see ``SyncResult.decode_windows_s``
        and ``frames_decoded``); shorter clips are analysed whole.
    readout_direction : str
        ``top_to_bottom`` or ``bottom_to_top``.
    progress : callable, optional
        Called with the number of frames analysed so far (on a windowed clip this ends near
        ``windows * DECODE_WINDOW_S * fps``, not at the clip's frame count).

    Returns
    -------
    SyncResult with ``t_video = t_log - offset_s``.

    Raises
    ------
    SolveError
        Motion too weak, gyro not matching the video, or an ambiguous offset.
    """
    if not (np.isfinite(search_s) and search_s > 0):
        raise InputError(f"search window must be positive, got {search_s} s")
    span = _video_span(video_path)
    dec_wins = None
    kf = None
    if span is not None and windows >= 1:
        kf_cache: dict = {}

        def keyframes(a: float, b: float) -> np.ndarray | None:
            kf_cache["kf"] = keyframe_times(video_path, a, b)
            return kf_cache["kf"]

        n_win, min_clip = windows, MIN_WINDOWED_S
        if MID_WINDOWED_S <= span[1] - span[0] < MIN_WINDOWED_S:
            n_win, min_clip = min(windows, MID_WINDOWS), MID_WINDOWED_S
        dec_wins = decode_windows_from_gyro(gyro, span, search_s=search_s, n_windows=n_win,
                                            min_clip_s=min_clip, keyframes=keyframes)
        kf = kf_cache.get("kf")
    samples = flow_samples_from_video(video_path, camera, readout_direction=readout_direction,
                                      windows_s=dec_wins, keyframes_s=kf if dec_wins else None,
                                      progress=progress)
    estimate = readout_s is None
    try:
        res = sync_samples_to_gyro(samples, gyro, readout_s=0.0 if estimate else readout_s,
                                   search_s=search_s, axes=axes, estimate_axes=estimate_axes,
                                   windows=windows, estimate_readout=estimate,
                                   estimate_focal=camera is None, window_bounds=dec_wins)
    except SolveError as exc:
        raise SolveError(f"{video_path}: {exc}") from None
    notes = res.notes
    if samples.damage:  # undecodable stretches were skipped (sensors.damage)
        notes = notes + ("sync: " + damage_note(samples.damage),)
    if dec_wins:
        notes = notes + ("video analysed in " + str(len(dec_wins)) + " windows chosen from the "
                         "gyro: " + ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in dec_wins),)
    return replace(res, frames_decoded=samples.frames_decoded,
                   decode_windows_s=tuple(dec_wins or ()), notes=notes)


#: Clips of this length or more are analysed in ``windows`` (default 4) windows.
MIN_WINDOWED_S = 20.0
#: Clips from this length up to ``MIN_WINDOWED_S`` are analysed in ``MID_WINDOWS`` windows
#: (7 s of video, about half a 15 s clip); shorter ones whole (windows would leave too little).
MID_WINDOWED_S = 10.0
MID_WINDOWS = 2
#: Length of each decode window, seconds (a fine-sync window is the whole decode window).
DECODE_WINDOW_S = 3.5


def _video_span(path: str) -> tuple[float, float] | None:
    """``(start_s, end_s)`` of the first video stream from the container header, or None."""
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return None
            st = c.streams.video[0]
            tb = st.time_base
            start = float(st.start_time * tb) if st.start_time is not None else 0.0
            if st.duration is not None and tb is not None:
                dur = float(st.duration * tb)
            elif c.duration is not None:
                dur = c.duration / 1e6
            else:
                return None
    except (av.error.InvalidDataError, av.error.FileNotFoundError, OSError):
        return None  # the decoder reports the problem with the file's name
    return (start, start + dur) if dur > 0 else None


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


# ---------------------------------------------------------------------------------------------
# Log to log


def sync_logs(
    gyro: GyroLog,
    reference: GyroLog,
    *,
    search_s: float = 5.0,
    windows: int = 4,
    window_s: float = 10.0,
    max_unexplained: float = 0.5,
    min_margin: float = 0.15,
    min_rate_rad_s: float = 0.05,
) -> SyncResult:
    """Synchronise two rigidly attached gyros: ``t_reference = t_gyro - offset_s``.

    The coarse search (1 ms grid, +/- ``search_s`` around the difference of the logs' start
    times) correlates rate magnitudes, which do not depend on how the two IMUs are mounted; the
    mounting rotation is then a Kabsch (Wahba) fit of the aligned rate vectors (with a constant
    bias difference), and the offset is refined to sub-millisecond by golden-section search on
    the rate residual with cubic interpolation, alternating with the rotation fit.

    Returns
    -------
    SyncResult; ``rotation`` maps gyro axes to reference axes and ``axes`` is its nearest signed
    permutation.
    """
    from scipy.interpolate import CubicSpline

    if not (np.isfinite(search_s) and search_s > 0):
        raise InputError(f"search window must be positive, got {search_s} s")
    # Work relative to each log's first sample: the clocks may be ~1e6 s apart.
    ta0, tb0 = float(gyro.t_s[0]), float(reference.t_s[0])
    ta = gyro.t_s - ta0
    tb = reference.t_s - tb0
    center = ta0 - tb0  # offset making the starts coincide
    rms_b = float(np.sqrt(np.mean(np.sum(reference.omega_rad_s**2, axis=1))))
    rms_a = float(np.sqrt(np.mean(np.sum(gyro.omega_rad_s**2, axis=1))))
    if min(rms_a, rms_b) < min_rate_rad_s:
        raise SolveError(f"a log barely rotates (RMS {np.degrees(min(rms_a, rms_b)):.2f} deg/s)"
                         ": motion too weak to sync")
    nb = int(np.floor(tb[-1] / _GRID_S)) + 1
    ns = int(round(search_s / _GRID_S))
    B = _uniform(tb, reference.omega_rad_s, 0.0, nb)
    mb = np.linalg.norm(B, axis=1)
    # Gyro grid in its own relative time: index 0 is reference time 0 at offset center - S.
    # Reference time t_b corresponds to gyro time t_b + offset; relative: t_b + (offset-center).
    na = nb + 2 * ns
    A = _uniform(ta, gyro.omega_rad_s, -ns * _GRID_S, na)
    ma = np.linalg.norm(A, axis=1)
    cost = float(np.sum(mb**2)) + _xcorr(np.ones(nb), ma**2) - 2.0 * _xcorr(mb, ma)
    j = int(np.argmin(cost))
    energy = float(np.sum(mb**2))
    score = float(cost[j]) / energy
    second = _second_minimum(cost, j, 50) / energy
    margin = float(np.clip(1.0 - score / max(second, 1e-12), 0.0, 1.0))
    if score > max_unexplained:
        raise SolveError(f"the two logs' motions do not match (best fit leaves {score:.0%} "
                         "of the reference's rate unexplained)")
    if margin < min_margin:
        raise SolveError(f"offset is ambiguous (second-best peak within {margin:.0%}): motion "
                         "too repetitive or too weak")
    rel = (j - ns) * _GRID_S  # offset - center, in seconds
    spl = CubicSpline(ta, gyro.omega_rad_s, axis=0, extrapolate=False)

    def fit(rel_off: float, mask_t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tq = tb[mask_t] + rel_off
        inside = (tq >= 0) & (tq <= ta[-1])
        a = spl(tq[inside])
        b = reference.omega_rad_s[mask_t][inside]
        return a, b, inside

    def rot_fit(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ca, cb = a.mean(axis=0), b.mean(axis=0)
        R = _kabsch(a - ca, b - cb)
        return R, cb - R @ ca

    def resid(rel_off: float, R, bias, mask_t) -> float:
        a, b, _ = fit(rel_off, mask_t)
        if a.shape[0] < 10:
            return float("inf")
        return float(np.mean(np.sum((b - a @ R.T - bias) ** 2, axis=1)))

    everything = np.ones(tb.size, dtype=bool)
    R, bias = rot_fit(*fit(rel, everything)[:2])
    for _ in range(3):
        rel = _golden(lambda o, R=R, bias=bias: resid(o, R, bias, everything),
                      rel - 3e-3, rel + 3e-3, 1e-6)
        R, bias = rot_fit(*fit(rel, everything)[:2])
    # Per-window offsets for drift on long recordings.
    span = float(tb[-1])
    wt, wo = [], []
    if span >= 3 * window_s and windows >= 2:
        edges = np.linspace(0.0, span, windows + 1)
        for a0, a1 in zip(edges[:-1], edges[1:], strict=True):
            m = (tb >= a0) & (tb < a1)
            o = _golden(lambda x, m=m: resid(x, R, bias, m), rel - 3e-3, rel + 3e-3, 1e-6)
            wt.append(0.5 * (a0 + a1))
            wo.append(o)
    else:
        wt.append(0.5 * span)
        wo.append(rel)
    wt_a, wo_a = np.asarray(wt), np.asarray(wo)
    t_ref_rel = float(np.mean(wt_a))
    drift = 0.0
    rel_final = rel
    if wt_a.size >= 3:
        slope, icpt = np.polyfit(wt_a - t_ref_rel, wo_a, 1)
        drift, rel_final = float(slope * 1e6), float(icpt)
    offset = center + rel_final
    a, b, inside = fit(rel_final, everything)
    res = float(np.sqrt(np.mean(np.sum((b - a @ R.T - bias) ** 2, axis=1))))
    # Curves: decimate to ~5000 points for plotting.
    step = max(1, tb.size // 5000)
    tq = tb[::step]
    before = np.stack([np.interp(tq, ta, gyro.omega_rad_s[:, k], left=0, right=0)
                       for k in range(3)], axis=1)
    tq_after = tq + rel_final
    ins = (tq_after >= 0) & (tq_after <= ta[-1])
    after = np.zeros((tq.size, 3))
    after[ins] = spl(tq_after[ins]) @ R.T + bias
    return SyncResult(
        offset_s=float(offset), drift_ppm=drift, t_ref_s=t_ref_rel + tb0, axes=_nearest_axes(R),
        axes_runner_up=None, axes_score=score, axes_runner_up_score=float("nan"),
        confidence=float(np.clip((1.0 - score) * margin, 0.0, 1.0)),
        window_t_s=wt_a + tb0, window_offset_s=wo_a + center, residual_rad_s=res, rotation=R,
        curves={"t_s": tq + tb0, "video_rad_s": reference.omega_rad_s[::step],
                "gyro_before_rad_s": before, "gyro_after_rad_s": after},
        notes=(),
    )
