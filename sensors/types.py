"""Validated data types at the boundaries of the sensors layer.

Every type is a frozen dataclass over numpy arrays and checks itself on construction: matching
lengths, finite values, strictly increasing times. Units and frames follow
docs/architecture.md: times in
seconds (float64, ``*_s``), angular rates in rad/s in the OpenCV camera frame (x right, y down,
z forward), quaternions scalar-last (x, y, z, w), pixels with centres at integer coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError
from .quaternion import qnormalize, qslerp, qto_matrix
from .rolling_shutter import READOUT_DIRECTIONS, row_time_s

__all__ = [
    "GyroLog",
    "OisLog",
    "FrameTiming",
    "CameraModel",
    "Orientation",
    "SensorLog",
    "QuaternionTrack",
    "CameraMetadata",
    "READOUT_DIRECTIONS",
    "LENS_MODELS",
]

LENS_MODELS = ("opencv_standard", "opencv_fisheye")


def _as_times(t_s: Any, what: str, source: str | None, allow_empty: bool = False) -> np.ndarray:
    t = np.ascontiguousarray(np.asarray(t_s, dtype=np.float64))
    if t.ndim != 1:
        raise InputError(f"{what} timestamps must be 1-D, got shape {t.shape}", source)
    if t.size == 0 and not allow_empty:
        raise InputError(f"{what} has no samples", source)
    if not np.all(np.isfinite(t)):
        i = int(np.flatnonzero(~np.isfinite(t))[0])
        raise InputError(f"{what} timestamp {i} is not finite ({t[i]})", source)
    if t.size > 1:
        d = np.diff(t)
        if np.any(d <= 0):
            i = int(np.flatnonzero(d <= 0)[0])
            kind = "duplicated" if d[i] == 0 else "non-monotonic"
            raise InputError(
                f"{what} timestamps are {kind} at sample {i + 1} "
                f"({t[i]:.6f} s then {t[i + 1]:.6f} s)",
                source,
            )
    return t


def _as_values(v: Any, n: int, cols: int | None, what: str, source: str | None) -> np.ndarray:
    a = np.ascontiguousarray(np.asarray(v, dtype=np.float64))
    want = (n,) if cols is None else (n, cols)
    if a.shape != want:
        raise InputError(f"{what} has shape {a.shape}, expected {want}", source)
    if not np.all(np.isfinite(a)):
        i = int(np.flatnonzero(~np.isfinite(a).reshape(n, -1).all(axis=1))[0])
        raise InputError(f"{what} sample {i} is not finite (NaN or infinity)", source)
    return a


@dataclass(frozen=True, eq=False)
class GyroLog:
    """Gyroscope (and optional accelerometer) samples in the camera frame.

    Parameters
    ----------
    t_s : (N,) float64
        Sample times in seconds on the log's own clock, strictly increasing.
    omega_rad_s : (N, 3) float64
        Body angular velocity in rad/s, OpenCV camera axes (x right, y down, z forward).
    accel_m_s2 : (N, 3) float64, optional
        Specific force in m/s^2, same axes and times.
    source : str, optional
        File the samples came from (used in error messages).
    """

    t_s: np.ndarray
    omega_rad_s: np.ndarray
    accel_m_s2: np.ndarray | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        t = _as_times(self.t_s, "gyro", self.source)
        if t.size < 2:
            raise InputError("gyro log needs at least 2 samples", self.source)
        object.__setattr__(self, "t_s", t)
        object.__setattr__(
            self, "omega_rad_s", _as_values(self.omega_rad_s, t.size, 3, "gyro", self.source)
        )
        if self.accel_m_s2 is not None:
            object.__setattr__(
                self,
                "accel_m_s2",
                _as_values(self.accel_m_s2, t.size, 3, "accelerometer", self.source),
            )

    def __len__(self) -> int:
        return int(self.t_s.size)

    @property
    def duration_s(self) -> float:
        """Time from the first to the last sample."""
        return float(self.t_s[-1] - self.t_s[0])

    @property
    def rate_hz(self) -> float:
        """Mean sample rate over the log (samples - 1 over duration)."""
        return float((self.t_s.size - 1) / max(self.duration_s, 1e-12))

    def gaps(self, factor: float = 3.0) -> list[tuple[float, float]]:
        """Intervals (start_s, end_s) longer than ``factor`` times the median sample period."""
        d = np.diff(self.t_s)
        med = float(np.median(d))
        idx = np.flatnonzero(d > factor * med)
        return [(float(self.t_s[i]), float(self.t_s[i + 1])) for i in idx]

    def shifted(self, offset_s: float) -> GyroLog:
        """The same log on the video clock: ``t_video = t_log - offset_s``.

        See docs/architecture.md "Time".
        """
        return GyroLog(self.t_s - offset_s, self.omega_rad_s, self.accel_m_s2, self.source)

    def slice(self, t0_s: float, t1_s: float) -> GyroLog:
        """Samples with ``t0_s <= t <= t1_s``."""
        m = (self.t_s >= t0_s) & (self.t_s <= t1_s)
        acc = None if self.accel_m_s2 is None else self.accel_m_s2[m]
        return GyroLog(self.t_s[m], self.omega_rad_s[m], acc, self.source)


@dataclass(frozen=True, eq=False)
class OisLog:
    """Optical image stabilization lens shift and (optionally) focus position.

    Parameters
    ----------
    t_s : (N,) float64
        Sample times in seconds, strictly increasing, on the log's clock.
    shift_px : (N, 2) float64
        Principal-point shift (x, y) in pixels of the clip's resolution.
    focus : (N,) float64, optional
        Focal-length scale relative to the calibrated focal length (1.0 = calibrated), used for
        focus breathing.
    """

    t_s: np.ndarray
    shift_px: np.ndarray
    focus: np.ndarray | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        t = _as_times(self.t_s, "OIS", self.source)
        object.__setattr__(self, "t_s", t)
        object.__setattr__(
            self, "shift_px", _as_values(self.shift_px, t.size, 2, "OIS shift", self.source)
        )
        if self.focus is not None:
            f = _as_values(self.focus, t.size, None, "focus", self.source)
            if np.any(f <= 0):
                raise InputError("focus scale must be positive", self.source)
            object.__setattr__(self, "focus", f)

    def shift_at(self, t_s: np.ndarray) -> np.ndarray:
        """Linearly interpolated shift (..., 2) in pixels at times ``t_s``."""
        t = np.asarray(t_s, dtype=np.float64)
        x = np.interp(t, self.t_s, self.shift_px[:, 0])
        y = np.interp(t, self.t_s, self.shift_px[:, 1])
        return np.stack([x, y], axis=-1)

    def focus_at(self, t_s: np.ndarray) -> np.ndarray:
        """Focal-length scale at times ``t_s`` (1.0 where no focus log exists)."""
        t = np.asarray(t_s, dtype=np.float64)
        if self.focus is None:
            return np.ones_like(t)
        return np.interp(t, self.t_s, self.focus)


@dataclass(frozen=True, eq=False)
class FrameTiming:
    """Per-frame capture timing of a video.

    Parameters
    ----------
    t_s : (F,) float64
        Centre of exposure of the middle row of each frame, seconds on the video clock.
    exposure_s : (F,) float64
        Exposure time per frame in seconds (0 where unknown is not allowed: use ``None`` on the
        container and a default shutter in the caller).
    readout_s : float
        Time to read the sensor from the first to the last row, seconds (0 = global shutter).
    direction : str
        One of ``READOUT_DIRECTIONS``.
    """

    t_s: np.ndarray
    exposure_s: np.ndarray
    readout_s: float = 0.0
    direction: str = "top_to_bottom"
    source: str | None = None

    def __post_init__(self) -> None:
        t = _as_times(self.t_s, "frame", self.source)
        object.__setattr__(self, "t_s", t)
        e = np.broadcast_to(np.asarray(self.exposure_s, dtype=np.float64), t.shape).copy()
        e = _as_values(e, t.size, None, "exposure", self.source)
        if np.any(e < 0):
            raise InputError("exposure times must be non-negative", self.source)
        object.__setattr__(self, "exposure_s", e)
        r = float(self.readout_s)
        if not np.isfinite(r) or r < 0:
            raise InputError(f"readout time must be finite and >= 0, got {r}", self.source)
        object.__setattr__(self, "readout_s", r)
        if self.direction not in READOUT_DIRECTIONS:
            raise InputError(
                f"unknown readout direction {self.direction!r}; valid: "
                + ", ".join(READOUT_DIRECTIONS),
                self.source,
            )

    def __len__(self) -> int:
        return int(self.t_s.size)

    def row_times(self, frame: int | np.ndarray, rows: np.ndarray, height: int) -> np.ndarray:
        """Capture time (s) of image rows, per docs/architecture.md "Rolling shutter".

        ``t = t_frame + ((y + 0.5) / H - 0.5) * readout_s`` for top-to-bottom readout; reversed
        for bottom-to-top (``sensors.rolling_shutter.row_time_s``). For left/right readout pass
        columns and the width as ``rows`` and ``height``.
        """
        tf = np.asarray(self.t_s[np.asarray(frame)])
        if tf.ndim:
            tf = tf[..., None]
        return row_time_s(tf, rows, height, self.readout_s, self.direction)


@dataclass(frozen=True, eq=False)
class CameraModel:
    """Pinhole intrinsics plus lens distortion at one image size.

    Parameters
    ----------
    K : (3, 3) float64
        Camera matrix in pixels.
    dist : (M,) float64
        Distortion coefficients: OpenCV ``k1, k2, p1, p2[, k3...]`` for ``opencv_standard``,
        ``k1..k4`` for ``opencv_fisheye``.
    model : str
        One of ``LENS_MODELS``.
    size : (int, int)
        Image (width, height) in pixels that ``K`` refers to.
    """

    K: np.ndarray
    dist: np.ndarray
    model: str = "opencv_standard"
    size: tuple[int, int] = (0, 0)
    source: str | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        K = np.ascontiguousarray(np.asarray(self.K, dtype=np.float64))
        if K.shape != (3, 3) or not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
            raise InputError("camera matrix must be a finite 3x3 with positive focal", self.source)
        object.__setattr__(self, "K", K)
        d = np.ascontiguousarray(np.asarray(self.dist, dtype=np.float64).ravel())
        if not np.all(np.isfinite(d)):
            raise InputError("distortion coefficients must be finite", self.source)
        if self.model not in LENS_MODELS:
            raise InputError(
                f"unknown lens model {self.model!r}; valid: " + ", ".join(LENS_MODELS),
                self.source,
            )
        if self.model == "opencv_fisheye":
            d = np.concatenate([d, np.zeros(max(0, 4 - d.size))])[:4]
        object.__setattr__(self, "dist", d)
        w, h = (int(self.size[0]), int(self.size[1]))
        if w <= 0 or h <= 0:
            raise InputError(f"image size must be positive, got {self.size}", self.source)
        object.__setattr__(self, "size", (w, h))

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    def scaled(self, size: tuple[int, int]) -> CameraModel:
        """The same lens at another image size (a crop-free resize: K scales per axis).

        Pixel centres sit at integer coordinates, so ``c' = (c + 0.5) * s - 0.5``.
        """
        sx = size[0] / self.size[0]
        sy = size[1] / self.size[1]
        K = self.K.copy()
        K[0, 0] *= sx
        K[0, 1] *= sx
        K[1, 1] *= sy
        K[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
        K[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
        return CameraModel(K, self.dist, self.model, (int(size[0]), int(size[1])), self.source,
                           dict(self.meta))


@dataclass(frozen=True, eq=False)
class Orientation:
    """A camera orientation track: ``R_world_from_cam`` as quaternions over time.

    Parameters
    ----------
    t_s : (N,) float64
        Times in seconds, strictly increasing.
    quat : (N, 4) float64
        Unit quaternions, scalar-last (x, y, z, w), mapping camera to world.
    """

    t_s: np.ndarray
    quat: np.ndarray
    source: str | None = None

    def __post_init__(self) -> None:
        t = _as_times(self.t_s, "orientation", self.source)
        object.__setattr__(self, "t_s", t)
        q = _as_values(self.quat, t.size, 4, "orientation", self.source)
        n = np.linalg.norm(q, axis=1)
        if np.any(n < 1e-6):
            raise InputError("orientation quaternions must be non-zero", self.source)
        object.__setattr__(self, "quat", np.ascontiguousarray(q / n[:, None]))

    def __len__(self) -> int:
        return int(self.t_s.size)

    def at(self, t_s: np.ndarray | float) -> np.ndarray:
        """Slerp-interpolated quaternions at arbitrary times (clamped at both ends).

        Parameters
        ----------
        t_s : float or array (...)
            Query times in seconds.

        Returns
        -------
        (..., 4) float64 unit quaternions.
        """
        t = np.asarray(t_s, dtype=np.float64)
        flat = t.ravel()
        tt = self.t_s
        i = np.clip(np.searchsorted(tt, flat, side="right") - 1, 0, tt.size - 1)
        j = np.minimum(i + 1, tt.size - 1)
        span = tt[j] - tt[i]
        frac = np.where(span > 0, (flat - tt[i]) / np.where(span > 0, span, 1.0), 0.0)
        frac = np.clip(frac, 0.0, 1.0)
        q = qslerp(self.quat[i], self.quat[j], frac)
        return q.reshape(t.shape + (4,))

    def matrices_at(self, t_s: np.ndarray | float) -> np.ndarray:
        """``R_world_from_cam`` (..., 3, 3) at arbitrary times."""
        return qto_matrix(self.at(t_s))

    def canonical(self) -> Orientation:
        """The same track with a sign-continuous quaternion sequence (no hemisphere flips)."""
        q = qnormalize(self.quat).copy()
        for k in range(1, q.shape[0]):
            if np.dot(q[k], q[k - 1]) < 0:
                q[k] = -q[k]
        return Orientation(self.t_s, q, self.source)


@dataclass(frozen=True, eq=False)
class QuaternionTrack:
    """Quaternions over time exactly as a camera recorded them (e.g. GoPro ``CORI``/``IORI``).

    Unlike ``Orientation`` these are not converted to OpenCV camera axes: the components stay in
    the recording camera's own axes and order, so a consumer must know the source's convention.

    Parameters
    ----------
    t_s : (N,) float64
        Times in seconds on the log's clock, strictly increasing.
    quat_wxyz : (N, 4) float64
        Scalar-first quaternions (w, x, y, z) as stored, divided by the stream's scale.
    source : str, optional
        File the track came from.
    """

    t_s: np.ndarray
    quat_wxyz: np.ndarray
    source: str | None = None

    def __post_init__(self) -> None:
        t = _as_times(self.t_s, "quaternion track", self.source)
        object.__setattr__(self, "t_s", t)
        object.__setattr__(
            self, "quat_wxyz", _as_values(self.quat_wxyz, t.size, 4, "quaternion", self.source)
        )

    def __len__(self) -> int:
        return int(self.t_s.size)

    def as_xyzw(self) -> np.ndarray:
        """The same quaternions scalar-last (x, y, z, w), the order ``sensors.quaternion`` uses."""
        return np.ascontiguousarray(self.quat_wxyz[:, [1, 2, 3, 0]])


@dataclass(frozen=True, eq=False)
class CameraMetadata:
    """What a camera says about its own processing of the clip (GoPro GPMF header and streams).

    Parameters
    ----------
    model : str, optional
        Camera model as the camera names it (GoPro ``MINF``, e.g. ``HERO7 Black``).
    in_camera_stabilization : bool, optional
        True if the camera stabilized the image itself (electronic image stabilization applied),
        False if it says it did not, None if it does not say.
    stabilization_setting : str, optional
        The raw setting behind ``in_camera_stabilization`` (GoPro ``EISA``, e.g. ``HS EIS``,
        ``HS HLevel``, ``N/A``; else ``EISE`` ``Y``/``N``).
    lens_mode : str, optional
        The camera's field-of-view mode code (GoPro ``VFOV``: ``W`` wide, ``L`` linear, ``S``
        SuperView, ``H`` HyperView, ``M`` medium, ``N`` narrow).
    lens_mode_name : str, optional
        A readable name of ``lens_mode`` when the code is known.
    camera_orientation : QuaternionTrack, optional
        Per-frame camera orientation since capture start (GoPro ``CORI``, HERO8 and later, MAX).
    image_orientation : QuaternionTrack, optional
        Per-frame image orientation relative to the camera body (GoPro ``IORI``), i.e. what the
        in-camera stabilization applied.
    settings : dict
        Every header setting read, four-cc key -> value (strings, or lists of numbers).
    """

    model: str | None = None
    in_camera_stabilization: bool | None = None
    stabilization_setting: str | None = None
    lens_mode: str | None = None
    lens_mode_name: str | None = None
    camera_orientation: QuaternionTrack | None = None
    image_orientation: QuaternionTrack | None = None
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class SensorLog:
    """Everything a reader found in one sensor log (or a video's embedded telemetry).

    Parameters
    ----------
    path : str
        The file read.
    format : str
        Registry name of the detected format (e.g. ``gcsv``, ``gopro``, ``csv``, ``phone``).
    gyro : GyroLog
        Gyro (and accel) in camera axes on the log's clock.
    ois : OisLog, optional
        Lens shift / focus when the log has it.
    frames : FrameTiming, optional
        Per-frame timing when the log has it (phone layout), on the log's clock.
    readout_s : float, optional
        Sensor readout time in seconds when the log states it.
    readout_direction : str
        Readout direction (docs/architecture.md).
    exposure_s : (F,) float64, optional
        Per-frame exposure times when the log states them (e.g. GoPro ``SHUT``).
    camera : str, optional
        Make and model as the log names it.
    same_clock_as_video : bool
        True for telemetry embedded in the video container (no sync needed).
    imu_orientation : str, optional
        The axis-orientation string the log declared (gcsv ``orientation``), for reporting.
    meta : dict
        Anything else worth reporting (header keys, lens profile name, ...).
    camera_meta : CameraMetadata, optional
        The camera's own account of its processing (in-camera stabilization, lens mode,
        per-frame orientation quaternions) when the log carries it (GoPro GPMF).
    """

    path: str
    format: str
    gyro: GyroLog
    ois: OisLog | None = None
    frames: FrameTiming | None = None
    readout_s: float | None = None
    readout_direction: str = "top_to_bottom"
    exposure_s: np.ndarray | None = None
    camera: str | None = None
    same_clock_as_video: bool = False
    imu_orientation: str | None = None
    meta: dict = field(default_factory=dict)
    camera_meta: CameraMetadata | None = None

    def __post_init__(self) -> None:
        if self.readout_s is not None:
            r = float(self.readout_s)
            if not np.isfinite(r) or r < 0 or r > 1.0:
                raise InputError(f"readout time {r} s is not plausible", self.path)
            object.__setattr__(self, "readout_s", r)
        if self.readout_direction not in READOUT_DIRECTIONS:
            raise InputError(f"unknown readout direction {self.readout_direction!r}", self.path)
        if self.exposure_s is not None:
            e = np.asarray(self.exposure_s, dtype=np.float64).ravel()
            if not np.all(np.isfinite(e)) or np.any(e < 0):
                raise InputError("exposure times must be finite and >= 0", self.path)
            object.__setattr__(self, "exposure_s", e)
