"""Dual-fisheye 360 video: stitch and stabilize on the sphere in one remap per lens
(docs/architecture.md "360 video").

The one place ``stabilize`` uses ``stitch`` (``stitch.dual_fisheye``'s lens model, ring
calibration and the seam repair): ``rig`` (the lens pair and its rig file), ``calibrate_clip``
(the pair calibrated once from a few slow frames), ``seams`` (seam warps and gains solved on
keyframes, smoothed over time), ``warp`` (stabilizing rotation, per-lens rolling shutter and the
stitch composed into one mapping; numba kernels in ``_kernels``, numpy twins in
``reference``), ``detect`` (is a frame two fisheye discs), ``motion_lenses`` (the lens pair the
sync, bias and gap fill first measure the clip's own motion with), ``resync`` (the offset again
through the calibrated pair) and ``plan`` (the passes before the transcode).

The names below load their modules on first access (``sensors._lazy``).
"""

from __future__ import annotations

from sensors._lazy import lazy_exports

_WHERE = {
    "LensPair": "rig",
    "read_lens_pair": "rig",
    "write_lens_pair": "rig",
    "calibrate_frames": "calibrate_clip",
    "SeamTrack": "seams",
    "DualFisheyeWarper": "warp",
    "DualFisheyeOptions": "options",
    "plan_dual_fisheye": "plan",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _WHERE)
