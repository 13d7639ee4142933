"""Gyro-fused video stabilization: sensors -> smooth virtual camera -> warped frames -> video.

See docs/architecture.md "stabilize/". Stages: ``motion`` (real orientation per row band),
``filters`` (registry of filter-chain entries, one module each; ``compose_chain``),
``synthesis`` (rolling-shutter mesh warp), ``pipeline`` (streaming decode -> warp -> encode),
``stabilizer`` (frame by frame), ``metrics``; ``dual_fisheye`` (dual-fisheye 360 video, the one
place that uses ``stitch``).

The names below load their modules on first access (``sensors._lazy``), so importing one light
submodule (``stabilize.warmup``, ``stabilize.params``) does not pull in OpenCV, PyAV and numba.
"""

from __future__ import annotations

from sensors._lazy import lazy_exports

_WHERE = {
    "FILTERS": "filters",
    "Filter": "filters",
    "FilterContext": "filters",
    "compose_chain": "filters",
    "register_filter": "filters",
    "resolve_readout": "inputs",
    "FrameMotion": "motion",
    "MotionTrack": "motion",
    "analyze_motion": "motion",
    "StabilizeParams": "params",
    "StabilizeResult": "pipeline",
    "stabilize_video": "pipeline",
    "Stabilizer": "stabilizer",
    "MeshWarper": "synthesis",
    "DualFisheyeOptions": "dual_fisheye.options",
}



__getattr__, __dir__, __all__ = lazy_exports(__name__, _WHERE)
