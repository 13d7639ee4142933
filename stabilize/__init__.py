"""Gyro-fused video stabilization: sensors -> smooth virtual camera -> warped frames -> video.

See DESIGN.md "stabilize/". Stages: ``motion`` (real orientation per row band), ``filtering``
(registry of filter-chain entries), ``synthesis`` (rolling-shutter mesh warp), ``pipeline``
(streaming decode -> warp -> encode), ``stabilizer`` (frame by frame), ``metrics``.
"""

from .filtering import FILTERS, FilterContext, register_filter
from .motion import FrameMotion, MotionTrack, analyze_motion
from .params import StabilizeParams
from .pipeline import StabilizeResult, stabilize_video
from .stabilizer import Stabilizer
from .synthesis import MeshWarper

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
