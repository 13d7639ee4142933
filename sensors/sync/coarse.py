"""Coarse video-to-gyro offset and IMU axes: every offset on a 1 ms grid and every signed axis
permutation at once.

The per-pair angular velocity measured from the video's optical flow is compared with the gyro
rate averaged over a frame interval, for every offset by FFT cross-correlation; the nine
axis-by-axis correlations give the residual of all 48 signed axis permutations (proper and
improper) for free, so the IMU orientation is picked by the same fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import GyroLog
from .axes import axes_matrix
from .numerics import GRID_S, boxcar, second_minimum, uniform, xcorr

__all__ = ["Coarse", "coarse_video"]


@dataclass(frozen=True)
class Coarse:
    """Best grid offset and axes, the runner-up axes, and the margin over the second-best
    offset peak (scores are the unexplained fraction of the video's rate energy)."""

    offset_s: float
    axes: str
    score: float
    runner_up: str | None
    runner_up_score: float
    margin: float


def coarse_video(
    t_v: np.ndarray, w_v: np.ndarray, frame_dt: float, gyro: GyroLog, center_s: float,
    search_s: float, candidates: tuple[str, ...],
) -> Coarse:
    """Best offset (log time minus video time, within ``center_s +/- search_s``) and axes.

    Parameters
    ----------
    t_v, w_v : (N,) and (N, 3) float64
        Times (video clock) and angular velocities of the usable frame pairs.
    frame_dt : float
        Frame interval; the gyro is averaged over it as the pair rates are.
    gyro : GyroLog
        The log on its own clock.
    center_s, search_s : float
        Centre and half-width of the offset search.
    candidates : tuple of str
        Signed axis permutations to try (``AXES_ALL`` or one).
    """
    # Video samples as impulses on a 1 ms grid starting at the first pair's time.
    tv0 = float(t_v[0])
    iv = np.round((t_v - tv0) / GRID_S).astype(np.int64)
    nv = int(iv[-1]) + 1
    imp = np.zeros((nv, 3))
    np.add.at(imp, iv, w_v)
    mask = np.zeros(nv)
    np.add.at(mask, iv, 1.0)
    ns = int(round(search_s / GRID_S))
    g0 = tv0 + center_s - ns * GRID_S  # log time of grid index 0
    ng = nv + 2 * ns
    # Gyro relative to its first sample keeps float64 precision for large log clocks.
    tg_rel = gyro.t_s - g0
    g = uniform(tg_rel, gyro.omega_rad_s, 0.0, ng)
    g = boxcar(g, max(1, int(round(frame_dt / GRID_S))))
    energy_v = float(np.sum(w_v**2))
    E = xcorr(mask, np.sum(g**2, axis=1))
    X = np.empty((3, 3, E.size))
    for a in range(3):
        for b in range(3):
            X[a, b] = xcorr(imp[:, a], g[:, b])
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
    excl = max(3, int(round(2.0 * frame_dt / GRID_S)))
    second = second_minimum(cost, j, excl) / energy_v
    margin = float(np.clip(1.0 - score / max(second, 1e-12), 0.0, 1.0))
    ru = per_axes[1] if len(per_axes) > 1 else None
    return Coarse(offset_s=center_s + (j - ns) * GRID_S, axes=ax, score=score,
                   runner_up=None if ru is None else ru[1],
                   runner_up_score=float("nan") if ru is None else ru[0], margin=margin)
