"""Many rosette stitches on Dask distributed: manifest -> jobs -> workers -> results JSONL.

A batch reads as: load and validate the manifest (every bad line becomes a failed result, it
never stops the others) -> skip jobs already finished with the same settings (resume) -> submit
the rest to a Dask cluster (an embedded ``LocalCluster`` by default, or an existing scheduler) ->
append one result line per job as it completes.

Manifest (DESIGN.md "stitch/ batch.py"), either

* a JSONL file, one job per line::

      {"id": "site01", "rig": "site01/camera_rig.json", "images_dir": "site01",
       "output": "out/site01.jpg", "width_px": 3072, "stitch": {"refine": false}}

  ``images`` (a list, rig order) may replace ``images_dir`` (files named by camera id). Any
  :class:`~stitch.params.StitchParams` field may be given at the top level or inside a
  ``"stitch"`` object (``width`` is accepted for ``width_px``). Relative paths resolve against
  the manifest's folder; blank lines and lines starting with ``#`` are ignored; or
* a folder of capture folders, each holding a rig file (``camera_rig.json`` or
  ``rig_config.json``) and its images named by camera id; the panorama of ``<root>/<name>/`` is
  ``<root>/<name>.jpg`` (or ``<out_dir>/<name>.jpg``).

Resume: a job is skipped when its output exists and the settings hash recorded for it (in the
``.steadyrig.json`` sidecar the worker writes beside the panorama, or a ``done`` line of the
results file) equals the job's current hash. The hash covers the stitch parameters, the output
path and the identity (path, size, mtime) of the rig file and every image.

Outputs: each panorama is written atomically by the stitch pipeline (``sensors.atomic``); the
results file is an append-only log (one JSON object per line, flushed per job) so that an
interrupted batch keeps the lines of the jobs that did finish.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import resource
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sensors.atomic import atomic_output, check_not_input
from sensors.errors import InputError

from .params import IMAGE_SUFFIXES, StitchParams

__all__ = [
    "BatchJob",
    "InvalidJob",
    "Manifest",
    "BatchSummary",
    "RIG_FILE_NAMES",
    "load_manifest",
    "settings_hash",
    "sidecar_path",
    "default_results_path",
    "read_results",
    "finished_hash",
    "run_job",
    "run_batch",
    "generate_batch",
]

#: Rig file names looked for in a capture folder, in order of preference.
RIG_FILE_NAMES = ("camera_rig.json", "rig_config.json")

#: Manifest keys that are not stitch parameters.
_JOB_KEYS = ("id", "rig", "images", "images_dir", "output", "stitch")

#: Friendly spellings of parameter names (the CLI's ``--width``).
_ALIASES = {"width": "width_px"}

_PARAM_FIELDS = {f.name: f for f in dataclasses.fields(StitchParams)}

_SIDECAR_SUFFIX = ".steadyrig.json"


@dataclass(frozen=True)
class BatchJob:
    """One validated stitch job.

    Parameters
    ----------
    id : str
        Unique name of the job within the manifest.
    rig : Path
        Rig file (Surround360 or COLMAP), absolute.
    images : tuple of Path
        One image per rig camera, in rig order, absolute.
    output : Path
        Panorama file, absolute.
    params : StitchParams
        Stitch settings.
    settings_hash : str
        See :func:`settings_hash`.
    line : int
        Manifest line number (1-based; 0 for a folder manifest).
    """

    id: str
    rig: Path
    images: tuple[Path, ...]
    output: Path
    params: StitchParams
    settings_hash: str
    line: int = 0


@dataclass(frozen=True)
class InvalidJob:
    """A manifest entry that could not become a job (reported as a failed result)."""

    line: int
    id: str | None
    error: str


@dataclass(frozen=True)
class Manifest:
    """A loaded manifest: the valid jobs and the entries rejected with their reason."""

    path: Path
    jobs: tuple[BatchJob, ...]
    invalid: tuple[InvalidJob, ...]

    def __len__(self) -> int:
        return len(self.jobs) + len(self.invalid)


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did.

    Parameters
    ----------
    results_path : Path
        The JSONL file the result lines were appended to.
    records : tuple of dict
        The result lines of this run, in completion order.
    n_done, n_failed, n_skipped : int
        Jobs per status.
    wall_s : float
        Wall time of the whole run (cluster start included).
    cluster_start_s : float
        Time to start (or connect to) the cluster.
    n_workers : int
        Workers the jobs ran on (0 when nothing was submitted).
    """

    results_path: Path
    records: tuple[dict, ...]
    n_done: int
    n_failed: int
    n_skipped: int
    wall_s: float
    cluster_start_s: float
    n_workers: int

    @property
    def ok(self) -> bool:
        """True when no job failed."""
        return self.n_failed == 0


