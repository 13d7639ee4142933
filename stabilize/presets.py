"""Stabilize presets: named settings in a JSON file, and settings from manifest lines.

A preset is a JSON object of :class:`~stabilize.params.StabilizeParams` fields (``filters`` a
list of chain entries, ``mesh`` ``[columns, rows]``); the x264/x265 preset field is spelled
``encoder_preset`` there, since ``preset`` names the preset file in a manifest line and on the
command line. ``steadyrig stabilize --save-preset FILE`` writes one; ``--preset FILE`` and a
manifest's ``"preset"`` read one, options given beside it winning.

Examples
--------
>>> import json, tempfile
>>> from pathlib import Path
>>> from stabilize.params import StabilizeParams
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = Path(tmp) / "calm.json"
...     _ = save_preset(StabilizeParams(window_s=1.2, preset="slow"), path)
...     print(load_preset(path)["encoder_preset"], params_from({"crf": 20}, load_preset(path),
...                                                            "line 1").window_s)
slow 1.2
>>> params_from({"smoothnes": 1}, {}, "p.json")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
sensors.errors.InputError: p.json: unknown key 'smoothnes'; valid keys: filters, window_s, ...
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from sensors.atomic import atomic_output
from sensors.errors import InputError
from sensors.jobs.options import typed_options

from .params import StabilizeParams

__all__ = ["PRESET_ALIASES", "option_names", "params_from", "load_preset", "save_preset",
           "preset_dict", "preset_params"]

#: Spellings of ``StabilizeParams`` fields in presets and manifests (``preset`` is the file).
PRESET_ALIASES = {"encoder_preset": "preset"}
_EXCLUDED = ("preset",)


def option_names() -> list[str]:
    """The keys a preset (or a manifest line, or ``--set``) may use for stabilize settings."""
    import dataclasses

    return [f.name for f in dataclasses.fields(StabilizeParams)
            if f.name not in _EXCLUDED] + list(PRESET_ALIASES)


def params_from(options: Mapping, base: Mapping | StabilizeParams | None, where: str
                ) -> StabilizeParams:
    """``StabilizeParams`` from ``base`` (a preset's options or params) with ``options`` applied.

    Raises
    ------
    InputError
        An unknown key, a value of the wrong type or out of range, named after ``where``.
    """
    changes = typed_options(StabilizeParams, options, where, aliases=PRESET_ALIASES,
                            exclude=_EXCLUDED)
    if isinstance(base, StabilizeParams):
        start = base
    else:
        start = StabilizeParams()
        changes = {**typed_options(StabilizeParams, dict(base or {}), where,
                                   aliases=PRESET_ALIASES, exclude=_EXCLUDED), **changes}
    try:
        return start.replace(**changes) if changes else start
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def load_preset(path: str | os.PathLike) -> dict:
    """The options of a preset file (checked: an unknown key or a bad value is an error).

    Raises
    ------
    InputError
        Missing or unreadable file, not a JSON object, an unknown parameter, a bad value.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("preset file does not exist" if not p.exists() else "not a file",
                         str(p))
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a JSON preset ({exc})", str(p)) from None
    if not isinstance(data, dict):
        raise InputError("a preset is a JSON object of stabilize parameters", str(p))
    params_from(data, None, str(p))  # every key and value checked now
    return data


def preset_dict(params: StabilizeParams) -> dict:
    """The JSON preset of ``params`` (every field, ``preset`` spelled ``encoder_preset``)."""
    d = params.as_dict()
    d["encoder_preset"] = d.pop("preset")
    return d


def save_preset(params: StabilizeParams, path: str | os.PathLike) -> Path:
    """Write ``params`` as a JSON preset, atomically; returns the path."""
    p = Path(path)
    with atomic_output(p) as tmp:
        tmp.write_text(json.dumps(preset_dict(params), indent=2) + "\n")
    return p


def preset_params(path: str | os.PathLike, overrides: Mapping,
                  base: StabilizeParams | None = None) -> StabilizeParams:
    """``base`` with the preset file's parameters, then ``overrides`` (given options) applied."""
    from_file = params_from(load_preset(path), base or StabilizeParams(), str(path))
    return params_from(overrides, from_file, "command line")
