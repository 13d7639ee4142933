"""Facts about a video from its container (PyAV), and whether a sensor log covers it.

Frame times are PTS x time_base in seconds (docs/architecture.md "Time"), read from the demuxed
packets
sorted by PTS, so no frame is decoded for them. The rotation players apply comes from the
stream's ``rotate`` tag or, in current FFmpeg, the display-matrix side data that PyAV exposes as
``VideoFrame.rotation`` on the first decoded frame (counter-clockwise degrees).

A damaged file is described as far as it can be read: an MP4 without its index (``moov``) is
refused with a message saying so; one cut short, or with a read error, is the frames before
the end (``VideoInfo.meta``). Damage inside the media data shows only when decoding
(``sensors.damage``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import InputError

__all__ = ["VideoInfo", "Coverage", "probe_video", "check_coverage", "mp4_index_missing"]


@dataclass(frozen=True, eq=False)
class VideoInfo:
    """What the container says about the first video stream.

    Attributes
    ----------
    path : str
    width, height : int
        Coded frame size in pixels (before any display rotation).
    fps : float
        Average frame rate; ``fps_fraction`` keeps it exact (e.g. 30000/1001).
    n_frames : int
        Number of frames (packets with a PTS).
    duration_s : float
        Last frame time minus first plus one mean frame interval.
    frame_t_s : (F,) float64
        Presentation time of each frame, PTS x time_base, increasing.
    time_base : Fraction
    rotation_deg : int
        Counter-clockwise display rotation (0, 90, 180 or 270).
    has_audio : bool
    codec, pix_fmt : str
    color_range : int
        The stream's colour range as FFmpeg numbers it: 0 unspecified, 1 limited (MPEG),
        2 full (JPEG).
    meta : dict
        ``dropped_duplicate_pts``; ``declared_frames`` when an MP4/MOV frame table lists more
        frames than the file holds (cut short); ``read_error`` when reading stopped at an error
        (the frames before it are the clip, as ffmpeg takes them).
    """

    path: str
    width: int
    height: int
    fps: float
    n_frames: int
    duration_s: float
    frame_t_s: np.ndarray
    time_base: Fraction
    rotation_deg: int = 0
    has_audio: bool = False
    codec: str = ""
    pix_fmt: str = ""
    fps_fraction: Fraction | None = None
    meta: dict = field(default_factory=dict)
    color_range: int = 0

    def as_dict(self) -> dict:
        """JSON-friendly summary (no per-frame array)."""
        return {
            "path": self.path,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "fps_fraction": str(self.fps_fraction) if self.fps_fraction else None,
            "n_frames": self.n_frames,
            "duration_s": self.duration_s,
            "first_frame_t_s": float(self.frame_t_s[0]),
            "time_base": str(self.time_base),
            "rotation_deg": self.rotation_deg,
            "has_audio": self.has_audio,
            "codec": self.codec,
            "pix_fmt": self.pix_fmt,
        }


def _rotation(stream, container) -> int:
    tag = (stream.metadata or {}).get("rotate")
    if tag is not None:
        try:
            return int(round(float(tag))) % 360
        except ValueError:
            pass
    try:
        container.seek(0)
        for frame in container.decode(stream):
            return int(round(float(getattr(frame, "rotation", 0) or 0))) % 360
    except Exception:  # an undecodable first frame leaves the rotation unknown = 0
        return 0
    return 0


def mp4_index_missing(path: str | os.PathLike) -> bool:
    """True for an MP4/MOV file with media data but no index (``moov`` box): a recording cut
    off before the camera finalised it, which no player can read as it stands."""
    p = Path(path)
    seen: set[bytes] = set()
    try:
        size = p.stat().st_size
        with open(p, "rb") as f:
            pos = 0
            while pos + 8 <= size and len(seen) < 64:
                f.seek(pos)
                head = f.read(16)
                n, kind = int.from_bytes(head[:4], "big"), head[4:8]
                if n == 1 and len(head) >= 16:
                    n = int.from_bytes(head[8:16], "big")
                elif n == 0:
                    n = size - pos
                if n < 8 or not kind.isalnum() and kind != b"free":
                    break
                seen.add(kind)
                pos += n
    except OSError:
        return False
    return bool(seen & {b"ftyp", b"mdat"}) and not seen & {b"moov", b"moof"}


def _declared(stream, container, n_frames: int) -> dict:
    """``{"declared_frames": N}`` when an MP4/MOV frame table lists more frames than the file
    holds (a file cut short); nothing otherwise (other containers state no reliable count)."""
    declared = int(getattr(stream, "frames", 0) or 0)
    fmt = str(getattr(container.format, "name", "") or "")
    if declared > n_frames and ("mp4" in fmt or "mov" in fmt):
        return {"declared_frames": declared}
    return {}


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Read a video's facts from its container without decoding it (one frame for rotation).

    Raises
    ------
    InputError
        Missing/empty file, not a media file, no video stream, or no frames.
    """
    import av  # deferred: importing PyAV is not free

    p = Path(path)
    sp = str(p)
    if not p.exists():
        raise InputError("video not found", sp)
    if p.is_dir() or p.stat().st_size == 0:
        raise InputError("video file is empty or a folder", sp)
    try:
        container = av.open(sp)
    except Exception as exc:
        if mp4_index_missing(p):
            raise InputError("the MP4 index (moov box) is missing, as when a recording is cut "
                             "off before the camera finalises it; the video cannot be read "
                             "without it", sp) from None
        msg = getattr(exc, "strerror", None) or " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"not a readable video ({msg})", sp) from None
    with container:
        if not container.streams.video:
            raise InputError("file has no video stream", sp)
        stream = container.streams.video[0]
        tb = stream.time_base
        if tb is None:
            raise InputError("video stream has no time base", sp)
        pts: list[int] = []
        read_error = None
        try:
            for pk in container.demux(stream):
                if pk.pts is not None:
                    pts.append(pk.pts)
        except Exception as exc:
            # as ffmpeg does, a read error ends the input: the frames before it are the clip
            read_error = " ".join(str(exc).split()) or type(exc).__name__
            if not pts:
                raise InputError(f"video stream is corrupt ({read_error})", sp) from None
        if not pts:
            raise InputError("video stream holds no frames", sp)
        pts_arr = np.unique(np.asarray(pts, dtype=np.int64))
        t = pts_arr.astype(np.float64) * float(tb)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if rate:
            fps_fraction = Fraction(rate)
        elif t.size > 1:
            fps_fraction = Fraction((t.size - 1) / (t[-1] - t[0])).limit_denominator(1001)
        else:
            raise InputError("cannot tell the frame rate of a single-frame video", sp)
        fps = float(fps_fraction)
        rotation = _rotation(stream, container)
        cc = stream.codec_context
        fmt = getattr(cc, "format", None)
        info = VideoInfo(
            path=sp,
            width=int(stream.width),
            height=int(stream.height),
            fps=fps,
            n_frames=int(t.size),
            duration_s=float(t[-1] - t[0] + 1.0 / fps),
            frame_t_s=t,
            time_base=Fraction(tb),
            rotation_deg=rotation,
            has_audio=bool(container.streams.audio),
            codec=str(cc.name or ""),
            pix_fmt=str(getattr(fmt, "name", "") or ""),
            fps_fraction=fps_fraction,
            meta={"dropped_duplicate_pts": len(pts) - int(pts_arr.size),
                  **_declared(stream, container, int(t.size)),
                  **({"read_error": read_error} if read_error else {})},
            color_range=int(getattr(cc, "color_range", 0) or 0),
        )
    return info


