"""GoPro GPMF telemetry read straight from the MP4 (no native parser needed).

A GoPro MP4 carries a timed metadata track (sample format ``gpmd``, handler name ``GoPro MET``)
whose samples are GPMF payloads, usually one per second (``gpmf_klv``), and, from HERO6 on, a
``moov/udta/GPMF`` box with the capture settings (``MINF`` model, ``EISE``/``EISA`` electronic
stabilization, ``VFOV`` lens mode, ``SROT`` readout on HERO8+/MAX). Keys per camera follow
gopro/gpmf-parser's README.

What the reader returns mirrors what ``readers.telemetry`` gets from telemetry-parser, so both
paths give the same ``SensorLog`` for a GoPro clip:

- Gyro: ``GYRO`` divided by ``SCAL`` in rad/s (``SIUN``), put in Gyroflow's IMU frame with the
  orientation string derived from the stream's ``MTRX`` (or ``ORIN``/``ORIO``; HERO6 ``ZyX`` and
  HERO7 Silver ``YXz`` without them; else ``XYZ``), then in camera axes
  (``axes.raw_to_camera``). Accel likewise (``ACCL``, m/s^2).
- Time: sample ``k`` of a stream is at ``k * dt`` on the movie timeline, ``t = 0`` at the
  first sample. ``dt`` comes from the camera's own clock: the first and last payloads' ``STMP``
  (microseconds) or ``TICK`` (milliseconds) over the samples between them; without either, the
  metadata track's duration over the sample count. Accel at another rate than the gyro (HERO5)
  is timed by its own stream and interpolated onto the gyro times.
- Readout: the median of every ``SROT`` value (ms; per frame on HERO7, in the header on MAX).
- Exposure: the per-frame ``SHUT`` values (s).
- ``CORI``/``IORI`` (w, x, y, z over ``SCAL``), one per video frame, timed at the video
  frames (``k`` times the frame duration).
- HERO5 writes no GPMF header; its stabilization and lens bytes are read from the ``SETT`` box.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..types import CameraMetadata, GyroLog, QuaternionTrack, SensorLog
from ._common import G_M_S2, check_file
from .axes import parse_orientation, raw_to_camera
from .gpmf_klv import GpmfError, Klv, decode, parse_klv, stream_items
from .mp4_tracks import Mp4Error, Mp4Index, Track, read_mp4_index

__all__ = ["read_gopro", "read_gopro_index", "gpmf_track", "has_gpmf_track", "LENS_MODES"]

#: GoPro ``VFOV`` codes -> readable names (gpmf-parser README; M/N on HERO5).
LENS_MODES = {"W": "Wide", "L": "Linear", "S": "SuperView", "H": "HyperView", "M": "Medium",
              "N": "Narrow"}
#: HERO5 ``SETT`` box: byte 5 is the stabilization setting, byte 7 the lens mode.
_HERO5_EIS = {0x00: "N", 0x02: "N", 0x10: "Y"}
_HERO5_LENS = {0x00: "W", 0x40: "W", 0x41: "M", 0x42: "N", 0x44: "L", 0x63: "S"}
#: IMU orientation of models whose streams carry no MTRX/ORIN (Gyroflow's convention).
_MODEL_ORIENTATION = (("HERO6", "ZyX"), ("HERO7 Silver", "YXz"))
_RATE_UNITS = {"rad/s": 1.0, "deg/s": np.pi / 180.0, "\xb0/s": np.pi / 180.0}
_ACCEL_UNITS = {"m/s\xb2": 1.0, "m/s2": 1.0, "m/s^2": 1.0, "g": G_M_S2}
_EIS_OFF = {"", "N", "N/A", "NO", "OFF"}


@dataclass(frozen=True)
class _Block:
    """One payload's samples of one stream: values (scaled) and the stream's properties."""

    payload: int
    values: np.ndarray | list | str
    props: dict

    def __len__(self) -> int:
        return len(self.values) if not isinstance(self.values, str) else 1


def gpmf_track(index: Mp4Index) -> Track | None:
    """The GPMF metadata track of a parsed MP4 (``gpmd`` samples), or None."""
    for t in index.tracks:
        if t.sample_format == "gpmd":
            return t
    return None


def has_gpmf_track(path: str | os.PathLike) -> bool:
    """True if ``path`` is an MP4/MOV whose index lists a GoPro GPMF track."""
    try:
        return gpmf_track(read_mp4_index(path)) is not None
    except (Mp4Error, OSError):
        return False


def _blocks(payloads: list[bytes], track: Track, path: str) -> tuple[dict, list[Klv]]:
    """Per key of interest, the blocks of the first device that has it; plus every device."""
    keys = ("GYRO", "ACCL", "SHUT", "SROT", "CORI", "IORI")
    out: dict[str, list[_Block]] = {k: [] for k in keys}
    device_of: dict[str, bytes | None] = {}
    devices: list[Klv] = []
    for i, data in enumerate(payloads):
        if not data:
            continue
        where = f"GPMF payload {i} (at {track.t_s[i]:.3f} s)"
        try:
            items = parse_klv(data)
            if not items or items[0].key != "DEVC":
                raise GpmfError(f"starts with {items[0].key if items else 'nothing'}, "
                                "not DEVC")
            for dev in items:
                if not dev.is_nest:
                    continue
                devices.append(dev)
                ids = dev.find("DVID")
                dev_id = ids[0].data if ids else None
                for strm in dev.find("STRM"):
                    for it in stream_items(strm):
                        if it.key not in out or device_of.setdefault(it.key, dev_id) != dev_id:
                            continue
                        out[it.key].append(_Block(i, it.values(), it.props))
        except GpmfError as exc:
            raise InputError(f"{where}: {exc}", path) from None
    return out, devices


def _clock_s(props: dict) -> float | None:
    """A payload's own timestamp: ``STMP`` (us) or ``TICK`` (ms), in seconds."""
    if "STMP" in props:
        return float(np.ravel(props["STMP"])[0]) * 1e-6
    if "TICK" in props:
        return float(np.ravel(props["TICK"])[0]) * 1e-3
    return None


