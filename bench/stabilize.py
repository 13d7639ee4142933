"""Benchmark: steadyrig stabilize vs ffmpeg's vid.stab (two-pass) and deshake.

Run ``.venv/bin/python bench/stabilize.py [--quick] [--only quality|speed] [--repeats N]
[--out bench/results/stabilize.json]``.
Needs Debian's ffmpeg for the peers (``apt-get install ffmpeg``); tests never do.

Inputs: generated 5 s clips (``sensors.synthetic.generate_clip``: walk, run and pan at 960x540 30
fps, 20 ms rolling-shutter readout, 80 deg lens; their ``.gcsv`` and lens profile are given to
steadyrig), the real ``samples/gopro/karma.mp4`` (embedded gyro, HERO5 lens profile), and
generated 1080p30 walking clips of two lengths (plus 4K without ``--quick``) for speed and
memory. Generated clips are cached in ``--work`` and reused. On the quality clips steadyrig
runs end to end as a user would (auto sync of the separate ``.gcsv``); on the speed clips it
is given the known offset (``--offset-ms 0``), so the ratio is the stabilization pipeline's
(sync has its own benchmark, ``bench/sync.py``).

Tools, all encoding with libx264 at the same ``--crf``/``--preset``, audio copied, and the same
``rc-lookahead`` (steadyrig caps the preset's lookahead above 1440p to bound the encoder's
memory, ``stabilize.encoder``; every peer gets that cap, and on such clips
``transcode_preset``, a transcode with the preset's own lookahead, shows what it saves):
``transcode`` (plain re-encode, the speed baseline), ``steadyrig`` (``steadyrig stabilize``),
``vidstab`` (``vidstabdetect`` then ``vidstabtransform``; both passes' wall times summed),
``deshake``. Each command runs in a fresh child: wall time (median of ``--repeats`` runs,
tools interleaved so load changes hit all alike), CPU time (user + system; the robust figure
on a shared machine) and peak RSS (GNU ``time``). The ratio columns are wall and CPU time over
the plain transcode's on the same input, measured in this run.

Quality (``bench/_video_quality.py``, measured from the decoded videos alone, pixel figures at
960 px width): residual motion above 1 Hz, roll residual, row-band wobble, undefined (black
border) pixels, Liu et al. 2013 stability, cropping ratio and distortion. On generated clips
the input's and steadyrig's residual are also computed from the ground truth (``truth``).

(The stabilization engineer's variant, measuring with ``stabilize.metrics``, is
``bench/stabilize_truth.py``.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
# this script's own folder comes first on the path, where its name would hide the `stabilize`
# package: the project root goes first, the folder (for _peers, _video_quality) last
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))
sys.path.append(str(BENCH))

from _peers import (  # noqa: E402
    Measured,
    ffmpeg_deshake,
    ffmpeg_has_filters,
    ffmpeg_path,
    ffmpeg_transcode,
    ffmpeg_vidstab,
    median_runs,
    run_measured,
)
from _video_quality import video_quality  # noqa: E402

from sensors.quaternion import qconj, qmul, qrotate  # noqa: E402
from sensors.synthetic import generate_clip  # noqa: E402
from sensors.video import probe_video  # noqa: E402
from stabilize.encoder import encoder_options  # noqa: E402

KARMA = ROOT / "samples" / "gopro" / "karma.mp4"
KARMA_LENS = ROOT / "samples" / "lens_profiles" / "GoPro_HERO5 Black_Wide_NO-EIS_16by9.json"
STEADYRIG = ROOT / ".venv" / "bin" / "steadyrig"
TOOLS = ("transcode", "steadyrig", "vidstab", "deshake")


def _generated(work: Path, name: str, kind: str, seed: int, width: int, height: int,
               duration_s: float) -> dict:
    """A generated clip (cached by name: the name encodes every setting that differs)."""
    folder = work / "clips"
    truth = folder / f"{name}.truth.json"
    if not truth.exists():
        t0 = time.perf_counter()
        print(f"  generating {name} ({width}x{height}, {duration_s:g} s) ...", flush=True)
        generate_clip(folder, name=name, kind=kind, seed=seed, width=width, height=height,
                      fps=30.0, duration_s=duration_s, readout_s=0.02)
        print(f"    {time.perf_counter() - t0:.0f} s", flush=True)
    return {"name": name, "video": folder / f"{name}.mp4", "gyro": folder / f"{name}.gcsv",
            "lens": folder / f"{name}.lens.json", "truth": folder / f"{name}.truth.npz",
            "kind": kind, "generated": True}


def _steadyrig_available() -> str | None:
    """None when ``steadyrig stabilize`` exists, else why it cannot run."""
    if not STEADYRIG.exists():
        return f"{STEADYRIG} not found (pip install -e . into .venv)"
    r = subprocess.run([str(STEADYRIG), "stabilize", "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        return "the `steadyrig stabilize` command is not available in this checkout"
    return None


def _commands(tool: str, case: dict, dst: Path, work: Path, crf: int, preset: str
              ) -> list[list[str]]:
    src = case["video"]
    # the peers get the encoder options steadyrig uses on this clip (same encoder settings)
    info = probe_video(src)
    x264 = encoder_options("h264", crf, preset, info.width, info.height).get("x264-params")
    if tool == "transcode":
        return ffmpeg_transcode(src, dst, crf, preset, x264)
    if tool == "transcode_preset":  # the preset's own lookahead: what the encoder alone takes
        return ffmpeg_transcode(src, dst, crf, preset)
    if tool == "vidstab":
        return ffmpeg_vidstab(src, dst, work, crf, preset, x264)
    if tool == "deshake":
        return ffmpeg_deshake(src, dst, crf, preset, x264)
    cmd = [str(STEADYRIG), "stabilize", str(src), "-o", str(dst), "--crf", str(crf),
           "--encoder-preset", preset, "--sidecar", str(dst.with_suffix(".json")), "-y"]
    if case.get("gyro") is not None:
        cmd += ["--gyro", str(case["gyro"])]
    if case.get("lens") is not None:
        cmd += ["--lens", str(case["lens"])]
    if case.get("offset_ms") is not None:
        cmd += ["--offset-ms", f"{case['offset_ms']:g}"]
    return [cmd]


def _run_case(case: dict, tools: list[str], repeats: int, work: Path, crf: int, preset: str,
              quality: bool) -> dict:
    info = probe_video(case["video"])
    out_dir = work / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[list[Measured]]] = {t: [] for t in tools}
    errors: dict[str, str] = {}
    for rep in range(repeats):
        for tool in tools:
            if tool in errors:
                continue
            dst = out_dir / f"{case['name']}.{tool}.mp4"
            try:
                steps = [run_measured(cmd, log_path=out_dir / f"{case['name']}.{tool}.log")
                         for cmd in _commands(tool, case, dst, work, crf, preset)]
            except RuntimeError as e:
                errors[tool] = str(e)
                print(f"    {tool}: FAILED: {str(e).splitlines()[-1]}", flush=True)
                continue
            runs[tool].append(steps)
            print(f"    {case['name']} {tool} run {rep + 1}/{repeats}: "
                  f"{sum(s.wall_s for s in steps):.1f} s wall, "
                  f"{sum(s.cpu_s for s in steps):.1f} s CPU, "
                  f"{max(s.peak_rss_mb for s in steps):.0f} MB", flush=True)
    result = {"name": case["name"], "kind": case["kind"], "width": info.width,
              "height": info.height, "fps": info.fps, "n_frames": info.n_frames,
              "duration_s": info.duration_s, "tools": {}}
    base = median_runs(runs["transcode"]) if runs.get("transcode") else None
    for tool in tools:
        if tool in errors:
            result["tools"][tool] = {"error": errors[tool]}
            continue
        r = median_runs(runs[tool])
        r["ratio_to_transcode"] = r["wall_s"] / base["wall_s"] if base else None
        r["cpu_ratio_to_transcode"] = r["cpu_s"] / base["cpu_s"] if base else None
        r["fps"] = info.n_frames / r["wall_s"]
        result["tools"][tool] = r
    if quality:
        print(f"    measuring quality of {case['name']} ...", flush=True)
        result["input_quality"] = video_quality(case["video"], info.fps)
        for tool in tools:
            if tool == "transcode" or tool in errors:
                continue
            dst = out_dir / f"{case['name']}.{tool}.mp4"
            result["tools"][tool]["quality"] = video_quality(dst, info.fps, reference=case["video"])
        side = out_dir / f"{case['name']}.steadyrig.json"
        if "steadyrig" in result["tools"] and side.exists():
            result["tools"]["steadyrig"]["sidecar"] = _sidecar_summary(side)
        if case.get("truth") is not None:
            result["input_quality"]["truth"] = _truth_residual(case["truth"], info.fps)
            if "steadyrig" in result["tools"] and side.exists():
                result["tools"]["steadyrig"]["quality"]["truth"] = _truth_residual(
                    case["truth"], info.fps, side)
    return result


def _truth_residual(truth_npz: Path, fps: float, sidecar: Path | None = None) -> dict:
    """Residual motion above 1 Hz from ground truth, the same high-pass as the video figure.

    Without a sidecar: the input (the displayed orientation is the true one). With steadyrig's
    sidecar: the displayed orientation is ``R_true R_est^-1 R_virtual`` (what the warp shows
    when the estimate ``R_est`` differs from the truth), and the focal length is scaled by the
    per-frame zoom. Per frame pair, the world direction at frame k's centre is projected into
    frame k+1 (pinhole, the clip's fx at 960 px width); the increments are accumulated,
    high-passed and their RMS taken, as in ``_video_quality``.
    """
    truth = np.load(truth_npz)
    q_true = truth["frame_quat"]
    fx = float(truth["K"][0, 0])
    width = 2.0 * float(truth["K"][0, 2]) + 1.0
    zoom = np.ones(len(q_true))
    q_disp = q_true
    if sidecar is not None:
        frames = json.loads(sidecar.read_text())["frames"]
        if len(frames) != len(q_true) or not all(f.get("stabilized") for f in frames):
            return {"error": f"sidecar has {len(frames)} frames (truth {len(q_true)}) or "
                             "unstabilized frames"}
        q_est = np.array([f["real_quat_xyzw"] for f in frames])
        q_virt = np.array([f["virtual_quat_xyzw"] for f in frames])
        zoom = np.array([f["zoom"] for f in frames])
        q_disp = qmul(qmul(q_true, qconj(q_est)), q_virt)
    f_px = fx * zoom * 960.0 / width
    ez = np.array([0.0, 0.0, 1.0])
    d_world = qrotate(q_disp[:-1], np.broadcast_to(ez, (len(q_disp) - 1, 3)))
    r = qrotate(qconj(q_disp[1:]), d_world)
    step = f_px[1:, None] * r[:, :2] / r[:, 2:3]
    sigma = np.sqrt(2 * np.log(2)) / (2 * np.pi * 1.0) * fps
    trim = int(round(0.5 * fps))
    path = np.concatenate([[[0.0, 0.0]], np.cumsum(step, axis=0)])
    hp = (path - gaussian_filter1d(path, sigma, axis=0, mode="nearest"))[trim:-trim]
    return {"residual_px": float(np.sqrt(np.mean(np.sum(hp ** 2, axis=1)))),
            "residual_px_xy": [float(v) for v in np.sqrt(np.mean(hp ** 2, axis=0))]}


def _sidecar_summary(path: Path) -> dict:
    """Zoom figures from steadyrig's sidecar (what it says it did, next to what was measured)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return {"error": f"unreadable sidecar: {e}"}
    frames = data.get("frames")
    zoom = None
    if isinstance(frames, list) and frames and isinstance(frames[0], dict):
        zoom = [f.get("zoom") for f in frames if f.get("zoom") is not None]
    elif isinstance(data.get("zoom"), list):
        zoom = data["zoom"]
    out = {"sync_offset_s": data.get("sync_offset_s"), "notes": data.get("notes")}
    if zoom:
        out.update({"zoom_mean": float(sum(zoom) / len(zoom)), "zoom_max": float(max(zoom))})
    return out


def _fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _tables(cases: list[dict]) -> str:
    lines = ["| clip | tool | wall s | x transcode | CPU x transcode | peak RSS MB | "
             "residual px (truth) | roll deg | wobble px | undefined % (max) | stability | "
             "crop | distortion |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in cases:
        label = f"{c['name']} ({c['width']}x{c['height']}, {c['duration_s']:.1f} s)"
        rows = []
        if "input_quality" in c:
            rows.append(("input", {}, c["input_quality"]))
        for tool, r in c["tools"].items():
            rows.append((tool, r, r.get("quality", {})))
        for tool, r, q in rows:
            if "error" in r:
                lines.append(f"| {label} | {tool} | failed: {r['error'].splitlines()[-1][:60]} "
                             "| | | | | | | | | | |")
                continue
            und = (f"{q['undefined_mean_pct']:.3f} ({q['undefined_max_pct']:.2f})"
                   if "undefined_mean_pct" in q else "-")
            res = _fmt(q.get("residual_px"), ".2f")
            if "residual_px" in q.get("truth", {}):
                res += f" ({q['truth']['residual_px']:.2f})"
            lines.append(
                f"| {label} | {tool} | {_fmt(r.get('wall_s'), '.1f')} | "
                f"{_fmt(r.get('ratio_to_transcode'), '.2f')} | "
                f"{_fmt(r.get('cpu_ratio_to_transcode'), '.2f')} | "
                f"{_fmt(r.get('peak_rss_mb'), '.0f')} | {res} | "
                f"{_fmt(q.get('residual_roll_deg'), '.3f')} | {_fmt(q.get('wobble_px'), '.2f')} | "
                f"{und} | {_fmt(q.get('stability'), '.2f')} | "
                f"{_fmt(q.get('cropping_ratio'), '.2f')} | {_fmt(q.get('distortion'), '.2f')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="shorter clips, one repeat, no 4K clip")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "stabilize.json")
    ap.add_argument("--work", type=Path, default=Path("/tmp/steadyrig_bench_stabilize"),
                    help="folder for generated clips (cached) and outputs")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed runs per tool on the speed clips (default 3, 1 with --quick)")
    ap.add_argument("--crf", type=int, default=18)
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--only", choices=("quality", "speed"), default=None,
                    help="run only the quality clips or only the speed clips")
    args = ap.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    if ":" in str(work) or "\\" in str(work):
        ap.error("--work must not contain ':' or '\\' (ffmpeg filter arguments)")

    ffmpeg = ffmpeg_path()
    have = ffmpeg_has_filters(("vidstabdetect", "vidstabtransform", "deshake"))
    tools = ["transcode"]
    why_not = _steadyrig_available()
    if why_not is None:
        tools.append("steadyrig")
    else:
        print(f"NOTE: steadyrig skipped: {why_not}", flush=True)
    if have["vidstabdetect"] and have["vidstabtransform"]:
        tools.append("vidstab")
    else:
        print("NOTE: this ffmpeg lacks vid.stab: vidstab skipped", flush=True)
    if have["deshake"]:
        tools.append("deshake")

    qdur = 5.0
    quality_cases = [] if args.only == "speed" else [
        _generated(work, f"walk960_{qdur:g}s", "walk", 1, 960, 540, qdur),
        _generated(work, f"run960_{qdur:g}s", "run", 2, 960, 540, qdur),
        _generated(work, f"pan960_{qdur:g}s", "pan", 3, 960, 540, qdur),
        {"name": "karma", "video": KARMA, "gyro": None, "lens": KARMA_LENS, "kind": "real",
         "generated": False},
    ]
    speed_cases = []
    if args.only != "quality":
        lengths = (4.0, 12.0) if args.quick else (5.0, 15.0)
        speed_cases = [_generated(work, f"walk1080_{d:g}s", "walk", 4, 1920, 1080, d)
                       for d in lengths]
        if not args.quick:
            speed_cases.append(_generated(work, "walk2160_3s", "walk", 5, 3840, 2160, 3.0))
        for case in speed_cases:
            # The speed figure is the stabilization pipeline's; the known offset (0: the
            # generated log shares the video clock) skips auto sync, timed in bench/sync.py.
            case["offset_ms"] = 0.0

    load0 = os.getloadavg()
    t0 = time.perf_counter()
    if "steadyrig" in tools:
        # Warm-up outside the timings: the first run compiles and caches numba kernels.
        print("warm-up: steadyrig stabilize on the first clip", flush=True)
        try:
            for cmd in _commands("steadyrig", (quality_cases or speed_cases)[0],
                                 work / "warmup.mp4", work, args.crf, args.preset):
                run_measured(cmd)
        except RuntimeError as e:
            print(f"  warm-up failed: {str(e).splitlines()[-1]}", flush=True)
    results = []
    for case in quality_cases:
        print(f"quality case {case['name']}", flush=True)
        results.append(_run_case(case, tools, 1, work, args.crf, args.preset, quality=True))
    for case in speed_cases:
        print(f"speed case {case['name']}", flush=True)
        # deshake (one pass, no target attached to its speed) is timed on the quality clips.
        case_tools = [t for t in tools if t != "deshake"]
        info = probe_video(case["video"])
        if encoder_options("h264", args.crf, args.preset, info.width, info.height).get(
                "x264-params"):
            # steadyrig caps the encoder's lookahead here, and every tool above gets the same
            # cap; a transcode with the preset's own lookahead shows what that saves
            case_tools.insert(1, "transcode_preset")
        results.append(_run_case(case, case_tools, repeats, work,
                                 args.crf, args.preset, quality=False))
    table = _tables(results)
    print()
    print(table)
    version = subprocess.run([ffmpeg, "-version"], capture_output=True,
                             text=True).stdout.splitlines()[0]
    doc = {
        "bench": "stabilize",
        "command": "bench/stabilize.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "settings": {"crf": args.crf, "preset": args.preset, "repeats": repeats,
                     "quick": args.quick, "tools": tools,
                     "steadyrig_skipped": why_not, "encoder": "libx264 yuv420p, audio copied"},
        "ffmpeg": version,
        "machine": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
        "load_avg_start": list(load0), "load_avg_end": list(os.getloadavg()),
        "elapsed_s": time.perf_counter() - t0,
        "cases": results,
        "table_markdown": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    tmp.replace(args.out)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
