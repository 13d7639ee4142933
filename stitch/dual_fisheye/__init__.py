"""Dual-fisheye 360 stills (both lenses in one frame) stitched with no rig file.

Modules, in the order of the algorithm: ``circles`` (find the two lens discs), ``lens`` (the
equidistant lens model and the two-camera rig it makes), ``hints`` (EXIF Make/Model -> starting
field of view), ``ring`` (the overlap ring unwrapped into strips; coarse SIFT and dense flow
correspondences), ``calibrate`` (both lenses and their relative orientation in pyceres),
``panorama`` (:func:`stitch_dual_fisheye` on an array, :func:`stitch_dual_fisheye_file` on
files: calibrate, then the rig stitch of ``stitch.pipeline`` repairs the seam and renders).
``synthetic`` renders dual-fisheye frames with exact truth.

The names below load their modules on first access (``sensors._lazy``).
"""

from __future__ import annotations

from sensors._lazy import lazy_exports

_WHERE = {
    "ImageCircle": "circles",
    "find_circles": "circles",
    "FisheyeLens": "lens",
    "Calibration": "calibrate",
    "calibrate": "calibrate",
    "auto_width_px": "panorama",
    "dual_fisheye_rig": "panorama",
    "stitch_dual_fisheye": "panorama",
    "stitch_dual_fisheye_file": "panorama",
    "DualFisheyeTruth": "synthetic",
    "render_dual_fisheye": "synthetic",
    "true_seam_residuals_px": "synthetic",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _WHERE)
