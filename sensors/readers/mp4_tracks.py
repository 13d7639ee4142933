"""The sample tables of an MP4/MOV file: where each sample of a track lies and when it plays.

Only the ``moov`` box is read into memory (GoPro files put ``mdat`` first and are up to 4 GB);
sample bytes are read on demand. Times are on the movie timeline: a sample's decode time from
``stts``, minus the media time of the track's first edit and plus any leading empty edit
(``elst``), over the media timescale (``mdhd``) - the same timeline the video track's frame
times are on, which is what puts embedded telemetry on the video's clock.

Box layouts follow ISO/IEC 14496-12 (``mvhd``, ``tkhd``, ``mdhd``, ``hdlr``, ``stsd``,
``stts``, ``stsc``, ``stsz``, ``stco``/``co64``, ``elst``) and Apple's QuickTime File Format.
Malformed or truncated structure raises ``Mp4Error`` (a ``ValueError``) with a one-line reason.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Mp4Error", "Track", "Mp4Index", "read_mp4_index", "looks_like_mp4", "CONTAINER_BOXES"]

#: Boxes whose body is a sequence of boxes.
CONTAINER_BOXES = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"edts",
                             b"dinf"})
_MAX_MOOV_BYTES = 512 * 1024 * 1024
_MDAT_HEAD_BYTES = 1024


class Mp4Error(ValueError):
    """A file whose MP4 box structure is missing, inconsistent or truncated."""


#: Box types an ISO-BMFF (MP4/MOV) file starts with.
_FIRST_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def looks_like_mp4(head: bytes) -> bool:
    """True if the first bytes of a file are an ISO-BMFF (MP4/MOV) box header."""
    return len(head) >= 8 and head[4:8] in _FIRST_BOXES


@dataclass(frozen=True, eq=False)
class Track:
    """One track's sample table on the movie timeline.

    Parameters
    ----------
    track_id : int
    handler : str
        ``hdlr`` handler type (``vide``, ``soun``, ``meta``, ``tmcd``, ...).
    handler_name : str
        ``hdlr`` name (e.g. ``GoPro MET``), control characters stripped.
    sample_format : str
        Four-cc of the first sample description (``avc1``, ``gpmd``, ...).
    timescale : int
        Media ticks per second.
    t_s : (N,) float64
        Start time of each sample on the movie timeline, seconds.
    duration_s : (N,) float64
        Duration of each sample, seconds.
    offset : (N,) int64
        Byte offset of each sample in the file.
    size : (N,) int64
        Byte size of each sample.
    """

    track_id: int
    handler: str
    handler_name: str
    sample_format: str
    timescale: int
    t_s: np.ndarray
    duration_s: np.ndarray
    offset: np.ndarray
    size: np.ndarray

    def __len__(self) -> int:
        return int(self.t_s.size)


@dataclass(frozen=True, eq=False)
class Mp4Index:
    """The tracks of a file plus its user-data boxes.

    Parameters
    ----------
    path : str
    tracks : list of Track
    udta : dict
        ``moov/udta`` child four-cc -> body bytes (e.g. GoPro's ``GPMF`` settings box).
    file_size : int
    mdat_head : bytes
        The first bytes of the ``mdat`` body (GoPro writes a ``GPRO`` block with the camera
        model there).
    """

    path: str
    tracks: list[Track]
    udta: dict[str, bytes]
    file_size: int
    mdat_head: bytes = b""

    def read_samples(self, track: Track) -> list[bytes]:
        """The bytes of every sample of ``track``, in order.

        Raises
        ------
        Mp4Error
            A sample that lies (partly) beyond the end of the file.
        """
        end = track.offset + track.size
        if track.size.size and int(end.max()) > self.file_size:
            i = int(np.flatnonzero(end > self.file_size)[0])
            name = track.handler_name or track.handler
            raise Mp4Error(f"sample {i} of track {track.track_id} ({name}) lies beyond the "
                           "end of the file (truncated)")
        out = []
        with open(self.path, "rb") as f:
            for off, sz in zip(track.offset.tolist(), track.size.tolist(), strict=True):
                f.seek(off)
                out.append(f.read(sz))
        return out


def _boxes(buf: bytes | memoryview, start: int = 0, end: int | None = None):
    """(type, body_start, body_end) of the boxes in ``buf[start:end]``."""
    end = len(buf) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, typ = struct.unpack_from(">I4s", buf, pos)
        hdr = 8
        if size == 1:
            if pos + 16 > end:
                raise Mp4Error("truncated 64-bit box header")
            size = struct.unpack_from(">Q", buf, pos + 8)[0]
            hdr = 16
        elif size == 0:
            size = end - pos
        if size < hdr or pos + size > end:
            raise Mp4Error(f"box {typ!r} at byte {pos} claims {size} bytes, "
                           f"{end - pos} available (truncated)")
        yield typ, pos + hdr, pos + size
        pos += size


def _top_level(f, file_size: int) -> dict[bytes, tuple[int, int]]:
    """Top-level box type -> (body offset, body size), scanning headers only."""
    found: dict[bytes, tuple[int, int]] = {}
    pos = 0
    while pos + 8 <= file_size:
        f.seek(pos)
        head = f.read(16)
        size, typ = struct.unpack_from(">I4s", head, 0)
        hdr = 8
        if size == 1:
            if len(head) < 16:
                raise Mp4Error("truncated 64-bit box header")
            size = struct.unpack_from(">Q", head, 8)[0]
            hdr = 16
        elif size == 0:
            size = file_size - pos
        if size < hdr:
            raise Mp4Error(f"box {typ!r} at byte {pos} has an invalid size {size}")
        if not all(32 <= c < 127 or c == 0xA9 for c in typ):
            raise Mp4Error(f"no MP4 box at byte {pos} (found {typ!r})")
        found.setdefault(typ, (pos + hdr, min(size, file_size - pos) - hdr))
        if pos + size > file_size and typ == b"moov":
            raise Mp4Error("the moov box runs past the end of the file (truncated)")
        pos += size
    return found


def _full_box(buf, a: int) -> tuple[int, int]:
    """(version, flags) of a full box body starting at ``a``."""
    v = buf[a]
    return v, int.from_bytes(bytes(buf[a + 1:a + 4]), "big")


def _arr(buf, a: int, count: int, fmt: str, end: int) -> np.ndarray:
    dt = np.dtype(fmt)
    if a + count * dt.itemsize > end:
        raise Mp4Error("sample table shorter than its entry count (truncated)")
    return np.frombuffer(bytes(buf[a:a + count * dt.itemsize]), dtype=dt).astype(np.int64)


def _parse_trak(buf, a: int, b: int, movie_timescale: int, file_size: int) -> Track | None:
    boxes = {}

    def walk(s, e, prefix):
        for typ, bs, be in _boxes(buf, s, e):
            name = prefix + typ.decode("latin-1")
            boxes.setdefault(name, (bs, be))
            if typ in CONTAINER_BOXES:
                walk(bs, be, name + "/")

    walk(a, b, "")
    need = ("tkhd", "mdia/mdhd", "mdia/hdlr", "mdia/minf/stbl/stts", "mdia/minf/stbl/stsc",
            "mdia/minf/stbl/stsz")
    if any(k not in boxes for k in need):
        return None
    s, _ = boxes["tkhd"]
    v, _ = _full_box(buf, s)
    track_id = struct.unpack_from(">I", buf, s + (20 if v == 1 else 12))[0]
    s, e = boxes["mdia/mdhd"]
    v, _ = _full_box(buf, s)
    timescale = struct.unpack_from(">I", buf, s + (20 if v == 1 else 12))[0]
    if timescale == 0:
        raise Mp4Error(f"track {track_id} has a zero timescale")
    s, e = boxes["mdia/hdlr"]
    handler = bytes(buf[s + 8:s + 12]).decode("latin-1")
    raw_name = bytes(buf[s + 24:e])
    name = "".join(ch for ch in raw_name.decode("latin-1") if ch.isprintable()).strip()
    fmt = ""
    if "mdia/minf/stbl/stsd" in boxes:
        s, e = boxes["mdia/minf/stbl/stsd"]
        if s + 16 <= e:
            fmt = bytes(buf[s + 12:s + 16]).decode("latin-1")

    s, e = boxes["mdia/minf/stbl/stts"]
    n = struct.unpack_from(">I", buf, s + 4)[0]
    stts = _arr(buf, s + 8, 2 * n, ">u4", e).reshape(n, 2)
    s, e = boxes["mdia/minf/stbl/stsz"]
    fixed, count = struct.unpack_from(">II", buf, s + 4)
    if fixed and count * fixed > file_size:
        raise Mp4Error(f"track {track_id} claims {count} samples of {fixed} bytes, more than "
                       "the file holds")
    sizes = (np.full(count, fixed, dtype=np.int64) if fixed
             else _arr(buf, s + 12, count, ">u4", e))
    s, e = boxes["mdia/minf/stbl/stsc"]
    n = struct.unpack_from(">I", buf, s + 4)[0]
    stsc = _arr(buf, s + 8, 3 * n, ">u4", e).reshape(n, 3)
    if "mdia/minf/stbl/stco" in boxes:
        s, e = boxes["mdia/minf/stbl/stco"]
        n = struct.unpack_from(">I", buf, s + 4)[0]
        chunks = _arr(buf, s + 8, n, ">u4", e)
    elif "mdia/minf/stbl/co64" in boxes:
        s, e = boxes["mdia/minf/stbl/co64"]
        n = struct.unpack_from(">I", buf, s + 4)[0]
        chunks = _arr(buf, s + 8, n, ">u8", e)
    else:
        raise Mp4Error(f"track {track_id} has no chunk offsets (stco/co64)")

    n_times = int(stts[:, 0].sum()) if stts.size else 0
    if n_times != count:
        raise Mp4Error(f"track {track_id}: {n_times} sample times for {count} samples")
    deltas = np.repeat(stts[:, 1], stts[:, 0]) if stts.size else np.zeros(0, np.int64)
    offsets = _sample_offsets(stsc, chunks, sizes, track_id)

    dts = np.concatenate([[0], np.cumsum(deltas)[:-1]]) if count else deltas
    start_s = 0.0
    media_start = 0
    if "edts/elst" in boxes:
        s, e = boxes["edts/elst"]
        v, _ = _full_box(buf, s)
        n = struct.unpack_from(">I", buf, s + 4)[0]
        pos = s + 8
        for _ in range(n):
            if v == 1:
                seg, mt = struct.unpack_from(">Qq", buf, pos)
                pos += 20
            else:
                seg, mt = struct.unpack_from(">Ii", buf, pos)
                pos += 12
            if mt == -1:  # an empty edit delays the track
                start_s += seg / movie_timescale
                continue
            media_start = mt
            break
    t_s = (dts - media_start) / timescale + start_s
    return Track(int(track_id), handler, name, fmt, int(timescale), t_s.astype(np.float64),
                 deltas / timescale, offsets, sizes)


def _sample_offsets(stsc: np.ndarray, chunks: np.ndarray, sizes: np.ndarray,
                    track_id: int) -> np.ndarray:
    """File offset of every sample from the chunk table (``stsc``) and chunk offsets."""
    count = sizes.size
    offsets = np.empty(count, dtype=np.int64)
    k = 0
    n_chunks = chunks.size
    for r in range(stsc.shape[0]):
        first = int(stsc[r, 0]) - 1
        last = int(stsc[r + 1, 0]) - 1 if r + 1 < stsc.shape[0] else n_chunks
        per = int(stsc[r, 1])
        for c in range(first, min(last, n_chunks)):
            off = int(chunks[c])
            for _ in range(per):
                if k >= count:
                    return offsets
                offsets[k] = off
                off += int(sizes[k])
                k += 1
    if k != count:
        raise Mp4Error(f"track {track_id}: chunk table places {k} of {count} samples")
    return offsets


def read_mp4_index(path: str | os.PathLike) -> Mp4Index:
    """Read the ``moov`` box of an MP4/MOV file into sample tables.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    Mp4Index

    Raises
    ------
    Mp4Error
        No ``moov`` box, or a box structure that is inconsistent or cut short.

    Examples
    --------
    >>> idx = read_mp4_index("samples/gopro/hero7.mp4")  # doctest: +SKIP
    >>> [t.handler_name for t in idx.tracks]  # doctest: +SKIP
    ['GoPro AVC', 'GoPro AAC', 'GoPro TCD', 'GoPro MET', 'GoPro SOS']
    """
    p = Path(path)
    file_size = p.stat().st_size
    with open(p, "rb") as f:
        top = _top_level(f, file_size)
        if b"moov" not in top:
            raise Mp4Error("no moov box (not an MP4/MOV file, or cut before its index)")
        off, size = top[b"moov"]
        if size > _MAX_MOOV_BYTES:
            raise Mp4Error(f"moov box of {size} bytes is implausibly large")
        f.seek(off)
        moov = f.read(size)
        mdat_head = b""
        if b"mdat" in top:
            f.seek(top[b"mdat"][0])
            mdat_head = f.read(min(_MDAT_HEAD_BYTES, top[b"mdat"][1]))
    if len(moov) < size:
        raise Mp4Error("the moov box is cut short (truncated)")
    movie_timescale = 1000
    tracks: list[Track] = []
    udta: dict[str, bytes] = {}
    try:
        for typ, a, _end in _boxes(moov):
            if typ == b"mvhd":
                v, _ = _full_box(moov, a)
                movie_timescale = struct.unpack_from(">I", moov, a + (20 if v == 1 else 12))[0]
                movie_timescale = movie_timescale or 1000
        for typ, a, b in _boxes(moov):
            if typ == b"trak":
                tr = _parse_trak(moov, a, b, movie_timescale, file_size)
                if tr is not None:
                    tracks.append(tr)
            elif typ == b"udta":
                for t2, a2, b2 in _boxes(moov, a, b):
                    udta.setdefault(t2.decode("latin-1"), bytes(moov[a2:b2]))
    except struct.error as exc:
        raise Mp4Error(f"box structure cut short ({exc})") from None
    return Mp4Index(str(p), tracks, udta, file_size, mdat_head)
