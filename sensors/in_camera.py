"""The camera's own stabilization: whether it was on, what the file says it did, and the
per-frame rotation it applied, in our conventions (docs/architecture.md "Rotations").

A camera that stabilizes electronically (GoPro HyperSmooth, Sony Active SteadyShot, DJI
RockSteady, Insta360 FlowState, ...) turns and crops every frame so its picture no longer
follows the gyro. ``in_camera_state`` gathers what a clip says about it: GoPro ``EISE``/``EISA``
(``SensorLog.camera_meta``), the stabilization tags telemetry-parser exposes for other makes
(``log.meta['stabilization']``, see ``readers.telemetry``), else the ``note`` of the lens
profile the clip is stabilized with ("HS EIS", "EIS-Y": a profile calibrated on stabilized
footage describes such footage).

GoPro HERO8 and later, and the MAX, also write per frame the camera's fused orientation
(``CORI``) and the orientation of the picture relative to the camera body (``IORI``): what the
in-camera correction turned the picture by. Both are stored scalar-first in the camera's axes.
Measured on ``samples/gopro/max-heromode.mp4`` (docs/benchmarks.md): with their vector parts
taken as OpenCV camera axes (x right, y down, z forward) the stored quaternions are the inverse
of ours, that is

- ``conj(CORI_k)`` is ``R_world_from_cam`` of frame ``k`` (its frame-to-frame rotations equal
  the integrated gyro's to 0.1 mrad once the gyro is moved by the offset
  ``offset_from_camera_orientation`` finds), and
- ``conj(IORI_k)`` is ``R_cam_from_picture``: the picture of frame ``k`` was taken by a camera
  at ``R_world_from_cam(t_k) * conj(IORI_k)``; its optical flow follows that orientation, not
  the gyro's.

Examples
--------
>>> from sensors.types import QuaternionTrack
>>> iori = QuaternionTrack(np.array([0.0]), np.array([[np.cos(0.05), 0, 0, np.sin(0.05)]]))
>>> np.round(picture_rotation(iori), 4) + 0.0   # 0.1 rad about the optical axis, undone
array([[ 0.    ,  0.    , -0.05  ,  0.9988]])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .quaternion import qconj, qlog, qmul, qnormalize
from .types import CameraModel, GyroLog, QuaternionTrack, SensorLog

__all__ = [
    "InCameraState",
    "in_camera_state",
    "picture_rotation",
    "camera_orientation",
    "offset_from_camera_orientation",
    "stabilization_name",
]


@dataclass(frozen=True)
class InCameraState:
    """What a clip says about the camera's own stabilization.

    Parameters
    ----------
    applied : bool or None
        True when the camera stabilized the picture, False when it says it did not, None when
        nothing says.
    setting : str or None
        The raw setting (GoPro ``EISA`` "HS EIS", "HS HLevel"; ``EISE`` "Y"/"N"; a profile's
        note "HS EIS").
    source : str or None
        Where it was read: ``"telemetry"`` or ``"lens profile"``.
    make : str or None
        The camera's brand when known (names the camera's own term in messages).
    image_orientation : QuaternionTrack or None
        The per-frame picture orientation relative to the body (GoPro ``IORI``), as stored.
    camera_orientation : QuaternionTrack or None
        The per-frame fused body orientation (GoPro ``CORI``), as stored.
    """

    applied: bool | None
    setting: str | None = None
    source: str | None = None
    make: str | None = None
    image_orientation: QuaternionTrack | None = None
    camera_orientation: QuaternionTrack | None = None

    @property
    def undoable(self) -> bool:
        """The file carries the per-frame rotation the camera applied (``IORI``)."""
        return self.image_orientation is not None and len(self.image_orientation) > 0

    @property
    def label(self) -> str:
        """``EIS "HS EIS"`` (the setting as the camera names it), or ``stabilization on``."""
        if self.setting:
            return f'EIS "{self.setting}"'
        return "stabilization on" if self.applied else "stabilization off"


def stabilization_name(make: str | None, setting: str | None) -> str:
    """The camera's own name for its stabilization, for the advice "record with ... off"."""
    m = (make or "").lower()
    s = (setting or "").upper()
    if "gopro" in m or s.startswith("HS"):
        return "HyperSmooth" if s.startswith("HS") or not s else "the camera's EIS"
    if "sony" in m:
        return "SteadyShot"
    if "dji" in m:
        return "RockSteady/EIS"
    if "insta360" in m:
        return "FlowState"
    return "in-camera stabilization"


def _profile_note_state(camera: CameraModel | None) -> tuple[bool | None, str | None]:
    """(state, setting) a lens profile records in its note, else in its name."""
    if camera is None:
        return None, None
    from .lens_db.names import eis_of, profile_eis

    note = camera.meta.get("note")
    if isinstance(note, str) and note.strip():
        state = eis_of(note)
        if state is not None:
            return state, note.strip()
    name = camera.meta.get("name")
    if isinstance(name, str):
        return profile_eis({"name": name}), None
    return None, None


