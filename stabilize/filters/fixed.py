"""The ``fixed`` entry: one virtual orientation for the whole clip (fixed-camera mode)."""

from __future__ import annotations

import numpy as np

from ..horizon import fixed_orientation
from .base import Filter, FilterContext, register_filter

__all__ = ["FixedCamera"]


@register_filter("fixed")
class FixedCamera(Filter):
    """Fixed-camera mode: one virtual orientation for the whole clip.

    The orientation is the chordal mean of the real track over the clip's first second (the
    framing the operator started with); it depends only on the clip, not on the window, so the
    frame-by-frame ``Stabilizer`` gives the same path. Follow with ``bad_region`` so frames the
    fixed view cannot cover bend back smoothly.
    """

    hold_s = 1.0

    def apply(self, ctx: FilterContext) -> FilterContext:
        t0 = float(ctx.t_s[0]) - ctx.first_frame / ctx.fps
        ts = np.linspace(t0, t0 + self.hold_s, 31)
        q = fixed_orientation(ctx.real.at(ts))
        qv = np.tile(q, (len(ctx), 1))
        # keep the quaternion sign continuous with the real track
        qv = np.where(np.sum(qv * ctx.real_quat, axis=1, keepdims=True) < 0, -qv, qv)
        return ctx.with_(virtual_quat=qv)
