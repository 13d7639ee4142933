"""Camera rotation measured from a dual-fisheye (360) video: flow on both lens discs, turned into
pairs of directions through the lens pair.

A dual-fisheye frame holds a 360 camera's two back-to-back lenses side by side (W = 2H, front
lens left; docs/architecture.md "360 video"). Its motion is measured as the equirect clip's
(``sensors.sphere_motion``) and the flat clip's (``sensors.video_motion``) are: dense DIS flow
between consecutive frames refined by Lucas-Kanade on textured grid points, each sample kept as
a pair of unit directions in camera axes with the row-time fraction of both ends, so
``video_motion.pair_rates`` and the whole sync (``sensors.sync``), the gyro bias from the video
and the gap fill run on these samples unchanged.

What differs from a panorama:

- the flow runs on the frame as stored, not on a stitched panorama: every sample stays in the
  disc it was found in, so its pixel rows are that lens's sensor rows and no seam (where two
  lenses disagree by their parallax and calibration) makes false motion;
- a pixel maps to a direction through its own lens (``sensors.fisheye``, equidistant with one
  radial term), the back lens's turned by its orientation in the camera frame (the front
  lens's), so both discs measure the one rotation of the camera;
- each lens reads its rows top to bottom in step with the other (one clock, as two-sensor 360
  cameras run them), so frame row ``y`` of either half is captured at
  ``t_frame + row_fraction(y, H) * readout``: the row-time fraction is that of the frame's row,
  as on a flat frame;
- points near a disc's edge are not tracked (the black outside does not move with the scene and
  would hold the flow still): a grid point and where the flow puts it must lie
  ``EDGE_MARGIN_PX`` inside the usable disc.

The lens pair comes with the camera (``dual_fisheye_camera``): a calibrated pair, or the nominal
one of the discs found in a frame (``stabilize.dual_fisheye.motion_lenses`` builds either; this
package does not find discs).

Examples
--------
>>> from sensors.fisheye import R_BACK, FisheyeLens
>>> front = FisheyeLens(94.0, 159.5, 159.5, 0.0, np.radians(97.5))
>>> back = FisheyeLens(94.0, 479.5, 159.5, 0.0, np.radians(97.5))
>>> cam = dual_fisheye_camera((640, 320), (front, back), R_BACK)
>>> is_dual_fisheye(cam), cam.meta["projection"]
(True, 'dual-fisheye')
>>> samples = dual_fisheye_flow_samples_from_video("clip.mp4", cam)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from .errors import InputError
from .fisheye import FisheyeLens, pixels_to_rays
from .fisheye_layout import layout_of, to_side_by_side
from .progress import ProgressCallback, report
from .rolling_shutter import row_fraction
from .types import CameraModel
from .video import probe_video
from .video_motion import (
    LK_WIN,
    FlowSamples,
    _flow_pairs,
    _make_dis,
    flow_samples_from_video,
    frame_times,
)

__all__ = [
    "ANALYSIS_WIDTH",
    "EDGE_MARGIN_PX",
    "DUAL_FISHEYE",
    "dual_fisheye_camera",
    "is_dual_fisheye",
    "lens_pair_at",
    "dual_fisheye_flow_samples_from_frames",
    "dual_fisheye_flow_samples_from_video",
]

#: The ``projection`` name of a dual-fisheye clip.
DUAL_FISHEYE = "dual-fisheye"
#: Frame width the flow is measured at (px; narrower clips are analysed at their own size).
#: Each disc is then ~320 px across, about the equirect analysis' pixels per radian.
ANALYSIS_WIDTH = 640
#: Grid points, and where the flow puts them, lie this far inside the usable disc (analysis
#: px): the Lucas-Kanade window (``LK_WIN``) must not reach the static black outside.
EDGE_MARGIN_PX = LK_WIN // 2 + 3


def dual_fisheye_camera(size: tuple[int, int], lenses: tuple[FisheyeLens, FisheyeLens],
                        R_rig_from_back: np.ndarray, source: str | None = None,
                        about: str = "") -> CameraModel:
    """The ``CameraModel`` a dual-fisheye clip's motion is measured with.

    Its ``K`` and ``dist`` are the front lens's as an ``opencv_fisheye`` (so ``K[0, 0]`` is the
    px-per-radian scale the robust fits measure residuals in); ``meta['projection']`` says
    ``dual-fisheye`` and ``meta['lenses']`` / ``meta['R_rig_from_back']`` hold the pair at
    ``size`` (``lens_pair_at`` scales them), so nothing takes it for one flat lens.

    Parameters
    ----------
    size : (int, int)
        Frame (width, height), width = 2 height.
    lenses : (FisheyeLens, FisheyeLens)
        Front and back lens in frame pixels (``fov_rad``: half angle of the usable disc).
    R_rig_from_back : (3, 3)
        The back lens's orientation in the camera (front lens) frame.
    source : str, optional
        Where the pair came from (a rig file, the clip).
    about : str
        How the pair was found, for notes (``meta['lens_pair']``).
    """
    w, h = int(size[0]), int(size[1])
    if w != 2 * h or h < 16:
        raise InputError(f"a dual-fisheye frame is W = 2H, got {w}x{h}", source)
    R = np.asarray(R_rig_from_back, dtype=np.float64)
    if R.shape != (3, 3) or not np.allclose(R @ R.T, np.eye(3), atol=1e-6):
        raise InputError("the back lens's orientation must be a 3x3 rotation", source)
    front = lenses[0]
    K = np.array([[front.f_px, 0.0, front.cx_px], [0.0, front.f_px, front.cy_px],
                  [0.0, 0.0, 1.0]])
    return CameraModel(K, np.array([front.k1, 0.0, 0.0, 0.0]), "opencv_fisheye", (w, h), source,
                       meta={"projection": DUAL_FISHEYE, "name": "dual-fisheye",
                             "lenses": (lenses[0], lenses[1]), "R_rig_from_back": R.tolist(),
                             "lens_pair": about})


def is_dual_fisheye(camera: CameraModel | None) -> bool:
    """True for a camera made by ``dual_fisheye_camera``."""
    return (camera is not None and camera.meta.get("projection") == DUAL_FISHEYE
            and "lenses" in camera.meta)


def lens_pair_at(camera: CameraModel, size: tuple[int, int]
                 ) -> tuple[tuple[FisheyeLens, FisheyeLens], np.ndarray]:
    """The camera's two lenses in the pixels of frames of ``size`` (a resize of the frame the
    camera is for: pixel centres at integers, ``c' = (c + 0.5) s - 0.5``) and ``R_rig_from_back``.
    """
    if not is_dual_fisheye(camera):
        raise InputError("not a dual-fisheye camera", camera.source if camera else None)
    s = size[0] / camera.size[0]
    if abs(size[1] / camera.size[1] - s) > 0.02 * s:
        raise InputError(f"the lens pair is for {camera.size[0]}x{camera.size[1]} frames, not "
                         f"{size[0]}x{size[1]}", camera.source)
    lenses = tuple(FisheyeLens(L.f_px * s, (L.cx_px + 0.5) * s - 0.5, (L.cy_px + 0.5) * s - 0.5,
                               L.k1, L.fov_rad) for L in camera.meta["lenses"])
    return lenses, np.asarray(camera.meta["R_rig_from_back"], dtype=np.float64)


def _disc_grid(lenses, w: int, h: int, step: int, margin_px: float) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Candidate points ``(x, y)`` inside each lens's usable disc (less ``margin_px``), and the
    lens of each."""
    half = step // 2
    gy, gx = np.mgrid[half:h:step, half:w:step]
    pts = np.stack([gx.ravel(), gy.ravel()], axis=-1)
    lens_of = np.full(pts.shape[0], -1, dtype=np.int64)
    for k, L in enumerate(lenses):
        lens_of[_inside(L, pts.astype(np.float64), margin_px)] = k
    keep = lens_of >= 0
    return pts[keep], lens_of[keep]


