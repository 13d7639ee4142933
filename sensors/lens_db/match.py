"""Choose the database lens profile for a clip from what the camera says about it.

A clip's facts (brand and model, lens mode, in-camera stabilization, frame size and rate: the
caller fills ``CameraFacts`` from telemetry or container tags) are compared with every profile
of the same camera. Points, out of 100:

============  ====  =========================================================================
brand/model    20   required: normalised ("GoPro HERO5 Black" = "HERO5Black")
lens mode      35   equal; 10 for a profile recording none when the clip is Wide (the usual
                    default); any other mode is excluded; with the clip's mode unknown,
                    5 for Wide
EIS            15   equal; 5 when the profile does not record it; -15 when it differs
aspect         15   calibration aspect within ``ASPECT_TOLERANCE``; -15 when it differs
resolution     10   exact (calibration or a compatible setting); less the more it is scaled
fps             4   equal within 0.2 %
official        1   marked official in the collection
============  ====  =========================================================================

Digital lens modes (GoPro SuperView, HyperView, Max SuperView) are a non-linear stretch of the
sensor image that no OpenCV lens model describes: a clip in such a mode is refused by name, and
profiles calibrated on one are never candidates; so are anamorphic ones. A camera the database
does not hold is a miss, not an error: the result says so and names no profile.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from fractions import Fraction

from ..errors import InputError
from ..lens_profile import ASPECT_TOLERANCE
from .names import DIGITAL_MODES, lens_mode_of, mode_label, norm_brand, norm_model
from .store import LensDatabase, ProfileEntry, load_database

__all__ = ["CameraFacts", "Candidate", "LensMatch", "match_lens_profile", "aspect_label"]


@dataclass(frozen=True)
class CameraFacts:
    """What a clip's metadata says about the camera (every field optional).

    Parameters
    ----------
    brand, model : str
        E.g. ``"GoPro"``, ``"HERO5 Black"`` (GPMF ``MINF``); the model may carry the brand.
    lens_mode : str
        A GoPro ``VFOV`` letter (W wide, M medium, N narrow, L linear, S superview,
        H hyperview, X max superview) or a mode word ("Medium").
    eis : bool
        In-camera stabilization on (GPMF ``EISE`` "Y", ``EISA`` other than "N").
    width, height : int
        Frame size in pixels.
    fps : float
        Frame rate.
    """

    brand: str | None = None
    model: str | None = None
    lens_mode: str | None = None
    eis: bool | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None

    @property
    def size(self) -> tuple[int, int] | None:
        if self.width and self.height:
            return int(self.width), int(self.height)
        return None


@dataclass(frozen=True)
class Candidate:
    """A ranked profile: database key, its ``name`` field, points and why."""

    key: str
    name: str
    score: float
    reason: str


@dataclass(frozen=True)
class LensMatch:
    """The profile chosen for a clip, or why none was.

    Attributes
    ----------
    found : bool
        A profile was chosen.
    key, name : str or None
        Its database key (what ``--lens`` accepts) and its own name.
    score : float
        Points out of 100 (0 when nothing was chosen).
    reason : str
        For people: what matched and what was assumed, or why nothing was chosen.
    alternatives : tuple of Candidate
        The next best profiles.
    refused : str or None
        The digital lens mode the clip was refused for (e.g. ``"SuperView"``).
    readout_ms : float or None
        Rolling-shutter readout the profile states for exactly this mode (size and rate).
    facts : CameraFacts
    entry : ProfileEntry or None
    """

    found: bool
    key: str | None
    name: str | None
    score: float
    reason: str
    alternatives: tuple[Candidate, ...] = ()
    refused: str | None = None
    readout_ms: float | None = None
    facts: CameraFacts = field(default_factory=CameraFacts)
    entry: ProfileEntry | None = field(default=None, repr=False)

    def camera_model(self, width: int | None = None, height: int | None = None):
        """The chosen profile as a ``CameraModel`` scaled to (width, height) (default: the
        facts' size, else the calibration size), with ``meta['readout_s']`` set only when the
        profile states a readout for this mode.

        Raises
        ------
        InputError
            When nothing was chosen (the message is ``reason``).
        """
        if not self.found or self.entry is None:
            raise InputError(f"no lens profile chosen: {self.reason}")
        size = (width, height) if width and height else self.facts.size
        cam = self.entry.camera_model(size, readout_ms=self.readout_ms or 0.0)
        cam.meta["match_reason"] = self.reason
        return cam


def aspect_label(w: int, h: int) -> str:
    """``16:9``, ``4:3``, ... (the nearest small ratio), else ``1.78:1``."""
    r = w / h
    f = Fraction(r).limit_denominator(10)
    if abs(float(f) / r - 1.0) <= ASPECT_TOLERANCE:
        return f"{f.numerator}:{f.denominator}"
    return f"{r:.2f}:1"


def _same_fps(a: float | None, b: float | None) -> bool:
    return bool(a and b and abs(a / b - 1.0) < 2e-3)


def _score(e: ProfileEntry, facts: CameraFacts, want: str | None
           ) -> tuple[float, list[str], list[str], float | None] | None:
    """(points, matched words, other remarks, readout_ms for this mode); None if excluded."""
    points = 20.0
    matched = ["brand", "model"] if facts.brand else ["model"]
    notes: list[str] = []
    if want is not None:
        if e.lens_mode == want:
            points += 35
            matched.append("lens mode")
        elif e.lens_mode is None and want == "wide":
            # Most profiles that name no mode were shot in the cameras' default, Wide; for any
            # other mode that guess would be wrong more often than right.
            points += 10
            notes.append("lens mode not recorded in the profile (assumed Wide)")
        else:
            return None
    elif e.lens_mode == "wide":
        points += 5  # the usual default of action cameras
        notes.append("lens mode unknown, assumed Wide")
    if facts.eis is not None:
        if e.eis == facts.eis:
            points += 15
            matched.append("EIS " + ("on" if facts.eis else "off"))
        elif e.eis is None:
            points += 5
            notes.append("EIS not recorded in the profile")
        else:
            points -= 15
            notes.append(f"EIS differs (profile {'on' if e.eis else 'off'}, "
                         f"clip {'on' if facts.eis else 'off'})")
    readout = None
    cw, ch = e.calib_size
    size = facts.size
    if size is not None:
        w, h = size
        if abs((w / h) / (cw / ch) - 1.0) <= ASPECT_TOLERANCE:
            points += 15
            notes.append(f"aspect {aspect_label(w, h)}")
        else:
            points -= 15
            notes.append(f"aspect differs (profile {aspect_label(cw, ch)}, clip "
                         f"{aspect_label(w, h)}): approximate")
        modes = [(cw, ch, e.fps, e.readout_ms), *e.compatible]
        exact = [m for m in modes if (m[0], m[1]) == (w, h)]
        if exact:
            points += 10
            notes.append(f"resolution {w}x{h} exact")
            for m in exact:
                if facts.fps is None or _same_fps(m[2], facts.fps):
                    readout = readout or m[3]
        else:
            s = cw / w
            points += 10 * max(0.0, 1.0 - abs(math.log(s)) / math.log(8.0))
            way = "down" if s > 1 else "up"
            notes.append(f"resolution {cw}x{ch} scaled {max(s, 1 / s):.2f}x {way} to {w}x{h}")
    if facts.fps:
        if _same_fps(e.fps, facts.fps) or any(_same_fps(m[2], facts.fps)
                                              and (size is None or (m[0], m[1]) == size)
                                              for m in e.compatible):
            points += 4
            notes.append(f"{facts.fps:.2f} fps")
        elif e.fps:
            notes.append(f"fps differs (profile {e.fps:.2f})")
    if e.official:
        points += 1
        notes.append("official")
    return points, matched, notes, readout


def _reason(matched: list[str], notes: list[str]) -> str:
    return "; ".join(["matched " + ", ".join(matched), *notes])


def _miss(facts: CameraFacts, reason: str, refused: str | None = None) -> LensMatch:
    return LensMatch(False, None, None, 0.0, reason, refused=refused, facts=facts)


def _camera_label(facts: CameraFacts) -> str:
    return " ".join(x for x in (facts.brand, facts.model) if x) or "the camera"


def match_lens_profile(facts: CameraFacts, db: LensDatabase | None = None,
                       n_alternatives: int = 4) -> LensMatch:
    """Rank the database's profiles for a clip and return the best (see the module notes).

    Parameters
    ----------
    facts : CameraFacts
        What the clip's metadata says; ``model`` is needed for a match.
    db : LensDatabase, optional
        Default: the bundled database (``store.load_database``, read on the first call).
    n_alternatives : int
        How many runners-up to report.

    Returns
    -------
    LensMatch
        ``found`` False (with the reason) for a digital lens mode (``refused`` names it), no
        model given, a camera the database does not hold, or no profile of that lens mode.

    Examples
    --------
    >>> m = match_lens_profile(CameraFacts("GoPro", "HERO5 Black", "M", eis=False,
    ...                                    width=854, height=480, fps=29.97))
    >>> m.found, m.entry.lens_mode
    (True, 'medium')
    >>> cam = m.camera_model()        # scaled to 854x480
    >>> cam.size
    (854, 480)
    """
    want = lens_mode_of(facts.lens_mode)
    if facts.lens_mode is not None and want is None:
        raise InputError(f"unknown lens mode {facts.lens_mode!r}; give a GoPro VFOV letter "
                         "(W M N L S H X) or a mode word (Wide, Linear, ...)")
    if want in DIGITAL_MODES:
        label = mode_label(want)
        return _miss(facts, f"lens mode {label} is a digital lens: the camera stretches the "
                            "sensor image non-linearly, which a lens model does not describe; "
                            "no profile chosen", refused=label)
    model = norm_model(facts.model, facts.brand)
    if not model:
        return _miss(facts, "no camera model known; no profile chosen")
    db = load_database() if db is None else db
    brand = norm_brand(facts.brand)
    # Without a brand, a model that carries one ("GoPro HERO5 Black") still matches.
    same = [e for e in db.entries
            if (e.model_norm == model and (not brand or e.brand_norm == brand))
            or (not brand and model == e.brand_norm + e.model_norm)]
    if not same:
        known = sorted({e.model for e in db.entries if not brand or e.brand_norm == brand})
        close = difflib.get_close_matches(facts.model or "", known, n=3, cutoff=0.6)
        hint = f" (nearest names: {', '.join(close)})" if close else ""
        return _miss(facts, f"no profile for {_camera_label(facts)} in the database{hint}; "
                            "no profile chosen, the default lens applies")
    ranked = []
    unsupported = 0
    for e in same:
        if e.unsupported:
            unsupported += 1
            continue
        s = _score(e, facts, want)
        if s is not None:
            ranked.append((s[0], e, s))
    if not ranked:
        modes = sorted({mode_label(e.lens_mode) for e in same if not e.unsupported})
        what = f"{mode_label(want)} " if want else ""
        return _miss(facts, f"no {what}profile for {_camera_label(facts)} in the database "
                            f"(it has: {', '.join(modes) or 'only unsupported profiles'}); "
                            "no profile chosen, the default lens applies")
    ranked.sort(key=lambda r: (-r[0], r[1].key))
    points, best, (_, matched, notes, readout) = ranked[0]
    if want is None and best.lens_mode != "wide":
        notes.insert(0, f"lens mode unknown (chose {mode_label(best.lens_mode)})")
    if unsupported:
        notes.append(f"{unsupported} digital-lens/anamorphic profile(s) of this camera skipped")
    alts = tuple(Candidate(e.key, e.name, round(p, 1), _reason(s[1], s[2]))
                 for p, e, s in ranked[1:1 + n_alternatives])
    return LensMatch(True, best.key, best.name, round(points, 1), _reason(matched, notes),
                     alts, None, readout, facts, best)
