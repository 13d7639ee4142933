"""Benchmark: dual-fisheye stills with no rig file, and Hugin projects stitched with our repair.

1. **The real photo** (``samples/dualfisheye/dualfisheye.jpg``, 800x400): ``stitch_dual_fisheye``
   end to end; for comparison, the nominal rig it starts from (the detected discs less their
   dark rim, back-to-back equidistant lenses of 190 degrees) through the rig stitch with
   rotation refinement and repair.
2. **Generated frames** (``stitch.dual_fisheye.synthetic``) of seeds, layouts, margins and sizes
   the method was not tuned on, each with its true calibration: the true seam residual
   (``true_seam_residuals_px``) of the calibration alone and after the spline repair.
3. **A Hugin project** made by Hugin itself (Debian ``hugin-tools``: ``pto_gen`` -> ``cpfind
   --multirow`` -> ``cpclean`` -> ``autooptimiser -a -m -l -s``) from the weir sample photos,
   stitched by ``steadyrig stitch PROJECT.pto``: Hugin's calibration as it is, and with our
   rotation refinement and seam repair on top (without ``hugin-tools`` the project committed in
   ``samples/panorama/weir/weir_hugin.pto`` is used).

Seam figures are the stitch's own report (``stitch.metrics``): held-out correspondences'
residual (median, p90, panorama px) before and after the repair, and overlap PSNR.

Usage::

    .venv/bin/python bench/dual_fisheye.py [--no-hugin] [--seeds 100 101 ...]

Prints a table and writes ``bench/results/dual_fisheye.json``.
"""

from __future__ import annotations

import argparse
import json
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

from sensors.errors import InputError, SolveError  # noqa: E402
from stitch.dual_fisheye import stitch_dual_fisheye  # noqa: E402
from stitch.dual_fisheye.calibrate import (  # noqa: E402
    Calibration,
    edge_margin_px,
    nominal_lenses,
    usable_fov,
)
from stitch.dual_fisheye.circles import find_circles  # noqa: E402
from stitch.dual_fisheye.lens import R_BACK  # noqa: E402
from stitch.dual_fisheye.panorama import dual_fisheye_rig  # noqa: E402
from stitch.dual_fisheye.synthetic import (  # noqa: E402
    DualFisheyeTruth,
    render_dual_fisheye,
    true_seam_residuals_px,
)
from stitch.params import StitchParams  # noqa: E402
from stitch.pipeline import stitch_images, stitch_panorama  # noqa: E402
from stitch.rig_io import read_pto  # noqa: E402

PHOTO = ROOT / "samples" / "dualfisheye" / "dualfisheye.jpg"
WEIR = ROOT / "samples" / "panorama" / "weir"
# (seed, half height px, layout, margin fraction): none of these were used while developing.
CASES = [(101, 400, "side_by_side", 0.0), (102, 400, "stacked", 0.0),
         (103, 300, "side_by_side", 0.05), (104, 500, "stacked", 0.03),
         (105, 400, "side_by_side", -0.02), (106, 350, "stacked", 0.07),
         (107, 600, "side_by_side", 0.02), (108, 300, "stacked", -0.02)]


