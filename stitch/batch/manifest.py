"""Stitch jobs of a batch manifest: the ``stitch`` job kind (``sensors.jobs.kinds``).

A manifest line with ``"rig"`` is a stitch job (docs/architecture.md "stitch/", batch)::

      {"id": "site01", "rig": "site01/camera_rig.json", "images_dir": "site01",
       "output": "out/site01.jpg", "width_px": 3072, "stitch": {"refine": false}}

``images`` (a list, rig order) may replace ``images_dir`` (files named by camera id). Any
:class:`~stitch.params.StitchParams` field may be given at the top level or inside a
``"stitch"`` object (``width`` is accepted for ``width_px``). In a folder manifest, each capture
folder (a rig file, ``camera_rig.json`` or ``rig_config.json``, and its images named by camera
id) is a job; the panorama of ``<root>/<name>/`` is ``<root>/<name>.jpg`` (or
``<out_dir>/<name>.jpg``).

The generic reading, validation and uniqueness checks are ``sensors.jobs.manifest``'s; this
module validates a stitch line and gives each job its :func:`settings_hash`, which decides
resume.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sensors.atomic import check_not_input
from sensors.errors import InputError
from sensors.jobs.kinds import JobKind, LineContext, register_kind
from sensors.jobs.manifest import InvalidJob, Manifest
from sensors.jobs.manifest import load_manifest as _load_any
from sensors.jobs.options import digest, file_identity, typed_options

from ..params import IMAGE_SUFFIXES, StitchParams

__all__ = ["BatchJob", "InvalidJob", "Manifest", "RIG_FILE_NAMES", "STITCH_KIND",
           "load_manifest", "params_from", "settings_hash"]

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
    kind: str = "stitch"

    def run(self) -> dict:
        """Stitch on a worker and return the result line (``stitch.batch.job.run_job``)."""
        from .job import run_job

        return run_job(self)

    def outputs(self) -> tuple[Path, ...]:
        """The files the job writes: the panorama (its sidecar goes beside it)."""
        return (self.output,)


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
        ident.append(file_identity(p))
    return digest({"params": params.checksum(), "output": str(output), "inputs": ident})


def params_from(options: dict, base: StitchParams, where: str) -> StitchParams:
    """``base`` with the stitch options of a manifest line (typed, validated) applied."""
    changes = typed_options(StitchParams, options, where, aliases=_ALIASES, extra_keys=_JOB_KEYS)
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


def _job_from_entry(entry: dict, ctx: LineContext) -> BatchJob:
    line, base_dir, out_dir, defaults, where = (ctx.line, ctx.base_dir, ctx.out_dir,
                                                ctx.defaults, ctx.where)
    job_id = entry["id"]
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
        h = settings_hash(params, rig, images, output)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    return BatchJob(job_id, rig, images, output, params, h, line)


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
    return entries


def load_manifest(path: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                  defaults: StitchParams | Mapping | None = None) -> Manifest:
    """Read and validate a batch manifest (JSONL file or folder); see
    :func:`sensors.jobs.manifest.load_manifest`, which this calls once the stitch kind is
    registered. ``defaults`` may also be a whole :class:`~stitch.params.StitchParams`."""
    if isinstance(defaults, StitchParams):
        defaults = dataclasses.asdict(defaults)
    return _load_any(path, out_dir, defaults)


def _make_defaults(options: dict, where: str) -> StitchParams:
    return params_from(options, StitchParams(), where)


#: The ``stitch`` job kind: manifest lines with ``"rig"`` (or images), capture folders.
STITCH_KIND = register_kind(JobKind(
    name="stitch", markers=("rig", "images", "images_dir"), parse=_job_from_entry,
    option_names=lambda: [*_PARAM_FIELDS, *_ALIASES], make_defaults=_make_defaults,
    scan_folder=_capture_entries,
    folder_hint="capture folders (sub-folders with " + " or ".join(RIG_FILE_NAMES)
                + " and images)",
    warm_module="stitch.pipeline"))
