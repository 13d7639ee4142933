"""1-D Gaussian and running-maximum filters along frames, edges held ("nearest").

The same results as ``scipy.ndimage.gaussian_filter1d`` / ``maximum_filter1d`` with
``mode="nearest"`` (tests hold them together); here because importing ``scipy.ndimage`` costs
0.17 s of every ``steadyrig stabilize`` start, for filters this small.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["gaussian_filter1d", "maximum_filter1d"]


def gaussian_filter1d(x: np.ndarray, sigma: float, axis: int = -1,
                      truncate: float = 4.0) -> np.ndarray:
    """Gaussian smoothing along ``axis`` (sigma in samples), edges extended with the end values.

    Parameters
    ----------
    x : array_like
        Samples; any shape.
    sigma : float
        Standard deviation, samples (> 0).
    axis : int
        Axis to smooth along.
    truncate : float
        The kernel reaches ``truncate * sigma`` each side (as scipy).

    Returns
    -------
    float64 array of ``x``'s shape.
    """
    x = np.asarray(x, dtype=np.float64)
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    r = int(truncate * float(sigma) + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / float(sigma)) ** 2)
    k /= k.sum()
    moved = np.moveaxis(x, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    out = np.empty_like(flat)
    for i, row in enumerate(flat):
        # np.convolve flips the kernel; it is symmetric, so this is scipy's correlation
        out[i] = np.convolve(np.pad(row, r, mode="edge"), k, mode="valid")
    return np.moveaxis(out.reshape(moved.shape), -1, axis)


def maximum_filter1d(x: np.ndarray, size: int) -> np.ndarray:
    """Running maximum over ``size`` samples centred on each (odd ``size``), 1-D ``x``,
    edges extended with the end values."""
    x = np.asarray(x)
    if x.ndim != 1 or size < 1 or size % 2 == 0:
        raise ValueError("maximum_filter1d takes a 1-D array and an odd size")
    r = size // 2
    return sliding_window_view(np.pad(x, r, mode="edge"), size).max(axis=-1)
