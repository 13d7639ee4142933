"""Benchmark: the default chain (intent, guarded) against the plain Gaussian, motion above 1 Hz.

Run ``.venv/bin/python bench/intent_guard.py [--seeds 3] [--out bench/results/intent_guard.json]``.

For every path the filter chains ``intent,bad_region`` (the command line's default) and
``gaussian,bad_region`` (sigma 0.6 s) run on the same real path; the figure is the RMS of the
virtual path's angular velocity above 1 Hz (``stabilize.intent.guard.high_frequency_rms``: the
output's apparent rotation, what reads as shake), in deg/s. Beside it: the intent path before
the guard, the share of frames where the guard used the Gaussian's path (share > 0.5) and the
mean share.

- Generated paths: each kind and seed, 8 s after a 2 s still lead, 200 Hz gyro with the default
  MEMS noise, 960x540 80 degree lens with barrel distortion, 20 ms readout; trajectory level.
- The three GoPro samples (``samples/gopro``): their embedded gyro (real even where the picture
  is not), planned as ``steadyrig stabilize`` plans them (``pipeline.plan_clip``: bias, the
  lens found or assumed, the clip's readout).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sensors.synthetic import camera_path, synthesize_gyro  # noqa: E402
from sensors.synthetic.clip import default_camera  # noqa: E402
from stabilize.filters import FilterContext, compose_chain, get_filter, run_chain  # noqa: E402
from stabilize.filters import intent as intent_filter  # noqa: E402
from stabilize.intent.guard import GuardResult, high_frequency_rms  # noqa: E402
from stabilize.params import StabilizeParams  # noqa: E402

FPS = 30.0
READOUT_S = 0.02
KINDS = ("static", "walk", "run", "pan", "tilt", "free")
CHAINS = {"default": compose_chain("intent"), "gaussian": ("gaussian", "bad_region")}


def _deg(x: float) -> float:
    return round(float(np.degrees(x)), 4)


def _unguarded(t_s, intent_quat, gaussian_quat, drawn=None):
    return GuardResult(np.asarray(intent_quat), np.zeros(len(t_s)), {})


def _measure(ctx0: FilterContext, run) -> dict:
    """Both chains, and the default one without its guard, on one context;
    ``run(params) -> final context``."""
    out = {}
    finals, plan_s = {}, {}
    for name, chain in CHAINS.items():
        t0 = time.perf_counter()
        finals[name] = run(StabilizeParams(filters=chain))
        plan_s[name] = round(time.perf_counter() - t0, 3)
    guarded = intent_filter.guard_path
    intent_filter.guard_path = _unguarded  # the chain as it was before the guard
    try:
        finals["default_unguarded"] = run(StabilizeParams(filters=CHAINS["default"]))
    finally:
        intent_filter.guard_path = guarded
    t = finals["default"].t_s
    params = StabilizeParams(filters=CHAINS["default"])
    ctx0 = ctx0.with_(params=params)
    entry = get_filter("intent", params)
    intent, gaussian, _ = entry.paths(ctx0)
    mixed = entry.apply(ctx0).virtual_quat
    share = finals["default"].extras["gaussian_share"]
    out["smoothing_hf_deg_s"] = {
        "input": _deg(high_frequency_rms(ctx0.t_s, ctx0.real_quat)),
        "intent": _deg(high_frequency_rms(ctx0.t_s, intent)),
        "gaussian": _deg(high_frequency_rms(ctx0.t_s, gaussian)),
        "guarded": _deg(high_frequency_rms(ctx0.t_s, mixed))}
    out["chain_hf_deg_s"] = {k: _deg(high_frequency_rms(t, v.virtual_quat))
                             for k, v in finals.items()}
    out["gaussian_frames"] = int(np.sum(share > 0.5))
    out["frames"] = int(share.size)
    out["mean_share"] = round(float(share.mean()), 3)
    out["max_zoom"] = {k: round(float(v.zoom.max()), 3) for k, v in finals.items()}
    out["plan_s"] = plan_s
    h = out["chain_hf_deg_s"]
    out["default_over_gaussian"] = round(h["default"] / max(h["gaussian"], 1e-9), 3)
    return out


def _generated(kind: str, seed: int) -> dict:
    path = camera_path(kind, 8.0, seed=seed, rate_hz=500.0, still_lead_s=2.0)
    gyro = synthesize_gyro(path, rate_hz=200.0, seed=seed + 1)
    frames = np.arange(2.0, 10.0, 1 / FPS)
    real = path.orientation
    q = real.at(frames)
    cam = default_camera(960, 540)

    def ctx(params):
        return FilterContext(frames, q, q.copy(), np.ones(frames.size), cam, real, FPS,
                             READOUT_S, "top_to_bottom", params, gyro)

    res = _measure(ctx(StabilizeParams()), lambda p: run_chain(ctx(p)))
    return {"clip": f"{kind} seed {seed}", **res}


def _gopro(path: Path) -> dict:
    from stabilize.inputs import resolve_inputs
    from stabilize.pipeline import plan_clip

    clip = resolve_inputs(path)

    def run(params):
        return plan_clip(clip, params).path

    first = plan_clip(clip, StabilizeParams(filters=CHAINS["gaussian"]))
    m = first.motion
    i0, i1 = first.frames
    q = m.frame_quat[i0:i1]
    ctx0 = FilterContext(m.frame_t_s[i0:i1], q, q.copy(), np.ones(i1 - i0), m.camera, m.real,
                         clip.info.fps, m.readout_s, m.readout_direction, StabilizeParams(),
                         m.gyro, ois=m.ois)
    return {"clip": path.name, **_measure(ctx0, run)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    rows = [_generated(k, s) for k in KINDS for s in range(1, a.seeds + 1)]
    root = Path(__file__).resolve().parent.parent / "samples" / "gopro"
    rows += [_gopro(p) for p in sorted(root.glob("*.mp4"))]
    print("| clip | input | intent | Gaussian | guarded | chain: intent unguarded | "
          "default | Gaussian | default / Gaussian | Gaussian used (frames) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        m, c = r["smoothing_hf_deg_s"], r["chain_hf_deg_s"]
        print(f"| {r['clip']} | {m['input']:.3f} | {m['intent']:.3f} | {m['gaussian']:.3f} | "
              f"{m['guarded']:.3f} | {c['default_unguarded']:.3f} | {c['default']:.3f} | "
              f"{c['gaussian']:.3f} | {r['default_over_gaussian']:.2f} | "
              f"{r['gaussian_frames']} / {r['frames']} ({r['mean_share']:.2f}) |")
    tot = {k: sum(r["plan_s"][k] for r in rows) for k in CHAINS}
    print("planning time, all clips: " + ", ".join(f"{k} {v:.1f} s" for k, v in tot.items()))
    if a.out:
        a.out.write_text(json.dumps(rows, indent=1))
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