@dataclass(frozen=True, eq=False)
class Coverage:
    """How much of a clip a sensor log covers (both on the video clock).

    Attributes
    ----------
    fraction : float
        Covered frames / all frames.
    n_frames, n_covered : int
    first_uncovered, last_uncovered : int or None
        Frame indices (None when every frame is covered).
    uncovered_s : list of (float, float)
        Time intervals (first, last uncovered frame time) of each uncovered run.
    gyro_range_s, video_range_s : (float, float)
    """

    fraction: float
    n_frames: int
    n_covered: int
    first_uncovered: int | None
    last_uncovered: int | None
    uncovered_s: list
    gyro_range_s: tuple[float, float]
    video_range_s: tuple[float, float]
    path: str | None = None

    @property
    def complete(self) -> bool:
        return self.n_covered == self.n_frames

    def warning(self) -> str | None:
        """One line saying what is not covered, or None when the log covers every frame."""
        if self.complete:
            return None
        runs = ", ".join(f"{a:.3f}-{b:.3f} s" for a, b in self.uncovered_s[:4])
        more = "" if len(self.uncovered_s) <= 4 else f" and {len(self.uncovered_s) - 4} more"
        name = f"{self.path}: " if self.path else ""
        return (
            f"{name}gyro covers {self.n_covered} of {self.n_frames} frames "
            f"({100 * self.fraction:.1f}%); gyro spans {self.gyro_range_s[0]:.3f}-"
            f"{self.gyro_range_s[1]:.3f} s, video {self.video_range_s[0]:.3f}-"
            f"{self.video_range_s[1]:.3f} s; uncovered: {runs}{more}"
        )

    def as_dict(self) -> dict:
        return {
            "fraction": self.fraction,
            "n_frames": self.n_frames,
            "n_covered": self.n_covered,
            "first_uncovered": self.first_uncovered,
            "last_uncovered": self.last_uncovered,
            "uncovered_s": [list(iv) for iv in self.uncovered_s],
            "gyro_range_s": list(self.gyro_range_s),
            "video_range_s": list(self.video_range_s),
            "warning": self.warning(),
        }