# ---------------------------------------------------------------------------------------------
# manifest


def _file_identity(p: Path) -> list:
    st = p.stat()
    return [str(p), st.st_size, st.st_mtime_ns]


def settings_hash(params: StitchParams, rig: Path, images: Sequence[Path], output: Path) -> str:
    """A hex digest that changes when anything deciding a job's panorama changes.

    It covers ``params.checksum()``, the output path and the path, size and modification time
    of the rig file and of every image (so an edited input is stitched again on resume).

    Raises
    ------
    InputError
        If the rig or an image does not exist.
    """
    ident = []
    for p in (rig, *images):
        if not p.is_file():
            raise InputError("file does not exist" if not p.exists() else "not a file", str(p))
        ident.append(_file_identity(p))
    blob = json.dumps({"params": params.checksum(), "output": str(output), "inputs": ident},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _check_type(name: str, value, where: str):
    """Check a manifest value against the StitchParams field's type (no silent coercion)."""
    kind = _PARAM_FIELDS[name].type
    kind = kind if isinstance(kind, str) else kind.__name__
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "str": isinstance(value, str),
    }.get(kind, True)
    if not ok:
        raise InputError(f"{where}: {name} must be of type {kind}, got {json.dumps(value)}")
    return float(value) if kind == "float" else value


def _params_from(options: dict, base: StitchParams, where: str) -> StitchParams:
    changes = {}
    for key, value in options.items():
        name = _ALIASES.get(key, key)
        if name not in _PARAM_FIELDS:
            raise InputError(
                f"{where}: unknown key {key!r}; valid keys: {', '.join(_JOB_KEYS)} and the "
                f"stitch options {', '.join(_PARAM_FIELDS)}")
        changes[name] = _check_type(name, value, where)
    try:
        return base.with_(**changes) if changes else base
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def _path(value, key: str, base_dir: Path, where: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: {key} must be a non-empty path string, got "
                         f"{json.dumps(value)}")
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base_dir / p).resolve()


def _resolve_images(rig_path: Path, images: list[Path], where: str) -> tuple[Path, ...]:
    """Image paths in rig order (a folder's files are matched by camera id, as the CLI does)."""
    from .pipeline import resolve_images
    from .rig import read_rig

    try:
        rig = read_rig(rig_path)
        return tuple(p.resolve() for p in resolve_images(rig, images))
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def _job_from_entry(entry, line: int, base_dir: Path, out_dir: Path | None,
                    defaults: StitchParams, where: str) -> BatchJob:
    if not isinstance(entry, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(entry).__name__}")
    job_id = entry.get("id")
    if not isinstance(job_id, str) or not job_id.strip():
        raise InputError(f"{where}: missing or empty 'id' (a string naming the job)")
    for key in ("rig", "output"):
        if key not in entry:
            raise InputError(f"{where}: missing {key!r}")
    has_list, has_dir = "images" in entry, "images_dir" in entry
    if has_list == has_dir:
        raise InputError(f"{where}: give exactly one of 'images' (a list in rig order) or "
                         "'images_dir' (a folder with files named by camera id)")
    options = {k: v for k, v in entry.items() if k not in _JOB_KEYS}
    nested = entry.get("stitch", {})
    if not isinstance(nested, dict):
        raise InputError(f"{where}: 'stitch' must be an object of stitch options")
    both = sorted(set(map(lambda k: _ALIASES.get(k, k), options))
                  & set(map(lambda k: _ALIASES.get(k, k), nested)))
    if both:
        raise InputError(f"{where}: {', '.join(both)} given both at the top level and in 'stitch'")
    params = _params_from({**options, **nested}, defaults, where)

    rig = _path(entry["rig"], "rig", base_dir, where)
    output = Path(entry["output"]) if isinstance(entry["output"], str) else None
    out_base = out_dir if (out_dir is not None and output is not None
                           and not output.is_absolute()) else base_dir
    output = _path(entry["output"], "output", out_base, where)
    if output.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"{where}: output {output.name!r} must end in one of "
                         + ", ".join(IMAGE_SUFFIXES))
    if has_list:
        raw = entry["images"]
        if not isinstance(raw, list) or not raw:
            raise InputError(f"{where}: 'images' must be a non-empty list of paths")
        images = [_path(v, "images[]", base_dir, where) for v in raw]
    else:
        images = [_path(entry["images_dir"], "images_dir", base_dir, where)]
        if not images[0].is_dir():
            raise InputError(f"{where}: images_dir is not a folder: {images[0]}")
    if not rig.is_file():
        raise InputError(f"{where}: rig file does not exist: {rig}")
    images = _resolve_images(rig, images, where)
    try:
        check_not_input(output, rig, *images)
        digest = settings_hash(params, rig, images, output)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    return BatchJob(job_id, rig, images, output, params, digest, line)


