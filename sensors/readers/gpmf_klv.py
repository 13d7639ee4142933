"""GPMF key-length-value payloads: parse the nested KLV tree and decode typed values.

GPMF (GoPro's metadata format, documented in the gopro/gpmf-parser repository) is a big-endian KLV
stream. Each item is an 8-byte header - a 4-character key, a 1-byte type character, a 1-byte
structure size and a 2-byte repeat count - followed by ``size * repeat`` bytes of data, padded
to a multiple of 4. Type ``\\0`` marks a nest of further KLV items (``DEVC`` devices holding
``STRM`` streams); type ``?`` is a structure described by a preceding ``TYPE`` string.

Within a nest, properties such as ``SCAL`` (divisor), ``TYPE``, ``SIUN``/``UNIT``, ``ORIN``/
``ORIO``, ``MTRX``, ``TMPC``, ``STMP``, ``TSMP`` apply to the data items that follow them at the
same level; ``stream_items`` collects them per data item.

Every malformed byte sequence raises ``GpmfError`` (a ``ValueError``) with a one-line reason.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "GpmfError",
    "Klv",
    "TYPE_SIZES",
    "PROPERTY_KEYS",
    "parse_klv",
    "decode",
    "scaled",
    "stream_items",
    "StreamItem",
]


class GpmfError(ValueError):
    """Bytes that are not a well-formed GPMF payload."""


#: Bytes per element of each GPMF type character (gpmf-parser's documentation, "Type").
TYPE_SIZES = {"b": 1, "B": 1, "c": 1, "d": 8, "f": 4, "F": 4, "G": 16, "j": 8, "J": 8,
              "l": 4, "L": 4, "q": 4, "Q": 8, "s": 2, "S": 2, "U": 16}

#: Numeric type characters -> big-endian numpy dtype of the stored integer/float.
_DTYPES = {"b": ">i1", "B": ">u1", "d": ">f8", "f": ">f4", "j": ">i8", "J": ">u8",
           "l": ">i4", "L": ">u4", "s": ">i2", "S": ">u2", "q": ">i4", "Q": ">i8"}
#: Fixed-point types: Q15.16 and Q31.32, divided by 2**16 / 2**32 on decoding.
_FIXED = {"q": 65536.0, "Q": 4294967296.0}

#: Keys that describe the data items after them in the same nest rather than being data.
PROPERTY_KEYS = frozenset({"SCAL", "TYPE", "SIUN", "UNIT", "ORIN", "ORIO", "MTRX", "TMPC",
                           "STMP", "TSMP", "STNM", "RMRK", "TIMO", "EMPT", "TICK", "TOCK",
                           "DVID", "DVNM"})

_KEY_RE = re.compile(rb"[A-Za-z0-9 _\-]{4}")


@dataclass(frozen=True, eq=False)
class Klv:
    """One KLV item.

    Parameters
    ----------
    key : str
        The four-character key (e.g. ``GYRO``).
    type : str
        Type character (``"\\0"`` for a nest, ``"?"`` for a ``TYPE``-described structure).
    size : int
        Bytes per sample (the structure size).
    repeat : int
        Number of samples.
    data : bytes
        The ``size * repeat`` payload bytes (padding removed).
    children : list of Klv
        Parsed items of a nest; empty otherwise.
    """

    key: str
    type: str
    size: int
    repeat: int
    data: bytes
    children: list[Klv] = field(default_factory=list)

    @property
    def is_nest(self) -> bool:
        return self.type == "\0"

    def find(self, key: str) -> list[Klv]:
        """Direct children with ``key``."""
        return [c for c in self.children if c.key == key]


def parse_klv(data: bytes, _depth: int = 0) -> list[Klv]:
    """Parse a GPMF byte string into its top-level items, nests parsed recursively.

    Parameters
    ----------
    data : bytes
        One GPMF payload (e.g. an MP4 sample of the ``gpmd`` track).

    Returns
    -------
    list of Klv

    Raises
    ------
    GpmfError
        A key that is not 4 printable characters, an unknown type character, an item whose
        length runs past the end of its container, or nesting deeper than 8 levels.

    Examples
    --------
    >>> import struct
    >>> raw = b"DVNM" + struct.pack(">cBH", b"c", 1, 6) + b"Camera" + b"\\0\\0"
    >>> [(k.key, decode(k)) for k in parse_klv(raw)]
    [('DVNM', 'Camera')]
    """
    if _depth > 8:
        raise GpmfError("GPMF nesting deeper than 8 levels")
    mv = memoryview(data)
    out: list[Klv] = []
    pos = 0
    n = len(mv)
    while pos + 8 <= n:
        key_b = bytes(mv[pos:pos + 4])
        if key_b == b"\0\0\0\0":  # trailing zero padding of a payload
            break
        if not _KEY_RE.fullmatch(key_b):
            raise GpmfError(f"bad GPMF key {key_b!r} at byte {pos}")
        type_b, size, repeat = struct.unpack_from(">cBH", mv, pos + 4)
        typ = type_b.decode("latin-1")
        if typ != "\0" and typ != "?" and typ not in TYPE_SIZES:
            raise GpmfError(f"unknown GPMF type {typ!r} of {key_b.decode()} at byte {pos}")
        length = size * repeat
        start = pos + 8
        end = start + length
        if end > n:
            raise GpmfError(f"GPMF item {key_b.decode()} at byte {pos} needs {length} bytes, "
                            f"only {n - start} left (truncated)")
        body = bytes(mv[start:end])
        children = parse_klv(body, _depth + 1) if typ == "\0" else []
        out.append(Klv(key_b.decode("ascii"), typ, size, repeat, body, children))
        pos = start + ((length + 3) & ~3)
    if 0 < n - pos < 8 and any(mv[pos:]):
        raise GpmfError(f"{n - pos} stray bytes at the end of a GPMF nest (truncated)")
    return out


def _parse_typedef(typedef: str) -> list[str]:
    """Expand a ``TYPE`` string such as ``"f[8]L"`` into one type character per field."""
    fields: list[str] = []
    i = 0
    while i < len(typedef):
        c = typedef[i]
        if c == "\0":
            break
        if c not in _DTYPES and c not in ("c", "F", "G", "U"):
            raise GpmfError(f"unsupported character {c!r} in GPMF TYPE {typedef!r}")
        m = re.match(r"\[(\d+)\]", typedef[i + 1:])
        count = int(m.group(1)) if m else 1
        fields.extend(c * count)
        i += 1 + (m.end() if m else 0)
    return fields


def decode(item: Klv, typedef: str | None = None):
    """The values of a (non-nest) item.

    Parameters
    ----------
    item : Klv
    typedef : str, optional
        The ``TYPE`` string in force, needed for ``?`` items.

    Returns
    -------
    str or list of str or numpy.ndarray
        ``c``/``U`` text: one string (``size == 1`` or ``repeat == 1``) or a list of ``repeat``
        strings, NUL padding removed. ``F``: a list of four-character strings. Numbers: float64
        array of shape ``(repeat, size // element_size)`` with fixed-point types already
        divided; a single value is a (1, 1) array all the same.
        ``?``: float64 array ``(repeat, n_fields)`` of the numeric fields (text fields as NaN).

    Raises
    ------
    GpmfError
        A structure size that is not a multiple of the element size, or a ``?`` item without
        a matching ``TYPE``.
    """
    t = item.type
    if t == "\0":
        raise GpmfError(f"{item.key} is a nest, not a value")
    if t in ("c", "U"):
        if item.size == 1 or item.repeat == 1:
            return _text(item.data)
        return [_text(item.data[k * item.size:(k + 1) * item.size]) for k in range(item.repeat)]
    if t == "F":
        return [item.data[k:k + 4].decode("latin-1") for k in range(0, len(item.data), 4)]
    if t == "G":
        return [item.data[k:k + 16].hex() for k in range(0, len(item.data), 16)]
    if t == "?":
        if not typedef:
            raise GpmfError(f"{item.key} is a structure but no TYPE precedes it")
        fields = _parse_typedef(typedef)
        sizes = [TYPE_SIZES[c] for c in fields]
        if sum(sizes) != item.size:
            raise GpmfError(f"TYPE {typedef!r} describes {sum(sizes)} bytes but {item.key} "
                            f"samples have {item.size}")
        out = np.full((item.repeat, len(fields)), np.nan)
        off = 0
        for j, (c, sz) in enumerate(zip(fields, sizes, strict=True)):
            if c in _DTYPES:
                col = np.ndarray((item.repeat,), dtype=_DTYPES[c], buffer=item.data,
                                 offset=off, strides=(item.size,))
                out[:, j] = col.astype(np.float64) / _FIXED.get(c, 1.0)
            off += sz
        return out
    esize = TYPE_SIZES[t]
    if item.size % esize:
        raise GpmfError(f"{item.key}: structure size {item.size} is not a multiple of "
                        f"{esize} bytes for type {t!r}")
    arr = np.frombuffer(item.data, dtype=_DTYPES[t]).astype(np.float64)
    arr = arr.reshape(item.repeat, item.size // esize) if item.size else arr.reshape(0, 0)
    return arr / _FIXED[t] if t in _FIXED else arr


def _text(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("latin-1").strip()


def scaled(values: np.ndarray, scal: np.ndarray | None) -> np.ndarray:
    """Values divided by a ``SCAL`` property: one divisor for all, or one per column.

    Raises
    ------
    GpmfError
        A zero divisor, or a per-column ``SCAL`` whose length does not match the columns.
    """
    if scal is None:
        return values
    s = np.asarray(scal, dtype=np.float64).ravel()
    if np.any(s == 0):
        raise GpmfError("SCAL divisor of 0")
    if s.size == 1:
        return values / s[0]
    if values.ndim != 2 or s.size != values.shape[1]:
        raise GpmfError(f"SCAL has {s.size} divisors for {values.shape[-1]}-column data")
    return values / s


@dataclass(frozen=True, eq=False)
class StreamItem:
    """A data item of a ``STRM`` with the properties in force where it stands.

    Parameters
    ----------
    key : str
        The data key (e.g. ``GYRO``).
    item : Klv
        The raw item.
    props : dict
        Property key -> decoded value, for the properties given before ``item`` in its stream
        (``SCAL``, ``TYPE``, ``SIUN``, ``ORIN``, ``STMP``, ``TSMP``, ...).
    """

    key: str
    item: Klv
    props: dict

    def values(self) -> np.ndarray | str | list:
        """Decoded values, scaled by ``SCAL`` when numeric."""
        v = decode(self.item, self.props.get("TYPE"))
        if isinstance(v, np.ndarray):
            return scaled(v, self.props.get("SCAL"))
        return v


def stream_items(stream: Klv) -> list[StreamItem]:
    """The data items of one ``STRM`` nest, each with the properties that precede it.

    Raises
    ------
    GpmfError
        A property that cannot be decoded.
    """
    props: dict = {}
    out: list[StreamItem] = []
    for c in stream.children:
        if c.key in PROPERTY_KEYS and not c.is_nest:
            props[c.key] = decode(c)
        elif not c.is_nest:
            out.append(StreamItem(c.key, c, dict(props)))
    return out
