"""Numba kernels of the sensors layer. Private: call the validating wrappers in orientation.py.

Each kernel has a plain numpy reference in orientation.py and a parity test in
tests/test_orientation.py. ``sensors.aot.SENSORS`` builds them ahead of time too; a kernel must
keep everything it calls in this module, whose source stamps that build.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath=False)
def _integrate_gyro(t_s: np.ndarray, omega: np.ndarray, q0: np.ndarray) -> np.ndarray:
    """Integrate body rates to quaternions (x, y, z, w) with a second-order (coning) step."""
    n = t_s.shape[0]
    out = np.empty((n, 4))
    qx, qy, qz, qw = q0[0], q0[1], q0[2], q0[3]
    out[0, 0] = qx
    out[0, 1] = qy
    out[0, 2] = qz
    out[0, 3] = qw
    for k in range(n - 1):
        dt = t_s[k + 1] - t_s[k]
        ax, ay, az = omega[k, 0], omega[k, 1], omega[k, 2]
        bx, by, bz = omega[k + 1, 0], omega[k + 1, 1], omega[k + 1, 2]
        # Trapezoid mean rate plus the coning correction (w0 x w1) dt^2 / 12.
        vx = 0.5 * (ax + bx) * dt + (ay * bz - az * by) * dt * dt / 12.0
        vy = 0.5 * (ay + by) * dt + (az * bx - ax * bz) * dt * dt / 12.0
        vz = 0.5 * (az + bz) * dt + (ax * by - ay * bx) * dt * dt / 12.0
        th = np.sqrt(vx * vx + vy * vy + vz * vz)
        if th < 1e-8:
            s = 0.5 - th * th / 48.0
        else:
            s = np.sin(0.5 * th) / th
        dx, dy, dz, dw = vx * s, vy * s, vz * s, np.cos(0.5 * th)
        # q <- q * dq (body-frame increment: dR/dt = R [omega]x)
        nx = qw * dx + qx * dw + qy * dz - qz * dy
        ny = qw * dy - qx * dz + qy * dw + qz * dx
        nz = qw * dz + qx * dy - qy * dx + qz * dw
        nw = qw * dw - qx * dx - qy * dy - qz * dz
        norm = np.sqrt(nx * nx + ny * ny + nz * nz + nw * nw)
        qx, qy, qz, qw = nx / norm, ny / norm, nz / norm, nw / norm
        out[k + 1, 0] = qx
        out[k + 1, 1] = qy
        out[k + 1, 2] = qz
        out[k + 1, 3] = qw
    return out
