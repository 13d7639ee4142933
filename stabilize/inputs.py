"""What a stabilization job starts from: the video, its gyro log, the lens, the rolling-shutter
readout, the sync offset and the frame capture times, each found or assumed as documented.

Every assumption made on the way is appended to the job's ``notes`` and logged
(``steadyrig.stabilize.inputs``), so a caller that reads neither still hears of it.

Examples
--------
>>> from sensors.types import GyroLog, SensorLog
>>> from stabilize.motion import assumed_camera
>>> log = SensorLog("clip.gcsv", "gcsv", GyroLog(np.arange(3.0), np.zeros((3, 3))))
>>> resolve_readout(12.5, log, assumed_camera((320, 180)))
0.0125
>>> notes = []
>>> resolve_readout(None, log, assumed_camera((320, 180)), notes)
0.0
>>> notes
['readout unknown: assumed a global shutter (set --readout-ms)']
>>> print(resolve_readout(None, log, guess=False))  # unknown, and left so (sync estimates it)
None
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensors.errors import InputError, SteadyrigError
from sensors.fisheye_layout import layout_of, side_by_side_size
from sensors.lens_profile import load_lens_profile
from sensors.progress import get_logger, note
from sensors.readers import read_log
from sensors.readout import known_readout_s
from sensors.types import CameraModel, SensorLog
from sensors.video import VideoInfo, probe_video

from .dual_fisheye.options import DualFisheyeOptions
from .in_camera import InCameraPlan, frame_picture_rotation, plan_in_camera
from .motion import assumed_camera

__all__ = [
    "DEFAULT_READOUT_S",
    "ClipInputs",
    "find_gyro_log",
    "resolve_camera",
    "resolve_projection",
    "database_camera",
    "resolve_readout",
    "resolve_offset",
    "capture_times",
    "resolve_inputs",
    "dual_fisheye_motion_camera",
]

_log = get_logger(__name__)

# Readout times used when neither the log nor the lens profile states one. GoPro's HERO5 writes
# no readout to its metadata; 15 ms is a typical figure for its 1080p modes (an assumption,
# reported as such; override with readout_ms / --readout-ms).
DEFAULT_READOUT_S = {"HERO5": 0.015}


def _note(notes: list[str] | None, message: str) -> None:
    if notes is None:
        _log.info(message)
    else:
        note(notes, _log, message)


def find_gyro_log(video: str | os.PathLike, gyro: str | os.PathLike | None = None) -> SensorLog:
    """The sensor log of a video: ``gyro`` if given, else a same-stem ``.gcsv`` beside the video,
    else the telemetry embedded in the video (GoPro GPMF, ...)."""
    if gyro is not None:
        return read_log(gyro)
    v = Path(video)
    side = v.with_suffix(".gcsv")
    if side.exists():
        return read_log(side)
    try:
        return read_log(v, format="telemetry")
    except SteadyrigError as exc:
        raise InputError(f"no gyro log found (no {side.name} beside the video and no usable "
                         f"embedded telemetry: {exc}); pass --gyro LOG", str(v)) from None


def _explicit_camera(lens: str | os.PathLike | CameraModel | None, video: str | os.PathLike,
                     size: tuple[int, int], notes: list[str] | None) -> CameraModel | None:
    """The lens the user gave, else ``<stem>.lens.json`` beside the video (noted), else None."""
    if isinstance(lens, CameraModel):
        return lens.scaled(size) if lens.size != size else lens
    if lens is not None:
        return load_lens_profile(lens, size=size)
    side_lens = Path(video).with_suffix(".lens.json")
    if side_lens.is_file():
        # named in the notes, as a same-stem .gcsv is taken without being asked for
        cam = load_lens_profile(side_lens, size=size)
        _note(notes, f"lens profile {side_lens.name} found beside the video")
        return cam
    return None


def database_camera(log: SensorLog | None, info: VideoInfo, video: str | os.PathLike,
                    notes: list[str] | None = None) -> CameraModel:
    """The clip's lens from the bundled database, chosen by what the file says (brand, model,
    lens mode, in-camera stabilization, size, frame rate: ``sensors.lens_db.clip_facts``),
    scaled to the clip; else the assumed pinhole (``meta['assumed']``). Either way noted: the
    profile with its score and why, or why none was chosen (a digital lens mode, a camera the
    database lacks). With no camera model known at all nothing is looked up (the assumed lens
    is reported by the motion analysis).
    """
    from sensors.lens_db.for_clip import clip_facts, match_clip

    size = (int(info.width), int(info.height))
    facts = clip_facts(log, info, video)
    if not facts.model:
        return assumed_camera(size)
    m = match_clip(facts)
    if not m.found:
        cam = assumed_camera(size)
        _note(notes, f"no lens profile from the database: {m.reason}; assumed "
                     f"{cam.meta['assumed']} (pass --lens)")
        return cam
    cam = m.camera_model(*size)
    cam.meta["chosen_from_database"] = True
    _note(notes, f"lens profile {m.name} from the bundled database (score {m.score:g}/100: "
                 f"{m.reason})")
    return cam


def resolve_camera(lens: str | os.PathLike | CameraModel | None, video: str | os.PathLike,
                   size: tuple[int, int], notes: list[str] | None = None,
                   log: SensorLog | None = None, info: VideoInfo | None = None) -> CameraModel:
    """The source lens at the video's ``size`` (width, height).

    ``lens`` as given (a ``CameraModel``, scaled to ``size`` when it differs, or a Gyroflow lens
    profile path); else a profile named after the clip (``<stem>.lens.json``, as ``steadyrig
    samples`` writes), noted; else, given the clip's ``info`` (and its ``log``), the database's
    profile for the camera the file names (``database_camera``, noted); else a distortion-free
    pinhole of ``motion.DEFAULT_HFOV_DEG`` (``meta['assumed']`` set; ``analyze_motion`` reports
    it). A profile's own warning is noted.
    """
    size = (int(size[0]), int(size[1]))
    cam = _explicit_camera(lens, video, size, notes)
    if cam is None:
        if info is not None and (int(info.width), int(info.height)) == size:
            cam = database_camera(log, info, video, notes)
        else:
            cam = assumed_camera(size)
    if cam.meta.get("warning"):
        _note(notes, str(cam.meta["warning"]))
    return cam


def resolve_readout(readout_ms: float | None, log: SensorLog, camera: CameraModel | None = None,
                    notes: list[str] | None = None, *, guess: bool = True) -> float | None:
    """The rolling-shutter readout time of a clip, seconds.

    In order: ``readout_ms`` when given; the log's own figure; the lens profile's
    (``camera.meta['readout_s']``, noted); with ``guess``, a typical figure for a known camera
    (``DEFAULT_READOUT_S``, matched in the log's camera name and the lens profile's source) or a
    global shutter (0), both noted as assumptions. Without ``guess`` an unknown readout is None
    (``sensors.sync.sync_video_to_gyro`` then estimates it).

    Parameters
    ----------
    readout_ms : float, optional
        Readout given by the user, milliseconds (0 to 1000).
    log : SensorLog
        The clip's sensor log (``log.readout_s``, ``log.camera``).
    camera : CameraModel, optional
        The lens (a profile may state the readout).
    notes : list of str, optional
        Receives what was assumed, and where the figure came from (also logged).
    guess : bool
        Fall back to an assumed figure rather than None.

    Returns
    -------
    float or None
        Seconds.

    Raises
    ------
    InputError
        When ``readout_ms`` is not a plausible figure.
    """
    known = known_readout_s(readout_ms, log, camera, notes)
    if known is not None:
        return known
    if not guess:
        return None
    name = f"{log.camera or ''} {camera.source if camera is not None else ''}".upper()
    for key, value in DEFAULT_READOUT_S.items():
        if key in name:
            _note(notes, f"readout unknown: assumed {value * 1e3:g} ms for {key} "
                  "(set --readout-ms)")
            return value
    _note(notes, "readout unknown: assumed a global shutter (set --readout-ms)")
    return 0.0


def resolve_offset(offset_ms: float | None, video: str | os.PathLike, video_t_s: np.ndarray,
                   log: SensorLog, camera: CameraModel, readout_s: float,
                   notes: list[str] | None = None) -> tuple[float, SensorLog]:
    """The sync offset (``t_video = t_log - offset``, seconds) and the log to use with it.

    ``offset_ms`` when given; 0 for a log on the video's clock (embedded telemetry); the median
    difference of the log's frame stamps and the video's PTS when the log stamps every frame
    (phone layout); else ``sensors.sync.sync_video_to_gyro`` (on the sphere for an equirect
    ``camera``, on both discs for a dual-fisheye clip's lens pair), whose IMU axis mapping is
    then applied to the returned log's gyro. How it was found is noted.
    """
    if offset_ms is not None:
        if not np.isfinite(offset_ms):
            raise InputError(f"offset {offset_ms} ms is not finite")
        return offset_ms / 1000.0, log
    if log.same_clock_as_video:
        return 0.0, log
    if log.frames is not None and len(log.frames) == video_t_s.size:
        # the log stamps every frame (phone layout): the offset is where those stamps meet PTS
        off = float(np.median(log.frames.t_s - video_t_s))
        _note(notes, f"offset {off * 1e3:.2f} ms from the log's frame timestamps")
        return off, log
    from sensors.sync import apply_axes, sync_video_to_gyro

    res = sync_video_to_gyro(str(video), log.gyro, camera=camera, readout_s=readout_s,
                             readout_direction=log.readout_direction,
                             projection=camera.meta.get("projection", "flat"))
    _note(notes, f"auto sync: offset {res.offset_s * 1e3:.2f} ms, axes {res.axes}, "
          f"confidence {res.confidence:.2f}")
    for n in res.notes:
        _note(notes, n)
    return float(res.offset_s), dataclasses.replace(log, gyro=apply_axes(log.gyro, res.axes))


def capture_times(log: SensorLog, info: VideoInfo, offset_s: float,
                  notes: list[str] | None = None) -> np.ndarray:
    """Frame times on the video clock: the log's own frame stamps when it has them (capture
    times, finer than container PTS) and they agree with PTS to half a frame, else PTS."""
    if log.frames is None or len(log.frames) != info.n_frames:
        return info.frame_t_s
    t = log.frames.t_s - offset_s
    worst = float(np.max(np.abs(t - info.frame_t_s)))
    if worst > 0.5 / info.fps:
        _note(notes, f"the log's frame stamps disagree with PTS by up to {worst * 1e3:.1f} ms "
              "with this offset: using PTS")
        return info.frame_t_s
    return t


@dataclass(frozen=True, eq=False)
class ClipInputs:
    """Everything a stabilization of one clip starts from (``resolve_inputs``).

    Parameters
    ----------
    video : Path
        The clip.
    info : VideoInfo
        Its stream description (size, frame rate, PTS).
    log : SensorLog
        The gyro log (IMU axes mapped when auto sync found them).
    camera : CameraModel
        The lens at the video size.
    readout_s, offset_s : float
        Rolling-shutter readout and sync offset (``t_video = t_log - offset_s``).
    frame_t_s : (F,) float64
        Capture time of each frame on the video clock.
    notes : list of str
        What was found beside the clip or assumed.
    in_camera : InCameraPlan, optional
        What the clip says about the camera's own stabilization and what is done about it.
    picture_rotation : (F, 4) float64, optional
        ``R_cam_from_picture`` per frame when the camera's rotation is undone
        (``in_camera.undo_picture_rotation``).
    motion_camera : CameraModel, optional
        The camera the video's own motion (sync, bias, gap fill) is measured with when it is
        not ``camera``: a dual-fisheye clip's lens pair
        (``sensors.dual_fisheye_motion.dual_fisheye_camera``), while ``camera`` stands for the
        equirect output.
    offset_found : bool
        The offset was found by the sync from the video (not given, not the log's).
    """

    video: Path
    info: VideoInfo
    log: SensorLog
    camera: CameraModel
    readout_s: float
    offset_s: float
    frame_t_s: np.ndarray
    notes: list[str]
    projection: str = "flat"
    in_camera: InCameraPlan | None = None
    picture_rotation: np.ndarray | None = None
    motion_camera: CameraModel | None = None
    offset_found: bool = False

    @property
    def video_motion_camera(self) -> CameraModel:
        """The camera the video's own motion is measured with (``motion_camera``, else
        ``camera``)."""
        return self.camera if self.motion_camera is None else self.motion_camera


def resolve_projection(projection: str, video: str | os.PathLike, size: tuple[int, int],
                       log: SensorLog, notes: list[str] | None = None) -> str:
    """The clip's projection: ``flat`` or ``equirect`` as given, or for ``auto`` what
    ``sensors.spherical.detect_projection`` finds (an equirect finding is noted)."""
    from sensors.spherical import check_projection, detect_projection

    if check_projection(projection) != "auto":
        return projection
    found, why = detect_projection(video, size, log.camera)
    layout = layout_of(size)
    if layout is not None and not why.startswith("spherical metadata"):
        # an unstitched frame: two fisheye discs on black (its first frame decoded to tell)
        from .dual_fisheye.detect import first_frame, looks_dual_fisheye

        frame = first_frame(video)
        if frame is not None and looks_dual_fisheye(frame):
            found, why = "dual-fisheye", (
                "a 2:1 frame of two fisheye discs on black" if layout == "side_by_side" else
                "a 1:2 frame of two fisheye discs on black, stacked (taken side by side)")
    if found != "flat":
        _note(notes, f"projection {found}: {why}")
    return found


def dual_fisheye_motion_camera(video: str | os.PathLike, projection: str, log: SensorLog,
                               options: DualFisheyeOptions | None = None,
                               notes: list[str] | None = None) -> CameraModel | None:
    """The lens pair a dual-fisheye clip's own motion is measured with
    (``dual_fisheye.motion_lenses.motion_camera``: ``options.rig``, else the nominal pair of
    the discs of its first frame), or None when ``projection`` (``auto`` decided by
    ``resolve_projection``) is not ``dual-fisheye``; what ``steadyrig sync`` measures with."""
    if projection not in ("auto", "dual-fisheye"):
        return None
    info = probe_video(video)
    size = (info.width, info.height)
    if resolve_projection(projection, video, size, log, notes) != "dual-fisheye":
        return None
    from .dual_fisheye.motion_lenses import motion_camera

    opts = options or DualFisheyeOptions()
    return motion_camera(video, side_by_side_size(size), opts.rig, opts.fov_deg, log.camera)


def resolve_inputs(video: str | os.PathLike,
                   gyro: str | os.PathLike | SensorLog | None = None,
                   lens: str | os.PathLike | CameraModel | None = None,
                   readout_ms: float | None = None,
                   offset_ms: float | None = None,
                   projection: str = "flat",
                   allow_in_camera_stabilization: bool = False,
                   dual_fisheye: DualFisheyeOptions | None = None) -> ClipInputs:
    """Probe ``video`` and find its log, projection, lens, readout, offset and capture times,
    as ``stabilize_video`` does (``find_gyro_log``, ``resolve_projection``, ``resolve_camera``,
    ``resolve_readout``, ``resolve_offset``, ``capture_times``), and what to do about the
    camera's own stabilization (``in_camera.plan_in_camera``: refused unless undone or
    ``allow_in_camera_stabilization``; when undone the readout is 0 and the offset the one
    measured against the camera's orientation, unless given).

    An equirect clip has no lens (``sensors.equirect.equirect_camera`` stands for it); its
    auto sync measures the camera's rotation on the sphere (``sensors.sphere_motion``). A
    dual-fisheye clip's ``camera`` is the same stand-in (its output is equirect); its own motion
    is measured on both lens discs (``ClipInputs.motion_camera``) through the lens pair of
    ``dual_fisheye.rig`` when given, else the nominal pair of the discs of its first frame
    (``dual_fisheye.motion_lenses``, field of view ``dual_fisheye.fov_deg`` or the camera's).

    Raises
    ------
    InCameraStabilizationError
        The camera stabilized the clip itself, the file does not say how to undo it, and
        ``allow_in_camera_stabilization`` is False.
    """
    video = Path(video)
    info = probe_video(video)
    notes: list[str] = []
    log = gyro if isinstance(gyro, SensorLog) else find_gyro_log(video, gyro)
    size = (info.width, info.height)
    projection = resolve_projection(projection, video, size, log, notes)
    motion_cam = None
    known = _explicit_camera(lens, video, size, notes) if projection == "flat" else None
    # refused before the database is read: a refusal costs no more than reading the log
    plan = plan_in_camera(log, known, str(video), allow_in_camera_stabilization, notes,
                          offset_given=offset_ms is not None)
    if projection in ("equirect", "dual-fisheye"):
        from sensors.equirect import equirect_camera

        if lens is not None:
            _note(notes, f"{projection}: the lens profile given is not used")
        if projection == "dual-fisheye":
            from .dual_fisheye.motion_lenses import motion_camera

            # a stacked clip is worked on side by side; its output is that size's equirect
            size = side_by_side_size(size)
            opts = dual_fisheye or DualFisheyeOptions()
            motion_cam = motion_camera(video, size, opts.rig, opts.fov_deg, log.camera)
        cam = equirect_camera(size)
    else:
        cam = resolve_camera(known, video, size, notes, log=log, info=info)
    if plan.undo and readout_ms is None:
        readout_s = 0.0
        _note(notes, "readout taken as 0 ms: the camera's stabilization also removed the "
                     "rolling shutter (set --readout-ms)")
    else:
        readout_s = resolve_readout(readout_ms, log, cam, notes)
    if offset_ms is None and plan.offset_s is not None:
        offset_ms = plan.offset_s * 1e3
    offset_s, synced = resolve_offset(offset_ms, video, info.frame_t_s, log,
                                      cam if motion_cam is None else motion_cam, readout_s, notes)
    found = synced is not log  # only the sync hands back a new log (its axes applied)
    frame_t_s = capture_times(synced, info, offset_s, notes)
    rot = frame_picture_rotation(plan.state, info.frame_t_s) if plan.undo else None
    return ClipInputs(video, info, synced, cam, readout_s, offset_s, frame_t_s, notes, projection,
                      plan, rot, motion_cam, found)
