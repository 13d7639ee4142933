"""Signal helpers of the sync searches: a uniform time grid, FFT cross-correlation, the runner-up
minimum of a cost curve, golden-section search and the Kabsch rotation fit."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.fft

__all__ = ["GRID_S", "boxcar", "golden", "kabsch", "second_minimum", "uniform", "xcorr"]

#: Spacing of the coarse searches' time grid, seconds.
GRID_S = 1e-3


def uniform(t_s: np.ndarray, v: np.ndarray, t0: float, n: int) -> np.ndarray:
    """Linear resampling of (N, 3) ``v`` on ``t0 + k * grid``; zero outside the log's span."""
    tg = t0 + np.arange(n) * GRID_S
    out = np.zeros((n, v.shape[1]))
    inside = (tg >= t_s[0]) & (tg <= t_s[-1])
    for a in range(v.shape[1]):
        out[inside, a] = np.interp(tg[inside], t_s, v[:, a])
    return out


def boxcar(v: np.ndarray, width: int) -> np.ndarray:
    """Moving average of (N, C) ``v`` over ``width`` samples per column (same length)."""
    if width <= 1:
        return v
    k = np.ones(width) / width
    return np.stack([np.convolve(v[:, a], k, mode="same") for a in range(v.shape[1])], axis=1)


def xcorr(impulses: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """``out[j] = sum_i impulses[i] * signal[i + j]`` for every full overlap ``j``."""
    # FFT convolution with the reversed impulses, the "valid" part; scipy.fft rather than
    # scipy.signal, whose import (stats, windows, ...) costs ~1 s of GIL-held start-up.
    n, m = signal.size, impulses.size
    size = n + m - 1
    nfft = scipy.fft.next_fast_len(size, real=True)
    full = scipy.fft.irfft(scipy.fft.rfft(signal, nfft) * scipy.fft.rfft(impulses[::-1], nfft),
                           nfft)[:size]
    return full[min(n, m) - 1:max(n, m)]


def second_minimum(cost: np.ndarray, best: int, exclude: int) -> float:
    """Lowest local minimum of ``cost`` farther than ``exclude`` samples from ``best``."""
    c = cost
    loc = np.flatnonzero((c[1:-1] <= c[:-2]) & (c[1:-1] <= c[2:])) + 1
    loc = loc[np.abs(loc - best) > exclude]
    if loc.size == 0:
        far = np.abs(np.arange(c.size) - best) > exclude
        return float(c[far].min()) if np.any(far) else float("inf")
    return float(c[loc].min())


def golden(f: Callable[[float], float], lo: float, hi: float, tol: float) -> float:
    """Minimiser of a unimodal ``f`` on ``[lo, hi]`` by golden-section search, to ``tol``."""
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


def kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Proper rotation ``R`` minimising ``sum |dst - R src|^2`` (both centred by the caller)."""
    H = src.T @ dst
    U, _, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(Vt.T @ U.T))
    D = np.diag([1.0, 1.0, d])
    return Vt.T @ D @ U.T
