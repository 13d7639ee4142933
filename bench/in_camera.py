"""Benchmark: lens from the database, and in-camera stabilization undone, on the real GoPro clips.

Run ``.venv/bin/python bench/in_camera.py [--out bench/results/in_camera.json]
[--only follows]``.

1. Does the picture follow the gyro? For ``max-heromode.mp4`` (GoPro MAX, HyperSmooth
   "HS HLevel", per-frame ``CORI``/``IORI``) and, as the non-EIS reference, ``karma.mp4``
   (HERO5, EIS off): the camera rotation measured from the video's optical flow per frame pair
   (``sensors.video_motion.pair_rates``, the whole clip at 320 px, with the clip's database
   lens) against the rotation the motion model predicts for the same frames: the gyro alone,
   and on the MAX also the gyro with the camera's per-frame rotation undone
   (``stabilize.in_camera``); on karma also with the bundled Wide profile. Figures: per-axis
   correlation, the flow-over-model slope per axis (1 when the lens' focal length is right),
   the RMS of flow minus model, and that over the RMS of the flow (1 = the model explains
   nothing; 0 = all of it).
2. Output quality (``bench/_video_quality.py``, from the decoded videos alone, pixels at 960 px
   width): ``karma.mp4`` stabilized with the database's profile (HERO5 Black Medium, what
   ``stabilize`` now takes with no ``--lens``) and with the bundled Wide profile the demo used
   before; ``max-heromode.mp4`` as recorded, stabilized with the rotation undone (the default)
   and stabilized from the gyro alone (``--allow-in-camera-stabilization`` with the ``IORI``
   track withheld), and undone with the camera's ``SROT`` readout (20.6 ms) instead of 0, each
   with its residual shake, roll, wobble and Liu distortion/crop. Every run uses the command's
   default filter chain (``intent``, ``bad_region``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))
sys.path.append(str(BENCH))

from _video_quality import video_quality  # noqa: E402

GOPRO = ROOT / "samples" / "gopro"
WIDE = ROOT / "samples" / "lens_profiles" / "GoPro_HERO5 Black_Wide_NO-EIS_16by9.json"


def _rates(frame_quat: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    from sensors.quaternion import qconj, qlog, qmul

    return qlog(qmul(qconj(frame_quat[:-1]), frame_quat[1:])) / np.diff(t_s)[:, None]


def _fit(flow: np.ndarray, model: np.ndarray, valid: np.ndarray) -> dict:
    f, m = flow[valid], model[valid]
    return {"corr_xyz": [round(float(np.corrcoef(f[:, k], m[:, k])[0, 1]), 3) for k in range(3)],
            # flow over model, per axis: 1 when the lens' focal length is right
            "slope_xyz": [round(float(f[:, k] @ m[:, k] / (m[:, k] @ m[:, k])), 3)
                          for k in range(3)],
            "residual_rad_s": round(float(np.sqrt(np.mean((f - m) ** 2))), 4),
            "residual_over_flow": round(float(np.sqrt(np.mean((f - m) ** 2))
                                              / np.sqrt(np.mean(f ** 2))), 3)}


def follows_gyro(video: Path, lens: Path | None = None) -> dict:
    """Section 1 for one clip (with ``lens``, else the lens ``stabilize`` takes)."""
    from sensors.video_motion import flow_samples_from_video, pair_rates
    from stabilize.in_camera import undo_picture_rotation
    from stabilize.inputs import resolve_inputs
    from stabilize.motion import analyze_motion
    from stabilize.motion_sources import analyze_clip_motion

    clip = resolve_inputs(video, lens=lens)
    cm = analyze_clip_motion(clip)
    m = cm.motion
    fs = flow_samples_from_video(str(video), clip.camera, readout_direction="top_to_bottom")
    pr = pair_rates(fs, clip.readout_s)
    out = {"lens": clip.camera.meta.get("name"), "offset_ms": round(clip.offset_s * 1e3, 2),
           "readout_ms": round(clip.readout_s * 1e3, 2),
           "flow_rms_rad_s": round(float(np.sqrt(np.mean(pr.omega_rad_s[pr.valid] ** 2))), 3)}
    if clip.picture_rotation is None:
        out["gyro"] = _fit(pr.omega_rad_s, _rates(m.frame_quat, m.frame_t_s), pr.valid)
        return out
    # the gyro alone, as an EIS-off clip would be read (offset 0, the log's readout)
    raw = analyze_motion(clip.log, clip.frame_t_s, clip.camera, offset_s=0.0,
                         readout_s=clip.log.readout_s or 0.0, bias_rad_s=m.bias_rad_s)
    pr_raw = pair_rates(fs, clip.log.readout_s or 0.0)
    out["gyro"] = _fit(pr_raw.omega_rad_s, _rates(raw.frame_quat, raw.frame_t_s), pr_raw.valid)
    # the gyro lined up with CORI (offset, readout 0), the rotation not undone
    out["gyro_aligned"] = _fit(pr.omega_rad_s, _rates(m.frame_quat, m.frame_t_s), pr.valid)
    u = undo_picture_rotation(m, clip.picture_rotation)
    out["undone"] = _fit(pr.omega_rad_s, _rates(u.frame_quat, u.frame_t_s), pr.valid)
    return out


def cli_params():
    """The settings ``steadyrig stabilize`` runs with when given no options."""
    from stabilize.filters import compose_chain
    from stabilize.params import DEFAULT_SMOOTHING, StabilizeParams

    return StabilizeParams(filters=compose_chain(DEFAULT_SMOOTHING, (), horizon_lock=False,
                                                 blur_mask=False))


def stabilized_quality(video: Path, out: Path, **kw) -> dict:
    """Stabilize ``video`` as ``steadyrig stabilize`` does by default (``stabilize_video(**kw)``
    with the command's filter chain) and measure the output."""
    from sensors.video import probe_video
    from stabilize.pipeline import stabilize_video

    t = time.perf_counter()
    res = stabilize_video(video, out, params=cli_params(), **kw)
    q = video_quality(out, probe_video(video).fps, reference=video)
    q["zoom_max"] = round(float(res.zoom.max()), 3)
    q["lens"] = res.camera.meta.get("name") or res.camera.meta.get("assumed")
    q["wall_s"] = round(time.perf_counter() - t, 1)
    return q


def _without_iori(video: Path):
    from sensors.readers import read_log

    log = read_log(video)
    meta = dataclasses.replace(log.camera_meta, image_orientation=None,
                               camera_orientation=None)
    return dataclasses.replace(log, camera_meta=meta)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "in_camera.json")
    ap.add_argument("--work", type=Path, default=Path("/tmp/steadyrig_bench_in_camera"))
    ap.add_argument("--only", choices=("follows",), default=None,
                    help="only section 1 (printed, nothing written)")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    karma, maxc = GOPRO / "karma.mp4", GOPRO / "max-heromode.mp4"
    res: dict = {"follows_gyro": {}, "quality": {}}
    for v, lens, label in ((maxc, None, maxc.name), (karma, None, karma.name),
                           (karma, WIDE, "karma.mp4 (bundled Wide profile)")):
        print(f"flow vs gyro: {label}", flush=True)
        res["follows_gyro"][label] = follows_gyro(v, lens)
    if args.only == "follows":
        print(json.dumps(res, indent=1))
        return 0
    from sensors.video import probe_video

    runs = {
        "karma": [("input", None, {}),
                  ("database", "karma_db.mp4", {}),
                  ("bundled_wide", "karma_wide.mp4", {"lens": WIDE})],
        "max-heromode": [("input", None, {}),
                         ("undone", "max_undone.mp4", {}),
                         ("undone_readout_srot", "max_undone_srot.mp4", {"readout_ms": 20.6}),
                         ("gyro_only", "max_gyro.mp4",
                          {"gyro": _without_iori(maxc), "allow_in_camera_stabilization": True})],
    }
    for name, cases in runs.items():
        video = GOPRO / f"{name}.mp4"
        res["quality"][name] = {}
        for label, out, kw in cases:
            print(f"quality: {name} {label}", flush=True)
            if out is None:
                q = video_quality(video, probe_video(video).fps)
            else:
                q = stabilized_quality(video, args.work / out, **kw)
            res["quality"][name][label] = q
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
