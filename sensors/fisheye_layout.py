"""Where a dual-fisheye frame keeps its two lenses: side by side or stacked.

Most 360 cameras store their two lenses **side by side** (W = 2H, the front lens left); some
streams hold them **stacked** (H = 2W, the front lens on top). Everything that works on a
dual-fisheye clip's pixels (sync, calibration, seams, the warp) does so side by side: a stacked
frame is rearranged as it is decoded (:func:`to_side_by_side`), its top half put left of its
bottom half, and the lenses, the rig file and the output (an equirect of the side-by-side size,
2H' x H' for a stacked W' x 2W') are those of that arrangement. Each lens is its own sensor, read
top to bottom in step with the other (row ``k`` of both at the same time), in either layout.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LAYOUTS", "layout_of", "side_by_side_size", "to_side_by_side"]

LAYOUTS = ("side_by_side", "stacked")


def layout_of(size: tuple[int, int]) -> str | None:
    """``"side_by_side"`` for a W = 2H frame, ``"stacked"`` for H = 2W, else None."""
    w, h = int(size[0]), int(size[1])
    if w == 2 * h:
        return "side_by_side"
    if h == 2 * w:
        return "stacked"
    return None


def side_by_side_size(size: tuple[int, int]) -> tuple[int, int]:
    """The (width, height) a frame of ``size`` has side by side."""
    w, h = int(size[0]), int(size[1])
    return (h, w) if layout_of((w, h)) == "stacked" else (w, h)


def to_side_by_side(img: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """A stacked frame or plane (H = 2W, any trailing channels) side by side; any other array
    as it is.

    Examples
    --------
    >>> import numpy as np
    >>> stacked = np.vstack([np.zeros((2, 2)), np.ones((2, 2))])   # front on top
    >>> to_side_by_side(stacked)
    array([[0., 0., 1., 1.],
           [0., 0., 1., 1.]])
    """
    a = np.asarray(img)
    h, w = a.shape[:2]
    if h != 2 * w:
        return a
    half = h // 2
    if out is None:
        out = np.empty((half, 2 * w) + a.shape[2:], a.dtype)
    out[:, :w] = a[:half]
    out[:, w:] = a[half:]
    return out
