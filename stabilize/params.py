"""One frozen parameter object per stabilization job (docs/architecture.md).

Every stage reads its settings from ``StabilizeParams``; ``checksum()`` is a stable hash of the
values, usable as a cache key and written to the JSON sidecar.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace

from sensors.errors import InputError

from .output_lens import OutputLens

__all__ = ["StabilizeParams", "ZOOM_MODES", "INTERPOLATIONS", "CODECS", "BIT_DEPTHS",
           "DEFAULT_SMOOTHING"]

ZOOM_MODES = ("dynamic", "fixed", "none")
INTERPOLATIONS = ("bilinear", "bicubic", "lanczos")
CODECS = ("h264", "hevc", "prores")
BIT_DEPTHS = ("auto", "8", "10")
#: The smoothing ``stabilize.filters.compose_chain`` starts a chain with unless told otherwise
#: (the command line's default): learned operator intent with per-axis policies. The dataclass
#: default ``filters=("gaussian",)`` keeps the frame-by-frame ``Stabilizer``'s lookahead short.
DEFAULT_SMOOTHING = "intent"


@dataclass(frozen=True)
class StabilizeParams:
    """Settings of one stabilization run.

    Parameters
    ----------
    filters : tuple of str
        Filter-chain entries run in order on the virtual path (names in
        ``stabilize.filters.FILTERS``); the zoom stage always runs last.
    window_s : float
        Gaussian smoothing sigma in seconds (the window reaches 3 sigma each side).
    strength : float
        0..1, how much of the smoothing is applied (slerp from real to smoothed).
    zoom : str
        ``dynamic`` (zoom follows the need, eased), ``fixed`` (one zoom for the clip) or
        ``none`` (zoom 1: undefined border pixels are possible, reported as such).
    max_zoom : float
        Largest zoom the zoom stage may use; frames that need more are reported.
    zoom_hold_s : float
        Easing half-window of the dynamic zoom, seconds.
    mesh : (int, int)
        Output-space mesh vertices (columns, rows) of the warp.
    row_bands : int
        Row bands per frame at which the real orientation is sampled (rolling shutter).
    interpolation : str
        Resampling kernel: ``bilinear``, ``bicubic`` or ``lanczos``.
    codec, crf, preset, encoder_threads : encoder settings (``crf``/``preset`` for h264/hevc).
    lookahead_frames : int, optional
        Frames of lookahead for the frame-by-frame ``Stabilizer`` (default: what the chain needs).
    rc_lookahead : int, optional
        The h264/hevc encoder's rate-control lookahead, frames; None (``auto``) keeps the
        preset's unless its frames would exceed ``stabilize.encoder.LOOKAHEAD_BUDGET_MPX``
        (the encoder's memory: capped at 15 frames for 4K).
    bit_depth : str
        Samples the frames are warped and encoded with: ``8``, ``10``, or ``auto``: 10 bits
        when the input has more than 8 and the codec is hevc or prores, else 8 (10-bit H.264,
        High 10, plays on few devices, and at 4K its encoder alone needs ~2 GB).
    lens_correction : float
        0..1, the output's projection (``stabilize.output_lens``): 1 is the rectified pinhole,
        0 keeps the source lens's own projection (a fisheye stays a fisheye), between blends
        the two by the angle off axis.
    fov_scale : float
        Output field of view relative to the source focal length (> 1 wider, < 1 narrower).
        The zoom still keeps every output pixel inside the source, so a wider view shows only
        where the path leaves slack; elsewhere the zoom rises to cover it.
    """

    filters: tuple[str, ...] = ("gaussian",)
    window_s: float = 0.6
    strength: float = 1.0
    zoom: str = "dynamic"
    max_zoom: float = 1.6
    zoom_hold_s: float = 0.5
    mesh: tuple[int, int] = (32, 18)
    row_bands: int = 17
    interpolation: str = "bilinear"
    codec: str = "h264"
    crf: int = 18
    preset: str = "medium"
    encoder_threads: int = 0
    lookahead_frames: int | None = None
    rc_lookahead: int | None = None
    bit_depth: str = "auto"
    lens_correction: float = 1.0
    fov_scale: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "filters", tuple(self.filters))
        object.__setattr__(self, "mesh", (int(self.mesh[0]), int(self.mesh[1])))
        if not (self.window_s > 0):
            raise InputError(f"smoothing window must be > 0 s, got {self.window_s}")
        if not (0.0 <= self.strength <= 1.0):
            raise InputError(f"smoothing strength must be in [0, 1], got {self.strength}")
        if self.zoom not in ZOOM_MODES:
            raise InputError(f"unknown zoom mode {self.zoom!r}; valid: " + ", ".join(ZOOM_MODES))
        if not (self.max_zoom >= 1.0):
            raise InputError(f"max zoom must be >= 1, got {self.max_zoom}")
        if self.mesh[0] < 2 or self.mesh[1] < 2:
            raise InputError(f"mesh needs at least 2x2 vertices, got {self.mesh}")
        if self.row_bands < 2:
            raise InputError(f"row bands must be >= 2, got {self.row_bands}")
        if self.interpolation not in INTERPOLATIONS:
            raise InputError(f"unknown interpolation {self.interpolation!r}; valid: "
                             + ", ".join(INTERPOLATIONS))
        if self.codec not in CODECS:
            raise InputError(f"unknown codec {self.codec!r}; valid: " + ", ".join(CODECS))
        from .encoder import PRESET_LOOKAHEAD

        if self.codec in PRESET_LOOKAHEAD and self.preset not in PRESET_LOOKAHEAD[self.codec]:
            raise InputError(f"unknown {self.codec} preset {self.preset!r}; valid: "
                             + ", ".join(PRESET_LOOKAHEAD[self.codec]))
        if not (0 <= self.crf <= 51):
            raise InputError(f"crf must be 0-51, got {self.crf}")
        if self.rc_lookahead is not None and not (0 <= self.rc_lookahead <= 250):
            raise InputError(f"rc-lookahead must be 0-250 frames, got {self.rc_lookahead}")
        if self.bit_depth not in BIT_DEPTHS:
            raise InputError(f"unknown bit depth {self.bit_depth!r}; valid: "
                             + ", ".join(BIT_DEPTHS))
        if self.lookahead_frames is not None and self.lookahead_frames < 1:
            raise InputError(f"lookahead must be >= 1 frame, got {self.lookahead_frames}")
        self.output_lens()  # validates the two output-projection settings

    def output_lens(self) -> OutputLens:
        """The output projection of these settings (``stabilize.output_lens.OutputLens``)."""
        return OutputLens(float(self.lens_correction), float(self.fov_scale))

    def replace(self, **changes) -> StabilizeParams:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict:
        """JSON-ready values."""
        d = asdict(self)
        d["filters"] = list(self.filters)
        d["mesh"] = list(self.mesh)
        return d

    def checksum(self) -> str:
        """Stable SHA-256 (hex, 16 chars) of the values: equal params give equal checksums."""
        blob = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
