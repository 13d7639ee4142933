"""Debug output of a stabilization run: path plot and side-by-side preview frames (PNG)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from sensors.atomic import atomic_output
from sensors.quaternion import qconj, qlog, qmul

__all__ = ["plot_paths", "write_side_by_side"]


def plot_paths(path: str | os.PathLike, t_s: np.ndarray, real_quat: np.ndarray,
               virtual_quat: np.ndarray, zoom: np.ndarray, title: str = "") -> None:
    """Plot real vs virtual orientation (rotation vector from the first frame, degrees) + zoom."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref = qconj(real_quat[:1])
    r = np.degrees(qlog(qmul(np.broadcast_to(ref, real_quat.shape), real_quat)))
    v = np.degrees(qlog(qmul(np.broadcast_to(ref, virtual_quat.shape), virtual_quat)))
    fig, axes = plt.subplots(4, 1, figsize=(10, 9), sharex=True)
    for k, name in enumerate(("tilt (x)", "pan (y)", "roll (z)")):
        axes[k].plot(t_s, r[:, k], lw=0.8, label="real")
        axes[k].plot(t_s, v[:, k], lw=1.5, label="virtual")
        axes[k].set_ylabel(f"{name} deg")
    axes[0].legend(loc="upper right")
    axes[3].plot(t_s, zoom, color="k")
    axes[3].set_ylabel("zoom")
    axes[3].set_xlabel("video time (s)")
    fig.suptitle(title or "real vs virtual camera")
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def write_side_by_side(folder: str | os.PathLike, index: int, before_bgr: np.ndarray,
                       after_bgr: np.ndarray) -> Path:
    """Write ``NN_frame_<index>.png`` with the input left and the output right."""
    out = Path(folder) / f"02_frame_{index:05d}.png"
    img = np.concatenate([before_bgr, after_bgr], axis=1)
    with atomic_output(out) as tmp:
        ok, buf = cv2.imencode(".png", img)
        tmp.write_bytes(buf.tobytes())
    return out