def _f(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _seams(report: dict) -> dict:
    s = report["seams"]
    h = s["overall"]["heldout"]
    return {"heldout_before_median_px": h["before"]["median_px"],
            "heldout_before_p90_px": h["before"]["p90_px"],
            "heldout_after_median_px": h["after"]["median_px"],
            "heldout_after_p90_px": h["after"]["p90_px"],
            "heldout_n": h["after"]["n"],
            "psnr_db": float(np.mean([x["psnr_db"] for x in s["similarity"]]))
            if s.get("similarity") else None}


def real_photo() -> dict:
    img = cv2.imread(str(PHOTO))
    t = time.perf_counter()
    res = stitch_dual_fisheye(img)
    ours = {"seconds": round(time.perf_counter() - t, 2), "width_px": res.report["width_px"],
            **_seams(res.report), "fov_deg": res.report["dual_fisheye"]["calibration"]["fov_deg"],
            "searched_fov_deg": res.report["dual_fisheye"]["calibration"]["searched_fov_deg"]}
    layout, circles = find_circles(img)
    # The same discs and dark-rim cut as ours, lenses as the nominal 190-degree start.
    edge = edge_margin_px(circles)
    lenses = tuple(usable_fov(L, c, edge) for L, c in
                   zip(nominal_lenses((circles[0], circles[1]), 190.0), circles, strict=True))
    nominal = Calibration(lenses, R_BACK, (circles[0], circles[1]), layout)
    rig = dual_fisheye_rig(nominal, (img.shape[1], img.shape[0]))
    try:
        base = _seams(stitch_images(rig, [img, img],
                                    StitchParams(width_px=res.report["width_px"])).report)
    except (InputError, SolveError) as exc:
        base = {"error": str(exc)}
    return {"ours": ours, "nominal_190_rig_refine_repair": base}


def generated(seeds_cases) -> list[dict]:
    rows = []
    for seed, h, layout, margin in seeds_cases:
        truth = DualFisheyeTruth.random(seed=seed, height_px=h, layout=layout,
                                        margin_fraction=margin)
        t = time.perf_counter()
        res = stitch_dual_fisheye(render_dual_fisheye(truth))
        secs = time.perf_counter() - t
        d0 = true_seam_residuals_px(truth, res.rig, res.layers, None)
        d1 = true_seam_residuals_px(truth, res.rig, res.layers, res.warps)
        rows.append({"seed": seed, "half_px": h, "layout": layout, "margin": margin,
                     "true_fov_deg": round(truth.fov_deg, 2), "width_px": res.report["width_px"],
                     "seconds": round(secs, 2),
                     "truth_calibrated_median_px": float(np.median(d0)),
                     "truth_calibrated_p90_px": float(np.percentile(d0, 90)),
                     "truth_repaired_median_px": float(np.median(d1)),
                     "truth_repaired_p90_px": float(np.percentile(d1, 90)),
                     **_seams(res.report)})
    return rows


def hugin_project(tmp: Path, use_hugin: bool) -> tuple[Path, str]:
    tools = ["pto_gen", "cpfind", "cpclean", "autooptimiser"]
    if not use_hugin or not all(shutil.which(t) for t in tools):
        return WEIR / "weir_hugin.pto", "samples/panorama/weir/weir_hugin.pto (committed)"
    names = ["weir_1.jpg", "weir_2.jpg", "weir_3.jpg"]
    for n in names:
        shutil.copy(WEIR / n, tmp / n)
    steps = [["pto_gen", "-o", "a.pto", *names], ["cpfind", "--multirow", "-o", "b.pto", "a.pto"],
             ["cpclean", "-o", "c.pto", "b.pto"],
             ["autooptimiser", "-a", "-m", "-l", "-s", "-o", "weir.pto", "c.pto"]]
    for cmd in steps:
        subprocess.run(cmd, cwd=tmp, check=True, capture_output=True)
    ver = subprocess.run(["pto_gen", "--help"], capture_output=True, text=True).stdout
    return tmp / "weir.pto", "hugin-tools " + (ver.splitlines()[0] if ver else "")


def hugin(use_hugin: bool, width_px: int) -> dict:
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        pto, made_by = hugin_project(tmp, use_hugin)
        proj = read_pto(pto)
        out = {"project": made_by, "width_px": width_px}
        for name, refine in (("hugin_calibration_repair", False), ("refine_repair", True)):
            params = StitchParams(width_px=width_px, refine=refine)
            res = stitch_panorama(proj.rig, proj.image_paths, tmp / f"{name}.jpg", params)
            out[name] = _seams(res.report)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-hugin", action="store_true", help="use the committed .pto")
    ap.add_argument("--seeds", type=int, nargs="*", help="only these generated cases")
    ap.add_argument("--hugin-width", type=int, default=4096)
    args = ap.parse_args(argv)
    cases = [c for c in CASES if not args.seeds or c[0] in args.seeds]
    result = {"machine": platform.platform(), "real_photo": real_photo(),
              "generated": generated(cases), "hugin": hugin(not args.no_hugin,
                                                            args.hugin_width)}
    out = ROOT / "bench" / "results" / "dual_fisheye.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    r = result["real_photo"]
    print("real photo (800x400)      held-out median / p90 px   PSNR dB")
    for k, v in (("ours", r["ours"]), ("nominal 190 rig", r["nominal_190_rig_refine_repair"])):
        if "error" in v:
            print(f"  {k:22s} {v['error']}")
            continue
        print(f"  {k:22s} before {_f(v['heldout_before_median_px'])} / "
              f"{_f(v['heldout_before_p90_px'])}  after {_f(v['heldout_after_median_px'])} / "
              f"{_f(v['heldout_after_p90_px'])}  {_f(v['psnr_db'])}")
    print("generated (truth px: calibrated -> repaired, median / p90; report after; PSNR)")
    for g in result["generated"]:
        print(f"  seed {g['seed']} {g['layout']:12s} m{g['margin']:+.2f} h{g['half_px']} "
              f"fov {g['true_fov_deg']:.1f}: {_f(g['truth_calibrated_median_px'])} / "
              f"{_f(g['truth_calibrated_p90_px'])} -> {_f(g['truth_repaired_median_px'])} / "
              f"{_f(g['truth_repaired_p90_px'])}; {_f(g['heldout_after_median_px'])} / "
              f"{_f(g['heldout_after_p90_px'])}; {_f(g['psnr_db'])} dB; {g['seconds']:.1f} s")
    h = result["hugin"]
    print(f"Hugin project ({h['project']}), width {h['width_px']}")
    for k in ("hugin_calibration_repair", "refine_repair"):
        v = h[k]
        print(f"  {k:26s} before {_f(v['heldout_before_median_px'])} / "
              f"{_f(v['heldout_before_p90_px'])}  after {_f(v['heldout_after_median_px'])} / "
              f"{_f(v['heldout_after_p90_px'])}  {_f(v['psnr_db'])} dB")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
