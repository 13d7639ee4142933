"""Benchmark of a dual-fisheye (360) clip's sync from its video: offset error on generated clips
and the time it takes.

Run: ``.venv/bin/python bench/dual_fisheye_sync.py [--clips 10] [--width 640] [--mid-clips 2]``

1. Error sweep: ``--clips`` dual-fisheye clips from ``sensors.synthetic.generate_clip`` (kinds
   cycled, seeds 301.., offsets uniform in [-1, 1] s, 4 s each, ``projection="dual-fisheye"``:
   each lens its own random calibration, the scene at a finite distance, each lens's rows read
   in step) with the gyro's axes scrambled by a random signed permutation. As ``steadyrig
   stabilize`` does, the lens pair is the nominal one of the discs found in the first frame
   (``stabilize.dual_fisheye.motion_lenses``: equidistant, 190 degrees, back to back; the
   clips' lenses span 190-200 degrees) and ``sync_video_to_gyro`` measures the rotation on both
   discs (``sensors.dual_fisheye_motion``); it must find the offset and undo the permutation.
   Encoded at the generator's default CRF 16 (what ``steadyrig samples`` writes) and again at
   CRF 2 (near-lossless: the method's own error). A clip whose motion leaves the axes ambiguous
   is synced again with its axes given (as ``--axes`` does) and marked so. Then, as
   ``stabilize_video`` does next, the motion is planned with that offset, the lens pair
   calibrated from the three slowest frames (``dual_fisheye.plan.lens_pair``) and the clip synced
   again through it (``dual_fisheye.resync``): ``error_ms`` is that final offset's error,
   ``error_nominal_ms`` the first one's. Each clip is also synced through its true lenses (the
   generator's calibration, as a ``--rig`` would give them).
2. ``--mid-clips`` clips of 12 s (seeds 401..), synced from the two gyro-chosen decode windows
   clips of 10-20 s get.

Prints a table and writes ``bench/results/dual_fisheye_sync.json`` with the machine's load
average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.equirect_sync import KINDS, _inverse, summary  # noqa: E402
from sensors.dual_fisheye_motion import dual_fisheye_camera  # noqa: E402
from sensors.errors import SolveError  # noqa: E402
from sensors.readers import read_log  # noqa: E402
from sensors.sync import AXES_ALL, apply_axes, axes_matrix, sync_video_to_gyro  # noqa: E402
from sensors.synthetic import generate_clip  # noqa: E402
from sensors.synthetic.dual_fisheye import DualFisheyeCalibration  # noqa: E402
from stabilize.dual_fisheye.motion_lenses import motion_camera  # noqa: E402
from stabilize.dual_fisheye.options import DualFisheyeOptions  # noqa: E402
from stabilize.dual_fisheye.plan import lens_pair  # noqa: E402
from stabilize.dual_fisheye.resync import resync  # noqa: E402
from stabilize.inputs import resolve_inputs  # noqa: E402
from stabilize.params import StabilizeParams  # noqa: E402
from stabilize.pipeline import plan_clip  # noqa: E402


def sweep(n: int, width: int, crfs: tuple[int, ...], rng: np.random.Generator, out: Path,
          duration_s: float, seed0: int) -> list[dict]:
    rows = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        seed = seed0 + i
        offset = float(rng.uniform(-1.0, 1.0))
        axes = AXES_ALL[int(rng.integers(48))]
        for crf in crfs:
            clip = generate_clip(out, name=f"{kind}_s{seed}_crf{crf}", kind=kind, seed=seed,
                                 width=width, height=width // 2, duration_s=duration_s,
                                 log_offset_s=offset, audio=False, crf=crf,
                                 projection="dual-fisheye")
            log = read_log(clip.gcsv)
            scrambled = apply_axes(log.gyro, axes)
            given = None
            t0 = time.perf_counter()
            cam = motion_camera(clip.video, (width, width // 2))
            t_lens = time.perf_counter() - t0
            try:
                res = sync_video_to_gyro(str(clip.video), scrambled, camera=cam,
                                         readout_s=log.readout_s)
            except SolveError as exc:
                if "ambiguous" not in str(exc) or "axis" not in str(exc):
                    raise
                given = _inverse(axes)  # the motion leaves the axes open: give them
                res = sync_video_to_gyro(str(clip.video), scrambled, camera=cam,
                                         readout_s=log.readout_s, axes=given)
            dt = time.perf_counter() - t0
            t1 = time.perf_counter()
            mapped = replace(log, gyro=apply_axes(scrambled, res.axes))
            inputs = replace(resolve_inputs(clip.video, mapped, offset_ms=res.offset_s * 1e3,
                                            projection="dual-fisheye"), offset_found=True)
            plan = plan_clip(inputs, StabilizeParams())
            pair = lens_pair(clip.video, plan.motion, (width, width // 2), DualFisheyeOptions())
            t_cal = time.perf_counter() - t1
            t1 = time.perf_counter()
            final = resync(inputs, pair, [])
            t_resync = time.perf_counter() - t1
            calib = DualFisheyeCalibration.from_dict(
                json.loads(clip.truth_json.read_text())["dual_fisheye"])
            true_cam = dual_fisheye_camera(calib.size, calib.lenses, calib.R_rig_from_back)
            res_true = sync_video_to_gyro(str(clip.video), scrambled, camera=true_cam,
                                          readout_s=log.readout_s, axes=res.axes)
            exact = bool(np.array_equal(axes_matrix(res.axes) @ axes_matrix(axes), np.eye(3)))
            row = {"kind": kind, "seed": seed, "crf": crf, "duration_s": duration_s,
                   "true_offset_ms": offset * 1e3, "error_ms": (final.offset_s - offset) * 1e3,
                   "error_nominal_ms": (res.offset_s - offset) * 1e3,
                   "error_true_lenses_ms": (res_true.offset_s - offset) * 1e3,
                   "calibrate_s": t_cal, "resync_s": t_resync,
                   "scrambled_axes": axes, "found_axes": res.axes, "axes_exact": exact,
                   "axes_given": given is not None, "confidence": res.confidence,
                   "lens_pair_s": t_lens, "sync_s": dt, "frames_decoded": res.frames_decoded,
                   "decode_windows": len(res.decode_windows_s)}
            rows.append(row)
            print(f"  {kind:5s} seed {seed:3d} crf {crf:2d} offset {offset * 1e3:+9.3f} ms  "
                  f"error {row['error_ms']:+7.3f} ms (nominal {row['error_nominal_ms']:+7.3f}, "
                  f"true lenses {row['error_true_lenses_ms']:+7.3f})  axes "
                  f"{'given' if given else ('exact' if exact else 'WRONG')}  conf "
                  f"{res.confidence:.2f}  {dt:.2f} s"
                  + (f"  ({len(res.decode_windows_s)} windows)" if res.decode_windows_s
                     else ""), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--mid-clips", type=int, default=2)
    ap.add_argument("--out", type=Path,
                    default=ROOT / "bench" / "results" / "dual_fisheye_sync.json")
    a = ap.parse_args()
    rng = np.random.default_rng(2027)
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{a.clips} dual-fisheye clips of 4 s at {a.width}x{a.width // 2}:", flush=True)
        rows = sweep(a.clips, a.width, (16, 2), rng, Path(tmp), 4.0, 301)
        mid = []
        if a.mid_clips:
            print(f"{a.mid_clips} clips of 12 s (decode windows):", flush=True)
            mid = sweep(a.mid_clips, a.width, (16,), rng, Path(tmp), 12.0, 401)
    load1 = os.getloadavg()
    doc = {
        "command": "python bench/dual_fisheye_sync.py " + " ".join(sys.argv[1:]),
        "width": a.width, "height": a.width // 2, "fps": 30.0,
        "lens_pair": "error_ms: synced through nominal lenses (discs of the first frame, 190 "
                     "degrees, back to back), then again through the pair calibrated with "
                     "that offset, as stabilize_video does",
        "loadavg_1min_start_end": [load0[0], load1[0]],
        "summary": {f"crf{c}": summary([r for r in rows if r["crf"] == c]) for c in (16, 2)},
        "summary_nominal_lenses": {f"crf{c}": summary(
            [dict(r, error_ms=r["error_nominal_ms"]) for r in rows if r["crf"] == c])
            for c in (16, 2)},
        "summary_true_lenses": {f"crf{c}": summary(
            [dict(r, error_ms=r["error_true_lenses_ms"]) for r in rows if r["crf"] == c])
            for c in (16, 2)},
        "summary_mid": summary(mid) if mid else None,
        "rows": rows + mid,
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(doc, indent=1) + "\n")
    for k, s in doc["summary"].items():
        print(f"{k}: {s}")
        print(f"{k} (nominal lenses): {doc['summary_nominal_lenses'][k]}")
        print(f"{k} (true lenses): {doc['summary_true_lenses'][k]}")
    if mid:
        print(f"12 s clips: {doc['summary_mid']}")
    print(f"load average (1 min) {load0[0]:.1f} -> {load1[0]:.1f}; wrote {a.out}")


if __name__ == "__main__":
    main()
