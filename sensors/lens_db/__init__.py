"""The Gyroflow lens-profile database, bundled, and the choice of a profile for a clip.

``data/profiles.jsonl.xz`` is the public Gyroflow lens-profile collection (CC0 1.0, see
``data/LICENSE-CC0.txt``), read on the first lookup only: importing this package reads nothing.
``match_lens_profile`` ranks profiles for a clip's ``CameraFacts``; ``resolve_lens`` turns a
``--lens`` argument (a file or a database name) into a ``CameraModel``.

Modules: ``names`` (brand/model/lens-mode/EIS normalisation), ``store`` (load, index, look
up), ``match`` (ranking), ``lookup`` (names, listings), ``for_clip`` (a clip's facts and
its profile), ``pack`` (repack the collection).
"""

from __future__ import annotations

from sensors._lazy import lazy_exports

_WHERE = {
    "CameraFacts": "match",
    "Candidate": "match",
    "LensMatch": "match",
    "match_lens_profile": "match",
    "LensDatabase": "store",
    "ProfileEntry": "store",
    "load_database": "store",
    "describe_profile": "lookup",
    "format_profile": "lookup",
    "format_search": "lookup",
    "resolve_lens": "lookup",
    "clip_facts": "for_clip",
    "container_make_model": "for_clip",
    "lens_profile_report": "for_clip",
    "match_clip": "for_clip",
    "search_profiles": "lookup",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _WHERE)