def check_coverage(gyro_t_s: np.ndarray, video_t_s: np.ndarray, path: str | None = None,
                   max_gap_s: float | None = None) -> Coverage:
    """Which frames have gyro samples around them.

    A frame at time ``t`` is covered when a gyro sample exists at or before ``t`` and one at or
    after it, no further apart than ``max_gap_s`` (default: 3 median gyro periods), so a hole
    inside the log uncovers the frames that fall in it.

    Parameters
    ----------
    gyro_t_s : (N,) float64
        Gyro times already on the video clock (``t_log - offset_s``), increasing.
    video_t_s : (F,) float64
        Frame times.
    path : str, optional
        Named in the warning text.

    Raises
    ------
    InputError
        Empty or non-finite inputs.
    """
    g = np.asarray(gyro_t_s, dtype=np.float64).ravel()
    v = np.asarray(video_t_s, dtype=np.float64).ravel()
    if g.size < 2 or v.size == 0:
        raise InputError("coverage needs at least 2 gyro samples and 1 frame", path)
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(v))):
        raise InputError("coverage inputs must be finite", path)
    if max_gap_s is None:
        max_gap_s = 3.0 * float(np.median(np.diff(g)))
    j = np.searchsorted(g, v, side="left")  # first sample >= t
    after_ok = j < g.size
    hi = np.minimum(j, g.size - 1)
    lo = np.where(g[hi] == v, hi, hi - 1)  # last sample <= t
    before_ok = lo >= 0
    lo = np.maximum(lo, 0)
    covered = after_ok & before_ok & (g[hi] - g[lo] <= max_gap_s + 1e-12)
    idx = np.flatnonzero(~covered)
    runs: list[tuple[float, float]] = []
    if idx.size:
        breaks = np.flatnonzero(np.diff(idx) > 1)
        starts = np.concatenate([[idx[0]], idx[breaks + 1]])
        ends = np.concatenate([idx[breaks], [idx[-1]]])
        runs = [(float(v[a]), float(v[b])) for a, b in zip(starts, ends, strict=True)]
    return Coverage(
        fraction=float(covered.mean()),
        n_frames=int(v.size),
        n_covered=int(covered.sum()),
        first_uncovered=int(idx[0]) if idx.size else None,
        last_uncovered=int(idx[-1]) if idx.size else None,
        uncovered_s=runs,
        gyro_range_s=(float(g[0]), float(g[-1])),
        video_range_s=(float(v[0]), float(v[-1])),
        path=path,
    )
