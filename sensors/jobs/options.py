"""Settings from JSON: typed values of a parameter dataclass, checked without silent coercion.

Manifest lines, ``--set KEY=VALUE`` options and preset files all name fields of a frozen
parameter dataclass (``StitchParams``, ``StabilizeParams``); :func:`typed_options` checks each
value against the field's annotated type and returns the changes to apply.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class P:
...     width_px: int = 4
...     mesh: tuple[int, int] = (2, 2)
>>> typed_options(P, {"width": 8, "mesh": [3, 4]}, "line 1", aliases={"width": "width_px"})
{'width_px': 8, 'mesh': (3, 4)}
>>> typed_options(P, {"widht": 8}, "line 1")
Traceback (most recent call last):
...
sensors.errors.InputError: line 1: unknown key 'widht'; valid keys: width_px, mesh
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import InputError

__all__ = ["typed_options", "file_identity", "digest"]

_SCALARS = {"bool": (bool,), "int": (int,), "float": (int, float), "str": (str,)}


def _fits(kind: str, value) -> tuple[bool, object]:
    """Whether ``value`` (parsed JSON) is of the annotated type ``kind``; the value to use."""
    kind = kind.strip()
    options = [k.strip() for k in kind.split("|")] if "|" in kind and "[" not in kind else None
    if options:
        for k in options:
            ok, v = _fits(k, value)
            if ok:
                return True, v
        return False, None
    if kind == "None":
        return value is None, None
    if kind in _SCALARS:
        if isinstance(value, bool) and kind != "bool":
            return False, None
        if not isinstance(value, _SCALARS[kind]):
            return False, None
        return True, float(value) if kind == "float" else value
    m = re.fullmatch(r"tuple\[(.*)\]", kind)
    if m:
        parts = [p.strip() for p in m.group(1).split(",")]
        if not isinstance(value, list | tuple):
            return False, None
        if len(parts) == 2 and parts[1] == "...":
            checked = [_fits(parts[0], v) for v in value]
        elif len(parts) == len(value):
            checked = [_fits(p, v) for p, v in zip(parts, value, strict=True)]
        else:
            return False, None
        if not all(ok for ok, _ in checked):
            return False, None
        return True, tuple(v for _, v in checked)
    return True, value  # a type this checker does not know: the dataclass validates it


def typed_options(params_class, options: Mapping, where: str,
                  aliases: Mapping[str, str] | None = None,
                  extra_keys: Iterable[str] = (), exclude: Iterable[str] = ()) -> dict:
    """Field name -> checked value for every key of ``options``.

    Parameters
    ----------
    params_class : dataclass type
        The parameter dataclass whose fields the keys name.
    options : mapping
        Parsed JSON values by key.
    where : str
        Prefix of the error (``"<manifest> line 3"``, a preset file's path).
    aliases : mapping, optional
        Other spellings of field names (``{"width": "width_px"}``).
    extra_keys : iterable of str
        Keys that are valid elsewhere (listed first in the unknown-key error).
    exclude : iterable of str
        Field names not accepted under their own name (reached through an alias only).

    Raises
    ------
    InputError
        An unknown key (the valid ones listed) or a value of the wrong type.
    """
    aliases = dict(aliases or {})
    exclude = set(exclude)
    fields = {f.name: f for f in dataclasses.fields(params_class)}
    accepted = {n: n for n in fields if n not in exclude} | aliases
    out = {}
    for key, value in options.items():
        if key not in accepted:
            shown = list(dict.fromkeys([*extra_keys, *(n for n in fields if n not in exclude),
                                        *(a for a in aliases if fields.get(aliases[a]) and
                                          aliases[a] in exclude)]))
            raise InputError(f"{where}: unknown key {key!r}; valid keys: " + ", ".join(shown))
        name = accepted[key]
        kind = fields[name].type
        kind = kind if isinstance(kind, str) else kind.__name__ if isinstance(kind, type) \
            else str(kind)
        ok, checked = _fits(kind, value)
        if not ok:
            raise InputError(f"{where}: {key} must be of type {kind}, got {json.dumps(value)}")
        out[name] = checked
    return out


def file_identity(p: Path) -> list:
    """``[path, size, mtime_ns]``: what tells an edited input from the one a job used."""
    if not p.exists():
        raise InputError("file does not exist", str(p))
    if p.is_dir():  # a phone-layout folder: its files
        st = [file_identity(c) for c in sorted(p.iterdir()) if c.is_file()]
        return [str(p), st]
    st = p.stat()
    return [str(p), st.st_size, st.st_mtime_ns]


def digest(record: object) -> str:
    """16 hex digits of the SHA-256 of ``record`` as canonical JSON."""
    blob = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
