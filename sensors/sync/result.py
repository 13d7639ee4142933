"""The outcome of a synchronisation and its JSON file."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SyncResult", "write_sync_json"]


@dataclass(frozen=True, eq=False)
class SyncResult:
    """Outcome of a synchronisation.

    Attributes
    ----------
    offset_s : float
        ``t_video = t_log - offset_s`` at ``t_ref_s`` (for log-to-log: ``t_reference = t_gyro -
        offset_s``).
    drift_ppm : float
        Clock drift; offset at video time ``t`` is ``offset_s + drift_ppm*1e-6*(t - t_ref_s)``.
    t_ref_s : float
        Video (reference) time the offset refers to (middle of the fitted windows).
    axes : str
        Signed axis permutation applied to the log (``AXES_ALL``); for log-to-log the nearest one
        to ``rotation``.
    axes_runner_up : str or None
        Second best permutation (None when the axes were given).
    axes_score, axes_runner_up_score : float
        Fraction of the video's rate energy left unexplained by each (lower is better).
    confidence : float
        In [0, 1]: explained fraction times the margin over the second-best offset peak.
    window_t_s, window_offset_s : (W,) float64
        Centre (video time) and fitted offset of each fine-sync window.
    residual_rad_s : float
        RMS rate residual after alignment.
    rotation : (3, 3) float64
        ``omega_reference = rotation @ omega_gyro`` (log-to-log; the axes matrix for video).
    readout_s : float
        Readout time used (video sync).
    curves : dict
        Arrays for plotting: ``t_s`` (reference/video clock), ``video_rad_s`` (N, 3),
        ``gyro_before_rad_s`` (gyro on the reference clock with offset 0 and the log's axes),
        ``gyro_after_rad_s`` (after alignment).
    notes : tuple of str
        Assumptions made (pinhole guess, ...).
    focal_px, focal_width_px : float, int
        Focal length used (estimated when the lens was unknown) at the analysis width.
    frames_decoded : int
        Video frames decoded (``sync_video_to_gyro``; 0 for precomputed samples and logs).
    decode_windows_s : tuple of (start_s, end_s)
        Video-time windows that were decoded and analysed; empty when the whole clip was.
    """

    offset_s: float
    drift_ppm: float
    t_ref_s: float
    axes: str
    axes_runner_up: str | None
    axes_score: float
    axes_runner_up_score: float
    confidence: float
    window_t_s: np.ndarray
    window_offset_s: np.ndarray
    residual_rad_s: float
    rotation: np.ndarray
    readout_s: float = 0.0
    curves: dict = field(default_factory=dict, repr=False)
    notes: tuple = ()
    focal_px: float = float("nan")
    focal_width_px: int = 0
    frames_decoded: int = 0
    decode_windows_s: tuple = ()

    def offset_at(self, t_s: np.ndarray | float) -> np.ndarray | float:
        """Offset (s) at reference/video time(s) ``t_s``, drift included."""
        return self.offset_s + self.drift_ppm * 1e-6 * (np.asarray(t_s) - self.t_ref_s)

    def to_json(self) -> dict:
        """A JSON-ready summary (``offset_ms`` first)."""
        return {
            "offset_ms": self.offset_s * 1e3,
            "offset_s": self.offset_s,
            "drift_ppm": self.drift_ppm,
            "t_ref_s": self.t_ref_s,
            "axes": self.axes,
            "axes_runner_up": self.axes_runner_up,
            "axes_score": self.axes_score,
            "axes_runner_up_score": self.axes_runner_up_score,
            "confidence": self.confidence,
            "residual_rad_s": self.residual_rad_s,
            "readout_ms": self.readout_s * 1e3,
            "focal_px": self.focal_px,
            "focal_width_px": self.focal_width_px,
            "rotation": self.rotation.tolist(),
            "windows": [{"t_s": float(t), "offset_ms": float(o) * 1e3}
                        for t, o in zip(self.window_t_s, self.window_offset_s, strict=True)],
            "frames_decoded": self.frames_decoded,
            "decode_windows_s": [[float(a), float(b)] for a, b in self.decode_windows_s],
            "notes": list(self.notes),
        }


def write_sync_json(result: SyncResult, path: str, extra: dict | None = None) -> None:
    """Write ``result.to_json()`` (plus ``extra`` keys) atomically to ``path``."""
    import json

    from ..atomic import atomic_output

    doc = result.to_json()
    if extra:
        doc.update(extra)
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
