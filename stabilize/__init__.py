"""Gyro-fused video stabilization: sensors -> smooth virtual camera -> warped frames -> video.

See DESIGN.md "stabilize/". Stages: ``motion`` (real orientation per row band), ``filtering``
(registry of filter-chain entries), ``synthesis`` (rolling-shutter mesh warp), ``pipeline``
(streaming decode -> warp -> encode), ``stabilizer`` (frame by frame), ``metrics``.

The names below load their modules on first access (``sensors._lazy``), so importing one light
submodule (``stabilize.warmup``, ``stabilize.params``) does not pull in OpenCV, PyAV and numba.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sensors._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .filtering import FILTERS, FilterContext, register_filter
    from .motion import FrameMotion, MotionTrack, analyze_motion
    from .params import StabilizeParams
    from .pipeline import StabilizeResult, stabilize_video
    from .stabilizer import Stabilizer
    from .synthesis import MeshWarper

_WHERE = {
    "FILTERS": "filtering",
    "FilterContext": "filtering",
    "register_filter": "filtering",
    "FrameMotion": "motion",
    "MotionTrack": "motion",
    "analyze_motion": "motion",
    "StabilizeParams": "params",
    "StabilizeResult": "pipeline",
    "stabilize_video": "pipeline",
    "Stabilizer": "stabilizer",
    "MeshWarper": "synthesis",
}

__all__ = [
    "FILTERS",
    "FilterContext",
    "FrameMotion",
    "MeshWarper",
    "MotionTrack",
    "StabilizeParams",
    "StabilizeResult",
    "Stabilizer",
    "analyze_motion",
    "register_filter",
    "stabilize_video",
]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
