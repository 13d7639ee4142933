"""Footage the camera stabilized itself: refused, let through on request, or undone.

A picture the camera has already turned per frame no longer follows the gyro, so warping it by
the gyro alone adds shake instead of removing it. ``plan_in_camera`` decides per clip
(``sensors.in_camera.in_camera_state`` says what the clip holds):

- no in-camera stabilization (or nothing says): nothing to do;
- stabilized, with the per-frame picture rotation in the file (GoPro ``IORI``, HERO8 and later
  and MAX): undone. The source camera of frame ``k`` becomes ``R_world_from_cam(t) *
  R_cam_from_picture_k`` (``undo_picture_rotation``), so the warp starts from where the
  picture really looks; the gyro is lined up with the camera's per-frame orientation
  (``CORI``, ``sensors.in_camera.offset_from_camera_orientation``) and the readout is taken as
  0 (the camera's correction also removed the rolling shutter; measured in docs/benchmarks.md);
- stabilized without it: refused (``InCameraStabilizationError``), or with ``allow`` stabilized
  anyway with a warning note.

Examples
--------
>>> from sensors.types import GyroLog, SensorLog
>>> log = SensorLog("clip.gcsv", "gcsv", GyroLog(np.arange(3.0), np.zeros((3, 3))))
>>> plan_in_camera(log, None, "clip.mp4").sidecar_value is None   # nothing says
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from sensors.errors import InputError
from sensors.in_camera import (
    InCameraState,
    in_camera_state,
    offset_from_camera_orientation,
    picture_rotation,
    stabilization_name,
)
from sensors.progress import get_logger, note
from sensors.quaternion import qmul, qslerp
from sensors.types import CameraModel, Orientation, SensorLog

from .motion import MotionTrack

__all__ = [
    "ALLOW_OPTION",
    "InCameraStabilizationError",
    "InCameraPlan",
    "plan_in_camera",
    "frame_picture_rotation",
    "undo_picture_rotation",
]

_log = get_logger(__name__)

#: The command-line option that lets stabilized footage through.
ALLOW_OPTION = "--allow-in-camera-stabilization"


class InCameraStabilizationError(InputError):
    """The camera stabilized the clip itself and the file does not say how to undo it."""


@dataclass(frozen=True)
class InCameraPlan:
    """What to do about the camera's own stabilization of one clip (``plan_in_camera``).

    Parameters
    ----------
    state : InCameraState
        What the clip says.
    undo : bool
        The per-frame picture rotation is undone (``undo_picture_rotation``).
    offset_s : float or None
        Sync offset found against the camera's orientation (None: not measured).
    sidecar_value : bool, str or None
        The sidecar's ``in_camera_stabilization``: false, null, ``"HS HLevel undone"``, or
        ``"HS EIS kept"`` when let through.
    """

    state: InCameraState
    undo: bool = False
    offset_s: float | None = None
    sidecar_value: bool | str | None = None


def _refusal(state: InCameraState) -> str:
    what = stabilization_name(state.make, state.setting)
    where = " (from the lens profile's note)" if state.source == "lens profile" else ""
    return (f"the camera stabilized this clip itself ({state.label}{where}): its picture no "
            f"longer follows the gyro; record with {what} off, or pass {ALLOW_OPTION} to "
            "stabilize it anyway")


def plan_in_camera(log: SensorLog, camera: CameraModel | None, video: str,
                   allow: bool = False, notes: list[str] | None = None,
                   offset_given: bool = False) -> InCameraPlan:
    """Decide what to do about the camera's own stabilization of ``video`` (module docstring).

    Parameters
    ----------
    log : SensorLog
        The clip's log.
    camera : CameraModel, optional
        The lens profile the clip is known by (its note may say "HS EIS"); not a database
        choice.
    video : str
        The clip (named by the error).
    allow : bool
        Stabilize footage whose in-camera rotation cannot be undone anyway (noted).
    notes : list of str, optional
        Receives what was found and done (also logged).
    offset_given : bool
        The user fixed the sync offset: it is not measured against ``CORI``.

    Raises
    ------
    InCameraStabilizationError
        Stabilized footage without its per-frame rotation, unless ``allow``.
    """
    state = in_camera_state(log, camera)
    if not state.applied:
        return InCameraPlan(state, sidecar_value=state.applied)
    setting = state.setting or "on"
    if state.undoable:
        off = None
        text = (f"the camera stabilized this clip itself ({state.label}): its per-frame "
                "picture rotation (IORI) is undone, so the picture follows the gyro again")
        if state.camera_orientation is not None and not offset_given:
            off, res, _ = offset_from_camera_orientation(log.gyro, state.camera_orientation)
            text += (f"; gyro lined up with the camera's orientation (CORI): offset "
                     f"{off * 1e3:.1f} ms, {np.degrees(res) * 3600:.0f} arcsec per frame apart")
        _note(notes, text)
        return InCameraPlan(state, True, off, f"{setting} undone")
    if not allow:
        raise InCameraStabilizationError(_refusal(state), video)
    _note(notes, f"warning: the camera stabilized this clip itself ({state.label}) and the "
                 "file does not say by how much per frame: the picture does not follow the gyro, "
                 f"so the result may shake more than the input ({ALLOW_OPTION})")
    return InCameraPlan(state, sidecar_value=f"{setting} kept")


def _note(notes: list[str] | None, message: str) -> None:
    if notes is None:
        _log.info(message)
    else:
        note(notes, _log, message)


def frame_picture_rotation(state: InCameraState, frame_t_s: np.ndarray) -> np.ndarray:
    """``R_cam_from_picture`` (F, 4) of every video frame: the ``IORI`` sample nearest each
    frame time (the camera writes one per frame, timed with the frames)."""
    track = state.image_orientation
    if track is None:
        raise InputError("the clip has no per-frame image orientation")
    q = picture_rotation(track)
    t = track.t_s
    i = np.clip(np.searchsorted(t, frame_t_s), 1, max(t.size - 1, 1))
    if t.size > 1:
        i = np.where(np.abs(frame_t_s - t[i - 1]) <= np.abs(t[i] - frame_t_s), i - 1, i)
    else:
        i = np.zeros(frame_t_s.size, dtype=int)
    return q[i]


def _between(frame_t_s: np.ndarray, rot: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Per-frame rotations at arbitrary times: slerp between neighbouring frames (held at both
    ends), so the track is exact at every frame time."""
    k = np.clip(np.searchsorted(frame_t_s, t_s, side="right") - 1, 0, frame_t_s.size - 1)
    j = np.minimum(k + 1, frame_t_s.size - 1)
    span = frame_t_s[j] - frame_t_s[k]
    frac = np.where(span > 0, (t_s - frame_t_s[k]) / np.where(span > 0, span, 1.0), 0.0)
    return qslerp(rot[k], rot[j], np.clip(frac, 0.0, 1.0))


