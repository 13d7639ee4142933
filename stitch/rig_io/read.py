"""Read a rig file of any supported layout, detected from its content (the dispatcher).
"""

from __future__ import annotations

import os
from pathlib import Path

from sensors.errors import InputError

from ..rig import Rig
from ._common import load_json
from .colmap import read_colmap_rig
from .hugin import read_pto
from .surround360 import read_surround360_rig

__all__ = ["read_rig"]


def read_rig(path: str | os.PathLike) -> Rig:
    """Read a rig file, detecting Surround360 or COLMAP layout from its content (a Hugin
    ``.pto`` project by its suffix).

    Parameters
    ----------
    path : path
        A Surround360 ``camera_rig.json`` (``{"cameras": [...]}`` with forward/up/right, see
        :mod:`stitch.rig_io.surround360`) or a COLMAP ``rig_config.json`` (a list of rigs, see
        :mod:`stitch.rig_io.colmap`), or a Hugin ``.pto`` project (its images must exist, see
        :func:`stitch.rig_io.hugin.read_pto`).

    Returns
    -------
    Rig
        Cameras in file order; ``source`` is ``path``.

    Raises
    ------
    InputError
        Missing, unparsable or inconsistent file (one line naming the file and the problem).

    Examples
    --------
    A generated rosette carries both layouts of one rig; either reads to the same cameras:

    >>> import tempfile
    >>> from stitch.rig_io import read_rig
    >>> from stitch.synthetic import generate_rosette
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ros = generate_rosette(tmp, n_cameras=4, width=64, height=48)
    ...     s360 = read_rig(ros.rig_path)
    ...     colmap = read_rig(ros.colmap_rig_path)
    >>> len(s360), s360.ids
    (4, ['cam0', 'cam1', 'cam2', 'cam3'])
    >>> colmap.ids == s360.ids
    True
    """
    if Path(path).suffix.lower() == ".pto":
        return read_pto(path).rig
    doc = load_json(path)
    if isinstance(doc, dict) and isinstance(doc.get("cameras"), list) and doc["cameras"] and all(
        isinstance(c, dict) and "forward" in c for c in doc["cameras"]
    ):
        return read_surround360_rig(path, _doc=doc)
    if isinstance(doc, list) or (isinstance(doc, dict) and "rigs" in doc):
        return read_colmap_rig(path, _doc=doc)
    raise InputError(
        "not a rig file: expected Surround360 camera_rig.json ({\"cameras\": [...]} with "
        "forward/up/right) or COLMAP rig_config.json (a list of rigs)",
        str(path),
    )

