"""Benchmark: intent-aware filtering vs a plain Gaussian, bad-region coverage, blur masking.

Run ``.venv/bin/python bench/intent.py [--seeds N] [--out bench/results/intent.json]``.

Everything is measured on generated ground truth at 960x540 (80 degree lens with barrel
distortion, 20 ms rolling-shutter readout), at the trajectory level: the output image motion of
still content at the frame centre follows from the virtual orientations exactly, so no video
needs rendering. The intent is classified from a synthesized 200 Hz gyro log (noise and bias of
the default MEMS part), the real path is the true one.

- residual jitter: RMS (px per frame) of the output's centre motion after removing its slow part
  (a Gaussian of 0.25 s), per axis; the lower the steadier.
- pan preservation: mean horizontal output motion over the input's (1.0 = pan kept).
- undefined pixels: frames whose applied zoom is below what the final path needs, checked with
  33 border points per side (the filter itself uses 9).
- blur: sharpness variation (RMS frame-to-frame change of the blur the displayed motion does not
  explain, ``stabilize.blur.sharpness_variation``) with and without masking, 1/60 s exposure.
- inference: intent features + classifier + HMM smoothing per frame on a 60 s 1 kHz log.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sensors.synthetic import camera_path, synthesize_gyro  # noqa: E402
from sensors.synthetic.clip import default_camera  # noqa: E402
from stabilize.bad_region import required_zoom  # noqa: E402
from stabilize.blur import (  # noqa: E402
    blur_mismatch_px,
    blur_vectors,
    mask_blur,
    output_motion_px_s,
    sharpness_variation,
)
from stabilize.filters import FilterContext, compose_chain, run_chain  # noqa: E402
from stabilize.intent import (  # noqa: E402
    classify_intent,
    plot_intent,
    policy_sigmas,
    smooth_per_axis,
)
from stabilize.params import StabilizeParams  # noqa: E402

FPS = 30.0
READOUT_S = 0.02
MAX_ZOOM = 1.6  # StabilizeParams default
GAUSSIAN_CHAIN = ("gaussian", "bad_region")  # the plain Gaussian (sigma 0.6 s, the default)


def _jitter(cam, frames, quat):
    m = output_motion_px_s(cam, frames, quat) / FPS  # px per frame
    hp = m - gaussian_filter1d(m, sigma=0.25 * FPS, axis=0, mode="nearest")
    return np.sqrt(np.mean(hp[2:-2] ** 2, axis=0)), m.mean(axis=0)


def _run(chain, t, q, cam, real, gyro):
    ctx = FilterContext(t, q, q.copy(), np.ones(t.size), cam, real, FPS, READOUT_S,
                        "top_to_bottom", StabilizeParams(filters=chain, max_zoom=MAX_ZOOM), gyro)
    return run_chain(ctx)


def _case(kind, seed, cam):
    """One generated path (2 s still lead, as generated clips have), both filter chains."""
    path = camera_path(kind, 8.0, seed=seed, rate_hz=500.0, still_lead_s=2.0)
    gyro = synthesize_gyro(path, rate_hz=200.0, seed=seed + 1, bias_rad_s=(0, 0, 0))
    frames = np.arange(2.0, 10.0, 1 / FPS)
    real = path.orientation
    qr = real.at(frames)
    gau = _run(GAUSSIAN_CHAIN, frames, qr, cam, real, gyro)
    its = _run(compose_chain("intent"), frames, qr, cam, real, gyro)
    (j_in, mean_in), (j_gau, mean_gau), (j_int, mean_int) = (
        _jitter(cam, frames, q) for q in (qr, gau.virtual_quat, its.virtual_quat))
    check = required_zoom(cam, real, frames, its.virtual_quat, readout_s=READOUT_S, per_side=33)
    labels = np.array([r["label"] for r in its.extras["intent"]])
    return {
        "kind": kind, "seed": seed,
        "intent_accuracy": float(np.mean(labels == kind)),
        "jitter_in_px": j_in.tolist(), "jitter_gaussian_px": j_gau.tolist(),
        "jitter_intent_px": j_int.tolist(),
        "pan_ratio_intent": float(mean_int[0] / mean_in[0]),
        "pan_ratio_gaussian": float(mean_gau[0] / mean_in[0]),
        "max_zoom_needed": float(its.zoom.max()), "bend_mean": float(its.extras["bend"].mean()),
        "frames_with_undefined_pixels": int(np.sum(check > its.zoom + 1e-3)),
    }


def _blur_case(seed, cam):
    path = camera_path("run", 8.0, seed=seed, rate_hz=600.0)
    frames = np.arange(0.5, 7.5, 1 / FPS)
    e = np.full(frames.size, 0.5 / FPS)
    real = path.orientation
    virt = smooth_per_axis(frames, real.at(frames), np.array([1.5, 1.0, 2.5]))
    b = blur_vectors(cam, real, frames, e)[:, 0]
    before = sharpness_variation(blur_mismatch_px(b, output_motion_px_s(cam, frames, virt), e))
    masked, beta = mask_blur(cam, real, frames, e, virt)
    after = sharpness_variation(blur_mismatch_px(b, output_motion_px_s(cam, frames, masked), e))
    return {"seed": seed, "median_blur_px": float(np.median(np.linalg.norm(b, axis=1))),
            "sharpness_variation_plain_px": before, "sharpness_variation_masked_px": after,
            "reduction": 1.0 - after / before, "mean_beta": float(beta.mean())}


def _timing():
    path = camera_path("walk", 60.0, seed=99, rate_hz=200.0)
    gyro = synthesize_gyro(path, rate_hz=1000.0, seed=3)
    frames = np.arange(1.0, 59.0, 1 / FPS)
    classify_intent(gyro, frames[:10])  # load weights outside the timing
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        classify_intent(gyro, frames)
        runs.append(time.perf_counter() - t0)
    qr = path.orientation.at(frames)
    track = classify_intent(gyro, frames)
    sig = policy_sigmas(track.probs, track.classes)
    t0 = time.perf_counter()
    smooth_per_axis(frames, qr, sig)
    t_smooth = time.perf_counter() - t0
    return {"frames": int(frames.size), "gyro_rate_hz": 1000.0,
            "classify_us_per_frame": 1e6 * float(np.median(runs)) / frames.size,
            "per_axis_smoothing_us_per_frame": 1e6 * t_smooth / frames.size}


def _real_logs(out_dir: Path) -> dict:
    """Intent on the real GoPro samples, with a plot each to check by eye."""
    from sensors.readers import read_log

    root = Path(__file__).resolve().parent.parent / "samples" / "gopro"
    res = {}
    for clip in sorted(root.glob("*.mp4")):
        gyro = read_log(clip).gyro
        frames = np.arange(gyro.t_s[0] + 0.2, gyro.t_s[-1] - 0.2, 1 / FPS)
        track = classify_intent(gyro, frames)
        png = out_dir / f"intent_{clip.stem}.png"
        plot_intent(png, gyro, track, title=f"{clip.name}: intent from the embedded gyro")
        labels, counts = np.unique(np.array(track.labels), return_counts=True)
        res[clip.name] = {"share": {str(k): round(float(c) / frames.size, 3)
                                    for k, c in zip(labels, counts, strict=True)},
                          "plot": str(png)}
        print(f"{clip.name}: " + ", ".join(f"{k} {v:.0%}" for k, v in res[clip.name]["share"]
                                            .items()) + f"  ({png})")
    return res


def _video_case(kind, seed, work: Path) -> dict:
    """End to end: render a 320x180 clip, stabilize it with the Gaussian and the intent chain.

    The output's effective camera is ``R_true R_est^T R_virtual`` (the warp undoes the estimated
    real path, the true one made the picture), so gyro noise, bias and sync error count too.
    Jitter is scaled to a 960 px wide frame (x3) to compare with the figures above.
    """
    import json as _json

    from sensors.quaternion import qconj, qmul
    from sensors.synthetic import generate_clip
    from sensors.types import CameraModel
    from stabilize.params import StabilizeParams
    from stabilize.pipeline import stabilize_video

    clip = generate_clip(work, kind=kind, seed=seed, width=320, height=180, duration_s=8.0,
                         motion_blur=True, exposure_s=0.5 / FPS)
    truth = np.load(clip.truth_npz)
    K = truth["K"].copy()
    K[:2] *= 3.0  # the same lens at 960x540 (principal point offset is irrelevant here)
    cam = CameraModel(K, truth["dist"], "opencv_standard", (960, 540))
    res = {"kind": kind, "seed": seed}
    for name, chain in (("gaussian", GAUSSIAN_CHAIN),
                        ("intent", compose_chain("intent"))):
        side_path = work / f"{clip.name}.{name}.json"
        t0 = time.perf_counter()
        stabilize_video(clip.video, work / f"{clip.name}.{name}.mp4", gyro=clip.gcsv,
                        lens=clip.lens, params=StabilizeParams(filters=chain), sidecar=side_path)
        wall = time.perf_counter() - t0
        frames = [f for f in _json.loads(side_path.read_text())["frames"] if f["stabilized"]]
        idx = np.array([f["index"] for f in frames])
        q_est = np.array([f["real_quat_xyzw"] for f in frames])
        q_v = np.array([f["virtual_quat_xyzw"] for f in frames])
        q_true = truth["frame_quat"][idx]
        eff = qmul(qmul(q_true, qconj(q_est)), q_v)
        t = truth["frame_t_s"][idx]
        (jit, mean_out), (_, mean_in) = (_jitter(cam, t, q) for q in (eff, q_true))
        undefined = sum(f["required_zoom"] > f["zoom"] + 1e-6 for f in frames)
        res[name] = {"jitter_px": jit.tolist(), "pan_ratio": float(mean_out[0] / mean_in[0]),
                     "undefined_frames": int(undefined),
                     "max_zoom": float(max(f["zoom"] for f in frames)), "wall_s": wall}
    return res


def _blur_video_case(kind, seed, work: Path) -> dict:
    """End to end on a rendered blurred clip: 320x180 walking or running, 1/60 s exposure from
    sub-exposure renders, stabilized by ``stabilize_video`` (auto sync, default Gaussian) with
    and without the ``blur`` entry. The blur is the true streak (ground-truth path over each
    exposure); the displayed motion is the output's effective camera ``R_true R_est^T R_virtual``
    (so sync, gyro noise and bias count). Figures in px at 960 px width (x3)."""
    import json as _json

    from sensors.quaternion import qconj, qmul
    from sensors.synthetic import generate_clip
    from sensors.types import CameraModel, Orientation
    from stabilize.pipeline import stabilize_video

    e_s = 0.5 / FPS
    clip = generate_clip(work, kind=kind, seed=seed, width=320, height=180, duration_s=8.0,
                         motion_blur=True, exposure_s=e_s)
    truth = np.load(clip.truth_npz)
    cam = CameraModel(truth["K"], truth["dist"], "opencv_standard", (320, 180))
    true_path = Orientation(truth["path_t_s"], truth["path_quat"])
    res = {"kind": kind, "seed": seed, "exposure_s": e_s, "size": [320, 180]}
    for name, chain in (("plain", GAUSSIAN_CHAIN), ("masked", ("gaussian", "blur", "bad_region"))):
        side_path = work / f"{clip.name}.{name}.json"
        stabilize_video(clip.video, work / f"{clip.name}.{name}.mp4", gyro=clip.gcsv,
                        lens=clip.lens, params=StabilizeParams(filters=chain), sidecar=side_path)
        frames = [f for f in _json.loads(side_path.read_text())["frames"] if f["stabilized"]]
        idx = np.array([f["index"] for f in frames])
        q_est = np.array([f["real_quat_xyzw"] for f in frames])
        q_v = np.array([f["virtual_quat_xyzw"] for f in frames])
        eff = qmul(qmul(truth["frame_quat"][idx], qconj(q_est)), q_v)
        t = truth["frame_t_s"][idx]
        e = np.full(t.size, e_s)
        b = blur_vectors(cam, true_path, t, e)[:, 0]
        mismatch = blur_mismatch_px(b, output_motion_px_s(cam, t, eff), e)
        jit, _ = _jitter(cam, t, eff)
        res[name] = {"sharpness_variation_px": 3.0 * sharpness_variation(mismatch),
                     "mean_unexplained_blur_px": 3.0 * float(mismatch.mean()),
                     "jitter_px": (3.0 * jit).tolist()}
        if name == "plain":
            res["median_blur_px"] = 3.0 * float(np.median(np.linalg.norm(b, axis=1)))
    res["reduction"] = 1.0 - (res["masked"]["sharpness_variation_px"]
                              / res["plain"]["sharpness_variation_px"])
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default="bench/results/intent.json")
    ap.add_argument("--video", action="store_true",
                    help="Also render and stabilize 8 s 320x180 clips end to end (~4 min).")
    ap.add_argument("--blur-video", action="store_true",
                    help="Also render blurred 8 s 320x180 walking and running clips and "
                         "stabilize them with and without blur masking (--seeds of each).")
    args = ap.parse_args(argv)
    cam = default_camera(960, 540)
    cases = [_case(k, 500 + s, cam) for k in ("pan", "walk", "run") for s in range(args.seeds)]
    blur = [_blur_case(700 + s, cam) for s in range(args.seeds)]
    timing = _timing()
    real = _real_logs(Path(args.out).parent)
    video = []
    if args.video:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            video = [_video_case(k, 900 + i, Path(tmp)) for i, k in enumerate(("pan", "walk",
                                                                                "run"))]
        for v in video:
            g, i = v["gaussian"], v["intent"]
            print(f"video {v['kind']}: jitter (h, v) px/frame at 960 px gaussian "
                  f"{g['jitter_px'][0]:.3f},{g['jitter_px'][1]:.3f} intent "
                  f"{i['jitter_px'][0]:.3f},{i['jitter_px'][1]:.3f}; "
                  + (f"pan ratio {g['pan_ratio']:.3f} / {i['pan_ratio']:.3f}; "
                     if v["kind"] == "pan" else "")
                  + f"undefined frames "
                  f"{g['undefined_frames']} / {i['undefined_frames']}; zoom <= "
                  f"{i['max_zoom']:.3f}")
    print(f"{'clip':<10}{'intent':>7}  jitter px/frame (h, v): {'input':>13} {'gaussian':>13} "
          f"{'intent':>13}  pan ratio  zoom  undef")
    for c in cases:
        f = lambda j: f"{j[0]:.3f},{j[1]:.3f}"  # noqa: E731
        pr = f"{c['pan_ratio_intent']:.3f}" if c["kind"] == "pan" else "-"
        print(f"{c['kind'] + str(c['seed']):<10}{c['intent_accuracy']:>7.2f}  "
              f"{'':>24}{f(c['jitter_in_px']):>13} {f(c['jitter_gaussian_px']):>13} "
              f"{f(c['jitter_intent_px']):>13}  "
              f"{pr:>9} {c['max_zoom_needed']:.3f} {c['frames_with_undefined_pixels']:>5}")
    summary = {}
    for kind in ("pan", "walk", "run"):
        cs = [c for c in cases if c["kind"] == kind]
        g = np.mean([np.linalg.norm(c["jitter_gaussian_px"]) for c in cs])
        i = np.mean([np.linalg.norm(c["jitter_intent_px"]) for c in cs])
        summary[kind] = {"jitter_gaussian_px": float(g), "jitter_intent_px": float(i),
                         "intent_over_gaussian": float(i / g),
                         "max_vertical_jitter_intent_px":
                             float(max(c["jitter_intent_px"][1] for c in cs)),
                         "undefined_frames": int(sum(c["frames_with_undefined_pixels"]
                                                     for c in cs))}
        if kind == "pan":
            summary[kind]["pan_ratio_range"] = [min(c["pan_ratio_intent"] for c in cs),
                                                max(c["pan_ratio_intent"] for c in cs)]
        print(f"{kind}: residual jitter intent/gaussian = {i / g:.3f} "
              f"({i:.3f} vs {g:.3f} px/frame)")
    red = [b["reduction"] for b in blur]
    print("blur masking: sharpness variation "
          + ", ".join(f"{b['sharpness_variation_plain_px']:.3f}->"
                      f"{b['sharpness_variation_masked_px']:.3f}" for b in blur)
          + f" px; reduction {np.mean(red):.1%} (min {np.min(red):.1%})")
    blur_video = []
    if args.blur_video:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            blur_video = [_blur_video_case(k, 800 + s, Path(tmp)) for k in ("walk", "run")
                          for s in range(args.seeds)]
        for b in blur_video:
            print(f"blur video {b['kind']}{b['seed']} (median blur "
                  f"{b['median_blur_px']:.1f} px at 960): "
                  f"sharpness variation {b['plain']['sharpness_variation_px']:.3f} -> "
                  f"{b['masked']['sharpness_variation_px']:.3f} px ({b['reduction']:.1%}); "
                  f"jitter h,v {b['plain']['jitter_px'][0]:.3f},{b['plain']['jitter_px'][1]:.3f}"
                  f" -> {b['masked']['jitter_px'][0]:.3f},{b['masked']['jitter_px'][1]:.3f}")
    print(f"inference: {timing['classify_us_per_frame']:.1f} us/frame classify, "
          f"{timing['per_axis_smoothing_us_per_frame']:.1f} us/frame per-axis smoothing")
    out = {"cases": cases, "summary": summary, "blur": blur, "blur_video": blur_video,
           "timing": timing, "real_logs": real, "video": video,
           "settings": {"fps": FPS, "readout_s": READOUT_S, "gaussian_chain": list(GAUSSIAN_CHAIN),
                        "max_zoom": MAX_ZOOM, "size": [960, 540]}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