def _inside(lens: FisheyeLens, px: np.ndarray, margin_px: float) -> np.ndarray:
    """Pixels at least ``margin_px`` inside the lens's usable disc."""
    r = np.hypot(px[:, 0] - lens.cx_px, px[:, 1] - lens.cy_px)
    return r <= float(lens.radius_px(lens.fov_rad)) - margin_px


def _rays(lenses, R_back: np.ndarray, px: np.ndarray, lens_of: np.ndarray) -> np.ndarray:
    """Unit directions in camera axes of pixels ``px`` seen by lens ``lens_of``."""
    out = np.empty((px.shape[0], 3))
    for k, (L, R) in enumerate(zip(lenses, (np.eye(3), R_back), strict=True)):
        sel = lens_of == k
        out[sel] = pixels_to_rays(px[sel], L.f_px, L.cx_px, L.cy_px, L.k1) @ R.T
    return out


def dual_fisheye_flow_samples_from_frames(
    frames: Iterable[np.ndarray | None],
    frame_t_s: np.ndarray,
    camera: CameraModel | None = None,
    *,
    readout_direction: str = "top_to_bottom",
    grid_step_px: int = 8,
    max_per_pair: int = 400,
    edge_margin_px: float = EDGE_MARGIN_PX,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    source: str | None = None,
    total_frames: int | None = None,
) -> FlowSamples:
    """Flow samples of grayscale dual-fisheye frames as direction pairs in camera axes.

    Parameters
    ----------
    frames : iterable of (h, 2h) uint8 or None
        (or stacked, (2h, h): ``sensors.fisheye_layout``, rearranged side by side)
        Frames as stored (both discs side by side) in time order; ``None`` marks a gap (no pair
        is formed across it).
    frame_t_s : (F,) float64 or list
        Their video times (read after the last frame, so a list a decoder thread fills works).
    camera : CameraModel
        ``dual_fisheye_camera`` of the clip at any size of the same aspect (its lenses are
        scaled to the frames).
    readout_direction : str
        ``top_to_bottom`` or ``bottom_to_top`` (both lenses read the same way, in step).
    grid_step_px : int
        Spacing of the candidate grid.
    max_per_pair : int
        Textured candidates kept per pair (seeded random pick among them).
    edge_margin_px : float
        Both ends of a sample lie this far inside their lens's usable disc.
    progress : callable, optional
        Called with a ``Progress`` record (stage ``"motion"``) after every frame.
    source : str, optional
        File named in error messages.
    total_frames : int, optional
        Frames expected, for the progress records.

    Returns
    -------
    FlowSamples
        Rays are unit directions in camera axes (the back lens's turned into the front's);
        ``camera`` is the dual-fisheye camera at the analysis size; no pixel coordinates are
        kept (the focal length is the lens pair's, not re-fitted).
    """
    if readout_direction not in ("top_to_bottom", "bottom_to_top"):
        raise InputError(f"sync supports row-wise readout only, got {readout_direction!r}", source)
    if not is_dual_fisheye(camera):
        raise InputError("a dual-fisheye clip's motion is measured through its lens pair "
                         "(sensors.dual_fisheye_motion.dual_fisheye_camera)", source)
    rng = np.random.default_rng(seed)
    dis = _make_dis()
    pairs, r0s, r1s, f0s, f1s = [], [], [], [], []
    prev = None
    cam = grid = grid_lens = grid_rays = lenses = R_back = None
    h = 0
    n = 0
    for img in frames:
        if img is None:
            prev = None
            continue
        img = np.ascontiguousarray(to_side_by_side(img))  # a stacked frame, side by side
        if cam is None:
            h, w = img.shape[:2]
            if w != 2 * h:
                raise InputError(f"a dual-fisheye frame is twice as wide as high, got {w}x{h}",
                                 source)
            lenses, R_back = lens_pair_at(camera, (w, h))
            cam = dual_fisheye_camera((w, h), lenses, R_back, camera.source,
                                      camera.meta.get("lens_pair", ""))
            grid, grid_lens = _disc_grid(lenses, w, h, grid_step_px, edge_margin_px)
            if grid.shape[0] == 0:
                raise InputError("the lens discs leave no pixels to track", source)
            grid_rays = _rays(lenses, R_back, grid.astype(np.float64), grid_lens)
        if prev is not None:
            eig0 = cv2.cornerMinEigenVal(prev, 5)
            idx, p1 = _flow_pairs(dis, prev, img, eig0, grid, max_per_pair, rng)
            k = grid_lens[idx]
            # a sample stays in the disc it started in: its rows are that lens's rows
            stay = np.zeros(idx.size, dtype=bool)
            for j, L in enumerate(lenses):
                sel = k == j
                stay[sel] = _inside(L, p1[sel], edge_margin_px)
            idx, p1, k = idx[stay], p1[stay], k[stay]
            p0 = grid[idx].astype(np.float64)
            pairs.append(np.full(idx.size, n - 1, dtype=np.int64))
            r0s.append(grid_rays[idx])
            r1s.append(_rays(lenses, R_back, p1, k))
            f0s.append(row_fraction(p0[:, 1], h, readout_direction))
            f1s.append(row_fraction(p1[:, 1], h, readout_direction))
        prev = img
        n += 1
        report(progress, "motion", n, total_frames)
    t = frame_times(frame_t_s, n, source)
    cat = np.concatenate
    return FlowSamples(t, cat(pairs), cat(r0s), cat(r1s), cat(f0s), cat(f1s), cam, False,
                       source)


def dual_fisheye_flow_samples_from_video(
    path: str,
    camera: CameraModel,
    *,
    target_width: int = ANALYSIS_WIDTH,
    **kwargs,
) -> FlowSamples:
    """Decode a dual-fisheye clip at ~``target_width`` px wide and return its ``FlowSamples``
    (``video_motion.flow_samples_from_video``'s decoding, windows and progress; ``kwargs`` go
    to it)."""
    info = probe_video(path)
    if layout_of((info.width, info.height)) != "stacked":
        return flow_samples_from_video(path, camera, target_width=target_width,
                                       analyse=dual_fisheye_flow_samples_from_frames, **kwargs)

    # A stacked clip's frames are rearranged side by side in the analysis, so the camera (of
    # that arrangement) goes to it directly rather than through the decoder's aspect check.
    def analyse(frames, times, _camera, **kw):
        return dual_fisheye_flow_samples_from_frames(frames, times, camera, **kw)

    return flow_samples_from_video(path, None, target_width=target_width // 2,
                                   analyse=analyse, **kwargs)
