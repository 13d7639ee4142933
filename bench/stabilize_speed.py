"""Speed of the streaming stabilizer vs plain transcodes of the same clip, in the same run.

    .venv/bin/python bench/stabilize_speed.py [--width 1280 --height 720 --seconds 3 --repeat 3]

A generated walking clip is stabilized with ``stabilize_video`` (threads: decode, warp, encode;
libx264 crf 18 / medium) and transcoded (a) by a serial PyAV decode -> encode loop with the same
encoder settings and (b) by the ffmpeg CLI (if installed). Median wall times, ratios, and the
per-frame warp cost (vertex map + densify + remap of the YUV planes) are printed and written to
bench/results/stabilize_speed.json. Numba compilation is warmed up before timing.
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

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sensors.synthetic import generate_clip  # noqa: E402
from stabilize.motion import FrameMotion  # noqa: E402
from stabilize.params import StabilizeParams  # noqa: E402
from stabilize.pipeline import stabilize_video  # noqa: E402
from stabilize.synthesis import MeshWarper  # noqa: E402


def pyav_transcode(src: Path, dst: Path) -> None:
    with av.open(str(src)) as i, av.open(str(dst), "w") as o:
        vin = i.streams.video[0]
        vin.thread_type = "AUTO"
        s = o.add_stream("libx264", rate=vin.average_rate, options={"crf": "18",
                                                                   "preset": "medium"})
        s.width, s.height, s.pix_fmt = vin.width, vin.height, "yuv420p"
        for f in i.decode(vin):
            for p in s.encode(f):
                o.mux(p)
        for p in s.encode(None):
            o.mux(p)


def median_wall(fn, repeat: int) -> float:
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
    return float(np.median(walls))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = generate_clip(tmp, kind="walk", seed=1, width=a.width, height=a.height,
                             duration_s=a.seconds, audio=True)
        params = StabilizeParams()

        def steadyrig():
            stabilize_video(clip.video, tmp / "s.mp4", gyro=clip.gcsv, lens=clip.lens,
                            offset_ms=0.0, params=params)

        steadyrig()  # warm-up (numba cache, imports)
        res = {"size": [a.width, a.height], "seconds": a.seconds, "repeat": a.repeat,
               "steadyrig_s": median_wall(steadyrig, a.repeat),
               "pyav_transcode_s": median_wall(lambda: pyav_transcode(clip.video,
                                                                      tmp / "p.mp4"), a.repeat)}
        if shutil.which("ffmpeg"):
            cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip.video),
                   "-c:v", "libx264", "-crf", "18", "-preset", "medium", "-c:a", "copy",
                   str(tmp / "f.mp4")]
            res["ffmpeg_transcode_s"] = median_wall(lambda: subprocess.run(cmd, check=True),
                                                    a.repeat)
        # per-frame warp cost alone
        from sensors.lens_profile import load_lens_profile

        cam = load_lens_profile(clip.lens)
        w = MeshWarper(cam, params.mesh, params.interpolation)
        q = np.tile([0, 0, 0, 1.0], (17, 1))
        fm = FrameMotion(0, 0.0, np.linspace(0, a.height - 1, 17), np.zeros(17), q,
                         np.broadcast_to(cam.K, (17, 3, 3)).copy())
        rng = np.random.default_rng(0)
        y = rng.integers(0, 255, (a.height, a.width), dtype=np.uint8)
        u = rng.integers(0, 255, (a.height // 2, a.width // 2), dtype=np.uint8)
        w.warp_yuv420(y, u, u, w.vertex_map(fm, q[0], 1.05))
        t0 = time.perf_counter()
        for _ in range(30):
            w.warp_yuv420(y, u, u, w.vertex_map(fm, q[0], 1.05))
        res["warp_ms_per_frame"] = (time.perf_counter() - t0) / 30 * 1e3
    n = int(round(a.seconds * 30))
    res["frames"] = n
    res["ratio_to_pyav_transcode"] = res["steadyrig_s"] / res["pyav_transcode_s"]
    if "ffmpeg_transcode_s" in res:
        res["ratio_to_ffmpeg_transcode"] = res["steadyrig_s"] / res["ffmpeg_transcode_s"]
    out = ROOT / "bench/results/stabilize_speed.json"
    out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
