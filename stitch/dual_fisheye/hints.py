"""Starting points from a dual-fisheye camera's EXIF Make/Model.

A known camera only changes where the calibration starts (the lenses' field of view); the
calibration itself comes from the frame. Unknown or missing makes start from the generic
190-degree guess.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["CameraHint", "DEFAULT_FOV_DEG", "hint_for", "read_make_model"]

#: Starting full field of view per lens when nothing better is known, degrees.
DEFAULT_FOV_DEG = 190.0


@dataclass(frozen=True)
class CameraHint:
    """Where to start: the lenses' full field of view and the camera it was picked for."""

    fov_deg: float
    camera: str


# (make substring, model substring, start fov): consumer dual-fisheye 360 cameras, whose lenses
# see a little more than a hemisphere each. Case-insensitive; the first match wins.
_TABLE = (
    ("ricoh", "theta", 190.0),
    ("insta360", "", 200.0),
    ("arashi", "", 200.0),  # Insta360's maker name in some EXIF
    ("samsung", "gear 360", 195.0),
    ("samsung", "sm-c200", 195.0),
    ("samsung", "sm-r210", 195.0),
    ("gopro", "fusion", 190.0),
    ("gopro", "max", 195.0),
    ("kandao", "qoocam", 200.0),
)


def hint_for(make: str | None, model: str | None) -> CameraHint | None:
    """The starting point for a camera, or None when the make/model is not a known one."""
    mk, md = (make or "").strip().lower(), (model or "").strip().lower()
    if not mk and not md:
        return None
    for m, n, fov in _TABLE:
        if m in mk and n in md:
            return CameraHint(fov, f"{make or ''} {model or ''}".strip())
        if not mk and n and n in md:
            return CameraHint(fov, (model or "").strip())
    return None


def read_make_model(path: str | os.PathLike) -> tuple[str | None, str | None]:
    """EXIF Make and Model of an image file (None when absent or unreadable)."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            exif = im.getexif()
    except Exception:  # noqa: BLE001 (no EXIF is not an error: the start is generic then)
        return None, None

    def text(tag: int) -> str | None:
        v = exif.get(tag)
        if isinstance(v, bytes):
            v = v.decode("latin-1", "replace")
        v = str(v).strip("\x00 ").strip() if v is not None else ""
        return v or None

    return text(0x010F), text(0x0110)
