"""What the capture measured: time, gyro, OIS/focus, the image sensor and the lens.

Conventions (time, axes, rotations, rolling shutter) are in DESIGN.md.

The names below load their modules on first access (``sensors._lazy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sensors._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .atomic import atomic_output, check_not_input
    from .errors import CoverageError, InputError, SolveError, SteadyrigError
    from .lens_profile import load_lens_profile, write_lens_profile
    from .orientation import estimate_bias, integrate_gyro, row_orientations
    from .readers import FORMATS, detect_format, read_log
    from .types import CameraModel, FrameTiming, GyroLog, OisLog, Orientation, SensorLog
    from .video import Coverage, VideoInfo, check_coverage, probe_video

_WHERE = {
    "atomic_output": "atomic",
    "check_not_input": "atomic",
    "CoverageError": "errors",
    "InputError": "errors",
    "SolveError": "errors",
    "SteadyrigError": "errors",
    "load_lens_profile": "lens_profile",
    "write_lens_profile": "lens_profile",
    "estimate_bias": "orientation",
    "integrate_gyro": "orientation",
    "row_orientations": "orientation",
    "FORMATS": "readers",
    "detect_format": "readers",
    "read_log": "readers",
    "CameraModel": "types",
    "FrameTiming": "types",
    "GyroLog": "types",
    "OisLog": "types",
    "Orientation": "types",
    "SensorLog": "types",
    "Coverage": "video",
    "VideoInfo": "video",
    "check_coverage": "video",
    "probe_video": "video",
}

__all__ = [
    "CameraModel",
    "Coverage",
    "FORMATS",
    "VideoInfo",
    "check_coverage",
    "detect_format",
    "load_lens_profile",
    "probe_video",
    "read_log",
    "write_lens_profile",
    "CoverageError",
    "FrameTiming",
    "GyroLog",
    "InputError",
    "OisLog",
    "Orientation",
    "SensorLog",
    "SolveError",
    "SteadyrigError",
    "atomic_output",
    "check_not_input",
    "estimate_bias",
    "integrate_gyro",
    "row_orientations",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
