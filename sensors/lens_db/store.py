"""The bundled lens-profile database: load once per process, index, look up by name.

``data/profiles.jsonl.xz`` holds the Gyroflow lens-profile collection (CC0 1.0,
``data/LICENSE-CC0.txt``) as written by ``sensors.lens_db.pack``: one profile per line, with its
path in the collection (brand folder / file stem) as its key. Nothing is read until the first
lookup; ``load_database`` then decompresses and indexes it once for the process. A line that is
not a usable profile is left out and named in ``LensDatabase.notes``.
"""

from __future__ import annotations

import difflib
import functools
import json
import lzma
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .names import (
    DIGITAL_MODES,
    mode_label,
    norm_brand,
    norm_model,
    profile_eis,
    profile_lens_mode,
)

__all__ = ["DATA_FILE", "PATH_KEY", "ProfileEntry", "LensDatabase", "ProfileNotFound",
           "load_database", "read_database"]

#: The packed collection shipped with the package.
DATA_FILE = Path(__file__).with_name("data") / "profiles.jsonl.xz"

#: The key each packed line stores the profile's path under (brand folder / file stem).
PATH_KEY = "_path"


class ProfileNotFound(InputError):
    """No profile of the database carries the name asked for."""


@dataclass(frozen=True, eq=False)
class ProfileEntry:
    """One profile of the database with the facts matching and listing use.

    The facts below the fields are worked out from ``profile`` on first use: a look-up reads
    them for one camera's profiles only.

    Parameters
    ----------
    key : str
        Its path in the collection without ``.json`` (unique), e.g.
        ``"GoPro/GoPro_HERO5 Black_Wide_EIS-Y_16by9"``.
    name : str
        The profile's own ``name`` field (not always unique).
    brand, model : str
        ``camera_brand`` and ``camera_model`` as written.
    brand_norm, model_norm : str
        Normalised (``names.norm_brand`` / ``names.norm_model``).
    calib_size : (int, int)
        Calibration (width, height) in pixels.
    fps : float or None
    official : bool
        Marked official in the collection.
    profile : dict
        The JSON object itself.

    Attributes
    ----------
    lens_text : str
        ``lens_model`` and ``camera_setting`` as written.
    lens_mode : str or None
        ``names.LENS_MODES`` key, None when the profile does not say.
    eis : bool or None
        In-camera stabilization during calibration, None when the profile does not say.
    readout_ms : float or None
        Rolling-shutter readout when the profile gives a plausible one (positive, at most a
        frame period); placeholders (0, negative, longer than a frame) are None.
    digital_lens : str or None
        Why the profile is not a plain lens: the collection's ``digital_lens`` marker
        (``gopro_superview``, ...) or a SuperView/HyperView lens mode.
    anamorphic : bool
        Stretched input (``input_*_stretch`` != 1, or an anamorphic adapter named).
    compatible : tuple of (int, int, float or None, float or None)
        ``compatible_settings``: (width, height, fps, readout_ms) the calibration also holds for.
    """

    key: str
    name: str
    brand: str
    model: str
    brand_norm: str
    model_norm: str
    calib_size: tuple[int, int]
    fps: float | None
    official: bool
    profile: dict = field(default_factory=dict, repr=False)

    @functools.cached_property
    def lens_text(self) -> str:
        d = self.profile
        return " ".join(t for t in (_text(d.get("lens_model")), _text(d.get("camera_setting")))
                        if t)

    @functools.cached_property
    def lens_mode(self) -> str | None:
        return profile_lens_mode(self.profile, self.model_norm, self.brand_norm)

    @functools.cached_property
    def eis(self) -> bool | None:
        return profile_eis(self.profile)

    @functools.cached_property
    def readout_ms(self) -> float | None:
        return _readout_ms(self.profile.get("frame_readout_time"), self.fps)

    @functools.cached_property
    def digital_lens(self) -> str | None:
        marker = _text(self.profile.get("digital_lens")) or None
        return marker or (mode_label(self.lens_mode) if self.lens_mode in DIGITAL_MODES
                          else None)

    @functools.cached_property
    def anamorphic(self) -> bool:
        d = self.profile
        stretch = [_num(d.get(k)) for k in ("input_horizontal_stretch",
                                            "input_vertical_stretch")]
        return (any(s is not None and abs(s - 1.0) > 1e-9 for s in stretch)
                or bool(_ANAMORPHIC.search(self.lens_text + " " + self.key)))

    @functools.cached_property
    def compatible(self) -> tuple[tuple[int, int, float | None, float | None], ...]:
        out = []
        for c in self.profile.get("compatible_settings") or []:
            if not isinstance(c, dict):
                continue
            w, h = _num(c.get("width")), _num(c.get("height"))
            if w and h and w > 0 and h > 0:
                cf = _num(c.get("fps"))
                out.append((int(w), int(h), cf, _readout_ms(c.get("frame_readout_time"), cf)))
        return tuple(out)

    @property
    def unsupported(self) -> str | None:
        """Why this profile cannot stand for a lens here (None when it can)."""
        if self.digital_lens:
            return (f"{self.key}: {self.digital_lens} is a digital lens (the camera stretches "
                    "the image non-linearly), which a lens model does not describe; "
                    "not supported")
        if self.anamorphic:
            return f"{self.key}: anamorphic (stretched) profiles are not supported"
        return None

    @property
    def mode_label(self) -> str:
        return mode_label(self.lens_mode)

    def camera_model(self, size: tuple[int, int] | None = None,
                     readout_ms: float | None = None):
        """This profile as a ``CameraModel``, scaled to ``size`` (see
        ``sensors.lens_profile.load_lens_profile``).

        Parameters
        ----------
        size : (int, int), optional
            The clip's (width, height); the calibration size when omitted.
        readout_ms : float, optional
            Readout to record instead of the profile's (e.g. from a compatible setting).

        Raises
        ------
        InputError
            For digital-lens and anamorphic profiles (named), or malformed fields.
        """
        from ..lens_profile import lens_profile_from_dict

        if self.unsupported:
            raise InputError(self.unsupported)
        d = dict(self.profile)
        # Placeholders (0, negative, longer than a frame) mean "unknown" in the collection.
        d["frame_readout_time"] = self.readout_ms if readout_ms is None else readout_ms
        cam = lens_profile_from_dict(d, self.key, size, default_name=self.key)
        cam.meta["database_key"] = self.key
        return cam

    def summary(self) -> dict:
        """Plain facts for listings and JSON."""
        return {
            "key": self.key,
            "name": self.name,
            "brand": self.brand,
            "model": self.model,
            "lens_mode": self.mode_label,
            "width": self.calib_size[0],
            "height": self.calib_size[1],
            "fps": self.fps,
            "eis": self.eis,
            "readout_ms": self.readout_ms,
            "digital_lens": self.digital_lens,
            "anamorphic": self.anamorphic,
            "official": self.official,
        }


