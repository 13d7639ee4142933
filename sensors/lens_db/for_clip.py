"""The database lens profile of a clip, from what the file itself says about the camera.

``clip_facts`` fills ``CameraFacts`` from the clip's telemetry (brand and model, GoPro ``VFOV``
lens mode, in-camera stabilization) or, without telemetry, the container's make/model tags,
plus the video's size and frame rate; ``match_clip`` ranks the database with them
(``match.match_lens_profile``). The database is read only when a model is known.

Examples
--------
>>> from sensors.readers import read_log
>>> from sensors.video import probe_video
>>> path = "samples/gopro/karma.mp4"
>>> facts = clip_facts(read_log(path), probe_video(path))
>>> facts.brand, facts.model, facts.lens_mode, facts.eis
('GoPro', 'HERO5 Black', 'M', False)
>>> match_clip(facts).entry.lens_mode
'medium'
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .match import CameraFacts, LensMatch, match_lens_profile

if TYPE_CHECKING:
    from ..types import SensorLog
    from ..video import VideoInfo

__all__ = ["clip_facts", "container_make_model", "match_clip", "lens_profile_report"]

# container tag names (lower case) that carry the maker and the model
_MAKE_KEYS = ("com.apple.quicktime.make", "com.android.manufacturer", "make", "manufacturer")
_MODEL_KEYS = ("com.apple.quicktime.model", "com.android.model", "model")


def container_make_model(path: str | os.PathLike) -> tuple[str | None, str | None]:
    """(make, model) from a video container's metadata tags, None where absent or unreadable."""
    try:
        import av

        with av.open(str(path)) as c:
            tags = {str(k).lower(): str(v).strip() for k, v in c.metadata.items()}
            for s in c.streams.video[:1]:
                for k, v in s.metadata.items():
                    tags.setdefault(str(k).lower(), str(v).strip())
    except Exception:  # noqa: BLE001 - any unreadable container just has no tags
        return None, None
    make = next((tags[k] for k in _MAKE_KEYS if tags.get(k)), None)
    model = next((tags[k] for k in _MODEL_KEYS if tags.get(k)), None)
    return make, model


def clip_facts(log: SensorLog | None, info: VideoInfo,
               path: str | os.PathLike | None = None) -> CameraFacts:
    """What the clip says about its camera, as ``CameraFacts``.

    Parameters
    ----------
    log : SensorLog, optional
        The clip's embedded telemetry (``meta['brand']``/``['model']``, ``camera_meta``).
    info : VideoInfo
        Size and frame rate.
    path : path-like, optional
        The video, read for container make/model tags when the log names no model.
    """
    brand = model = lens = None
    eis = None
    if log is not None:
        brand = log.meta.get("brand")
        model = log.meta.get("model")
        cm = log.camera_meta
        if cm is not None:
            model = model or cm.model
            lens = cm.lens_mode
            eis = cm.in_camera_stabilization
        stab = log.meta.get("stabilization")
        if eis is None and isinstance(stab, dict):
            eis = stab.get("applied")
    if not model and path is not None:
        make, tag_model = container_make_model(path)
        brand, model = brand or make, tag_model
    return CameraFacts(brand or None, model or None, lens or None, eis, int(info.width),
                       int(info.height), float(info.fps))


def match_clip(facts: CameraFacts) -> LensMatch:
    """The database's best profile for ``facts`` (``match_lens_profile``); a lens mode the
    matcher does not know is a miss with the reason, not an error."""
    from ..errors import InputError

    try:
        return match_lens_profile(facts)
    except InputError as exc:
        return LensMatch(False, None, None, 0.0, exc.reason, facts=facts)


def lens_profile_report(m: LensMatch) -> dict | None:
    """``inspect``'s ``lens_profile``: the profile's own name, database key, score and reason
    (None when no profile was chosen)."""
    if not m.found:
        return None
    return {"name": m.name, "key": m.key, "score": m.score, "reason": m.reason}
