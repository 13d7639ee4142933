"""Horizon lock and fixed-camera mode.

Horizon lock removes roll from the virtual camera: its x axis is made horizontal and its y axis
points down along gravity, keeping where it looks (its optical axis). Gravity comes from the
accelerometer when the log has one, fused with the gyro orientation by a complementary filter:
the accelerometer's "down" is carried into the (gyro-integrated) world frame, where it would be
constant but for gyro drift, and low-passed there, so the gyro supplies the fast part and the
accelerometer the slow part. Without an accelerometer the camera's mean down direction over the
clip is taken as gravity (the operator held it level on average), and the caller is told so.

Fixed-camera mode holds one virtual orientation for the whole clip (the mean of the real one);
the bad-region filter then bends it only where the frame would otherwise leave the source.
Axes and rotations per docs/architecture.md (x right, y down, z forward; ``R_world_from_cam``).
The filter-chain entries are ``stabilize.filters.horizon`` and ``stabilize.filters.fixed``.
"""

from __future__ import annotations

import numpy as np

from sensors.errors import InputError
from sensors.quaternion import qfrom_matrix, qnormalize, qslerp, qto_matrix
from sensors.types import GyroLog, Orientation

from .signal1d import gaussian_filter1d

__all__ = ["gravity_world", "level_roll", "fixed_orientation", "roll_to_horizon_rad"]

_G = 9.80665


def gravity_world(
    gyro: GyroLog, real: Orientation, t_s: np.ndarray, time_constant_s: float = 2.0
) -> tuple[np.ndarray, bool]:
    """Gravity (down) direction in the gyro-integrated world frame at times ``t_s``.

    Parameters
    ----------
    gyro : GyroLog
        Log on the same clock as ``real``; its accelerometer is used when present.
    real : Orientation
        ``R_world_from_cam`` integrated from that gyro.
    t_s : (F,) float64
        Query times.
    time_constant_s : float
        Crossover of the complementary filter: slower changes come from the accelerometer.

    Returns
    -------
    down_world : (F, 3) float64 unit vectors
    from_accel : bool
        False when the log had no accelerometer and the mean camera down was used.
    """
    t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
    if gyro.accel_m_s2 is None:
        down = real.matrices_at(real.t_s)[:, :, 1].mean(axis=0)
        n = np.linalg.norm(down)
        if n < 1e-6:
            raise InputError("camera down direction averages to zero; cannot level", gyro.source)
        return np.broadcast_to(down / n, (t.size, 3)).copy(), False
    a = gyro.accel_m_s2
    mag = np.linalg.norm(a, axis=1)
    if np.median(mag) < 0.3 * _G:
        raise InputError("accelerometer magnitude is far below 1 g; wrong units?", gyro.source)
    # Specific force points up; samples far from 1 g (impacts, sharp turns) carry little gravity.
    down_cam = -a / np.maximum(mag, 1e-9)[:, None]
    trust = np.exp(-0.5 * ((mag - _G) / (0.25 * _G)) ** 2)
    dw = np.einsum("nij,nj->ni", real.matrices_at(gyro.t_s), down_cam) * trust[:, None]
    rate = gyro.rate_hz
    sig = max(1.0, time_constant_s * rate)
    lp = gaussian_filter1d(dw, sigma=sig, axis=0)
    w = gaussian_filter1d(trust, sigma=sig)
    lp = lp / np.maximum(w, 1e-9)[:, None]
    out = np.stack([np.interp(t, gyro.t_s, lp[:, k]) for k in range(3)], axis=1)
    n = np.linalg.norm(out, axis=1, keepdims=True)
    if np.any(n < 1e-6):
        raise InputError("gravity estimate vanished (accelerometer inconsistent)", gyro.source)
    return out / n, True


def level_roll(virtual_quat: np.ndarray, down_world: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """Virtual orientations with roll about the optical axis removed.

    Parameters
    ----------
    virtual_quat : (F, 4) float64
        Virtual ``R_world_from_cam``.
    down_world : (F, 3) or (3,) float64
        Gravity direction in the same world frame.
    amount : float
        0 keeps the roll, 1 removes it; in between slerps.

    Returns
    -------
    (F, 4) float64 quaternions with the same optical axis and a level x axis. Frames looking
    within ~3 degrees of straight up or down (no horizon) are left unchanged.
    """
    q = np.asarray(virtual_quat, dtype=np.float64)
    R = qto_matrix(q)
    g = np.broadcast_to(np.asarray(down_world, dtype=np.float64), (q.shape[0], 3))
    z = R[:, :, 2]
    y = g - np.sum(g * z, axis=1, keepdims=True) * z
    ny = np.linalg.norm(y, axis=1, keepdims=True)
    ok = ny[:, 0] > 0.05
    y = y / np.where(ok[:, None], ny, 1.0)
    x = np.cross(y, z)
    Rl = np.stack([x, y, z], axis=2)
    ql = qfrom_matrix(np.where(ok[:, None, None], Rl, R))
    ql = np.where(np.sum(ql * q, axis=1, keepdims=True) < 0, -ql, ql)
    return qslerp(q, ql, np.full(q.shape[0], float(np.clip(amount, 0.0, 1.0))))


def roll_to_horizon_rad(quat: np.ndarray, down_world: np.ndarray) -> np.ndarray:
    """Signed roll (F,) of each camera relative to the horizon, radians (0 = level)."""
    R = qto_matrix(np.asarray(quat, dtype=np.float64))
    g = np.broadcast_to(np.asarray(down_world, dtype=np.float64), (R.shape[0], 3))
    gx = np.sum(R[:, :, 0] * g, axis=1)
    gy = np.sum(R[:, :, 1] * g, axis=1)
    return np.arctan2(gx, gy)


def fixed_orientation(real_quat: np.ndarray) -> np.ndarray:
    """One orientation (4,) for the whole clip: the chordal mean of the real track.

    The eigenvector of the largest eigenvalue of ``sum q q^T`` is the rotation closest to all of
    them in the chordal sense, and ignores the quaternion sign.
    """
    q = np.asarray(real_quat, dtype=np.float64)
    if q.ndim != 2 or q.shape[1] != 4 or q.shape[0] == 0:
        raise InputError(f"orientations must be (F, 4), got {q.shape}")
    _, vecs = np.linalg.eigh(q.T @ q)
    return qnormalize(vecs[:, -1])
