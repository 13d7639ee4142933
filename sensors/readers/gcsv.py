"""Gyroflow ``.gcsv`` logs, read here rather than through telemetry-parser.

telemetry-parser re-bases gcsv timestamps to start at 0, which would lose the log's clock (the
first row's ``t`` is part of the offset to the video, docs/architecture.md "Time"). Format
(Gyroflow docs,
"gcsv format"): a first line ``GYROFLOW IMU LOG`` or ``CAMERA IMU LOG``, then ``key,value``
header lines (``version``, ``id``, ``orientation``, ``note``, ``fwversion``, ``vendor``,
``videofilename``, ``lensprofile``, ``frame_readout_time`` in ms, ``frame_readout_direction``,
``tscale`` s/tick, ``gscale`` rad/s per unit, ``ascale`` g per unit, ``mscale`` gauss per unit),
then the column row ``t,gx,gy,gz[,ax,ay,az[,mx,my,mz]]`` and the rows, raw integers or floats.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError
from ..types import GyroLog, SensorLog
from ._common import G_M_S2, parse_rows, read_text
from .axes import raw_to_camera

__all__ = ["MAGIC_LINES", "READOUT_DIRECTION_NAMES", "read_gcsv", "looks_like_gcsv"]

MAGIC_LINES = ("GYROFLOW IMU LOG", "CAMERA IMU LOG")

#: gcsv ``frame_readout_direction`` spellings -> our READOUT_DIRECTIONS. Gyroflow writes the
#: enum name (``TopToBottom``) or its index in the order below.
READOUT_DIRECTION_NAMES = {
    "toptobottom": "top_to_bottom",
    "bottomtotop": "bottom_to_top",
    "lefttoright": "left_to_right",
    "righttoleft": "right_to_left",
    "0": "top_to_bottom",
    "1": "bottom_to_top",
    "2": "left_to_right",
    "3": "right_to_left",
}

_NUMERIC_KEYS = ("tscale", "gscale", "ascale", "mscale", "frame_readout_time")


def looks_like_gcsv(head: bytes) -> bool:
    """True if the first bytes of a file are a gcsv magic line."""
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].strip().decode("ascii", "replace")
    return first.upper() in MAGIC_LINES


def _readout_direction(value: str, path: str) -> str:
    key = value.strip().replace("_", "").replace(" ", "").lower()
    if key not in READOUT_DIRECTION_NAMES:
        raise InputError(
            f"unknown frame_readout_direction {value!r}; valid: TopToBottom, BottomToTop, "
            "LeftToRight, RightToLeft (or 0-3)",
            path,
        )
    return READOUT_DIRECTION_NAMES[key]


def read_gcsv(path: str | os.PathLike, orientation: str | None = None) -> SensorLog:
    """Read a Gyroflow ``.gcsv`` log on its own clock.

    Parameters
    ----------
    path : path-like
        The ``.gcsv`` file.
    orientation : str, optional
        Override the file's ``orientation`` header (a Gyroflow axis string, see
        ``sensors.readers.axes``).

    Returns
    -------
    SensorLog
        ``format='gcsv'``; gyro in rad/s in camera axes, accel in m/s^2 when present, readout
        time and direction from the header, every header key in ``meta['header']``.

    Raises
    ------
    InputError
        Missing/empty/binary file, no magic line, bad header values, malformed or truncated
        rows, non-finite values, non-monotonic or duplicated timestamps.
    """
    path = str(path)
    lines = read_text(path).splitlines()
    if not lines or lines[0].strip().upper() not in MAGIC_LINES:
        raise InputError("not a gcsv log: first line must be 'GYROFLOW IMU LOG' or "
                         "'CAMERA IMU LOG'", path)
    header: dict[str, str] = {}
    col_line = None
    for i in range(1, len(lines)):
        s = lines[i].strip()
        if not s:
            continue
        key, _, value = s.partition(",")
        key = key.strip()
        if key.lower() == "t":
            col_line = i
            break
        header[key] = value.strip()
    if col_line is None:
        raise InputError("no column row 't,gx,gy,gz' found (truncated header?)", path)
    cols = [c.strip().lower() for c in lines[col_line].split(",")]
    if cols[:4] != ["t", "gx", "gy", "gz"]:
        raise InputError(f"column row must start with t,gx,gy,gz, got {lines[col_line]!r}", path)

    nums: dict[str, float] = {}
    for key in _NUMERIC_KEYS:
        if key in header and header[key] != "":
            try:
                nums[key] = float(header[key])
            except ValueError:
                raise InputError(f"header {key} is not a number: {header[key]!r}",
                                 path) from None
            if not np.isfinite(nums[key]) or nums[key] < 0 or (
                key != "frame_readout_time" and nums[key] == 0
            ):
                raise InputError(f"header {key} must be a positive finite number, got "
                                 f"{header[key]!r}", path)
    tscale = nums.get("tscale", 1.0)
    gscale = nums.get("gscale", 1.0)
    ascale = nums.get("ascale", 1.0)
    orient = orientation if orientation is not None else header.get("orientation", "XYZ")

    rows = parse_rows(lines[col_line + 1:], col_line + 2, len(cols), ",", path)
    if rows.shape[0] < 2:
        raise InputError(f"only {rows.shape[0]} data row(s); a gyro log needs at least 2", path)
    if not np.all(np.isfinite(rows)):
        bad = int(np.flatnonzero(~np.isfinite(rows).all(axis=1))[0])
        raise InputError(f"data row {bad + 1} holds NaN or infinity", path)

    t_s = rows[:, 0] * tscale
    omega = raw_to_camera(rows[:, 1:4] * gscale, orient, path)
    accel = None
    if len(cols) >= 7 and cols[4:7] == ["ax", "ay", "az"]:
        accel = raw_to_camera(rows[:, 4:7] * (ascale * G_M_S2), orient, path)
    gyro = GyroLog(t_s, omega, accel, path)

    readout_s = None
    if "frame_readout_time" in nums:
        readout_s = nums["frame_readout_time"] / 1000.0
    direction = "top_to_bottom"
    if header.get("frame_readout_direction"):
        direction = _readout_direction(header["frame_readout_direction"], path)
    camera = " ".join(v for v in (header.get("vendor"), header.get("id")) if v) or None
    return SensorLog(
        path=path,
        format="gcsv",
        gyro=gyro,
        readout_s=readout_s,
        readout_direction=direction,
        camera=camera,
        same_clock_as_video=False,
        imu_orientation=orient,
        meta={"header": header, "columns": cols},
    )
