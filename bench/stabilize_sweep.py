"""Quality targets on clips no other benchmark uses: unseen seeds, auto sync and known offset.

Run ``.venv/bin/python bench/stabilize_sweep.py [--seeds 41 42 43] [--kinds walk run]
[--seconds 5] [--work /tmp/steadyrig_bench_sweep]``; writes ``bench/results/stabilize_sweep.json``.

For every kind and seed a 960x540 30 fps clip is generated (``sensors.synthetic.generate_clip``,
20 ms readout, its ``.gcsv`` on the video clock) and stabilized twice through the library with
the default settings: as a user would (auto sync of the ``.gcsv``) and with the known offset.
Figures (``bench/_video_quality.py`` and ground truth, pixels at 960 px wide): residual motion
above 1 Hz from the truth and from the video alone, row-band wobble (input and output), frames
with undefined border pixels, Liu's cropping ratio. The targets: < 0.3 px residual, wobble at or
below the input's, no undefined pixels and cropping >= 0.8 on walking and running clips.
No peers are needed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))
sys.path.append(str(BENCH))

from _video_quality import video_quality  # noqa: E402

from sensors.synthetic import generate_clip  # noqa: E402
from sensors.video import probe_video  # noqa: E402
from stabilize.pipeline import stabilize_video  # noqa: E402


def _truth_residual():
    # the ground-truth residual is bench/stabilize.py's (one definition for both benchmarks)
    spec = importlib.util.spec_from_file_location("_bench_stabilize", BENCH / "stabilize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._truth_residual


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", nargs="+", default=["walk", "run"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[41, 42, 43])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--work", type=Path, default=Path("/tmp/steadyrig_bench_sweep"))
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/stabilize_sweep.json")
    args = ap.parse_args(argv)
    truth_residual = _truth_residual()
    rows = []
    for kind in args.kinds:
        for seed in args.seeds:
            name = f"{kind}{seed}_{args.seconds:g}s"
            clip = generate_clip(args.work / "clips", name=name, kind=kind, seed=seed,
                                 width=960, height=540, fps=30.0, duration_s=args.seconds,
                                 readout_s=0.02)
            info = probe_video(clip.video)
            q_in = video_quality(clip.video, info.fps)
            t_in = truth_residual(clip.truth_npz, info.fps)["residual_px"]
            for mode, offset_ms in (("auto_sync", None), ("known_offset", 0.0)):
                out = args.work / f"{name}.{mode}.mp4"
                side = out.with_suffix(".json")
                t0 = time.perf_counter()
                res = stabilize_video(clip.video, out, gyro=clip.gcsv, lens=clip.lens,
                                      offset_ms=offset_ms, sidecar=side)
                wall = time.perf_counter() - t0
                q = video_quality(out, info.fps, reference=clip.video)
                row = {
                    "clip": name, "kind": kind, "seed": seed, "mode": mode,
                    "offset_ms": res.offset_s * 1e3, "true_offset_ms": clip.offset_s * 1e3,
                    "wall_s": wall,
                    "truth_residual_px": {"input": t_in,
                                          "output": truth_residual(clip.truth_npz, info.fps,
                                                                   side)["residual_px"]},
                    "video_residual_px": {"input": q_in["residual_px"],
                                          "output": q["residual_px"]},
                    "wobble_px": {"input": q_in["wobble_px"], "output": q["wobble_px"]},
                    "frames_with_undefined": {"input": q_in["frames_with_undefined"],
                                              "output": q["frames_with_undefined"]},
                    "cropping_ratio": q["cropping_ratio"],
                }
                rows.append(row)
                print(f"{name:>12} {mode:>12}: offset {row['offset_ms']:+.3f} ms, residual "
                      f"{t_in:.2f} -> {row['truth_residual_px']['output']:.3f} px (truth), "
                      f"{q_in['residual_px']:.2f} -> {q['residual_px']:.3f} px (video), wobble "
                      f"{q_in['wobble_px']:.3f} -> {q['wobble_px']:.3f} px, undefined frames "
                      f"{q['frames_with_undefined']}, cropping {q['cropping_ratio']:.3f}",
                      flush=True)
    worst = {
        "truth_residual_px": max(r["truth_residual_px"]["output"] for r in rows),
        "video_residual_px": max(r["video_residual_px"]["output"] for r in rows),
        "wobble_over_input": max(r["wobble_px"]["output"] / r["wobble_px"]["input"]
                                 for r in rows),
        "frames_with_undefined": max(r["frames_with_undefined"]["output"] for r in rows),
        "cropping_ratio_min": min(r["cropping_ratio"] for r in rows),
    }
    print("worst over all runs:", json.dumps({k: round(v, 3) for k, v in worst.items()}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"settings": {"kinds": args.kinds, "seeds": args.seeds,
                                                 "seconds": args.seconds, "size": "960x540"},
                                    "worst": worst, "runs": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
