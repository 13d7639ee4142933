"""The ``gaussian`` entry: zero-phase Gaussian smoothing of the path on the rotation manifold."""

from __future__ import annotations

import numpy as np

from sensors.quaternion import qslerp

from ..smoothing import smooth_gaussian
from .base import Filter, FilterContext, register_filter

__all__ = ["GaussianSmoothing", "smooth_gaussian"]


@register_filter("gaussian")
class GaussianSmoothing(Filter):
    """Zero-phase Gaussian on rotations (``smooth_gaussian``) of the current virtual path.

    ``params.window_s`` is the sigma; ``params.strength`` slerps from the input path (0) to the
    smoothed one (1).
    """

    def reach_s(self) -> float:
        return 3.0 * self.params.window_s

    def apply(self, ctx: FilterContext) -> FilterContext:
        sm = smooth_gaussian(ctx.t_s, ctx.virtual_quat, self.params.window_s)
        s = self.params.strength
        if s < 1.0:
            sm = qslerp(ctx.virtual_quat, sm, np.full(len(ctx), s))
        return ctx.with_(virtual_quat=sm)
