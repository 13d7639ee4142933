"""Quaternion helpers on (N, 4) arrays, scalar-last (x, y, z, w) as scipy's ``Rotation``.

Conventions are in docs/architecture.md ("Rotations"). All functions are vectorised and
broadcast over the leading axes.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "qmul",
    "qconj",
    "qnormalize",
    "qexp",
    "qlog",
    "qslerp",
    "qrotate",
    "qto_matrix",
    "qfrom_matrix",
    "qangle",
]


def qnormalize(q: np.ndarray) -> np.ndarray:
    """Unit quaternions with a non-negative scalar part (a canonical sign)."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., 3:4] < 0, -q, q)


def qconj(q: np.ndarray) -> np.ndarray:
    """Conjugate (the inverse of a unit quaternion)."""
    q = np.asarray(q, dtype=np.float64)
    return np.concatenate([-q[..., :3], q[..., 3:]], axis=-1)


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``, as rotation matrices)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ax, ay, az, aw = np.moveaxis(a, -1, 0)
    bx, by, bz, bw = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def qexp(v: np.ndarray) -> np.ndarray:
    """Quaternion of the rotation vector ``v`` (radians, axis * angle)."""
    v = np.asarray(v, dtype=np.float64)
    theta = np.linalg.norm(v, axis=-1, keepdims=True)
    half = 0.5 * theta
    # sin(x/2)/x with its Taylor series near zero keeps tiny rotations exact.
    small = theta < 1e-8
    safe = np.where(small, 1.0, theta)
    k = np.where(small, 0.5 - theta**2 / 48.0, np.sin(half) / safe)
    return np.concatenate([v * k, np.cos(half)], axis=-1)


def qlog(q: np.ndarray) -> np.ndarray:
    """Rotation vector (radians) of unit quaternions; the shortest of the two signs."""
    q = qnormalize(q)
    xyz = q[..., :3]
    s = np.linalg.norm(xyz, axis=-1, keepdims=True)
    w = q[..., 3:4]
    angle = 2.0 * np.arctan2(s, w)
    small = s < 1e-12
    k = np.where(small, 2.0 / np.where(w == 0, 1.0, w), angle / np.where(small, 1.0, s))
    return xyz * k


def qangle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (radians) of the rotation that takes ``a`` to ``b``."""
    # atan2 of the relative rotation keeps precision for tiny angles (arccos loses ~1e-8 rad).
    rel = qmul(qconj(qnormalize(a)), qnormalize(b))
    return 2.0 * np.arctan2(np.linalg.norm(rel[..., :3], axis=-1), np.abs(rel[..., 3]))


def qslerp(q0: np.ndarray, q1: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Spherical linear interpolation, elementwise; ``frac`` in [0, 1] broadcasts over rows."""
    q0 = np.asarray(q0, dtype=np.float64)
    q1 = np.asarray(q1, dtype=np.float64)
    frac = np.asarray(frac, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_t = np.sin(theta)
    near = sin_t < 1e-9
    safe = np.where(near, 1.0, sin_t)
    w0 = np.where(near, 1.0 - frac, np.sin((1.0 - frac) * theta) / safe)
    w1 = np.where(near, frac, np.sin(frac * theta) / safe)
    out = w0 * q0 + w1 * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def qto_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4)."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )


def qfrom_matrix(R: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) of rotation matrices (..., 3, 3)."""
    from scipy.spatial.transform import Rotation

    R = np.asarray(R, dtype=np.float64)
    flat = R.reshape(-1, 3, 3)
    q = Rotation.from_matrix(flat).as_quat()
    return qnormalize(q.reshape(R.shape[:-2] + (4,)))


def qrotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``q`` (..., 4)."""
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    u = q[..., :3]
    w = q[..., 3:4]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)
