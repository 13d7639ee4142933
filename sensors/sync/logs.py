"""Log to log: two rigidly attached gyros' time offset, drift and mounting rotation."""

from __future__ import annotations

import numpy as np

from ..errors import InputError, SolveError
from ..types import GyroLog
from .axes import nearest_axes
from .numerics import GRID_S, golden, kabsch, second_minimum, uniform, xcorr
from .result import SyncResult

__all__ = ["sync_logs"]


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
    nb = int(np.floor(tb[-1] / GRID_S)) + 1
    ns = int(round(search_s / GRID_S))
    B = uniform(tb, reference.omega_rad_s, 0.0, nb)
    mb = np.linalg.norm(B, axis=1)
    # Gyro grid in its own relative time: index 0 is reference time 0 at offset center - S.
    # Reference time t_b corresponds to gyro time t_b + offset; relative: t_b + (offset-center).
    na = nb + 2 * ns
    A = uniform(ta, gyro.omega_rad_s, -ns * GRID_S, na)
    ma = np.linalg.norm(A, axis=1)
    cost = float(np.sum(mb**2)) + xcorr(np.ones(nb), ma**2) - 2.0 * xcorr(mb, ma)
    j = int(np.argmin(cost))
    energy = float(np.sum(mb**2))
    score = float(cost[j]) / energy
    second = second_minimum(cost, j, 50) / energy
    margin = float(np.clip(1.0 - score / max(second, 1e-12), 0.0, 1.0))
    if score > max_unexplained:
        raise SolveError(f"the two logs' motions do not match (best fit leaves {score:.0%} "
                         "of the reference's rate unexplained)")
    if margin < min_margin:
        raise SolveError(f"offset is ambiguous (second-best peak within {margin:.0%}): motion "
                         "too repetitive or too weak")
    rel = (j - ns) * GRID_S  # offset - center, in seconds
    spl = CubicSpline(ta, gyro.omega_rad_s, axis=0, extrapolate=False)

    def fit(rel_off: float, mask_t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tq = tb[mask_t] + rel_off
        inside = (tq >= 0) & (tq <= ta[-1])
        a = spl(tq[inside])
        b = reference.omega_rad_s[mask_t][inside]
        return a, b, inside

    def rot_fit(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ca, cb = a.mean(axis=0), b.mean(axis=0)
        R = kabsch(a - ca, b - cb)
        return R, cb - R @ ca

    def resid(rel_off: float, R, bias, mask_t) -> float:
        a, b, _ = fit(rel_off, mask_t)
        if a.shape[0] < 10:
            return float("inf")
        return float(np.mean(np.sum((b - a @ R.T - bias) ** 2, axis=1)))

    everything = np.ones(tb.size, dtype=bool)
    R, bias = rot_fit(*fit(rel, everything)[:2])
    for _ in range(3):
        rel = golden(lambda o, R=R, bias=bias: resid(o, R, bias, everything),
                      rel - 3e-3, rel + 3e-3, 1e-6)
        R, bias = rot_fit(*fit(rel, everything)[:2])
    # Per-window offsets for drift on long recordings.
    span = float(tb[-1])
    wt, wo = [], []
    if span >= 3 * window_s and windows >= 2:
        edges = np.linspace(0.0, span, windows + 1)
        for a0, a1 in zip(edges[:-1], edges[1:], strict=True):
            m = (tb >= a0) & (tb < a1)
            o = golden(lambda x, m=m: resid(x, R, bias, m), rel - 3e-3, rel + 3e-3, 1e-6)
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
        offset_s=float(offset), drift_ppm=drift, t_ref_s=t_ref_rel + tb0, axes=nearest_axes(R),
        axes_runner_up=None, axes_score=score, axes_runner_up_score=float("nan"),
        confidence=float(np.clip((1.0 - score) * margin, 0.0, 1.0)),
        window_t_s=wt_a + tb0, window_offset_s=wo_a + center, residual_rad_s=res, rotation=R,
        curves={"t_s": tq + tb0, "video_rad_s": reference.omega_rad_s[::step],
                "gyro_before_rad_s": before, "gyro_after_rad_s": after},
        notes=(),
    )
