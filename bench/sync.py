"""Benchmark of gyro <-> video sync: offset error on generated clips, and the time to sync a 60 s
1080p clip.

Run: ``.venv/bin/python bench/sync.py [--clips 12] [--width 640] [--windowed-clips 3]
[--mid-clips 5] [--skip-long | --only-long | --only-mid]``

1. Error sweep: ``--clips`` clips from ``sensors.synthetic.generate_clip`` (kinds cycled, seeds
   1..N, offsets uniform in [-1, 1] s, 4 s each) with the gyro's axes scrambled by a random signed
   permutation; ``sync_video_to_gyro`` must find the offset and undo the permutation. Encoded at
   CRF 2 (near-lossless) for the method's own error, and a few clips again at the generator's
   default CRF 16 to show the bias that lossy inter-frame coding adds. Then ``--windowed-clips``
   24 s clips (seeds 21..), long enough that the video is decoded only in gyro-chosen windows,
   and ``--mid-clips`` clips of 11-18 s (seeds 300.. at CRF 2, 400.. at CRF 16) synced from the
   two windows clips of 10-20 s get (``--only-mid`` re-measures just those).
2. Speed: a 60 s 1920x1080 30 fps H.264 clip (rows rendered with rolling shutter at 480x270 from
   a true path, upscaled, encoded once and cached in /tmp); the sync time is printed next to a
   plain PyAV decode of the whole file measured in the same run (the floor for any method that
   flows every frame; sync decodes only the gyro-chosen windows, and says how many frames).

Prints a table and writes ``bench/results/sync.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sensors.lens_profile import load_lens_profile  # noqa: E402
from sensors.readers import read_log  # noqa: E402
from sensors.sync import AXES_ALL, apply_axes, axes_matrix, sync_video_to_gyro  # noqa: E402
from sensors.synthetic import generate_clip  # noqa: E402
from sensors.types import GyroLog  # noqa: E402

KINDS = ("walk", "run", "pan", "tilt", "free")
CACHE = Path("/tmp/steadyrig_bench_sync")


def sweep(n: int, width: int, crf: int, rng: np.random.Generator, out: Path,
          duration_s: float | tuple[float, ...] = 4.0, seed0: int = 1) -> list[dict]:
    rows = []
    durations = (duration_s,) if np.isscalar(duration_s) else tuple(duration_s)
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        seed = i + seed0
        duration_s = float(durations[i % len(durations)])
        offset = float(rng.uniform(-1.0, 1.0))
        axes = AXES_ALL[int(rng.integers(48))]
        clip = generate_clip(out, name=f"{kind}_s{seed}_crf{crf}_{int(duration_s)}s", kind=kind,
                             seed=seed, width=width, height=width * 9 // 16,
                             duration_s=duration_s, log_offset_s=offset, audio=False, crf=crf)
        log = read_log(clip.gcsv)
        scrambled = apply_axes(log.gyro, axes)
        t0 = time.perf_counter()
        res = sync_video_to_gyro(str(clip.video), scrambled, camera=load_lens_profile(clip.lens),
                                 readout_s=log.readout_s)
        dt = time.perf_counter() - t0
        exact = bool(np.array_equal(axes_matrix(res.axes) @ axes_matrix(axes), np.eye(3)))
        row = {"kind": kind, "seed": seed, "crf": crf, "true_offset_ms": offset * 1e3,
               "error_ms": (res.offset_s - offset) * 1e3, "scrambled_axes": axes,
               "found_axes": res.axes, "axes_exact": exact, "axes_score": res.axes_score,
               "runner_up_score": res.axes_runner_up_score, "confidence": res.confidence,
               "sync_s": dt, "duration_s": duration_s,
               "decode_windows": len(res.decode_windows_s),
               "frames_decoded": res.frames_decoded}
        rows.append(row)
        print(f"  {kind:5s} seed {seed:2d} crf {crf:2d} offset {offset * 1e3:+9.3f} ms  error "
              f"{row['error_ms']:+7.3f} ms  axes {'exact' if exact else 'WRONG'} "
              f"({res.axes_score:.3f} vs {res.axes_runner_up_score:.3f})  conf "
              f"{res.confidence:.2f}  {dt:.2f} s"
              + (f"  ({len(res.decode_windows_s)} windows)" if res.decode_windows_s else ""),
              flush=True)
    return rows


def long_clip(duration_s: float = 60.0) -> tuple[Path, object, float]:
    """A cached 1080p H.264 clip and its true path; returns (video, gyro log, offset)."""
    import av
    import cv2

    from sensors.synthetic import camera_path, load_panorama, render_clip, synthesize_gyro
    from sensors.video_motion import pinhole_guess

    offset = 0.6180
    path = camera_path("walk", duration_s + 2.0, 11)
    gyro = synthesize_gyro(path, 200.0, seed=11, clock_offset_s=offset, accel=False)
    video = CACHE / f"long_{int(duration_s)}s_1080p.mp4"
    if not video.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"  rendering {video} (once; cached)", flush=True)
        cam = pinhole_guess((480, 270), 75.0)
        tmp = video.with_suffix(".part.mp4")
        with av.open(str(tmp), "w", format="mp4") as c:
            s = c.add_stream("libx264", rate=30)
            s.width, s.height, s.pix_fmt = 1920, 1080, "yuv420p"
            s.options = {"crf": "12", "preset": "ultrafast"}
            n = int(duration_s * 30)
            frames = render_clip(path, cam, 1.0 + np.arange(n) / 30.0, 0.02,
                                 pano=load_panorama(gray=True))
            for k, small in enumerate(frames):
                big = cv2.resize(small, (1920, 1080), interpolation=cv2.INTER_CUBIC)
                vf = av.VideoFrame.from_ndarray(big, format="gray").reformat(format="yuv420p")
                vf.pts = k
                for pkt in s.encode(vf):
                    c.mux(pkt)
            for pkt in s.encode():
                c.mux(pkt)
        tmp.rename(video)
    # The renderer's frame k is at path time 1 + k/30 while the video's PTS is k/30: the video
    # clock is path time - 1, so t_log = t_video + 1 + offset.
    return video, gyro, offset + 1.0


def decode_only(path: Path) -> float:
    import av

    t0 = time.perf_counter()
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        st.thread_type = "AUTO"
        for _ in c.decode(st):
            pass
    return time.perf_counter() - t0


def measure_long() -> dict:
    """Time ``sync_video_to_gyro`` on the 60 s 1080p clip against a plain decode of it."""
    from sensors.video_motion import pinhole_guess

    video, gyro, true_off = long_clip()
    t_dec = decode_only(video)
    t0 = time.perf_counter()
    # A logger clock running 50 ppm fast: t_log = t_path * (1 + 50e-6) + offset, so the offset
    # at video time t is true_off + 50e-6 * (t + 1) (video clock = path time - 1).
    drift_true = 50.0
    t_path = gyro.t_s - (true_off - 1.0)
    gyro = GyroLog(t_path * (1 + drift_true * 1e-6) + (true_off - 1.0), gyro.omega_rad_s)
    res = sync_video_to_gyro(str(video), gyro, readout_s=0.02,
                             camera=pinhole_guess((1920, 1080), 75.0))
    t_sync = time.perf_counter() - t0
    expect = true_off + drift_true * 1e-6 * (res.t_ref_s + 1.0)
    load = os.getloadavg()[0]
    long = {"video": str(video), "seconds": 60, "size": "1920x1080", "fps": 30,
            "bitrate_mbps": video.stat().st_size * 8 / 60 / 1e6,
            "decode_only_s": t_dec, "sync_s": t_sync, "ratio_to_decode": t_sync / t_dec,
            "error_ms": (res.offset_s - expect) * 1e3, "drift_ppm": res.drift_ppm,
            "true_drift_ppm": drift_true,
            "windows": len(res.window_offset_s), "axes": res.axes, "load_avg_1min": load,
            "frames_decoded": res.frames_decoded, "n_frames": 1800,
            "decode_windows_s": [list(w) for w in res.decode_windows_s]}
    print(f"60 s 1080p ({long['bitrate_mbps']:.0f} Mbit/s): sync {t_sync:.2f} s (target < 15 s); "
          f"plain PyAV decode {t_dec:.2f} s; ratio {t_sync / t_dec:.2f}x; error "
          f"{long['error_ms']:+.3f} ms; drift {res.drift_ppm:+.2f} ppm (true {drift_true:+.0f}); "
          f"axes {res.axes}; decoded {res.frames_decoded}/1800 frames in "
          f"{len(res.decode_windows_s)} windows; "
          f"load average {load:.1f} on {os.cpu_count()} cores")
    return long


MID_DURATIONS_S = (11.0, 14.0, 18.0, 12.0, 16.0)


def measure_mid(n: int, width: int, out: Path) -> dict:
    """Clips of 10-20 s (synced from two gyro-chosen windows) at CRF 2 and CRF 16."""
    doc: dict = {"durations_s": list(MID_DURATIONS_S)}
    for crf, seed0, rng_seed in ((2, 300, 11), (16, 400, 12)):
        print(f"mid-length: {n} clips of {'/'.join(f'{d:g}' for d in MID_DURATIONS_S)} s, "
              f"CRF {crf}")
        rows = sweep(n, width, crf, np.random.default_rng(rng_seed), out,
                     duration_s=MID_DURATIONS_S, seed0=seed0)
        err = np.abs([r["error_ms"] for r in rows])
        summary = {"clips": len(rows), "median_abs_error_ms": float(np.median(err)),
                   "worst_abs_error_ms": float(np.max(err)),
                   "axes_exact": int(sum(r["axes_exact"] for r in rows)),
                   "sync_s_range": [float(min(r["sync_s"] for r in rows)),
                                    float(max(r["sync_s"] for r in rows))],
                   "decode_windows": sorted({r["decode_windows"] for r in rows})}
        print(f"  CRF {crf}: median |error| {summary['median_abs_error_ms']:.3f} ms, worst "
              f"{summary['worst_abs_error_ms']:.3f} ms, axes exact {summary['axes_exact']}/"
              f"{len(rows)}, sync {summary['sync_s_range'][0]:.1f}-"
              f"{summary['sync_s_range'][1]:.1f} s")
        doc[f"crf{crf}"] = {"summary": summary, "clips": rows}
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--lossy-clips", type=int, default=4)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--windowed-clips", type=int, default=3,
                    help="24 s clips (long enough to be synced from gyro-chosen windows).")
    ap.add_argument("--mid-clips", type=int, default=5,
                    help="11-18 s clips (synced from two windows), at CRF 2 and at CRF 16.")
    ap.add_argument("--only-mid", action="store_true",
                    help="Re-measure only the 11-18 s clips (keeps the rest of sync.json).")
    ap.add_argument("--skip-long", action="store_true")
    ap.add_argument("--only-long", action="store_true",
                    help="Re-measure only the 60 s clip (keeps the sweep in sync.json).")
    args = ap.parse_args()
    res_dir = ROOT / "bench" / "results"
    if args.only_long:
        doc = json.loads((res_dir / "sync.json").read_text())
        doc["long"] = measure_long()
        (res_dir / "sync.json").write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {res_dir / 'sync.json'}")
        return
    out = CACHE / "clips"
    if args.only_mid:
        doc = json.loads((res_dir / "sync.json").read_text())
        doc["mid"] = measure_mid(args.mid_clips, args.width, out)
        (res_dir / "sync.json").write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {res_dir / 'sync.json'}")
        return
    rng = np.random.default_rng(2026)
    print(f"error sweep: {args.clips} clips {args.width}x{args.width * 9 // 16}, 4 s, CRF 2")
    rows = sweep(args.clips, args.width, 2, rng, out)
    print(f"lossy: {args.lossy_clips} clips at CRF 16 (generator default)")
    lossy = sweep(args.lossy_clips, args.width, 16, np.random.default_rng(2026), out)
    print(f"windowed: {args.windowed_clips} clips of 24 s, CRF 2 (synced from 4 windows)")
    windowed = sweep(args.windowed_clips, args.width, 2, np.random.default_rng(7), out,
                     duration_s=24.0, seed0=21)
    err = np.abs([r["error_ms"] for r in rows])
    werr = np.abs([r["error_ms"] for r in windowed])
    lerr = np.array([r["error_ms"] for r in lossy])
    summary = {
        "clips": len(rows),
        "median_abs_error_ms": float(np.median(err)),
        "worst_abs_error_ms": float(np.max(err)),
        "axes_exact": int(sum(r["axes_exact"] for r in rows)),
        "lossy_crf16_mean_error_ms": float(np.mean(lerr)) if lerr.size else None,
        "lossy_crf16_worst_abs_error_ms": float(np.max(np.abs(lerr))) if lerr.size else None,
        "windowed_clips": len(windowed),
        "windowed_median_abs_error_ms": float(np.median(werr)) if werr.size else None,
        "windowed_worst_abs_error_ms": float(np.max(werr)) if werr.size else None,
        "windowed_axes_exact": int(sum(r["axes_exact"] for r in windowed)),
    }
    print(f"CRF 2:  median |error| {summary['median_abs_error_ms']:.3f} ms, worst "
          f"{summary['worst_abs_error_ms']:.3f} ms, axes exact {summary['axes_exact']}/"
          f"{len(rows)}")
    if lerr.size:
        print(f"CRF 16: mean error {summary['lossy_crf16_mean_error_ms']:+.3f} ms, worst |error| "
              f"{summary['lossy_crf16_worst_abs_error_ms']:.3f} ms")
    if werr.size:
        print(f"24 s windowed: median |error| {summary['windowed_median_abs_error_ms']:.3f} ms, "
              f"worst {summary['windowed_worst_abs_error_ms']:.3f} ms, axes exact "
              f"{summary['windowed_axes_exact']}/{len(windowed)}")
    mid = measure_mid(args.mid_clips, args.width, out)
    long = None if args.skip_long else measure_long()
    if long is None and (res_dir / "sync.json").exists():
        # Keep the last 60 s figures (``--only-long`` re-measures them).
        long = json.loads((res_dir / "sync.json").read_text()).get("long")
    doc = {"summary": summary, "clips": rows, "lossy": lossy, "windowed": windowed,
           "mid": mid, "long": long}
    res_dir.mkdir(parents=True, exist_ok=True)
    (res_dir / "sync.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {res_dir / 'sync.json'}")


if __name__ == "__main__":
    main()
