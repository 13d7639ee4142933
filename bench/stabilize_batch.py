"""Stabilize jobs at scale: batch throughput with 1 and 2 workers, and one clip in segments.

Generates ``--jobs`` clips (``sensors.synthetic.generate_clip``, a .gcsv beside each) and one
``--long-s`` clip, then measures, each run into its own output folder (nothing skipped):

* ``batch``: :func:`sensors.jobs.run_batch` of a manifest of the clips on an embedded
  LocalCluster of 1 and of 2 worker processes, one encoder thread per worker
  (``--set encoder_threads=1``): jobs per minute over the jobs phase (wall time minus cluster
  start) and over the whole run;
* ``segments``: the long clip stabilized in one run (``stabilize_video``, one encoder thread,
  and the default threads) against :func:`stabilize.segments.stabilize_segmented` in
  ``--segments`` parts on 2 workers: frame count, timestamps, the largest mean absolute luma
  difference to the single run at the frames either side of each join (and elsewhere), the
  frame-to-frame luma change at each join in both outputs, how much the frame-to-frame image
  motion (phase correlation) differs from the single run's at each join and at worst, and wall
  times (the local run's includes starting its cluster);
* ``remote``: both again on a ``dask scheduler`` + ``dask worker --nworkers 2 --nthreads 1``
  started on localhost.

The machine's 1-minute load average is recorded beside every figure: on a shared machine it
decides them. Writes ``bench/results/stabilize_batch.json``.

Run: ``.venv/bin/python bench/stabilize_batch.py [--jobs 4] [--size 480x270] [--clip-s 3]
[--long-s 8] [--long-size WxH] [--segments 3] [--only batch|segments] [--no-remote]
[--out FILE]``. ``--long-clip CLIP.mp4`` reuses a clip written by ``steadyrig samples`` (its
``.gcsv`` beside it) instead of generating the long clip. ``segments`` also compares each
output's frame-to-frame shake (:func:`stabilize.metrics.frame_shake_px`) with the input's and
the audio packets with the input's.
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

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

import stabilize.batch  # noqa: E402, F401  (registers the stabilize job kind)
from sensors.jobs import run_batch  # noqa: E402
from sensors.synthetic import generate_clip  # noqa: E402
from stabilize.metrics import frame_shake_px, track_video  # noqa: E402
from stabilize.params import StabilizeParams  # noqa: E402
from stabilize.pipeline import stabilize_video  # noqa: E402
from stabilize.segments import segment_ranges, stabilize_segmented  # noqa: E402

RESULTS = _HERE / "results"


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _batch(manifest: Path, out: Path, **kw) -> dict:
    load0 = _load()
    s = run_batch(manifest, out_dir=out, results=out / "results.jsonl",
                  defaults={"encoder_threads": 1}, **kw)
    jobs_s = s.wall_s - s.cluster_start_s
    return {"n_done": s.n_done, "n_failed": s.n_failed, "workers": s.n_workers,
            "wall_s": s.wall_s, "cluster_start_s": s.cluster_start_s,
            "jobs_per_min": round(60.0 * s.n_done / jobs_s, 2),
            "jobs_per_min_including_cluster_start": round(60.0 * s.n_done / s.wall_s, 2),
            "job_wall_s": [r.get("wall_s") for r in s.records],
            "errors": [r["error"] for r in s.records if r["error"]],
            "load_avg_1min": [load0, _load()]}


def _luma(path: Path) -> tuple[list[int], list[np.ndarray]]:
    with av.open(str(path)) as c:
        frames = [(f.pts, f.to_ndarray()[: f.height].astype(np.int16))
                  for f in c.decode(c.streams.video[0])]
    return [p for p, _ in frames], [y for _, y in frames]


def _audio(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


def _shake(source: Path, single: Path, seg: Path, joins: list[int]) -> dict:
    # a visible join is a frame pair that shakes more than the input did there
    s_in, s_one, s_seg = (frame_shake_px(track_video(p)) for p in (source, single, seg))
    excess = s_seg - s_in
    return {"input_at_joins_px": [round(float(s_in[j - 1]), 3) for j in joins],
            "single_at_joins_px": [round(float(s_one[j - 1]), 3) for j in joins],
            "segmented_at_joins_px": [round(float(s_seg[j - 1]), 3) for j in joins],
            "segmented_excess_over_input_max_at_joins_px": round(
                float(max(excess[j - 1] for j in joins)), 3),
            "segmented_excess_over_input_max_any_pair_px": round(float(excess.max()), 3),
            "single_excess_over_input_max_any_pair_px": round(float((s_one - s_in).max()), 3),
            "rms_px": {"input": round(float(np.sqrt(np.mean(s_in ** 2))), 3),
                       "single": round(float(np.sqrt(np.mean(s_one ** 2))), 3),
                       "segmented": round(float(np.sqrt(np.mean(s_seg ** 2))), 3)}}


def _compare(single: Path, seg: Path, joins: list[int]) -> dict:
    pa, ya = _luma(single)
    pb, yb = _luma(seg)
    near = [k for j in joins for k in (j - 1, j)]

    def shift(y0, y1) -> np.ndarray:
        (dx, dy), _ = cv2.phaseCorrelate(y0.astype(np.float32), y1.astype(np.float32))
        return np.array([dx, dy])

    # frame-to-frame image motion (phase correlation): a visible join would move the picture
    motion_diff = [float(np.linalg.norm(shift(yb[k - 1], yb[k]) - shift(ya[k - 1], ya[k])))
                   for k in range(1, len(ya))]
    return {
        "motion_diff_at_joins_px": [round(motion_diff[j - 1], 4) for j in joins],
        "motion_diff_max_any_frame_px": round(max(motion_diff), 4),
        "frames": [len(pa), len(pb)], "timestamps_equal": pa == pb,
        "max_mean_abs_diff_at_joins": round(max(float(np.abs(ya[k] - yb[k]).mean())
                                                for k in near), 3),
        "mean_abs_diff_elsewhere": round(float(np.mean([np.abs(ya[k] - yb[k]).mean()
                                                        for k in range(len(ya))
                                                        if k not in near])), 3),
        "frame_to_frame_at_joins_single": [round(float(np.abs(ya[j] - ya[j - 1]).mean()), 3)
                                           for j in joins],
        "frame_to_frame_at_joins_segmented": [round(float(np.abs(yb[j] - yb[j - 1]).mean()),
                                                    3) for j in joins],
    }


def _segments(video: Path, n_frames: int, out: Path, n: int, **kw) -> dict:
    p1 = StabilizeParams(filters=("intent",), encoder_threads=1)
    runs = {}
    for name, params in (("single_1_encoder_thread", p1),
                         ("single_default_threads", p1.replace(encoder_threads=0))):
        load0 = _load()
        t0 = time.perf_counter()
        stabilize_video(video, out / f"{name}.mp4", offset_ms=0.0, params=params)
        runs[name] = {"wall_s": round(time.perf_counter() - t0, 2),
                      "load_avg_1min": [load0, _load()]}
    load0 = _load()
    t0 = time.perf_counter()
    stabilize_segmented(video, out / "segmented.mp4", segments=n, offset_ms=0.0,
                        params=p1, **kw)
    runs[f"segmented_{n}"] = {"wall_s": round(time.perf_counter() - t0, 2),
                              "load_avg_1min": [load0, _load()]}
    joins = [s for s, _ in segment_ranges(n_frames, n)[1:]]
    single, seg = out / "single_1_encoder_thread.mp4", out / "segmented.mp4"
    audio_in = _audio(video)
    return {"runs": runs, "joins": joins,
            "vs_single_1_thread": _compare(single, seg, joins),
            "shake": _shake(video, single, seg, joins),
            "audio_packets": {"input": len(audio_in),
                              "single_equal_input": _audio(single) == audio_in,
                              "segmented_equal_input": _audio(seg) == audio_in}}


def _frames(video: Path) -> int:
    with av.open(str(video)) as c:
        return sum(1 for _ in c.demux(c.streams.video[0]) if _.size)


def _dask(*args: str, log: Path) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("dask")
    with log.open("wb") as err:
        return subprocess.Popen([str(exe), *args], stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)


def _remote(work: Path, fn) -> dict:
    sched_file = work / "scheduler.json"
    procs = [_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                   "--scheduler-file", str(sched_file), log=work / "scheduler.log")]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        procs.append(_dask("worker", address, "--nworkers", "2", "--nthreads", "1", "--host",
                           "127.0.0.1", "--no-dashboard", log=work / "worker.log"))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        return fn(address)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--size", default="480x270")
    ap.add_argument("--clip-s", type=float, default=3.0)
    ap.add_argument("--long-s", type=float, default=8.0)
    ap.add_argument("--segments", type=int, default=3)
    ap.add_argument("--long-size", default=None, help="WxH of the long clip (default --size)")
    ap.add_argument("--long-clip", type=Path, default=None)
    ap.add_argument("--only", choices=("batch", "segments"), default=None)
    ap.add_argument("--no-remote", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS / "stabilize_batch.json")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    lw, lh = (int(v) for v in (args.long_size or args.size).lower().split("x"))
    work = Path(tempfile.mkdtemp(prefix="steadyrig-bench-"))
    do_batch, do_segments = args.only in (None, "batch"), args.only in (None, "segments")
    out: dict = {"benchmark": "stabilize_batch", "jobs": args.jobs, "size": [w, h],
                 "clip_s": args.clip_s, "long_size": [lw, lh], "segments": args.segments,
                 "cpu_count": os.cpu_count(), "machine": platform.machine(),
                 "python": platform.python_version()}
    try:
        if do_batch:
            clips = [generate_clip(work / "clips", name=f"clip{k:02d}", kind="walk", seed=k,
                                   width=w, height=h, duration_s=args.clip_s)
                     for k in range(args.jobs)]
            manifest = work / "clips" / "manifest.jsonl"
            manifest.write_text("".join(json.dumps({"id": c.name, "video": c.video.name,
                                                    "offset_ms": 0.0}) + "\n" for c in clips))
            out["batch"] = {f"local_{n}": _batch(manifest, work / f"b{n}", workers=n)
                            for n in (1, 2)}
            print(json.dumps(out["batch"], indent=1), flush=True)
        if do_segments:
            if args.long_clip is not None:
                long_video = args.long_clip.resolve()
            else:
                t0 = time.perf_counter()
                long_video = generate_clip(work / "long", name="long", kind="walk", seed=99,
                                           width=lw, height=lh,
                                           duration_s=args.long_s).video
                out["long_generate_s"] = round(time.perf_counter() - t0, 1)
            n_frames = _frames(long_video)
            out["long_clip"] = {"name": long_video.name, "frames": n_frames}
            (work / "s").mkdir()
            out["segments_local_2"] = _segments(long_video, n_frames, work / "s",
                                                args.segments, workers=2)
            print(json.dumps(out["segments_local_2"], indent=1), flush=True)
        if not args.no_remote:
            def remote(address):
                res = {}
                if do_batch:
                    res["batch"] = _batch(manifest, work / "rb", scheduler=address)
                if do_segments:
                    (work / "rs").mkdir()
                    res["segments"] = _segments(long_video, n_frames, work / "rs",
                                                args.segments, scheduler=address)
                return res

            out["remote_localhost_2"] = _remote(work, remote)
            print(json.dumps(out["remote_localhost_2"], indent=1), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
