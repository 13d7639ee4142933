"""Synthetic MEMS gyro/accelerometer logs from a true camera path.

White noise is given as a density (rad/s/sqrt(Hz)), so the per-sample standard deviation is
``density * sqrt(rate_hz / 2)`` (one-sided bandwidth Nyquist); a MEMS gyro of the kind in action
cameras and phones has ~0.005-0.01 deg/s/sqrt(Hz) and a turn-on bias of a few tenths deg/s.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..types import GyroLog
from .paths import TruePath

__all__ = ["synthesize_gyro", "DEFAULT_NOISE_RAD_S", "DEFAULT_BIAS_RAD_S"]

#: White-noise density 0.005 deg/s/sqrt(Hz) in rad/s/sqrt(Hz) (a current MEMS part).
DEFAULT_NOISE_RAD_S = float(np.radians(0.005))
#: A typical turn-on bias, rad/s per axis (0.2-0.4 deg/s).
DEFAULT_BIAS_RAD_S = (float(np.radians(0.3)), float(np.radians(-0.2)), float(np.radians(0.4)))


def synthesize_gyro(
    path: TruePath,
    rate_hz: float = 200.0,
    noise_rad_s: float = DEFAULT_NOISE_RAD_S,
    bias_rad_s: tuple[float, float, float] | np.ndarray = DEFAULT_BIAS_RAD_S,
    seed: int = 0,
    accel: bool = True,
    accel_noise_m_s2: float = 0.02,
    jitter_s: float = 0.0,
    t0_s: float = 0.0,
    clock_offset_s: float = 0.0,
) -> GyroLog:
    """Sample a gyro (and accelerometer) log along a true path.

    Parameters
    ----------
    path : TruePath
        The true motion; rates are evaluated exactly at each sample time.
    rate_hz : float
        Nominal sample rate.
    noise_rad_s : float
        White-noise density, rad/s/sqrt(Hz).
    bias_rad_s : (3,) float
        Constant bias added on each axis, rad/s.
    seed : int
        Random seed (noise and jitter).
    accel : bool
        Also synthesize the accelerometer (gravity in the camera frame plus the path's
        translational acceleration, and white noise of ``accel_noise_m_s2`` per sample).
    jitter_s : float
        Standard deviation of the sample-time jitter (the samples are taken at the jittered
        times, and the log records them; times stay strictly increasing).
    t0_s : float
        Path time of the first sample (the log covers ``t0_s`` to the path's end).
    clock_offset_s : float
        Added to the recorded times: the log's clock reads ``t_path + clock_offset_s``.

    Returns
    -------
    GyroLog in camera axes with times on the log's clock.
    """
    if not (rate_hz > 0 and np.isfinite(rate_hz)):
        raise InputError(f"gyro rate must be positive, got {rate_hz}")
    if noise_rad_s < 0 or jitter_s < 0:
        raise InputError("noise and jitter must be >= 0")
    bias = np.asarray(bias_rad_s, dtype=np.float64).reshape(3)
    rng = np.random.default_rng(seed)
    t_end = float(path.t_s[-1])
    n = int(np.floor((t_end - t0_s) * rate_hz + 1e-9)) + 1
    if n < 2:
        raise InputError("path is too short for one gyro period")
    t = t0_s + np.arange(n) / rate_hz
    if jitter_s > 0:
        dt = 1.0 / rate_hz
        t = t + np.clip(rng.normal(0, jitter_s, n), -0.4 * dt, 0.4 * dt)
        t = np.clip(t, path.t_s[0], t_end)
    _, omega = path.evaluate(t)
    sigma = noise_rad_s * np.sqrt(rate_hz / 2.0)
    omega = omega + bias + rng.normal(0.0, sigma, (n, 3))
    acc = None
    if accel:
        acc = path.specific_force_at(t) + rng.normal(0.0, accel_noise_m_s2, (n, 3))
    return GyroLog(t + clock_offset_s, omega, acc)
