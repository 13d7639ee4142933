"""What the capture measured: time, gyro, OIS/focus, the image sensor and the lens.

Conventions (time, axes, rotations, rolling shutter) are in DESIGN.md.
"""

from .atomic import atomic_output, check_not_input
from .errors import CoverageError, InputError, SolveError, SteadyrigError
from .lens_profile import load_lens_profile, write_lens_profile
from .orientation import estimate_bias, integrate_gyro, row_orientations
from .readers import FORMATS, detect_format, read_log
from .types import CameraModel, FrameTiming, GyroLog, OisLog, Orientation, SensorLog
from .video import Coverage, VideoInfo, check_coverage, probe_video

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
