"""Zero-phase smoothing of an orientation track with its own sigma per frame and camera axis."""

from __future__ import annotations

import numpy as np

from sensors.errors import InputError
from sensors.quaternion import qconj, qexp, qlog, qmul

__all__ = ["smooth_per_axis"]


def _edge_taper(x: np.ndarray) -> np.ndarray:
    """Weight factor over the window, ``x = |dt| / reach``: 1 in the inner two thirds, a cos^2
    fall to 0 at the edge. A Gaussian simply cut at a lookahead limit shorter than its 3 sigma
    lets neighbours enter and leave the window at a large weight (exp(-0.5) when cut at one
    sigma): in effect a boxcar, whose sidelobes pass hand jitter into a locked axis."""
    inner = 2.0 / 3.0
    fall = np.cos(0.5 * np.pi * np.clip((x - inner) / (1.0 - inner), 0.0, 1.0)) ** 2
    return np.where(x <= 1.0 + 1e-9, fall, 0.0)


def smooth_per_axis(
    t_s: np.ndarray, quat: np.ndarray, sigma_s: np.ndarray, max_half_window_s: float = 4.0
) -> np.ndarray:
    """Zero-phase Gaussian smoothing of an orientation track with a sigma per frame and per axis.

    For each frame ``i`` the neighbouring orientations are expressed as rotation vectors in frame
    ``i``'s own camera axes, ``v_j = log(q_i^-1 q_j)``; each axis is fitted with a Gaussian-
    weighted local line in time (sigma of that frame and axis) and the fit's value at ``t_i``
    gives the virtual orientation ``q_i exp(v)``. In the interior the local line equals a plain
    Gaussian mean (symmetric weights); near the clip ends it follows a pan instead of lagging.
    No Euler angles are involved, and the axes are the camera's tilt (x), pan (y), roll (z).

    Parameters
    ----------
    t_s : (F,) float64
        Frame times, seconds.
    quat : (F, 4) float64
        Real ``R_world_from_cam`` per frame, scalar-last, sign-continuous.
    sigma_s : (F, 3) or (3,) float64
        Gaussian sigma per frame and axis, seconds (> 0).
    max_half_window_s : float
        The window ends at ``min(3 sigma, max_half_window_s)`` (bounded lookahead); the weights
        taper to zero over its outer third.

    Returns
    -------
    (F, 4) float64 virtual quaternions.
    """
    t = np.asarray(t_s, dtype=np.float64)
    q = np.asarray(quat, dtype=np.float64)
    F = t.size
    sig = np.broadcast_to(np.asarray(sigma_s, dtype=np.float64), (F, 3))
    if q.shape != (F, 4):
        raise InputError(f"orientations have shape {q.shape}, expected ({F}, 4)")
    if np.any(~np.isfinite(sig)) or np.any(sig <= 0):
        raise InputError("smoothing sigmas must be finite and positive")
    if F < 2:
        return q.copy()
    dt = float(np.median(np.diff(t)))
    reach = np.minimum(3.0 * sig, max_half_window_s)  # (F, 3)
    H = int(np.ceil(reach.max() / dt))
    idx = np.arange(F)
    base = q
    # Two passes: the second re-expresses the neighbours around the first estimate, so the
    # large pan angle of a wide window no longer leaks (through the non-commuting composition
    # with the shake) into the other axes.
    for _ in range(2):
        base_inv = qconj(base)
        S0 = np.zeros((F, 3))
        S1 = np.zeros((F, 3))
        S2 = np.zeros((F, 3))
        Sv = np.zeros((F, 3))
        Stv = np.zeros((F, 3))
        for k in range(-H, H + 1):
            j = idx + k
            ok = (j >= 0) & (j < F)
            jj = np.clip(j, 0, F - 1)
            d = (t[jj] - t)[:, None]
            wgt = np.exp(-0.5 * (d / sig) ** 2) * _edge_taper(np.abs(d) / reach) * ok[:, None]
            v = qlog(qmul(base_inv, q[jj]))
            S0 += wgt
            S1 += wgt * d
            S2 += wgt * d * d
            Sv += wgt * v
            Stv += wgt * d * v
        det = S0 * S2 - S1 * S1
        const = Sv / S0
        good = det > 1e-9 * np.maximum(S0 * S2, 1e-30)
        lin = np.where(good, (S2 * Sv - S1 * Stv) / np.where(good, det, 1.0), const)
        base = qmul(base, qexp(lin))
    return base
