"""Stabilize jobs of a batch manifest: the ``stabilize`` job kind (``sensors.jobs.kinds``).

A manifest line with ``"video"`` is a stabilize job::

    {"id": "ride", "video": "clips/ride.mp4", "gyro": "clips/ride.gcsv", "lens": "hero5.json",
     "offset_ms": 12.5, "readout_ms": 15.0, "output": "out/ride.mp4", "preset": "calm.json",
     "crf": 20, "stabilize": {"window_s": 1.0}, "segments": 4}

Only ``id`` and ``video`` are required. The log is ``gyro`` (a file or a phone-layout folder),
else ``<stem>.gcsv`` beside the video, else the telemetry embedded in it; ``lens`` else
``<stem>.lens.json`` beside it; ``output`` defaults to ``<stem>.stabilized.mp4`` beside the
video (or in ``--out-dir``). Settings start from the batch defaults (``--set``), then the
``preset`` file, then the line's own stabilize parameters (top level or in a ``"stabilize"``
object; the x264 preset is ``encoder_preset``). ``sidecar`` writes the per-frame JSON sidecar,
``strict`` refuses a partial log, ``segments`` splits the clip across the cluster's workers
(``stabilize.segments``).

In a folder manifest every clip (``.mp4``, ``.mov``) at the top level is a job, with its log
found as above; ``*.stabilized.*`` files (outputs) are not clips.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from sensors.atomic import check_not_input
from sensors.errors import InputError
from sensors.jobs.kinds import JobKind, LineContext, register_kind
from sensors.jobs.options import digest, file_identity

from .params import StabilizeParams
from .presets import load_preset, option_names, params_from
from .sidecar import result_summary

__all__ = ["StabilizeJob", "STABILIZE_KIND", "VIDEO_SUFFIXES", "run_stabilize_job"]

#: Clip suffixes a folder manifest takes as stabilize jobs.
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv")
_OUTPUT_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv")
#: Manifest keys that are not stabilize parameters.
_JOB_KEYS = ("id", "video", "gyro", "lens", "offset_ms", "readout_ms", "output", "sidecar",
             "preset", "stabilize", "strict", "segments")


@dataclass(frozen=True)
class StabilizeJob:
    """One validated stabilize job (see the module docstring for the manifest keys).

    Parameters
    ----------
    id : str
        Unique name of the job within the manifest.
    video, output : Path
        The clip and the stabilized video, absolute.
    gyro, lens : Path or None
        The log and the lens profile, when given (else found beside the video).
    offset_ms, readout_ms : float or None
        Sync offset and rolling-shutter readout, when given.
    params : StabilizeParams
        Stabilize settings.
    sidecar : Path or None
        Per-frame JSON sidecar to write.
    strict : bool
        Refuse a log covering only part of the clip.
    segments : int
        Time segments the clip is split into across workers (1: one worker).
    settings_hash : str
        Changes when anything deciding the output changes (resume).
    line : int
        Manifest line number (0 for a folder manifest).
    """

    id: str
    video: Path
    output: Path
    gyro: Path | None
    lens: Path | None
    offset_ms: float | None
    readout_ms: float | None
    params: StabilizeParams
    sidecar: Path | None
    strict: bool
    segments: int
    settings_hash: str
    line: int = 0
    kind: str = "stabilize"

    def run(self) -> dict:
        """Stabilize on a worker and return the result line (:func:`run_stabilize_job`)."""
        return run_stabilize_job(self)

    def outputs(self) -> tuple[Path, ...]:
        """The files the job writes atomically."""
        return (self.output,) + ((self.sidecar,) if self.sidecar is not None else ())


def _path(value, key: str, base_dir: Path, where: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: {key} must be a non-empty path string, got "
                         f"{json.dumps(value)}")
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base_dir / p).resolve()


def _number(entry: dict, key: str, where: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}: {key} must be a number, got {json.dumps(value)}")
    return float(value)


def _has_telemetry(video: Path) -> bool:
    """True when the container holds a data stream (GoPro GPMF, CAMM, ...): cheap, no read."""
    import av

    try:
        with av.open(str(video)) as c:
            return any(s.type == "data" for s in c.streams)
    except Exception:  # not a readable video: reported by the job itself
        return False


def _log_of(video: Path, gyro: Path | None, where: str) -> Path:
    """The log a job reads (checked to exist): ``gyro``, a same-stem .gcsv, or the video."""
    if gyro is not None:
        if not gyro.exists():
            raise InputError(f"{where}: gyro log does not exist: {gyro}")
        return gyro
    side = video.with_suffix(".gcsv")
    if side.is_file():
        return side
    if _has_telemetry(video):
        return video
    raise InputError(f"{where}: no gyro log for {video.name} (no {side.name} beside it and no "
                     "telemetry stream in it); give 'gyro'")


def _job_from_entry(entry: dict, ctx: LineContext) -> StabilizeJob:
    where, base_dir = ctx.where, ctx.base_dir
    options = {k: v for k, v in entry.items() if k not in _JOB_KEYS}
    nested = entry.get("stabilize", {})
    if not isinstance(nested, dict):
        raise InputError(f"{where}: 'stabilize' must be an object of stabilize parameters")
    both = sorted(set(options) & set(nested))
    if both:
        raise InputError(f"{where}: {', '.join(both)} given both at the top level and in "
                         "'stabilize'")
    base: StabilizeParams = ctx.defaults
    if "preset" in entry:
        preset = _path(entry["preset"], "preset", base_dir, where)
        try:
            base = params_from(load_preset(preset), base, str(preset))
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
    try:
        params = params_from({**options, **nested}, base, where)
    except InputError as exc:
        if "unknown key" in str(exc):
            raise InputError(f"{exc.args[0].split('; valid keys')[0]}; valid keys: "
                             f"{', '.join(_JOB_KEYS)} and the stabilize parameters "
                             f"{', '.join(option_names())}") from None
        raise
    video = _path(entry["video"], "video", base_dir, where)
    if not video.is_file():
        raise InputError(f"{where}: video does not exist: {video}" if not video.exists()
                         else f"{where}: video is not a file: {video}")
    gyro = _path(entry["gyro"], "gyro", base_dir, where) if "gyro" in entry else None
    lens = _path(entry["lens"], "lens", base_dir, where) if "lens" in entry else None
    if lens is not None and not lens.is_file():
        raise InputError(f"{where}: lens profile does not exist: {lens}")
    log = _log_of(video, gyro, where)
    if "output" in entry:
        raw = entry["output"]
        rel = isinstance(raw, str) and not Path(raw).expanduser().is_absolute()
        output = _path(raw, "output", ctx.out_dir if rel and ctx.out_dir else base_dir, where)
    else:
        suffix = ".mov" if params.codec == "prores" else ".mp4"
        output = (ctx.out_dir or video.parent) / f"{video.stem}.stabilized{suffix}"
    if output.suffix.lower() not in _OUTPUT_SUFFIXES:
        raise InputError(f"{where}: output {output.name!r} must end in one of "
                         + ", ".join(_OUTPUT_SUFFIXES))
    sidecar = _path(entry["sidecar"], "sidecar", base_dir, where) if "sidecar" in entry else None
    strict = entry.get("strict", False)
    segments = entry.get("segments", 1)
    if not isinstance(strict, bool):
        raise InputError(f"{where}: strict must be true or false, got {json.dumps(strict)}")
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        raise InputError(f"{where}: segments must be an integer >= 1, got "
                         f"{json.dumps(segments)}")
    offset_ms, readout_ms = _number(entry, "offset_ms", where), _number(entry, "readout_ms",
                                                                         where)
    try:
        check_not_input(output, video, log, *(p for p in (lens, sidecar) if p is not None))
        if sidecar is not None:
            check_not_input(sidecar, video, log, output)
        ident = [file_identity(p) for p in (video, log, lens) if p is not None]
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    h = digest({"params": params.checksum(), "output": str(output), "inputs": ident,
                "offset_ms": offset_ms, "readout_ms": readout_ms, "strict": strict,
                "segments": segments, "sidecar": None if sidecar is None else str(sidecar)})
    return StabilizeJob(entry["id"], video, output, gyro, lens, offset_ms, readout_ms, params,
                        sidecar, strict, segments, h, ctx.line)


def _clip_entries(root: Path, out_dir: Path | None) -> list[tuple[int, object]]:
    """A folder's clips as manifest entries (outputs of earlier runs left out)."""
    entries: list[tuple[int, object]] = []
    for p in sorted(root.iterdir()):
        if (p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".")
                and ".stabilized" not in p.name):
            entry = {"id": p.stem, "video": str(p)}
            if out_dir is not None:
                entry["output"] = str(out_dir / f"{p.stem}.stabilized.mp4")
            entries.append((0, entry))
    return entries


