"""Rig files: read and write Surround360 ``camera_rig.json``, COLMAP ``rig_config.json`` and
Hugin ``.pto`` projects.

Modules, one format each: ``surround360``, ``colmap``, ``hugin`` (``.pto``: written, and
read as a rig and its images), and ``read`` (:func:`read_rig`, which tells the layouts apart by
content). The rig model itself
(:class:`~stitch.rig.Rig`, :class:`~stitch.rig.RigCamera`) lives in :mod:`stitch.rig`.
"""

from __future__ import annotations

from sensors._lazy import lazy_exports

_WHERE = {
    "read_rig": "read",
    "R_RIG_FROM_S360": "surround360",
    "read_surround360_rig": "surround360",
    "write_surround360_rig": "surround360",
    "read_colmap_rig": "colmap",
    "write_colmap_rig": "colmap",
    "hugin_angles": "hugin",
    "write_pto": "hugin",
    "read_pto": "hugin",
    "hugin_rotation": "hugin",
    "PtoProject": "hugin",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _WHERE)
