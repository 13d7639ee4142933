"""Uniform cubic B-spline helpers for the per-layer displacement grids of ``stitch.warp_solve``.

A grid has control points at panorama positions ``(origin_u + a s, origin_v + b s)`` for
``a = 0..gw-1``, ``b = 0..gh-1`` (spacing ``s`` px). A point ``x`` falls in cell
``k = floor((x - origin) / s)`` at fraction ``t``; it is influenced by control points
``k - 1 .. k + 2`` with the uniform cubic B-spline weights

    B0 = (1 - t)^3 / 6, B1 = (3t^3 - 6t^2 + 4) / 6, B2 = (-3t^3 + 3t^2 + 3t + 1) / 6, B3 = t^3 / 6

(they sum to one, so a constant control grid is a constant displacement). A periodic axis (a
layer spanning the whole panorama width) takes control indices modulo ``gw``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cubic_weights", "cubic_weight_derivatives", "axis_basis", "basis_matrix"]


def cubic_weights(t: np.ndarray) -> np.ndarray:
    """Weights (..., 4) of the four control points around fraction ``t`` in [0, 1)."""
    t = np.asarray(t, dtype=np.float64)
    t2 = t * t
    t3 = t2 * t
    return np.stack([(1 - t) ** 3, 3 * t3 - 6 * t2 + 4, -3 * t3 + 3 * t2 + 3 * t + 1, t3],
                    axis=-1) / 6.0


def cubic_weight_derivatives(t: np.ndarray) -> np.ndarray:
    """d/dt of :func:`cubic_weights` (..., 4) (divide by the spacing for d/dx)."""
    t = np.asarray(t, dtype=np.float64)
    t2 = t * t
    return np.stack([-3 * (1 - t) ** 2, 9 * t2 - 12 * t, -9 * t2 + 6 * t + 3, 3 * t2],
                    axis=-1) / 6.0


def axis_basis(x: np.ndarray, origin: float, spacing: float, n: int, periodic: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Control indices and weights of positions along one axis.

    Parameters
    ----------
    x : (N,) float
        Positions (panorama px, same frame as ``origin``).
    origin, spacing : float
        Position of control point 0 and the control spacing (px).
    n : int
        Number of control points on the axis.
    periodic : bool
        Indices wrap modulo ``n`` (the axis closes on itself after ``n * spacing`` px).

    Returns
    -------
    index : (N, 4) intp
        Control indices ``k-1 .. k+2`` (wrapped if periodic).
    weight : (N, 4) float64
    dweight_dx : (N, 4) float64
        Derivative of the weights with respect to ``x``.

    Raises
    ------
    ValueError
        A non-periodic position needs control points outside ``0..n-1``.
    """
    u = (np.asarray(x, dtype=np.float64) - origin) / spacing
    k = np.floor(u)
    t = u - k
    idx = k.astype(np.intp)[:, None] + np.arange(-1, 3)[None, :]
    if periodic:
        idx = np.mod(idx, n)
    elif idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"positions fall outside the control grid (indices {idx.min()}.."
                         f"{idx.max()}, grid has {n})")
    return idx, cubic_weights(t), cubic_weight_derivatives(t) / spacing


def basis_matrix(x: np.ndarray, origin: float, spacing: float, n: int, periodic: bool = False,
                 derivative: bool = False) -> np.ndarray:
    """Dense (N, n) matrix M with ``f(x) = M @ c`` for control values ``c`` along one axis.

    Used for separable evaluation of a whole layer: ``D = By @ C @ Bx.T``.
    """
    idx, w, dw = axis_basis(x, origin, spacing, n, periodic)
    M = np.zeros((len(idx), n))
    vals = dw if derivative else w
    if n >= 4:
        # The four indices of a row are distinct (periodic grids need n >= 4): plain assignment.
        M[np.arange(len(idx))[:, None], idx] = vals
    else:
        np.add.at(M, (np.repeat(np.arange(len(idx)), 4), idx.ravel()), vals.ravel())
    return M
