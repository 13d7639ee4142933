"""Camera rigs: an ordered set of calibrated cameras sharing one rig frame.

The **rig frame** is the panorama's world frame (docs/architecture.md "Panorama"): OpenCV-like,
x right, y down, z forward at yaw 0. Each camera carries ``R_rig_from_cam`` (camera axes are
OpenCV: x right, y down, z forward) and its centre ``position_m`` in that frame.

Rig files (Surround360 ``camera_rig.json``, COLMAP ``rig_config.json``, Hugin ``.pto``) are read
and written by :mod:`stitch.rig_io`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sensors.errors import InputError
from sensors.types import CameraModel

__all__ = ["RigCamera", "Rig"]


@dataclass(frozen=True, eq=False)
class RigCamera:
    """One camera of a rig.

    Parameters
    ----------
    id : str
        Name of the camera (Surround360 ``id`` / COLMAP image prefix); images are matched by it.
    camera : CameraModel
        Intrinsics and lens (``opencv_standard`` rectilinear, ``opencv_fisheye`` equidistant).
    R_rig_from_cam : (3, 3) float64
        Rotation from camera axes to the rig (panorama) frame.
    position_m : (3,) float64
        Camera centre in the rig frame, metres.
    group : str
        Lens group (cameras of one group share a lens design).
    fov_rad : float, optional
        Half angle from the optical axis beyond which pixels are invalid (circular fisheyes).
    """

    id: str
    camera: CameraModel
    R_rig_from_cam: np.ndarray
    position_m: np.ndarray = field(default_factory=lambda: np.zeros(3))
    group: str = ""
    fov_rad: float | None = None

    def __post_init__(self) -> None:
        R = np.ascontiguousarray(np.asarray(self.R_rig_from_cam, dtype=np.float64))
        src = self.camera.source
        if R.shape != (3, 3) or not np.all(np.isfinite(R)):
            raise InputError(f"camera {self.id}: rotation must be a finite 3x3 matrix", src)
        if np.abs(R.T @ R - np.eye(3)).max() > 1e-4 or np.linalg.det(R) < 0:
            raise InputError(
                f"camera {self.id}: rotation is not orthonormal and right-handed "
                "(check that right/up/forward are unit, orthogonal and right x down = forward)",
                src,
            )
        # Re-orthonormalise the tiny rounding that files carry (SVD keeps the nearest rotation).
        u, _, vt = np.linalg.svd(R)
        object.__setattr__(self, "R_rig_from_cam", u @ vt)
        p = np.asarray(self.position_m, dtype=np.float64).reshape(-1)
        if p.shape != (3,) or not np.all(np.isfinite(p)):
            raise InputError(f"camera {self.id}: position must be 3 finite numbers", src)
        object.__setattr__(self, "position_m", p)
        if self.fov_rad is not None and not (0 < float(self.fov_rad) <= math.pi):
            raise InputError(f"camera {self.id}: fov must be in (0, pi] radians", src)

    @property
    def size(self) -> tuple[int, int]:
        """Image (width, height) in pixels."""
        return self.camera.size

    def with_rotation(self, R_rig_from_cam: np.ndarray) -> RigCamera:
        """The same camera with another orientation."""
        return RigCamera(self.id, self.camera, R_rig_from_cam, self.position_m, self.group,
                         self.fov_rad)


@dataclass(frozen=True, eq=False)
class Rig:
    """An ordered set of cameras sharing one rig frame (see the module docstring).

    Parameters
    ----------
    cameras : tuple of RigCamera
        In image order.
    source : str, optional
        File the rig was read from.
    """

    cameras: tuple[RigCamera, ...]
    source: str | None = None

    def __post_init__(self) -> None:
        cams = tuple(self.cameras)
        if not cams:
            raise InputError("rig has no cameras", self.source)
        ids = [c.id for c in cams]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise InputError(f"rig has duplicated camera ids: {', '.join(dup)}", self.source)
        object.__setattr__(self, "cameras", cams)

    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self):
        return iter(self.cameras)

    def __getitem__(self, i: int) -> RigCamera:
        return self.cameras[i]

    @property
    def ids(self) -> list[str]:
        """Camera ids in order."""
        return [c.id for c in self.cameras]

    def rotations(self) -> np.ndarray:
        """(N, 3, 3) ``R_rig_from_cam`` of every camera."""
        return np.stack([c.R_rig_from_cam for c in self.cameras])

    def with_rotations(self, R_rig_from_cam: np.ndarray) -> Rig:
        """The same rig with new camera orientations ((N, 3, 3), in camera order)."""
        R = np.asarray(R_rig_from_cam, dtype=np.float64)
        if R.shape != (len(self), 3, 3):
            raise InputError(f"expected {len(self)} rotations, got shape {R.shape}", self.source)
        return Rig(tuple(c.with_rotation(r) for c, r in zip(self.cameras, R, strict=True)),
                   self.source)

