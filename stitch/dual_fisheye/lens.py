"""The dual-fisheye lens model: equidistant with one radial term, and the two-camera rig it makes.

A lens maps a ray at angle ``theta`` off its axis and azimuth ``phi`` to the pixel

    r = f (theta + k1 theta^3),   (x, y) = (cx, cy) + r (cos phi, sin phi)

(``sensors.fisheye``: OpenCV's fisheye model with k2 = k3 = k4 = 0, so the rig a calibration
produces is an ordinary ``opencv_fisheye`` :class:`~stitch.rig.RigCamera`). Camera axes are
OpenCV's (x right, y down, z forward). Lens 0 looks along the rig's +z (the panorama's centre),
lens 1 backwards: its nominal ``R_rig_from_cam`` is a half turn about y, so both lenses keep the
frame's "up". Each camera of the rig is the *whole* frame, its principal point at its own disc's
centre and ``fov_rad`` stopping it at its disc's edge, so a saved rig stitches a frame given
twice.
"""

from __future__ import annotations

import numpy as np

from sensors.fisheye import (
    R_BACK,
    FisheyeLens,
    pixels_to_rays,
    rays_to_pixels,
    rotation_matrix,
    theta_of,
)
from sensors.types import CameraModel

from ..rig import Rig, RigCamera

__all__ = ["FisheyeLens", "R_BACK", "rays_to_pixels", "pixels_to_rays", "rig_from_lenses",
           "rotation_matrix", "theta_of"]

#: Camera ids of the two lenses in a dual-fisheye rig.
LENS_IDS = ("front", "back")


def rig_from_lenses(lenses: tuple[FisheyeLens, FisheyeLens], R_rig_from_back: np.ndarray,
                    size: tuple[int, int], source: str | None = None) -> Rig:
    """The two-camera rig of a dual-fisheye frame (see the module docstring)."""
    cams = []
    for cid, lens, R in zip(LENS_IDS, lenses, (np.eye(3), R_rig_from_back), strict=True):
        K = np.array([[lens.f_px, 0, lens.cx_px], [0, lens.f_px, lens.cy_px], [0, 0, 1.0]])
        cam = CameraModel(K, [lens.k1, 0, 0, 0], "opencv_fisheye", size, source,
                          {"dual_fisheye": True})
        cams.append(RigCamera(cid, cam, R, group="dual_fisheye", fov_rad=float(lens.fov_rad)))
    return Rig(tuple(cams), source)
