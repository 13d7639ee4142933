"""Writers of sensor logs: Gyroflow ``.gcsv``, the phone capture layout, and truth files.

Axis convention (docs/architecture.md "IMU axes"): a gcsv ``orientation`` string maps the raw
columns into
Gyroflow's frame; the exact inverse used here is ``sensors.readers.axes.camera_to_raw``, the one
the readers invert, so ``orientation,yxz`` means the columns are camera axes.
Every file is written through ``sensors.atomic.atomic_output``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .errors import InputError
from .readers.axes import camera_to_raw
from .types import READOUT_DIRECTIONS, FrameTiming, GyroLog, OisLog

__all__ = ["write_gcsv", "write_phone_log", "write_truth"]

_G = 9.80665


def write_gcsv(
    path: str | os.PathLike,
    gyro: GyroLog,
    *,
    readout_s: float | None = None,
    readout_direction: str = "top_to_bottom",
    orientation: str = "yxz",
    tscale: float = 1e-6,
    gscale: float = 2e-4,
    ascale: float = 1.0 / 4096.0,
    extra_header: dict | None = None,
) -> Path:
    """Write a Gyroflow gcsv log (``GYROFLOW IMU LOG`` version 1.3) with integer raw rows.

    Parameters
    ----------
    path : path-like
        Destination ``.gcsv``.
    gyro : GyroLog
        Rates (and accel) in camera axes; times on the log's clock.
    readout_s : float, optional
        Frame readout time, written as ``frame_readout_time`` in milliseconds.
    readout_direction : str
        One of ``READOUT_DIRECTIONS``, written as ``frame_readout_direction``.
    orientation : str
        Axis mapping of the raw columns (see the module docstring).
    tscale, gscale, ascale : float
        Seconds, rad/s and g per raw count.
    extra_header : dict, optional
        Further ``key,value`` header lines (e.g. ``id``, ``vendor``, ``lens_profile``).

    Returns
    -------
    Path written.
    """
    if readout_direction not in READOUT_DIRECTIONS:
        raise InputError(f"unknown readout direction {readout_direction!r}")
    for name, val in (("tscale", tscale), ("gscale", gscale), ("ascale", ascale)):
        if not (val > 0 and np.isfinite(val)):
            raise InputError(f"{name} must be positive, got {val}")
    t_raw = np.round(gyro.t_s / tscale).astype(np.int64)
    if np.any(np.diff(t_raw) <= 0):
        raise InputError(f"tscale {tscale} s is too coarse for the log's sample times")
    g_raw = np.round(camera_to_raw(gyro.omega_rad_s, orientation) / gscale)
    cols = [t_raw[:, None], g_raw.astype(np.int64)]
    header = ["GYROFLOW IMU LOG", "version,1.3"]
    extra = dict(extra_header or {})
    header.append(f"id,{extra.pop('id', 'steadyrig_synthetic')}")
    header.append(f"orientation,{orientation}")
    if readout_s is not None:
        header.append(f"frame_readout_time,{readout_s * 1000.0:.6f}")
        header.append(f"frame_readout_direction,{_gyroflow_direction(readout_direction)}")
    header += [f"tscale,{tscale!r}", f"gscale,{gscale!r}"]
    names = "t,gx,gy,gz"
    if gyro.accel_m_s2 is not None:
        header.append(f"ascale,{ascale!r}")
        a_raw = np.round(camera_to_raw(gyro.accel_m_s2 / _G, orientation) / ascale)
        cols.append(a_raw.astype(np.int64))
        names += ",ax,ay,az"
    header += [f"{k},{v}" for k, v in extra.items()]
    rows = np.concatenate(cols, axis=1)
    with atomic_output(path) as tmp:
        with open(tmp, "w", newline="\n") as f:
            f.write("\n".join(header) + "\n" + names + "\n")
            np.savetxt(f, rows, fmt="%d", delimiter=",")
    return Path(path)


def _gyroflow_direction(direction: str) -> str:
    # Gyroflow spells them TopToBottom, BottomToTop, LeftToRight, RightToLeft.
    return "".join(w.capitalize() for w in direction.split("_"))


def write_phone_log(
    folder: str | os.PathLike, gyro: GyroLog, ois: OisLog, frames: FrameTiming
) -> Path:
    """Write a phone capture log in the layout of the public fused-stabilization dataset.

    Files (docs/architecture.md "readers/"): ``gyro.txt`` rows ``t_us wx wy wz`` (rad/s, camera
    axes);
    ``ois.txt`` rows ``focus ois_x ois_y t_ns`` (the reader uses the last three columns; shift in
    pixels, focus the focal-length scale); ``frame.txt`` rows ``t_ns exposure_ns index readout_ns
    ois_t_ns`` where ``t_ns`` is the centre of exposure of the middle row (docs/architecture.md) and
    ``ois_t_ns`` the OIS sample nearest to it. All times are on the log's clock.

    Returns
    -------
    Path of the folder.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    g = np.column_stack([np.round(gyro.t_s * 1e6), gyro.omega_rad_s])
    focus = ois.focus if ois.focus is not None else np.ones(len(ois.t_s))
    o = np.column_stack([focus, ois.shift_px, np.round(ois.t_s * 1e9)])
    nearest = np.clip(np.searchsorted(ois.t_s, frames.t_s), 0, len(ois.t_s) - 1)
    fr = np.column_stack([
        np.round(frames.t_s * 1e9), np.round(frames.exposure_s * 1e9),
        np.arange(len(frames.t_s)), np.full(len(frames.t_s), round(frames.readout_s * 1e9)),
        np.round(ois.t_s[nearest] * 1e9),
    ])
    for name, arr, fmt in (
        ("gyro.txt", g, ["%d", "%.9e", "%.9e", "%.9e"]),
        ("ois.txt", o, ["%.9f", "%.6f", "%.6f", "%d"]),
        ("frame.txt", fr, "%d"),
    ):
        with atomic_output(out / name) as tmp:
            np.savetxt(tmp, arr, fmt=fmt, delimiter=" ")
    return out


def write_truth(path_npz: str | os.PathLike, arrays: dict, summary: dict) -> tuple[Path, Path]:
    """Write a ground-truth ``.truth.npz`` (arrays) and its ``.truth.json`` summary beside it.

    Parameters
    ----------
    path_npz : path-like
        Destination ending in ``.truth.npz``; the JSON goes to the same stem ``.truth.json``.
    arrays : dict of str -> array
        Everything a test or benchmark needs to score against.
    summary : dict
        JSON-serialisable scalars and short lists (kind, offset, readout, camera, ...).
    """
    p = Path(path_npz)
    if not p.name.endswith(".truth.npz"):
        raise InputError("truth file name must end with .truth.npz", str(p))
    j = p.with_name(p.name[: -len(".npz")] + ".json")
    with atomic_output(p) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **{k: np.asarray(v) for k, v in arrays.items()})
    with atomic_output(j) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return p, j
