"""The calibrated lens pair of a dual-fisheye clip, and its rig file.

The two lenses are ``stitch.dual_fisheye``'s equidistant model with one radial term
(:class:`~stitch.dual_fisheye.lens.FisheyeLens`, frame pixels) and the back lens's orientation
relative to the front lens, which is the camera (gyro) frame's forward axis: front lens +z, the
stitch panorama's centre (docs/architecture.md "360 video"). The rig file is the Surround360
``camera_rig.json`` that ``steadyrig stitch --dual-fisheye --save-rig`` writes (two cameras,
``front`` and ``back``, each the whole frame).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

import numpy as np

from sensors.errors import InputError
from stitch.dual_fisheye.ground import ground_entry, read_ground_entry
from stitch.dual_fisheye.lens import LENS_IDS, FisheyeLens, rig_from_lenses
from stitch.rig import Rig

__all__ = ["LensPair", "read_lens_pair", "write_lens_pair", "R_SEAM_FROM_CAM"]

#: The seam frame: the camera frame turned a quarter about x so that the front lens looks up
#: (its axis at the stitch panorama's north pole, the back lens's at the south pole) and the
#: overlap ring runs along the equator, where a panorama's pixels are even and the seam warps'
#: spline grid has no pole to pinch it.
R_SEAM_FROM_CAM = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True, eq=False)
class LensPair:
    """Both lenses of a dual-fisheye frame.

    Parameters
    ----------
    lenses : (FisheyeLens, FisheyeLens)
        Front and back lens, frame pixels (``fov_rad``: half angle of the usable disc).
    R_rig_from_back : (3, 3)
        Orientation of the back lens in the camera frame (the front lens's).
    size : (int, int)
        Frame (width, height).
    info : dict
        Where the calibration came from and its figures.
    ground : (s, tx, tz, r) or None
        The ground below the camera and the far scene's distance as the calibration saw them
        (:mod:`stitch.dual_fisheye.ground`); None: the ring at infinity.
    """

    lenses: tuple[FisheyeLens, FisheyeLens]
    R_rig_from_back: np.ndarray
    size: tuple[int, int]
    info: dict
    ground: tuple[float, float, float, float] | None = None

    def rig(self, source: str | None = None) -> Rig:
        """The two-camera ``stitch`` rig (each camera the whole frame)."""
        return rig_from_lenses(self.lenses, self.R_rig_from_back, self.size, source)

    def seam_rig(self) -> Rig:
        """The rig turned into the seam frame (``R_SEAM_FROM_CAM``), for the seam solves."""
        rig = self.rig()
        return Rig(tuple(dataclasses.replace(c, R_rig_from_cam=R_SEAM_FROM_CAM @ c.R_rig_from_cam)
                         for c in rig), rig.source)

    def rotations(self) -> tuple[np.ndarray, np.ndarray]:
        """``R_rig_from_cam`` of the front and the back lens."""
        return np.eye(3), np.asarray(self.R_rig_from_back, dtype=np.float64)

    def lens_array(self) -> np.ndarray:
        """(2, 5) float64 rows ``(f, cx, cy, k1, fov_rad)`` for the kernels."""
        return np.array([[L.f_px, L.cx_px, L.cy_px, L.k1, L.fov_rad] for L in self.lenses])

    @property
    def fov_deg(self) -> tuple[float, float]:
        """Full usable field of view of each lens, degrees."""
        return tuple(2 * math.degrees(L.fov_rad) for L in self.lenses)


def _from_rig(rig: Rig, size: tuple[int, int], source: str) -> LensPair:
    if len(rig) != 2 or rig.ids != list(LENS_IDS):
        raise InputError(f"a dual-fisheye rig has two cameras, front and back (got "
                         f"{', '.join(rig.ids)})", source)
    lenses = []
    w, h = int(size[0]), int(size[1])
    for k, cam in enumerate(rig):
        cm = cam.camera
        if cm.model != "opencv_fisheye" or cam.fov_rad is None:
            raise InputError(f"camera {cam.id} is not a circular fisheye "
                             "(write the rig with steadyrig stitch --dual-fisheye --save-rig)",
                             source)
        # a rig of the stacked frame (a stacked still's): its back lens moves with the bottom
        # half, beside the top one (sensors.fisheye_layout)
        stacked = tuple(cm.size) == (h, w) and w == 2 * h
        if tuple(cm.size) != (w, h) and not stacked:
            raise InputError(f"the rig is for {cm.size[0]}x{cm.size[1]} frames, the clip's are "
                             f"{w}x{h}", source)
        if np.any(np.abs(np.asarray(cm.dist, dtype=np.float64)[1:]) > 0):
            raise InputError(f"camera {cam.id}: only the first radial term (k1) of a fisheye is "
                             "supported", source)
        shift = h if stacked and k == 1 else 0
        lenses.append(FisheyeLens(float(cm.K[0, 0]), float(cm.K[0, 2]) + shift,
                                  float(cm.K[1, 2]) - shift, float(cm.dist[0]),
                                  float(cam.fov_rad)))
    R0 = rig[0].R_rig_from_cam
    # the front lens is the camera frame: the rig is expressed relative to it
    return LensPair((lenses[0], lenses[1]), R0.T @ rig[1].R_rig_from_cam, tuple(size),
                    {"source": "rig file", "path": source})


def read_lens_pair(path: str | os.PathLike, size: tuple[int, int]) -> LensPair:
    """Read a two-camera dual-fisheye rig file (``steadyrig stitch --dual-fisheye --save-rig``)
    for frames of ``size``.

    Raises
    ------
    InputError
        Not a readable rig, not two fisheye cameras ``front`` and ``back``, or another size.
    """
    from stitch.rig_io import read_rig

    p = str(path)
    if not os.path.isfile(p):
        raise InputError("rig file does not exist", p)
    from stitch.rig_io._common import load_json

    pair = _from_rig(read_rig(p), size, p)
    return dataclasses.replace(pair, ground=read_ground_entry(load_json(p), p))


def write_lens_pair(path: str | os.PathLike, pair: LensPair) -> None:
    """Write the pair as a Surround360 ``camera_rig.json`` (atomically), as ``stitch
    --dual-fisheye --save-rig`` does."""
    from stitch.rig_io import write_surround360_rig

    write_surround360_rig(path, pair.rig(str(path)), ground_entry(pair.ground))
