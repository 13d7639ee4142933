"""Normalised camera names, lens modes and stabilization states of lens profiles and clips.

Profile names in the Gyroflow collection are user-written and uneven ("HERO5 Black",
"GoPro HERO5 Black", "Hero5Black"; a lens mode in ``lens_model``, ``camera_setting``, the
``identifier`` or only in the name; EIS as "EIS-Y", "HS EIS", "NO-EIS", ...). These functions
map both a profile's fields and a clip's metadata (GoPro GPMF ``VFOV``, ``EISE``/``EISA``) onto
one vocabulary so the two can be compared.
"""

from __future__ import annotations

import re

__all__ = ["DIGITAL_MODES", "LENS_MODES", "VFOV_CODES", "norm_brand", "norm_model",
           "lens_mode_of", "profile_lens_mode", "eis_of", "profile_eis", "mode_label"]

#: Lens modes, and their label for people.
LENS_MODES = {
    "wide": "Wide", "medium": "Medium", "narrow": "Narrow", "linear": "Linear",
    "superview": "SuperView", "hyperview": "HyperView", "max_superview": "Max SuperView",
    "max_lens": "Max Lens Mod",
}

#: GoPro GPMF ``VFOV`` letters.
VFOV_CODES = {"W": "wide", "M": "medium", "N": "narrow", "L": "linear", "S": "superview",
              "H": "hyperview", "X": "max_superview"}

#: Modes that are a digital stretch of the sensor image rather than a lens: the camera warps
#: a 4:3 capture non-linearly to 16:9, which an OpenCV lens model does not describe.
DIGITAL_MODES = frozenset({"superview", "hyperview", "max_superview"})

# Ordered: the first pattern found in a field wins, so the more specific ones come first.
_MODE_PATTERNS = [
    (re.compile(r"max\s*super\s*view|\bmsv\b"), "max_superview"),
    (re.compile(r"hyper\s*view"), "hyperview"),
    (re.compile(r"super\s*view"), "superview"),
    (re.compile(r"\bsuper\b"), "superview"),
    (re.compile(r"max\s*lens|maxlens|max\s*wide|max\s*mod"), "max_lens"),
    (re.compile(r"\bmax\b"), "max_lens"),
    (re.compile(r"linear"), "linear"),
    (re.compile(r"medium"), "medium"),
    (re.compile(r"narrow"), "narrow"),
    (re.compile(r"\bwide\b|gran\s*angular"), "wide"),
]
_MAX_LENS_WORDS = re.compile(r"max\s*lens|maxlens|max\s*wide|max\s*mod")

_EIS_OFF = re.compile(r"no[\s_-]*eis|eis[\s_-]*no\b|eis[\s_-]*n\b|\boff[\s_-]*eis|eis[\s_-]*off"
                      r"|\bhs[\s_-]*off\b")
_EIS_ON = re.compile(r"eis[\s_-]*y\b|eis[\s_-]*yes|hs[\s_-]*eis|hseis|std[\s_-]*eis|stdeis"
                     r"|\bon[\s_-]*eis|eis[\s_-]*on\b|\bhs[\s_-]*(boost|high|autoboost|hlevel"
                     r"|low|[eé]lev[eé])|hyper\s*smooth|\bstab[\s_-]*on")


def _alnum(text: str | None) -> str:
    return re.sub(r"[^0-9a-z]+", "", (text or "").lower().replace("+", "plus"))


def norm_brand(brand: str | None) -> str:
    """``"GoPro"``, ``"gopro"``, ``"Go Pro"`` -> ``"gopro"``."""
    return _alnum(brand)


def norm_model(model: str | None, brand: str | None = None) -> str:
    """A model name without spaces, case, punctuation or a leading brand.

    Examples
    --------
    >>> {norm_model(m, "GoPro") for m in ("HERO5 Black", "GoPro HERO5 Black", "HERO5Black")}
    {'hero5black'}
    """
    m = _alnum(model)
    b = norm_brand(brand)
    if b and m.startswith(b) and len(m) > len(b):
        m = m[len(b):]
    return m


def lens_mode_of(text: str | None) -> str | None:
    """The lens mode a clip's metadata or a user names: a GoPro ``VFOV`` letter (``"M"``) or a
    word (``"Medium"``, ``"linear"``, ``"superview"``); None when it names none."""
    if text is None:
        return None
    t = str(text).strip()
    if t.upper() in VFOV_CODES:
        return VFOV_CODES[t.upper()]
    if t.lower() in LENS_MODES:
        return t.lower()
    return _mode_in(t)


def _mode_in(text: str, bare_max: bool = True, gopro: bool = True) -> str | None:
    t = text.lower().replace("_", " ")
    for pattern, mode in _MODE_PATTERNS:
        if pattern.search(t):
            if not gopro and pattern.pattern in (r"\bsuper\b", r"\bmax\b"):
                continue  # "Super Takumar", "iPhone 14 Pro Max": GoPro's words only there
            if mode == "max_lens" and not (bare_max and gopro) and not _MAX_LENS_WORDS.search(t):
                continue
            return mode
    return None


def profile_lens_mode(d: dict, model_norm: str, brand_norm: str = "gopro") -> str | None:
    """The lens mode a profile records: from ``lens_model`` with ``camera_setting`` (read
    together: "Max" + "Superview" is the Max SuperView), else the third part of ``identifier``,
    else the name; None when none says.

    On the GoPro Max a lens called just "Max" is its Max SuperView; on the HEROs it is the Max
    Lens Mod (a real add-on lens). GoPro's short words ("Super", "Max") count on GoPro
    profiles only.
    """
    gopro = brand_norm == "gopro"
    texts = [d.get("lens_model"), d.get("camera_setting")]
    text = " ".join(t.strip() for t in texts if isinstance(t, str) and t.strip())
    ident = d.get("identifier")
    parts = ident.strip("-").split("-") if isinstance(ident, str) else []
    name = d.get("name")
    # A name starts with the brand and model ("GoPro_Max_..."), so a bare "max" there is not
    # a lens.
    sources = ((text, True), (parts[2] if len(parts) > 3 else "", True),
               (name if isinstance(name, str) else "", False))
    for t, bare_max in sources:
        mode = _mode_in(t, bare_max, gopro)
        if mode == "max_lens" and gopro and model_norm == "max":
            return "max_superview"  # the GoPro Max takes no Max Lens Mod
        if mode:
            return mode
    return None


def eis_of(value: object) -> bool | None:
    """In-camera stabilization from a clip's metadata or a user: GoPro ``EISE`` ("Y"/"N"),
    ``EISA`` ("HS EIS", "N", "HS HLevel"), a bool, or words ("NO-EIS", "EIS-Y"); None when
    unknown."""
    if value is None or isinstance(value, bool):
        return value
    t = str(value).strip().lower()
    if t in ("y", "yes", "on", "true"):
        return True
    if t in ("n", "no", "off", "false", "none"):
        return False
    return _eis_in(t)


def _eis_in(text: str) -> bool | None:
    t = text.lower()
    if _EIS_OFF.search(t):
        return False
    if _EIS_ON.search(t):
        return True
    return None


def profile_eis(d: dict) -> bool | None:
    """The stabilization state a profile records in ``note``, ``identifier`` or its name."""
    for field in ("note", "identifier", "name"):
        text = d.get(field)
        if isinstance(text, str) and text.strip():
            state = _eis_in(text)
            if state is not None:
                return state
    return None


def mode_label(mode: str | None) -> str:
    """``"medium"`` -> ``"Medium"``; ``None`` -> ``"unknown"``."""
    return LENS_MODES.get(mode, mode) if mode else "unknown"
