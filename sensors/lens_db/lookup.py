"""Name a lens: a profile file or a database profile; list and describe database profiles.

``resolve_lens`` is what ``--lens`` calls; ``search_profiles`` and ``describe_profile`` back
``steadyrig lens search`` / ``lens show``, with ``format_search`` / ``format_profile`` as their
text form.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    from .store import LensDatabase, ProfileEntry

__all__ = ["resolve_lens", "search_profiles", "describe_profile", "format_search",
           "format_profile"]


def resolve_lens(spec: str | os.PathLike, width: int | None = None, height: int | None = None,
                 db: LensDatabase | None = None):
    """The lens ``spec`` names, as a ``CameraModel`` scaled to (width, height) when given.

    Parameters
    ----------
    spec : str or path-like
        A Gyroflow lens-profile file; when no such file exists, a profile of the bundled
        database by key, file stem or ``name`` (``store.LensDatabase.get``). The database is
        read only in that case.
    width, height : int, optional
        The clip's size (else the calibration size).
    db : LensDatabase, optional
        Default: the bundled database.

    Returns
    -------
    (CameraModel, str)
        The lens and a one-line description of where it came from.

    Raises
    ------
    InputError
        Unreadable file; no (or more than one) database profile of that name; a digital-lens
        or anamorphic profile (refused by name).

    Examples
    --------
    >>> cam, what = resolve_lens("GoPro_HERO7 Black_Wide_HS EIS_1080p_16by9_1920x1080-29.97fps",
    ...                          848, 480)
    >>> cam.size, what.startswith("lens profile GoPro/")
    ((848, 480), True)
    """
    size = (int(width), int(height)) if width and height else None
    if Path(spec).is_file():
        from ..lens_profile import load_lens_profile

        return load_lens_profile(spec, size), f"lens profile {spec}"
    from .store import ProfileNotFound, load_database

    try:
        entry = (load_database() if db is None else db).get(str(spec))
    except ProfileNotFound as exc:
        raise InputError(f"no such file, and {exc.reason}", str(spec)) from None
    cam = entry.camera_model(size)
    cw, ch = entry.calib_size
    mode = f"{entry.mode_label} lens" if entry.lens_mode else "lens mode not recorded"
    return cam, (f"lens profile {entry.key} from the bundled database ({entry.brand} "
                 f"{entry.model}, {mode}, calibrated at {cw}x{ch})")


def search_profiles(text: str, limit: int | None = 20, db: LensDatabase | None = None
                    ) -> list[dict]:
    """``ProfileEntry.summary()`` of the profiles matching every word of ``text``.

    Examples
    --------
    >>> rows = search_profiles("hero5 black medium")
    >>> {r["lens_mode"] for r in rows}
    {'Medium'}
    """
    from .store import load_database

    return [e.summary() for e in (load_database() if db is None else db).search(text, limit)]


def _hfov_deg(entry: ProfileEntry) -> float | None:
    """Horizontal field of view across the calibration frame, through the lens model."""
    from ..camera import unproject
    from ..lens_profile import lens_profile_from_dict

    try:
        d = dict(entry.profile)
        d.pop("input_horizontal_stretch", None)
        d.pop("input_vertical_stretch", None)
        cam = lens_profile_from_dict(d, entry.key)
    except InputError:
        return None
    import numpy as np

    w, h = cam.size
    cy = cam.K[1, 2]
    rays = unproject(cam, np.array([[-0.5, cy], [w - 0.5, cy]]))
    angle = math.degrees(math.acos(float(np.clip(rays[0] @ rays[1], -1.0, 1.0))))
    return angle if math.isfinite(angle) else None


def describe_profile(spec: str, db: LensDatabase | None = None) -> dict:
    """Everything ``lens show`` prints about the profile ``spec`` names, as plain data.

    Raises
    ------
    InputError
        No (or more than one) profile of that name.
    """
    from .store import load_database

    e = (load_database() if db is None else db).get(spec)
    d = e.profile
    fp = d.get("fisheye_params") or {}
    cp = d.get("calib_params") or {}
    standard = (d.get("distortion_model") == "opencv_standard"
                or (d.get("use_opencv_standard") and not d.get("use_opencv_fisheye")))
    params = cp if standard and cp.get("camera_matrix") else fp
    K = params.get("camera_matrix")
    notes = []
    if e.unsupported:
        notes.append(e.unsupported.split(": ", 1)[1])
    raw_readout = d.get("frame_readout_time")
    if e.readout_ms is None and raw_readout not in (None, 0, 0.0, ""):
        notes.append(f"frame_readout_time {raw_readout} ms is not plausible; treated as unknown")
    if isinstance(d.get("note"), str) and d["note"].strip():
        notes.append(d["note"].strip())
    out = e.summary()
    out.update({
        "calib_size": list(e.calib_size),
        "focal_px": [K[0][0], K[1][1]] if K else None,
        "principal_point_px": [K[0][2], K[1][2]] if K else None,
        "hfov_deg": None if e.unsupported else _hfov_deg(e),
        "distortion_model": "opencv_standard" if standard else "opencv_fisheye",
        "distortion_coeffs": list(params.get("distortion_coeffs") or []),
        "rms_error_px": params.get("RMS_error"),
        "identifier": d.get("identifier") or None,
        "calibrated_by": d.get("calibrated_by") or None,
        "date": d.get("date") or None,
        "compatible_settings": [list(c) for c in e.compatible],
        "notes": notes,
    })
    return out


def _fps(v: float | None) -> str:
    return f"{v:.2f}" if v else "-"


def _eis(v: bool | None) -> str:
    return "-" if v is None else ("on" if v else "off")


def format_search(rows: list[dict], total_note: str = "") -> str:
    """A table: key (what ``--lens`` accepts), brand, model, lens mode, size, fps, EIS."""
    if not rows:
        return "no lens profile matches"
    head = ("name", "brand", "model", "lens", "resolution", "fps", "EIS")
    table = [head] + [(r["key"], r["brand"], r["model"],
                       r["lens_mode"] + (" (digital)" if r["digital_lens"] else ""),
                       f"{r['width']}x{r['height']}", _fps(r["fps"]), _eis(r["eis"]))
                      for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(widths[i]) for i, c in enumerate(row)).rstrip()
             for row in table]
    return "\n".join(lines + ([total_note] if total_note else []))


def format_profile(info: dict) -> str:
    """``describe_profile``'s facts as aligned lines."""
    fx_fy = info["focal_px"]
    lines = [
        ("name", info["key"]),
        ("profile name", info["name"]),
        ("camera", f"{info['brand']} {info['model']}"),
        ("lens mode", info["lens_mode"]),
        ("EIS", _eis(info["eis"])),
        ("calibration", f"{info['width']}x{info['height']} at {_fps(info['fps'])} fps"),
        ("focal", f"fx {fx_fy[0]:.2f} px, fy {fx_fy[1]:.2f} px" if fx_fy else "-"),
        ("field of view", f"{info['hfov_deg']:.1f} deg horizontal" if info["hfov_deg"]
         else "-"),
        ("distortion", f"{info['distortion_model']} "
                       + ", ".join(f"{c:.6g}" for c in info["distortion_coeffs"])),
        ("readout", f"{info['readout_ms']:.3f} ms" if info["readout_ms"] else "unknown"),
        ("official", "yes" if info["official"] else "no"),
        ("calibrated by", f"{info['calibrated_by'] or '-'} ({info['date'] or 'no date'})"),
    ]
    if info["compatible_settings"]:
        lines.append(("also valid for", f"{len(info['compatible_settings'])} settings"))
    lines += [("note", n) for n in info["notes"]]
    w = max(len(k) for k, _ in lines)
    return "\n".join(f"{k.ljust(w)}  {v}" for k, v in lines)
