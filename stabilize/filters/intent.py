"""The ``intent`` entry: per-axis smoothing whose sigmas follow the classified operator intent."""

from __future__ import annotations

import numpy as np

from sensors.errors import InputError
from sensors.quaternion import qslerp

from ..intent import WINDOW_S, classify_intent, policy_sigmas, smooth_per_axis
from .base import Filter, FilterContext, register_filter

__all__ = ["IntentSmoothing"]

#: Default Gaussian sigma of ``StabilizeParams``; the policies are scaled by window_s / this.
_REFERENCE_WINDOW_S = 0.6


@register_filter("intent")
class IntentSmoothing(Filter):
    """Intent-aware smoothing: per-axis Gaussian sigmas from the classified operator intent.

    Needs the gyro in the context (``ctx.gyro``). The class policies
    (``stabilize.intent.INTENT_POLICIES``) are scaled by ``params.window_s / 0.6`` so the
    smoothness knob still works; ``params.strength`` slerps from the input path to the smoothed
    one. Per-frame ``intent`` (label and probabilities) goes to the sidecar.
    """

    max_half_window_s = 3.0
    #: sigma of the easing between policies, seconds (shorter eases make a lock that lets go
    #: of a starting pan kink visibly: 0.5 s doubled the residual motion at pan onsets)
    ease_s = 1.0

    def reach_s(self) -> float:
        # classifier window + HMM memory (~2 / switch rate, damped) + the smoothing window
        return 0.5 * WINDOW_S + 1.5 + 3.0 * self.ease_s + self.max_half_window_s

    def apply(self, ctx: FilterContext) -> FilterContext:
        if ctx.gyro is None:
            raise InputError("the intent filter needs a gyro log; use --smoothing gaussian")
        track = classify_intent(ctx.gyro, ctx.t_s)
        scale = self.params.window_s / _REFERENCE_WINDOW_S
        sig = policy_sigmas(track.probs, track.classes, strength=scale,
                            ease_frames=self.ease_s * ctx.fps)
        sm = smooth_per_axis(ctx.t_s, ctx.virtual_quat, sig, self.max_half_window_s)
        s = self.params.strength
        if s < 1.0:
            sm = qslerp(ctx.virtual_quat, sm, np.full(len(ctx), s))
        side = np.empty(len(ctx), dtype=object)
        side[:] = track.sidecar()
        return ctx.with_(virtual_quat=sm).with_extra("intent", side)
