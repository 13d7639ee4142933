"""Benchmark: steadyrig's seam repair against Hugin's pipeline (and OpenStitching's wall time).

For each generated rosette (``stitch.synthetic.generate_rosette``: ground-plane parallax, a
known per-camera miscalibration) this runs

- **steadyrig**: ``stitch_panorama`` end to end (refine + flow + Ceres spline solve + render),
  writing full-canvas RGBA layers; its own held-out seam report; the Ceres time of the warp
  solve measured separately on the same layers;
- **steadyrig --no-repair**: rotation refinement only (what the spline stage adds);
- **Hugin** (Debian ``hugin-tools``): our rig as a ``.pto`` -> ``cpfind --multirow`` ->
  ``cpclean`` -> ``autooptimiser -a -m`` -> ``nona -m TIFF_m`` full-canvas layers;
- **OpenStitching** (``pip install stitching``, bench only): wall time of ``Stitcher.stitch``
  (it renders no per-camera layers, so no seam figure).

Common seam measure: our overlap flow (``stitch.flow``, no held-out split) run between the
final layers of each method; the residual of a correspondence is the distance by which the two
layers still disagree, plus overlap PSNR/SSIM (``stitch.metrics.overlap_similarity``).

Usage::

    .venv/bin/python bench/stitch.py [--cameras 8 12] [--width 3072] [--no-hugin] [--no-opencv]

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
from stitch.synthetic import generate_rosette  # noqa: E402
from stitch.warp_solve import solve_warps_info  # noqa: E402

PARAMS = dict(smoothness_weight=0.1)


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
    d = np.concatenate([np.linalg.norm(m.p_j - m.p_i, axis=1) for m in matches]) if matches \
        else np.zeros(0)
    sim = overlap_similarity(warped)
    return {"flow_residual": residual_stats(d), "n_overlaps": len(ovs),
            "psnr_db_mean": float(np.mean([s["psnr_db"] for s in sim])) if sim else None,
            "ssim_mean": float(np.mean([s["ssim"] for s in sim])) if sim else None}


def run_ours(ros, out: Path, W: int, repair: bool) -> dict:
    tag = "ours" if repair else "ours_norepair"
    layers_dir = out / f"{tag}_layers"
    params = StitchParams(width_px=W, repair=repair, **PARAMS)
    t0 = time.perf_counter()
    res = stitch_panorama(ros.rig_path, [str(p) for p in ros.image_paths], out / f"{tag}.jpg",
                          params, layers_dir=layers_dir)
    wall = time.perf_counter() - t0
    row = {"method": tag, "wall_s": wall, "timings_s": res.report["timings_s"]}
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
    return f"{row['method']:<15} {med:>8} {p90:>8} {psnr:>8} {ssim:>8} {wall:>8}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, nargs="+", default=[8, 12])
    ap.add_argument("--width", type=int, default=3072)
    ap.add_argument("--image-size", default="960x720")
    ap.add_argument("--miscalibration-deg", type=float, default=0.4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-hugin", action="store_true")
    ap.add_argument("--no-opencv", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "stitch.json"))
    args = ap.parse_args(argv)
    iw, ih = (int(v) for v in args.image_size.split("x"))
    results = []
    with tempfile.TemporaryDirectory(prefix="steadyrig_bench_stitch_") as tmp:
        for n in args.cameras:
            out = Path(tmp) / f"rosette{n}"
            ros = generate_rosette(out, n_cameras=n, width=iw, height=ih,
                                   miscalibration_deg=args.miscalibration_deg, seed=args.seed)
            rows = [run_ours(ros, out, args.width, True), run_ours(ros, out, args.width, False)]
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
            print(f"\nrosette: {n} cameras {iw}x{ih}, {args.miscalibration_deg} deg "
                  f"miscalibration, panorama {args.width} px; residuals by our flow on each "
                  "method's final layers")
            print(f"{'method':<15} {'med px':>8} {'p90 px':>8} {'PSNR':>8} {'SSIM':>8} "
                  f"{'wall s':>8}")
            for r in rows:
                if r.get("skipped") or r.get("error"):
                    print(f"{r['method']:<15} {r.get('skipped') or r.get('error')}")
                elif r["method"] == "openstitching":
                    print(f"{r['method']:<15} {'(no layers)':>35} {r['wall_s']:>8.1f}")
                else:
                    print(_fmt(r))
            ours = rows[0]
            hb = ours["heldout_before"]
            print(f"ours held-out (own flow): before median {hb['median_px']:.3f}"
                  f" -> after median {ours['heldout_after']['median_px']:.3f}, p90 "
                  f"{ours['heldout_after']['p90_px']:.3f} px; min Jacobian det "
                  f"{ours['min_jacobian_det']:.3f}; Ceres {ours['ceres_s']:.2f} s "
                  f"(warp solve {ours['warp_solve_s']:.2f} s)")
            results.append({"cameras": n, "image_size": [iw, ih], "width_px": args.width,
                            "miscalibration_deg": args.miscalibration_deg, "rows": rows})
    doc = {"bench": "stitch", "machine": platform.platform(), "cpus": os.cpu_count(),
           "load_avg_1min_at_end": os.getloadavg()[0], "params": PARAMS, "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2, default=float) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
