"""Motion analysis: the real camera per row band of every frame (docs/architecture.md "stabilize/").

From a gyro log (bias removed, integrated to ``R_world_from_cam``, moved to the video clock with
``t_video = t_log - offset_s``), the frame times of the video and the rolling-shutter readout,
``analyze_motion`` builds a ``MotionTrack``; ``MotionTrack.frame(i)`` gives a ``FrameMotion``:
the capture time, orientation and source intrinsics ``K_src(t)`` (OIS shift moves the principal
point, focus breathing scales the focal length) of ``row_bands`` rows spread over the frame.
Frames are computed on demand, so memory does not grow with the clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.errors import InputError
from sensors.orientation import estimate_bias, integrate_gyro
from sensors.progress import get_logger, note
from sensors.rolling_shutter import row_time_s
from sensors.types import CameraModel, GyroLog, OisLog, Orientation, SensorLog

__all__ = [
    "FrameMotion",
    "MotionTrack",
    "analyze_motion",
    "assumed_camera",
    "source_K",
    "DEFAULT_HFOV_DEG",
]

DEFAULT_HFOV_DEG = 90.0

_log = get_logger(__name__)


def assumed_camera(size: tuple[int, int], hfov_deg: float = DEFAULT_HFOV_DEG) -> CameraModel:
    """A distortion-free pinhole of ``hfov_deg`` across the width, used when no lens is given.

    The caller reports it as an assumption (``meta['assumed']``).
    """
    w, h = int(size[0]), int(size[1])
    if not 10.0 <= hfov_deg <= 170.0:
        raise InputError(f"assumed field of view must be 10-170 degrees, got {hfov_deg}")
    f = (w / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
    K = np.array([[f, 0, (w - 1) / 2.0], [0, f, (h - 1) / 2.0], [0, 0, 1.0]])
    return CameraModel(K, np.zeros(5), "opencv_standard", (w, h),
                       meta={"assumed": f"pinhole, {hfov_deg:g} deg horizontal field of view"})


def source_K(K: np.ndarray, shift_px: np.ndarray, focus: np.ndarray) -> np.ndarray:
    """``K_src(t)`` (..., 3, 3): focal (and skew) times ``focus``, principal point plus shift.

    This is the generators' convention: a calibrated pixel ``p`` is seen at
    ``c + focus * (p - c) + shift``.
    """
    s = np.asarray(shift_px, dtype=np.float64)
    f = np.asarray(focus, dtype=np.float64)
    out = np.broadcast_to(K, f.shape + (3, 3)).copy()
    out[..., 0, 0] *= f
    out[..., 0, 1] *= f
    out[..., 1, 1] *= f
    out[..., 0, 2] += s[..., 0]
    out[..., 1, 2] += s[..., 1]
    return out


@dataclass(frozen=True, eq=False)
class FrameMotion:
    """The real camera during one frame, at ``B`` row bands.

    Parameters
    ----------
    index : int
        Frame index in the clip.
    t_s : float
        Frame time (centre of exposure of the middle row), video clock.
    band_rows : (B,) float64
        Image rows of the bands (top to bottom, pixel centres at integers).
    band_t_s : (B,) float64
        Capture time of each band row.
    quat : (B, 4) float64
        ``R_world_from_cam`` at each band time.
    K : (B, 3, 3) float64
        ``K_src`` at each band time (OIS shift, focus breathing).
    """

    index: int
    t_s: float
    band_rows: np.ndarray
    band_t_s: np.ndarray
    quat: np.ndarray
    K: np.ndarray


@dataclass(frozen=True, eq=False)
class MotionTrack:
    """Real camera motion of a clip on the video clock.

    Parameters
    ----------
    real : Orientation
        Dense bias-corrected orientation (gyro rate), video clock.
    gyro : GyroLog
        Bias-corrected rates on the video clock.
    frame_t_s : (F,) float64
        Video frame times.
    frame_quat : (F, 4) float64
        Orientation at each frame time (sign-continuous).
    camera : CameraModel
        Source lens at the video size.
    readout_s, readout_direction : float, str
        Rolling shutter.
    offset_s : float
        Sync offset used (``t_video = t_log - offset_s``).
    bias_rad_s : (3,) float64
        Gyro bias removed.
    ois : OisLog, optional
        Lens shift / focus on the video clock.
    bands : int
        Row bands per frame.
    covered : (F,) bool
        Frames whose every row time lies inside the gyro log and outside its gaps (longer than
        3 median sample periods).
    notes : tuple of str
        Assumptions made (camera, readout, bias).
    """

    real: Orientation
    gyro: GyroLog
    frame_t_s: np.ndarray
    frame_quat: np.ndarray
    camera: CameraModel
    readout_s: float
    readout_direction: str
    offset_s: float
    bias_rad_s: np.ndarray
    ois: OisLog | None
    bands: int
    covered: np.ndarray
    notes: tuple = ()

    def __len__(self) -> int:
        return int(self.frame_t_s.size)

    @property
    def band_rows(self) -> np.ndarray:
        """Rows of the bands, evenly spread from the first to the last row."""
        return np.linspace(0.0, self.camera.height - 1.0, self.bands)

    def row_times(self, index: int, rows: np.ndarray) -> np.ndarray:
        """Capture times of ``rows`` of frame ``index`` (docs/architecture.md "Rolling shutter")."""
        return row_time_s(self.frame_t_s[index], rows, self.camera.height, self.readout_s,
                          self.readout_direction)

    def frame(self, index: int) -> FrameMotion:
        """The ``FrameMotion`` of frame ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} out of range 0..{len(self) - 1}")
        rows = self.band_rows
        t = self.row_times(index, rows)
        q = self.real.at(t)
        # keep the bands on one hemisphere so linear blending between them is valid
        flip = (q @ q[self.bands // 2]) < 0
        q[flip] = -q[flip]
        if self.ois is not None:
            shift = self.ois.shift_at(t)
            focus = self.ois.focus_at(t)
        else:
            shift = np.zeros((t.size, 2))
            focus = np.ones(t.size)
        K = source_K(self.camera.K, shift, focus)
        return FrameMotion(int(index), float(self.frame_t_s[index]), rows, t, q, K)


def hold_edges(gyro: GyroLog, frame_t_s: np.ndarray, readout_s: float
               ) -> tuple[GyroLog, str]:
    """Extend a log by holding its boundary rates over one frame period plus the readout.

    A log that starts with the recording (embedded camera telemetry does) begins a few
    milliseconds after the first frame's top rows were exposed, and one that stops with it ends
    before the last frame's bottom rows. Over so short a span the rate barely changes, so holding
    the rate at each end covers the first and last frames instead of passing them
    through unstabilized next to warped neighbours (a visible jump). Longer stretches without
    samples stay uncovered.

    Parameters
    ----------
    gyro : GyroLog
        Rates on the video clock, bias removed.
    frame_t_s : (F,) float64
        Frame times (middle row).
    readout_s : float
        Rolling-shutter readout.

    Returns
    -------
    GyroLog, str
        The extended log (samples at the log's median spacing) and a note naming what was held
        ("" when no frame needed it).
    """
    t = gyro.t_s
    if t.size < 2 or frame_t_s.size < 1:
        return gyro, ""
    dt = float(np.median(np.diff(t)))
    period = float(np.median(np.diff(frame_t_s))) if frame_t_s.size > 1 else 0.0
    margin = period + readout_s
    need_head = min(t[0] - (frame_t_s[0] - 0.5 * readout_s), margin)
    need_tail = min((frame_t_s[-1] + 0.5 * readout_s) - t[-1], margin)
    n_head = int(np.ceil(need_head / dt)) if need_head > 0 else 0
    n_tail = int(np.ceil(need_tail / dt)) if need_tail > 0 else 0
    if n_head == 0 and n_tail == 0:
        return gyro, ""
    head_t = t[0] - dt * np.arange(n_head, 0, -1)
    tail_t = t[-1] + dt * np.arange(1, n_tail + 1)
    # the last sample's rate itself: on generated walks a mean or a fitted line over the
    # bridged span did no better (they lag, or extrapolate noise)
    w = gyro.omega_rad_s
    omega = np.concatenate([np.repeat(w[:1], n_head, axis=0), w,
                            np.repeat(w[-1:], n_tail, axis=0)])
    acc = gyro.accel_m_s2
    if acc is not None:
        acc = np.concatenate([np.repeat(acc[:1], n_head, axis=0), acc,
                              np.repeat(acc[-1:], n_tail, axis=0)])
    parts = []
    if n_head:
        parts.append(f"{need_head * 1e3:.1f} ms before the log's first sample")
    if n_tail:
        parts.append(f"{need_tail * 1e3:.1f} ms after its last")
    note = "boundary gyro rate held over " + " and ".join(parts) + " (edge frames' rows)"
    return (GyroLog(np.concatenate([head_t, t, tail_t]), omega, acc, gyro.source), note)


def analyze_motion(
    log: SensorLog | GyroLog,
    frame_t_s: np.ndarray,
    camera: CameraModel,
    *,
    offset_s: float = 0.0,
    readout_s: float | None = None,
    readout_direction: str | None = None,
    bands: int = 17,
    bias_rad_s: np.ndarray | None = None,
) -> MotionTrack:
    """Real camera motion per frame and row band from a gyro log.

    Parameters
    ----------
    log : SensorLog or GyroLog
        Gyro in camera axes on the log's clock (a ``SensorLog`` may add OIS/focus, readout).
    frame_t_s : (F,) float64
        Video frame times (``sensors.video.probe_video(...).frame_t_s``).
    camera : CameraModel
        Source lens at the video size (``sensors.lens_profile.load_lens_profile`` or
        ``assumed_camera``).
    offset_s : float
        ``t_video = t_log - offset_s``.
    readout_s : float, optional
        Rolling-shutter readout; default the log's, else 0 (reported in ``notes``).
    readout_direction : str, optional
        Default the log's, else top to bottom.
    bands : int
        Row bands per frame.
    bias_rad_s : (3,) float64, optional
        Gyro bias; estimated from still stretches (``estimate_bias``) when omitted.

    Returns
    -------
    MotionTrack
    """
    notes: list[str] = []
    sensor = log if isinstance(log, SensorLog) else None
    gyro = log.gyro if sensor is not None else log
    if not isinstance(gyro, GyroLog):
        raise InputError(f"expected a SensorLog or GyroLog, got {type(log).__name__}")
    if not np.isfinite(offset_s):
        raise InputError(f"sync offset must be finite, got {offset_s}", gyro.source)
    ft = np.asarray(frame_t_s, dtype=np.float64)
    if ft.ndim != 1 or ft.size < 1 or np.any(np.diff(ft) <= 0) or not np.all(np.isfinite(ft)):
        raise InputError("frame times must be finite and strictly increasing", gyro.source)
    if readout_s is None:
        readout_s = sensor.readout_s if sensor is not None else None
        if readout_s is None:
            readout_s = 0.0
            note(notes, _log, "readout time unknown: assumed a global shutter (0 ms)")
    if not (np.isfinite(readout_s) and 0.0 <= readout_s < 1.0):
        raise InputError(f"readout time {readout_s} s is not plausible", gyro.source)
    if readout_direction is None:
        readout_direction = sensor.readout_direction if sensor is not None else "top_to_bottom"
    if readout_direction not in ("top_to_bottom", "bottom_to_top"):
        raise InputError(f"readout direction {readout_direction!r} is not supported by the "
                         "warp (only top_to_bottom, bottom_to_top)", gyro.source)
    if bias_rad_s is None:
        bias, still_s = estimate_bias(gyro)
        note(notes, _log, f"gyro bias estimated from {still_s:.1f} s of stillness"
             if still_s > 0 else "no still stretch in the log: gyro bias not removed")
    else:
        bias = np.asarray(bias_rad_s, dtype=np.float64).reshape(3)
    on_video = GyroLog(gyro.t_s - offset_s, gyro.omega_rad_s - bias,
                       None if gyro.accel_m_s2 is None else gyro.accel_m_s2, gyro.source)
    half = 0.5 * readout_s
    on_video, held = hold_edges(on_video, ft, readout_s)
    if held:
        notes.append(held)
    real = integrate_gyro(on_video).canonical()
    covered = (ft - half >= on_video.t_s[0]) & (ft + half <= on_video.t_s[-1])
    for g0, g1 in on_video.gaps():  # samples missing: integration across the gap is a guess
        covered &= (ft + half <= g0) | (ft - half >= g1)
    if not np.any(covered):
        raise InputError(
            f"the gyro log ({on_video.t_s[0]:.2f}..{on_video.t_s[-1]:.2f} s on the video clock "
            f"with offset {offset_s * 1e3:.1f} ms) does not cover any frame of the video "
            f"({ft[0]:.2f}..{ft[-1]:.2f} s)", gyro.source)
    ois = None
    if sensor is not None and sensor.ois is not None:
        o = sensor.ois
        ois = OisLog(o.t_s - offset_s, o.shift_px, o.focus, o.source)
    if "assumed" in camera.meta:
        note(notes, _log, f"lens assumed: {camera.meta['assumed']}")
    fq = real.at(ft)
    for k in range(1, fq.shape[0]):
        if fq[k] @ fq[k - 1] < 0:
            fq[k] = -fq[k]
    return MotionTrack(real, on_video, ft, fq, camera, float(readout_s), readout_direction,
                       float(offset_s), bias, ois, int(bands), covered, tuple(notes))
