"""What the rig file readers and writers share: JSON loading, checked vectors, atomic text."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from sensors.atomic import atomic_output
from sensors.errors import InputError

from ..rig import Rig


def load_json(path: str | os.PathLike):
    """Parse a rig file as JSON, with one-line errors naming the file."""
    p = Path(path)
    if not p.exists():
        raise InputError("rig file does not exist", str(p))
    if p.is_dir():
        raise InputError("rig path is a folder, expected a JSON file", str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read rig file ({exc.__class__.__name__})", str(p)) from None
    if not text.strip():
        raise InputError("rig file is empty", str(p))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"rig file is not valid JSON (line {exc.lineno}: {exc.msg})",
                         str(p)) from None



def vec(entry: dict, key: str, n: int, where: str, src: str) -> np.ndarray:
    """``entry[key]`` as ``n`` finite float64 numbers, or an error naming ``where``."""
    if key not in entry:
        raise InputError(f"{where}: missing '{key}'", src)
    try:
        v = np.asarray(entry[key], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"{where}: '{key}' must be a list of {n} numbers", src) from None
    if v.shape != (n,) or not np.all(np.isfinite(v)):
        raise InputError(f"{where}: '{key}' must be {n} finite numbers, got {entry[key]!r}", src)
    return v



def check_writable_rig(rig: Rig) -> None:
    """Refuse to write something that is not a non-empty :class:`~stitch.rig.Rig`."""
    if not isinstance(rig, Rig) or len(rig) == 0:
        raise InputError("expected a non-empty Rig")



def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_output(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")

