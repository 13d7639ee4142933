"""Camera rotation measured from an equirectangular (360) video: flow on the panorama, turned
into pairs of directions on the sphere.

A pinhole frame's pixels map to rays through the lens; a panorama's pixels map to directions
through the equirect mapping (``sensors.equirect``, camera axes). Otherwise the measurement is
the flat one (``sensors.video_motion``): dense DIS flow between consecutive frames refined by
Lucas-Kanade on textured grid points, each sample kept as a pair of unit directions with the
row-time fraction of both ends (a 360 frame's row ``v`` is captured at that row's own time, the
rolling-shutter model of ``stabilize.sphere_warp``). So the per-pair angular velocity
(``video_motion.pair_rates``: least squares on ``r1 = r0 + dt r0 x omega``, outliers
down-weighted by Cauchy weights) and the whole sync search (``sensors.sync``) run unchanged on
these samples.

What differs on the sphere:

- the panorama wraps at u = 0 <-> W: the flow is computed on frames padded with the opposite
  edge, so a point leaving one side is found on the other;
- near the poles the mapping is degenerate (a row is one point, a pixel's width shrinks with
  the cosine of the pitch): only points within ``MAX_PITCH_DEG`` of the horizon are tracked;
- the panorama is analysed wider than a flat frame (``ANALYSIS_WIDTH``): its pixels spread a
  full turn, so a pixel is a larger angle than on a 70-degree lens at 320 px.

Examples
--------
>>> from sensors.equirect import equirect_camera
>>> cam = equirect_camera((3840, 1920))
>>> samples = flow_samples_for_camera("clip360.mp4", cam)  # doctest: +SKIP
>>> samples.ray0_cam.shape[1]  # doctest: +SKIP
3
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from .dual_fisheye_motion import dual_fisheye_flow_samples_from_video, is_dual_fisheye
from .equirect import equirect_camera, equirect_to_dirs
from .errors import InputError
from .progress import ProgressCallback, report
from .rolling_shutter import row_fraction
from .spherical import check_projection, detect_projection
from .types import CameraModel
from .video_motion import FlowSamples, _flow_pairs, _make_dis, flow_samples_from_video, frame_times

__all__ = [
    "ANALYSIS_WIDTH",
    "MAX_PITCH_DEG",
    "is_equirect",
    "motion_camera",
    "flow_samples_for_camera",
    "sphere_flow_samples_from_frames",
    "sphere_flow_samples_from_video",
]

#: Panorama width the flow is measured at (px; narrower clips are analysed at their own size).
ANALYSIS_WIDTH = 640
#: Points tracked lie within this pitch of the horizon (the mapping degenerates at the poles).
MAX_PITCH_DEG = 60.0
#: Columns of the opposite edge added on each side before the flow (a share of the width):
#: motion up to this much per frame pair is followed across the u seam.
WRAP_PAD = 0.125


def is_equirect(camera: CameraModel | None) -> bool:
    """True for the stand-in camera of an equirect clip (``sensors.equirect.equirect_camera``)."""
    return camera is not None and camera.meta.get("projection") == "equirect"


def sphere_flow_samples_from_frames(
    frames: Iterable[np.ndarray | None],
    frame_t_s: np.ndarray,
    camera: CameraModel | None = None,
    *,
    readout_direction: str = "top_to_bottom",
    grid_step_px: int = 8,
    max_per_pair: int = 400,
    max_pitch_deg: float = MAX_PITCH_DEG,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    source: str | None = None,
    total_frames: int | None = None,
) -> FlowSamples:
    """Flow samples of grayscale equirectangular frames as direction pairs on the sphere.

    Parameters
    ----------
    frames : iterable of (h, 2h) uint8 or None
        Panoramas in time order; ``None`` marks a gap (no pair is formed across it).
    frame_t_s : (F,) float64 or list
        Their video times (read after the last frame, so a list a decoder thread fills works).
    camera : CameraModel, optional
        Not used: the directions come from the equirect mapping at the frames' size (kept for
        ``video_motion.flow_samples_from_frames``'s signature).
    readout_direction : str
        ``top_to_bottom`` or ``bottom_to_top``.
    grid_step_px : int
        Spacing of the candidate grid.
    max_per_pair : int
        Textured candidates kept per pair (seeded random pick among them).
    max_pitch_deg : float
        Candidates lie within this pitch of the horizon.
    progress : callable, optional
        Called with a ``Progress`` record (stage ``"motion"``) after every frame.
    source : str, optional
        File named in error messages.
    total_frames : int, optional
        Frames expected, for the progress records.

    Returns
    -------
    FlowSamples
        Rays are unit directions in camera axes; ``camera`` is ``equirect_camera`` at the
        analysis size (its focal ``w / 2pi`` is the px-per-radian scale the robust fits use);
        no pixel coordinates are kept (a panorama has no focal length to re-fit).
    """
    if readout_direction not in ("top_to_bottom", "bottom_to_top"):
        raise InputError(f"sync supports row-wise readout only, got {readout_direction!r}", source)
    if not 0.0 < max_pitch_deg < 90.0:
        raise InputError(f"max_pitch_deg must lie in (0, 90), got {max_pitch_deg}", source)
    rng = np.random.default_rng(seed)
    dis = _make_dis()
    pairs, r0s, r1s, f0s, f1s = [], [], [], [], []
    prev = None
    cam = grid = None
    w = h = pad = 0
    n = 0
    for img in frames:
        if img is None:
            prev = None
            continue
        img = np.ascontiguousarray(img)
        if cam is None:
            h, w = img.shape[:2]
            if w != 2 * h:
                raise InputError(f"an equirect frame is twice as wide as high, got {w}x{h}",
                                 source)
            cam = equirect_camera((w, h))
            pad = max(8, int(round(WRAP_PAD * w)))
            grid = _grid(w, h, pad, grid_step_px, max_pitch_deg)
        cur = _wrap_pad(img, pad)
        if prev is not None:
            eig0 = cv2.cornerMinEigenVal(prev, 5)
            idx, p1 = _flow_pairs(dis, prev, cur, eig0, grid, max_per_pair, rng)
            p0 = grid[idx].astype(np.float64)
            # back to panorama columns (continuous coordinates: pixel centres at x + 0.5)
            p0[:, 0] -= pad
            p1 = p1.copy()
            p1[:, 0] = np.mod(p1[:, 0] - pad, w)
            pairs.append(np.full(p0.shape[0], n - 1, dtype=np.int64))
            r0s.append(equirect_to_dirs(p0 + 0.5, w))
            r1s.append(equirect_to_dirs(p1 + 0.5, w))
            f0s.append(row_fraction(p0[:, 1], h, readout_direction))
            f1s.append(row_fraction(p1[:, 1], h, readout_direction))
        prev = cur
        n += 1
        report(progress, "motion", n, total_frames)
    t = frame_times(frame_t_s, n, source)
    cat = np.concatenate
    return FlowSamples(t, cat(pairs), cat(r0s), cat(r1s), cat(f0s), cat(f1s), cam, False,
                       source)


def _wrap_pad(img: np.ndarray, pad: int) -> np.ndarray:
    """The panorama with ``pad`` columns of the opposite edge on each side (the u seam)."""
    return np.ascontiguousarray(np.concatenate([img[:, -pad:], img, img[:, :pad]], axis=1))


def _grid(w: int, h: int, pad: int, step: int, max_pitch_deg: float) -> np.ndarray:
    """Candidate points ``(x, y)`` in padded-frame pixels: every column of the panorama once,
    rows within ``max_pitch_deg`` of the horizon."""
    half = step // 2
    xs = pad + np.arange(half, w, step)
    ys = np.arange(half, h, step)
    pitch = (0.5 - (ys + 0.5) / h) * 180.0
    ys = ys[np.abs(pitch) <= max_pitch_deg]
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=-1)


def sphere_flow_samples_from_video(
    path: str,
    camera: CameraModel | None = None,
    *,
    target_width: int = ANALYSIS_WIDTH,
    **kwargs,
) -> FlowSamples:
    """Decode an equirect clip at ~``target_width`` px wide and return its sphere
    ``FlowSamples`` (``video_motion.flow_samples_from_video``'s decoding, windows and progress;
    ``kwargs`` go to it)."""
    return flow_samples_from_video(path, camera, target_width=target_width,
                                   analyse=sphere_flow_samples_from_frames, **kwargs)


def flow_samples_for_camera(path: str, camera: CameraModel | None = None,
                            **kwargs) -> FlowSamples:
    """Flow samples of a clip as its camera maps pixels: on the sphere for an equirect clip
    (``is_equirect``), on both discs through the lens pair for a dual-fisheye clip
    (``sensors.dual_fisheye_motion``), through the lens otherwise
    (``video_motion.flow_samples_from_video``). ``kwargs`` go to the decoder (windows,
    keyframes, readout direction, progress)."""
    if is_dual_fisheye(camera):
        return dual_fisheye_flow_samples_from_video(path, camera, **kwargs)
    if is_equirect(camera):
        return sphere_flow_samples_from_video(path, camera, **kwargs)
    return flow_samples_from_video(path, camera, **kwargs)


def motion_camera(path: str, camera: CameraModel | None, projection: str = "auto",
                  camera_name: str | None = None) -> tuple[CameraModel | None, str | None]:
    """The camera a clip's motion is measured with, and a note when it is a panorama's.

    ``flat`` keeps ``camera`` (a lens, or None for a pinhole guess); ``equirect`` gives
    ``equirect_camera`` at the clip's size; ``auto`` decides as
    ``sensors.spherical.detect_projection`` does (spherical metadata, or a 2:1 frame from a 360
    camera named by ``camera_name``, the log's camera). A camera already ``is_equirect`` is kept,
    and so is a dual-fisheye clip's lens pair (``sensors.dual_fisheye_motion``, noted); a
    ``dual-fisheye`` projection without one is refused (its discs are found by
    ``stabilize.dual_fisheye``, which ``steadyrig sync`` and ``stabilize_video`` use).

    Returns
    -------
    (CameraModel or None, str or None)
        The camera and, for a panorama found or forced here, the note saying so.

    Raises
    ------
    InputError
        ``dual-fisheye`` without a dual-fisheye ``camera``.
    """
    if is_dual_fisheye(camera):
        about = camera.meta.get("lens_pair") or "lens pair given"
        return camera, (f"projection dual-fisheye: camera motion measured on both lens discs "
                        f"({about})")
    if projection == "dual-fisheye":
        raise InputError("a dual-fisheye clip's motion is measured through its lens pair: pass "
                         "sensors.dual_fisheye_motion.dual_fisheye_camera", str(path))
    if is_equirect(camera) or check_projection(projection) == "flat":
        return camera, None
    size = _frame_size(path)
    if projection == "equirect":
        why = "given"
    else:
        found, why = detect_projection(path, size, camera_name)
        if found != "equirect":
            return camera, None
    msg = f"projection equirect: {why}; camera motion measured on the sphere"
    if camera is not None:
        msg += "; the lens profile given is not used"
    return equirect_camera(size), msg


def _frame_size(path: str) -> tuple[int, int]:
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise InputError("no video stream", str(path))
            cc = c.streams.video[0].codec_context
            return int(cc.width), int(cc.height)
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"cannot open video ({exc})", str(path)) from None
