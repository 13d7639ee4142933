"""Rosette panorama stitching with seam repair (DESIGN.md "stitch/").

Stages: ``rig`` (read/write rig files) -> ``projection`` (equirectangular layers and overlaps) ->
``flow`` (overlap correspondences) -> ``warp_solve`` (spline warps in Ceres) -> ``render``
(exposure compensation, multi-band blending, GPano output) -> ``metrics`` (seam report);
``pipeline.stitch_panorama`` runs them in order. ``synthetic`` generates rosettes with truth.
"""

from .params import StitchParams
from .projection import Layer, Overlap, ProjectedLayer, find_overlaps, plan_layers, project_rig
from .rig import Rig, RigCamera, read_rig, write_colmap_rig, write_pto, write_surround360_rig

__all__ = [
    "StitchParams",
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
]
