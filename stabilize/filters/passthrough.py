"""Easing the virtual camera into pass-through where nothing measured the camera's motion.

Frames with no motion source (no gyro, and the video's flow could not stand in) cannot be
stabilized: the warp would apply a correction computed for a path that is not the camera's. Such
frames are drawn with the virtual camera equal to the real one (no correction, no rolling-shutter
fix), and the frames next to them blend towards that over ``EASE_S`` so the correction fades out
and back in rather than jumping. Since the blend is between the stabilized and the uncorrected
frame, no frame moves more than the input did. The zoom stage that follows sees the eased path,
so the output still has no undefined pixels.
"""

from __future__ import annotations

import numpy as np

from sensors.quaternion import qslerp

from .base import FilterContext

__all__ = ["EASE_S", "ease_weights", "ease_to_passthrough"]

#: Seconds over which the correction fades out before, and back in after, frames with no motion.
EASE_S = 0.5


def ease_weights(passthrough: np.ndarray, t_s: np.ndarray, ease_s: float = EASE_S) -> np.ndarray:
    """Per-frame pull (0..1) towards the real camera: 1 on pass-through frames, easing to 0.

    Parameters
    ----------
    passthrough : (F,) bool
        Frames without a motion source.
    t_s : (F,) float64
        Frame times.
    ease_s : float
        Length of the fade on each side.

    Returns
    -------
    (F,) float64, a smoothstep of the time to the nearest pass-through frame.

    Examples
    --------
    >>> w = ease_weights(np.array([0, 0, 0, 1, 1], bool), np.arange(5) * 0.25)
    >>> w.round(3).tolist()
    [0.0, 0.0, 0.5, 1.0, 1.0]
    """
    p = np.asarray(passthrough, dtype=bool)
    t = np.asarray(t_s, dtype=np.float64)
    if not p.any():
        return np.zeros(t.size)
    tp = t[p]
    idx = np.clip(np.searchsorted(tp, t), 1, max(1, tp.size - 1))
    left = tp[np.clip(idx - 1, 0, tp.size - 1)]
    right = tp[np.clip(idx, 0, tp.size - 1)]
    d = np.minimum(np.abs(t - left), np.abs(t - right))
    x = np.clip(1.0 - d / ease_s, 0.0, 1.0)
    return np.where(p, 1.0, x * x * (3.0 - 2.0 * x))


def ease_to_passthrough(ctx: FilterContext) -> FilterContext:
    """The context with its virtual path pulled to the real one around pass-through frames."""
    if ctx.passthrough is None or not np.any(ctx.passthrough):
        return ctx
    w = ease_weights(ctx.passthrough, ctx.t_s)
    virtual = qslerp(ctx.virtual_quat, ctx.real_quat, w)
    return ctx.with_(virtual_quat=virtual)
