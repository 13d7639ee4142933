"""Camera-embedded telemetry: GoPro via our own GPMF reader, the rest via telemetry-parser.

``read_telemetry`` sends an MP4/MOV with a GoPro GPMF track (``gpmd``) to ``readers.gpmf`` on
every Python; anything else - Sony, Insta360, DJI, Betaflight blackbox, phone sensor apps - to
telemetry-parser (the parser Gyroflow uses), an optional dependency
(``pip install 'steadyrig[telemetry]'``; its wheels cover CPython up to 3.12). Without it such a
file is a one-line ``TelemetryParserMissing`` error naming that command.

telemetry-parser: ``normalized_imu()`` gives ``timestamp_ms``, gyro in deg/s already in
Gyroflow's IMU frame and accel in m/s^2 (docs/architecture.md "IMU axes"); we convert to rad/s
in camera axes. ``telemetry()`` gives metadata groups, from which we take the sensor readout
time (GoPro ``SROT``, ms) and per-frame exposure (GoPro ``SHUT``, exposed as the ``Exposure``
group, seconds) and, where a tag states it, the camera's own stabilization
(``stabilization_tags``, into ``meta['stabilization']``). ``read_with_telemetry_parser`` stays
callable on GoPro files too, to compare the two readers.

Sidecars: given ``clip.mp4`` without embedded gyro, telemetry-parser silently falls back to a
sibling ``clip.gcsv``/``clip.bbl``/... and re-bases its clock to 0, which would pass a sidecar
off as embedded telemetry on the video clock. So when a video has same-stem siblings we parse it
through a symlink in an empty temporary folder, where no sidecar can be found.

Clock: for a video container the parser times the samples from the metadata track's sample
table, which shares the movie timeline with the video track, so ``timestamp_ms = 0`` is the
start of the movie (the first frame's PTS is 0 in the GoPro samples). We therefore mark the log
``same_clock_as_video``; any residual offset is left to sync.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..types import GyroLog, SensorLog
from ._common import check_file, head_bytes, one_line
from .axes import gyroflow_to_camera
from .gpmf import gpmf_track, read_gopro_index
from .mp4_tracks import Mp4Error, looks_like_mp4, read_mp4_index

__all__ = [
    "read_telemetry",
    "read_with_telemetry_parser",
    "stabilization_tags",
    "telemetry_parser_available",
    "TelemetryParserMissing",
    "TELEMETRY_EXTRA",
    "VIDEO_EXTENSIONS",
]

#: Containers whose embedded telemetry is on the video's clock.
VIDEO_EXTENSIONS = (".mp4", ".mov", ".insv", ".360", ".mxf", ".braw", ".r3d", ".m4v")

_SROT = "0x53524f54"  # GPMF four-cc 'SROT' as telemetry-parser spells unknown tags

#: The install command for the optional telemetry-parser dependency.
TELEMETRY_EXTRA = "pip install 'steadyrig[telemetry]'"


class TelemetryParserMissing(InputError):
    """A file that only telemetry-parser reads, on an install without it."""


def telemetry_parser_available() -> bool:
    """True if the optional ``telemetry_parser`` module can be imported."""
    try:
        import telemetry_parser  # noqa: F401
    except ImportError:
        return False
    return True


def _numbers(value) -> list[float]:
    """Flatten a telemetry value (number, list, nested list) to floats; [] if not numeric."""
    out: list[float] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, bool):
            continue
        if isinstance(v, int | float):
            out.append(float(v))
        elif isinstance(v, list | tuple):
            stack.extend(reversed(v))
    return out


def _readout_ms(groups: list[dict]) -> list[float]:
    """Every readout-time value (ms) found in the metadata (GoPro SROT and named variants)."""
    vals: list[float] = []
    for g in groups:
        for name, tags in g.items():
            if not isinstance(tags, dict):
                continue
            label = str(tags.get("Name", "")).lower()
            if name == "SROT" or "read out time" in label or "readout time" in label:
                for key, v in tags.items():
                    if key in (_SROT, "Data"):
                        vals.extend(_numbers(v))
            elif _SROT in tags:
                vals.extend(_numbers(tags[_SROT]))
    return vals


def _exposure_s(groups: list[dict]) -> list[float]:
    vals: list[float] = []
    for g in groups:
        tags = g.get("Exposure")
        if isinstance(tags, dict) and str(tags.get("Unit", "s")) == "s":
            vals.extend(_numbers(tags.get("Data", [])))
    return vals


#: Tag and tag-name words that name a camera's electronic stabilization (Sony SteadyShot,
#: DJI RockSteady, Insta360 FlowState, telemetry-parser's ``StabilizationEnabled``, ...).
_STAB_WORDS = re.compile(r"stabili[sz]|steady\s*shot|rock\s*steady|flow\s*state|\beis\b",
                         re.IGNORECASE)


def _on_off(value) -> bool | None:
    """A stabilization tag's value as on/off: bools, 0/1, and words (y/n, on/off, true/false)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        t = value.strip().lower()
        if t in ("y", "yes", "on", "true", "1", "enabled", "active"):
            return True
        if t in ("n", "no", "off", "false", "0", "disabled", "none"):
            return False
    return None


