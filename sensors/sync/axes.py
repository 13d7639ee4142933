"""IMU axis mappings in the signed spelling sync reports (``"+x+y+z"``, ``"-y+x-z"``, ...).

The mapping itself is ``sensors.readers.axes.AxisMap``; these are the names sync has always
offered over it.
"""

from __future__ import annotations

import numpy as np

from ..readers.axes import ALL_AXIS_MAPS, AxisMap
from ..types import GyroLog

__all__ = ["AXES_ALL", "LOG_AXES", "apply_axes", "axes_matrix", "nearest_axes"]

#: The 48 signed axis permutations; ``"-y+x-z"`` means ``omega_cam = (-g_y, +g_x, -g_z)`` where
#: ``g`` are the GyroLog's rates as given. ``"+x+y+z"`` is the identity.
AXES_ALL = tuple(m.signed for m in ALL_AXIS_MAPS)
#: The log's rates as the reader gave them (camera axes where the reader knows the orientation).
LOG_AXES = "+x+y+z"


def axes_matrix(axes: str) -> np.ndarray:
    """The 3x3 signed permutation ``P`` with ``omega_cam = P @ g`` for an axes string."""
    return AxisMap.from_signed(axes).matrix


def apply_axes(gyro: GyroLog, axes: str) -> GyroLog:
    """The log with its rates mapped through ``axes`` (see ``AXES_ALL``).

    Examples
    --------
    >>> import numpy as np
    >>> log = GyroLog(np.array([0.0, 0.01]), np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]))
    >>> apply_axes(log, "-y+x-z").omega_rad_s[0].tolist()
    [-2.0, 1.0, -3.0]
    """
    m = AxisMap.from_signed(axes)
    acc = None if gyro.accel_m_s2 is None else m.apply(gyro.accel_m_s2)
    return GyroLog(gyro.t_s, m.apply(gyro.omega_rad_s), acc, gyro.source)


def nearest_axes(R: np.ndarray) -> str:
    """The signed permutation (``AXES_ALL``) closest to a 3x3 rotation."""
    return AxisMap.nearest(R).signed
