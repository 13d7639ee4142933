"""Batch manifests of any job kind: a JSONL file or a folder, read and validated into jobs.

A manifest is either

* a JSONL file, one job per line; the keys of a line decide its kind (``sensors.jobs.kinds``:
  ``"rig"`` a stitch job, ``"video"`` a stabilize job), whose reader validates it. Relative
  paths resolve against the manifest's folder; blank lines and lines starting with ``#`` are
  ignored; or
* a folder: every registered kind turns what it recognises in it into entries (capture folders
  for stitching, clips for stabilizing).

Every bad entry becomes an :class:`InvalidJob` (reported as a failed result line); it never
stops the others. Ids and outputs are unique across the manifest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .kinds import Job, LineContext, kind_for, registered_kinds

__all__ = ["InvalidJob", "Manifest", "load_manifest", "kind_defaults"]


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
    jobs: tuple[Job, ...]
    invalid: tuple[InvalidJob, ...]

    def __len__(self) -> int:
        return len(self.jobs) + len(self.invalid)


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


def _folder_entries(root: Path, out_dir: Path | None) -> list[tuple[int, object]]:
    entries: list[tuple[int, object]] = []
    kinds = [k for k in registered_kinds().values() if k.scan_folder is not None]
    for kind in kinds:
        entries += kind.scan_folder(root, out_dir)
    if not entries:
        raise InputError("folder holds no " + " and no ".join(k.folder_hint for k in kinds),
                         str(root))
    return entries


def kind_defaults(defaults: Mapping | None) -> dict[str, object]:
    """Each registered kind's default settings from flat ``--set`` options.

    A key goes to every kind that knows it; a key no kind knows is an error.
    """
    defaults = dict(defaults or {})
    where = "batch defaults (--set)"
    kinds = registered_kinds()
    known = {k.name: set(k.option_names()) for k in kinds.values()}
    for key in defaults:
        if not any(key in names for names in known.values()):
            raise InputError(f"{where}: unknown key {key!r}; valid keys: " + "; ".join(
                f"{name}: {', '.join(sorted(names))}" for name, names in known.items()))
    return {k.name: k.make_defaults({key: v for key, v in defaults.items()
                                     if key in known[k.name]}, where)
            for k in kinds.values()}


def load_manifest(path: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                  defaults: Mapping | None = None) -> Manifest:
    """Read and validate a batch manifest (JSONL file or folder).

    Parameters
    ----------
    path : path
        The JSONL manifest, or a folder (see the module docstring).
    out_dir : path, optional
        Folder for outputs given as relative paths (JSONL) or for every output (folder).
    defaults : dict, optional
        Settings every job starts from, by key (``--set KEY=VALUE``); each kind takes the keys
        it knows (:func:`kind_defaults`).

    Returns
    -------
    Manifest
        Valid jobs and the rejected entries (each with a one-line reason naming its line).

    Raises
    ------
    InputError
        The manifest as a whole is unusable (missing, empty, not JSONL, a folder holding
        nothing to do), or a default names no kind's setting.
    """
    mpath = Path(path).expanduser().resolve()
    if not mpath.exists():
        raise InputError("manifest does not exist", str(path))
    odir = None if out_dir is None else Path(out_dir).expanduser().resolve()
    base = kind_defaults(defaults)
    if mpath.is_dir():
        entries, base_dir = _folder_entries(mpath, odir), mpath
    else:
        entries, base_dir = _read_jsonl(mpath), mpath.parent
    jobs: list[Job] = []
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
            if not isinstance(entry, dict):
                raise InputError(f"{where}: expected a JSON object, got {type(entry).__name__}")
            if job_id in seen_ids:
                raise InputError(f"{where}: duplicate id {job_id!r} (first on line "
                                 f"{seen_ids[job_id]})")
            if job_id is not None:
                seen_ids[job_id] = n
            if not isinstance(job_id, str) or not job_id.strip():
                raise InputError(f"{where}: missing or empty 'id' (a string naming the job)")
            kind = kind_for(entry, where)
            job = kind.parse(entry, LineContext(n, where, base_dir, odir, base[kind.name]))
            if job.output in seen_out:
                raise InputError(f"{where}: output {job.output} is also the output of job "
                                 f"{seen_out[job.output]!r}")
            seen_out[job.output] = job.id
            jobs.append(job)
        except InputError as exc:
            invalid.append(InvalidJob(n, job_id, str(exc)))
    return Manifest(mpath, tuple(jobs), tuple(invalid))
