"""Stitch one dual-fisheye frame into an equirectangular panorama, with no rig file.

find the two discs -> start from back-to-back equidistant lenses (``fov_deg``, or a camera's
EXIF hint) -> calibrate from the overlap ring (SIFT, then dense flow, pyceres) -> the rig's
ordinary stitch (``stitch.pipeline.stitch_images``: overlap flow and spline warps in the ring,
exposure, blend) with the frame given once per lens.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from pathlib import Path

import cv2
import numpy as np

from sensors.atomic import atomic_output, check_not_input
from sensors.errors import InputError
from sensors.progress import ProgressCallback

from ..params import IMAGE_SUFFIXES, StitchParams
from ..pipeline import StitchResult, stitch_images
from ..render import write_layers, write_panorama
from ..rig import Rig
from ..rig_io import write_surround360_rig
from .calibrate import Calibration, calibrate
from .circles import find_circles
from .ground import ground_entry
from .hints import DEFAULT_FOV_DEG, hint_for, read_make_model
from .lens import rig_from_lenses

__all__ = ["auto_width_px", "dual_fisheye_rig", "stitch_dual_fisheye",
           "stitch_dual_fisheye_file"]


def auto_width_px(calibration: Calibration) -> int:
    """Panorama width at the frame's own resolution along the seam (a multiple of 16).

    The seam is the great circle 90 degrees off both axes; the front lens draws it as a circle of
    radius ``r(90 deg)``, and a panorama meridian is the same circle, ``W`` pixels long.
    """
    r90 = float(calibration.lenses[0].radius_px(math.pi / 2))
    return int(16 * math.ceil(2 * math.pi * r90 / 16))


def dual_fisheye_rig(calibration: Calibration, size: tuple[int, int],
                     source: str | None = None) -> Rig:
    """The two-camera rig of a calibration: each camera is the whole frame (see ``lens``)."""
    return rig_from_lenses(calibration.lenses, calibration.R_rig_from_back, size, source)


def _as_bgr(image: np.ndarray, source: str | None) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise InputError(f"expected an (h, w, 3) BGR image, got shape {img.shape}", source)
    if img.shape[2] == 4:
        img = img[..., :3]
    if img.dtype == np.uint16:
        img = (img // 257).astype(np.uint8)
    if img.dtype != np.uint8:
        raise InputError(f"expected a uint8 image, got {img.dtype}", source)
    return np.ascontiguousarray(img)


def stitch_dual_fisheye(image: np.ndarray, params: StitchParams | None = None, *,
                        fov_deg: float | None = None, auto_width: bool | None = None,
                        layout: str | None = None, make: str | None = None,
                        model: str | None = None,
                        progress: ProgressCallback | None = None,
                        debug_dir: str | os.PathLike | None = None,
                        source: str | None = None) -> StitchResult:
    """Stitch a dual-fisheye frame (both lenses in one image) into an equirectangular panorama.

    Parameters
    ----------
    image : (h, w, 3) uint8
        BGR frame, the lenses side by side (~2:1) or stacked (~1:2), front lens first.
    params : StitchParams, optional
        Stitch settings (default: the defaults). ``refine`` is not used (the ring calibration
        already solves the lenses' relative orientation).
    fov_deg : float, optional
        Starting full field of view of each lens (default: the camera's hint, else 190).
    auto_width : bool, optional
        Replace ``params.width_px`` by :func:`auto_width_px` (the frame's own resolution);
        default: when no ``params`` are given.
    layout : {"side_by_side", "stacked"}, optional
        Default: from the aspect ratio.
    make, model : str, optional
        EXIF Make/Model; a known camera picks the starting field of view.
    progress : callable(Progress), optional
        As for :func:`stitch.pipeline.stitch_images`.
    debug_dir : path, optional
        Intermediate pictures, as for :func:`stitch.pipeline.stitch_images`.
    source : str, optional
        File name for messages and the rig's ``source``.

    Returns
    -------
    StitchResult
        As :func:`stitch.pipeline.stitch_images`, with the two-camera ``rig`` ("front",
        "back") and the calibration under ``report["dual_fisheye"]``.

    Raises
    ------
    InputError
        Not a dual-fisheye frame (no two discs on a dark border).
    SolveError
        Too few correspondences in the lenses' overlap, or a solve failed.

    Examples
    --------
    A generated frame (lenses of about 194 degrees, centres and orientation off the nominal),
    stitched with no rig; the seam repair leaves a fraction of a pixel:

    >>> from stitch.dual_fisheye import stitch_dual_fisheye
    >>> from stitch.dual_fisheye.synthetic import DualFisheyeTruth, render_dual_fisheye
    >>> frame = render_dual_fisheye(DualFisheyeTruth.random(seed=0, height_px=300))
    >>> res = stitch_dual_fisheye(frame)
    >>> res.rig.ids, res.panorama.shape[1] == 2 * res.panorama.shape[0]
    (['front', 'back'], True)
    >>> res.seam_median_px < 0.5
    True
    """
    t0 = time.perf_counter()
    img = _as_bgr(image, source)
    layout, circles = find_circles(img, layout, source)
    hint = hint_for(make, model)
    start = float(fov_deg) if fov_deg is not None else (
        hint.fov_deg if hint is not None else DEFAULT_FOV_DEG)
    if not 150.0 <= start <= 260.0:
        raise InputError(f"field of view must be in 150..260 degrees, got {start:g}", source)
    base = params or StitchParams()
    cal = calibrate(img, (circles[0], circles[1]), layout, start, base)
    if auto_width or (auto_width is None and params is None):
        base = base.with_(width_px=auto_width_px(cal))
    calibrate_s = time.perf_counter() - t0
    h, w = img.shape[:2]
    rig = dual_fisheye_rig(cal, (w, h), source)
    res = stitch_images(rig, [img, img], base.with_(refine=False), progress,
                        debug_dir=debug_dir)
    report = res.report
    report["dual_fisheye"] = {
        "layout": layout,
        "circles": [dataclasses.asdict(c) for c in circles],
        "camera_hint": None if hint is None else hint.camera,
        "start_fov_deg": start,
        "calibration": cal.info,
        "lenses": [dataclasses.asdict(L) for L in cal.lenses],
        "R_rig_from_back": cal.R_rig_from_back.tolist(),
    }
    report["timings_s"]["calibrate"] = round(calibrate_s, 4)
    report["timings_s"]["total"] = round(time.perf_counter() - t0, 4)
    return dataclasses.replace(res, report=json.loads(json.dumps(report, default=float)))


def stitch_dual_fisheye_file(image: str | os.PathLike, output: str | os.PathLike,
                             params: StitchParams | None = None, *,
                             fov_deg: float | None = None, auto_width: bool | None = None,
                             report: str | os.PathLike | None = None,
                             layers_dir: str | os.PathLike | None = None,
                             save_rig: str | os.PathLike | None = None,
                             debug_dir: str | os.PathLike | None = None,
                             progress: ProgressCallback | None = None) -> StitchResult:
    """Read a dual-fisheye image file, stitch it, write the panorama (and what else was asked).

    Parameters
    ----------
    image : path
        The dual-fisheye photo (its EXIF Make/Model may pick the starting field of view).
    output : path
        Panorama (``.jpg``, ``.png``, ``.tif``), equirectangular with GPano XMP, written
        atomically.
    params, fov_deg, auto_width, debug_dir, progress
        As for :func:`stitch_dual_fisheye`.
    report : path, optional
        JSON report (seams, calibration, timings).
    layers_dir : path, optional
        Each lens's warped layer as a full-canvas RGBA PNG (``layer_front.png``,
        ``layer_back.png``).
    save_rig : path, optional
        The calibration as a Surround360 ``camera_rig.json`` (``stitch.read_rig`` reads it;
        stitch later frames of the camera with ``steadyrig stitch RIG FRAME FRAME``).

    Returns
    -------
    StitchResult
        With ``output`` set.

    Examples
    --------
    >>> import tempfile, cv2
    >>> from pathlib import Path
    >>> from stitch.dual_fisheye import stitch_dual_fisheye_file
    >>> from stitch.dual_fisheye.synthetic import DualFisheyeTruth, render_dual_fisheye
    >>> from stitch.rig_io import read_rig
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     frame = Path(tmp) / "frame.jpg"
    ...     _ = cv2.imwrite(str(frame), render_dual_fisheye(DualFisheyeTruth.random(1, 200)))
    ...     res = stitch_dual_fisheye_file(frame, Path(tmp) / "pano.jpg",
    ...                                    save_rig=Path(tmp) / "rig.json")
    ...     rig = read_rig(Path(tmp) / "rig.json")
    >>> rig.ids, res.output.name
    (['front', 'back'], 'pano.jpg')
    """
    src = Path(image)
    out_path = Path(output)
    if out_path.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"unsupported panorama type {out_path.suffix or '(none)'}; use one of "
                         + ", ".join(IMAGE_SUFFIXES), str(out_path))
    if not src.exists():
        raise InputError("image does not exist", str(src))
    if src.is_dir():
        raise InputError("expected an image file, got a folder", str(src))
    extras = [report, save_rig]
    if layers_dir is not None:
        extras += [Path(layers_dir) / f"layer_{cid}.png" for cid in ("front", "back")]
    check_not_input(out_path, src)
    for extra in extras:
        if extra is not None:
            check_not_input(extra, src, out_path)
    img = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError("cannot read the image (not an image file, or damaged)", str(src))
    make, model = read_make_model(src)
    res = stitch_dual_fisheye(img, params, fov_deg=fov_deg, auto_width=auto_width,
                              make=make, model=model,
                              progress=progress, debug_dir=debug_dir, source=str(src))
    summary = res.report
    summary["output"] = str(out_path)
    summary["images"] = [str(src)]
    quality = (params or StitchParams()).jpeg_quality
    write_panorama(out_path, res.panorama, quality)
    layer_paths = []
    if layers_dir is not None:
        layer_paths = write_layers(layers_dir, res.layers, res.rig)
    if save_rig is not None:
        ground = summary.get("dual_fisheye", {}).get("calibration", {}).get("ground_params")
        write_surround360_rig(save_rig, res.rig, ground_entry(ground))
    if report is not None:
        with atomic_output(report) as tmp:
            Path(tmp).write_text(json.dumps(summary, indent=2) + "\n")
    return dataclasses.replace(res, output=out_path, layer_paths=layer_paths)
