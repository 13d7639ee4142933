"""How a dual-fisheye clip is calibrated and stitched (``stabilize_video(...,
dual_fisheye=...)``); no stitch imports, so the pipeline can name it cheaply."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sensors.errors import InputError

__all__ = ["DualFisheyeOptions"]


@dataclass(frozen=True)
class DualFisheyeOptions:
    """How a dual-fisheye clip is calibrated and stitched.

    Parameters
    ----------
    rig : path, optional
        A two-lens rig file to use instead of calibrating.
    fov_deg : float, optional
        Starting full field of view of each lens for the calibration (default: the camera's
        hint from the log's camera name, else 190).
    save_rig : path, optional
        Write the calibration used as a rig file.
    calibration_frames : int
        Frames the calibration pools (the slowest of each part of the clip).
    keyframe_interval_s : float
        Seconds between seam keyframes.
    seam_sigma_keyframes : float
        Gaussian smoothing of the seams across keyframes (0: as solved).
    """

    rig: str | os.PathLike | None = None
    fov_deg: float | None = None
    save_rig: str | os.PathLike | None = None
    calibration_frames: int = 3
    keyframe_interval_s: float = 1.0
    seam_sigma_keyframes: float = 1.0

    def check(self, source: str | None = None) -> None:
        """``InputError`` for options that contradict each other or are out of range."""
        if self.rig is not None and self.fov_deg is not None:
            raise InputError("a rig file fixes the lenses' field of view: give --rig or --fov, "
                             "not both", source)
        if self.fov_deg is not None and not 150.0 <= float(self.fov_deg) <= 260.0:
            raise InputError(f"field of view must be in 150..260 degrees, got "
                             f"{self.fov_deg:g}", source)
        if self.calibration_frames < 1:
            raise InputError("at least one calibration frame is needed", source)
        if not self.keyframe_interval_s > 0:
            raise InputError("the keyframe interval must be positive", source)