def _read_jsonl(path: Path) -> list[tuple[int, object]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("manifest is not UTF-8 text (expected JSONL: one JSON job per line)",
                         str(path)) from None
    entries = []
    for n, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        try:
            entries.append((n, json.loads(s)))
        except json.JSONDecodeError as exc:
            entries.append((n, exc))
    if not entries:
        raise InputError("manifest has no jobs", str(path))
    if all(isinstance(e, json.JSONDecodeError) for _, e in entries):
        raise InputError("manifest is not JSONL (no line parses as JSON)", str(path))
    return entries


def _capture_entries(root: Path, out_dir: Path | None) -> list[tuple[int, object]]:
    """Turn a folder of capture folders into manifest entries (or errors)."""
    entries: list[tuple[int, object]] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        rig = next((sub / n for n in RIG_FILE_NAMES if (sub / n).is_file()), None)
        has_images = any(p.suffix.lower() in IMAGE_SUFFIXES for p in sub.iterdir())
        if rig is None:
            if has_images:
                entries.append((0, InputError(
                    f"capture folder {sub.name!r} has images but no "
                    + " or ".join(RIG_FILE_NAMES))))
            continue  # not a capture folder (e.g. the output folder)
        out = (out_dir or root) / f"{sub.name}.jpg"
        entries.append((0, {"id": sub.name, "rig": str(rig), "images_dir": str(sub),
                            "output": str(out)}))
    if not entries:
        raise InputError("folder holds no capture folders (sub-folders with "
                         + " or ".join(RIG_FILE_NAMES) + " and images)", str(root))
    return entries


def load_manifest(path: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                  defaults: StitchParams | dict | None = None) -> Manifest:
    """Read and validate a batch manifest (JSONL file or folder of capture folders).

    Parameters
    ----------
    path : path
        The JSONL manifest, or a folder of capture folders.
    out_dir : path, optional
        Folder for outputs given as relative paths (JSONL) or for every output (folder).
    defaults : StitchParams or dict, optional
        Stitch settings every job starts from (a dict is validated like a manifest line).

    Returns
    -------
    Manifest
        Valid jobs and the rejected entries (each with a one-line reason naming its line).

    Raises
    ------
    InputError
        The manifest as a whole is unusable: missing, empty, not JSONL, no capture folders.
    """
    mpath = Path(path).expanduser().resolve()
    if not mpath.exists():
        raise InputError("manifest does not exist", str(path))
    odir = None if out_dir is None else Path(out_dir).expanduser().resolve()
    if isinstance(defaults, dict):
        defaults = _params_from(defaults, StitchParams(), "batch defaults (--set)")
    defaults = StitchParams() if defaults is None else defaults
    if mpath.is_dir():
        entries, base_dir = _capture_entries(mpath, odir), mpath
    else:
        entries, base_dir = _read_jsonl(mpath), mpath.parent
    jobs: list[BatchJob] = []
    invalid: list[InvalidJob] = []
    seen_ids: dict[str, int] = {}
    seen_out: dict[Path, str] = {}
    for n, entry in entries:
        where = f"{mpath.name} line {n}" if n else f"{mpath.name}"
        raw_id = entry.get("id") if isinstance(entry, dict) else None
        job_id = raw_id if isinstance(raw_id, str) else None
        if n == 0 and job_id:
            where = f"{mpath.name}/{job_id}"
        try:
            if isinstance(entry, Exception):
                msg = (f"not valid JSON ({entry.msg}, column {entry.colno})"
                       if isinstance(entry, json.JSONDecodeError) else entry.reason)
                raise InputError(f"{where}: {msg}")
            if job_id in seen_ids:
                raise InputError(f"{where}: duplicate id {job_id!r} (first on line "
                                 f"{seen_ids[job_id]})")
            if job_id is not None:
                seen_ids[job_id] = n
            job = _job_from_entry(entry, n, base_dir, odir, defaults, where)
            if job.output in seen_out:
                raise InputError(f"{where}: output {job.output} is also the output of job "
                                 f"{seen_out[job.output]!r}")
            seen_out[job.output] = job.id
            jobs.append(job)
        except InputError as exc:
            invalid.append(InvalidJob(n, job_id, str(exc)))
    return Manifest(mpath, tuple(jobs), tuple(invalid))


# ---------------------------------------------------------------------------------------------
# resume


def sidecar_path(output: Path) -> Path:
    """The small JSON file beside a panorama recording the settings it was made with."""
    return output.with_name(output.name + _SIDECAR_SUFFIX)


def default_results_path(manifest: str | os.PathLike) -> Path:
    """``<manifest stem>.results.jsonl`` beside a JSONL manifest, inside a folder manifest."""
    m = Path(manifest).expanduser().resolve()
    if m.is_dir():
        return m / "batch.results.jsonl"
    return m.with_name(m.stem + ".results.jsonl")


def read_results(path: str | os.PathLike) -> list[dict]:
    """Result lines of a results file (lines that do not parse, e.g. cut by a crash, are skipped).

    A missing file reads as no results.
    """
    p = Path(path)
    if not p.exists():
        return []
    out = []
    for raw in p.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            rec = json.loads(raw)
            if isinstance(rec, dict):
                out.append(rec)
    return out


def finished_hash(job: BatchJob, previous: Sequence[dict]) -> str | None:
    """The settings hash recorded for ``job``'s existing output, or None if there is none.

    The sidecar beside the output is read first (it is written by the worker right after the
    panorama, so it survives a client that died); then the last ``done`` line of the results.
    """
    if not job.output.is_file():
        return None
    side = sidecar_path(job.output)
    with contextlib.suppress(OSError, json.JSONDecodeError, AttributeError):
        h = json.loads(side.read_text()).get("settings_hash")
        if h == job.settings_hash:
            return h
    for rec in reversed(previous):
        if (rec.get("id") == job.id and rec.get("status") == "done"
                and rec.get("output") == str(job.output)):
            return rec.get("settings_hash")
    return None


# ---------------------------------------------------------------------------------------------
# the job (runs on a worker)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _peak_rss_mb() -> float:
    """Peak resident set of this (worker) process, MB.

    On Linux this is ``VmHWM`` of /proc/self/status: ``ru_maxrss`` is not usable for a spawned
    worker because the kernel carries the parent's peak across fork + exec, so every worker
    would report at least the RSS its launcher had when it started it.
    """
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)  # kB
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def _seam_summary(report: dict) -> dict:
    """The small part of a stitch report that belongs in a result line."""
    seams = report.get("seams")
    if isinstance(seams, dict):
        # Overall figures only: per-pair and per-warp lists stay in the stitch report.
        seams = {k: v for k, v in seams.items() if not isinstance(v, list | str)}
    warps = report.get("warps") or []
    dets = [w["min_jacobian_det"] for w in warps if w.get("min_jacobian_det") is not None]
    disp = [w["max_displacement_px"] for w in warps if w.get("max_displacement_px") is not None]
    return {
        "seams": seams,
        "n_overlaps": len(report.get("overlaps") or []),
        "coverage_fraction": report.get("coverage_fraction"),
        "min_jacobian_det": min(dets) if dets else None,
        "max_displacement_px": max(disp) if disp else None,
        "repair": report.get("repair"),
        "refine": report.get("refine"),
        "warnings": report.get("warnings") or [],
    }


