"""The lens pair a dual-fisheye clip's own motion is measured with, before its calibration.

The sync, the gyro bias from the video and the gap fill measure the camera's rotation on both
discs (``sensors.dual_fisheye_motion``) and need each pixel's direction. They run before the
lens pair is calibrated (the calibration picks its frames by the gyro, on the video's clock), so
they take a rig file when one is given (``--rig``), else the nominal pair of the discs found in
the first frame: equidistant, back to back, each disc spanning the camera's field of view
(``stitch.dual_fisheye.hints``, else ``DEFAULT_FOV_DEG``), its dark rim left out. A field of
view a few degrees off scales the measured rotation by as much, which the sync's correlation and
the bias fit's per-axis scale absorb; what else it maps off moves the offset by some tenths of a
millisecond on some clips, so ``stabilize_video`` syncs again through the calibrated pair
(``resync``).
"""

from __future__ import annotations

import math
import os

from sensors.dual_fisheye_motion import dual_fisheye_camera
from sensors.errors import InputError
from sensors.types import CameraModel
from stitch.dual_fisheye.calibrate import edge_margin_px, nominal_lenses, usable_fov
from stitch.dual_fisheye.circles import find_circles
from stitch.dual_fisheye.hints import DEFAULT_FOV_DEG, hint_for
from stitch.dual_fisheye.lens import R_BACK

from .detect import first_frame
from .rig import read_lens_pair

__all__ = ["motion_camera"]


def motion_camera(video: str | os.PathLike, size: tuple[int, int],
                  rig: str | os.PathLike | None = None, fov_deg: float | None = None,
                  camera_name: str | None = None) -> CameraModel:
    """The ``sensors.dual_fisheye_motion.dual_fisheye_camera`` of a clip (module docstring).

    Parameters
    ----------
    video : path-like
        The clip (its first frame is decoded when no ``rig`` is given).
    size : (int, int)
        Frame (width, height).
    rig : path-like, optional
        A two-lens rig file (``steadyrig stitch --dual-fisheye --save-rig``).
    fov_deg : float, optional
        Full field of view of each lens (else the camera's hint, else ``DEFAULT_FOV_DEG``).
    camera_name : str, optional
        The log's camera, for the hint.

    Raises
    ------
    InputError
        No frame decodes, or the first frame is not two fisheye discs side by side (one line
        naming the clip), or the rig file does not fit.

    Examples
    --------
    >>> cam = motion_camera("clip.mp4", (3840, 1920))  # doctest: +SKIP
    >>> cam.meta["lens_pair"]  # doctest: +SKIP
    'nominal lenses of 190 degrees on the discs of the first frame'
    """
    src = str(video)
    w, h = int(size[0]), int(size[1])
    if rig is not None:
        pair = read_lens_pair(rig, (w, h))
        return dual_fisheye_camera((w, h), pair.lenses, pair.R_rig_from_back, str(rig),
                                   f"lenses from {rig}")
    frame = first_frame(video)
    if frame is None:
        raise InputError("no frame could be decoded to find the lens discs in", src)
    layout, circles = find_circles(frame, None, src)
    if layout != "side_by_side":
        raise InputError("a dual-fisheye video holds its lenses side by side (W = 2H) or "
                         "stacked (H = 2W)", src)
    if fov_deg is None:
        hint = hint_for(camera_name, camera_name)
        fov_deg = hint.fov_deg if hint is not None else DEFAULT_FOV_DEG
    edge = edge_margin_px(circles)
    lenses = tuple(usable_fov(L, c, edge) for L, c in zip(nominal_lenses(tuple(circles), fov_deg),
                                                          circles, strict=True))
    if not all(math.isfinite(L.f_px) and L.f_px > 0 for L in lenses):
        raise InputError("the lens discs found are too small to measure motion on", src)
    return dual_fisheye_camera((w, h), lenses, R_BACK, src,
                               f"nominal lenses of {fov_deg:g} degrees on the discs of the "
                               "first frame")
