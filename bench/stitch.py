"""Benchmark: steadyrig's seam repair against Hugin's pipeline (and OpenStitching's wall time).

For each generated rosette (``stitch.synthetic.generate_rosette``: ground-plane parallax, a
known per-camera miscalibration) and each scenario (``rotation``: rotation errors only;
``lens``: focal lengths 1.5 % and principal points 6 px off the rig file too; ``lens3``: 3 %,
20 px and distortion; ``fisheye``: a ring of four 150-degree fisheyes with lens errors) this runs

- **steadyrig**: ``stitch_panorama`` end to end (default ``--refine auto`` + flow + Ceres spline
  solve + render), writing full-canvas RGBA layers; its own held-out seam report; the Ceres
  time of the warp solve measured separately on the same layers; the exact seam residual from
  the generator's truth (``true_seam_residuals``);
- **steadyrig --refine rotations**: rotation-only refinement (the stitch before lens
  refinement existed);
- **steadyrig --no-repair**: calibration refinement only (what the spline stage adds);
- **Hugin** (Debian ``hugin-tools``): our rig as a ``.pto`` -> ``cpfind --multirow`` ->
  ``cpclean`` -> ``autooptimiser -a -m`` -> ``nona -m TIFF_m`` full-canvas layers;
- **OpenStitching** (``pip install stitching``, bench only): wall time of ``Stitcher.stitch``
  (it renders no per-camera layers, so no seam figure).

Common seam measure: our overlap flow (``stitch.flow``, no held-out split) run between the
final layers of each method; the residual of a correspondence is the distance by which the two
layers still disagree (median, p90, and the worst pair's p90), plus overlap PSNR/SSIM
(``stitch.metrics.overlap_similarity``).

Usage::

    .venv/bin/python bench/stitch.py [--cameras 8 12] [--width 3072] [--no-hugin] [--no-opencv]
        [--scenario rotation lens lens3 fisheye] [--seed 1]

Prints a table and writes ``bench/results/stitch.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stitch.flow import overlap_correspondences  # noqa: E402
from stitch.metrics import overlap_similarity, residual_stats  # noqa: E402
from stitch.params import StitchParams  # noqa: E402
from stitch.pipeline import stitch_panorama  # noqa: E402
from stitch.projection import Layer, ProjectedLayer, find_overlaps, project_rig  # noqa: E402
from stitch.render import WarpedLayer  # noqa: E402
from stitch.rig_io import read_rig, write_pto  # noqa: E402
from stitch.synthetic import generate_rosette, true_seam_residuals  # noqa: E402
from stitch.warp_solve import solve_warps_info  # noqa: E402

PARAMS = dict(smoothness_weight=0.1)

#: Generator settings of each scenario (beyond the camera count and image size).
SCENARIOS = {
    "rotation": dict(),
    "lens": dict(focal_error=0.015, principal_error_px=6.0, miscalibration_deg=0.5),
    "lens3": dict(focal_error=0.03, principal_error_px=20.0, distortion_error=0.01,
                  miscalibration_deg=0.5),
    "fisheye": dict(lens="fisheye", hfov_deg=150.0, focal_error=0.015, principal_error_px=6.0,
                    miscalibration_deg=0.5),
}


def _load_canvas_layers(paths: list[Path], W: int):
    """Full-canvas RGBA layers -> ProjectedLayers (flow) and WarpedLayers (PSNR/SSIM)."""
    proj, warped = [], []
    for k, p in enumerate(paths):
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise RuntimeError(f"cannot read layer {p}")
        if img.dtype == np.uint16:
            img = (img.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
        if img.shape[1] != W:
            raise RuntimeError(f"layer {p} is {img.shape[1]} px wide, expected {W}")
        alpha = img[..., 3] > 127
        bgr = np.ascontiguousarray(img[..., :3])
        bgr[~alpha] = 0
        H = img.shape[0]
        proj.append(ProjectedLayer(k, 0, 0, bgr, alpha.astype(np.float32), W))
        warped.append(WarpedLayer(Layer(k, 0, 0, W, H, W), bgr, alpha,
                                  alpha.astype(np.float32)))
    return proj, warped


def seam_measure(layer_paths: list[Path], W: int) -> dict:
    """Residual disagreement of final layers, measured with our flow, and overlap PSNR/SSIM."""
    proj, warped = _load_canvas_layers(layer_paths, W)
    ovs = find_overlaps(proj, min_area_px=256)
    matches = overlap_correspondences(proj, ovs, StitchParams(width_px=W, heldout_fraction=0.0))
    per_pair = [np.linalg.norm(m.p_j - m.p_i, axis=1) for m in matches]
    d = np.concatenate(per_pair) if matches else np.zeros(0)
    sim = overlap_similarity(warped)
    worst = max((float(np.percentile(x, 90)) for x in per_pair if len(x) >= 20), default=None)
    return {"flow_residual": residual_stats(d), "worst_pair_p90_px": worst,
            "n_overlaps": len(ovs),
            "psnr_db_mean": float(np.mean([s["psnr_db"] for s in sim])) if sim else None,
            "ssim_mean": float(np.mean([s["ssim"] for s in sim])) if sim else None}


def run_ours(ros, out: Path, W: int, repair: bool, refine_mode: str = "auto") -> dict:
    tag = ("ours" if repair else "ours_norepair") + ("" if refine_mode == "auto"
                                                      else f"_{refine_mode}")
    layers_dir = out / f"{tag}_layers"
    params = StitchParams(width_px=W, repair=repair, refine_mode=refine_mode, **PARAMS)
    t0 = time.perf_counter()
    res = stitch_panorama(ros.rig_path, [str(p) for p in ros.image_paths], out / f"{tag}.jpg",
                          params, layers_dir=layers_dir)
    wall = time.perf_counter() - t0
    ri = res.report.get("refine_info") or {}
    row = {"method": tag, "wall_s": wall, "timings_s": res.report["timings_s"],
           "refine_kept": ri.get("kept"), "warnings": res.report["warnings"],
           "refine_cameras": ri.get("cameras")}
    tr = true_seam_residuals(ros.truth, res.rig, W, res.warps)
    allv = np.concatenate(list(tr.values()))
    row["truth"] = {**residual_stats(allv), "worst_pair_p90_px": max(
        (float(np.percentile(v, 90)) for v in tr.values() if len(v)), default=float("nan"))}
    if repair and res.report.get("seams"):
        o = res.report["seams"]["overall"]
        row["heldout_before"] = o["heldout"]["before"]
        row["heldout_after"] = o["heldout"]["after"]
        row["min_jacobian_det"] = min(w["min_jacobian_det"] for w in res.report["warps"])
        # Ceres time of the warp solve alone, on the layers of the refined rig.
        imgs = [cv2.imread(str(p)) for p in ros.image_paths]
        layers = project_rig(res.rig, imgs, W, params.feather_px, params.margin_px)
        matches = overlap_correspondences(layers, find_overlaps(layers), params)
        _, info = solve_warps_info(layers, matches, params)
        row["warp_solve_s"] = info.solve_s
        row["ceres_s"] = info.ceres_s
    paths = sorted(layers_dir.glob("*.png"), key=lambda p: p.name)
    order = {c.id: k for k, c in enumerate(res.rig)}
    paths = sorted(paths, key=lambda p: order.get(p.stem.removeprefix("layer_"), 0))
    row["measure"] = seam_measure(paths, W)
    return row


def _sh(cmd: list[str], cwd: Path) -> None:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{cmd[0]} failed: {r.stderr[-400:]}")


def run_hugin(ros, out: Path, W: int) -> dict:
    work = out / "hugin"
    work.mkdir(exist_ok=True)
    rig = read_rig(ros.rig_path)
    write_pto(work / "rig.pto", rig, [p.resolve() for p in ros.image_paths], W)
    t0 = time.perf_counter()
    _sh(["cpfind", "--multirow", "-o", "cp.pto", "rig.pto"], work)
    _sh(["cpclean", "-o", "clean.pto", "cp.pto"], work)
    _sh(["autooptimiser", "-a", "-m", "-o", "opt.pto", "clean.pto"], work)
    _sh(["pano_modify", f"--canvas={W}x{W // 2}", "--fov=360x180", "--projection=2",
         "-o", "final.pto", "opt.pto"], work)
    _sh(["nona", "-m", "TIFF_m", "-o", "layer", "final.pto"], work)
    wall = time.perf_counter() - t0
    paths = sorted(work.glob("layer*.tif"))
    return {"method": "hugin", "wall_s": wall, "measure": seam_measure(paths, W)}


def run_opencv(ros, out: Path) -> dict:
    try:
        from stitching import Stitcher
    except ImportError:
        return {"method": "openstitching", "skipped": "pip install stitching"}
    t0 = time.perf_counter()
    try:
        pano = Stitcher(crop=False).stitch([str(p) for p in ros.image_paths])
        ok = pano is not None
        err = None
    except Exception as exc:  # report the peer's failure instead of aborting the bench
        ok, err = False, f"{exc.__class__.__name__}: {exc}"[:200]
    return {"method": "openstitching", "wall_s": time.perf_counter() - t0, "ok": ok,
            "error": err}


def _fmt(row: dict) -> str:
    m = row.get("measure", {})
    fr = m.get("flow_residual", {})
    med = f"{fr['median_px']:.3f}" if fr.get("median_px") is not None else "-"
    p90 = f"{fr['p90_px']:.3f}" if fr.get("p90_px") is not None else "-"
    psnr = f"{m['psnr_db_mean']:.2f}" if m.get("psnr_db_mean") is not None else "-"
    ssim = f"{m['ssim_mean']:.4f}" if m.get("ssim_mean") is not None else "-"
    wall = f"{row['wall_s']:.1f}" if "wall_s" in row else "-"
    wp = m.get("worst_pair_p90_px")
    wp = f"{wp:.3f}" if wp is not None else "-"
    return (f"{row['method']:<24} {med:>8} {p90:>8} {wp:>8} {psnr:>8} {ssim:>8} {wall:>8}")


def _run_case(scen: str, n: int, iw: int, ih: int, args, tmp: Path) -> dict:
    kw = {"miscalibration_deg": args.miscalibration_deg, **SCENARIOS[scen]}
    if kw.get("lens") == "fisheye":
        n, ih = min(n, 4), iw  # four square fisheye views cover the ring
    out = tmp / f"{scen}{n}"
    ros = generate_rosette(out, n_cameras=n, width=iw, height=ih, seed=args.seed, **kw)
    rows = [run_ours(ros, out, args.width, True), run_ours(ros, out, args.width, True,
                                                             "rotations"),
            run_ours(ros, out, args.width, False)]
    if not args.no_hugin:
        if shutil.which("cpfind"):
            try:
                rows.append(run_hugin(ros, out, args.width))
            except RuntimeError as exc:
                rows.append({"method": "hugin", "error": str(exc)})
        else:
            rows.append({"method": "hugin", "skipped": "apt-get install hugin-tools"})
    if not args.no_opencv:
        rows.append(run_opencv(ros, out))
    print(f"\n{scen}: {n} cameras {iw}x{ih}, {kw}, panorama {args.width} px, seed "
          f"{args.seed}; residuals by our flow on each method's final layers")
    print(f"{'method':<24} {'med px':>8} {'p90 px':>8} {'worst90':>8} {'PSNR':>8} {'SSIM':>8} "
          f"{'wall s':>8}")
    for r in rows:
        if r.get("skipped") or r.get("error"):
            print(f"{r['method']:<24} {r.get('skipped') or r.get('error')}")
        elif r["method"] == "openstitching":
            print(f"{r['method']:<24} {'(no layers)':>44} {r['wall_s']:>8.1f}")
        else:
            print(_fmt(r))
    for r in rows:
        if "truth" in r:
            t = r["truth"]
            print(f"{r['method']:<24} truth: median {t['median_px']:.3f} p90 {t['p90_px']:.3f}"
                  f" worst-pair p90 {t['worst_pair_p90_px']:.3f} px; refine kept "
                  f"{r['refine_kept']}")
    ours = rows[0]
    hb = ours["heldout_before"]
    print(f"ours held-out (own flow): before median {hb['median_px']:.3f}"
          f" -> after median {ours['heldout_after']['median_px']:.3f}, p90 "
          f"{ours['heldout_after']['p90_px']:.3f} px; min Jacobian det "
          f"{ours['min_jacobian_det']:.3f}; Ceres {ours['ceres_s']:.2f} s "
          f"(warp solve {ours['warp_solve_s']:.2f} s)")
    return {"scenario": scen, "cameras": n, "image_size": [iw, ih], "width_px": args.width,
            "seed": args.seed, "generator": kw, "rows": rows}


def _write(out: str, load0: float, results: list) -> None:
    doc = {"bench": "stitch", "machine": platform.platform(), "cpus": os.cpu_count(),
           "load_avg_1min_at_start": load0, "load_avg_1min_at_end": os.getloadavg()[0],
           "params": PARAMS, "results": results}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(doc, indent=2, default=float) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, nargs="+", default=[8, 12])
    ap.add_argument("--width", type=int, default=3072)
    ap.add_argument("--image-size", default="960x720")
    ap.add_argument("--miscalibration-deg", type=float, default=0.4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scenario", nargs="+", default=["rotation"], choices=sorted(SCENARIOS))
    ap.add_argument("--no-hugin", action="store_true")
    ap.add_argument("--no-opencv", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "stitch.json"))
    args = ap.parse_args(argv)
    iw, ih = (int(v) for v in args.image_size.split("x"))
    load0 = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory(prefix="steadyrig_bench_stitch_") as tmp:
        for scen in args.scenario:
            for n in args.cameras:
                results.append(_run_case(scen, n, iw, ih, args, Path(tmp)))
                _write(args.out, load0, results)  # partial results survive a later failure
    _write(args.out, load0, results)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
