"""Zero-phase Gaussian smoothing of an orientation track on the rotation manifold.

The ``gaussian`` filter-chain entry applies it to the virtual path; the ``intent`` entry's guard
(``stabilize.intent.guard``) computes it beside the intent path to compare the two.
"""

from __future__ import annotations

import math

import numpy as np

from sensors.errors import InputError
from sensors.quaternion import qconj, qexp, qlog, qmul

__all__ = ["smooth_gaussian"]


def smooth_gaussian(t_s: np.ndarray, quat: np.ndarray, sigma_s: float,
                    iterations: int = 3) -> np.ndarray:
    """Zero-phase Gaussian smoothing of an orientation track on the rotation manifold.

    Each output is the Gaussian-weighted Karcher mean of the orientations within 3 sigma: the
    neighbours are expressed as rotation vectors around the current estimate,
    ``v_j = log(m^-1 q_j)``, their weighted mean moves the estimate ``m <- m exp(mean v)``, and
    that repeats (Gauss-Newton on the mean; the first estimate is the frame itself). No Euler
    angles. At the clip ends the window is cut and the weights renormalised.

    Parameters
    ----------
    t_s : (F,) float64
        Frame times, seconds.
    quat : (F, 4) float64
        Real orientations, scalar-last.
    sigma_s : float
        Gaussian sigma, seconds.
    iterations : int
        Mean-update rounds.

    Returns
    -------
    (F, 4) float64 smoothed quaternions.
    """
    t = np.asarray(t_s, dtype=np.float64)
    q = np.asarray(quat, dtype=np.float64)
    if q.shape != (t.size, 4):
        raise InputError(f"orientations have shape {q.shape}, expected ({t.size}, 4)")
    if not (sigma_s > 0):
        raise InputError(f"smoothing sigma must be > 0, got {sigma_s}")
    F = t.size
    if F < 2:
        return q.copy()
    dt = float(np.median(np.diff(t)))
    reach = 3.0 * sigma_s
    H = int(math.ceil(reach / dt)) + 1
    idx = np.arange(F)
    m = q.copy()
    for _ in range(iterations):
        m_inv = qconj(m)
        acc = np.zeros((F, 3))
        wsum = np.zeros(F)
        for k in range(-H, H + 1):
            j = idx + k
            ok = (j >= 0) & (j < F)
            jj = np.clip(j, 0, F - 1)
            d = t[jj] - t
            w = np.exp(-0.5 * (d / sigma_s) ** 2) * (ok & (np.abs(d) <= reach + 1e-9))
            acc += w[:, None] * qlog(qmul(m_inv, q[jj]))
            wsum += w
        m = qmul(m, qexp(acc / wsum[:, None]))
    return m
