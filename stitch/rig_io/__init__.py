"""Rig files: read Surround360 ``camera_rig.json`` and COLMAP ``rig_config.json``, write both and
a Hugin ``.pto`` for inspection.

Modules, one format each: ``surround360``, ``colmap``, ``hugin`` (``.pto``, written only), and
``read`` (:func:`read_rig`, which tells the layouts apart by content). The rig model itself
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
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _WHERE)
