"""Batch results: the append-only results log, result lines, and the resume bookkeeping.

The results file is an append-only log (one JSON object per line, flushed per job) so that an
interrupted batch keeps the lines of the jobs that did finish.

Resume: a job is skipped when its output exists and the settings hash recorded for it (in the
``.steadyrig.json`` sidecar the worker writes beside the output, :func:`write_done_sidecar`, or
a ``done`` line of the results file) equals the job's current hash (each kind's settings hash).
An existing output that no record names as this job's is an output the batch did not make: it
is replaced only when the batch is told to overwrite (:func:`own_output`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sensors.atomic import atomic_output

from .kinds import Job
from .manifest import InvalidJob

__all__ = ["BatchSummary", "sidecar_path", "default_results_path", "read_results",
           "finished_hash", "own_output", "make_record", "write_done_sidecar", "now_utc",
           "ResultsLog"]

_SIDECAR_SUFFIX = ".steadyrig.json"


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



def sidecar_path(output: Path) -> Path:
    """The small JSON file beside a job's output recording the settings it was made with."""
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


def finished_hash(job: Job, previous: Sequence[dict]) -> str | None:
    """The settings hash recorded for ``job``'s existing output, or None if there is none.

    The sidecar beside the output is read first (it is written by the worker right after the
    output, so it survives a client that died); then the last ``done`` line of the results.
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



def own_output(job: Job, previous: Sequence[dict]) -> bool:
    """True when ``job``'s existing output was written by this job (any settings): its sidecar
    or a ``done`` line names the job's id, so redoing it replaces the batch's own file."""
    with contextlib.suppress(OSError, json.JSONDecodeError, AttributeError):
        if json.loads(sidecar_path(job.output).read_text()).get("id") == job.id:
            return True
    return any(rec.get("id") == job.id and rec.get("status") == "done"
               and rec.get("output") == str(job.output) for rec in previous)


def write_done_sidecar(job: Job, params_checksum: str | None = None) -> None:
    """Record (atomically, beside the output) that ``job`` finished with its settings hash."""
    with atomic_output(sidecar_path(job.output)) as tmp:
        Path(tmp).write_text(json.dumps({
            "id": job.id, "kind": job.kind, "settings_hash": job.settings_hash,
            "params_checksum": params_checksum, "finished_utc": now_utc(),
        }) + "\n")


def now_utc() -> str:
    """The current UTC time, to the second, as ISO 8601 (the ``finished_utc`` of a line)."""
    return datetime.now(UTC).isoformat(timespec="seconds")



def make_record(job: Job | InvalidJob, status: str, **extra) -> dict:
    """A result line of ``job`` with ``status`` (``done``, ``failed``, ``skipped``) and ``extra``
    fields; ``error`` defaults to None and ``finished_utc`` is now."""
    if isinstance(job, InvalidJob):
        rec = {"id": job.id, "line": job.line, "status": status, "output": None,
               "settings_hash": None}
    else:
        rec = {"id": job.id, "kind": job.kind, "line": job.line, "status": status,
               "output": str(job.output), "settings_hash": job.settings_hash}
    rec.update(extra)
    rec.setdefault("error", None)
    rec["finished_utc"] = now_utc()
    return rec



class ResultsLog:
    """Append-only JSONL of result lines, flushed and synced per line (see the module
    docstring)."""

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