def _num(v: object) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _size(d: object) -> tuple[int, int] | None:
    if not isinstance(d, dict):
        return None
    w, h = _num(d.get("w")), _num(d.get("h"))
    if w is None or h is None or w <= 0 or h <= 0 or w != int(w) or h != int(h):
        return None
    return int(w), int(h)


def _matrix_ok(m: object) -> bool:
    return (isinstance(m, list) and len(m) == 3
            and all(isinstance(r, list) and len(r) == 3 and all(_num(x) is not None for x in r)
                    for r in m)
            and m[0][0] > 0 and m[1][1] > 0)


def _problem(d: dict) -> str | None:
    """Why ``d`` cannot be used as a lens profile, checked without numpy (the whole database
    goes through this)."""
    if _size(d.get("calib_dimension")) is None:
        return "calib_dimension {w, h} missing or not positive integers"
    fp = d.get("fisheye_params")
    cp = d.get("calib_params")
    for params in (fp, cp):
        if isinstance(params, dict) and _matrix_ok(params.get("camera_matrix")):
            coeffs = params.get("distortion_coeffs")
            if (isinstance(coeffs, list) and len(coeffs) >= 4
                    and all(_num(c) is not None for c in coeffs)):
                return None
    return "camera_matrix (3x3, positive focal) / distortion_coeffs missing or malformed"


def _readout_ms(v: object, fps: float | None) -> float | None:
    r = _num(v)
    if r is None or r <= 0:
        return None
    if fps and r > 1000.0 / fps * 1.001:
        return None
    return r


def _text(v: object) -> str:
    return v.strip() if isinstance(v, str) else ""


_ANAMORPHIC = re.compile(r"anamor|anomor", re.IGNORECASE)


def _entry(d: dict) -> ProfileEntry:
    key = str(d[PATH_KEY])
    brand = _text(d.get("camera_brand"))
    model = _text(d.get("camera_model"))
    fps = _num(d.get("fps"))
    return ProfileEntry(
        key=key, name=_text(d.get("name")) or key.rsplit("/", 1)[-1], brand=brand, model=model,
        brand_norm=norm_brand(brand), model_norm=norm_model(model, brand),
        calib_size=_size(d["calib_dimension"]), fps=fps if fps and fps > 0 else None,
        official=d.get("official") is True, profile=d)