def _sample_period_s(blocks: list[_Block], track: Track) -> tuple[float, str]:
    """Mean sample period of a stream and what it was measured with (see module docstring)."""
    n = sum(len(b) for b in blocks)
    clocks = [(b, _clock_s(b.props)) for b in blocks if _clock_s(b.props) is not None]
    if len(clocks) >= 2 and n > len(blocks[-1]):
        dt = (clocks[-1][1] - clocks[0][1]) / max(n - len(blocks[-1]), 1)
        if dt > 0:
            return dt, "STMP" if "STMP" in clocks[0][0].props else "TICK"
    return float(np.sum(track.duration_s)) / max(n, 1), "track duration"


def _orientation(props: dict, model: str | None, path: str) -> str:
    """Gyroflow orientation string of an IMU stream (module docstring)."""
    m = None
    if "MTRX" in props:
        m = np.asarray(props["MTRX"], dtype=np.float64).ravel()
    elif isinstance(props.get("ORIN"), str) and isinstance(props.get("ORIO"), str):
        orin, orio = props["ORIN"], props["ORIO"]
        if orin and len(orin) == len(orio) == 3:
            m = np.array([[1.0 if i == o else -1.0 if i.lower() == o.lower() else 0.0
                           for i in orin] for o in orio]).ravel()
    if m is not None:
        if m.size != 9:
            raise InputError(f"GPMF MTRX has {m.size} values, expected 9", path)
        letters = []
        for row in m.reshape(3, 3):
            j = int(np.argmax(np.abs(row)))
            if abs(row[j]) <= 0.5:
                raise InputError(f"GPMF MTRX row {row.tolist()} names no axis", path)
            letters.append("XYZ"[j] if row[j] > 0 else "xyz"[j])
        s = "".join(letters)
        parse_orientation(s, path)  # a matrix that repeats an axis is rejected here
        return s
    for name, s in _MODEL_ORIENTATION:
        if model and name in model:
            return s
    return "XYZ"


def _unit(props: dict, table: dict, default: str, what: str, path: str) -> float:
    unit = props.get("SIUN", props.get("UNIT", default))
    if isinstance(unit, list):
        unit = unit[0] if unit else default
    if not isinstance(unit, str):
        raise InputError(f"GPMF {what} unit is not text", path)
    if unit not in table:
        raise InputError(f"GPMF {what} in unsupported unit {unit!r}", path)
    return table[unit]


def _imu(blocks: list[_Block], table: dict, default_unit: str, what: str, model: str | None,
         path: str) -> tuple[np.ndarray, str]:
    """(N, 3) samples of an IMU stream in SI units and camera axes, plus the orientation used."""
    parts = []
    io = "XYZ"
    for b in blocks:
        v = b.values
        if not isinstance(v, np.ndarray) or v.ndim != 2 or v.shape[1] != 3:
            raise InputError(f"GPMF {what} samples are not 3-axis numbers", path)
        io = _orientation(b.props, model, path)
        parts.append(raw_to_camera(v * _unit(b.props, table, default_unit, what, path), io, path))
    return np.concatenate(parts), io


