"""Phone capture logs: gyro + OIS + frame timing, in the public fused-stabilization layout.

One folder per clip (docs/architecture.md "readers/"), files found by name:

- ``*gyro*`` text, rows ``t_us wx wy wz`` (rad/s; columns in camera axes unless ``axes`` says
  otherwise, as ``sensors.writers.write_phone_log`` writes them);
- ``*ois*.txt`` whose last three columns are ``ois_x ois_y t_ns`` (shift in pixels of the clip,
  times ``ois_px_per_unit`` for raw units); with exactly four columns the first is the focus
  (focal-length scale, for focus breathing);
- ``*frame*.txt`` with col0 frame timestamp ns (centre of exposure of the middle row,
  docs/architecture.md "Rolling shutter"), col1 exposure ns, col3 readout ns, col4 OIS timestamp ns.

Space, tab or comma separated; a leading header line is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..types import FrameTiming, GyroLog, OisLog, SensorLog
from ._common import parse_rows, read_text
from .axes import CAMERA_AXES_ORIENTATION, raw_to_camera

__all__ = ["read_phone_log", "find_phone_files", "phone_folder_of"]

_ROLES = ("gyro", "ois", "frame")


def find_phone_files(folder: str | os.PathLike) -> dict[str, Path]:
    """The ``gyro``/``ois``/``frame`` files of a phone-layout folder (only those present)."""
    found: dict[str, Path] = {}
    for p in sorted(Path(folder).iterdir()):
        if not p.is_file() or p.name.startswith("."):
            continue
        name = p.name.lower()
        for role in _ROLES:
            if role in name and role not in found and p.suffix.lower() in (".txt", ".csv", ""):
                found[role] = p
    return found


def phone_folder_of(path: str | os.PathLike) -> Path | None:
    """The phone-layout folder ``path`` is or lies in, or None (needs gyro and frame files)."""
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    if not folder.is_dir():
        return None
    files = find_phone_files(folder)
    if "gyro" in files and "frame" in files and (p.is_dir() or p in files.values()):
        return folder
    return None


def _table(path: Path, min_cols: int) -> np.ndarray:
    text = read_text(path)
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise InputError("file holds no rows", str(path))
    delim = "," if "," in lines[first] else " "
    fields = lines[first].replace(",", " ").split()
    try:
        [float(f) for f in fields]
        start = first
    except ValueError:  # a header line
        start = first + 1
        nxt = next((ln for ln in lines[start:] if ln.strip()), "")
        fields = nxt.replace(",", " ").split()
    ncols = len(fields)
    if ncols < min_cols:
        raise InputError(f"expected at least {min_cols} columns, found {ncols}", str(path))
    rows = parse_rows(lines[start:], start + 1, ncols, delim, str(path))
    if rows.shape[0] == 0:
        raise InputError("file holds no rows", str(path))
    if not np.all(np.isfinite(rows)):
        bad = int(np.flatnonzero(~np.isfinite(rows).all(axis=1))[0])
        raise InputError(f"row {bad + 1} holds NaN or infinity", str(path))
    return rows


def read_phone_log(
    path: str | os.PathLike,
    *,
    axes: str = CAMERA_AXES_ORIENTATION,
    ois_px_per_unit: float = 1.0,
    readout_direction: str = "top_to_bottom",
) -> SensorLog:
    """Read a phone-layout folder (or any of its files).

    Parameters
    ----------
    path : path-like
        The folder, or the gyro/OIS/frame file inside it.
    axes : str
        Gyroflow orientation string of the gyro columns; default: camera axes.
    ois_px_per_unit : float
        Pixels per raw OIS unit.
    readout_direction : str
        Readout direction of the sensor (the layout does not state it).

    Returns
    -------
    SensorLog
        ``format='phone'`` with gyro, ``ois`` (when an OIS file exists) and ``frames``; all on
        the log's clock (seconds).

    Raises
    ------
    InputError
        Not a phone folder, missing gyro/frame file, malformed rows, non-monotonic times,
        readout varying between frames.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file or folder not found", str(p))
    folder = phone_folder_of(p)
    if folder is None:
        raise InputError("not a phone-layout folder: needs *gyro* and *frame* text files",
                         str(p))
    files = find_phone_files(folder)
    g = _table(files["gyro"], 4)
    omega = raw_to_camera(g[:, -3:], axes, str(files["gyro"]))
    gyro = GyroLog(g[:, 0] * 1e-6, omega, None, str(files["gyro"]))

    ois = None
    if "ois" in files:
        o = _table(files["ois"], 3)
        if not (np.isfinite(ois_px_per_unit) and ois_px_per_unit > 0):
            raise InputError(f"ois_px_per_unit must be positive, got {ois_px_per_unit}", str(p))
        focus = o[:, 0] if o.shape[1] == 4 else None
        ois = OisLog(o[:, -1] * 1e-9, o[:, -3:-1] * ois_px_per_unit, focus, str(files["ois"]))

    f = _table(files["frame"], 4)
    readout_ns = f[:, 3]
    if np.ptp(readout_ns) > 1e-3 * max(float(np.max(np.abs(readout_ns))), 1.0):
        raise InputError("readout time varies between frames; only a constant readout is "
                         "supported", str(files["frame"]))
    readout_s = float(np.median(readout_ns)) * 1e-9
    frames = FrameTiming(f[:, 0] * 1e-9, f[:, 1] * 1e-9, readout_s, readout_direction,
                         str(files["frame"]))
    meta = {"files": {k: v.name for k, v in files.items()}, "axes": axes}
    if f.shape[1] >= 5:
        meta["frame_ois_t_s"] = f[:, 4] * 1e-9
    return SensorLog(
        path=str(folder),
        format="phone",
        gyro=gyro,
        ois=ois,
        frames=frames,
        readout_s=readout_s,
        readout_direction=readout_direction,
        exposure_s=frames.exposure_s,
        imu_orientation=axes,
        meta=meta,
    )
