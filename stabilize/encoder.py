"""Encoder options of the output stream, with the encoder's memory kept in bounds.

libx264 and libx265 hold ``rc-lookahead`` whole frames for their rate control (mb-tree), each
with its half-pel planes and low-resolution copy: about 25 MB a frame at 3840x2160, so x264's
``medium`` preset (40 frames) alone peaks at 1.8 GB on a 4K clip, more than the rest of the
pipeline together. ``auto`` lookahead keeps the preset's value while the frames it holds stay
under ``LOOKAHEAD_BUDGET_MPX`` megapixels (~0.4 GB; every preset at 1920x1080 is untouched) and
caps it beyond that (34 frames at 2560x1440 for ``medium``, 15 at 4K, where the whole
stabilizer then peaks near 1.4 GB). An explicit value is used as given.
"""

from __future__ import annotations

import math

from sensors.errors import InputError

__all__ = [
    "LOOKAHEAD_BUDGET_MPX",
    "PRESET_LOOKAHEAD",
    "effective_lookahead",
    "encoder_options",
]

#: Megapixels of frames the encoder's lookahead may hold with ``auto`` lookahead.
LOOKAHEAD_BUDGET_MPX = 128.0
#: Frames of ``rc-lookahead`` each preset sets (x264 ``common/base.c``; x265 ``param.cpp``).
PRESET_LOOKAHEAD = {
    "h264": {"ultrafast": 0, "superfast": 0, "veryfast": 10, "faster": 20, "fast": 30,
             "medium": 40, "slow": 50, "slower": 60, "veryslow": 60, "placebo": 60},
    "hevc": {"ultrafast": 5, "superfast": 10, "veryfast": 15, "faster": 15, "fast": 15,
             "medium": 20, "slow": 25, "slower": 40, "veryslow": 40, "placebo": 60},
}
# The fewest frames ``auto`` leaves to a preset that has a lookahead at all: below this the
# rate control loses most of what mb-tree gives.
_MIN_AUTO_LOOKAHEAD = 10


def effective_lookahead(codec: str, preset: str, width: int, height: int,
                        rc_lookahead: int | None = None) -> int | None:
    """Frames of ``rc-lookahead`` to ask the encoder for, or None to leave the preset's.

    Parameters
    ----------
    codec, preset : str
        ``h264`` / ``hevc`` and the encoder preset.
    width, height : int
        Frame size, pixels.
    rc_lookahead : int, optional
        An explicit value (frames, >= 0); None for ``auto``.
    """
    if codec not in PRESET_LOOKAHEAD:
        return None
    if rc_lookahead is not None:
        if rc_lookahead < 0:
            raise InputError(f"rc-lookahead must be >= 0 frames, got {rc_lookahead}")
        return int(rc_lookahead)
    if preset not in PRESET_LOOKAHEAD[codec]:
        raise InputError(f"unknown {codec} preset {preset!r}; valid: "
                         + ", ".join(PRESET_LOOKAHEAD[codec]))
    preset_frames = PRESET_LOOKAHEAD[codec][preset]
    cap = math.floor(LOOKAHEAD_BUDGET_MPX * 1e6 / max(1, width * height))
    la = max(min(preset_frames, _MIN_AUTO_LOOKAHEAD), cap)
    return None if la >= preset_frames else la


def encoder_options(codec: str, crf: int, preset: str, width: int, height: int,
                    rc_lookahead: int | None = None) -> dict[str, str]:
    """libavcodec options of the output video stream (``av`` ``add_stream(options=...)``)."""
    if codec not in ("h264", "hevc"):
        return {}
    opts = {"crf": str(crf), "preset": preset}
    la = effective_lookahead(codec, preset, width, height, rc_lookahead)
    params = ["log-level=error"] if codec == "hevc" else []
    if la is not None:
        params.append(f"rc-lookahead={la}")
    if params:
        opts["x265-params" if codec == "hevc" else "x264-params"] = ":".join(params)
    return opts