def stabilization_tags(groups: list[dict]) -> dict | None:
    """The camera's own stabilization as telemetry-parser's metadata groups state it.

    Looks for a tag whose key or ``Name`` names electronic stabilization and whose value
    reads as on/off. Returns ``{"applied": bool, "setting": raw text, "tag": where}`` for the
    first such tag (an "on" anywhere wins over "off"), None when no tag says.

    Examples
    --------
    >>> stabilization_tags([{"Default": {"StabilizationEnabled": "true"}}])["applied"]
    True
    >>> stabilization_tags([{"Imager": {"Name": "Exposure"}}]) is None
    True
    """
    found: dict | None = None
    for g in groups:
        for group, tags in g.items():
            if not isinstance(tags, dict):
                continue
            label = str(tags.get("Name", ""))
            for key, value in tags.items():
                if key == "Name":
                    continue
                if not (_STAB_WORDS.search(str(key)) or (key == "Data"
                                                          and _STAB_WORDS.search(label))):
                    continue
                on = _on_off(value)
                if on is None:
                    continue
                rec = {"applied": on, "setting": str(value), "tag": f"{group}/{key}"}
                if on:
                    return rec
                found = found or rec
    return found


def _siblings(p: Path) -> list[Path]:
    return [q for q in p.parent.glob(p.stem + ".*") if q.name != p.name]


@contextlib.contextmanager
def _isolated(p: Path) -> Iterator[str]:
    """A path to ``p`` that has no same-stem siblings (see "Sidecars" above)."""
    if p.suffix.lower() not in VIDEO_EXTENSIONS or not _siblings(p):
        yield str(p)
        return
    with tempfile.TemporaryDirectory(prefix="steadyrig-tp-") as d:
        link = Path(d) / p.name
        try:
            link.symlink_to(p.resolve())
        except OSError:
            try:
                os.link(p, link)
            except OSError:
                raise InputError("cannot isolate the video from its sidecar files "
                                 f"({', '.join(q.name for q in _siblings(p))}) to read only "
                                 "its embedded telemetry; move them or read them directly",
                                 str(p)) from None
        yield str(link)


def read_telemetry(path: str | os.PathLike) -> SensorLog:
    """Read a file's embedded telemetry: GoPro GPMF ourselves, other sources via telemetry-parser.

    Returns
    -------
    SensorLog
        ``format='telemetry'``; gyro in rad/s in camera axes; ``readout_s``, ``exposure_s``,
        ``camera``; ``same_clock_as_video`` for video containers; ``meta['parser']`` names the
        reader used (``gpmf`` or ``telemetry-parser``). GoPro logs also carry ``camera_meta``.

    Raises
    ------
    TelemetryParserMissing
        A file that is not GoPro GPMF when telemetry-parser is not installed.
    InputError
        A file neither reader can read (random bytes, truncated, unsupported), or one without
        gyro samples.

    Examples
    --------
    >>> log = read_telemetry("samples/gopro/karma.mp4")  # doctest: +SKIP
    >>> log.camera, log.meta["parser"]  # doctest: +SKIP
    ('GoPro HERO5 Black', 'gpmf')
    """
    p = check_file(path)
    index_error = None
    if looks_like_mp4(head_bytes(p, 16)):
        try:
            index = read_mp4_index(p)
        except Mp4Error as exc:
            index_error = exc
        else:
            if gpmf_track(index) is not None:
                return read_gopro_index(index)
    if not telemetry_parser_available():
        if index_error is not None:
            raise InputError(f"not a readable MP4: {index_error}", str(p))
        raise TelemetryParserMissing(
            "no GoPro GPMF telemetry in it; other cameras and logs (Sony, Insta360, DJI, "
            "Betaflight blackbox, sensor apps, ...) are read with telemetry-parser, which is not "
            f"installed: {TELEMETRY_EXTRA}", str(p))
    return read_with_telemetry_parser(p)


