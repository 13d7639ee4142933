"""Motion filtering: a registry of filter-chain entries over a window of frames (DESIGN.md).

A ``FilterContext`` holds, for a run of consecutive frames, the real camera orientation at each
frame-centre time, the virtual orientation being built, the zoom, and the data a filter may need
(dense real track for per-row lookups, gyro, camera, readout). Each registry entry is a class
with ``apply(ctx) -> ctx`` and ``reach_s()`` (how far in time, each side, its result for one
frame depends on its input), so the frame-by-frame ``Stabilizer`` can size its lookahead queue
and give the same answer as the offline run away from the clip ends.

The chain is ``params.filters`` in order, then the ``zoom`` stage. Entries register themselves
with ``@register_filter("name")``; modules of other stages add themselves at the anchor at the
bottom of this file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from sensors.errors import InputError
from sensors.quaternion import qconj, qexp, qlog, qmul, qslerp
from sensors.types import CameraModel, GyroLog, OisLog, Orientation

from .params import StabilizeParams

__all__ = [
    "FILTERS",
    "Filter",
    "FilterContext",
    "register_filter",
    "get_filter",
    "chain_names",
    "chain_reach_s",
    "run_chain",
    "smooth_gaussian",
]

FILTERS: dict[str, type] = {}


@dataclass(frozen=True, eq=False)
class FilterContext:
    """What the filters see for a run of consecutive frames (all on the video clock).

    Parameters
    ----------
    t_s : (F,) float64
        Frame times (centre of exposure of the middle row), seconds.
    real_quat : (F, 4) float64
        Real ``R_world_from_cam`` at each frame time, sign-continuous.
    virtual_quat : (F, 4) float64
        Virtual orientation built so far (starts as a copy of ``real_quat``).
    zoom : (F,) float64
        Output zoom per frame (1 = source focal length), set by the zoom stage.
    camera : CameraModel
        Source lens at the clip's resolution.
    real : Orientation
        Dense real track (gyro rate), for per-row lookups.
    fps : float
        Nominal frame rate.
    readout_s, readout_direction : float, str
        Rolling shutter (DESIGN.md).
    params : StabilizeParams
        The job's settings.
    gyro : GyroLog, optional
        Bias-corrected gyro (and accel) on the video clock, for filters that read raw motion.
    exposure_s : (F,) float64, optional
        Exposure per frame when known.
    first_frame : int
        Index in the clip of the window's first frame.
    ois : OisLog, optional
        Lens shift / focus scale on the video clock (the source image is where the lens was:
        the coverage checks use it as the warp does).
    extras : dict
        Per-frame outputs of filters, name -> (F, ...) array (e.g. ``required_zoom``,
        ``intent``); copied into the sidecar.
    notes : tuple of str
        Messages for the user (e.g. max zoom reached).
    known_need : tuple, optional
        ``(virtual_quat, zoom_limit, need)``: a ``required_zoom`` a filter already computed for
        exactly that path array (contexts are never mutated, so identity means the same path);
        the zoom stage reuses it instead of mapping every border again.
    """

    t_s: np.ndarray
    real_quat: np.ndarray
    virtual_quat: np.ndarray
    zoom: np.ndarray
    camera: CameraModel
    real: Orientation
    fps: float
    readout_s: float = 0.0
    readout_direction: str = "top_to_bottom"
    params: StabilizeParams = field(default_factory=StabilizeParams)
    gyro: GyroLog | None = None
    exposure_s: np.ndarray | None = None
    first_frame: int = 0
    ois: OisLog | None = None
    extras: dict = field(default_factory=dict)
    notes: tuple = ()
    known_need: tuple | None = None

    def __len__(self) -> int:
        return int(self.t_s.size)

    def with_(self, **changes) -> FilterContext:
        """A copy with fields changed (the context itself is never mutated)."""
        return replace(self, **changes)

    def with_extra(self, name: str, values: np.ndarray) -> FilterContext:
        """A copy with one more per-frame output."""
        ex = dict(self.extras)
        ex[name] = np.asarray(values)
        return replace(self, extras=ex)

    def with_note(self, note: str) -> FilterContext:
        """A copy with one more message for the user."""
        return replace(self, notes=self.notes + (note,))

    def window(self, i0: int, i1: int) -> FilterContext:
        """Frames ``i0:i1`` of this context (per-frame extras sliced too)."""
        ex = {k: v[i0:i1] for k, v in self.extras.items()}
        exp = None if self.exposure_s is None else self.exposure_s[i0:i1]
        return replace(self, t_s=self.t_s[i0:i1], real_quat=self.real_quat[i0:i1],
                       virtual_quat=self.virtual_quat[i0:i1], zoom=self.zoom[i0:i1],
                       exposure_s=exp, first_frame=self.first_frame + i0, extras=ex,
                       known_need=None)


class Filter:
    """Base of a filter-chain entry: override ``apply`` (and ``reach_s`` if it looks around)."""

    name = "base"

    def __init__(self, params: StabilizeParams):
        self.params = params

    def reach_s(self) -> float:
        """Seconds each side of a frame that its output depends on."""
        return 0.0

    def apply(self, ctx: FilterContext) -> FilterContext:  # pragma: no cover - interface
        raise NotImplementedError


def register_filter(name: str):
    """Class decorator adding a ``Filter`` subclass to ``FILTERS`` under ``name``."""

    def deco(cls: type) -> type:
        if name in FILTERS and FILTERS[name] is not cls:
            raise ValueError(f"filter name {name!r} is already registered")
        cls.name = name
        FILTERS[name] = cls
        return cls

    return deco


def get_filter(name: str, params: StabilizeParams) -> Filter:
    """An instance of the registry entry ``name``; unknown names list the valid ones."""
    try:
        cls = FILTERS[name]
    except KeyError:
        raise InputError(f"unknown filter {name!r}; valid: " + ", ".join(sorted(FILTERS))) from None
    return cls(params)


def chain_names(params: StabilizeParams) -> list[str]:
    """The filter chain of a job: ``params.filters`` then the zoom stage."""
    return [n for n in params.filters if n != "zoom"] + ["zoom"]


def chain_reach_s(params: StabilizeParams) -> float:
    """How far (s) each side the chain's output for one frame depends on its input (summed)."""
    return float(sum(get_filter(n, params).reach_s() for n in chain_names(params)))


