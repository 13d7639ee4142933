"""Plot of a sync: video-derived (or reference) and gyro rates before and after alignment."""

from __future__ import annotations

import numpy as np

from ..atomic import atomic_output
from .result import SyncResult

__all__ = ["plot_sync"]


def plot_sync(result: SyncResult, path: str, title: str = "") -> None:
    """Write a PNG with two panels (before / after alignment), one colour per camera axis.

    Solid lines are the video-derived rates (or the reference log), dashed the gyro: before uses
    the log as given (offset 0, its own axes), after the fitted offset, drift and axes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = result.curves
    t = np.asarray(c["t_s"])
    fig, axs = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    colours = ("tab:red", "tab:green", "tab:blue")
    for ax, key, label in ((axs[0], "gyro_before_rad_s", "before (offset 0, log axes)"),
                           (axs[1], "gyro_after_rad_s",
                            f"after (offset {result.offset_s * 1e3:.3f} ms, axes {result.axes})")):
        for k in range(3):
            ax.plot(t, c["video_rad_s"][:, k], color=colours[k], lw=1.0,
                    label=f"video/ref {'xyz'[k]}")
            ax.plot(t, c[key][:, k], color=colours[k], lw=1.0, ls="--",
                    label=f"gyro {'xyz'[k]}")
        ax.set_title(label, fontsize=10)
        ax.set_ylabel("rad/s")
        ax.grid(alpha=0.3)
    axs[0].legend(ncol=6, fontsize=8, loc="upper right")
    axs[1].set_xlabel("time on the video/reference clock (s)")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    with atomic_output(path, suffix=".png") as tmp:
        fig.savefig(str(tmp), dpi=100, format="png")
    plt.close(fig)
