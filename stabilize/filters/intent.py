"""The ``intent`` entry: per-axis smoothing whose sigmas follow the classified operator intent,
guarded so it is never shakier than the plain Gaussian (``stabilize.intent.guard``)."""

from __future__ import annotations

import numpy as np

from sensors.errors import InputError
from sensors.progress import get_logger
from sensors.quaternion import qslerp

from ..bad_region import FitResult, fit_to_frame
from ..intent import WINDOW_S, classify_intent, policy_sigmas, smooth_per_axis
from ..intent.guard import guard_path, guard_reach_s
from ..smoothing import smooth_gaussian
from .base import Filter, FilterContext, register_filter

__all__ = ["IntentSmoothing"]

_log = get_logger(__name__)

#: Default Gaussian sigma of ``StabilizeParams``; the policies are scaled by window_s / this.
_REFERENCE_WINDOW_S = 0.6
#: ``fit_to_frame``'s default easing, which the ``bad_region`` entry uses too.
_BEND_EASE_S = 0.4


@register_filter("intent")
class IntentSmoothing(Filter):
    """Intent-aware smoothing: per-axis Gaussian sigmas from the classified operator intent.

    Needs the gyro in the context (``ctx.gyro``). The class policies
    (``stabilize.intent.INTENT_POLICIES``) are scaled by ``params.window_s / 0.6`` so the
    smoothness knob still works; ``params.strength`` slerps from the input path to the smoothed
    one. Per-frame ``intent`` (label and probabilities) goes to the sidecar.

    The plain Gaussian of the ``gaussian`` entry (sigma ``params.window_s``) is computed too,
    and where the intent path keeps more fast motion than it, the Gaussian's path is used
    (``stabilize.intent.guard``): per-frame ``gaussian_share`` (0 = intent, 1 = Gaussian) goes
    to the sidecar, and a note says where the Gaussian was used. With ``bad_region`` later in
    the chain the two are compared as drawn, each bent to the max zoom as that entry will bend
    it (two more bad-region fits while planning).
    """

    max_half_window_s = 3.0
    #: sigma of the easing between policies, seconds (shorter eases make a lock that lets go
    #: of a starting pan kink visibly: 0.5 s doubled the residual motion at pan onsets)
    ease_s = 1.0

    def reach_s(self) -> float:
        # classifier window + HMM memory (~2 / switch rate, damped) + the smoothing window
        intent = 0.5 * WINDOW_S + 1.5 + 3.0 * self.ease_s + self.max_half_window_s
        bend = 3.0 * _BEND_EASE_S if self._bends_later() else 0.0
        return max(intent, 3.0 * self.params.window_s) + bend + guard_reach_s()

    def paths(self, ctx: FilterContext) -> tuple[np.ndarray, np.ndarray, object]:
        """The unguarded intent path, the plain Gaussian's (both (F, 4), ``strength``
        applied) and the intent track (``stabilize.intent.IntentTrack``) of ``ctx``."""
        if ctx.gyro is None:
            raise InputError("the intent filter needs a gyro log; use --smoothing gaussian")
        track = classify_intent(ctx.gyro, ctx.t_s)
        scale = self.params.window_s / _REFERENCE_WINDOW_S
        sig = policy_sigmas(track.probs, track.classes, strength=scale,
                            ease_frames=self.ease_s * ctx.fps)
        sm = smooth_per_axis(ctx.t_s, ctx.virtual_quat, sig, self.max_half_window_s)
        gau = smooth_gaussian(ctx.t_s, ctx.virtual_quat, self.params.window_s)
        s = self.params.strength
        if s < 1.0:
            sm = qslerp(ctx.virtual_quat, sm, np.full(len(ctx), s))
            gau = qslerp(ctx.virtual_quat, gau, np.full(len(ctx), s))
        return sm, gau, track

    def _bends_later(self) -> bool:
        names = list(self.params.filters)
        return self.name in names and "bad_region" in names[names.index(self.name) + 1:]

    def _fit(self, ctx: FilterContext, quat: np.ndarray) -> FitResult:
        """``quat`` bent to the max zoom as the chain's ``bad_region`` entry will bend it."""
        return fit_to_frame(ctx.camera, ctx.real, ctx.t_s, quat, self.params.max_zoom,
                            ctx.readout_s, ctx.readout_direction, ease_s=_BEND_EASE_S,
                            strict=False, ois=ctx.ois, output_lens=self.params.output_lens())

    def apply(self, ctx: FilterContext) -> FilterContext:
        sm, gau, track = self.paths(ctx)
        # judged as drawn: a path that strays further is bent more towards the shaky real one
        fits = (self._fit(ctx, sm), self._fit(ctx, gau)) if self._bends_later() else None
        drawn = None if fits is None else (fits[0].virtual_quat, fits[1].virtual_quat)
        guard = guard_path(ctx.t_s, sm, gau, drawn)
        known = None
        if fits is not None and guard.virtual_quat is sm:  # the intent path as it was: its
            known = (sm, _BEND_EASE_S, fits[0])            # fit is already known
        side = np.empty(len(ctx), dtype=object)
        side[:] = track.sidecar()
        ctx = ctx.with_(virtual_quat=guard.virtual_quat, known_fit=known)
        ctx = ctx.with_extra("intent", side)
        ctx = ctx.with_extra("gaussian_share", guard.share)
        used = guard.share > 0.5
        if np.any(used):
            hf = guard.hf_rad_s
            ctx = ctx.with_note(
                f"the plain Gaussian smoothing was used on {int(used.sum())} of {len(ctx)} "
                f"frames, where the intent path kept more shake (above 1 Hz: intent "
                f"{np.degrees(hf['intent']):.2f} deg/s, Gaussian "
                f"{np.degrees(hf['gaussian']):.2f} deg/s, mixed {np.degrees(hf['guarded']):.2f} "
                "deg/s RMS)", _log)
        return ctx
