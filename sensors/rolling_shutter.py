"""Capture time of an image row under a rolling shutter (docs/architecture.md "Rolling shutter").

A frame's time is the centre of exposure of its middle row; row ``y`` of ``H`` is read
``((y + 0.5) / H - 0.5) * readout_s`` later (earlier above the middle), the sign reversed when
the sensor reads bottom to top (or right to left: pass columns and the width). Every place that
needs a row's time (flow samples, renders, band rotations, blur streaks) calls these two
functions, so the convention lives here once.

Examples
--------
>>> float(row_time_s(10.0, 1079, 1080, 0.02))  # last row: half a readout after the middle
10.00999074074074
>>> float(row_fraction(0, 4, "bottom_to_top"))
0.375
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

__all__ = ["READOUT_DIRECTIONS", "row_fraction", "row_time_s"]

#: Readout orders a sensor can have; the last two read columns instead of rows.
READOUT_DIRECTIONS = ("top_to_bottom", "bottom_to_top", "left_to_right", "right_to_left")
_REVERSED = ("bottom_to_top", "right_to_left")


def row_fraction(row: np.ndarray | float, height: int,
                 direction: str = "top_to_bottom") -> np.ndarray:
    """Fraction of the readout between the middle row and ``row``: ``(y + 0.5) / H - 0.5``.

    Parameters
    ----------
    row : float or array
        Row index (fractional rows allowed; pixel centres at integers).
    height : int
        Rows in the frame (the width for a column-wise readout).
    direction : str
        One of ``READOUT_DIRECTIONS``; the fraction is negated for ``bottom_to_top`` and
        ``right_to_left``.

    Returns
    -------
    float64 array of ``row``'s shape, in [-0.5, 0.5] for rows inside the frame.
    """
    if direction not in READOUT_DIRECTIONS:
        raise InputError(f"unknown readout direction {direction!r}; valid: "
                         + ", ".join(READOUT_DIRECTIONS))
    frac = (np.asarray(row, dtype=np.float64) + 0.5) / float(height) - 0.5
    return -frac if direction in _REVERSED else frac


def row_time_s(t_frame_s: np.ndarray | float, row: np.ndarray | float, height: int,
               readout_s: float, direction: str = "top_to_bottom") -> np.ndarray:
    """Capture time (s) of ``row``: ``t_frame_s + row_fraction(row, height, direction) *
    readout_s``.

    Parameters
    ----------
    t_frame_s : float or array
        Frame time(s) (middle-row capture time); broadcast against ``row`` (e.g. ``(F, 1)``
        frames with ``(1, B)`` rows give ``(F, B)`` times).
    row, height, direction
        As in ``row_fraction``.
    readout_s : float
        Time to read the sensor from the first to the last row (0 = global shutter).

    Notes
    -----
    The numba kernels that need row times receive them precomputed from here.
    """
    frac = row_fraction(row, height, direction)
    return np.asarray(t_frame_s, dtype=np.float64) + frac * readout_s
