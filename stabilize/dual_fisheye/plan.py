"""The passes a dual-fisheye clip needs before its transcode (docs/architecture.md "360 video").

1. The lens pair: read from ``rig`` (``steadyrig stitch --dual-fisheye --save-rig``), or
   calibrated once from ``calibration_frames`` frames where the gyro turns slowest
   (``calibrate_clip``); written to ``save_rig`` when asked.
2. The seams: one decoding pass, keyframes stitched every ``keyframe_interval_s`` (and the first
   and last frame), smoothed over time (``seams``).

The warper that the transcoder then runs frame by frame composes the stabilizing rotation, the
per-lens rolling shutter and this stitch into one remap per lens (``warp``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sensors.errors import InputError
from sensors.progress import ProgressCallback, report
from sensors.quaternion import qangle
from stitch.dual_fisheye.hints import DEFAULT_FOV_DEG, hint_for

from ..motion import MotionTrack
from .calibrate_clip import calibrate_frames, pick_calibration_frames, read_frames
from .options import DualFisheyeOptions
from .rig import LensPair, read_lens_pair, write_lens_pair
from .seams import SeamTrack, plan_seams
from .warp import DualFisheyeWarper

__all__ = ["DualFisheyeOptions", "DualFisheyePlan", "plan_dual_fisheye", "frame_rates_rad_s",
           "lens_pair"]


@dataclass(frozen=True, eq=False)
class DualFisheyePlan:
    """The lens pair, the seams and the notes of a dual-fisheye clip."""

    pair: LensPair
    seams: SeamTrack
    notes: tuple

    def warper(self, interpolation: str = "bilinear") -> DualFisheyeWarper:
        """The frame warper of this plan."""
        return DualFisheyeWarper(self.pair, self.seams, interpolation=interpolation)


def frame_rates_rad_s(motion: MotionTrack) -> np.ndarray:
    """How fast the camera turns at each frame (rad/s), from the frame orientations."""
    q = motion.frame_quat
    if len(q) < 2:
        return np.zeros(len(q))
    ang = qangle(q[:-1], q[1:])
    dt = np.maximum(np.diff(motion.frame_t_s), 1e-6)
    r = ang / dt
    return np.concatenate([[r[0]], 0.5 * (r[:-1] + r[1:]), [r[-1]]])


def lens_pair(video, motion: MotionTrack, size: tuple[int, int], options: DualFisheyeOptions,
              camera_name: str | None = None, notes: list[str] | None = None) -> LensPair:
    """The clip's lens pair: read from ``options.rig``, or calibrated from
    ``options.calibration_frames`` frames where ``motion`` turns slowest (``calibrate_clip``),
    starting from ``options.fov_deg``, else the camera's hint, else ``DEFAULT_FOV_DEG``. Where
    it came from is appended to ``notes``."""
    src = str(video)
    notes = [] if notes is None else notes
    if options.rig is not None:
        notes.append(f"dual-fisheye: lenses from {options.rig}")
        return read_lens_pair(options.rig, size)
    hint = hint_for(camera_name, camera_name)
    fov = options.fov_deg if options.fov_deg is not None else (
        hint.fov_deg if hint is not None else DEFAULT_FOV_DEG)
    picks = pick_calibration_frames(frame_rates_rad_s(motion), options.calibration_frames)
    frames = read_frames(video, picks)
    if not frames:
        raise InputError("no frame could be decoded to calibrate the lenses from", src)
    pair = calibrate_frames([frames[i] for i in sorted(frames)], fov, source=src)
    pair.info["frames"] = sorted(frames)
    g = pair.info.get("ground")
    seen = ("; ground below seen at {:.2f} degrees of parallax, the far scene at {:.2f}"
            .format(g["parallax_deg"], g["far_parallax_deg"]) if g else "")
    notes.append("dual-fisheye: lenses calibrated from frames "
                 + ", ".join(str(i) for i in sorted(frames))
                 + f" ({pair.fov_deg[0]:.1f} / {pair.fov_deg[1]:.1f} degrees usable{seen})")
    return pair


def plan_dual_fisheye(video, motion: MotionTrack, size: tuple[int, int], fps: float,
                      options: DualFisheyeOptions | None = None, camera_name: str | None = None,
                      progress: ProgressCallback | None = None) -> DualFisheyePlan:
    """Lens pair and seams of a dual-fisheye clip (see the module docstring).

    Raises
    ------
    InputError
        Frames without two discs, a rig for another camera, or contradicting options.
    SolveError
        The calibration finds too few correspondences.
    """
    options = options or DualFisheyeOptions()
    src = str(video)
    options.check(src)
    w, h = int(size[0]), int(size[1])
    if w != 2 * h:
        raise InputError(f"a dual-fisheye video holds its lenses side by side (W = 2H) or "
                         f"stacked (H = 2W); got {w}x{h}", src)
    notes: list[str] = []
    pair = lens_pair(video, motion, (w, h), options, camera_name, notes)
    if options.rig is None:
        report(progress, "calibrate", 1, 1)
    if options.save_rig is not None:
        write_lens_pair(options.save_rig, pair)
    seams = plan_seams(video, pair, len(motion), fps, options.keyframe_interval_s,
                       None, options.seam_sigma_keyframes, progress)
    notes.extend(seams.notes)
    notes.append(f"dual-fisheye: seams solved on {seams.keyframes.size} keyframes, every "
                 f"{options.keyframe_interval_s:g} s, smoothed over time")
    if not math.isfinite(float(np.abs(seams.fields).max(initial=0.0))):
        raise InputError("the seam solve returned a non-finite warp", src)
    return DualFisheyePlan(pair, seams, tuple(notes))
