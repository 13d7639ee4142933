"""Plain CSV gyro logs with a column/unit mapping.

Options (all optional; auto-detected from the header when left out):

- ``time_col``: the time column. Auto: ``t``, ``time``, ``timestamp``, ``ts``, ``t_s``,
  ``time_ms``, ``timestamp_us``, ... after a shared prefix such as ``sm_`` or ``mcu_``.
- ``gyro_cols``: three column names. Auto: ``gx,gy,gz``, ``x,y,z``, ``wx,wy,wz``,
  ``gyro_x,...``, ``omega_x,...``, ``rate_x,...`` (again after the shared prefix).
- ``time_unit``: ``s``, ``ms``, ``us`` or ``ns``. Auto: from a unit suffix of the time column
  (``time_ms``); otherwise from the sample interval, which must point to exactly one unit with a
  rate of 10 Hz - 20 kHz, else an InputError asks for it.
- ``gyro_unit``: ``rad/s`` (default) or ``deg/s``; a column suffix ``_dps``/``_deg_s`` means deg/s.
- ``axes``: Gyroflow orientation string of the columns (``sensors.readers.axes``); default
  ``yxz``, i.e. the columns are already OpenCV camera axes (x right, y down, z forward).
- ``delimiter``: sniffed among ``,`` ``;`` tab and space when not given.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError
from ..types import GyroLog, SensorLog
from ._common import RATE_UNITS, TIME_UNITS, parse_rows, read_text
from .axes import CAMERA_AXES_ORIENTATION, parse_orientation, raw_to_camera

__all__ = ["read_csv_log", "sniff_csv_header"]

_TIME_NAMES = ("t", "time", "timestamp", "ts", "sec", "seconds", "sensor_time")
_GYRO_TRIPLETS = (
    ("gx", "gy", "gz"),
    ("x", "y", "z"),
    ("wx", "wy", "wz"),
    ("gyro_x", "gyro_y", "gyro_z"),
    ("gyrox", "gyroy", "gyroz"),
    ("omega_x", "omega_y", "omega_z"),
    ("rate_x", "rate_y", "rate_z"),
    ("rotationratex", "rotationratey", "rotationratez"),
)
_UNIT_SUFFIXES = {"_s": "s", "_sec": "s", "_ms": "ms", "_us": "us", "_ns": "ns"}
_DEG_SUFFIXES = ("_dps", "_deg_s", "_degs", "_deg")
_RAD_SUFFIXES = ("_rad_s", "_rads", "_rad")
_RATE_RANGE_HZ = (10.0, 20000.0)


def _sniff_delimiter(line: str) -> str:
    for d in (",", ";", "\t"):
        if d in line:
            return d
    return " "


def _split(line: str, delimiter: str) -> list[str]:
    parts = line.split() if delimiter == " " else line.split(delimiter)
    return [p.strip().strip('"').strip("'") for p in parts]


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def sniff_csv_header(text_head: str) -> tuple[list[str], str] | None:
    """Column names and delimiter if the first non-empty line is a non-numeric header row."""
    for line in text_head.splitlines():
        if line.strip():
            delim = _sniff_delimiter(line)
            names = _split(line.strip(), delim)
            if len(names) >= 4 and not any(_is_number(n) for n in names):
                return names, delim
            return None
    return None


def _common_prefix(names: list[str]) -> str:
    """A shared ``xxx_`` prefix of all column names (``sm_``, ``mcu_``), else ''."""
    first = names[0]
    if "_" not in first:
        return ""
    prefix = first.split("_", 1)[0] + "_"
    return prefix if all(n.startswith(prefix) for n in names) else ""


def _strip_units(name: str, suffixes) -> tuple[str, str | None]:
    for suf in suffixes:
        if name.endswith(suf) and len(name) > len(suf):
            return name[: -len(suf)], suf
    return name, None


def _find_time_col(keys: list[str]) -> tuple[int, str | None]:
    for i, k in enumerate(keys):
        base, suf = _strip_units(k, tuple(_UNIT_SUFFIXES))
        if k in _TIME_NAMES:
            return i, None
        if base in _TIME_NAMES and suf is not None:
            return i, _UNIT_SUFFIXES[suf]
    return -1, None


def _find_gyro_cols(keys: list[str]) -> tuple[list[int], str | None]:
    for trip in _GYRO_TRIPLETS:
        for sufs, unit in ((_DEG_SUFFIXES, "deg/s"), (_RAD_SUFFIXES, "rad/s"), ((), None)):
            found = []
            for axis in trip:
                # A bare axis name says nothing of the unit: only the suffixed passes may
                # claim deg/s or rad/s.
                if sufs:
                    cand = [i for i, k in enumerate(keys) if any(k == axis + s for s in sufs)]
                else:
                    cand = [i for i, k in enumerate(keys) if k == axis]
                found.append(cand[0] if cand else -1)
            if all(i >= 0 for i in found):
                return found, unit
    return [], None


def _infer_time_unit(t_raw: np.ndarray, col: str, path: str) -> str:
    d = np.diff(t_raw)
    d = d[d > 0]
    if d.size == 0:
        raise InputError(f"time column {col!r} does not increase", path)
    dt = float(np.median(d))
    lo, hi = 1.0 / _RATE_RANGE_HZ[1], 1.0 / _RATE_RANGE_HZ[0]
    fits = [u for u, s in TIME_UNITS.items() if lo <= dt * s <= hi]
    if len(fits) != 1:
        raise InputError(
            f"cannot tell the unit of time column {col!r} (median step {dt:g}); pass "
            "time_unit, one of " + ", ".join(TIME_UNITS),
            path,
        )
    return fits[0]


def read_csv_log(
    path: str | os.PathLike,
    *,
    time_col: str | None = None,
    gyro_cols: tuple[str, str, str] | list[str] | None = None,
    time_unit: str | None = None,
    gyro_unit: str | None = None,
    axes: str = CAMERA_AXES_ORIENTATION,
    delimiter: str | None = None,
) -> SensorLog:
    """Read a plain CSV gyro log (see the module docstring for the options).

    Returns
    -------
    SensorLog
        ``format='csv'``; gyro in rad/s in camera axes on the file's own clock.
        ``meta`` records the columns and units used and whether they were inferred.

    Raises
    ------
    InputError
        Missing/empty file, no header, unknown columns or units (the message lists the valid
        ones), malformed rows, NaN/inf, non-monotonic or duplicated timestamps.
    """
    path = str(path)
    if time_unit is not None and time_unit not in TIME_UNITS:
        raise InputError(f"unknown time unit {time_unit!r}; valid: " + ", ".join(TIME_UNITS),
                         path)
    if gyro_unit is not None and gyro_unit not in RATE_UNITS:
        raise InputError(f"unknown gyro unit {gyro_unit!r}; valid: " + ", ".join(RATE_UNITS),
                         path)
    parse_orientation(axes, path)
    lines = read_text(path).splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if start is None:
        raise InputError("file holds no text", path)
    delim = delimiter or _sniff_delimiter(lines[start])
    names = _split(lines[start].strip(), delim)
    if any(_is_number(n) for n in names):
        raise InputError("no header row: the first line must name the columns "
                         "(e.g. t,gx,gy,gz)", path)
    prefix = _common_prefix([n.lower() for n in names])
    keys = [n.lower()[len(prefix):] for n in names]
    inferred: list[str] = []

    if time_col is not None:
        if time_col not in names:
            raise InputError(f"no time column {time_col!r}; columns: " + ", ".join(names), path)
        ti, name_unit = names.index(time_col), None
    else:
        ti, name_unit = _find_time_col(keys)
        if ti < 0:
            raise InputError("no time column found (t, time, timestamp, ...); pass time_col; "
                             "columns: " + ", ".join(names), path)
        inferred.append("time_col")
    if gyro_cols is not None:
        if len(gyro_cols) != 3 or any(c not in names for c in gyro_cols):
            raise InputError(f"gyro_cols must name 3 of the columns, got {list(gyro_cols)}; "
                             "columns: " + ", ".join(names), path)
        gi, col_unit = [names.index(c) for c in gyro_cols], None
    else:
        gi, col_unit = _find_gyro_cols(keys)
        if not gi:
            raise InputError("no gyro columns found (gx,gy,gz / x,y,z / wx,wy,wz ...); pass "
                             "gyro_cols; columns: " + ", ".join(names), path)
        inferred.append("gyro_cols")

    rows = parse_rows(lines[start + 1:], start + 2, len(names), delim, path)
    if rows.shape[0] < 2:
        raise InputError(f"only {rows.shape[0]} data row(s); a gyro log needs at least 2", path)
    t_raw = rows[:, ti]
    g_raw = rows[:, gi]
    if not (np.all(np.isfinite(t_raw)) and np.all(np.isfinite(g_raw))):
        bad = int(np.flatnonzero(~(np.isfinite(t_raw) & np.isfinite(g_raw).all(axis=1)))[0])
        raise InputError(f"data row {bad + 1} holds NaN or infinity", path)

    if time_unit is None:
        time_unit = name_unit or _infer_time_unit(t_raw, names[ti], path)
        inferred.append("time_unit")
    if gyro_unit is None:
        gyro_unit = col_unit or "rad/s"
        inferred.append("gyro_unit")
    t_s = t_raw * TIME_UNITS[time_unit]
    omega = raw_to_camera(g_raw * RATE_UNITS[gyro_unit], axes, path)
    gyro = GyroLog(t_s, omega, None, path)
    meta = {
        "time_col": names[ti],
        "gyro_cols": [names[i] for i in gi],
        "time_unit": time_unit,
        "gyro_unit": gyro_unit,
        "axes": axes,
        "delimiter": delim,
        "inferred": inferred,
    }
    return SensorLog(path=path, format="csv", gyro=gyro, imu_orientation=axes, meta=meta)
