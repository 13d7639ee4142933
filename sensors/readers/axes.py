"""IMU axis-orientation strings (Gyroflow's ``orientation``) and the change to camera axes.

A Gyroflow orientation string has three letters; letter ``i`` names the raw column that becomes
axis ``i`` of Gyroflow's frame, upper case as is and lower case negated (Gyroflow's docs, "IMU
orientation": ``XYZ`` is the identity, ``xYZ`` inverts X). Gyroflow's frame is then mapped to
our OpenCV camera axes as ``omega_cam = (-g_y, -g_x, -g_z)`` (DESIGN.md "IMU axes"), so a log
whose columns are already camera axes says ``yxz``.

The readers use ``raw_to_camera``; the gcsv writer uses its exact inverse ``camera_to_raw``.
Both are pure permutations with sign flips, so a round trip is bit-exact.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = [
    "CAMERA_AXES_ORIENTATION",
    "parse_orientation",
    "apply_orientation",
    "unapply_orientation",
    "gyroflow_to_camera",
    "camera_to_gyroflow",
    "raw_to_camera",
    "camera_to_raw",
]

#: The orientation string of a log whose columns are already OpenCV camera axes.
CAMERA_AXES_ORIENTATION = "yxz"


def parse_orientation(orientation: str, path: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Column index and sign per output axis of an orientation string.

    Parameters
    ----------
    orientation : str
        Three letters from ``xyzXYZ``, each axis exactly once (e.g. ``XYZ``, ``yxz``, ``ZyX``).
    path : str, optional
        File named in the error message.

    Returns
    -------
    index : (3,) int
        Raw column feeding each Gyroflow axis.
    sign : (3,) float64
        +1 for an upper-case letter, -1 for lower case.

    Raises
    ------
    InputError
        If the string is not a valid orientation.
    """
    s = str(orientation).strip()
    if len(s) != 3 or any(c not in "xyzXYZ" for c in s) or len({c.lower() for c in s}) != 3:
        raise InputError(
            f"invalid IMU orientation {orientation!r}: expected three letters naming x, y and z "
            "once each, lower case for a negated axis (e.g. XYZ, yxz, ZyX)",
            path,
        )
    index = np.array(["xyz".index(c.lower()) for c in s], dtype=np.intp)
    sign = np.array([1.0 if c.isupper() else -1.0 for c in s])
    return index, sign


def apply_orientation(raw: np.ndarray, orientation: str, path: str | None = None) -> np.ndarray:
    """Raw columns (N, 3) -> Gyroflow's IMU frame (N, 3): ``g[:, i] = sign_i * raw[:, idx_i]``."""
    index, sign = parse_orientation(orientation, path)
    raw = np.asarray(raw, dtype=np.float64)
    return raw[:, index] * sign


def unapply_orientation(g: np.ndarray, orientation: str, path: str | None = None) -> np.ndarray:
    """Inverse of ``apply_orientation``: Gyroflow frame (N, 3) -> raw columns (N, 3)."""
    index, sign = parse_orientation(orientation, path)
    g = np.asarray(g, dtype=np.float64)
    raw = np.empty_like(g)
    raw[:, index] = g * sign
    return raw


def gyroflow_to_camera(g: np.ndarray) -> np.ndarray:
    """Gyroflow IMU frame (x up, y left, z back) -> OpenCV camera axes: ``(-g_y, -g_x, -g_z)``."""
    g = np.asarray(g, dtype=np.float64)
    return np.stack([-g[:, 1], -g[:, 0], -g[:, 2]], axis=1)


def camera_to_gyroflow(omega_cam: np.ndarray) -> np.ndarray:
    """Inverse of ``gyroflow_to_camera`` (the map is its own inverse)."""
    return gyroflow_to_camera(omega_cam)


def raw_to_camera(raw: np.ndarray, orientation: str, path: str | None = None) -> np.ndarray:
    """Raw log columns (N, 3) with a Gyroflow orientation string -> camera axes (N, 3)."""
    return gyroflow_to_camera(apply_orientation(raw, orientation, path))


def camera_to_raw(omega_cam: np.ndarray, orientation: str, path: str | None = None) -> np.ndarray:
    """Camera axes (N, 3) -> raw log columns (N, 3) for a given orientation string."""
    return unapply_orientation(camera_to_gyroflow(omega_cam), orientation, path)