def run_chain(ctx: FilterContext) -> FilterContext:
    """Run the job's filter chain over a context."""
    for name in chain_names(ctx.params):
        ctx = get_filter(name, ctx.params).apply(ctx)
    return ctx


def smooth_gaussian(t_s: np.ndarray, quat: np.ndarray, sigma_s: float,
                    iterations: int = 3) -> np.ndarray:
    """Zero-phase Gaussian smoothing of an orientation track on the rotation manifold.

    Each output is the Gaussian-weighted Karcher mean of the orientations within 3 sigma: the
    neighbours are expressed as rotation vectors around the current estimate,
    ``v_j = log(m^-1 q_j)``, their weighted mean moves the estimate ``m <- m exp(mean v)``, and
    that repeats (Gauss-Newton on the mean; the first estimate is the frame itself). No Euler
    angles. At the clip ends the window is cut and the weights renormalised.

    Parameters
    ----------
    t_s : (F,) float64
        Frame times, seconds.
    quat : (F, 4) float64
        Real orientations, scalar-last.
    sigma_s : float
        Gaussian sigma, seconds.
    iterations : int
        Mean-update rounds.

    Returns
    -------
    (F, 4) float64 smoothed quaternions.
    """
    t = np.asarray(t_s, dtype=np.float64)
    q = np.asarray(quat, dtype=np.float64)
    if q.shape != (t.size, 4):
        raise InputError(f"orientations have shape {q.shape}, expected ({t.size}, 4)")
    if not (sigma_s > 0):
        raise InputError(f"smoothing sigma must be > 0, got {sigma_s}")
    F = t.size
    if F < 2:
        return q.copy()
    dt = float(np.median(np.diff(t)))
    reach = 3.0 * sigma_s
    H = int(math.ceil(reach / dt)) + 1
    idx = np.arange(F)
    m = q.copy()
    for _ in range(iterations):
        m_inv = qconj(m)
        acc = np.zeros((F, 3))
        wsum = np.zeros(F)
        for k in range(-H, H + 1):
            j = idx + k
            ok = (j >= 0) & (j < F)
            jj = np.clip(j, 0, F - 1)
            d = t[jj] - t
            w = np.exp(-0.5 * (d / sigma_s) ** 2) * (ok & (np.abs(d) <= reach + 1e-9))
            acc += w[:, None] * qlog(qmul(m_inv, q[jj]))
            wsum += w
        m = qmul(m, qexp(acc / wsum[:, None]))
    return m


@register_filter("none")
class NoSmoothing(Filter):
    """Keep the real orientation (no stabilization; lens/rolling-shutter correction only)."""

    def apply(self, ctx: FilterContext) -> FilterContext:
        return ctx.with_(virtual_quat=ctx.real_quat.copy())


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


@register_filter("zoom")
class ZoomStage(Filter):
    """Zoom that keeps the output window inside the source frame (no undefined pixels).

    The zoom a frame needs comes from ``stabilize.bad_region.required_zoom``: the output border
    mapped into the source with rolling shutter and lens distortion. ``dynamic`` eases a zoom that
    is never below the need (``smooth_zoom``), ``fixed`` takes the largest need of the window,
    ``none`` keeps 1. Needs above ``max_zoom`` are clipped to it and reported (extras
    ``zoom_limited``; a path-bending entry placed before this stage avoids them).
    """

    def reach_s(self) -> float:
        if self.params.zoom != "dynamic":
            return 0.0
        return 7.0 / 3.0 * self.params.zoom_hold_s + 0.1

    def apply(self, ctx: FilterContext) -> FilterContext:
        from .bad_region import required_zoom, smooth_zoom

        p = self.params
        zoom_limit = max(4.0, 2.0 * p.max_zoom)
        known = ctx.known_need
        if known is not None and known[0] is ctx.virtual_quat and known[1] == zoom_limit:
            need = known[2]
        else:
            need = required_zoom(ctx.camera, ctx.real, ctx.t_s, ctx.virtual_quat,
                                 readout_s=ctx.readout_s,
                                 readout_direction=ctx.readout_direction,
                                 zoom_limit=zoom_limit, ois=ctx.ois)
        limited = need > p.max_zoom + 1e-6
        capped = np.minimum(need, p.max_zoom)
        if p.zoom == "dynamic":
            zoom = np.minimum(smooth_zoom(capped, ctx.fps, p.zoom_hold_s), p.max_zoom)
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
                                f"{worst:.3f}): undefined border pixels there")
        return ctx


# --- filter-chain entries from other modules ---
from . import bad_region, blur, horizon, intent  # noqa: E402,F401  (self-register)
