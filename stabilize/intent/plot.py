"""Debug plot of the classified intent over the gyro rates."""

from __future__ import annotations

from pathlib import Path

from sensors.types import GyroLog

from .classify import IntentTrack

__all__ = ["plot_intent"]


def plot_intent(path: str | Path, gyro: GyroLog, track: IntentTrack, title: str = "") -> None:
    """Debug plot: gyro rates (top) and smoothed class probabilities (bottom) over time.

    Written atomically to ``path`` (PNG); used by the debug folder and ``bench/intent.py`` to
    check the classifier on real logs by eye.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sensors.atomic import atomic_output

    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    for k, name in enumerate(("tilt (x)", "pan (y)", "roll (z)")):
        ax0.plot(gyro.t_s, gyro.omega_rad_s[:, k], lw=0.6, label=name)
    ax0.set_ylabel("rate (rad/s)")
    ax0.legend(loc="upper right", fontsize=8)
    ax0.set_title(title or "intent")
    ax1.stackplot(track.t_s, track.probs.T, labels=track.classes)
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("P(intent)")
    ax1.set_xlabel("time on the log clock (s)")
    ax1.legend(loc="upper right", fontsize=8, ncol=len(track.classes))
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
