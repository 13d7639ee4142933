"""Sensor-log readers behind one registry, with format detection by content.

``read_log(path)`` detects the format (``detect_format``) and calls the reader registered for it
in ``FORMATS``; every reader returns a ``sensors.types.SensorLog`` with gyro rates in rad/s in
OpenCV camera axes on the log's own clock (docs/architecture.md "Time", "IMU axes").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..errors import InputError
from ..types import SensorLog
from ._common import check_file, head_bytes
from .axes import (
    CAMERA_AXES_ORIENTATION,
    camera_to_raw,
    gyroflow_to_camera,
    parse_orientation,
    raw_to_camera,
)
from .csv_log import read_csv_log, sniff_csv_header
from .gcsv import looks_like_gcsv, read_gcsv
from .gpmf import read_gopro
from .phone import phone_folder_of, read_phone_log
from .telemetry import TelemetryParserMissing, read_telemetry

__all__ = [
    "CAMERA_AXES_ORIENTATION",
    "FORMATS",
    "TelemetryParserMissing",
    "camera_to_raw",
    "detect_format",
    "gyroflow_to_camera",
    "parse_orientation",
    "raw_to_camera",
    "read_csv_log",
    "read_gcsv",
    "read_gopro",
    "read_log",
    "read_phone_log",
    "read_telemetry",
]

#: Format name -> reader ``f(path, **options) -> SensorLog``. ``telemetry`` reads GoPro GPMF
#: itself and hands other embedded/binary logs to the optional telemetry-parser.
FORMATS: dict[str, Callable[..., SensorLog]] = {
    "gcsv": read_gcsv,
    "telemetry": read_telemetry,
    "csv": read_csv_log,
    "phone": read_phone_log,
}


def _is_iso_bmff(head: bytes) -> bool:
    return len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free")


def detect_format(path: str | os.PathLike) -> str:
    """Name of the registry format that reads ``path``, decided by content.

    Order: a folder (or a file in one) with the phone layout -> ``phone``; a gcsv magic line ->
    ``gcsv``; an MP4/MOV container -> ``telemetry`` (GoPro GPMF read by ``readers.gpmf``, other
    cameras by telemetry-parser); a text file whose first line names the columns -> ``csv``;
    anything else is handed to ``telemetry`` too (blackbox logs, sensor-app exports, other
    containers), whose failure is reported by the reader.

    Raises
    ------
    InputError
        Missing or empty file, or a folder without the phone layout.
    """
    p = Path(path)
    if p.is_dir():
        if phone_folder_of(p) is None:
            raise InputError("folder is not a phone-layout log (needs *gyro* and *frame* "
                             "files)", str(p))
        return "phone"
    check_file(p)
    if phone_folder_of(p) is not None:
        return "phone"
    head = head_bytes(p)
    if looks_like_gcsv(head):
        return "gcsv"
    if _is_iso_bmff(head):
        return "telemetry"
    if b"\x00" not in head:
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            hdr = sniff_csv_header(text)
            if hdr is not None and _csv_mappable(p):
                return "csv"
    return "telemetry"


def _csv_mappable(p: Path) -> bool:
    """True if our CSV reader's auto-detection finds time and gyro columns in the header."""
    from .csv_log import _common_prefix, _find_gyro_cols, _find_time_col

    hdr = sniff_csv_header(head_bytes(p).decode("utf-8-sig", "replace"))
    if hdr is None:
        return False
    names = [n.lower() for n in hdr[0]]
    prefix = _common_prefix(names)
    keys = [n[len(prefix):] for n in names]
    return _find_time_col(keys)[0] >= 0 and bool(_find_gyro_cols(keys)[0])


def read_log(path: str | os.PathLike, format: str | None = None, **options) -> SensorLog:
    """Read any supported sensor log.

    Parameters
    ----------
    path : path-like
        A log file, a video with embedded telemetry, or a phone-layout folder.
    format : str, optional
        Registry name (``gcsv``, ``telemetry``, ``csv``, ``phone``); detected when omitted.
    **options
        Passed to the reader (e.g. ``time_unit='ms'`` for ``csv``, ``orientation`` for
        ``gcsv``).

    Raises
    ------
    InputError
        Unknown format name (lists the valid ones), or anything the reader rejects.
    """
    if format is None:
        format = detect_format(path)
    elif format not in FORMATS:
        raise InputError(f"unknown log format {format!r}; valid: " + ", ".join(FORMATS),
                         str(path))
    try:
        return FORMATS[format](path, **options)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise InputError(f"option not accepted by the {format} reader: {exc}",
                             str(path)) from None
        raise
