"""What the capture measured: time, gyro, OIS/focus, the image sensor and the lens.

Conventions (time, axes, rotations, rolling shutter) are in DESIGN.md.
"""

from .atomic import atomic_output, check_not_input
from .errors import CoverageError, InputError, SolveError, SteadyrigError
from .orientation import estimate_bias, integrate_gyro, row_orientations
from .types import CameraModel, FrameTiming, GyroLog, OisLog, Orientation, SensorLog

__all__ = [
    "CameraModel",
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
