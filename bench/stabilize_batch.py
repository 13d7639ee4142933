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
[--long-s 8] [--segments 3]``.
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


def _segments(clip, out: Path, n: int, **kw) -> dict:
    p1 = StabilizeParams(filters=("intent",), encoder_threads=1)
    runs = {}
    for name, params in (("single_1_encoder_thread", p1),
                         ("single_default_threads", p1.replace(encoder_threads=0))):
        load0 = _load()
        t0 = time.perf_counter()
        stabilize_video(clip.video, out / f"{name}.mp4", offset_ms=0.0, params=params)
        runs[name] = {"wall_s": round(time.perf_counter() - t0, 2),
                      "load_avg_1min": [load0, _load()]}
    load0 = _load()
    t0 = time.perf_counter()
    stabilize_segmented(clip.video, out / "segmented.mp4", segments=n, offset_ms=0.0,
                        params=p1, **kw)
    runs[f"segmented_{n}"] = {"wall_s": round(time.perf_counter() - t0, 2),
                              "load_avg_1min": [load0, _load()]}
    joins = [s for s, _ in segment_ranges(clip.n_frames, n)[1:]]
    return {"runs": runs, "joins": joins,
            "vs_single_1_thread": _compare(out / "single_1_encoder_thread.mp4",
                                           out / "segmented.mp4", joins)}


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
    ap.add_argument("--no-remote", action="store_true")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    work = Path(tempfile.mkdtemp(prefix="steadyrig-bench-"))
    try:
        clips = [generate_clip(work / "clips", name=f"clip{k:02d}", kind="walk", seed=k,
                               width=w, height=h, duration_s=args.clip_s)
                 for k in range(args.jobs)]
        manifest = work / "clips" / "manifest.jsonl"
        manifest.write_text("".join(json.dumps({"id": c.name, "video": c.video.name,
                                                "offset_ms": 0.0}) + "\n" for c in clips))
        long = generate_clip(work / "long", name="long", kind="walk", seed=99, width=w,
                             height=h, duration_s=args.long_s)
        out: dict = {"benchmark": "stabilize_batch", "jobs": args.jobs, "size": [w, h],
                     "clip_s": args.clip_s, "long_s": args.long_s, "segments": args.segments,
                     "cpu_count": os.cpu_count(), "machine": platform.machine(),
                     "python": platform.python_version()}
        out["batch"] = {f"local_{n}": _batch(manifest, work / f"b{n}", workers=n)
                        for n in (1, 2)}
        print(json.dumps(out["batch"], indent=1), flush=True)
        (work / "s").mkdir()
        out["segments_local_2"] = _segments(long, work / "s", args.segments, workers=2)
        print(json.dumps(out["segments_local_2"], indent=1), flush=True)
        if not args.no_remote:
            def remote(address):
                (work / "rs").mkdir()
                return {"batch": _batch(manifest, work / "rb", scheduler=address),
                        "segments": _segments(long, work / "rs", args.segments,
                                              scheduler=address)}

            out["remote_localhost_2"] = _remote(work, remote)
            print(json.dumps(out["remote_localhost_2"], indent=1), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "stabilize_batch.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