def _record(job: BatchJob | InvalidJob, status: str, **extra) -> dict:
    if isinstance(job, InvalidJob):
        rec = {"id": job.id, "line": job.line, "status": status, "output": None,
               "settings_hash": None}
    else:
        rec = {"id": job.id, "line": job.line, "status": status, "output": str(job.output),
               "settings_hash": job.settings_hash}
    rec.update(extra)
    rec.setdefault("error", None)
    rec["finished_utc"] = _now()
    return rec


def run_job(job: BatchJob) -> dict:
    """Stitch one job and return its result line (never raises for a job's own failure).

    Runs on a Dask worker: calls :func:`stitch.pipeline.stitch_panorama` (which writes the
    panorama atomically), then writes the sidecar with the settings hash. A library error or
    any other exception becomes a ``failed`` line carrying ``"<Type>: <message>"``.
    """
    from .pipeline import stitch_panorama

    t0 = time.perf_counter()
    where = {"worker_host": socket.gethostname(), "worker_pid": os.getpid()}
    try:
        res = stitch_panorama(job.rig, list(job.images), job.output, params=job.params)
        with atomic_output(sidecar_path(job.output)) as tmp:
            Path(tmp).write_text(json.dumps({
                "id": job.id, "settings_hash": job.settings_hash,
                "params_checksum": job.params.checksum(), "finished_utc": _now(),
            }) + "\n")
    except Exception as exc:  # a failed job never stops the batch: report it as a line
        return _record(job, "failed", error=f"{type(exc).__name__}: {exc}",
                       wall_s=round(time.perf_counter() - t0, 3), peak_rss_mb=_peak_rss_mb(),
                       **where)
    return _record(job, "done", wall_s=round(time.perf_counter() - t0, 3),
                   timings_s=res.report.get("timings_s"), seam=_seam_summary(res.report),
                   peak_rss_mb=_peak_rss_mb(), **where)


