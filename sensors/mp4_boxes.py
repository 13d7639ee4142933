"""A small ISO base media (MP4/MOV) box reader and writer: enough to read and edit the ``moov``
tree (e.g. add spherical video metadata) without touching the media data.

A box is ``size`` (32 bits; 1 = a 64-bit size follows; 0 = to the end of the file), a four-
character type, for ``uuid`` a 16-byte user type, then its payload. Container boxes hold boxes;
``stsd`` holds 8 bytes (version, flags, entry count) and then sample entries, and a visual
sample entry (``avc1``, ``hvc1``, ...) holds 78 bytes of fields and then boxes (ISO/IEC 14496-12
8.5.2). Other boxes are kept as opaque bytes.

``update_moov`` rewrites a file's ``moov``: in place when it is the last top-level box (the
media data is not copied), else by copying the file with every chunk offset (``stco``,
``co64``) moved by the change in size.

Examples
--------
>>> b = Box(b"moov", children=[Box(b"udta", children=[Box(b"free", payload=b"abc")])])
>>> parse_boxes(b.serialize())[0].find(b"udta", b"free").payload
b'abc'
"""

from __future__ import annotations

import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

__all__ = ["Box", "parse_boxes", "top_level_boxes", "read_moov", "update_moov",
           "CONTAINERS", "VISUAL_SAMPLE_ENTRIES"]

CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"udta",
                        b"dinf", b"mvex", b"sv3d", b"proj", b"moof", b"traf"})
VISUAL_SAMPLE_ENTRIES = frozenset({b"avc1", b"avc3", b"hvc1", b"hev1", b"mp4v", b"av01",
                                   b"vp09", b"apch", b"apcn", b"apcs", b"apco", b"ap4h",
                                   b"ap4x", b"encv"})
_VISUAL_PREFIX = 78
_STSD_PREFIX = 8


@dataclass(eq=False)
class Box:
    """One box: ``type`` (4 bytes), ``children`` (for containers, ``stsd`` and visual sample
    entries; ``prefix`` holds the bytes before them) or an opaque ``payload``; ``usertype`` is
    the 16-byte id of a ``uuid`` box."""

    type: bytes
    payload: bytes = b""
    children: list[Box] | None = None
    prefix: bytes = b""
    usertype: bytes = b""

    def serialize(self) -> bytes:
        """The box's bytes (sizes recomputed)."""
        body = self.usertype + self.prefix
        if self.children is not None:
            body += b"".join(c.serialize() for c in self.children)
        else:
            body += self.payload
        n = 8 + len(body)
        if n < 1 << 32:
            return struct.pack(">I4s", n, self.type) + body
        return struct.pack(">I4sQ", 1, self.type, n + 8) + body

    def find(self, *path: bytes) -> Box | None:
        """The first descendant along a path of types (one type per level), or None."""
        node: Box | None = self
        for t in path:
            if node is None or node.children is None:
                return None
            node = next((c for c in node.children if c.type == t), None)
        return node

    def find_all(self, box_type: bytes) -> list[Box]:
        """Every descendant of ``box_type`` (depth first)."""
        out: list[Box] = []
        for c in self.children or ():
            if c.type == box_type:
                out.append(c)
            out.extend(c.find_all(box_type))
        return out


def _header(data: bytes | memoryview, pos: int, end: int) -> tuple[bytes, int, int]:
    """Type, payload start and box end of the box at ``pos``."""
    if end - pos < 8:
        raise InputError(f"truncated box header at byte {pos}")
    size, typ = struct.unpack_from(">I4s", data, pos)
    start = pos + 8
    if size == 1:
        if end - pos < 16:
            raise InputError(f"truncated box header at byte {pos}")
        (size,) = struct.unpack_from(">Q", data, start)
        start += 8
    elif size == 0:
        size = end - pos
    if size < start - pos or pos + size > end:
        raise InputError(f"box {typ!r} at byte {pos} has an impossible size {size}")
    return bytes(typ), start, pos + size


