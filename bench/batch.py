"""Batch throughput on Dask: jobs per minute with 1 and 2 workers, scaling, peak worker memory.

Generates ``--jobs`` rosettes once (``stitch.batch.generate_batch``), then per repeat runs:

* ``serial``: :func:`stitch.batch.run_job` in a plain loop in this process (the baseline: no
  Dask, no process start);
* ``dask-1`` and ``dask-2``: :func:`stitch.batch.run_batch` on an embedded LocalCluster of one
  and two worker processes (one thread each).

Every run writes into its own output folder, so nothing is skipped. Figures: jobs per minute over
the jobs phase (wall time minus cluster start) and over the whole run, scaling efficiency
``(jpm_2 / jpm_1) / 2``, the Dask-1 cost relative to the serial loop, and the peak resident set
of each worker process (``VmHWM`` read in the worker after each job; see
``sensors.jobs.usage.peak_rss_mb`` for why not ``ru_maxrss``). The machine's 1-minute load average
is recorded with every run: on a shared machine it decides the scaling figure. Median over
``--repeats``. Writes ``bench/results/batch.json`` (``batch_rotation_only.json`` with
``--no-repair --no-refine``).

Run: ``.venv/bin/python bench/batch.py [--jobs 6] [--cameras 8] [--size 960x720]
[--width 2048] [--no-repair] [--no-refine] [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# `python bench/batch.py` puts bench/ first on sys.path, where bench/stitch.py (another
# benchmark) would shadow the stitch package, here and in the spawned workers.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from stitch.batch import generate_batch, load_manifest, run_batch, run_job  # noqa: E402

RESULTS = _HERE / "results"


def _serial(manifest: Path, out_dir: Path) -> dict:
    man = load_manifest(manifest, out_dir=out_dir)
    t0 = time.perf_counter()
    recs = [run_job(job) for job in man.jobs]
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "jobs_s": wall, "job_wall_s": [r.get("wall_s") for r in recs],
            "n_done": sum(r["status"] == "done" for r in recs),
            "errors": [r["error"] for r in recs if r["error"]], "peak_rss_mb_by_worker": {}}


def _dask(manifest: Path, out_dir: Path, workers: int) -> dict:
    s = run_batch(manifest, workers=workers, out_dir=out_dir, results=out_dir / "results.jsonl")
    peak: dict[str, float] = {}
    for r in s.records:
        if r.get("worker_pid") is not None:
            key = str(r["worker_pid"])
            peak[key] = max(peak.get(key, 0.0), r["peak_rss_mb"])
    return {"wall_s": s.wall_s, "jobs_s": s.wall_s - s.cluster_start_s,
            "cluster_start_s": s.cluster_start_s, "n_done": s.n_done, "n_workers": s.n_workers,
            "job_wall_s": [r.get("wall_s") for r in s.records],
            "errors": [r["error"] for r in s.records if r["error"]],
            "peak_rss_mb_by_worker": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=6)
    ap.add_argument("--cameras", type=int, default=8)
    ap.add_argument("--size", default="960x720")
    ap.add_argument("--width", type=int, default=2048, help="panorama width, px")
    ap.add_argument("--no-repair", action="store_true")
    ap.add_argument("--no-refine", action="store_true")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--keep", help="folder to keep the generated batch in (default: temporary)")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    options = {"width_px": args.width, "repair": not args.no_repair,
               "refine": not args.no_refine}

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="steadyrig-bench-"))
    try:
        t0 = time.perf_counter()
        manifest = generate_batch(work / "gen", args.jobs, n_cameras=args.cameras, width=w,
                                  height=h, seed=0, **options)
        gen_s = time.perf_counter() - t0
        runs: dict[str, list[dict]] = {"serial": [], "dask-1": [], "dask-2": []}
        for rep in range(args.repeats):
            for name in runs:
                out = work / f"{name}-{rep}"
                shutil.rmtree(out, ignore_errors=True)
                r = (_serial(manifest, out) if name == "serial"
                     else _dask(manifest, out, int(name[-1])))
                if r["n_done"] != args.jobs:
                    raise SystemExit(f"{name}: only {r['n_done']} of {args.jobs} jobs done: "
                                     f"{r['errors'][:1]}")
                r["load_avg_1min"] = os.getloadavg()[0]
                runs[name].append(r)
                print(f"  rep {rep} {name:7s} jobs phase {r['jobs_s']:7.2f} s, "
                      f"whole run {r['wall_s']:7.2f} s, load {r['load_avg_1min']:.1f}",
                      flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    n = args.jobs
    jpm = {name: 60.0 * n / med(name, "jobs_s") for name in runs}
    jpm_whole = {name: 60.0 * n / med(name, "wall_s") for name in runs}
    efficiency = jpm["dask-2"] / jpm["dask-1"] / 2.0
    peak = {name: max((v for r in runs[name] for v in r["peak_rss_mb_by_worker"].values()),
                      default=None) for name in ("dask-1", "dask-2")}
    summary = {
        "benchmark": "batch",
        "jobs": n, "cameras": args.cameras, "image_size": [w, h], "options": options,
        "repeats": args.repeats, "generate_s": round(gen_s, 2),
        "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "python": platform.python_version(),
        "jobs_per_min": {k: round(v, 2) for k, v in jpm.items()},
        "jobs_per_min_including_cluster_start": {k: round(v, 2) for k, v in jpm_whole.items()},
        "scaling_efficiency_2_workers": round(efficiency, 3),
        "dask1_over_serial_time": round(med("dask-1", "jobs_s") / med("serial", "jobs_s"), 3),
        "cluster_start_s": {k: round(med(k, "cluster_start_s"), 2) for k in ("dask-1", "dask-2")},
        "peak_rss_mb_per_worker": peak,
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    mode = "" if options["repair"] and options["refine"] else "_rotation_only" if not (
        options["repair"] or options["refine"]) else "_partial"
    out = RESULTS / f"batch{mode}.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{n} jobs of {args.cameras} x {w}x{h} -> {args.width} px "
          f"(repair={options['repair']}, refine={options['refine']}), median of {args.repeats}")
    for k in runs:
        print(f"  {k:7s} {jpm[k]:6.1f} jobs/min (jobs phase), {jpm_whole[k]:6.1f} with cluster "
              "start")
    print(f"  scaling efficiency with 2 workers: {efficiency:.2f}; Dask-1 / serial time: "
          f"{summary['dask1_over_serial_time']:.2f}")
    print(f"  peak RSS per worker: 1 worker {peak['dask-1']} MB, 2 workers {peak['dask-2']} MB")
    print(f"  wrote {out}")


if __name__ == "__main__":
    main()
