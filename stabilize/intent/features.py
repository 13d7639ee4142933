"""What the intent classifier sees: spectral and rate features of a gyro window per frame.

A window of ``WINDOW_S`` of gyro (and accelerometer magnitude, where present) centred on each
frame is box-averaged onto ``FEATURE_RATE_HZ``; per axis its mean rate, spread, sign consistency
and log band energies are the features. Axes follow docs/architecture.md: camera x right, y
down, z forward, so rotation about x is tilt, about y pan, about z roll.
"""

from __future__ import annotations

import numpy as np

__all__ = ["WINDOW_S", "FEATURE_RATE_HZ", "GYRO_BANDS_HZ", "ACCEL_BANDS_HZ", "N_FEATURES",
           "intent_features"]

#: Gyro window seen by the classifier, centred on the frame (seconds).
WINDOW_S = 2.0
#: The window is box-averaged onto this rate before the spectrum (anti-aliased, rate-independent).
FEATURE_RATE_HZ = 64.0
#: Spectral bands (Hz) whose log energies are features, per axis.
GYRO_BANDS_HZ = ((0.4, 1.6), (1.6, 4.1), (4.1, 8.1), (8.1, 15.1), (15.1, 32.1))
ACCEL_BANDS_HZ = ((0.4, 1.6), (1.6, 4.1), (4.1, 8.1), (8.1, 15.1))

_EPS_RATE = 1e-3  # rad/s floor inside logs: below gyro noise, keeps features finite
_EPS_ENERGY = 1e-7


def _window_rates(t_s: np.ndarray, values: np.ndarray, centres_s: np.ndarray) -> np.ndarray:
    """Box-averaged samples (F, n, C) of ``values`` over windows centred on ``centres_s``.

    Each output sample is the mean of the signal over its bin (difference of the trapezoid
    integral at the bin edges), which anti-aliases any input rate down to ``FEATURE_RATE_HZ``.
    Windows are shifted inside the log near its ends rather than padded with zeros, which would
    look like stillness.
    """
    n = int(round(WINDOW_S * FEATURE_RATE_HZ))
    dt = 1.0 / FEATURE_RATE_HZ
    half = 0.5 * WINDOW_S
    lo, hi = t_s[0] + half, t_s[-1] - half
    c = np.clip(centres_s, lo, hi) if hi > lo else np.full_like(centres_s, 0.5 * (t_s[0] + t_s[-1]))
    edges = (c[:, None] - half) + dt * np.arange(n + 1)[None, :]
    cum = np.concatenate(
        [np.zeros((1, values.shape[1])),
         np.cumsum(0.5 * (values[1:] + values[:-1]) * np.diff(t_s)[:, None], axis=0)]
    )
    out = np.empty((c.size, n, values.shape[1]))
    for a in range(values.shape[1]):
        ce = np.interp(edges, t_s, cum[:, a])
        out[:, :, a] = np.diff(ce, axis=1) / dt
    return out


def _band_log_energy(x: np.ndarray, bands: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Log band energies (F, C, B) of zero-mean windows x (F, n, C)."""
    n = x.shape[1]
    spec = np.abs(np.fft.rfft(x, axis=1)) ** 2 / (n * n)
    freqs = np.fft.rfftfreq(n, 1.0 / FEATURE_RATE_HZ)
    cols = [spec[:, (freqs >= lo) & (freqs < hi), :].sum(axis=1) for lo, hi in bands]
    return np.log(np.stack(cols, axis=-1) + _EPS_ENERGY)


def intent_features(
    t_s: np.ndarray,
    omega_rad_s: np.ndarray,
    centres_s: np.ndarray,
    accel_m_s2: np.ndarray | None = None,
) -> np.ndarray:
    """Feature vectors for the intent classifier, one per window centre.

    Parameters
    ----------
    t_s : (N,) float64
        Gyro sample times, seconds, strictly increasing.
    omega_rad_s : (N, 3) float64
        Body rates in camera axes, rad/s.
    centres_s : (F,) float64
        Window centres (usually frame times on the gyro's clock).
    accel_m_s2 : (N, 3) float64, optional
        Accelerometer at the same times; only its magnitude is used (orientation-free).

    Returns
    -------
    (F, D) float64 features: per axis log |mean rate|, log std, sign consistency and log band
    energies; the share of the mean rate on the pan and tilt axes; an accel-present flag and
    log band energies of the accel magnitude (zeros without accel).
    """
    t = np.asarray(t_s, dtype=np.float64)
    w = np.asarray(omega_rad_s, dtype=np.float64)
    c = np.atleast_1d(np.asarray(centres_s, dtype=np.float64))
    x = _window_rates(t, w, c)  # (F, n, 3)
    mean = x.mean(axis=1)  # (F, 3)
    dev = x - mean[:, None, :]
    std = dev.std(axis=1)
    consistency = np.abs(mean) / (np.abs(x).mean(axis=1) + 1e-9)
    bands = _band_log_energy(dev, GYRO_BANDS_HZ).reshape(c.size, -1)
    mnorm = np.linalg.norm(mean, axis=1) + _EPS_RATE
    share = np.abs(mean[:, :2]) / mnorm[:, None]
    feats = [np.log(np.abs(mean) + _EPS_RATE), np.log(std + _EPS_RATE), consistency, bands, share]
    if accel_m_s2 is not None:
        a = np.linalg.norm(np.asarray(accel_m_s2, dtype=np.float64), axis=1, keepdims=True)
        xa = _window_rates(t, a, c)
        xa = xa - xa.mean(axis=1, keepdims=True)
        feats += [np.ones((c.size, 1)), _band_log_energy(xa, ACCEL_BANDS_HZ).reshape(c.size, -1)]
    else:
        feats += [np.zeros((c.size, 1 + len(ACCEL_BANDS_HZ)))]
    return np.concatenate(feats, axis=1)


#: Feature count (3 axes x (3 stats + bands) + 2 shares + 1 flag + accel bands).
N_FEATURES = 3 * (3 + len(GYRO_BANDS_HZ)) + 2 + 1 + len(ACCEL_BANDS_HZ)