# ---------------------------------------------------------------------------------------------
# cluster and run


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _connect(scheduler: str | None, workers: int | None, connect_timeout_s: float
             ) -> Iterator[tuple[object, bool]]:
    """Yield ``(client, is_local)``: an embedded LocalCluster, or a client of ``scheduler``."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=connect_timeout_s)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot connect to the Dask scheduler within {connect_timeout_s:g} s"
                             f" ({type(exc).__name__}: {exc}); is `dask scheduler` running?",
                             scheduler) from None
        try:
            yield client, False
        finally:
            client.close()
        return
    n = _cpu_count() if workers is None else int(workers)
    if n < 1:
        raise InputError(f"--workers must be >= 1, got {n}")
    # Logs below CRITICAL stay silent: on a loaded machine a worker's heartbeat racing the
    # scheduler's shutdown logs an ERROR with a traceback although nothing failed; a job's real
    # failure comes back as its result line.
    # The scheduler always runs an HTTP server; None means port 8787, which a user's own
    # cluster may hold (a warning, then a random port). Ask for a free loopback port instead.
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL)
    try:
        client = Client(cluster)
        try:
            yield client, True
        finally:
            client.close()
    finally:
        cluster.close()


def _prepare_worker(threads: int | None) -> str:
    import cv2
    import numba

    import stitch.pipeline

    if threads is not None:
        # Dask caps BLAS/OpenMP threads of its workers at 1 but not OpenCV's or numba's pools:
        # n worker processes x all-core pools would oversubscribe the machine.
        cv2.setNumThreads(threads)
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return stitch.pipeline.__file__


def _warm_up(client, scheduler: str | None, threads: int | None = None) -> int:
    """Import the stitch pipeline on every worker now; return the number of workers.

    The first job of a fresh worker would otherwise pay for importing OpenCV, pyceres and numba,
    and a worker whose environment lacks steadyrig fails here with one clear error instead of
    once per job. ``threads`` caps OpenCV's and numba's thread pools of each worker.
    """
    try:
        where = client.run(_prepare_worker, threads)
    except ImportError as exc:
        raise InputError(f"a Dask worker cannot import steadyrig's stitch package ({exc}); "
                         "install steadyrig in the workers' environment", scheduler) from None
    if not where:
        raise InputError("the Dask cluster has no workers; start some with `dask worker "
                         "ADDRESS`", scheduler)
    return len(where)


def _remove_partial(job: BatchJob) -> None:
    """Delete temporary files ``sensors.atomic`` left beside ``job``'s outputs.

    Only called after the local cluster's workers are gone: a worker killed mid-write cannot
    run the clean-up of ``atomic_output`` (the final names were never written).
    """
    out = job.output
    side = sidecar_path(out)
    patterns = (f".{out.stem}.*.part{out.suffix}", f".{side.stem}.*.part{side.suffix}")
    for pat in patterns:
        for p in out.parent.glob(pat):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


class _ResultsLog:
    """Append-only JSONL of result lines, flushed per line (see the module docstring)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(path, "a", encoding="utf-8")

    def write(self, rec: dict) -> None:
        self._f.write(json.dumps(rec, sort_keys=False) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


def run_batch(manifest: str | os.PathLike | Manifest, *, results: str | os.PathLike | None = None,
              scheduler: str | None = None, workers: int | None = None,
              out_dir: str | os.PathLike | None = None, defaults: StitchParams | dict | None = None,
              progress: Callable[[dict, int, int], None] | None = None,
              job_fn: Callable[[BatchJob], dict] = run_job,
              connect_timeout_s: float = 10.0) -> BatchSummary:
    """Run every job of a manifest on Dask, appending one result line per job.

    Parameters
    ----------
    manifest : path or Manifest
        JSONL manifest or folder of capture folders (see the module docstring).
    results : path, optional
        Results JSONL (appended); default :func:`default_results_path`.
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); default an embedded
        ``LocalCluster`` of worker processes with one thread each (its HTTP server on a free
        loopback port).
    workers : int, optional
        Worker processes of the embedded cluster (default: the usable cores).
    out_dir, defaults
        Passed to :func:`load_manifest`.
    progress : callable(record, n_finished, n_total), optional
        Called after each result line is written.
    job_fn : callable(BatchJob) -> dict
        The function the workers run (default :func:`run_job`); it must be importable by the
        workers and return a result line.
    connect_timeout_s : float
        How long to wait for ``scheduler``.

    Returns
    -------
    BatchSummary

    Raises
    ------
    InputError
        The manifest as a whole is unusable, or the scheduler cannot be reached.
    KeyboardInterrupt
        Re-raised after the futures were cancelled, the cluster closed and partial files
        removed; the results file keeps the finished jobs, so a rerun resumes.
    """
    t_start = time.perf_counter()
    if scheduler is not None and workers is not None:
        raise InputError("workers sizes the embedded cluster; with a scheduler, start the "
                         "workers with `dask worker ADDRESS`")
    man = manifest if isinstance(manifest, Manifest) else load_manifest(manifest, out_dir,
                                                                        defaults)
    res_path = Path(results).expanduser().resolve() if results is not None \
        else default_results_path(man.path)
    check_not_input(res_path, man.path, *(j.output for j in man.jobs))
    previous = read_results(res_path)
    total = len(man)
    records: list[dict] = []
    log = _ResultsLog(res_path)

    def emit(rec: dict) -> None:
        log.write(rec)
        records.append(rec)
        if progress is not None:
            progress(rec, len(records), total)

    cluster_start_s, n_workers = 0.0, 0
    try:
        for bad in man.invalid:
            emit(_record(bad, "failed", error=bad.error))
        todo = []
        for job in man.jobs:
            if finished_hash(job, previous) == job.settings_hash:
                emit(_record(job, "skipped", reason="output exists with the same settings"))
            else:
                todo.append(job)
        if todo:
            t_c = time.perf_counter()
            finished: set[str] = set()
            is_local = scheduler is None
            try:
                with _connect(scheduler, workers, connect_timeout_s) as (client, _):
                    # Embedded cluster: share the cores between the worker processes.
                    threads = (max(1, _cpu_count() // (workers or _cpu_count()))
                               if is_local else None)
                    n_workers = _warm_up(client, scheduler, threads)
                    cluster_start_s = round(time.perf_counter() - t_c, 3)
                    _run_on(client, todo, job_fn, emit, finished)
            except BaseException:
                if is_local:
                    # The embedded cluster is closed now, so its workers are gone: a worker
                    # killed mid-write could not remove its temporary file itself.
                    for job in todo:
                        if job.id not in finished:
                            _remove_partial(job)
                raise
    finally:
        log.close()
    n = {s: sum(r["status"] == s for r in records) for s in ("done", "failed", "skipped")}
    return BatchSummary(res_path, tuple(records), n["done"], n["failed"], n["skipped"],
                        round(time.perf_counter() - t_start, 3), cluster_start_s, n_workers)


def _run_on(client, todo: list[BatchJob], job_fn, emit, finished: set[str]) -> None:
    """Submit ``todo`` and emit a line per completed future; cancel everything on interrupt."""
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]  # keys stay unique on a shared, long-lived scheduler
    futures = {}
    for job in todo:
        fut = client.submit(job_fn, job, pure=False, key=f"steadyrig-batch-{token}-{job.id}")
        futures[fut] = job
    try:
        for fut in as_completed(list(futures)):
            job = futures[fut]
            try:
                rec = fut.result()
            except Exception as exc:  # the worker died or the task could not run at all
                rec = _record(job, "failed", error=f"{type(exc).__name__}: {exc}")
            finished.add(job.id)
            emit(rec)
    except BaseException:
        # Ctrl-C (or any error of our own): nothing more is wanted from the cluster. Tasks
        # already running on an external cluster finish and write their outputs atomically.
        client.cancel(list(futures), force=True)
        raise


# ---------------------------------------------------------------------------------------------
# generated batches (tests and bench/batch.py)


def generate_batch(out_dir: str | os.PathLike, n_jobs: int, *, n_cameras: int = 8,
                   width: int = 960, height: int = 720, hfov_deg: float = 80.0, seed: int = 0,
                   image_format: str = "png", **stitch_options) -> Path:
    """Write ``n_jobs`` generated rosettes and a JSONL manifest stitching each of them.

    Rosette ``k`` is :func:`stitch.synthetic.generate_rosette` with seed ``seed + k`` in
    ``<out_dir>/captures/job{k:02d}/``; its panorama goes to ``<out_dir>/panoramas/job{k:02d}.jpg``.
    Paths in the manifest are relative to ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created).
    n_jobs : int
        Number of rosettes / manifest lines (>= 1).
    n_cameras, width, height, hfov_deg, image_format
        Passed to :func:`stitch.synthetic.generate_rosette`.
    seed : int
        Seed of the first rosette.
    **stitch_options
        StitchParams fields written on every line (e.g. ``width_px=768``).

    Returns
    -------
    Path
        ``<out_dir>/manifest.jsonl``.
    """
    from .synthetic import generate_rosette

    if n_jobs < 1:
        raise InputError(f"n_jobs must be >= 1, got {n_jobs}")
    _params_from(stitch_options, StitchParams(), "generate_batch")  # fail before rendering
    out = Path(out_dir)
    lines = []
    for k in range(n_jobs):
        name = f"job{k:02d}"
        cap = out / "captures" / name
        generate_rosette(cap, n_cameras=n_cameras, width=width, height=height,
                         hfov_deg=hfov_deg, seed=seed + k, image_format=image_format)
        lines.append({"id": name, "rig": f"captures/{name}/camera_rig.json",
                      "images_dir": f"captures/{name}", "output": f"panoramas/{name}.jpg",
                      **stitch_options})
    manifest = out / "manifest.jsonl"
    with atomic_output(manifest) as tmp:
        Path(tmp).write_text("".join(json.dumps(line) + "\n" for line in lines))
    return manifest
