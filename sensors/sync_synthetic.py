"""Rolling-shutter frames of a rotating camera, rendered from a panorama, for sync tests/bench.

A small, fast renderer for the sync engineer's tests and benchmark: every image row is rendered
with the true orientation at its own capture time (DESIGN.md "Rolling shutter"), so flow measured
on these frames carries the same row-time structure a real CMOS sensor gives. The full clip
generator (MP4 + logs + truth) is ``sensors.synthetic``; this module only needs a ``TruePath``-like
object with ``matrices_at(t_s)``.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .camera import unproject
from .equirect import sample_equirect
from .types import CameraModel

__all__ = ["load_panorama_gray", "render_rs_frames", "write_gray_mp4"]


def load_panorama_gray(path: str, width: int = 2048) -> np.ndarray:
    """The panorama as (width/2, width) uint8 grayscale."""
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        from .errors import InputError

        raise InputError("cannot read panorama image", path)
    return cv2.resize(img, (width, width // 2), interpolation=cv2.INTER_AREA)


def render_rs_frames(
    matrices_at: Callable[[np.ndarray], np.ndarray],
    camera: CameraModel,
    frame_t_s: np.ndarray,
    readout_s: float,
    pano: np.ndarray,
) -> list[np.ndarray]:
    """Render one frame per time; row ``y`` uses ``R_world_from_cam`` at its row time.

    Parameters
    ----------
    matrices_at : callable
        ``t (N,) -> R_world_from_cam (N, 3, 3)`` on the video clock.
    camera : CameraModel
        The lens at the output size.
    frame_t_s : (F,) float64
        Frame (middle-row) times, seconds.
    readout_s : float
        Top-to-bottom readout time, seconds.
    pano : (H, 2H) image
        Equirectangular panorama (the world, at infinity).
    """
    w, h = camera.size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    rays = unproject(camera, np.stack([xs, ys], axis=-1))  # (h, w, 3)
    frac = (np.arange(h) + 0.5) / h - 0.5
    out = []
    for tf in np.asarray(frame_t_s, dtype=np.float64):
        R = matrices_at(tf + frac * readout_s)  # (h, 3, 3)
        dirs = np.einsum("yij,yxj->yxi", R, rays)
        out.append(sample_equirect(pano, dirs, "bilinear"))
    return out


def write_gray_mp4(path: str, frames: list[np.ndarray], fps: int, crf: int = 18) -> np.ndarray:
    """Encode grayscale frames as H.264 MP4 (PTS = frame index / fps); returns the frame times."""
    import av

    from .atomic import atomic_output

    h, w = frames[0].shape
    with atomic_output(path) as tmp:
        with av.open(str(tmp), "w", format="mp4") as c:
            s = c.add_stream("libx264", rate=fps)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            s.options = {"crf": str(crf), "preset": "veryfast"}
            for i, f in enumerate(frames):
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="gray")
                vf = vf.reformat(format="yuv420p")
                vf.pts = i
                for pkt in s.encode(vf):
                    c.mux(pkt)
            for pkt in s.encode():
                c.mux(pkt)
    return np.arange(len(frames)) / float(fps)