def _numbers(blocks: list[_Block]) -> np.ndarray:
    vals = [np.asarray(b.values, dtype=np.float64).ravel() for b in blocks
            if isinstance(b.values, np.ndarray)]
    return np.concatenate(vals) if vals else np.empty(0)


def _plain(v):
    """A decoded GPMF value as JSON-friendly data."""
    if isinstance(v, np.ndarray):
        flat = v.ravel().tolist()
        return flat[0] if len(flat) == 1 else flat
    return v


def _header_settings(index: Mp4Index) -> tuple[dict, str | None]:
    """Key -> value of the ``udta/GPMF`` settings device (DVID 1), and why it is unreadable.

    The box only describes the capture, so a damaged one costs the settings, not the gyro.
    """
    raw = index.udta.get("GPMF")
    if not raw:
        return {}, None
    try:
        devices = [d for d in parse_klv(raw) if d.is_nest]
    except GpmfError as exc:
        return {}, str(exc)
    settings: dict = {}
    for dev in devices[:1]:
        stack = list(dev.children)
        while stack:
            it = stack.pop(0)
            if it.is_nest:
                stack[:0] = it.children
            elif it.type != "?" and it.key not in settings:
                try:
                    settings[it.key] = _plain(decode(it))
                except GpmfError:
                    continue  # a malformed informational key does not spoil the others
    return settings, None


def _hero5_settings(index: Mp4Index) -> dict:
    sett = index.udta.get("SETT", b"")
    out = {}
    if len(sett) > 8:
        if sett[5] in _HERO5_EIS:
            out["EISE"] = _HERO5_EIS[sett[5]]
        if sett[7] in _HERO5_LENS:
            out["VFOV"] = _HERO5_LENS[sett[7]]
    return out


def _model(index: Mp4Index, settings: dict, devices: list[Klv]) -> str | None:
    """``MINF``, else the ``HERO...`` name in the ``GPRO`` block, else the camera's ``DVNM``."""
    if isinstance(settings.get("MINF"), str) and settings["MINF"]:
        return settings["MINF"]
    head = index.mdat_head
    if head[:4] == b"GPRO":
        i = head.find(b"HERO")
        if i >= 0:
            name = head[i:].split(b"\0", 1)[0].decode("latin-1").strip()
            if name.isprintable() and name:
                return name
    for dev in devices[:1]:
        names = dev.find("DVNM")
        if names:
            name = decode(names[0])
            if isinstance(name, str) and name and name.lower() != "camera":
                return name
    return None


def _stabilization(settings: dict) -> tuple[bool | None, str | None]:
    eisa = settings.get("EISA")
    if isinstance(eisa, str) and eisa:
        return eisa.strip().upper() not in _EIS_OFF, eisa
    eise = settings.get("EISE")
    if isinstance(eise, str) and eise.strip().upper() in ("Y", "N"):
        return eise.strip().upper() == "Y", eise
    return None, None


def _quaternions(blocks: list[_Block], frame_dt_s: float, t0_s: float, what: str,
                 path: str) -> QuaternionTrack | None:
    if not blocks:
        return None
    parts = []
    for b in blocks:
        v = b.values
        if not isinstance(v, np.ndarray) or v.ndim != 2 or v.shape[1] != 4:
            raise InputError(f"GPMF {what} samples are not quaternions", path)
        if "SCAL" not in b.props:
            v = v / 32767.0  # the documented unit-quaternion scale when none is stated
        parts.append(v)
    q = np.concatenate(parts)
    if q.shape[0] < 1:
        return None
    return QuaternionTrack(t0_s + frame_dt_s * np.arange(q.shape[0]), q, path)


def read_gopro(path: str | os.PathLike) -> SensorLog:
    """Read gyro, accel and the camera's metadata from a GoPro MP4's GPMF track.

    Parameters
    ----------
    path : path-like
        A GoPro MP4/MOV/360 file.

    Returns
    -------
    SensorLog
        ``format='telemetry'`` (the registry name for embedded camera telemetry), gyro in
        rad/s in camera axes, ``readout_s`` from ``SROT``, ``exposure_s`` from ``SHUT``,
        ``camera`` (e.g. ``GoPro HERO7 Black``), ``same_clock_as_video``, and ``camera_meta``
        with the stabilization setting, lens mode and ``CORI``/``IORI`` tracks;
        ``meta['parser'] == 'gpmf'``.

    Raises
    ------
    InputError
        Not an MP4, no GPMF track, a malformed or truncated payload, or no gyro samples.

    Examples
    --------
    >>> log = read_gopro("samples/gopro/hero7.mp4")  # doctest: +SKIP
    >>> round(log.gyro.rate_hz, 2), log.camera_meta.stabilization_setting  # doctest: +SKIP
    (197.53, 'HS EIS')
    """
    p = check_file(path)
    try:
        index = read_mp4_index(p)
    except Mp4Error as exc:
        raise InputError(f"not a readable MP4: {exc}", str(p)) from None
    return read_gopro_index(index)


