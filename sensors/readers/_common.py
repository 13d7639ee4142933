"""Small helpers shared by the readers: opening files and turning parse failures into one line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError

#: Seconds per unit of the time units the readers accept.
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
#: rad/s per unit of the angular-rate units the readers accept.
RATE_UNITS = {"rad/s": 1.0, "deg/s": np.pi / 180.0}
#: Standard gravity, m/s^2 per g (gcsv ``ascale`` scales to g).
G_M_S2 = 9.80665


def check_file(path: str | os.PathLike) -> Path:
    """The path as a ``Path`` if it is an existing, non-empty regular file."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", str(p))
    if p.is_dir():
        raise InputError("is a folder, expected a file", str(p))
    if p.stat().st_size == 0:
        raise InputError("file is empty", str(p))
    return p


def read_text(path: str | os.PathLike) -> str:
    """Whole file as text; a binary or non-UTF-8 file is an InputError, not a crash."""
    p = check_file(path)
    data = p.read_bytes()
    if b"\x00" in data[:4096]:
        raise InputError("binary data where a text log was expected", str(p))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not a UTF-8 text file (byte {exc.start})", str(p)) from None


def head_bytes(path: str | os.PathLike, n: int = 4096) -> bytes:
    """The first ``n`` bytes of a file (for format detection)."""
    with open(path, "rb") as f:
        return f.read(n)


def one_line(exc: BaseException) -> str:
    """An exception's message squeezed onto one line."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def parse_rows(lines: list[str], first_line_no: int, ncols: int, delimiter: str,
               path: str) -> np.ndarray:
    """Parse numeric rows (``ncols`` each) into an (N, ncols) float64 array.

    Blank lines are skipped. A row with the wrong number of fields or a non-number names its line
    (1-based, as an editor shows it), which is also how a truncated last line is reported.
    """
    body = [ln for ln in lines if ln.strip()]
    if not body:
        return np.empty((0, ncols))
    try:  # fast path; on failure the slow loop below finds and names the bad line
        arr = np.loadtxt(body, delimiter=None if delimiter == " " else delimiter, ndmin=2,
                         dtype=np.float64)
        if arr.shape[1] == ncols:
            return arr
    except ValueError:
        pass
    out = np.empty((len(lines), ncols), dtype=np.float64)
    n = 0
    for k, line in enumerate(lines):
        s = line.strip()
        if not s:
            continue
        fields = s.split(delimiter) if delimiter != " " else s.split()
        if len(fields) != ncols:
            raise InputError(
                f"line {first_line_no + k}: expected {ncols} values, found {len(fields)} "
                "(truncated or malformed row)",
                path,
            )
        try:
            out[n] = [float(v) for v in fields]
        except ValueError:
            raise InputError(f"line {first_line_no + k}: not a number in {s[:60]!r}",
                             path) from None
        n += 1
    return out[:n]