def parse_boxes(data: bytes, parse_children: bool = True) -> list[Box]:
    """Boxes in ``data`` (recursively into containers, ``stsd`` and visual sample entries)."""
    out: list[Box] = []
    pos, end = 0, len(data)
    while pos < end:
        typ, start, stop = _header(data, pos, end)
        usertype = b""
        if typ == b"uuid":
            usertype, start = bytes(data[start:start + 16]), start + 16
        prefix_len = (0 if typ in CONTAINERS else _STSD_PREFIX if typ == b"stsd"
                      else _VISUAL_PREFIX if typ in VISUAL_SAMPLE_ENTRIES else None)
        if parse_children and prefix_len is not None and stop - start >= prefix_len:
            prefix = bytes(data[start:start + prefix_len])
            try:
                kids = parse_boxes(data[start + prefix_len:stop])
            except InputError:  # not boxes after all (e.g. a codec-private layout): opaque
                out.append(Box(typ, bytes(data[start:stop]), usertype=usertype))
            else:
                out.append(Box(typ, children=kids, prefix=prefix, usertype=usertype))
        else:
            out.append(Box(typ, bytes(data[start:stop]), usertype=usertype))
        pos = stop
    return out


def top_level_boxes(path: str | os.PathLike) -> list[tuple[bytes, int, int]]:
    """``(type, offset, size)`` of each top-level box of a file, read from the headers only."""
    p = Path(path)
    out = []
    with open(p, "rb") as f:
        end = f.seek(0, os.SEEK_END)
        pos = 0
        while pos < end:
            f.seek(pos)
            head = f.read(16)
            try:
                typ, _, stop = _header(head, 0, end - pos)
            except InputError as exc:
                raise InputError(f"not an MP4/MOV box structure: {exc}", str(p)) from None
            out.append((typ, pos, stop))
            pos += stop
    return out


def read_moov(path: str | os.PathLike) -> Box:
    """The file's ``moov`` box, parsed."""
    boxes = top_level_boxes(path)
    found = [(o, s) for t, o, s in boxes if t == b"moov"]
    if not found:
        raise InputError("no moov box (not an MP4/MOV file?)", str(path))
    off, size = found[0]
    with open(path, "rb") as f:
        f.seek(off)
        data = f.read(size)
    return parse_boxes(data)[0]


def _shift_chunk_offsets(moov: Box, delta: int) -> None:
    for box in moov.find_all(b"stco") + moov.find_all(b"co64"):
        p = box.payload
        (n,) = struct.unpack_from(">I", p, 4)
        fmt = f">{n}I" if box.type == b"stco" else f">{n}Q"
        vals = [v + delta for v in struct.unpack_from(fmt, p, 8)]
        if box.type == b"stco" and vals and max(vals) >= 1 << 32:
            raise InputError("chunk offsets outgrow 32 bits; cannot move the media data")
        box.payload = p[:8] + struct.pack(fmt, *vals)


def update_moov(path: str | os.PathLike, moov: Box) -> None:
    """Replace the file's ``moov`` with ``moov`` (same media data, offsets kept valid)."""
    p = Path(path)
    boxes = top_level_boxes(p)
    idx = [i for i, (t, _, _) in enumerate(boxes) if t == b"moov"]
    if not idx:
        raise InputError("no moov box (not an MP4/MOV file?)", str(p))
    i = idx[0]
    _, off, size = boxes[i]
    media_after = any(t == b"mdat" for t, _, _ in boxes[i + 1:])
    if not media_after and i == len(boxes) - 1:
        data = moov.serialize()
        with open(p, "r+b") as f:
            f.seek(off)
            f.write(data)
            f.truncate()
        return
    data = moov.serialize()
    delta = len(data) - size
    if media_after and delta:
        _shift_chunk_offsets(moov, delta)
        data = moov.serialize()
    tmp = p.with_name(p.name + ".moov")
    try:
        with open(p, "rb") as src, open(tmp, "wb") as dst:
            for t, o, s in boxes:
                if t == b"moov" and o == off:
                    dst.write(data)
                    continue
                src.seek(o)
                remaining = s
                while remaining:
                    chunk = src.read(min(remaining, 1 << 20))
                    if not chunk:
                        raise InputError("file ended inside a box", str(p))
                    dst.write(chunk)
                    remaining -= len(chunk)
        shutil.copymode(p, tmp)
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()

