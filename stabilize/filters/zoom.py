"""The ``zoom`` stage, last in every chain: a zoom that keeps the output inside the source."""

from __future__ import annotations

import numpy as np

from sensors.progress import get_logger

from .. import bad_region
from .base import Filter, FilterContext, register_filter

__all__ = ["ZoomStage"]

_log = get_logger(__name__)


@register_filter("zoom")
class ZoomStage(Filter):
    """Zoom that keeps the output window inside the source frame (no undefined pixels).

    The zoom a frame needs comes from ``stabilize.bad_region.required_zoom``: the output border
    mapped into the source with rolling shutter and lens distortion, in the job's output
    projection (``params.output_lens()``; a field of view wider than the source's raises the
    zoom wherever the path leaves no slack for it). ``dynamic`` eases a zoom that
    is never below the need (``smooth_zoom``), ``fixed`` takes the largest need of the window,
    ``none`` keeps 1. Needs above ``max_zoom`` are clipped to it and reported (extras
    ``zoom_limited``; a path-bending entry placed before this stage avoids them).
    """

    def reach_s(self) -> float:
        if self.params.zoom != "dynamic":
            return 0.0
        return 7.0 / 3.0 * self.params.zoom_hold_s + 0.1

    def apply(self, ctx: FilterContext) -> FilterContext:
        p = self.params
        zoom_limit = max(4.0, 2.0 * p.max_zoom)
        known = ctx.known_need
        if known is not None and known[0] is ctx.virtual_quat and known[1] == zoom_limit:
            need = known[2]
        else:
            # looked up on the module per call, so a wrapped required_zoom (profiling) is seen
            need = bad_region.required_zoom(ctx.camera, ctx.real, ctx.t_s, ctx.virtual_quat,
                                            readout_s=ctx.readout_s,
                                            readout_direction=ctx.readout_direction,
                                            zoom_limit=zoom_limit, ois=ctx.ois,
                                            output_lens=p.output_lens())
        limited = need > p.max_zoom + 1e-6
        capped = np.minimum(need, p.max_zoom)
        if p.zoom == "dynamic":
            zoom = np.minimum(bad_region.smooth_zoom(capped, ctx.fps, p.zoom_hold_s), p.max_zoom)
        elif p.zoom == "fixed":
            zoom = np.full(len(ctx), float(capped.max()))
        else:
            zoom = np.ones(len(ctx))
            limited = need > 1.0 + 1e-6
        ctx = ctx.with_(zoom=zoom).with_extra("required_zoom", need)
        ctx = ctx.with_extra("zoom_limited", limited)
        if np.any(limited):
            n = int(limited.sum())
            worst = float(np.max(np.where(np.isfinite(need), need, np.inf)))
            limit = 1.0 if p.zoom == "none" else p.max_zoom
            ctx = ctx.with_note(f"{n} frame(s) need more zoom than {limit:g} (worst "
                                f"{worst:.3f}): undefined border pixels there", _log)
        return ctx
