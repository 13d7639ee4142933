"""Benchmark: stabilization of equirectangular (360) clips against the truth, and its speed.

A generated 360 clip (``generate_clip(..., projection="equirect")``, 1280x640, walking shake,
rolling shutter 20 ms, gyro + accelerometer log) is stabilized by ``stabilize_video`` and
measured:

- **Residual jitter against the truth**, two ways, both >1 Hz high-pass RMS:
  *orientation* - per truth row band, the orientation the output shows there
  (``q_true(t_row) q_est(t_row)^-1 q_virtual``) as ``stabilize.metrics.band_jitter_px``, in px
  on the sphere at a 960 px wide equirect (152.8 px/rad) and in a 90-degree forward view 960 px
  wide (480 px/rad), RMS over bands; *image* - every encoded output frame against the ideal
  frame (the panorama seen by the virtual camera, rendered directly), shift of three latitude
  strips (+-45 degrees) scaled to 960 px wide, by phase correlation, RMS over strips. The input
  is measured against the same ideal frames (its jitter is the shake the output removes).
- The same for a **plain rotation of the sphere by the smoothed gyro path** (each frame rotated
  as a whole by its centre row's rotation: no rolling-shutter correction), warped in process.
- Output size, zoom / crop ratio, pixels left undefined (none can be: every output pixel has a
  source), spherical metadata read back.
- **Speed**: wall and CPU time of ``stabilize_video`` against a plain PyAV decode + encode of the
  same clip (libx264, same crf/preset, audio copied), in interleaved pairs; the load average is
  reported with each pair (the machine may be shared).

    .venv/bin/python bench/equirect.py [--seconds 4] [--pairs 3]

Writes bench/results/equirect.json.
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
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sensors.quaternion import qconj, qmul, qto_matrix  # noqa: E402
from sensors.rolling_shutter import row_time_s  # noqa: E402
from sensors.spherical import read_spherical  # noqa: E402
from sensors.synthetic import generate_clip, load_panorama, panorama_for_focal  # noqa: E402
from sensors.synthetic.render import render_equirect_frame  # noqa: E402
from stabilize.horizon import fixed_orientation  # noqa: E402
from stabilize.inputs import resolve_inputs  # noqa: E402
from stabilize.metrics import (  # noqa: E402
    REFERENCE_WIDTH,
    band_jitter_px,
    high_pass_rms,
    truth_jitter_px,
)
from stabilize.params import DEFAULT_SMOOTHING, StabilizeParams  # noqa: E402
from stabilize.pipeline import plan_clip, stabilize_video  # noqa: E402
from stabilize.sphere_warp import SphereWarper  # noqa: E402

CRF, PRESET = 18, "medium"
F_SPHERE = REFERENCE_WIDTH / (2 * np.pi)  # px per radian at a 960 px wide equirect
F_VIEW = REFERENCE_WIDTH / 2  # px per radian at the centre of a 90-degree view 960 px wide


def plain_transcode(src: Path, dst: Path) -> None:
    """Decode and re-encode (libx264, same crf/preset), audio copied: the speed baseline."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        ain = inp.streams.audio[0] if inp.streams.audio else None
        vout = out.add_stream("libx264", rate=vin.average_rate,
                              options={"crf": str(CRF), "preset": PRESET})
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
        vout.codec_context.thread_type = "AUTO"
        aout = out.add_stream_from_template(ain) if ain is not None else None
        for pkt in inp.demux(*([vin] + ([ain] if ain is not None else []))):
            if pkt.stream is vin:
                for fr in pkt.decode():
                    for p in vout.encode(fr):
                        out.mux(p)
            elif pkt.dts is not None:
                pkt.stream = aout
                out.mux(pkt)
        for p in vout.encode(None):
            out.mux(p)


#: Strips of latitude (degrees, top to bottom) measured separately: rows captured at different
#: times show rolling-shutter error as strips moving apart.
STRIPS_DEG = ((45, 15), (15, -15), (-15, -45))


def _strip(gray: np.ndarray, lat_deg: tuple[float, float]) -> np.ndarray:
    """A strip of latitudes of an equirect frame, scaled to 960 px wide, float32."""
    h, w = gray.shape
    r0, r1 = (int(round((0.5 - lat / 180.0) * h)) for lat in lat_deg)
    s = REFERENCE_WIDTH / w
    return cv2.resize(gray[r0:r1], (REFERENCE_WIDTH, int(round((r1 - r0) * s))),
                      interpolation=cv2.INTER_AREA).astype(np.float32)


def image_shifts(frames: list[np.ndarray], ideal: list[np.ndarray]) -> np.ndarray:
    """(F, S, 2) shift (px at 960 wide) of each latitude strip of each frame against its ideal,
    by phase correlation."""
    wins: dict = {}
    out = []
    for a, b in zip(frames, ideal, strict=True):
        row = []
        for lat in STRIPS_DEG:
            fa, fb = _strip(a, lat), _strip(b, lat)
            if fa.shape not in wins:
                wins[fa.shape] = cv2.createHanningWindow(fa.shape[::-1], cv2.CV_32F)
            (dx, dy), _ = cv2.phaseCorrelate(fb, fa, wins[fa.shape])
            row.append((dx, dy))
        out.append(row)
    return np.array(out)