def read_with_telemetry_parser(path: str | os.PathLike) -> SensorLog:
    """Read gyro (and accel) plus readout/exposure metadata with telemetry-parser.

    Returns
    -------
    SensorLog
        ``format='telemetry'``; gyro in rad/s in camera axes; ``readout_s`` from SROT (median of
        the per-chunk values) when present; ``exposure_s`` per frame when present;
        ``same_clock_as_video`` for video containers; ``meta['parser'] == 'telemetry-parser'``.

    Raises
    ------
    TelemetryParserMissing
        telemetry-parser is not installed.
    InputError
        A file the parser cannot read (random bytes, truncated, unsupported), or one without
        gyro samples.
    """
    try:
        import telemetry_parser  # deferred: the native module is only needed for this reader
    except ImportError:
        raise TelemetryParserMissing(f"reading it needs telemetry-parser: {TELEMETRY_EXTRA}",
                                     str(path)) from None

    p = check_file(path)
    spath = str(p)
    with _isolated(p) as parse_path:
        try:
            parser = telemetry_parser.Parser(parse_path)
            imu = parser.normalized_imu()
            groups = parser.telemetry()
        except Exception as exc:  # the native parser raises OSError/ValueError/RuntimeError
            raise InputError(f"telemetry-parser could not read it: {one_line(exc)}",
                             spath) from None
    rows = [d for d in imu if d.get("gyro") is not None]
    if len(rows) < 2:
        raise InputError("no gyro samples found in the file's telemetry", spath)
    t_s = np.array([d["timestamp_ms"] for d in rows], dtype=np.float64) / 1000.0
    g_deg = np.array([d["gyro"] for d in rows], dtype=np.float64)
    omega = gyroflow_to_camera(np.deg2rad(g_deg))

    meta: dict = {}
    acc_rows = [i for i, d in enumerate(rows) if d.get("accl") is not None]
    accel = None
    if len(acc_rows) >= 2:
        a = np.array([rows[i]["accl"] for i in acc_rows], dtype=np.float64)
        if len(acc_rows) < len(rows):
            # Some cameras (HERO5) log accel at a lower rate than gyro: interpolate per axis onto
            # the gyro times and say so, rather than dropping it.
            ta = t_s[acc_rows]
            a = np.stack([np.interp(t_s, ta, a[:, k]) for k in range(3)], axis=1)
            meta["accel_resampled_from"] = len(acc_rows)
        accel = gyroflow_to_camera(a)
    gyro = GyroLog(t_s, omega, accel, spath)

    readout = _readout_ms(groups)
    readout_s = float(np.median(readout)) / 1000.0 if readout else None
    exposure = _exposure_s(groups)
    camera_brand = (parser.camera or "").strip()
    model = (parser.model or "").strip()
    camera = model if model.lower().startswith(camera_brand.lower()) else (
        f"{camera_brand} {model}".strip())
    meta.update({"brand": camera_brand or None, "model": model or None,
                 "readout_values": len(readout), "parser": "telemetry-parser"})
    stab = stabilization_tags(groups)
    if stab is not None:  # read by sensors.in_camera
        meta["stabilization"] = stab
    return SensorLog(
        path=spath,
        format="telemetry",
        gyro=gyro,
        readout_s=readout_s,
        exposure_s=np.array(exposure) if exposure else None,
        camera=camera or None,
        same_clock_as_video=Path(spath).suffix.lower() in VIDEO_EXTENSIONS,
        meta=meta,
    )