def undo_picture_rotation(motion: MotionTrack, rot: np.ndarray) -> MotionTrack:
    """The motion of the picture the camera delivered: ``R_world_from_cam(t) * rot_k``.

    Parameters
    ----------
    motion : MotionTrack
        The body's motion from the gyro (readout 0 when the camera removed the rolling
        shutter).
    rot : (F, 4) float64
        ``R_cam_from_picture`` per video frame (``frame_picture_rotation``).

    Returns
    -------
    MotionTrack
        ``real`` and ``frame_quat`` turned by the per-frame rotation (exact at every frame
        time, slerped between frames), so the warp, the zoom and the path all start from the
        picture's orientation. The gyro rates stay the body's.

    Examples
    --------
    >>> from sensors.types import GyroLog
    >>> from stabilize.motion import analyze_motion, assumed_camera
    >>> g = GyroLog(np.arange(0, 1.01, 0.01), np.zeros((101, 3)))
    >>> m = analyze_motion(g, np.array([0.2, 0.5]), assumed_camera((64, 36)),
    ...                    bias_rad_s=np.zeros(3))
    >>> rot = np.array([[0, 0, np.sin(0.1), np.cos(0.1)], [0, 0, 0, 1.0]])
    >>> np.round(undo_picture_rotation(m, rot).frame(0).quat[0], 4)
    array([0.    , 0.    , 0.0998, 0.995 ])
    """
    ft = motion.frame_t_s
    rot = np.asarray(rot, dtype=np.float64)
    if rot.shape != (ft.size, 4):
        raise InputError(f"picture rotation has shape {rot.shape}, expected ({ft.size}, 4)")
    t = np.union1d(motion.real.t_s, ft)
    q = qmul(motion.real.at(t), _between(ft, rot, t))
    real = Orientation(t, q, motion.real.source).canonical()
    fq = real.at(ft)
    for k in range(1, fq.shape[0]):
        if fq[k] @ fq[k - 1] < 0:
            fq[k] = -fq[k]
    return dataclasses.replace(motion, real=real, frame_quat=fq)
