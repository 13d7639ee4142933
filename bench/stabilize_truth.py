"""Benchmark (stabilization engineer): steadyrig vs ffmpeg vidstab/deshake with stabilize.metrics.

The team benchmark is ``bench/stabilize.py``; this one adds the truth-based residual of
``stabilize.metrics.truth_jitter_px`` and measures every output with ``stabilize.metrics``.

Clips: generated walking and running clips (ground truth, 960x540) and samples/gopro/karma.mp4
with its embedded gyro and the HERO5 lens profile. For every method the output is measured with
``stabilize.metrics`` (Liu et al. stability, >1 Hz residual jitter and rolling-shutter wobble in
px at 960 wide, cropping ratio, distortion); steadyrig also gets the truth-based jitter. Wall
time is reported as a ratio to a plain ffmpeg transcode with the same encoder settings (libx264,
same crf/preset, audio copied) measured in the same run; peak RSS from /usr/bin/time.

    .venv/bin/python bench/stabilize_truth.py [--repeat 1] [--seconds 3] [--skip-karma]

Writes bench/results/stabilize_truth.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sensors.quaternion import qconj, qmul  # noqa: E402
from sensors.synthetic import generate_clip  # noqa: E402
from stabilize.metrics import (  # noqa: E402
    REFERENCE_WIDTH,
    compare_frames,
    truth_jitter_px,
    video_metrics,
)

CRF, PRESET = 18, "medium"
KARMA = ROOT / "samples/gopro/karma.mp4"
HERO5 = ROOT / "samples/lens_profiles/GoPro_HERO5 Black_Wide_NO-EIS_16by9.json"


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a command (via /usr/bin/time)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name, *cmd],
                           capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {r.stderr[-800:]}")
        rss_kb = float(tf.read().strip().splitlines()[-1])
    return wall, rss_kb / 1024.0


def ffmpeg(*args: str) -> list[str]:
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args]


def x264(out: Path) -> list[str]:
    return ["-c:v", "libx264", "-crf", str(CRF), "-preset", PRESET, "-pix_fmt", "yuv420p",
            "-c:a", "copy", str(out)]


def run_methods(video: Path, work: Path, steadyrig_args: list[str], repeat: int) -> dict:
    res: dict = {}

    def best(cmds) -> tuple[float, float]:
        walls, rss = [], []
        for _ in range(repeat):
            w, m = 0.0, 0.0
            for c in cmds:
                a, b = timed(c)
                w += a
                m = max(m, b)
            walls.append(w)
            rss.append(m)
        return float(np.median(walls)), float(max(rss))

    base = work / "transcode.mp4"
    res["transcode"] = dict(zip(("wall_s", "peak_rss_mb"),
                                best([ffmpeg("-i", str(video), *x264(base))]), strict=True))
    outs = {
        "steadyrig": (work / "steadyrig.mp4", [[
            str(ROOT / ".venv/bin/steadyrig"), "stabilize", str(video), "-o",
            str(work / "steadyrig.mp4"), "--sidecar", str(work / "steadyrig.json"),
            "--crf", str(CRF), "--encoder-preset", PRESET, "-y", *steadyrig_args]]),
        "vidstab": (work / "vidstab.mp4", [
            ffmpeg("-i", str(video), "-vf",
                   f"vidstabdetect=shakiness=8:result={work / 'transforms.trf'}", "-f", "null",
                   "-"),
            ffmpeg("-i", str(video), "-vf",
                   f"vidstabtransform=input={work / 'transforms.trf'}:smoothing=18:zoom=0:"
                   "optzoom=1", *x264(work / "vidstab.mp4"))]),
        "deshake": (work / "deshake.mp4", [
            ffmpeg("-i", str(video), "-vf", "deshake", *x264(work / "deshake.mp4"))]),
    }
    for name, (out, cmds) in outs.items():
        wall, rss = best(cmds)
        m = video_metrics(out)
        crop, dist = compare_frames(video, out)
        res[name] = dict(wall_s=wall, peak_rss_mb=rss,
                         time_ratio_to_transcode=wall / res["transcode"]["wall_s"],
                         cropping_ratio=crop, distortion=dist, **m)
    res["input"] = video_metrics(video)
    return res


def truth_figures(clip, sidecar: Path) -> dict:
    d = np.load(clip.truth_npz)
    sc = json.loads(sidecar.read_text())
    fr = [f for f in sc["frames"] if f["stabilized"]]
    idx = np.array([f["index"] for f in fr])
    q_true = d["frame_quat"][idx]
    q_est = np.array([f["real_quat_xyzw"] for f in fr])
    q_virt = np.array([f["virtual_quat_xyzw"] for f in fr])
    zoom = np.array([f["zoom"] for f in fr])
    t = d["frame_t_s"][idx]
    fps = 1.0 / float(np.median(np.diff(t)))
    f960 = float(d["K"][0, 0]) * REFERENCE_WIDTH / float(sc["camera"]["size"][0])
    shown = qmul(qmul(q_true, qconj(q_est)), q_virt)
    return dict(truth_jitter_input_px=truth_jitter_px(t, q_true, f960, fps),
                truth_jitter_output_px=truth_jitter_px(t, shown, f960 * float(zoom.mean()), fps),
                zoom_max=float(zoom.max()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--skip-karma", action="store_true")
    a = ap.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg not found: apt-get install -y ffmpeg")
    results: dict = {"crf": CRF, "preset": PRESET, "clips": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for kind, seed in (("walk", 1), ("run", 2)):
            work = tmp / kind
            work.mkdir()
            clip = generate_clip(work, kind=kind, seed=seed, width=960, height=540,
                                 duration_s=a.seconds, readout_s=0.02)
            r = run_methods(clip.video, work, ["--lens", str(clip.lens), "--offset-ms", "0"],
                            a.repeat)
            r["steadyrig"].update(truth_figures(clip, work / "steadyrig.json"))
            results["clips"][f"{kind}_960x540"] = r
            print(kind, json.dumps(r, indent=1))
        if not a.skip_karma:
            work = tmp / "karma"
            work.mkdir()
            r = run_methods(KARMA, work, ["--lens", str(HERO5)], a.repeat)
            results["clips"]["karma"] = r
            print("karma", json.dumps(r, indent=1))
    out = ROOT / "bench/results/stabilize_truth.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"\n{'clip':14s} {'method':10s} {'jitter px':>9s} {'wobble':>7s} {'stab':>5s} "
          f"{'crop':>5s} {'dist':>5s} {'time/transcode':>14s} {'RSS MB':>7s}")
    for clip, r in results["clips"].items():
        print(f"{clip:14s} {'input':10s} {r['input']['jitter_px']:9.3f} "
              f"{r['input']['wobble_px']:7.3f} {r['input']['stability']:5.2f}")
        for m in ("steadyrig", "vidstab", "deshake"):
            x = r[m]
            print(f"{clip:14s} {m:10s} {x['jitter_px']:9.3f} {x['wobble_px']:7.3f} "
                  f"{x['stability']:5.2f} {x['cropping_ratio']:5.2f} {x['distortion']:5.2f} "
                  f"{x['time_ratio_to_transcode']:14.2f} {x['peak_rss_mb']:7.0f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
