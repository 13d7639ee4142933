"""IMU axis mappings: one signed-permutation type with both spellings users write.

How a log's three rate columns become OpenCV camera axes (x right, y down, z forward) is a
signed permutation, :class:`AxisMap`: ``camera[:, i] = sign[i] * columns[:, index[i]]``. There are
48 of them (24 rotations, 24 reflections). Two spellings name one:

- **signed** (``--axes`` on the CLI, ``SyncResult.axes``): ``"-y+x-z"`` means
  ``omega_cam = (-g_y, +g_x, -g_z)``; ``"+x+y+z"`` is the identity.
- **orientation** (Gyroflow's gcsv ``orientation``, the readers' ``axes``): three letters, letter
  ``i`` naming the raw column that becomes axis ``i`` of Gyroflow's IMU frame, upper case as is
  and lower case negated (Gyroflow's docs, "IMU orientation": ``XYZ`` is the identity, ``xYZ``
  inverts X). Gyroflow's frame is mapped to camera axes as ``omega_cam = (-g_y, -g_x, -g_z)``
  (docs/architecture.md "IMU axes"), so a log whose columns are already camera axes says
  ``yxz``.

The readers use ``raw_to_camera``; the gcsv writer uses its exact inverse ``camera_to_raw``.
Both only move columns and flip signs, so a round trip is bit-exact.

Examples
--------
>>> AxisMap.from_orientation("yxz") == IDENTITY
True
>>> AxisMap.from_signed("-y+x-z").orientation
'xYZ'
>>> AxisMap.from_orientation("xYZ").signed
'-y+x-z'
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = [
    "ALL_AXIS_MAPS",
    "AxisMap",
    "CAMERA_AXES_ORIENTATION",
    "IDENTITY",
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

# Gyroflow's IMU frame -> camera axes: camera axis i is GYROFLOW_SIGN[i] * g[GYROFLOW_INDEX[i]].
_GYROFLOW_INDEX = (1, 0, 2)
_GYROFLOW_SIGN = (-1, -1, -1)


@dataclass(frozen=True)
class AxisMap:
    """A signed permutation from a log's columns to camera axes.

    ``camera[:, i] = sign[i] * columns[:, index[i]]``; build one with ``from_signed``,
    ``from_orientation`` or ``from_matrix`` and spell it with ``signed`` or ``orientation``.

    Attributes
    ----------
    index : tuple of 3 int
        Column feeding each camera axis (a permutation of 0, 1, 2).
    sign : tuple of 3 int
        +1 or -1 per camera axis.
    """

    index: tuple[int, int, int]
    sign: tuple[int, int, int]

    def __post_init__(self) -> None:
        idx = tuple(int(i) for i in self.index)
        sgn = tuple(int(s) for s in self.sign)
        if sorted(idx) != [0, 1, 2] or any(s not in (-1, 1) for s in sgn):
            raise InputError(f"not a signed axis permutation: index {idx}, sign {sgn}")
        object.__setattr__(self, "index", idx)
        object.__setattr__(self, "sign", sgn)

    # -- spellings ------------------------------------------------------------------------------

    @classmethod
    def from_signed(cls, axes: str) -> AxisMap:
        """Parse the signed spelling (``"+x+y+z"``, ``"-y+x-z"``; case and spaces ignored)."""
        a = str(axes).strip().lower()
        if len(a) != 6 or sorted(a[1::2]) != ["x", "y", "z"] or any(c not in "+-" for c in a[::2]):
            raise InputError(f"axes {axes!r} must look like '+x+y+z' or '-y+x-z' (a signed "
                             "permutation of x, y, z)")
        return cls(tuple("xyz".index(c) for c in a[1::2]),
                   tuple(1 if c == "+" else -1 for c in a[::2]))

    @classmethod
    def from_orientation(cls, orientation: str, path: str | None = None) -> AxisMap:
        """Parse a Gyroflow orientation string (``"yxz"``, ``"XYZ"``, ...); see the module notes.

        ``path`` names the file in the error message.
        """
        index, sign = parse_orientation(orientation, path)
        return cls(tuple(int(index[j]) for j in _GYROFLOW_INDEX),
                   tuple(int(sign[j]) * s for j, s in zip(_GYROFLOW_INDEX, _GYROFLOW_SIGN,
                                                           strict=True)))

    @classmethod
    def from_matrix(cls, P: np.ndarray) -> AxisMap:
        """The map whose ``matrix`` is ``P`` (a 3x3 signed permutation matrix)."""
        M = np.asarray(P, dtype=np.float64)
        if M.shape != (3, 3) or not np.array_equal(np.abs(M).sum(axis=1), np.ones(3)):
            raise InputError("not a 3x3 signed permutation matrix")
        index = tuple(int(np.flatnonzero(M[i])[0]) for i in range(3))
        return cls(index, tuple(int(np.sign(M[i, index[i]])) for i in range(3)))

    @property
    def signed(self) -> str:
        """The signed spelling, e.g. ``"+x+y+z"``."""
        return "".join(("+" if s > 0 else "-") + "xyz"[i]
                       for i, s in zip(self.index, self.sign, strict=True))

    @property
    def orientation(self) -> str:
        """The Gyroflow orientation spelling, e.g. ``"yxz"``."""
        letters = [""] * 3
        for i, (j, s) in enumerate(zip(_GYROFLOW_INDEX, _GYROFLOW_SIGN, strict=True)):
            c = "xyz"[self.index[i]]
            letters[j] = c.upper() if self.sign[i] * s > 0 else c
        return "".join(letters)

    # -- algebra --------------------------------------------------------------------------------

    @property
    def matrix(self) -> np.ndarray:
        """``P`` (3, 3) float64 with ``camera = P @ columns``."""
        P = np.zeros((3, 3))
        P[np.arange(3), list(self.index)] = self.sign
        return P

    @property
    def proper(self) -> bool:
        """True for a rotation (determinant +1), False for a reflection."""
        return bool(np.linalg.det(self.matrix) > 0)

    @property
    def inverse(self) -> AxisMap:
        """The map from camera axes back to the columns."""
        index, sign = [0] * 3, [1] * 3
        for i, (j, s) in enumerate(zip(self.index, self.sign, strict=True)):
            index[j], sign[j] = i, s
        return AxisMap(tuple(index), tuple(sign))

    def apply(self, columns: np.ndarray) -> np.ndarray:
        """Columns (N, 3) -> camera axes (N, 3); only moves columns and flips signs."""
        v = np.asarray(columns, dtype=np.float64)
        return v[:, list(self.index)] * np.asarray(self.sign, dtype=np.float64)

    def unapply(self, camera: np.ndarray) -> np.ndarray:
        """Camera axes (N, 3) -> columns (N, 3), the exact inverse of ``apply``."""
        v = np.asarray(camera, dtype=np.float64)
        out = np.empty_like(v)
        out[:, list(self.index)] = v * np.asarray(self.sign, dtype=np.float64)
        return out

    @classmethod
    def nearest(cls, R: np.ndarray) -> AxisMap:
        """The signed permutation closest to a 3x3 matrix (largest ``sum(P * R)``; first of
        ``ALL_AXIS_MAPS`` on a tie)."""
        scores = [float(np.sum(m.matrix * R)) for m in ALL_AXIS_MAPS]
        return ALL_AXIS_MAPS[int(np.argmax(scores))]


def _all_maps() -> tuple[AxisMap, ...]:
    return tuple(AxisMap(tuple("xyz".index(a) for a in perm),
                         tuple(1 if s == "+" else -1 for s in signs))
                 for perm in itertools.permutations("xyz")
                 for signs in itertools.product("+-", repeat=3))


#: The 48 signed permutations, permutation-major (``+x+y+z``, ``+x+y-z``, ...).
ALL_AXIS_MAPS = _all_maps()
#: Columns already in camera axes (``"+x+y+z"``, orientation ``"yxz"``).
IDENTITY = ALL_AXIS_MAPS[0]


# -- the Gyroflow frame and the raw columns -----------------------------------------------------


def parse_orientation(orientation: str, path: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Column index and sign per Gyroflow axis of an orientation string.

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
    return AxisMap.from_orientation(orientation, path).apply(raw)


def camera_to_raw(omega_cam: np.ndarray, orientation: str, path: str | None = None) -> np.ndarray:
    """Camera axes (N, 3) -> raw log columns (N, 3) for a given orientation string."""
    return AxisMap.from_orientation(orientation, path).unapply(omega_cam)
