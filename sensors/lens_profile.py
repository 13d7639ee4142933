"""Gyroflow lens-profile JSON <-> ``CameraModel`` (docs/architecture.md "sensors/", ``camera.py``).

A profile holds ``calib_dimension {w, h}``, ``fisheye_params.camera_matrix`` (3x3, pixels at
the calibration size), ``fisheye_params.distortion_coeffs``, ``distortion_model``
(``opencv_fisheye`` when null, as in Gyroflow; older files say ``use_opencv_fisheye`` /
``use_opencv_standard``, the latter with ``calib_params``), ``frame_readout_time`` (ms, may be
null or 0 = unknown), ``camera_brand``, ``camera_model``, ``lens_model``, ``name``,
``input_horizontal_stretch`` / ``input_vertical_stretch``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .errors import InputError
from .types import LENS_MODELS, CameraModel

__all__ = ["load_lens_profile", "lens_profile_from_dict", "write_lens_profile",
           "ASPECT_TOLERANCE"]

#: Relative aspect-ratio difference above which a scaled profile is marked approximate.
ASPECT_TOLERANCE = 0.01


def _model_of(d: dict, path: str) -> str:
    model = d.get("distortion_model")
    if model is None:
        if d.get("use_opencv_standard") and not d.get("use_opencv_fisheye"):
            return "opencv_standard"
        return "opencv_fisheye"
    if model not in LENS_MODELS:
        raise InputError(f"unsupported distortion_model {model!r}; valid: "
                         + ", ".join(LENS_MODELS), path)
    return str(model)


def _params(d: dict, model: str) -> dict:
    """The parameter block holding camera_matrix/distortion_coeffs."""
    calib = d.get("calib_params") or {}
    if model == "opencv_standard" and calib.get("camera_matrix"):
        return calib
    return d.get("fisheye_params") or {}


def _stretch(d: dict, key: str, path: str) -> float:
    v = d.get(key)
    if v is None:
        return 1.0
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{key} is not a number: {v!r}", path) from None
    if not np.isfinite(v) or v <= 0:
        raise InputError(f"{key} must be positive, got {v}", path)
    return v


def load_lens_profile(path: str | os.PathLike, size: tuple[int, int] | None = None
                      ) -> CameraModel:
    """Load a Gyroflow lens profile, optionally scaled to the clip's size.

    Parameters
    ----------
    path : path-like
        The ``.json`` profile.
    size : (int, int), optional
        The clip's (width, height). K scales per axis (``CameraModel.scaled``); when the
        aspect ratio differs from the calibration by more than ``ASPECT_TOLERANCE`` the result
        is marked ``meta['approximate'] = True`` with the reason in ``meta['warning']``.

    Returns
    -------
    CameraModel
        ``meta`` holds ``name``, ``camera_brand``, ``camera_model``, ``lens_model``,
        ``readout_s`` (None when the profile does not know), ``calib_size``, ``approximate``.

    Raises
    ------
    InputError
        Missing/empty/non-JSON file, missing or malformed fields, unsupported distortion model
        (lists the valid ones), anamorphic stretch (not supported yet).
    """
    p = Path(path)
    sp = str(p)
    if not p.exists():
        raise InputError("lens profile not found", sp)
    if p.is_dir() or p.stat().st_size == 0:
        raise InputError("lens profile is empty or a folder", sp)
    try:
        d = json.loads(p.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise InputError(f"not a JSON lens profile ({msg})", sp) from None
    return lens_profile_from_dict(d, sp, size, default_name=p.stem)


def lens_profile_from_dict(d: dict, source: str, size: tuple[int, int] | None = None,
                           default_name: str | None = None) -> CameraModel:
    """A parsed Gyroflow lens profile as a ``CameraModel``, optionally scaled to the clip's size.

    The checks and the result are those of ``load_lens_profile``, which reads the file and
    calls this; the bundled database (``sensors.lens_db``) calls it on profiles it holds.

    Parameters
    ----------
    d : dict
        The profile's JSON object.
    source : str
        Where it came from (a path or a database key): named by errors and kept as ``source``.
    size : (int, int), optional
        The clip's (width, height); see ``load_lens_profile``.
    default_name : str, optional
        ``meta['name']`` when the profile has no ``name`` (else ``source``).

    Returns
    -------
    CameraModel

    Raises
    ------
    InputError
        As ``load_lens_profile`` for malformed fields, naming ``source``.

    Examples
    --------
    >>> cam = lens_profile_from_dict(json.loads(text), "my.json", size=(1920, 1080))
    ... # doctest: +SKIP
    """
    sp = str(source)
    if not isinstance(d, dict):
        raise InputError("lens profile must be a JSON object", sp)
    model = _model_of(d, sp)
    dim = d.get("calib_dimension") or {}
    try:
        calib = (int(dim["w"]), int(dim["h"]))
    except (KeyError, TypeError, ValueError):
        raise InputError("calib_dimension {w, h} is missing or malformed", sp) from None
    if calib[0] <= 0 or calib[1] <= 0:
        raise InputError(f"calib_dimension must be positive, got {calib}", sp)
    for key in ("input_horizontal_stretch", "input_vertical_stretch"):
        if abs(_stretch(d, key, sp) - 1.0) > 1e-9:
            raise InputError(f"{key} = {d[key]} (anamorphic) is not supported", sp)
    prm = _params(d, model)
    try:
        K = np.asarray(prm["camera_matrix"], dtype=np.float64)
        dist = np.asarray(prm["distortion_coeffs"], dtype=np.float64).ravel()
    except (KeyError, TypeError, ValueError):
        raise InputError("camera_matrix / distortion_coeffs missing or not numeric", sp) from None
    if K.shape != (3, 3):
        raise InputError(f"camera_matrix must be 3x3, got shape {K.shape}", sp)
    if model == "opencv_fisheye" and dist.size not in (4,):
        raise InputError(f"opencv_fisheye needs 4 distortion coefficients, got {dist.size}", sp)
    if model == "opencv_standard" and dist.size not in (4, 5, 8, 12, 14):
        raise InputError("opencv_standard needs 4, 5, 8, 12 or 14 distortion coefficients, "
                         f"got {dist.size}", sp)
    readout = d.get("frame_readout_time")
    readout_s = None
    if readout not in (None, 0, 0.0, ""):
        try:
            readout_s = float(readout) / 1000.0
        except (TypeError, ValueError):
            raise InputError(f"frame_readout_time is not a number: {readout!r}", sp) from None
        if not np.isfinite(readout_s) or readout_s < 0:
            raise InputError(f"frame_readout_time must be >= 0 ms, got {readout}", sp)
    meta = {
        "name": d.get("name") or default_name or sp,
        "camera_brand": d.get("camera_brand"),
        "camera_model": d.get("camera_model"),
        "lens_model": d.get("lens_model"),
        "note": d.get("note") if isinstance(d.get("note"), str) else None,
        "readout_s": readout_s,
        "calib_size": calib,
        "approximate": False,
    }
    cam = CameraModel(K, dist, model, calib, sp, meta)
    if size is None:
        return cam
    w, h = int(size[0]), int(size[1])
    if w <= 0 or h <= 0:
        raise InputError(f"clip size must be positive, got {size}", sp)
    out = cam.scaled((w, h))
    a_calib = calib[0] / calib[1]
    a_clip = w / h
    if abs(a_clip / a_calib - 1.0) > ASPECT_TOLERANCE:
        out.meta["approximate"] = True
        out.meta["warning"] = (
            f"profile calibrated at {calib[0]}x{calib[1]} (aspect {a_calib:.3f}) but the clip is "
            f"{w}x{h} (aspect {a_clip:.3f}); scaled per axis, so the lens model is approximate"
        )
    return out


def write_lens_profile(path: str | os.PathLike, cam: CameraModel,
                       readout_s: float | None = None) -> Path:
    """Write ``cam`` as a Gyroflow lens profile JSON (atomically).

    Parameters
    ----------
    path : path-like
        Destination ``.json``.
    cam : CameraModel
        Calibration at its own ``size`` (written as ``calib_dimension``).
    readout_s : float, optional
        Written as ``frame_readout_time`` in ms (defaults to ``cam.meta['readout_s']``).

    Returns
    -------
    Path written.
    """
    if readout_s is None:
        readout_s = cam.meta.get("readout_s")
    if readout_s is not None and (not np.isfinite(readout_s) or readout_s < 0):
        raise InputError(f"readout must be finite and >= 0, got {readout_s}", str(path))
    w, h = cam.size
    name = cam.meta.get("name") or Path(path).stem
    params = {
        "RMS_error": 0.0,
        "camera_matrix": cam.K.tolist(),
        "distortion_coeffs": cam.dist.tolist(),
        "radial_distortion_limit": None,
    }
    d = {
        "name": name,
        "note": "written by steadyrig",
        "calibrated_by": "steadyrig",
        "camera_brand": cam.meta.get("camera_brand") or "",
        "camera_model": cam.meta.get("camera_model") or "",
        "lens_model": cam.meta.get("lens_model") or "",
        "calib_dimension": {"w": w, "h": h},
        "orig_dimension": {"w": w, "h": h},
        "output_dimension": {"w": w, "h": h},
        "frame_readout_time": None if readout_s is None else readout_s * 1000.0,
        "input_horizontal_stretch": 1.0,
        "input_vertical_stretch": 1.0,
        "distortion_model": cam.model,
        "use_opencv_fisheye": cam.model == "opencv_fisheye",
        "use_opencv_standard": cam.model == "opencv_standard",
        "fisheye_params": params,
        "calib_params": params,
        "official": False,
    }
    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(d, indent=2) + "\n")
    return Path(path)
