"""Batch manifests: read and validate a JSONL file or a folder of capture folders into jobs.

Manifest (docs/architecture.md "stitch/", batch), either

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

Every bad entry becomes an :class:`InvalidJob` (reported as a failed result line); it never
stops the others. Each valid job carries its :func:`settings_hash`, which decides resume.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sensors.atomic import check_not_input
from sensors.errors import InputError

from ..params import IMAGE_SUFFIXES, StitchParams

__all__ = ["BatchJob", "InvalidJob", "Manifest", "RIG_FILE_NAMES", "load_manifest",
           "params_from", "settings_hash"]

#: Rig file names looked for in a capture folder, in order of preference.
RIG_FILE_NAMES = ("camera_rig.json", "rig_config.json")

#: Manifest keys that are not stitch parameters.
_JOB_KEYS = ("id", "rig", "images", "images_dir", "output", "stitch")

#: Friendly spellings of parameter names (the CLI's ``--width``).
_ALIASES = {"width": "width_px"}

_PARAM_FIELDS = {f.name: f for f in dataclasses.fields(StitchParams)}



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


def params_from(options: dict, base: StitchParams, where: str) -> StitchParams:
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
    from ..images import resolve_images
    from ..rig_io import read_rig

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
    params = params_from({**options, **nested}, defaults, where)

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
        defaults = params_from(defaults, StitchParams(), "batch defaults (--set)")
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
