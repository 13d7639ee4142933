"""Draw the README's two pictures from the outputs of ``make demo``.

    make demo
    .venv/bin/steadyrig stitch out/demo/rosette/camera_rig.json out/demo/rosette \
        -o out/img/pano.jpg --debug-dir out/img/stitch_debug
    .venv/bin/python docs/img/make_images.py

``stabilize.png``: one second of the generated walking clip averaged frame by frame, input
beside output (a shaking camera smears the average, a steady one keeps it sharp), above the real
and virtual camera paths from the run's sidecar. ``stitch.png``: the rosette's panorama above
one overlap's 50/50 mix before and after seam repair. Both are palette PNGs under 300 KB.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "out" / "demo"
STITCH_DEBUG = ROOT / "out" / "img" / "stitch_debug"
OUT = Path(__file__).resolve().parent
WIDTH_PX = 800


def _mean_frames(path: Path, first: int, count: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, first)
    acc = None
    for _ in range(count):
        ok, frame = cap.read()
        if not ok:
            break
        acc = frame.astype(np.float64) if acc is None else acc + frame
    cap.release()
    if acc is None:
        sys.exit(f"Error: {path}: no frames")
    return (acc / count).round().astype(np.uint8)


def _label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.rectangle(out, (0, 0), (12 + 9 * len(text), 24), (0, 0, 0), -1)
    cv2.putText(out, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                cv2.LINE_AA)
    return out


def _fit_width(img: np.ndarray, width: int) -> np.ndarray:
    h = round(img.shape[0] * width / img.shape[1])
    return cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA)


def _figure_bgr(fig) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    rgb = np.asarray(Image.open(buf).convert("RGB"))
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def _save_png(img_bgr: np.ndarray, path: Path, colours: int = 192) -> None:
    pil = Image.fromarray(cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB))
    pil.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
                 ).save(path, optimize=True)
    size_kb = path.stat().st_size / 1024
    print(f"{path.relative_to(ROOT)}: {img_bgr.shape[1]}x{img_bgr.shape[0]}, {size_kb:.0f} KB")


def stabilize_picture() -> None:
    fps, first = 30, 45
    half = WIDTH_PX // 2 - 2
    before = _mean_frames(DEMO / "clips" / "walk_s0.mp4", first, fps)
    after = _mean_frames(DEMO / "walk_s0.stabilized.mp4", first, fps)
    tiles = [_label(_fit_width(before, half), "input: 1 s of frames averaged"),
             _label(_fit_width(after, half), "steadyrig: the same frames")]
    gap = np.full((tiles[0].shape[0], WIDTH_PX - 2 * half, 3), 255, np.uint8)
    top = np.hstack([tiles[0], gap, tiles[1]])

    side = json.loads((DEMO / "walk_s0.stabilized.json").read_text())
    frames = [f for f in side["frames"] if f.get("stabilized")]
    t = np.array([f["t_s"] for f in frames])
    real = Rotation.from_quat([f["real_quat_xyzw"] for f in frames])
    virt = Rotation.from_quat([f["virtual_quat_xyzw"] for f in frames])
    ref = real[0].inv()
    real_deg = np.degrees((ref * real).as_rotvec())
    virt_deg = np.degrees((ref * virt).as_rotvec())
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH_PX / 100, 2.3), sharex=True)
    for k, (ax, name) in enumerate(zip(axes, ("tilt (x)", "pan (y)", "roll (z)"), strict=True)):
        ax.plot(t, real_deg[:, k], lw=0.9, color="tab:blue", label="real camera")
        ax.plot(t, virt_deg[:, k], lw=1.8, color="tab:orange", label="steadyrig")
        ax.set_title(f"{name}, deg", fontsize=9)
        ax.set_xlabel("video time, s", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.axvspan(first / fps, (first + fps) / fps, color="0.9", zorder=0)
    axes[0].legend(fontsize=7, loc="lower left", frameon=False)
    fig.tight_layout(pad=0.4)
    plot = _fit_width(_figure_bgr(fig), WIDTH_PX)
    _save_png(np.vstack([top, np.full((6, WIDTH_PX, 3), 255, np.uint8), plot]),
              OUT / "stabilize.png")


def stitch_picture() -> None:
    pano = cv2.imread(str(STITCH_DEBUG / "04_panorama_preview.jpg"))
    pair = "02_03"
    before = cv2.imread(str(STITCH_DEBUG / f"02_before_overlap_{pair}.png"))
    after = cv2.imread(str(STITCH_DEBUG / f"03_after_overlap_{pair}.png"))
    if pano is None or before is None or after is None:
        sys.exit(f"Error: {STITCH_DEBUG}: run steadyrig stitch with --debug-dir first")
    h = min(before.shape[0], after.shape[0])
    w = min(before.shape[1], after.shape[1])
    # the ground below the rig: near, so parallax shows most there
    y0, y1 = int(h * 0.62), int(h * 0.95)
    crops = [before[y0:y1, :w], after[y0:y1, :w]]
    half = WIDTH_PX // 2 - 2
    tiles = [_label(_fit_width(crops[0], half), "overlap before seam repair"),
             _label(_fit_width(crops[1], half), "after")]
    gap = np.full((tiles[0].shape[0], WIDTH_PX - 2 * half, 3), 255, np.uint8)
    bottom = np.hstack([tiles[0], gap, tiles[1]])
    # the rosette covers a band around the horizon: keep the rows it reaches
    rows = np.flatnonzero(pano.max(axis=(1, 2)) > 16)
    pano = pano[max(rows[0] - 8, 0):rows[-1] + 9]
    top = _label(_fit_width(pano, WIDTH_PX), "8-camera rosette, equirectangular (band shown)")
    _save_png(np.vstack([top, np.full((6, WIDTH_PX, 3), 255, np.uint8), bottom]),
              OUT / "stitch.png", colours=224)


if __name__ == "__main__":
    stabilize_picture()
    stitch_picture()
