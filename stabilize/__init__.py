"""Gyro-fused video stabilization: sensors -> smooth virtual camera -> warped frames -> video.

See DESIGN.md "stabilize/". Stages: ``motion`` (real orientation per row band), ``filtering``
(registry of filter-chain entries), ``synthesis`` (rolling-shutter mesh warp), ``pipeline``
(streaming decode -> warp -> encode), ``stabilizer`` (frame by frame), ``metrics``.

The names below load their modules on first access (PEP 562), so importing one light submodule
(``stabilize.warmup``, ``stabilize.params``) does not pull in OpenCV, PyAV and numba.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