def read_gopro_index(index: Mp4Index) -> SensorLog:
    """``read_gopro`` on a file whose MP4 index is already read (see ``read_gopro``)."""
    spath = index.path
    track = gpmf_track(index)
    if track is None:
        raise InputError("no GoPro GPMF telemetry track (gpmd) in the file", spath)
    try:
        payloads = index.read_samples(track)
    except Mp4Error as exc:
        raise InputError(f"not a readable MP4: {exc}", spath) from None
    blocks, devices = _blocks(payloads, track, spath)

    settings, settings_error = _header_settings(index)
    source = "udta GPMF" if settings else None
    model = _model(index, settings, devices)
    if not settings and model and "HERO5" in model:
        settings = _hero5_settings(index)
        source = "udta SETT" if settings else None

    gyro_blocks = [b for b in blocks["GYRO"] if len(b)]
    if sum(len(b) for b in gyro_blocks) < 2:
        raise InputError("no gyro samples found in the file's telemetry", spath)
    omega, io = _imu(gyro_blocks, _RATE_UNITS, "rad/s", "gyro", model, spath)
    dt, clock = _sample_period_s(gyro_blocks, track)
    t_s = dt * np.arange(omega.shape[0])

    meta: dict = {}
    accel = None
    acc_blocks = [b for b in blocks["ACCL"] if len(b)]
    if sum(len(b) for b in acc_blocks) >= 2:
        a, _ = _imu(acc_blocks, _ACCEL_UNITS, "m/s\xb2", "accelerometer", model, spath)
        same = ([(b.payload, len(b)) for b in acc_blocks]
                == [(b.payload, len(b)) for b in gyro_blocks])
        if same:
            accel = a
        else:
            dt_a, _ = _sample_period_s(acc_blocks, track)
            ta = dt_a * np.arange(a.shape[0])
            accel = np.stack([np.interp(t_s, ta, a[:, k]) for k in range(3)], axis=1)
            meta["accel_resampled_from"] = int(a.shape[0])
    gyro = GyroLog(t_s, omega, accel, spath)

    header_srot = settings.get("SROT")
    readout = [float(v) for v in np.ravel(header_srot)
               if isinstance(v, int | float)] if header_srot is not None else []
    readout += _numbers(blocks["SROT"]).tolist()
    exposure = _numbers([b for b in blocks["SHUT"] if b.props.get("SIUN", "s") == "s"])

    video = next((t for t in index.tracks if t.handler == "vide" and len(t)), None)
    frame_dt = float(np.median(video.duration_s)) if video is not None else dt
    frame_dt = frame_dt if frame_dt > 0 else dt
    t0 = float(video.t_s[0]) if video is not None else 0.0
    on, setting = _stabilization(settings)
    lens = settings.get("VFOV") if isinstance(settings.get("VFOV"), str) else None
    camera_meta = CameraMetadata(
        model=model,
        in_camera_stabilization=on,
        stabilization_setting=setting,
        lens_mode=lens or None,
        lens_mode_name=LENS_MODES.get(lens or ""),
        camera_orientation=_quaternions(blocks["CORI"], frame_dt, t0, "CORI", spath),
        image_orientation=_quaternions(blocks["IORI"], frame_dt, t0, "IORI", spath),
        settings=settings,
    )
    camera = None
    if model:
        camera = model if model.lower().startswith("gopro") else f"GoPro {model}"
    meta.update({"brand": "GoPro", "model": model, "readout_values": len(readout),
                 "parser": "gpmf", "imu_orientation": io, "gyro_clock": clock,
                 "settings_source": source})
    if settings_error:
        meta["settings_error"] = f"GPMF settings box unreadable: {settings_error}"
    return SensorLog(
        path=spath,
        format="telemetry",
        gyro=gyro,
        readout_s=float(np.median(readout)) / 1000.0 if readout else None,
        exposure_s=exposure if exposure.size else None,
        camera=camera,
        same_clock_as_video=True,
        meta=meta,
        camera_meta=camera_meta,
    )