def _fold(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").split())


class LensDatabase:
    """The indexed profiles of one packed file (see ``load_database``).

    Attributes
    ----------
    entries : tuple of ProfileEntry
        In key order.
    notes : tuple of str
        One line per profile left out (and why).
    source : str
    """

    def __init__(self, entries: list[ProfileEntry], notes: list[str], source: str):
        self.entries = tuple(sorted(entries, key=lambda e: e.key))
        self.notes = tuple(notes)
        self.source = source
        # Looked up in this order: a key is unique, a stem nearly, a name often not.
        self._handles: tuple[dict[str, list[ProfileEntry]], ...] = ({}, {}, {})
        for e in self.entries:
            for table, handle in zip(self._handles, (e.key, e.key.rsplit("/", 1)[-1], e.name),
                                     strict=True):
                table.setdefault(_fold(handle), []).append(e)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, spec: str) -> ProfileEntry:
        """The profile ``spec`` names: its key (``"GoPro/GoPro_HERO5 Black_Wide_EIS-Y_16by9"``),
        else its file stem, else its own ``name`` field; case and ``_``/space differences
        ignored, a trailing ``.json`` allowed.

        Raises
        ------
        InputError
            When no profile or several carry that name (the error lists some keys).
        """
        s = str(spec).strip()
        if s.lower().endswith(".json"):
            s = s[:-5]
        unique: list[ProfileEntry] = []
        for table in self._handles:
            unique = table.get(_fold(s), [])
            if len(unique) == 1:
                return unique[0]
            if unique:
                break
        if unique:
            keys = "; ".join(e.key for e in unique[:4])
            raise InputError(f"{len(unique)} lens profiles carry this name ({keys}"
                             f"{'; ...' if len(unique) > 4 else ''}); give the full key", spec)
        hint = self.similar(s)
        also = ("; similar: " + "; ".join(e.key for e in hint)) if hint else ""
        raise ProfileNotFound("no lens profile of that name in the database "
                              f"(see `steadyrig lens search`){also}", spec)

    def search(self, text: str, limit: int | None = 20) -> list[ProfileEntry]:
        """Profiles whose key, name, brand, model, lens or note contain every word of
        ``text`` (case-insensitive; "hero5black" also finds "HERO5 Black"), in key order."""
        words = [w for w in _fold(text).split() if w]
        out = []
        for e in self.entries:
            fields = (e.key, e.name, e.brand, e.model, e.lens_text, e.mode_label,
                      _text(e.profile.get("note")))
            hay = _fold(" ".join(fields))
            # Each field squashed on its own: "hero5black" finds "HERO5 Black" but a word
            # does not match across two fields.
            squashed = [_squash(f) for f in fields]
            if all(w in hay or any(_squash(w) in f for f in squashed) for w in words):
                out.append(e)
                if limit is not None and len(out) >= limit:
                    break
        return out

    def similar(self, spec: str, n: int = 3) -> list[ProfileEntry]:
        """Profiles whose file stem reads most like ``spec`` (for "did you mean")."""
        stems = {_fold(e.key.rsplit("/", 1)[-1]): e for e in self.entries}
        close = difflib.get_close_matches(_fold(spec), list(stems), n=n, cutoff=0.75)
        return [stems[c] for c in close]


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def read_database(path: str | os.PathLike) -> LensDatabase:
    """Read and index a packed database file (uncached; ``load_database`` caches).

    Raises
    ------
    InputError
        When the file is missing or not xz-compressed text.
    """
    p = Path(path)
    try:
        raw = lzma.decompress(p.read_bytes())
    except FileNotFoundError:
        raise InputError("lens profile database not found", str(p)) from None
    except lzma.LZMAError as exc:
        raise InputError(f"lens profile database is not xz data ({exc})", str(p)) from None
    entries: list[ProfileEntry] = []
    notes: list[str] = []
    for i, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            notes.append(f"line {i}: left out, not JSON ({type(exc).__name__})")
            continue
        if not isinstance(d, dict) or not isinstance(d.get(PATH_KEY), str):
            notes.append(f"line {i}: left out, not a profile object with its {PATH_KEY}")
            continue
        problem = _problem(d)
        if problem:
            notes.append(f"{d[PATH_KEY]}: left out, {problem}")
            continue
        entries.append(_entry(d))
    return LensDatabase(entries, notes, str(p))


@functools.cache
def _cached(path: str) -> LensDatabase:
    return read_database(path)


def load_database(path: str | os.PathLike | None = None) -> LensDatabase:
    """The database at ``path`` (default: the bundled ``DATA_FILE``), read once per process.

    Examples
    --------
    >>> db = load_database()
    >>> db.get("GoPro/GoPro_HERO5 Black_Wide_EIS-Y_16by9").calib_size
    (2704, 1520)
    """
    return _cached(str(Path(DATA_FILE if path is None else path).resolve()))
