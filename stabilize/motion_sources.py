"""What moved the camera, frame by frame: the gyro, the video's own flow, or nothing known.

``analyze_clip_motion`` turns a clip's inputs into the real motion the filter chain plans from:

1. the gyro bias, from still stretches of the log or, where it never rests, from the video
   (``video_bias``);
2. the motion per row band (``motion.analyze_motion``), whose first and last frames are covered by
   holding the boundary rate;
3. where a longer stretch has no log (one that ends early, a gap), rates from the video's flow
   aligned to the gyro (``video_fill``);
4. frames even that cannot cover are passed through: the real camera is held still across them,
   and the filter chain eases the correction out before them and back in after them
   (``filters.passthrough``).

The per-frame source (``gyro``, ``video``, ``none``) goes to the sidecar.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sensors.errors import CoverageError
from sensors.orientation import estimate_bias
from sensors.progress import get_logger, note
from sensors.types import GyroLog, SensorLog

from .inputs import ClipInputs
from .motion import MotionTrack, analyze_motion
from .video_bias import bias_from_video
from .video_fill import fill_from_video, frame_sources, uncovered_runs

__all__ = ["ClipMotion", "analyze_clip_motion", "freeze_holes"]

_log = get_logger(__name__)


@dataclass(frozen=True, eq=False)
class ClipMotion:
    """The real motion of every frame of a clip and where it came from.

    Attributes
    ----------
    motion : MotionTrack
        Real motion per frame and row band; ``covered`` is True where a source measured it.
    sources : (F,) str
        ``gyro``, ``video`` or ``none`` per frame.
    bias_source : str
        ``stillness``, ``video`` or ``none``.
    """

    motion: MotionTrack
    sources: np.ndarray
    bias_source: str

    @property
    def passthrough(self) -> np.ndarray:
        """Frames with no motion source (drawn uncorrected)."""
        return self.sources == "none"


def freeze_holes(gyro: GyroLog) -> GyroLog:
    """The log with zero-rate samples across its gaps: the camera held still where unmeasured.

    Integrating across a gap would invent a rotation; holding still lets the warp draw those
    frames uncorrected while the log's own stretches keep their motion.
    """
    gaps = gyro.gaps()
    if not gaps:
        return gyro
    t = gyro.t_s
    dt = float(np.median(np.diff(t)))
    ts = [t]
    for a, b in gaps:
        n = int(np.floor((b - a) / dt))
        if n > 1:
            ts.append(a + dt * np.arange(1, n))
    tt = np.concatenate(ts)
    order = np.argsort(tt, kind="stable")
    zeros = np.zeros((tt.size - t.size, 3))
    w = np.concatenate([gyro.omega_rad_s, zeros])[order]
    acc = gyro.accel_m_s2
    if acc is not None:
        acc = np.stack([np.interp(tt[order], t, acc[:, k]) for k in range(3)], axis=1)
    return GyroLog(tt[order], w, acc, gyro.source)


def _on_log_clock(gyro_on_video: GyroLog, offset_s: float, bias: np.ndarray) -> GyroLog:
    return GyroLog(gyro_on_video.t_s + offset_s, gyro_on_video.omega_rad_s + bias,
                   gyro_on_video.accel_m_s2, gyro_on_video.source)


def _with_gyro(log: SensorLog, gyro: GyroLog) -> SensorLog:
    return replace(log, gyro=gyro)


def _describe(runs: list[tuple[int, int]], t_s: np.ndarray) -> str:
    return ", ".join(f"{a}..{b - 1} ({t_s[a]:.2f}..{t_s[b - 1]:.2f} s)" for a, b in runs)


def analyze_clip_motion(clip: ClipInputs, bands: int = 17, strict: bool = False,
                        use_video: bool = True) -> ClipMotion:
    """The real motion of every frame of ``clip``, from the gyro and, where it has none, the
    video.

    Parameters
    ----------
    clip : ClipInputs
        The clip, its log, lens, readout and offset (``inputs.resolve_inputs``).
    bands : int
        Row bands per frame.
    strict : bool
        Refuse a log that leaves frames uncovered (``CoverageError``) instead of filling them.
    use_video : bool
        Measure the bias and fill holes from the video's flow (else hold still / leave the bias).

    Returns
    -------
    ClipMotion
    """
    log = clip.log
    gyro = log.gyro
    notes = clip.notes
    bias, still_s = estimate_bias(gyro)
    bias_source = "stillness" if still_s > 0 else "none"
    direction = log.readout_direction
    row_wise = direction in ("top_to_bottom", "bottom_to_top")
    if still_s > 0:
        note(notes, _log, f"gyro bias estimated from {still_s:.1f} s of stillness")
    elif use_video and row_wise:
        vb = bias_from_video(str(clip.video), gyro.shifted(clip.offset_s), clip.frame_t_s,
                             clip.video_motion_camera, clip.readout_s,
                             readout_direction=direction)
        note(notes, _log, vb.note)
        if vb.bias_rad_s is not None:
            bias, bias_source = vb.bias_rad_s, "video"
    else:
        note(notes, _log, "no still stretch in the log: gyro bias not removed")

    def analyze(source_log):
        return analyze_motion(source_log, clip.frame_t_s, clip.camera, offset_s=clip.offset_s,
                              readout_s=clip.readout_s, bands=bands, bias_rad_s=bias)

    motion = analyze(log)
    by_gyro = motion.covered.copy()
    if not by_gyro.all():
        runs = uncovered_runs(by_gyro)
        msg = f"the gyro log does not cover frames {_describe(runs, motion.frame_t_s)}"
        if strict:
            raise CoverageError(msg + " (refused with --strict)", str(clip.video))
        note(notes, _log, msg)
        if use_video and row_wise:
            fill = fill_from_video(str(clip.video), motion.gyro, motion.frame_t_s, by_gyro,
                                   clip.video_motion_camera, clip.readout_s,
                                   readout_direction=direction)
            for n in fill.notes:
                note(notes, _log, n)
            if fill.filled_s:
                motion = analyze(_with_gyro(log, _on_log_clock(fill.gyro, clip.offset_s, bias)))
    covered = motion.covered.copy()
    if not covered.all():
        held = freeze_holes(motion.gyro)
        motion = replace(analyze(_with_gyro(log, _on_log_clock(held, clip.offset_s, bias))),
                         covered=covered)
        runs = uncovered_runs(covered)
        note(notes, _log, f"no camera motion known for frames {_describe(runs, motion.frame_t_s)}"
                          ": drawn uncorrected, the correction eased out and in around them")
    return ClipMotion(motion, frame_sources(by_gyro, covered), bias_source)
