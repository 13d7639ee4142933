"""Gyro bias from the video, for logs without a still stretch.

A gyro's bias shows as a constant offset between what it reports and how the picture turns. Where
the log never rests (a handheld walk, a drone), ``sensors.orientation.estimate_bias`` finds no still
window; the flow between consecutive frames (``sensors.video_motion``) still measures the camera's
true rate. Per axis, ``gyro = scale * flow + bias`` is fitted by least squares over the frame
pairs of a few windows spread over the clip (the scale absorbs a focal length that is not quite
right); the intercept is the bias. It is used only when enough pairs agree and the value is
plausible for a MEMS gyro.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.errors import InputError, SolveError
from sensors.progress import get_logger
from sensors.types import CameraModel, GyroLog

from .video_fill import MIN_INLIER_FRAC, _gyro_mean_rates

log = get_logger(__name__)

#: Seconds of video analysed per window, and windows at most.
WINDOW_S = 2.0
MAX_WINDOWS = 3
#: Least frame pairs for a fit.
MIN_PAIRS = 30
#: A bias beyond this (rad/s; ~3 deg/s) is not a MEMS gyro's: the fit is rejected.
MAX_BIAS_RAD_S = 0.05
#: The fit must leave a residual below this share of the motion.
MAX_RESIDUAL = 0.5


@dataclass(frozen=True)
class VideoBias:
    """A bias estimate from the video.

    Attributes
    ----------
    bias_rad_s : (3,) float64 or None
        The bias, None when the video did not support an estimate.
    pairs : int
        Frame pairs used.
    note : str
        What was found, for the user.
    """

    bias_rad_s: np.ndarray | None
    pairs: int
    note: str


def _windows(t0_s: float, t1_s: float) -> list[tuple[float, float]]:
    span = t1_s - t0_s
    if span <= WINDOW_S * MAX_WINDOWS:
        return [(t0_s, t1_s)]
    starts = np.linspace(t0_s, t1_s - WINDOW_S, MAX_WINDOWS)
    return [(float(a), float(a + WINDOW_S)) for a in starts]


def bias_from_video(video: str, gyro: GyroLog, frame_t_s: np.ndarray, camera: CameraModel,
                    readout_s: float, *, readout_direction: str = "top_to_bottom") -> VideoBias:
    """Estimate the gyro bias from the video's own rotation.

    Parameters
    ----------
    video : str
        The clip.
    gyro : GyroLog
        Raw rates (bias included) on the video clock, camera axes.
    frame_t_s : (F,) float64
        Frame times.
    camera : CameraModel
        The lens at the video size (``sensors.equirect.equirect_camera`` for an equirect clip:
        its rotation is then measured on the sphere, ``sensors.sphere_motion``).
    readout_s : float
        Rolling-shutter readout.
    readout_direction : str
        ``top_to_bottom`` or ``bottom_to_top``.

    Returns
    -------
    VideoBias
    """
    from sensors.sphere_motion import flow_samples_for_camera
    from sensors.video_motion import pair_rates

    ft = np.asarray(frame_t_s, dtype=np.float64)
    lo = max(float(ft[0]), float(gyro.t_s[0]))
    hi = min(float(ft[-1]), float(gyro.t_s[-1]))
    if hi - lo < 1.0:
        return VideoBias(None, 0, "gyro bias not removed: too little video beside the log")
    try:
        samples = flow_samples_for_camera(video, camera, readout_direction=readout_direction,
                                          windows_s=_windows(lo, hi))
        rates = pair_rates(samples, readout_s)
    except (InputError, SolveError) as exc:
        return VideoBias(None, 0, f"gyro bias not removed: no motion from the video ({exc})")
    t0 = samples.frame_t_s[:-1]
    t1 = samples.frame_t_s[1:]
    period = float(np.median(np.diff(ft))) if ft.size > 1 else 1.0 / 30
    g = _gyro_mean_rates(gyro, t0, t1)
    ok = (rates.valid & (rates.inlier_frac >= MIN_INLIER_FRAC) & ((t1 - t0) < 1.5 * period)
          & np.isfinite(g[:, 0]))
    n = int(ok.sum())
    if n < MIN_PAIRS:
        return VideoBias(None, n, f"gyro bias not removed: only {n} usable frame pairs in the "
                                  "video")
    f = rates.omega_rad_s[ok]
    gy = g[ok]
    bias = np.zeros(3)
    resid = np.zeros(3)
    for k in range(3):
        A = np.stack([f[:, k], np.ones(n)], axis=1)
        (scale, b), *_ = np.linalg.lstsq(A, gy[:, k], rcond=None)
        if not 0.5 <= scale <= 2.0:  # too little motion on this axis to fit a scale
            scale = 1.0
            b = float(np.mean(gy[:, k] - f[:, k]))
        bias[k] = b
        resid[k] = float(np.sqrt(np.mean((gy[:, k] - scale * f[:, k] - b) ** 2)))
    motion = max(float(np.sqrt(np.mean(gy ** 2))), 1e-3)
    if float(np.linalg.norm(bias)) > MAX_BIAS_RAD_S or resid.max() / motion > MAX_RESIDUAL:
        return VideoBias(None, n, "gyro bias not removed: the video's motion does not fit the "
                                  "gyro well enough to measure it")
    note = (f"gyro bias estimated from the video ({n} frame pairs): "
            f"{', '.join(f'{np.degrees(b):+.2f}' for b in bias)} deg/s")
    log.info(note)
    return VideoBias(bias, n, note)
