"""Rosette panorama stitching with seam repair (DESIGN.md "stitch/").

Stages: ``rig`` (read/write rig files) -> ``projection`` (equirectangular layers and overlaps) ->
``flow`` (overlap correspondences) -> ``refine`` (rig rotations) -> ``warp_solve`` (spline warps
in Ceres) -> ``render`` (exposure compensation, multi-band blending, GPano output) -> ``metrics``
(seam report); ``pipeline.stitch_panorama`` runs them in order. ``synthetic`` generates
rosettes with exact truth.

The names below load their modules on first access (``sensors._lazy``).
"""

from __future__ import annotations

from sensors._lazy import lazy_exports

_WHERE = {
    "StitchParams": "params",
    "StitchResult": "pipeline",
    "stitch_panorama": "pipeline",
    "Layer": "projection",
    "Overlap": "projection",
    "ProjectedLayer": "projection",
    "find_overlaps": "projection",
    "plan_layers": "projection",
    "project_rig": "projection",
    "render_panorama": "render",
    "write_layers": "render",
    "write_panorama": "render",
    "Rig": "rig",
    "RigCamera": "rig",
    "read_rig": "rig",
    "write_colmap_rig": "rig",
    "write_pto": "rig",
    "write_surround360_rig": "rig",
    "generate_rosette": "synthetic",
    "true_correspondence": "synthetic",
    "true_seam_residuals": "synthetic",
}


__getattr__, __dir__, __all__ = lazy_exports(__name__, _WHERE)
