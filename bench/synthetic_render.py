"""Rolling-shutter sample rendering speed: ms per frame and the cost of ground-truth accuracy.

Variants, each rendering the same rolling-shutter frames of a ``walk`` path from the bundled
photo (per-row rotations, 20 ms readout):

* ``exact``: rays unprojected at every pixel (``grid_step=1``) — the baseline;
* ``grid4`` / ``grid8``: rays exact on a 4 / 8 px grid (unprojected once per clip), interpolated
  by the numba kernel, then one ``cv2.remap``;
* ``grid4-numpy``: as ``grid4`` but with the numpy reference of the map kernel.

Accuracy of each variant: the largest difference of its panorama maps from the exact ones, in
panorama pixels. Also the end-to-end ``generate_clip`` rate (render + H.264 encode + logs).
Warm-up (numba compile, panorama load) is excluded; median of ``--repeats`` runs. Writes
``bench/results/synthetic_render.json``.

Run: ``.venv/bin/python bench/synthetic_render.py [--size 1920x1080] [--frames 10]
[--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from sensors.synthetic import camera_path, load_panorama, panorama_for_focal, render_frame
from sensors.synthetic.clip import default_camera, generate_clip
from sensors.synthetic.render import equirect_maps, equirect_maps_reference, grid_rays

RESULTS = Path(__file__).resolve().parent / "results"


def _frames_R(path, n, h, fps=30.0, readout_s=0.02):
    frac = ((np.arange(h) + 0.5) / h - 0.5) * readout_s
    return [path.matrices_at(1.0 + k / fps + frac) for k in range(n)]


def _time(fn, repeats):
    fn()  # warm-up
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    cam = default_camera(w, h)
    path = camera_path("walk", 3.0 + args.frames / 30.0, seed=0)
    pano = panorama_for_focal(load_panorama(), cam.K[0, 0])
    Rs = _frames_R(path, args.frames, h)
    rays = {s: grid_rays(cam, s) for s in (1, 4, 8)}

    def run(step, numpy_maps=False):
        def go():
            for R in Rs:
                if numpy_maps:
                    rows = np.clip(np.arange(0, h - 1 + step, step), 0, h - 1)
                    dirs = np.einsum("gij,gxj->gxi", R[rows], rays[step])
                    equirect_maps_reference(dirs, step, (w, h), pano.shape[1])
                else:
                    render_frame(pano, cam, R, grid_step=step, rays=rays[step])
        return go

    variants = {"exact": (1, False), "grid4": (4, False), "grid8": (8, False),
                "grid4-numpy": (4, True)}
    R = Rs[0]
    exact_dirs = np.einsum("hij,hwj->hwi", R, rays[1])
    ex = equirect_maps(exact_dirs, 1, (w, h), pano.shape[1])
    res = {}
    for name, (step, np_maps) in variants.items():
        sec = _time(run(step, np_maps), args.repeats) / args.frames
        rows = np.clip(np.arange(0, h - 1 + step, step), 0, h - 1)
        mx, my = equirect_maps(np.einsum("gij,gxj->gxi", R[rows], rays[step]), step, (w, h),
                               pano.shape[1])
        du = np.abs(mx - ex[0])
        du = np.minimum(du, np.abs(du - pano.shape[1]))
        err = float(max(du.max(), np.abs(my - ex[1]).max()))
        res[name] = {"ms_per_frame": sec * 1e3, "max_map_error_pano_px": err}
    base = res["exact"]["ms_per_frame"]
    for name, r in res.items():
        r["speedup_vs_exact"] = base / r["ms_per_frame"]
        print(f"{name:12s} {r['ms_per_frame']:8.1f} ms/frame  x{r['speedup_vs_exact']:5.2f}"
              f"  max map error {r['max_map_error_pano_px']:.4f} pano px")

    with tempfile.TemporaryDirectory() as tmp:
        n = max(args.frames, 10)
        t0 = time.perf_counter()
        generate_clip(tmp, kind="walk", seed=0, width=w, height=h, fps=30.0,
                      duration_s=n / 30.0, audio=True)
        clip_s = time.perf_counter() - t0
    print(f"generate_clip {w}x{h}: {n} frames in {clip_s:.2f} s "
          f"({clip_s / n * 1e3:.0f} ms/frame incl. encode and logs)")
    out = {
        "bench": "synthetic_render", "size": [w, h], "frames": args.frames,
        "repeats": args.repeats, "pano_size": list(pano.shape[:2][::-1]),
        "variants": res, "generate_clip_ms_per_frame": clip_s / n * 1e3,
        "machine": platform.platform(), "python": platform.python_version(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "synthetic_render.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
