"""Rosette panorama stitching with seam repair (docs/architecture.md "stitch/").

Stages: ``rig`` (the rig model; ``rig_io`` reads and writes rig files) -> ``projection``
(equirectangular layers and overlaps) -> ``flow`` (overlap correspondences) -> ``refine`` (rig
rotations) -> ``warp_solve`` (spline warps in Ceres) -> ``render`` (exposure compensation,
multi-band blending, GPano output) -> ``metrics`` (seam report); ``pipeline.stitch_images``
runs them in order on images in memory and ``pipeline.stitch_panorama`` on image files.
``batch`` runs many stitches on Dask; ``synthetic`` generates rosettes with exact truth;
``dual_fisheye`` stitches a dual-fisheye 360 photo with no rig file (it finds the lenses'
discs, calibrates them from their overlap ring and hands the rig to ``pipeline``).

The names below load their modules on first access (``sensors._lazy``).
"""

from __future__ import annotations

from sensors._lazy import lazy_exports

_WHERE = {
    "BatchJob": "batch",
    "BatchSummary": "batch",
    "Manifest": "batch",
    "generate_batch": "batch",
    "load_manifest": "batch",
    "read_results": "batch",
    "run_batch": "batch",
    "run_job": "batch",
    "StitchParams": "params",
    "StitchResult": "pipeline",
    "stitch_images": "pipeline",
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
    "hugin_angles": "rig_io",
    "read_colmap_rig": "rig_io",
    "read_rig": "rig_io",
    "read_surround360_rig": "rig_io",
    "write_colmap_rig": "rig_io",
    "write_pto": "rig_io",
    "write_surround360_rig": "rig_io",
    "generate_rosette": "synthetic",
    "true_correspondence": "synthetic",
    "true_seam_residuals": "synthetic",
}


__getattr__, __dir__, __all__ = lazy_exports(__name__, _WHERE)
