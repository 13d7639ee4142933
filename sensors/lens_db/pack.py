"""Repack the Gyroflow lens-profile collection into the one file ``store`` reads.

The public collection (github.com/gyroflow/lens_profiles, CC0 1.0) is a tree of pretty-printed
JSON files, one per profile, in brand folders. The packed form is xz-compressed JSON lines,
one minified profile per line in path order, each with its path (without ``.json``) under
``store.PATH_KEY``; it is a tenth of the unpacked size and parses in one pass. A file that is
not a JSON object is left out with a note.

Run as ``python -m sensors.lens_db.pack SOURCE OUT`` (SOURCE: the collection's ``.tar.xz`` or its
folder).
"""

from __future__ import annotations

import json
import lzma
import os
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

from ..atomic import atomic_output
from ..errors import InputError
from .store import PATH_KEY

__all__ = ["iter_source_profiles", "pack_profiles"]


def _key_of(name: str) -> str:
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    key = "/".join(parts)
    return key[:-5] if key.lower().endswith(".json") else key


def iter_source_profiles(source: str | os.PathLike) -> Iterator[tuple[str, bytes]]:
    """``(key, raw JSON bytes)`` of every ``.json`` member of a ``.tar[.xz]`` or a folder, in
    path order."""
    src = Path(source)
    if src.is_dir():
        for f in sorted(src.rglob("*.json")):
            yield _key_of(f.relative_to(src).as_posix()), f.read_bytes()
        return
    if not src.is_file():
        raise InputError("lens profile collection not found", str(src))
    try:
        with tarfile.open(src) as tf:
            members = sorted((m for m in tf.getmembers()
                              if m.isfile() and m.name.lower().endswith(".json")),
                             key=lambda m: _key_of(m.name))
            for m in members:
                fh = tf.extractfile(m)
                if fh is not None:
                    yield _key_of(m.name), fh.read()
    except (tarfile.TarError, lzma.LZMAError, EOFError) as exc:
        raise InputError(f"not a readable tar archive ({exc})", str(src)) from None


def pack_profiles(source: str | os.PathLike, out: str | os.PathLike) -> tuple[int, list[str]]:
    """Write the packed database ``out`` from the collection at ``source``.

    Parameters
    ----------
    source : path-like
        The collection as ``.tar.xz`` (or any tar) or as a folder of JSON files.
    out : path-like
        Destination (``.jsonl.xz``), written atomically; deterministic for a given source.

    Returns
    -------
    (int, list of str)
        Profiles written and one note per file left out.

    Examples
    --------
    >>> n, notes = pack_profiles("gyroflow_lens_profiles.tar.xz", "profiles.jsonl.xz")
    ... # doctest: +SKIP
    """
    lines: list[bytes] = []
    notes: list[str] = []
    for key, raw in iter_source_profiles(source):
        try:
            d = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            notes.append(f"{key}: left out, not JSON ({type(exc).__name__})")
            continue
        if not isinstance(d, dict):
            notes.append(f"{key}: left out, not a JSON object")
            continue
        d = {PATH_KEY: key, **{k: v for k, v in d.items() if k != PATH_KEY}}
        lines.append(json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode())
    with atomic_output(out) as tmp:
        Path(tmp).write_bytes(lzma.compress(b"\n".join(lines) + b"\n",
                                            preset=9 | lzma.PRESET_EXTREME))
    return len(lines), notes


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m sensors.lens_db.pack SOURCE OUT", file=sys.stderr)
        return 2
    try:
        n, notes = pack_profiles(args[0], args[1])
    except InputError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {args[1]}: {n} profiles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
