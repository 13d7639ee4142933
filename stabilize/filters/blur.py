"""The ``blur`` entry: blend real motion back along each frame's motion blur."""

from __future__ import annotations

from sensors.progress import get_logger

from ..blur import blur_vectors, default_exposure_s, mask_blur
from .base import Filter, FilterContext, register_filter

__all__ = ["BlurMasking"]

_log = get_logger(__name__)


@register_filter("blur")
class BlurMasking(Filter):
    """Blend real motion back along each frame's blur (``mask_blur``); place after smoothing.

    The exposure comes from the context (log or container) and is a 180-degree shutter when
    unknown (a note says so). The blend rises from a 0.1 px streak and is full from 1 px, at
    960 px width (scaled with the frame width). Per-frame ``blur_px`` (streak at the image
    centre) and ``blur_beta`` go to the sidecar.
    """

    recenter_s = 0.3

    def reach_s(self) -> float:
        return 3.0 * self.recenter_s + 2.0 / 30.0

    def apply(self, ctx: FilterContext) -> FilterContext:
        if ctx.exposure_s is None:
            e = default_exposure_s(ctx.fps, len(ctx))
            ctx = ctx.with_note("exposure unknown: blur masking assumes a 180-degree shutter",
                                _log)
        else:
            e = ctx.exposure_s
        k = ctx.camera.width / 960.0
        qv, beta = mask_blur(ctx.camera, ctx.real, ctx.t_s, e, ctx.virtual_quat,
                             blur_lo_px=0.1 * k, blur_hi_px=1.0 * k, recenter_s=self.recenter_s)
        b = blur_vectors(ctx.camera, ctx.real, ctx.t_s, e)[:, 0]
        return ctx.with_(virtual_quat=qv).with_extra("blur_px", b).with_extra("blur_beta", beta)
