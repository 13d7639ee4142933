"""The stitch pipeline, in the order of the algorithm (docs/architecture.md "stitch/").

check images -> project to the panorama -> refine the calibration (``params.refine_mode``:
``intrinsics`` = features, coarse lens + rotation solve, overlap flow, fine solve and a held-out
guard in ``stitch.refine_stage``; ``rotations`` = overlap flow and ``stitch.refine``; ``auto`` =
intrinsics when the matches support it) -> re-project -> overlap flow -> solve spline warps ->
render (warp, exposure, blend) -> report.
``params.repair = False`` skips flow and solve (a plain rotation-only stitch);
``params.refine = False`` (or ``refine_mode="none"``) keeps the rig's calibration as given;
``params.depth_m`` projects rigs with a baseline at that scene distance.

:func:`stitch_images` runs it on images in memory (a video tool's frames) and returns the
panorama as an array; :func:`stitch_panorama` reads the images from files, calls it, and writes
the panorama (with GPano XMP), the report, layers and a Hugin project.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from sensors.atomic import atomic_output, check_not_input
from sensors.errors import InputError, SolveError
from sensors.progress import Progress, ProgressCallback, get_logger, note
from sensors.progress import report as report_progress

from .images import check_images, load_images, resolve_images
from .params import IMAGE_SUFFIXES, StitchParams
from .projection import Overlap, ProjectedLayer, find_overlaps, project_rig, with_scene_depth
from .render import WarpedLayer, blend_layers, warp_layers, write_layers, write_panorama
from .rig import Rig
from .rig_io import read_rig, write_pto, write_surround360_rig

__all__ = ["StitchResult", "STAGES", "stitch_images", "stitch_panorama", "load_images",
           "resolve_images"]

#: Stages reported to the progress callback, in order (:func:`stitch_images` stops at
#: ``"report"``; :func:`stitch_panorama` also reports ``"write"``).
STAGES = ("load", "project", "refine", "flow", "solve", "render", "report", "write")

_log = get_logger(__name__)


@dataclass(frozen=True, eq=False)
class StitchResult:
    """What a stitch produced.

    Parameters
    ----------
    output : Path or None
        The panorama file written (None for :func:`stitch_images`).
    rig : Rig
        The rig the panorama was rendered with (refined when refinement ran).
    report : dict
        Seam summary, overlaps, warps, coverage, warnings and per-stage timings (JSON-ready).
    layer_paths : list of Path
        Full-canvas RGBA layers (when a layers folder was given).
    warps : list of SplineWarp, optional
        The solved displacement per camera (None without repair).
    panorama : (H, W, 3) uint8, optional
        The equirectangular panorama, BGR (``H = W / 2``).
    coverage : (H, W) bool, optional
        Where some camera sees the panorama.
    layers : list of WarpedLayer
        Every camera warped into its crop of the panorama (``image``, ``valid`` mask, crop
        origin ``layer.x0``, ``layer.y0``), in rig order.
    """

    output: Path | None
    rig: Rig
    report: dict
    layer_paths: list[Path] = field(default_factory=list)
    warps: list | None = None
    panorama: np.ndarray | None = None
    coverage: np.ndarray | None = None
    layers: list[WarpedLayer] = field(default_factory=list)

    @property
    def seams(self) -> dict | None:
        """The seam report (``stitch.metrics.seam_report``), or None without repair."""
        return self.report.get("seams")

    @property
    def seam_median_px(self) -> float | None:
        """Median held-out seam misalignment after repair, px (None without repair).

        Held-out correspondences were not used by the warp solve, so this is the honest figure.
        """
        seams = self.seams
        if not seams:
            return None
        return seams["overall"]["heldout"]["after"]["median_px"]


class _Stages:
    """Times the stages and reports each as ``Progress(stage, n_done, n_stages)``."""

    def __init__(self, progress: ProgressCallback | None, stages: Sequence[str]):
        self.progress, self.stages = progress, tuple(stages)
        self.timings: dict[str, float] = {}
        self.t = time.perf_counter()

    def done(self, stage: str) -> None:
        self.timings[stage] = round(time.perf_counter() - self.t, 4)
        report_progress(self.progress, stage, self.stages.index(stage) + 1, len(self.stages))
        self.t = time.perf_counter()


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


def _refine_rotations_guarded(rig: Rig, layers, matches, params: StitchParams,
                              warnings: list[str]) -> tuple[Rig, dict]:
    """Rotation refinement (``stitch.refine``), kept only if the held-out matches agree better
    (``stitch.refine_stage.guard_rotations``); a failed solve keeps the rig with a warning."""
    stage = _optional("refine_stage")
    head = {"mode_requested": params.refine_mode, "mode_used": "rotations"}
    try:
        refined, info = _optional("refine").refine_rotations(
            rig, layers, matches, fixed=params.refine_fixed_camera,
            robust_scale_px=params.robust_scale_px, max_iterations=params.max_iterations)
    except SolveError as exc:
        note(warnings, _log, f"rotation refinement failed ({exc}); the rig file's calibration "
             "is kept")
        return rig, {**head, "kept": "nominal", "error": str(exc),
                     "cameras": stage.calibration_report(rig, rig)}
    kept, guard = stage.guard_rotations(rig, refined, matches, params.width_px)
    if kept == "nominal":
        note(warnings, _log, "rotation refinement not kept: the held-out residuals favour the "
             "rig file's calibration")
        refined = rig
    return refined, {**head, "kept": kept, **info, "guard": guard,
                     "cameras": stage.calibration_report(rig, refined)}


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


def stitch_images(rig: Rig, images: Sequence[np.ndarray], params: StitchParams | None = None,
                  progress: ProgressCallback | None = None, *,
                  debug_dir: str | os.PathLike | None = None) -> StitchResult:
    """Stitch a rosette's images, given as arrays, into an equirectangular panorama.

    The whole stitch of :func:`stitch_panorama` (which reads files and calls this): project,
    refine the rig's rotations, solve the seam-repairing spline warps, render; nothing is read
    or written (but ``debug_dir``), so a video tool can stitch frames it holds in memory.

    Parameters
    ----------
    rig : Rig
        The rig (:func:`stitch.read_rig` reads one from a file).
    images : sequence of ndarray
        One image per camera in rig order: (h, w, 3) uint8 BGR as OpenCV holds them, of the
        camera's size (grey (h, w), BGRA and uint16 are converted as when read from files).
    params : StitchParams, optional
        Width, repair/refine switches and stage settings.
    progress : callable(Progress), optional
        Called as each stage finishes with ``Progress(stage, n_done, n_stages)``
        (``sensors.progress``), stages ``STAGES`` up to ``"report"``.
    debug_dir : path, optional
        Folder for numbered intermediate pictures (projected layers, overlap mixes before and
        after repair, a panorama preview).

    Returns
    -------
    StitchResult
        ``panorama`` (H, W, 3) uint8 BGR, ``coverage``, the warped ``layers``, the (refined)
        ``rig``, the ``warps`` and the ``report`` (``output`` and ``images`` None in it).

    Raises
    ------
    InputError
        Not a Rig, a wrong number of images, an image of the wrong type, layout or size, or a
        rig without overlaps when repair or refinement is asked.
    SolveError
        The warp solve (or the refinement) failed.

    See Also
    --------
    stitch_panorama : the same from and to files.

    Examples
    --------
    A generated rosette (four cameras, 0.4 degrees miscalibrated, with parallax) stitched from
    arrays; refinement and repair cut the held-out seam misalignment to a fraction of a pixel:

    >>> import tempfile
    >>> import cv2
    >>> from stitch import StitchParams, generate_rosette, read_rig, stitch_images
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ros = generate_rosette(tmp, n_cameras=4, width=160, height=120, hfov_deg=110.0,
    ...                            seed=3)
    ...     rig = read_rig(ros.rig_path)
    ...     frames = [cv2.imread(str(p)) for p in ros.image_paths]
    >>> res = stitch_images(rig, frames, StitchParams(width_px=512))
    >>> res.panorama.shape, res.panorama.dtype
    ((256, 512, 3), dtype('uint8'))
    >>> res.report["repair"], res.report["refine"]
    (True, True)
    >>> before = res.seams["overall"]["heldout"]["before"]["median_px"]
    >>> res.seam_median_px < 0.5, res.seam_median_px < 0.5 * before
    (True, True)
    """
    t_start = time.perf_counter()
    if not isinstance(rig, Rig):
        raise InputError(f"expected a Rig, got {type(rig).__name__} (read a rig file with "
                         "stitch.read_rig, or pass the path to stitch_panorama)")
    params = StitchParams() if params is None else params
    stages = _Stages(progress, STAGES[:-1])
    warnings: list[str] = []
    W = params.width_px
    dbg = None if debug_dir is None else Path(debug_dir)

    # 1. check the images (one per camera, the camera's size, BGR uint8)
    imgs = check_images(rig, images)
    if math.isfinite(params.depth_m):
        rig = with_scene_depth(rig, params.depth_m)
    stages.done("load")

    # 2. project every camera into its layer of the panorama; find the overlaps
    layers = project_rig(rig, imgs, W, params.feather_px, params.margin_px)
    overlaps = find_overlaps(layers)
    if not overlaps and len(rig) > 1:
        msg = (f"no two cameras overlap on a {W} px panorama; check the rig's orientations "
               "and fields of view")
        if params.repair or params.refine_effective != "none":
            raise InputError(msg + " (seam repair needs overlaps)", rig.source)
        note(warnings, _log, msg)
    if dbg is not None:
        for lay in layers:
            _write_debug(dbg, f"01_layer_{rig[lay.index].id}.png", lay.image)
        _debug_overlaps(dbg, "02_before", [(p.x0, p.y0, p.image) for p in layers], overlaps, W)
    stages.done("project")

    # 3. refine the calibration from overlap correspondences, then re-project
    matches = None
    refine_info = None
    mode = params.refine_effective
    if mode != "none" and overlaps:
        if mode in ("intrinsics", "auto"):
            out = _optional("refine_stage").calibrate_rig(
                rig, imgs, layers, overlaps, params, _flow)
            if out is not None:
                rig, layers, overlaps, refine_info = out.rig, out.layers, out.overlaps, out.info
                warnings.extend(out.warnings)
                # The flow matches, mapped onto the kept rig's layers, feed the repair.
                matches = out.matches if out.matches else None
        if refine_info is None:
            matches = _flow(layers, overlaps, params)
            refined, refine_info = _refine_rotations_guarded(rig, layers, matches, params,
                                                             warnings)
            if refined is not rig:
                rig = refined
                layers = project_rig(rig, imgs, W, params.feather_px, params.margin_px)
                overlaps = find_overlaps(layers)
            matches = None
    stages.done("refine")

    # 4. dense flow in every overlap -> correspondences
    if params.repair and overlaps and matches is None:
        matches = _flow(layers, overlaps, params)
        if not any(len(m.p_i) for m in matches):
            raise SolveError("no usable correspondences in any overlap (textureless or "
                             "misaligned by more than the flow can find); try --no-repair")
    stages.done("flow")

    # 5. spline warps in Ceres
    warps = None
    solve_info = None
    if not params.repair:
        matches = None
    if params.repair and matches is not None:
        warps, solve_info = _optional("warp_solve").solve_warps_info(layers, matches, params)
        solve_info = dataclasses.asdict(solve_info)
        for k, w in enumerate(warps):
            if w is not None and w.min_jacobian_det < params.min_jacobian_det:
                note(warnings, _log,
                     f"camera {rig[k].id}: warp Jacobian determinant drops to "
                     f"{w.min_jacobian_det:.3f} (< {params.min_jacobian_det}); the warp may fold")
    stages.done("solve")

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
    stages.done("render")

    # 7. report
    seams = None
    if matches is not None and warps is not None:
        seams = _optional("metrics").seam_report(matches, warps, warped_layers=warped)
    stages.done("report")
    stages.timings["total"] = round(time.perf_counter() - t_start, 4)
    summary = {
        "output": None,
        "width_px": W,
        "height_px": W // 2,
        "cameras": rig.ids,
        "images": None,
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
        "timings_s": stages.timings,
    }
    return StitchResult(None, rig, _jsonable(summary), warps=warps, panorama=pano,
                        coverage=coverage, layers=warped)


def stitch_panorama(rig: Rig | str | os.PathLike, images: Sequence[str | os.PathLike],
                    output: str | os.PathLike, params: StitchParams | None = None,
                    report: str | os.PathLike | None = None,
                    layers_dir: str | os.PathLike | None = None,
                    debug_dir: str | os.PathLike | None = None,
                    progress: ProgressCallback | None = None,
                    pto: str | os.PathLike | None = None,
                    save_rig: str | os.PathLike | None = None) -> StitchResult:
    """Stitch a rosette's image files into an equirectangular panorama file with seam repair.

    Reads the rig and the images, runs :func:`stitch_images` on them, then writes the panorama
    (atomically: a failure leaves nothing behind) and whatever else was asked.

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
    progress : callable(Progress), optional
        Called as each stage of ``STAGES`` finishes with ``Progress(stage, n_done, n_stages)``
        (``sensors.progress``).
    pto : path, optional
        Also write a Hugin project of the (refined) rig and the images, to inspect in Hugin.
    save_rig : path, optional
        Also write the (refined) rig as a Surround360 ``camera_rig.json``.

    Returns
    -------
    StitchResult
        As :func:`stitch_images`, with ``output`` (and ``output``, ``images`` in the report).

    Raises
    ------
    InputError
        Bad rig, images, output name, or a rig without overlaps when repair/refine is asked.
    SolveError
        The warp solve (or the refinement) failed; nothing is written then.

    See Also
    --------
    stitch_images : the same on images in memory, without files.

    Examples
    --------
    A rotation-only stitch of a generated rosette's files (its folder holds images named by
    camera id), with the report beside the panorama:

    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from stitch import StitchParams, generate_rosette, stitch_panorama
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ros = generate_rosette(Path(tmp) / "rosette", n_cameras=4, width=160, height=120,
    ...                            hfov_deg=110.0)
    ...     res = stitch_panorama(ros.rig_path, [ros.out_dir], Path(tmp) / "pano.jpg",
    ...                           StitchParams(width_px=512, repair=False, refine=False),
    ...                           report=Path(tmp) / "pano.json")
    ...     written = json.loads((Path(tmp) / "pano.json").read_text())
    >>> res.output.name, res.panorama.shape, written["cameras"]
    ('pano.jpg', (256, 512, 3), ['cam0', 'cam1', 'cam2', 'cam3'])
    """
    params = StitchParams() if params is None else params
    t_start = time.perf_counter()
    out_path = Path(output)
    if out_path.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"unsupported panorama type {out_path.suffix or '(none)'}; use one of "
                         + ", ".join(IMAGE_SUFFIXES), str(out_path))

    # Read the rig and the images, after checking that no output would overwrite an input.
    if not isinstance(rig, Rig):
        rig = read_rig(rig)
    paths = resolve_images(rig, images)
    check_not_input(out_path, *paths, rig.source)
    extras = [report, pto, save_rig]
    if layers_dir is not None:
        extras += [Path(layers_dir) / f"layer_{cid}.png" for cid in rig.ids]
    for extra in extras:
        if extra is not None:
            check_not_input(extra, *paths, rig.source, out_path)
    imgs = load_images(rig, paths)
    read_s = time.perf_counter() - t_start

    def renumbered(p: Progress) -> None:  # one more stage than stitch_images: "write"
        report_progress(progress, p.stage, p.done, len(STAGES), p.message)

    res = stitch_images(rig, imgs, params, renumbered if progress is not None else None,
                        debug_dir=debug_dir)
    t = time.perf_counter()
    summary = res.report
    timings = summary["timings_s"]
    del timings["total"]  # the file path's total comes last and includes reading and writing
    timings["load"] = round(timings["load"] + read_s, 4)
    summary["output"] = str(out_path)
    summary["images"] = [str(p) for p in paths]

    write_panorama(out_path, res.panorama, params.jpeg_quality)
    layer_paths = []
    if layers_dir is not None:
        layer_paths = write_layers(layers_dir, res.layers, res.rig)
    if pto is not None:
        write_pto(pto, res.rig, [p.resolve() for p in paths], params.width_px)
    if save_rig is not None:
        write_surround360_rig(save_rig, res.rig)
    timings["write"] = round(time.perf_counter() - t, 4)
    timings["total"] = round(time.perf_counter() - t_start, 4)
    report_progress(progress, "write", len(STAGES), len(STAGES))
    if report is not None:
        with atomic_output(report) as tmp:
            Path(tmp).write_text(json.dumps(summary, indent=2) + "\n")
    return dataclasses.replace(res, output=out_path, layer_paths=layer_paths)
