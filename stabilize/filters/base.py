"""The filter-chain interface: the context filters read and return, the base class, the registry.

A ``FilterContext`` holds, for a run of consecutive frames, the real camera orientation at each
frame-centre time, the virtual orientation being built, the zoom, and the data a filter may need
(dense real track for per-row lookups, gyro, camera, readout). Each registry entry is a class
with ``apply(ctx) -> ctx`` and ``reach_s()`` (how far in time, each side, its result for one
frame depends on its input), so the frame-by-frame ``Stabilizer`` can size its lookahead queue
and give the same answer as the offline run away from the clip ends. Conventions (clock, axes,
rolling shutter) are those of docs/architecture.md.

Entries register themselves with ``@register_filter("name")``; ``stabilize.filters`` imports
every entry module, so importing it fills ``FILTERS``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np

from sensors.errors import InputError
from sensors.progress import get_logger
from sensors.types import CameraModel, GyroLog, OisLog, Orientation

from ..params import StabilizeParams

__all__ = ["FILTERS", "Filter", "FilterContext", "register_filter", "get_filter"]

#: Registered filter-chain entries, name -> ``Filter`` subclass.
FILTERS: dict[str, type[Filter]] = {}

_log = get_logger(__name__)


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
        Rolling shutter (docs/architecture.md).
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
    passthrough : (F,) bool, optional
        Frames with no motion source (neither gyro nor video): drawn uncorrected, with the path
        eased into them (``filters.passthrough``).
    known_need : tuple, optional
        ``(virtual_quat, zoom_limit, need)``: a ``required_zoom`` a filter already computed for
        exactly that path array (contexts are never mutated, so identity means the same path);
        the zoom stage reuses it instead of mapping every border again.
    known_fit : tuple, optional
        ``(virtual_quat, ease_s, FitResult)``: ``bad_region.fit_to_frame`` at the job's max
        zoom and that easing already run on exactly that path array (the ``intent`` entry's
        guard bends its candidates); the ``bad_region`` entry reuses it.
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
    passthrough: np.ndarray | None = None
    known_need: tuple | None = None
    known_fit: tuple | None = None

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

    def with_note(self, note: str, logger: logging.Logger | None = None) -> FilterContext:
        """A copy with one more message for the user, also logged (INFO) on ``logger``.

        A filter passes its own module's logger (``sensors.progress.get_logger(__name__)``),
        so a program that imports the library hears the note without reading the result.
        """
        (logger or _log).info(note)
        return replace(self, notes=self.notes + (note,))

    def window(self, i0: int, i1: int) -> FilterContext:
        """Frames ``i0:i1`` of this context (per-frame extras sliced too)."""
        ex = {k: v[i0:i1] for k, v in self.extras.items()}
        exp = None if self.exposure_s is None else self.exposure_s[i0:i1]
        return replace(self, t_s=self.t_s[i0:i1], real_quat=self.real_quat[i0:i1],
                       virtual_quat=self.virtual_quat[i0:i1], zoom=self.zoom[i0:i1],
                       exposure_s=exp, first_frame=self.first_frame + i0, extras=ex,
                       known_need=None, known_fit=None)


class Filter:
    """Base of a filter-chain entry: override ``apply`` (and ``reach_s`` if it looks around).

    Examples
    --------
    >>> from stabilize.filters import Filter, register_filter
    >>> @register_filter("doc_identity")
    ... class Identity(Filter):
    ...     def apply(self, ctx):
    ...         return ctx
    >>> Identity.name
    'doc_identity'
    >>> del FILTERS["doc_identity"]
    """

    name = "base"

    def __init__(self, params: StabilizeParams):
        self.params = params

    def reach_s(self) -> float:
        """Seconds each side of a frame that its output depends on."""
        return 0.0

    def apply(self, ctx: FilterContext) -> FilterContext:  # pragma: no cover - interface
        raise NotImplementedError


def register_filter(name: str):
    """Class decorator adding a ``Filter`` subclass to ``FILTERS`` under ``name``.

    The command line's ``--smoothing`` and ``--filter`` choices are read from ``FILTERS``, so a
    registered entry is offered there too.
    """

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
