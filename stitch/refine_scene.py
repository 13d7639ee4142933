"""Scene model of the calibration solve: content at infinity, and a ground plane below the rig.

A rig with a baseline sees near content from slightly different places. The nearest content
of most panoramas is the ground under the rig, and its parallax has a shape the lens solve can
imitate: between neighbouring cameras of a ring, a horizontal plane h below the centre shifts
the layers apart along the baseline by ``B sin(e) / h`` at elevation e below the horizon, and
so does a common tilt of every camera (pitch p about its own x axis) with its principal point
moved by ``-f p`` (the image centre stays, the edges keystone by ``~2 p sin(a) sin(e)`` at
``a`` off axis). Scored with the scene at infinity, the solve trades the ground's parallax
for such a tilt, which then misaligns everything above the horizon (the sky, where matches are
few). Modelling the plane removes the trade: one parameter, the inverse distance of the plane
``rho = 1 / h`` (1/m, 0 = no plane), is solved with the calibration.

A ray ``r`` (rig frame, unit) from camera centre ``c`` meets the plane ``y = h`` (rig y is
down) when it points down; the point is ``c + t r`` with ``t = (h - c_y) / r_y``, seen from the
rig centre along ``b = (r + s c) / |r + s c|``, ``s = 1 / t = rho r_y / (1 - rho c_y)``. Rays at or
above the horizon keep ``b = r`` (content at infinity), and ``rho = 0`` is the plain model.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_GROUND_INV_M", "ground_bearings", "ground_bearings_jacobian"]

#: Largest inverse ground distance the solve may reach (a plane 0.25 m below the centre).
MAX_GROUND_INV_M = 4.0


def _scale(c: np.ndarray, r: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray, float]:
    down = r[..., 1] > 0.0
    den = 1.0 - rho * float(c[1])
    s = np.where(down, rho * r[..., 1] / den, 0.0)
    return s, down, den


def ground_bearings(c: np.ndarray, r: np.ndarray, rho: float) -> np.ndarray:
    """Directions from the rig centre (..., 3) of the scene points camera rays reach.

    Parameters
    ----------
    c : (3,) float
        Camera centre in the rig frame, metres.
    r : (..., 3) float
        Unit rig-frame rays from the camera centre.
    rho : float
        Inverse distance of the ground plane below the rig centre, 1/m (0: no plane).

    Returns
    -------
    (..., 3) float64 unit directions.

    Examples
    --------
    A camera 6 cm right of the centre looks 45 degrees down at a plane 1.6 m below; it meets
    the plane at (0.06, 1.6, 1.6) m, which the centre sees atan(0.06 / 1.6) to the right:

    >>> import numpy as np
    >>> r = np.array([0.0, np.sqrt(0.5), np.sqrt(0.5)])
    >>> b = ground_bearings(np.array([0.06, 0.0, 0.0]), r, 1 / 1.6)
    >>> round(float(np.degrees(np.arctan2(b[0], b[2]))), 3)
    2.148
    """
    c = np.asarray(c, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    s, _, _ = _scale(c, r, rho)
    v = r + s[..., None] * c
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def ground_bearings_jacobian(c: np.ndarray, r: np.ndarray, rho: float
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`ground_bearings` ``b`` (n, 3) and its derivatives by the rays, ``db/dr``
    (n, 3, 3), and by ``rho``, ``db/drho`` (n, 3)."""
    c = np.asarray(c, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64).reshape(-1, 3)
    s, down, den = _scale(c, r, rho)
    v = r + s[:, None] * c
    nv = np.linalg.norm(v, axis=1)
    b = v / nv[:, None]
    # d(v / |v|) / dv = (I - b b^T) / |v|
    P = (np.eye(3)[None] - b[:, :, None] * b[:, None, :]) / nv[:, None, None]
    dv_dr = np.broadcast_to(np.eye(3), (len(r), 3, 3)).copy()
    dv_dr[down, :, 1] += (rho / den) * c
    dv_drho = np.where(down, r[:, 1] / (den * den), 0.0)[:, None] * c
    return b, P @ dv_dr, np.einsum("nij,nj->ni", P, dv_drho)
