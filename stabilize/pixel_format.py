"""The samples frames are warped in: planar YUV of the input's depth or the output's, black in
it, and the planes of a PyAV frame as writable arrays (no BGR round trip).

Examples
--------
>>> samples, notes = sample_format("yuv420p10le", full_range=False, codec="hevc")
>>> samples.pix_fmt, samples.black_luma, samples.neutral_chroma, notes
('yuv420p10le', 64, 512, [])
>>> sample_format("yuv420p10le", False, "h264")[0].pix_fmt  # 8 bits: H.264 High 10 plays badly
'yuv420p'
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import cv2
import numpy as np

__all__ = [
    "DEEP_420",
    "Samples",
    "sample_format",
    "as_samples",
    "frame_planes",
    "writable_planes",
    "bgr_preview",
]

# Deep 4:2:0 formats the decode thread dithers to 8 bits itself, into reused planes.
DEEP_420 = {"yuv420p10le": 10, "yuv420p12le": 12}


@dataclass(frozen=True)
class Samples:
    """How frames are warped: the planar YUV format, its sample type and black in it."""

    pix_fmt: str  # yuv420p, yuv420p10le, or yuv422p10le (4:2:2 input to ProRes)
    dtype: type
    black_luma: int
    neutral_chroma: int


def sample_format(pix_fmt: str, full_range: bool, codec: str = "h264",
                  bit_depth: str = "auto") -> tuple[Samples, list[str]]:
    """The warp's sample format for an input of ``pix_fmt``, and notes on what the output
    does not keep of it.

    ``bit_depth`` ``auto`` (``StabilizeParams.bit_depth``) keeps a deeper-than-8-bit input at 10
    bits when the codec is hevc (Main 10) or prores, so a log or HLG/PQ grade does not band,
    and writes 8 bits for h264: High 10 plays on few devices (the usual ffmpeg advice is
    ``-pix_fmt yuv420p``) and its encoder alone needs ~2 GB at 4K. Everything is warped as 4:2:0
    YUV, except 4:2:2 input written as ProRes (4:2:2 10-bit itself), which keeps its chroma
    rows. Black (the fill outside the source) is 16 (64 at 10 bits) in limited range, 0 in full.
    """
    notes: list[str] = []
    try:
        fmt = av.VideoFormat(pix_fmt, 64, 64) if pix_fmt else None
    except ValueError:
        fmt = None
    bits = max((c.bits for c in fmt.components), default=8) if fmt is not None else 8
    black10 = 0 if full_range else 64
    if fmt is not None:
        c = fmt.components
        yuv = not fmt.is_rgb and len(c) == 3
        is_420 = yuv and (c[1].width, c[1].height) == (32, 32)
        if codec == "prores" and yuv and (c[1].width, c[1].height) == (32, 64):
            if bits > 10:
                notes.append(f"input has {bits}-bit samples; the output keeps 10")
            return Samples("yuv422p10le", np.uint16, black10, 512), notes
        if not is_420:
            notes.append(f"input pixel format {fmt.name} is warped and written as 4:2:0 YUV")
    if bit_depth == "auto":
        deep = bits > 8 and codec in ("hevc", "prores")
        if bits > 8 and not deep:
            notes.append(f"{bits}-bit input written as 8-bit {codec.upper()} (plays everywhere); "
                         "--codec hevc or prores, or --bit-depth 10, keep 10 bits")
    else:
        deep = bit_depth == "10"
    if deep and bits > 10:
        notes.append(f"input has {bits}-bit samples; the output keeps 10")
    if deep:
        return Samples("yuv420p10le", np.uint16, black10, 512), notes
    return Samples("yuv420p", np.uint8, 0 if full_range else 16, 128), notes


def as_samples(frame: av.VideoFrame, samples: Samples) -> av.VideoFrame:
    """``frame`` in ``samples``' format (converted when the decoder gives another; yuvj420p is
    yuv420p with full-range values, taken as is)."""
    if frame.format.name != samples.pix_fmt and not (samples.pix_fmt == "yuv420p"
                                                     and frame.format.name == "yuvj420p"):
        frame = frame.reformat(format=samples.pix_fmt)
    return frame


def writable_planes(frame: av.VideoFrame, dtype: type = np.uint8) -> list[np.ndarray]:
    """Writable views on a planar frame's planes (rows padded to the line size), so the warp
    writes straight into the encoder's buffers."""
    size = np.dtype(dtype).itemsize
    return [np.frombuffer(p, dtype).reshape(-1, p.line_size // size)[:p.height, :p.width]
            for p in frame.planes]


def frame_planes(frame: av.VideoFrame, samples: Samples
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, U, V planes of a frame as arrays (views on the frame's buffers, no BGR), in
    ``samples``' format."""
    return tuple(writable_planes(as_samples(frame, samples), samples.dtype))


def bgr_preview(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """BGR preview of 4:2:0 planes, 8 or 10 bits (debug only)."""
    if y.dtype != np.uint8:
        y, u, v = ((a >> 2).astype(np.uint8) for a in (y, u, v))
    h, w = y.shape
    uu = cv2.resize(u, (w, h), interpolation=cv2.INTER_LINEAR)
    vv = cv2.resize(v, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(cv2.merge([y, vv, uu]), cv2.COLOR_YCrCb2BGR)  # Cr = V, Cb = U
