"""The ``none`` entry: keep the real orientation (lens and rolling-shutter correction only)."""

from __future__ import annotations

from .base import Filter, FilterContext, register_filter

__all__ = ["NoSmoothing"]


@register_filter("none")
class NoSmoothing(Filter):
    """Keep the real orientation (no stabilization; lens/rolling-shutter correction only)."""

    def apply(self, ctx: FilterContext) -> FilterContext:
        return ctx.with_(virtual_quat=ctx.real_quat.copy())
