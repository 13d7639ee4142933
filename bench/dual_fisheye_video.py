"""Benchmark: dual-fisheye 360 video stitched and stabilized, against the truth, and its speed.

A generated dual-fisheye clip (``generate_clip(..., projection="dual-fisheye")``, 1280x640, two
back-to-back lenses side by side with their own rolling shutter, a 2.4 cm baseline and a scene
4 m away with the ground 1.5 m below, so real parallax at the seam; walking shake, gyro +
accelerometer log) goes through ``stabilize_video`` (calibration from three slow frames, seam
keyframes every second, one remap per lens) and is measured with the generator's truth
(``sensors.synthetic.dual_fisheye_truth``):

- **Calibration**: disc centres and the back lens's orientation against the truth.
- **Seam residual per frame**: over the output pixels both lenses contribute to, the angle
  between the true directions of the two source pixels blended there, px at the output's
  equator (``seam_errors_px``), median and p90 per frame, with the seam warps and with the
  calibration alone; and how much the per-frame median changes from one frame to the next.
- **Residual jitter against the truth**, >1 Hz RMS, px on the sphere at 960 px wide: *shown* -
  per frame the small rotation by which the output's pixels (through the warp maps, each lens
  at its own rows' times) show the world off where they should, least squares over the frame;
  *orientation* - ``stabilize.metrics.band_jitter_px`` over the truth's row bands (as
  ``bench/equirect.py``). Both for steadyrig and for a plain rotation of the sphere by the
  smoothed gyro path (each frame turned as a whole by its centre row's rotation: no rolling
  shutter correction; same stitch).
- **Speed**: wall and CPU time of ``stabilize_video`` with the lenses from the first run's rig
  file (``--rig``: calibrated once per camera; the seams are solved every run) against a plain
  PyAV decode + encode of the same clip (libx264, same crf/preset, audio copied), in
  interleaved pairs, with the load average of each pair (the machine may be shared); the first
  run, which calibrates, is timed by stage, and so is each ``--rig`` run (wall and CPU).

    .venv/bin/python bench/dual_fisheye_video.py [--seconds 4] [--pairs 3] [--width 1280]

Writes bench/results/dual_fisheye_video.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.equirect import plain_transcode, timed  # noqa: E402
from sensors.equirect import equirect_to_dirs  # noqa: E402
from sensors.quaternion import qconj, qmul, qto_matrix  # noqa: E402
from sensors.rolling_shutter import row_time_s  # noqa: E402
from sensors.spherical import read_spherical  # noqa: E402
from sensors.synthetic import generate_clip  # noqa: E402
from sensors.synthetic.dual_fisheye_truth import (  # noqa: E402
    DualFisheyeClipTruth,
    seam_errors_px,
)
from stabilize.dual_fisheye.options import DualFisheyeOptions  # noqa: E402
from stabilize.dual_fisheye.plan import plan_dual_fisheye  # noqa: E402
from stabilize.dual_fisheye.warp import DualFisheyeWarper  # noqa: E402
from stabilize.horizon import fixed_orientation  # noqa: E402
from stabilize.inputs import resolve_inputs  # noqa: E402
from stabilize.metrics import REFERENCE_WIDTH, band_jitter_px, high_pass_rms  # noqa: E402
from stabilize.params import DEFAULT_SMOOTHING, StabilizeParams  # noqa: E402
from stabilize.pipeline import plan_clip, stabilize_video  # noqa: E402

CRF, PRESET = 18, "medium"
F_SPHERE = REFERENCE_WIDTH / (2 * np.pi)  # px per radian at a 960 px wide equirect


def _angle_deg(R: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))))


def _maps(warper, m):
    mx0, my0, mx1, my1, w0 = warper.dense_maps(m)
    return mx0, my0, mx1, my1, w0


def seam_figures(truth, warper, motion, virtual_quat, frames) -> dict:
    """Per-frame seam residual median / p90 and the frame-to-frame change of the median."""
    med, p90 = [], []
    for i in frames:
        mx0, my0, mx1, my1, w0 = _maps(warper, warper.vertex_map(motion.frame(i),
                                                                 virtual_quat[i]))
        maps = [(np.where(w0 > 0, mx0, np.nan), my0), (np.where(w0 < 1, mx1, np.nan), my1)]
        b = seam_errors_px(truth, i, maps, np.eye(3), step_px=2).between_px
        med.append(float(np.median(b)))
        p90.append(float(np.percentile(b, 90)))
    change = np.abs(np.diff(med))
    return {"median_px": float(np.median(med)), "p90_px": float(np.median(p90)),
            "worst_frame_median_px": float(np.max(med)), "worst_frame_p90_px": float(np.max(p90)),
            "frame_to_frame_change_px": {"median": float(np.median(change)),
                                         "max": float(np.max(change))},
            "frames": len(med)}


def shown_rotations(truth, warper, maps_of, virtual_quat, align, step=8) -> np.ndarray:
    """(F, 3) small rotation (rad) by which each frame's output shows the world off where it
    should (see the module docstring)."""
    w, h = warper.size
    X, Y = np.meshgrid(np.arange(0, w, step) + 0.5, np.arange(0, h, step) + 0.5)
    base = equirect_to_dirs(np.stack([X, Y], -1), w)
    out = []
    for i in range(len(virtual_quat)):
        maps = [a[::step, ::step] for a in _maps(warper, maps_of(i))]
        want = base @ qto_matrix(qmul(align, virtual_quat[i])).T
        A, b = np.zeros((3, 3)), np.zeros(3)
        for k, sel in ((0, maps[4] >= 0.5), (1, maps[4] < 0.5)):
            px = np.stack([maps[2 * k][sel], maps[2 * k + 1][sel]], -1).astype(np.float64)
            d, seen = want[sel], truth.pixel_directions(i, k, px)
            A += len(d) * np.eye(3) - d.T @ d
            b += np.cross(d, seen).sum(axis=0)
        out.append(np.linalg.solve(A, b))
    return np.array(out)


def truth_figures(clip, rig_path: Path) -> dict:
    truth = DualFisheyeClipTruth.load(clip.truth_npz)
    d = np.load(clip.truth_npz)
    params = StabilizeParams(filters=(DEFAULT_SMOOTHING,))
    inputs = resolve_inputs(clip.video, offset_ms=0.0, projection="dual-fisheye")
    plan = plan_clip(inputs, params)
    motion, ctx = plan.motion, plan.path
    w, h = inputs.camera.size
    df = plan_dual_fisheye(clip.video, motion, (w, h), inputs.info.fps,
                           DualFisheyeOptions(rig=rig_path))
    cal = truth.calibration
    res: dict = {"calibration": {
        "centre_error_px": [float(np.hypot(a.cx_px - b.cx_px, a.cy_px - b.cy_px))
                            for a, b in zip(df.pair.lenses, cal.lenses, strict=True)],
        "back_rotation_error_deg": _angle_deg(df.pair.R_rig_from_back.T @ cal.rotations()[1]),
        "usable_fov_deg": list(df.pair.fov_deg)}}
    frames = range(0, len(motion), 2)
    res["seam"] = {
        "seam_warps": seam_figures(truth, df.warper(), motion, ctx.virtual_quat, frames),
        "calibration_only": seam_figures(truth, DualFisheyeWarper(df.pair), motion,
                                         ctx.virtual_quat, frames)}
    t = d["frame_t_s"]
    fps = 1.0 / float(np.median(np.diff(t)))
    align = fixed_orientation(qmul(d["frame_quat"], qconj(motion.frame_quat)))
    warper = df.warper()

    def ours(i):
        return warper.vertex_map(motion.frame(i), ctx.virtual_quat[i])

    def plain(i):
        M = qto_matrix(motion.frame_quat[i]).T @ qto_matrix(ctx.virtual_quat[i])
        return warper.map_rotation(M, i)

    band_rows = d["band_rows"]
    band_t = row_time_s(t[:, None], band_rows[None, :], h, motion.readout_s)
    q_true = d["band_quat"]
    q_rows = np.stack([motion.real.at(band_t[:, b]) for b in range(band_rows.size)], axis=1)
    q_frame = np.broadcast_to(motion.frame_quat[:, None, :], q_true.shape)
    for name, maps_of, q_est in (("steadyrig", ours, q_rows), ("plain_rotation", plain, q_frame)):
        shown = shown_rotations(truth, warper, maps_of, ctx.virtual_quat, align)
        res[name] = {
            "shown_jitter_px_sphere960": high_pass_rms(shown * F_SPHERE, fps),
            "orientation_jitter_px_sphere960": band_jitter_px(t, q_true, q_est, ctx.virtual_quat,
                                                              F_SPHERE, fps)}
    from stabilize.metrics import truth_jitter_px

    res["input"] = {"orientation_jitter_px_sphere960": truth_jitter_px(t, d["frame_quat"],
                                                                       F_SPHERE, fps)}
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--width", type=int, default=1280)
    a = ap.parse_args()
    W = a.width // 4 * 4
    params = StabilizeParams(filters=(DEFAULT_SMOOTHING,), crf=CRF, preset=PRESET)
    results: dict = {"clip": {"width": W, "height": W // 2, "kind": "walk", "seed": 1,
                              "seconds": a.seconds, "readout_ms": 20.0,
                              "scene": "default (4 m sphere, ground 1.5 m below)"},
                     "crf": CRF, "preset": PRESET, "cpu_count": os.cpu_count(),
                     "date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = generate_clip(tmp, kind="walk", seed=1, width=W, height=W // 2,
                             duration_s=a.seconds, readout_s=0.02, projection="dual-fisheye")
        out, rig = tmp / "steady.mp4", tmp / "rig.json"
        t0 = time.perf_counter()
        stage_start: dict = {}

        def seen(p):
            stage_start.setdefault(p.stage, time.perf_counter() - t0)

        res = stabilize_video(clip.video, out, offset_ms=0.0, params=params, progress=seen,
                              dual_fisheye=DualFisheyeOptions(save_rig=rig))
        first_s = time.perf_counter() - t0
        # stages end when the next one reports first: calibration (and the motion analysis)
        # until the first seam keyframe, seams until the first frame is encoded
        with av.open(str(out)) as c, av.open(str(clip.video)) as s:
            v = c.streams.video[0]
            n_out = sum(1 for _ in c.decode(v))
            n_in = sum(1 for _ in s.decode(video=0))
            size = (v.width, v.height)
            audio = len(c.streams.audio)
        sph = read_spherical(out)
        results["output"] = {
            "size": list(size), "frames_in": n_in, "frames_out": n_out, "audio_streams": audio,
            "spherical_metadata": None if sph is None else {
                "projection": sph.projection, "versions": list(sph.versions)},
            "first_run_s": first_s,
            "first_run_stage_starts_s": stage_start, "notes": list(res.notes)}
        results["truth"] = truth_figures(clip, rig)
        print(json.dumps(results["truth"], indent=1), flush=True)
        pairs = []
        for k in range(a.pairs):
            load = os.getloadavg()[0]
            order = ("transcode", "stabilize") if k % 2 == 0 else ("stabilize", "transcode")
            rec = {"load_avg_1min": load, "order": list(order)}
            for name in order:
                if name == "transcode":
                    wall, cpu = timed(lambda: plain_transcode(clip.video, tmp / "plain.mp4"))
                else:
                    # the lenses from the first run's rig file (calibrated once per camera)
                    starts: dict = {}
                    t0, c0 = time.perf_counter(), time.process_time()

                    def mark(p, starts=starts, t0=t0, c0=c0):
                        starts.setdefault(p.stage, [time.perf_counter() - t0,
                                                    time.process_time() - c0])

                    wall, cpu = timed(lambda: stabilize_video(
                        clip.video, tmp / "s.mp4", offset_ms=0.0, params=params,
                        dual_fisheye=DualFisheyeOptions(rig=rig), progress=mark))
                rec[name] = {"wall_s": wall, "cpu_s": cpu}
                if name == "stabilize":
                    # [wall, cpu] s at which the first seam keyframe and the first frame were
                    # done: setup + one keyframe, then the other keyframes
                    rec[name]["stage_done_s"] = starts
            rec["wall_ratio"] = rec["stabilize"]["wall_s"] / rec["transcode"]["wall_s"]
            rec["cpu_ratio"] = rec["stabilize"]["cpu_s"] / rec["transcode"]["cpu_s"]
            pairs.append(rec)
            print(json.dumps(rec), flush=True)
        results["speed"] = {
            "pairs": pairs,
            "median_wall_ratio": float(np.median([p["wall_ratio"] for p in pairs])),
            "median_cpu_ratio": float(np.median([p["cpu_ratio"] for p in pairs])),
            "n_frames": clip.n_frames}
    dst = ROOT / "bench/results/dual_fisheye_video.json"
    dst.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results["output"], indent=1))
    print(f"speed: wall ratio {results['speed']['median_wall_ratio']:.2f}, "
          f"cpu ratio {results['speed']['median_cpu_ratio']:.2f}")
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
