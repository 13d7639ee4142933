"""Damaged copies of a good MP4, for testing how damage is handled (``sensors.damage``).

The kinds of damage a recording meets: a stretch of bad bytes inside the media data (a failing
card sector, a bad copy) with the index intact (``garble_mdat``); a file cut short, which an MP4
with its index in front (``reencode(..., faststart=True)``) survives (``truncate``); a recording
cut off before the camera wrote its index at the end (``drop_index``), which nothing can read
as it stands. Each writes a new file and never touches the source.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..atomic import atomic_output

__all__ = ["mp4_boxes", "garble_mdat", "truncate", "drop_index", "reencode"]


def mp4_boxes(path: str | os.PathLike) -> list[tuple[str, int, int]]:
    """Top-level boxes of an MP4/MOV file as ``(type, offset, size)``.

    Examples
    --------
    >>> from sensors.synthetic.damage import mp4_boxes
    >>> [b[0] for b in mp4_boxes("samples/gopro/karma.mp4")][:2]
    ['ftyp', 'mdat']
    """
    out = []
    data_size = Path(path).stat().st_size
    with open(path, "rb") as f:
        pos = 0
        while pos + 8 <= data_size:
            f.seek(pos)
            head = f.read(16)
            n, kind = int.from_bytes(head[:4], "big"), head[4:8].decode("latin-1")
            if n == 1:
                n = int.from_bytes(head[8:16], "big")
            elif n == 0:
                n = data_size - pos
            if n < 8:
                break
            out.append((kind, pos, n))
            pos += n
    return out


def _write(dst, data: bytes) -> None:
    with atomic_output(dst) as tmp:
        Path(tmp).write_bytes(data)


def _box(path, kind: str) -> tuple[int, int]:
    for k, off, n in mp4_boxes(path):
        if k == kind:
            return off, n
    raise ValueError(f"{path}: no {kind} box")


def garble_mdat(src: str | os.PathLike, dst: str | os.PathLike, n_bytes: int, *,
                at: float = 0.5, seed: int = 0) -> tuple[int, int]:
    """Copy ``src`` to ``dst`` with ``n_bytes`` of random bytes inside its media data.

    Parameters
    ----------
    n_bytes : int
        Bytes overwritten (clipped to the media data).
    at : float
        Where the stretch starts, as a fraction of the media data (0 = its first byte).
    seed : int
        Seed of the random bytes.

    Returns
    -------
    (start, end) : int
        The byte range overwritten, as file offsets.
    """
    data = bytearray(Path(src).read_bytes())
    off, n = _box(src, "mdat")
    lo, hi = off + 16, off + n  # past the box header (8 or 16 bytes)
    start = int(lo + np.clip(at, 0.0, 1.0) * (hi - lo))
    end = min(hi, start + int(n_bytes))
    data[start:end] = np.random.default_rng(seed).integers(0, 256, end - start,
                                                           dtype=np.uint8).tobytes()
    _write(dst, bytes(data))
    return start, end


def truncate(src: str | os.PathLike, dst: str | os.PathLike, keep: float) -> int:
    """Copy the first ``keep`` fraction of ``src``'s bytes to ``dst``; return the byte count."""
    data = Path(src).read_bytes()
    n = int(len(data) * float(keep))
    _write(dst, data[:n])
    return n


def drop_index(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Copy ``src`` to ``dst`` without its ``moov`` box (the index written when a recording
    ends), as a camera leaves a file when the power is cut."""
    data = Path(src).read_bytes()
    off, n = _box(src, "moov")
    _write(dst, data[:off] + data[off + n:])


def reencode(src: str | os.PathLike, dst: str | os.PathLike, *, gop: int = 12,
             faststart: bool = True, crf: int = 16) -> None:
    """Re-encode ``src``'s video (H.264, a keyframe every ``gop`` frames, same timestamps) and
    copy its audio; ``faststart`` puts the index before the media data, so a file cut short
    keeps it."""
    import av

    opts = {"movflags": "faststart"} if faststart else {}
    with atomic_output(dst) as tmp, av.open(str(src)) as inp, \
            av.open(str(tmp), "w", format="mp4", options=opts) as out:
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        rate = vin.average_rate or Fraction(30)
        vout = out.add_stream("libx264", rate=rate)
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
        vout.options = {"crf": str(crf), "preset": "veryfast", "g": str(gop),
                        "keyint_min": str(gop), "sc_threshold": "0"}
        vout.codec_context.time_base = vin.time_base
        aout = out.add_stream_from_template(ain) if ain is not None else None
        for packet in inp.demux(*(s for s in (vin, ain) if s is not None)):
            if packet.stream is vin:
                for fr in packet.decode():
                    fr.pict_type = av.video.frame.PictureType.NONE
                    out.mux(vout.encode(fr))
            elif packet.dts is not None:
                packet.stream = aout
                out.mux(packet)
        out.mux(vout.encode(None))
