"""Is a video frame two fisheye discs side by side (or stacked, rearranged side by side as
``first_frame`` decodes it)? (``projection="auto"``)

Cheap on purpose: the first frame is decoded, and a 2:1 frame counts as dual-fisheye when the
four corners of each half (outside any disc inscribed in it) are black while the halves' centres
are not, and ``stitch.dual_fisheye.circles.find_circles`` then finds a disc in each half.
"""

from __future__ import annotations

import av
import numpy as np

from sensors.errors import InputError
from sensors.fisheye_layout import to_side_by_side
from stitch.dual_fisheye.circles import find_circles

__all__ = ["first_frame", "looks_dual_fisheye"]

# Corner patches (fraction of the half's height) must be this dark (8-bit grey, median) and the
# centre at least this much brighter.
_CORNER_FRACTION = 0.06
_BLACK_LEVEL = 24.0
_CENTRE_CONTRAST = 20.0


def first_frame(video) -> np.ndarray | None:
    """The first decodable frame of ``video`` (BGR uint8; a stacked frame side by side,
    ``sensors.fisheye_layout``), or None."""
    try:
        with av.open(str(video)) as src:
            for fr in src.decode(src.streams.video[0]):
                return to_side_by_side(fr.to_ndarray(format="bgr24"))
    except (av.FFmpegError, IndexError, OSError):
        return None
    return None


def looks_dual_fisheye(frame: np.ndarray) -> bool:
    """Whether a frame is two fisheye discs on black, side by side (see the module docstring).

    Examples
    --------
    >>> from stitch.dual_fisheye.synthetic import DualFisheyeTruth, render_dual_fisheye
    >>> looks_dual_fisheye(render_dual_fisheye(DualFisheyeTruth.random(seed=0, height_px=100)))
    True
    >>> looks_dual_fisheye(np.full((100, 200, 3), 128, np.uint8))
    False
    """
    img = np.asarray(frame)
    if img.ndim == 3:
        img = img.mean(axis=2)
    h, w = img.shape[:2]
    if w != 2 * h or h < 16:
        return False
    c = max(2, int(round(_CORNER_FRACTION * h)))
    for x0 in (0, h):
        half = img[:, x0:x0 + h]
        corners = np.concatenate([half[:c, :c].ravel(), half[:c, -c:].ravel(),
                                  half[-c:, :c].ravel(), half[-c:, -c:].ravel()])
        centre = half[h // 4:3 * h // 4, h // 4:3 * h // 4]
        if np.median(corners) > _BLACK_LEVEL or np.median(centre) < (
                np.median(corners) + _CENTRE_CONTRAST):
            return False
    try:
        find_circles(np.ascontiguousarray(np.asarray(frame)), "side_by_side")
    except InputError:
        return False
    return True
