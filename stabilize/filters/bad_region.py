"""The ``bad_region`` entry: bend the path so no frame needs more than the max zoom."""

from __future__ import annotations

from sensors.progress import get_logger

from ..bad_region import fit_to_frame
from .base import Filter, FilterContext, register_filter

__all__ = ["BadRegion"]

_log = get_logger(__name__)


@register_filter("bad_region")
class BadRegion(Filter):
    """Bend the virtual path so no frame needs more than ``params.max_zoom`` (``fit_to_frame``).

    Place it last before the zoom stage. Where even the real orientation needs more (a fast pan
    with a long readout), those frames keep the real orientation and a note says so.
    Per-frame ``bend`` (the pull towards the real path, 0..1) goes to the sidecar.
    """

    ease_s = 0.4

    def reach_s(self) -> float:
        return 3.0 * self.ease_s

    def apply(self, ctx: FilterContext) -> FilterContext:
        known = ctx.known_fit
        if known is not None and known[0] is ctx.virtual_quat and known[1] == self.ease_s:
            fit = known[2]  # the same path, already bent at the same settings
        else:
            fit = fit_to_frame(ctx.camera, ctx.real, ctx.t_s, ctx.virtual_quat,
                               self.params.max_zoom, ctx.readout_s, ctx.readout_direction,
                               ease_s=self.ease_s, strict=False, ois=ctx.ois,
                               output_lens=self.params.output_lens())
        ctx = ctx.with_(virtual_quat=fit.virtual_quat, known_fit=None,
                        known_need=(fit.virtual_quat, max(4.0, 2.0 * self.params.max_zoom),
                                    fit.required_zoom))
        ctx = ctx.with_extra("bend", fit.alpha)
        if fit.unreachable:
            ctx = ctx.with_note(f"{fit.unreachable} frame(s) need more than max zoom "
                                f"{self.params.max_zoom:g} even unstabilized (rolling shutter)",
                                _log)
        return ctx