def decode_gray(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray") for f in c.decode(video=0)]


def truth_and_images(clip, out_video: Path) -> dict:
    """Residual jitter of the output and of a plain sphere rotation, against the truth."""
    d = np.load(clip.truth_npz)
    params = StabilizeParams(filters=(DEFAULT_SMOOTHING,))
    inputs = resolve_inputs(clip.video, offset_ms=0.0, projection="equirect")
    plan = plan_clip(inputs, params)
    motion, ctx = plan.motion, plan.path
    w, h = inputs.camera.size
    t = d["frame_t_s"]
    fps = 1.0 / float(np.median(np.diff(t)))
    band_rows = d["band_rows"]
    band_t = row_time_s(t[:, None], band_rows[None, :], h, motion.readout_s)
    q_true = d["band_quat"]  # (F, B, 4)
    q_est_rows = np.stack([motion.real.at(band_t[:, b]) for b in range(band_rows.size)], axis=1)
    q_est_frame = np.broadcast_to(motion.frame_quat[:, None, :], q_true.shape)
    res: dict = {}
    for name, q_est in (("steadyrig", q_est_rows), ("plain_rotation", q_est_frame)):
        for label, f in (("sphere960", F_SPHERE), ("view960", F_VIEW)):
            res.setdefault(name, {})[f"orientation_jitter_px_{label}"] = band_jitter_px(
                t, q_true, q_est, ctx.virtual_quat, f, fps)
    shown_in = d["frame_quat"]
    res["input"] = {"orientation_jitter_px_sphere960": truth_jitter_px(t, shown_in, F_SPHERE,
                                                                       fps),
                    "orientation_jitter_px_view960": truth_jitter_px(t, shown_in, F_VIEW, fps)}

    # the ideal output: the panorama seen by the virtual camera (aligned to the true world by
    # the mean of q_true q_est^-1, the gyro-integrated world's constant offset)
    align = fixed_orientation(qmul(d["frame_quat"], qconj(motion.frame_quat)))
    pano = panorama_for_focal(load_panorama(gray=True), w / (2 * np.pi))
    ideal = [render_equirect_frame(pano, (w, h), qto_matrix(qmul(align, q)))
             for q in ctx.virtual_quat]
    src = decode_gray(clip.video)
    warper = SphereWarper((w, h))
    plain = []
    ours = []
    for i, frame in enumerate(src):
        M = qto_matrix(motion.frame_quat[i]).T @ qto_matrix(ctx.virtual_quat[i])
        plain.append(warper.warp_gray(frame, warper.map_rotation(M)))
        ours.append(warper.warp_gray(frame, warper.vertex_map(motion.frame(i),
                                                              ctx.virtual_quat[i])))
    encoded = decode_gray(out_video)
    for name, frames in (("steadyrig", encoded), ("steadyrig_unencoded", ours),
                         ("plain_rotation", plain), ("input", src)):
        s = image_shifts(frames, ideal)
        per_strip = [high_pass_rms(s[:, k], fps) for k in range(s.shape[1])]
        res.setdefault(name, {}).update({
            "image_jitter_px960": float(np.sqrt(np.mean(np.square(per_strip)))),
            "image_jitter_px960_per_strip": per_strip,
            "image_offset_px960_median": float(np.median(np.hypot(s[..., 0], s[..., 1]))),
        })
    return res


def timed(fn) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--pairs", type=int, default=3)
    a = ap.parse_args()
    params = StabilizeParams(filters=(DEFAULT_SMOOTHING,), crf=CRF, preset=PRESET)
    results: dict = {"clip": {"width": 1280, "height": 640, "kind": "walk", "seed": 1,
                              "seconds": a.seconds, "readout_ms": 20.0},
                     "crf": CRF, "preset": PRESET, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = generate_clip(tmp, kind="walk", seed=1, width=1280, height=640,
                             duration_s=a.seconds, readout_s=0.02, projection="equirect")
        out = tmp / "steady.mp4"
        res = stabilize_video(clip.video, out, offset_ms=0.0, params=params)  # warm-up, too
        with av.open(str(out)) as c:
            size = (c.streams.video[0].width, c.streams.video[0].height)
        y = decode_gray(out)
        sph = read_spherical(out)
        results["output"] = {
            "size": list(size), "same_size": list(size) == [1280, 640],
            "zoom_max": float(res.zoom.max()), "crop_ratio": float(1.0 / res.zoom.max()),
            "min_luma": int(min(f.min() for f in y)),
            "spherical_metadata": None if sph is None else {
                "projection": sph.projection, "versions": list(sph.versions)},
            "notes": list(res.notes)}
        results["truth"] = truth_and_images(clip, out)
        pairs = []
        for k in range(a.pairs):
            load = os.getloadavg()[0]
            order = ("transcode", "stabilize") if k % 2 == 0 else ("stabilize", "transcode")
            rec = {"load_avg_1min": load, "order": list(order)}
            for name in order:
                if name == "transcode":
                    wall, cpu = timed(lambda: plain_transcode(clip.video, tmp / "plain.mp4"))
                else:
                    wall, cpu = timed(lambda: stabilize_video(clip.video, tmp / "s.mp4",
                                                              offset_ms=0.0, params=params))
                rec[name] = {"wall_s": wall, "cpu_s": cpu}
            rec["wall_ratio"] = rec["stabilize"]["wall_s"] / rec["transcode"]["wall_s"]
            rec["cpu_ratio"] = rec["stabilize"]["cpu_s"] / rec["transcode"]["cpu_s"]
            pairs.append(rec)
            print(json.dumps(rec))
        results["speed"] = {
            "pairs": pairs,
            "median_wall_ratio": float(np.median([p["wall_ratio"] for p in pairs])),
            "median_cpu_ratio": float(np.median([p["cpu_ratio"] for p in pairs])),
            "n_frames": clip.n_frames}
    dst = ROOT / "bench/results/equirect.json"
    dst.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({k: results[k] for k in ("output", "truth")}, indent=1))
    print(f"speed: wall ratio {results['speed']['median_wall_ratio']:.2f}, "
          f"cpu ratio {results['speed']['median_cpu_ratio']:.2f}")
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
