"""Rosette panorama stitching with seam repair (DESIGN.md "stitch/").

Stages: ``rig`` (read/write rig files) -> ``projection`` (equirectangular layers and overlaps) ->
``flow`` (overlap correspondences) -> ``refine`` (rig rotations) -> ``warp_solve`` (spline warps
in Ceres) -> ``render`` (exposure compensation, multi-band blending, GPano output) -> ``metrics``
(seam report); ``pipeline.stitch_panorama`` runs them in order. ``synthetic`` generates
rosettes with exact truth.

The names below load their modules on first access (``sensors._lazy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sensors._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .params import StitchParams
    from .pipeline import StitchResult, stitch_panorama
    from .projection import Layer, Overlap, ProjectedLayer, find_overlaps, plan_layers, project_rig
    from .render import render_panorama, write_layers, write_panorama
    from .rig import Rig, RigCamera, read_rig, write_colmap_rig, write_pto, write_surround360_rig
    from .synthetic import generate_rosette, true_correspondence, true_seam_residuals

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

__all__ = [
    "StitchParams",
    "StitchResult",
    "stitch_panorama",
    "Rig",
    "RigCamera",
    "read_rig",
    "write_surround360_rig",
    "write_colmap_rig",
    "write_pto",
    "Layer",
    "ProjectedLayer",
    "Overlap",
    "plan_layers",
    "project_rig",
    "find_overlaps",
    "render_panorama",
    "write_panorama",
    "write_layers",
    "generate_rosette",
    "true_correspondence",
    "true_seam_residuals",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