def _make_defaults(options: dict, where: str) -> StabilizeParams:
    # The command line's smoothing (learned intent) is the batch's default too.
    from .filters import compose_chain
    from .params import DEFAULT_SMOOTHING

    base = StabilizeParams(filters=compose_chain(DEFAULT_SMOOTHING, ()))
    return params_from(options, base, where)


def run_stabilize_job(job: StabilizeJob) -> dict:
    """Stabilize one job and return its result line (never raises for a job's own failure).

    Runs on a Dask worker: ``stabilize_video`` (or, with ``segments`` > 1,
    ``stabilize_segmented`` on the same cluster) writes the video atomically, then the resume
    sidecar records the settings hash. Any exception becomes a ``failed`` line carrying
    ``"<Type>: <message>"``.
    """
    from sensors.jobs.results import make_record, write_done_sidecar
    from sensors.jobs.usage import peak_rss_mb

    t0 = time.perf_counter()
    where = {"worker_host": socket.gethostname(), "worker_pid": os.getpid()}
    kwargs = dict(gyro=job.gyro, lens=job.lens, readout_ms=job.readout_ms,
                  offset_ms=job.offset_ms, params=job.params, sidecar=job.sidecar,
                  strict=job.strict)
    try:
        if job.segments > 1:
            from .segments import stabilize_segmented

            res = stabilize_segmented(job.video, job.output, segments=job.segments, **kwargs)
        else:
            from .pipeline import stabilize_video

            res = stabilize_video(job.video, job.output, **kwargs)
        write_done_sidecar(job, job.params.checksum())
    except Exception as exc:  # a failed job never stops the batch: report it as a line
        return make_record(job, "failed", error=f"{type(exc).__name__}: {exc}",
                           wall_s=round(time.perf_counter() - t0, 3),
                           peak_rss_mb=peak_rss_mb(), **where)
    wall = round(time.perf_counter() - t0, 3)
    return make_record(job, "done", wall_s=wall,
                       timings_s={"stabilize": round(res.elapsed_s, 3), "total": wall},
                       segments=job.segments, stabilize=result_summary(res),
                       peak_rss_mb=peak_rss_mb(), **where)


#: The ``stabilize`` job kind: manifest lines with ``"video"``, clips in a folder.
STABILIZE_KIND = register_kind(JobKind(
    name="stabilize", markers=("video",), parse=_job_from_entry, option_names=option_names,
    make_defaults=_make_defaults, scan_folder=_clip_entries,
    folder_hint="clips (" + ", ".join(VIDEO_SUFFIXES) + " with a .gcsv beside them or "
                "embedded telemetry)",
    warm_module="stabilize.segments"))
