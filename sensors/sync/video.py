"""Video to gyro: decode (only gyro-chosen windows of a long clip), flow, then sync the samples."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..damage import damage_note
from ..errors import InputError, SolveError
from ..progress import ProgressCallback, get_logger
from ..sphere_motion import flow_samples_for_camera, motion_camera
from ..types import CameraModel, GyroLog
from ..video_motion import keyframe_times
from .result import SyncResult
from .samples import sync_samples_to_gyro
from .windows import MID_WINDOWED_S, MID_WINDOWS, MIN_WINDOWED_S, decode_windows_from_gyro

__all__ = ["sync_video_to_gyro"]

_log = get_logger(__name__)


def sync_video_to_gyro(
    video_path: str,
    gyro: GyroLog,
    *,
    camera: CameraModel | None = None,
    readout_s: float | None = None,
    search_s: float = 5.0,
    axes: str | None = None,
    estimate_axes: bool = True,
    windows: int = 4,
    readout_direction: str = "top_to_bottom",
    progress: ProgressCallback | None = None,
    projection: str = "auto",
    camera_name: str | None = None,
) -> SyncResult:
    """Find the offset (and drift, and IMU axis orientation) between a video and a gyro log.

    Parameters
    ----------
    video_path : str
        The video (any container/codec PyAV decodes).
    gyro : GyroLog
        Rates on the log's clock; in camera axes if the reader knew the orientation.
    camera : CameraModel, optional
        The lens (e.g. ``sensors.lens_profile.load_lens_profile``); otherwise a distortion-free
        pinhole whose focal length is estimated from the fit, starting at 70 degrees (reported
        in ``notes`` and ``SyncResult.focal_px``).
    readout_s : float, optional
        Rolling-shutter readout time; estimated jointly with the offset when None (the estimate
        is ``SyncResult.readout_s`` and is reported in ``notes``).
    search_s : float
        Half-width of the coarse offset search, seconds.
    axes : str, optional
        The axis mapping to use (``AXES_ALL``); when None and ``estimate_axes``, all 48 are tried.
    estimate_axes : bool
        Try all 48 signed permutations (else keep the log's axes as given).
    windows : int
        Number of sync windows (placed where the motion is most informative); on clips of
        ``MIN_WINDOWED_S`` or more only these windows of the video are decoded, on clips from
        ``MID_WINDOWED_S`` at most ``MID_WINDOWS`` of them (see ``SyncResult.decode_windows_s``
        and ``frames_decoded``); shorter clips are analysed whole.
    readout_direction : str
        ``top_to_bottom`` or ``bottom_to_top``.
    progress : callable, optional
        Called with a ``sensors.progress.Progress`` record (stage ``"motion"``) after every
        frame analysed: ``done`` frames so far, ``total`` the frames expected when the container
        tells (on a windowed clip about ``windows * DECODE_WINDOW_S * fps``, not the clip's
        frame count).
    projection : str
        ``auto`` (default: equirect when the file carries spherical video metadata, or is a 2:1
        frame from the 360 camera ``camera_name`` names), ``flat`` or ``equirect``. An equirect
        clip's rotation is measured on the sphere (``sensors.sphere_motion``; noted), with no
        lens; so is any clip whose ``camera`` is ``sensors.equirect.equirect_camera``. A
        dual-fisheye clip is measured on both lens discs when ``camera`` is its lens pair
        (``sensors.dual_fisheye_motion.dual_fisheye_camera``; ``stabilize.inputs.
        dual_fisheye_motion_camera`` finds one from the discs); ``dual-fisheye`` without it is
        an ``InputError`` (this package does not find discs, and ``auto`` does not tell them).
    camera_name : str, optional
        The log's camera (``SensorLog.camera``), for ``auto``.

    Returns
    -------
    SyncResult with ``t_video = t_log - offset_s``.

    Raises
    ------
    SolveError
        Motion too weak, gyro not matching the video, or an ambiguous offset.

    Examples
    --------
    >>> from sensors.readers import read_log
    >>> log = read_log("clip.gcsv")  # doctest: +SKIP
    >>> res = sync_video_to_gyro("clip.mp4", log.gyro, readout_s=log.readout_s)  # doctest: +SKIP
    >>> round(res.offset_s * 1e3, 1), res.axes  # doctest: +SKIP
    (-456.7, '+x+y+z')
    """
    if not (np.isfinite(search_s) and search_s > 0):
        raise InputError(f"search window must be positive, got {search_s} s")
    camera, proj_note = motion_camera(video_path, camera, projection, camera_name)
    span = video_span(video_path)
    dec_wins = None
    kf = None
    if span is not None and windows >= 1:
        kf_cache: dict = {}

        def keyframes(a: float, b: float) -> np.ndarray | None:
            kf_cache["kf"] = keyframe_times(video_path, a, b)
            return kf_cache["kf"]

        n_win, min_clip = windows, MIN_WINDOWED_S
        if MID_WINDOWED_S <= span[1] - span[0] < MIN_WINDOWED_S:
            n_win, min_clip = min(windows, MID_WINDOWS), MID_WINDOWED_S
        dec_wins = decode_windows_from_gyro(gyro, span, search_s=search_s, n_windows=n_win,
                                            min_clip_s=min_clip, keyframes=keyframes)
        kf = kf_cache.get("kf")
    samples = flow_samples_for_camera(video_path, camera, readout_direction=readout_direction,
                                      windows_s=dec_wins, keyframes_s=kf if dec_wins else None,
                                      progress=progress)
    estimate = readout_s is None
    try:
        res = sync_samples_to_gyro(samples, gyro, readout_s=0.0 if estimate else readout_s,
                                   search_s=search_s, axes=axes, estimate_axes=estimate_axes,
                                   windows=windows, estimate_readout=estimate,
                                   estimate_focal=camera is None, window_bounds=dec_wins)
    except SolveError as exc:
        raise SolveError(f"{video_path}: {exc}") from None
    notes = res.notes
    if proj_note:
        _log.info(proj_note)
        notes = (proj_note,) + notes
    if samples.damage:  # undecodable stretches were skipped (sensors.damage)
        msg = "sync: " + damage_note(samples.damage)
        _log.info(msg)
        notes = notes + (msg,)
    if dec_wins:
        msg = ("video analysed in " + str(len(dec_wins)) + " windows chosen from the gyro: "
               + ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in dec_wins))
        _log.info(msg)
        notes = notes + (msg,)
    return replace(res, frames_decoded=samples.frames_decoded,
                   decode_windows_s=tuple(dec_wins or ()), notes=notes)


def video_span(path: str) -> tuple[float, float] | None:
    """``(start_s, end_s)`` of the first video stream from the container header, or None."""
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return None
            st = c.streams.video[0]
            tb = st.time_base
            start = float(st.start_time * tb) if st.start_time is not None else 0.0
            if st.duration is not None and tb is not None:
                dur = float(st.duration * tb)
            elif c.duration is not None:
                dur = c.duration / 1e6
            else:
                return None
    except (av.error.InvalidDataError, av.error.FileNotFoundError, OSError):
        return None  # the decoder reports the problem with the file's name
    return (start, start + dur) if dur > 0 else None