def in_camera_state(log: SensorLog | None, camera: CameraModel | None = None) -> InCameraState:
    """The camera's own stabilization as the clip's telemetry, else its lens profile, says.

    Parameters
    ----------
    log : SensorLog, optional
        The clip's log: ``camera_meta`` (GoPro) or ``meta['stabilization']`` (telemetry-parser).
    camera : CameraModel, optional
        The lens profile the clip is known by (``meta['note']``, ``meta['name']``); consulted
        only when the telemetry says nothing. A profile chosen from the database by the clip's
        own facts is no knowledge of the clip and should not be passed.

    Returns
    -------
    InCameraState

    Examples
    --------
    >>> in_camera_state(None).applied is None
    True
    """
    make = None
    if log is not None:
        make = log.meta.get("brand") or (log.camera.split()[0] if log.camera else None)
        cm = log.camera_meta
        if cm is not None and cm.in_camera_stabilization is not None:
            return InCameraState(cm.in_camera_stabilization, cm.stabilization_setting,
                                 "telemetry", make or "GoPro", cm.image_orientation,
                                 cm.camera_orientation)
        tp = log.meta.get("stabilization")
        if isinstance(tp, dict) and tp.get("applied") is not None:
            return InCameraState(bool(tp["applied"]), tp.get("setting"), "telemetry", make)
    state, setting = _profile_note_state(camera)
    if state is not None:
        return InCameraState(state, setting, "lens profile", make)
    return InCameraState(None, None, None, make)


def picture_rotation(image_orientation: QuaternionTrack) -> np.ndarray:
    """``R_cam_from_picture`` (N, 4) scalar-last of a GoPro ``IORI`` track, OpenCV axes.

    The stored (w, x, y, z) are the inverse of that rotation with (x, y, z) already along the
    OpenCV camera axes (module docstring), so the conversion is a conjugate.
    """
    return qnormalize(qconj(image_orientation.as_xyzw()))


def camera_orientation(camera_orientation: QuaternionTrack) -> np.ndarray:
    """``R_world_from_cam`` (N, 4) scalar-last of a GoPro ``CORI`` track, OpenCV axes."""
    return qnormalize(qconj(camera_orientation.as_xyzw()))


def _frame_rotvecs(t_s: np.ndarray, quat: np.ndarray) -> np.ndarray:
    """Rotation vectors of consecutive orientations, body frame (``q_k^-1 q_{k+1}``)."""
    del t_s
    return qlog(qmul(qconj(quat[:-1]), quat[1:]))


def offset_from_camera_orientation(gyro: GyroLog, cori: QuaternionTrack,
                                   search_s: float = 0.05, step_s: float = 0.001
                                   ) -> tuple[float, float, np.ndarray]:
    """The sync offset that lines the gyro up with the camera's own per-frame orientation.

    The camera times ``CORI``/``IORI`` with the video frames, while its raw gyro is delayed by
    some milliseconds (18 ms on the MAX sample; GoPro's engineers describe a ~10 ms phase lag
    of ``GYRO``). The offset minimises the RMS difference between the frame-to-frame rotations
    of the integrated gyro and of ``CORI`` (their mean difference, the gyro's bias over a
    frame, is removed first); a parabola through the best grid step refines it.

    Parameters
    ----------
    gyro : GyroLog
        Rates in camera axes on the log clock.
    cori : QuaternionTrack
        The per-frame camera orientation on the video clock (``t_video = t_log - offset``).
    search_s, step_s : float
        Half-width and step of the offset grid.

    Returns
    -------
    offset_s : float
        ``t_video = t_log - offset_s``.
    residual_rad : float
        RMS per-frame rotation difference at the offset (radians).
    bias_rad_s : (3,) float64
        The gyro bias the comparison found.

    Examples
    --------
    >>> from sensors.orientation import integrate_gyro
    >>> t = np.arange(0, 4, 0.005)
    >>> w = np.stack([np.sin(3 * t), np.cos(5 * t), 0.3 * np.sin(7 * t)], 1)
    >>> q = integrate_gyro(GyroLog(t, w)).at(np.arange(0.5, 3.5, 1 / 30) + 0.018)
    >>> cori = QuaternionTrack(np.arange(0.5, 3.5, 1 / 30), qconj(q)[:, [3, 0, 1, 2]])
    >>> off, res, _ = offset_from_camera_orientation(GyroLog(t, w), cori)
    >>> round(off * 1e3, 1), bool(res < 1e-4)
    (18.0, True)
    """
    from .orientation import integrate_gyro

    ori = integrate_gyro(gyro)
    tc = cori.t_s
    rc = _frame_rotvecs(tc, camera_orientation(cori))
    dt = np.diff(tc)
    grid = np.arange(-search_s, search_s + 0.5 * step_s, step_s)

    def cost(off: float) -> tuple[float, np.ndarray]:
        rg = _frame_rotvecs(tc, ori.at(tc + off))
        d = rg - rc
        bias = d.sum(axis=0) / dt.sum()
        d = d - bias * dt[:, None]
        return float(np.sqrt(np.mean(np.sum(d * d, axis=1)))), bias

    costs = np.array([cost(o)[0] for o in grid])
    k = int(np.argmin(costs))
    off = float(grid[k])
    if 0 < k < grid.size - 1:
        a, b, c = costs[k - 1], costs[k], costs[k + 1]
        den = a - 2 * b + c
        if den > 0:
            off += 0.5 * step_s * (a - c) / den
    res, bias = cost(off)
    return float(off), res, bias
