"""The stitch pipeline, in the order of the algorithm (DESIGN.md "stitch/").

load rig + images -> project to the panorama -> overlap flow -> (refine rig rotations ->
re-project -> overlap flow) -> solve spline warps -> render (warp, exposure, blend) -> write ->
report. ``params.repair = False`` skips flow and solve (a plain rotation-only stitch);
``params.refine = False`` keeps the rig's rotations as given.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from sensors.atomic import atomic_output, check_not_input
from sensors.errors import InputError, SolveError

from .params import IMAGE_SUFFIXES, StitchParams
from .projection import Overlap, ProjectedLayer, find_overlaps, project_rig
from .render import blend_layers, warp_layers, write_layers, write_panorama
from .rig import Rig, read_rig, write_pto

__all__ = ["StitchResult", "STAGES", "stitch_panorama", "load_images", "resolve_images"]

#: Stages reported to the progress callback, in order.
STAGES = ("load", "project", "refine", "flow", "solve", "render", "report", "write")

_READABLE = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")


@dataclass(frozen=True, eq=False)
class StitchResult:
    """What a stitch produced.

    Parameters
    ----------
    output : Path
        The panorama written.
    rig : Rig
        The rig the panorama was rendered with (refined when refinement ran).
    report : dict
        Seam summary, overlaps, warps, coverage, warnings and per-stage timings (JSON-ready).
    layer_paths : list of Path
        Full-canvas RGBA layers (when a layers folder was given).
    warps : list of SplineWarp, optional
        The solved displacement per camera (None without repair).
    """

    output: Path
    rig: Rig
    report: dict
    layer_paths: list[Path] = field(default_factory=list)
    warps: list | None = None


def resolve_images(rig: Rig, images: Sequence[str | os.PathLike]) -> list[Path]:
    """Image paths in rig order: the given files, or a single folder's files named by camera id.

    Raises
    ------
    InputError
        Count mismatch, missing files, or a folder lacking (or doubling) a camera's image.
    """
    paths = [Path(p) for p in images]
    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0]
        files = [p for p in folder.iterdir() if p.suffix.lower() in _READABLE and p.is_file()]
        out, missing = [], []
        for cid in rig.ids:
            hits = [p for p in files if p.stem == cid] or [
                p for p in files if p.stem.lower() == cid.lower()]
            if len(hits) > 1:
                raise InputError(f"several images for camera {cid}: "
                                 + ", ".join(sorted(p.name for p in hits)), str(folder))
            if not hits:
                missing.append(cid)
            else:
                out.append(hits[0])
        if missing:
            raise InputError(f"no image named after camera(s) {', '.join(missing)} "
                             f"(expected e.g. {missing[0]}.jpg)", str(folder))
        return out
    if len(paths) != len(rig):
        raise InputError(f"the rig has {len(rig)} cameras but {len(paths)} images were given "
                         "(give one image per camera in rig order, or one folder)", rig.source)
    for p in paths:
        if not p.exists():
            raise InputError("image does not exist", str(p))
        if p.is_dir():
            raise InputError("expected an image file, got a folder", str(p))
    return paths


def load_images(rig: Rig, paths: Sequence[Path]) -> list[np.ndarray]:
    """Read images as BGR uint8 and check each against its camera's size."""
    out = []
    for cam, p in zip(rig, paths, strict=True):
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        if img is None or img.size == 0:
            raise InputError("cannot read image (not an image, or truncated)", str(p))
        if img.dtype == np.uint16:
            img = (img.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
        elif img.dtype != np.uint8:
            raise InputError(f"unsupported image sample type {img.dtype}", str(p))
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        elif img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
        w, h = cam.size
        if img.shape[:2] != (h, w):
            raise InputError(f"image is {img.shape[1]}x{img.shape[0]} but camera {cam.id} in the "
                             f"rig is {w}x{h}", str(p))
        out.append(np.ascontiguousarray(img))
    return out


def _optional(module: str):
    """Import a seam-repair stage module, with a clear error when it is not installed."""
    import importlib

    try:
        return importlib.import_module(f"stitch.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"stitch.{module}":
            raise
        raise InputError(f"this installation has no stitch.{module}; run with --no-repair "
                         "--no-refine for a rotation-only stitch") from None


def _flow(layers: list[ProjectedLayer], overlaps: list[Overlap], params: StitchParams):
    return _optional("flow").overlap_correspondences(layers, overlaps, params)


def _write_debug(debug_dir: Path, name: str, img: np.ndarray) -> None:
    debug_dir.mkdir(parents=True, exist_ok=True)
    with atomic_output(debug_dir / name) as tmp:
        cv2.imwrite(str(tmp), img)


def _overlap_crop(x0: int, y0: int, image: np.ndarray, o: Overlap, W: int) -> np.ndarray:
    cols = np.mod(o.x0 + np.arange(o.w) - x0, W)
    rows = o.y0 - y0 + np.arange(o.h)
    inside = cols < image.shape[1]
    crop = np.zeros((o.h, o.w, 3), np.uint8)
    crop[:, inside] = image[rows][:, cols[inside]]
    return crop


def _debug_overlaps(debug_dir: Path, tag: str, items, overlaps: list[Overlap], W: int) -> None:
    """50/50 mixes of both cameras over every overlap: misalignment shows as ghosting."""
    for o in overlaps:
        a = _overlap_crop(*items[o.i], o, W)
        b = _overlap_crop(*items[o.j], o, W)
        mix = ((a.astype(np.uint16) + b) // 2).astype(np.uint8)
        mix[~o.mask] //= 4
        _write_debug(debug_dir, f"{tag}_overlap_{o.i:02d}_{o.j:02d}.png", mix)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def stitch_panorama(rig: Rig | str | os.PathLike, images: Sequence[str | os.PathLike],
                    output: str | os.PathLike, params: StitchParams | None = None,
                    report: str | os.PathLike | None = None,
                    layers_dir: str | os.PathLike | None = None,
                    debug_dir: str | os.PathLike | None = None,
                    progress: Callable[[str], None] | None = None,
                    pto: str | os.PathLike | None = None) -> StitchResult:
    """Stitch a rosette's images into an equirectangular panorama with seam repair.

    Parameters
    ----------
    rig : Rig or path
        The rig (or a Surround360 / COLMAP rig file).
    images : sequence of paths
        One image per camera in rig order, or a single folder with files named by camera id.
    output : path
        Panorama file (``.jpg``, ``.png``, ``.tif``), written atomically with GPano XMP.
    params : StitchParams, optional
        Width, repair/refine switches and stage settings.
    report : path, optional
        Where to write the JSON report (also returned in the result).
    layers_dir : path, optional
        Folder for full-canvas RGBA layers (``layer_<id>.png``).
    debug_dir : path, optional
        Folder for numbered intermediate pictures (projected layers, overlap mixes before and
        after repair, the seam assignment).
    progress : callable(stage), optional
        Called with each name of ``STAGES`` as that stage finishes.
    pto : path, optional
        Also write a Hugin project of the (refined) rig and the images, to inspect in Hugin.

    Returns
    -------
    StitchResult

    Raises
    ------
    InputError
        Bad rig, images, output name, or a rig without overlaps when repair/refine is asked.
    SolveError
        The warp solve (or the refinement) failed; nothing is written then.
    """
    params = StitchParams() if params is None else params
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    warnings: list[str] = []

    def done(stage: str, t0: float) -> float:
        timings[stage] = round(time.perf_counter() - t0, 4)
        if progress is not None:
            progress(stage)
        return time.perf_counter()

    out_path = Path(output)
    if out_path.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"unsupported panorama type {out_path.suffix or '(none)'}; use one of "
                         + ", ".join(IMAGE_SUFFIXES), str(out_path))
    W = params.width_px
    dbg = None if debug_dir is None else Path(debug_dir)

    # 1. load rig + images
    t = time.perf_counter()
    if not isinstance(rig, Rig):
        rig = read_rig(rig)
    paths = resolve_images(rig, images)
    check_not_input(out_path, *paths, rig.source)
    extras = [report, pto]
    if layers_dir is not None:
        extras += [Path(layers_dir) / f"layer_{cid}.png" for cid in rig.ids]
    for extra in extras:
        if extra is not None:
            check_not_input(extra, *paths, rig.source, out_path)
    imgs = load_images(rig, paths)
    t = done("load", t)

    # 2. project every camera into its layer of the panorama; find the overlaps
    layers = project_rig(rig, imgs, W, params.feather_px, params.margin_px)
    overlaps = find_overlaps(layers)
    if not overlaps and len(rig) > 1:
        msg = (f"no two cameras overlap on a {W} px panorama; check the rig's orientations "
               "and fields of view")
        if params.repair or params.refine:
            raise InputError(msg + " (seam repair needs overlaps)", rig.source)
        warnings.append(msg)
    if dbg is not None:
        for lay in layers:
            _write_debug(dbg, f"01_layer_{rig[lay.index].id}.png", lay.image)
        _debug_overlaps(dbg, "02_before", [(p.x0, p.y0, p.image) for p in layers], overlaps, W)
    t = done("project", t)

    # 3. refine rotations from overlap correspondences, then re-project
    matches = None
    refine_info = None
    if params.refine and overlaps:
        refine = _optional("refine")
        matches = _flow(layers, overlaps, params)
        rig, refine_info = refine.refine_rotations(
            rig, layers, matches, fixed=params.refine_fixed_camera,
            robust_scale_px=params.robust_scale_px, max_iterations=params.max_iterations)
        layers = project_rig(rig, imgs, W, params.feather_px, params.margin_px)
        overlaps = find_overlaps(layers)
        matches = None
    t = done("refine", t)

    # 4. dense flow in every overlap -> correspondences
    if params.repair and overlaps:
        matches = _flow(layers, overlaps, params)
        if not any(len(m.p_i) for m in matches):
            raise SolveError("no usable correspondences in any overlap (textureless or "
                             "misaligned by more than the flow can find); try --no-repair")
    t = done("flow", t)

    # 5. spline warps in Ceres
    warps = None
    solve_info = None
    if params.repair and matches is not None:
        warps, solve_info = _optional("warp_solve").solve_warps_info(layers, matches, params)
        solve_info = dataclasses.asdict(solve_info)
        for k, w in enumerate(warps):
            if w is not None and w.min_jacobian_det < params.min_jacobian_det:
                warnings.append(f"camera {rig[k].id}: warp Jacobian determinant drops to "
                                f"{w.min_jacobian_det:.3f} (< {params.min_jacobian_det}); the "
                                "warp may fold")
    t = done("solve", t)

    # 6. render: warp with the displacements, compensate exposure, blend (wrap-aware)
    warped = warp_layers(rig, imgs, W, warps, params.margin_px, projected=layers)
    pano, coverage = blend_layers(warped, W, params)
    if dbg is not None and warps is not None:
        _debug_overlaps(dbg, "03_after", [(wl.layer.x0, wl.layer.y0, wl.image) for wl in warped],
                        overlaps, W)
    if dbg is not None:
        _write_debug(dbg, "04_panorama_preview.jpg",
                     cv2.resize(pano, (min(W, 2048), min(W, 2048) // 2),
                                interpolation=cv2.INTER_AREA))
    t = done("render", t)

    # 7. report, then outputs (the panorama last-but-atomic: a failure leaves nothing behind)
    seams = None
    if matches is not None and warps is not None:
        seams = _optional("metrics").seam_report(matches, warps, warped_layers=warped)
    t = done("report", t)
    summary = {
        "output": str(out_path),
        "width_px": W,
        "height_px": W // 2,
        "cameras": rig.ids,
        "images": [str(p) for p in paths],
        "rig": rig.source,
        "repair": bool(params.repair and warps is not None),
        "refine": bool(refine_info is not None),
        "refine_info": refine_info,
        "solve_info": solve_info,
        "params": params.to_dict(),
        "params_checksum": params.checksum(),
        "overlaps": [{"i": o.i, "j": o.j, "area_px": o.area_px} for o in overlaps],
        "coverage_fraction": float(coverage.mean()),
        "seams": seams,
        "warps": None if warps is None else [
            {"camera": rig[k].id, "max_displacement_px": float(w.max_displacement_px),
             "min_jacobian_det": float(w.min_jacobian_det)}
            for k, w in enumerate(warps) if w is not None],
        "warnings": warnings,
        "timings_s": timings,
    }
    write_panorama(out_path, pano, params.jpeg_quality)
    layer_paths = []
    if layers_dir is not None:
        layer_paths = write_layers(layers_dir, warped, rig)
    if pto is not None:
        write_pto(pto, rig, [p.resolve() for p in paths], W)
    timings["write"] = round(time.perf_counter() - t, 4)
    timings["total"] = round(time.perf_counter() - t_start, 4)
    if progress is not None:
        progress("write")
    summary = _jsonable(summary)
    if report is not None:
        with atomic_output(report) as tmp:
            Path(tmp).write_text(json.dumps(summary, indent=2) + "\n")
    return StitchResult(out_path, rig, summary, layer_paths, warps)
