"""Job kinds: what a manifest line becomes, by the key that marks it.

A package that runs jobs registers a :class:`JobKind` when its batch module is imported
(``stitch.batch`` registers ``stitch``, ``stabilize.batch`` registers ``stabilize``); the generic
manifest reader (``sensors.jobs.manifest``) hands each line to the kind whose ``marker`` keys it
carries, and the runner (``sensors.jobs.runner``) calls ``job.run()`` on a worker. A job is any
frozen, picklable object with the attributes of :class:`Job`.

"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import InputError

__all__ = ["Job", "JobKind", "LineContext", "register_kind", "registered_kinds", "kind_for"]


class Job(Protocol):
    """What the runner needs of a validated job."""

    id: str
    line: int
    output: Path
    settings_hash: str
    kind: str

    def run(self) -> dict:
        """Run on a worker; return a result line (``sensors.jobs.results.make_record``)."""

    def outputs(self) -> tuple[Path, ...]:
        """Every file the job writes atomically (its temporary files are removed on interrupt)."""


@dataclass(frozen=True)
class LineContext:
    """Where a manifest line comes from and what it starts from.

    Parameters
    ----------
    line : int
        Line number (1-based; 0 for an entry of a folder manifest).
    where : str
        ``"<manifest> line <n>"``: the prefix of every error about the line.
    base_dir : Path
        Folder relative paths resolve against.
    out_dir : Path or None
        Folder for relative outputs, when given.
    defaults : object
        The kind's settings every line starts from (``JobKind.make_defaults``).
    """

    line: int
    where: str
    base_dir: Path
    out_dir: Path | None
    defaults: object


@dataclass(frozen=True)
class JobKind:
    """One kind of job a manifest may hold.

    Parameters
    ----------
    name : str
        ``"stitch"``, ``"stabilize"``, ...
    markers : tuple of str
        Keys that make a line this kind's (the first is named in errors).
    parse : callable(dict, LineContext) -> Job
        Validate a line into a job; raises ``InputError`` naming ``ctx.where``.
    option_names : callable() -> iterable of str
        Settings keys of the kind (what ``--set KEY=VALUE`` may name).
    make_defaults : callable(dict, str) -> object
        The kind's default settings from the ``--set`` options it knows (validated).
    scan_folder : callable(Path, Path or None) -> list of (int, dict or Exception), optional
        Entries of a folder manifest (root, out_dir), or None when a folder holds none.
    folder_hint : str
        What ``scan_folder`` looks for, for the error when a folder holds nothing.
    warm_module : str
        Module a worker imports before the first job (its heavy imports).
    """

    name: str
    markers: tuple[str, ...]
    parse: Callable[[dict, LineContext], Job]
    option_names: Callable[[], Iterable[str]]
    make_defaults: Callable[[dict, str], object]
    scan_folder: Callable[[Path, Path | None], list] | None = None
    folder_hint: str = ""
    warm_module: str = ""


_KINDS: dict[str, JobKind] = {}


def register_kind(kind: JobKind) -> JobKind:
    """Register ``kind`` (again under the same name replaces it); returns it."""
    _KINDS[kind.name] = kind
    return kind


def registered_kinds() -> Mapping[str, JobKind]:
    """The registered kinds by name, in registration order."""
    return dict(_KINDS)


def kind_for(entry: dict, where: str | Mapping) -> JobKind:
    """The kind whose marker keys ``entry`` carries.

    Raises
    ------
    InputError
        No kind, or more than one, claims the entry.
    """
    prefix = f"{where}: " if isinstance(where, str) and where else ""
    found = [k for k in _KINDS.values() if any(m in entry for m in k.markers)]
    if len(found) == 1:
        return found[0]
    if not found:
        keys = ", ".join(f"{k.markers[0]!r} ({k.name})" for k in _KINDS.values())
        raise InputError(f"{prefix}a job needs one of the keys: "
                         + (keys or "(no job kinds registered)"))
    raise InputError(f"{prefix}the line has keys of several job kinds ("
                     + ", ".join(k.name for k in found) + "); one job per line")
