"""Stabilize a video end to end (docs/architecture.md "stabilize/"): reads like the algorithm.

    video -> its log, lens, readout, sync offset, frame times   (``inputs.resolve_inputs``)
    log -> real motion per row band; filter chain -> virtual
        path and zoom of every frame, before decoding            (``plan_clip``)
    decode -> warp -> encode on three threads, audio copied      (``transcode.Transcoder``)

Memory is bounded by the transcoder's queues, not by the clip length. The output appears only
when complete (``atomic_output``). Notes (assumptions, warnings) are returned and logged under
``steadyrig.stabilize``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensors.atomic import atomic_output, check_not_input
from sensors.errors import InputError
from sensors.progress import ProgressCallback, get_logger, note
from sensors.types import CameraModel, SensorLog

from .dual_fisheye.options import DualFisheyeOptions
from .filters import FilterContext, run_chain
from .in_camera import undo_picture_rotation
from .inputs import DEFAULT_READOUT_S, ClipInputs, find_gyro_log, resolve_inputs
from .motion import MotionTrack
from .motion_sources import analyze_clip_motion
from .params import StabilizeParams
from .sidecar import sidecar_dict, write_sidecar
from .sphere_plan import plan_sphere_path
from .transcode import ENCODERS, Transcoder
from .warmup import warm_up_kernels

__all__ = [
    "ClipPlan",
    "StabilizeResult",
    "stabilize_video",
    "plan_clip",
    "plan_path",
    # also importable from here; defined in `inputs` and `transcode`
    "find_gyro_log",
    "DEFAULT_READOUT_S",
    "ENCODERS",
]

_log = get_logger(__name__)


@dataclass(frozen=True, eq=False)
class StabilizeResult:
    """Outcome of ``stabilize_video``.

    Parameters
    ----------
    output : Path
        The stabilized video.
    sidecar : Path or None
        The JSON sidecar, when asked for.
    n_frames : int
        Frames written.
    stabilized_frames : (int, int)
        Range ``[i0, i1)`` of frames covered by the log and stabilized (others passed through).
    offset_s, readout_s : float
        Sync offset and readout used.
    camera : CameraModel
        Lens used (``meta['assumed']`` set when guessed).
    real_quat, virtual_quat : (F', 4) float64
        Real and virtual orientation of the stabilized frames.
    zoom : (F',) float64
        Zoom of the stabilized frames.
    extras : dict
        Per-frame outputs of the filters (e.g. ``required_zoom``).
    notes : tuple of str
        Assumptions and warnings.
    elapsed_s : float
        Wall time of the whole call.
    motion_source : (F,) str
        What moved the camera per frame: ``gyro``, ``video`` or ``none``.
    projection : str
        ``flat``; ``equirect``: the sphere was rotated (``stabilize.sphere_warp``) and the
        output carries spherical video metadata; ``dual-fisheye``: the two lenses were stitched
        and the sphere rotated in one remap per lens (``stabilize.dual_fisheye``), output
        equirect with spherical video metadata.
    """

    output: Path
    sidecar: Path | None
    n_frames: int
    stabilized_frames: tuple[int, int]
    offset_s: float
    readout_s: float
    camera: CameraModel
    real_quat: np.ndarray
    virtual_quat: np.ndarray
    zoom: np.ndarray
    extras: dict
    notes: tuple
    elapsed_s: float
    motion_source: np.ndarray | None = None
    projection: str = "flat"


def plan_path(motion: MotionTrack, params: StabilizeParams, fps: float,
              frames: tuple[int, int] | None = None,
              exposure_s: np.ndarray | None = None,
              passthrough: np.ndarray | None = None) -> FilterContext:
    """Offline virtual path: run the filter chain over frames ``[i0, i1)`` of the clip at once.

    ``passthrough`` (F,) flags frames with no motion source: the path is eased into them.
    """
    i0, i1 = (0, len(motion)) if frames is None else frames
    q = motion.frame_quat[i0:i1]
    ctx = FilterContext(motion.frame_t_s[i0:i1], q, q.copy(), np.ones(i1 - i0), motion.camera,
                        motion.real, float(fps), motion.readout_s, motion.readout_direction,
                        params, motion.gyro,
                        None if exposure_s is None else exposure_s[i0:i1], first_frame=i0,
                        ois=motion.ois,
                        passthrough=None if passthrough is None else passthrough[i0:i1])
    return run_chain(ctx)


@dataclass(frozen=True, eq=False)
class ClipPlan:
    """The real motion of a clip and the virtual camera planned for it (``plan_clip``).

    Parameters
    ----------
    motion : MotionTrack
        Real motion of every frame.
    frames : (int, int)
        Range ``[i0, i1)`` of frames warped: every frame of the clip.
    path : FilterContext
        Virtual orientation and zoom of frames ``i0 .. i1 - 1`` (``path.virtual_quat[i - i0]``).
    sources : (F,) str
        What moved the camera per frame: ``gyro``, ``video`` or ``none`` (drawn uncorrected).
    bias_source : str
        Where the gyro bias came from: ``stillness``, ``video`` or ``none``.
    """

    motion: MotionTrack
    frames: tuple[int, int]
    path: FilterContext
    sources: np.ndarray | None = None
    bias_source: str = "none"

    @property
    def notes(self) -> tuple[str, ...]:
        """The motion analysis' and the filter chain's notes."""
        return tuple(self.motion.notes) + tuple(self.path.notes)


def plan_clip(clip: ClipInputs, params: StabilizeParams, strict: bool = False, *,
              level_sphere: bool = True) -> ClipPlan:
    """Analyse the real motion of ``clip`` and plan its virtual camera, as ``stabilize_video``
    does before the first frame is warped.

    The motion comes from the gyro and, where the log has none, from the video
    (``motion_sources.analyze_clip_motion``; on the sphere for an equirect clip, on both
    lens discs for a dual-fisheye clip); frames
    with no source at all are drawn uncorrected with the path eased into them. With
    ``strict`` a log that leaves frames uncovered raises ``CoverageError``. The motion's and
    the chain's notes are logged and kept in the plan (``ClipPlan.notes``). An equirect
    clip's path is a rotation of the sphere (``sphere_plan.plan_sphere_path``;
    ``level_sphere``: gravity kept down where the log has an accelerometer).
    """
    cm = analyze_clip_motion(clip, params.row_bands, strict)
    motion = cm.motion
    if clip.picture_rotation is not None:  # the camera's own per-frame rotation, undone
        motion = undo_picture_rotation(motion, clip.picture_rotation)
    frames = (0, len(motion))
    exposure = clip.log.exposure_s
    if exposure is not None and exposure.size != len(motion):
        exposure = None
    if clip.projection in ("equirect", "dual-fisheye"):
        path = plan_sphere_path(motion, params, clip.info.fps, frames, exposure,
                                level=level_sphere, passthrough=cm.passthrough)
    else:
        path = plan_path(motion, params, clip.info.fps, frames, exposure, cm.passthrough)
    for n in path.notes:
        _log.info(n)
    return ClipPlan(motion, frames, path, cm.sources, cm.bias_source)


def _resynced(clip: ClipInputs, pair, plan: ClipPlan, params: StabilizeParams, strict: bool,
              level_sphere: bool) -> tuple[ClipInputs, ClipPlan]:
    """A dual-fisheye clip synced again through its calibrated lens ``pair``
    (``dual_fisheye.resync``) and planned with that offset; unchanged when the sync fails."""
    from .dual_fisheye.resync import resync

    again = resync(clip, pair, clip.notes)
    if again is clip:
        return clip, plan
    # the notes of the motion analysis were taken with the first plan
    return again, plan_clip(dataclasses.replace(again, notes=[]), params, strict,
                            level_sphere=level_sphere)


def check_dual_fisheye_paths(options: DualFisheyeOptions | None, video: Path,
                             out_path: Path) -> None:
    """The dual-fisheye options' own checks, and their rig files neither the input nor the
    output (``InputError``)."""
    if options is None:
        return
    options.check(str(video))
    for p in (options.rig, options.save_rig):
        if p is not None:
            check_not_input(out_path, p)
    if options.save_rig is not None:
        check_not_input(options.save_rig, video, out_path)


def refuse_dual_fisheye_options(options: DualFisheyeOptions | None, clip: ClipInputs) -> None:
    """``InputError`` for dual-fisheye options given for a clip of another projection."""
    if (options is not None and clip.projection != "dual-fisheye"
            and options != DualFisheyeOptions()):
        raise InputError(f"rig, field of view and keyframe options are for dual-fisheye clips; "
                         f"this one is {clip.projection}", str(clip.video))


def plan_dual_fisheye_clip(clip: ClipInputs, plan: ClipPlan,
                           options: DualFisheyeOptions | None, params: StabilizeParams,
                           strict: bool, level_sphere: bool,
                           progress: ProgressCallback | None = None):
    """A dual-fisheye clip's lens pair and seams (``dual_fisheye.plan``), its notes added to
    the clip's; an offset found through nominal lenses is found again through the calibrated
    ones and the clip planned with it. Returns ``(clip, plan, dual_fisheye_plan)``."""
    from .dual_fisheye.plan import plan_dual_fisheye

    df = plan_dual_fisheye(clip.video, plan.motion, clip.camera.size, clip.info.fps, options,
                           clip.log.camera, progress)
    for n in df.notes:
        note(clip.notes, _log, n)
    if clip.offset_found and (options is None or options.rig is None):
        # synced through nominal lenses: again through the calibrated ones
        clip, plan = _resynced(clip, df.pair, plan, params, strict, level_sphere)
    return clip, plan, df


def stabilize_video(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    gyro: str | os.PathLike | SensorLog | None = None,
    lens: str | os.PathLike | CameraModel | None = None,
    readout_ms: float | None = None,
    offset_ms: float | None = None,
    params: StabilizeParams | None = None,
    sidecar: str | os.PathLike | None = None,
    debug_dir: str | os.PathLike | None = None,
    progress: ProgressCallback | None = None,
    strict: bool = False,
    projection: str = "auto",
    level_sphere: bool = True,
    allow_in_camera_stabilization: bool = False,
    dual_fisheye: DualFisheyeOptions | None = None,
) -> StabilizeResult:
    """Stabilize ``input`` with its gyro log and write ``output`` (audio copied).

    Parameters
    ----------
    input, output : path-like
        Source video and destination (never the same file).
    gyro : path-like or SensorLog, optional
        The log; found automatically when omitted (``inputs.find_gyro_log``).
    lens : path-like or CameraModel, optional
        Gyroflow lens profile (scaled to the video size); else ``<stem>.lens.json`` beside the
        video, else the bundled database's profile for the camera the file names
        (``inputs.database_camera``), else a distortion-free pinhole of
        ``motion.DEFAULT_HFOV_DEG`` is assumed (and reported).
    readout_ms, offset_ms : float, optional
        Rolling-shutter readout and sync offset (``t_video = t_log - offset``); by default from
        the log / lens profile (``inputs.resolve_readout``), and the offset 0 for embedded
        telemetry or found by ``sensors.sync.sync_video_to_gyro`` for a separate log (for a
        dual-fisheye clip on both lens discs: ``sensors.dual_fisheye_motion``).
    params : StabilizeParams
        Smoothing, zoom, warp and encoder settings.
    sidecar : path-like, optional
        JSON with per-frame real/virtual orientation, zoom, sync offset and camera.
    debug_dir : path-like, optional
        Folder for ``01_paths.png`` and side-by-side ``02_frame_*.png`` previews.
    progress : callable(Progress), optional
        Called after each encoded frame with ``sensors.progress.Progress("stabilize", done,
        total)``.
    strict : bool
        Refuse a log that leaves frames uncovered (else their motion comes from the video), and
        a damaged video (else undecodable frames are stood in for by their neighbours and named
        in the notes and the sidecar's ``damage``; ``sensors.damage``).
    projection : str
        ``auto`` (spherical metadata, or a 2:1 frame from a 360 camera, mean ``equirect``; a
        2:1 frame of two fisheye discs on black ``dual-fisheye``;
        ``inputs.resolve_projection``), ``flat``, ``equirect`` or ``dual-fisheye``. An equirect
        clip is stabilized by rotating the sphere (no crop, no zoom, no border; ``sphere_warp``)
        and written with spherical video metadata (V1 and V2), so players show it as 360. A
        dual-fisheye clip (a 360 camera's two lenses side by side) is calibrated, stitched with
        seam warps and stabilized the same way into an equirect video of the same size
        (``stabilize.dual_fisheye``; docs/architecture.md "360 video").
    level_sphere : bool
        Equirect and dual-fisheye only: keep gravity down where the log has an accelerometer.
    allow_in_camera_stabilization : bool
        Stabilize a clip the camera stabilized itself although its per-frame rotation cannot
        be undone (else refused with ``in_camera.InCameraStabilizationError``; a clip that
        carries that rotation, GoPro ``IORI``, is undone either way: ``stabilize.in_camera``).
    dual_fisheye : DualFisheyeOptions, optional
        Dual-fisheye only: a rig file instead of calibrating, the starting field of view, where
        to save the calibration, keyframe spacing (``stabilize.dual_fisheye.plan``). Given for
        a clip of another projection: ``InputError``.

    Returns
    -------
    StabilizeResult

    Examples
    --------
    A generated clip (its gyro log and lens profile lie beside it; the log shares the video's
    clock, so the offset is given rather than searched for):

    >>> import tempfile
    >>> from pathlib import Path
    >>> from sensors.synthetic import generate_clip
    >>> tmp = tempfile.TemporaryDirectory()
    >>> clip = generate_clip(tmp.name, width=160, height=90, duration_s=1.0, audio=False)
    >>> res = stabilize_video(clip.video, Path(tmp.name) / "steady.mp4", offset_ms=0.0)
    >>> res.n_frames, res.stabilized_frames, bool(res.zoom.min() >= 1.0)
    (30, (0, 30), True)
    >>> tmp.cleanup()
    """
    t_start = time.perf_counter()
    warm_up_kernels()
    params = StabilizeParams() if params is None else params
    video = Path(input)
    out_path = Path(output)
    check_not_input(out_path, video, *(p for p in (gyro, lens, sidecar)
                                       if isinstance(p, (str, os.PathLike))))
    if sidecar is not None:
        check_not_input(sidecar, video, out_path)
    check_dual_fisheye_paths(dual_fisheye, video, out_path)
    clip = resolve_inputs(video, gyro, lens, readout_ms, offset_ms, projection,
                          allow_in_camera_stabilization, dual_fisheye)
    notes = clip.notes
    dual = clip.projection == "dual-fisheye"
    sphere = clip.projection in ("equirect", "dual-fisheye")
    refuse_dual_fisheye_options(dual_fisheye, clip)
    # The decoder and the encoder start now, beside the analysis and the plan.
    with atomic_output(out_path) as tmp:
        with Transcoder(video, clip.info, tmp, params, strict,
                        side_by_side=dual) as transcoder:
            for n in transcoder.notes:
                note(notes, _log, n)
            plan = plan_clip(clip, params, strict, level_sphere=level_sphere)
            motion, frames, ctx = plan.motion, plan.frames, plan.path
            preview = None
            if debug_dir is not None:
                preview = {int(i): None for i in np.linspace(frames[0], frames[1] - 1, 3).round()}
            warper = None
            if dual:
                clip, plan, df = plan_dual_fisheye_clip(clip, plan, dual_fisheye, params,
                                                        strict, level_sphere, progress)
                motion, frames, ctx = plan.motion, plan.frames, plan.path
                warper = df.warper(params.interpolation)
            elif sphere:
                from .sphere_warp import SphereWarper

                warper = SphereWarper(clip.camera.size, interpolation=params.interpolation)
            written = transcoder.run(motion, ctx, frames, progress, preview, warper)
        if sphere and out_path.suffix.lower() in (".mp4", ".mov", ".m4v"):
            # the muxer writes none: added to the finished file before it is renamed
            from sensors.spherical import write_spherical

            write_spherical(tmp)
        elif sphere:
            note(notes, _log, f"spherical metadata is written into MP4/MOV only, not "
                 f"{out_path.suffix}: players may not show {out_path.name} as 360")
    all_notes = tuple(notes) + plan.notes
    if transcoder.damage.damaged:  # named in the notes and the sidecar (sensors.damage)
        all_notes += (transcoder.damage.note(),)

    sc_path = None
    if sidecar is not None:
        sc_path = Path(sidecar)
        rec = sidecar_dict(motion, ctx, params, frames,
                           {"input": str(video), "output": str(out_path),
                            "projection": clip.projection,
                            "in_camera_stabilization": clip.in_camera.sidecar_value
                            if clip.in_camera is not None else None},
                           sources=plan.sources, bias_source=plan.bias_source)
        rec["notes"] = list(all_notes)
        rec["damage"] = transcoder.damage.as_list()
        write_sidecar(sc_path, rec)
    if debug_dir is not None:
        from .debug import plot_paths, write_side_by_side

        d = Path(debug_dir)
        d.mkdir(parents=True, exist_ok=True)
        plot_paths(d / "01_paths.png", ctx.t_s, ctx.real_quat, ctx.virtual_quat, ctx.zoom,
                   title=f"{video.name}: real vs virtual camera")
        for i, pair in (preview or {}).items():
            if pair is not None:
                write_side_by_side(d, i, *pair)
    return StabilizeResult(out_path, sc_path, written, frames, clip.offset_s, clip.readout_s,
                           clip.camera, ctx.real_quat, ctx.virtual_quat, ctx.zoom,
                           dict(ctx.extras), all_notes, time.perf_counter() - t_start,
                           plan.sources, clip.projection)
