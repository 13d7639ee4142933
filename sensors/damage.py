"""Damaged video: decode past what the decoder rejects, as ffmpeg does, and say what was lost.

A recording with a damaged stretch (a bad card sector, an interrupted copy) still has an
intact index, so the demuxer hands out every packet; the decoder rejects some of them
(``InvalidDataError`` from ``avcodec_send_packet``) and silently drops frames that referenced
them. ffmpeg logs such errors and goes on with the next packet; a read error ends the input as
the end of the file would. :class:`DecodeDamage` does the same for the decode loops that already
run (the stabilizer's transcoder, the sync's decoder), so finding damage costs no extra pass:

* a packet the decoder rejects is skipped and recorded;
* with the clip's frame list (``VideoInfo``), every frame the decoder never produced is stood in
  for by its neighbour (the previous good frame, or the next at the start), shown at the missing
  frame's own timestamp, so the output keeps the input's frame count and timing and a motion
  plan matched by PTS stays aligned;
* frames the decoder marks corrupt are kept (as ffmpeg keeps them) and reported;
* the damaged stretches come back as :class:`DamageRange` (``ranges``, ``as_list``) and as one
  line for the user (``note``); with ``strict`` the first damage raises ``InputError`` instead.

An MP4 whose frame table lists more frames than the file holds was cut short (reported as
``truncated``); one without its index (``moov`` box) cannot be read at all
(``sensors.video.probe_video`` says so). ``scan_video`` is a demux + decode pass for
``steadyrig inspect``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .errors import InputError
from .video import VideoInfo, probe_video

__all__ = ["DamageRange", "DecodeDamage", "decode_errors", "scan_video", "damage_note"]


# Damaged frames closer than this are reported as one stretch (a damaged block of data often
# leaves a few good frames between undecodable ones).
_JOIN_S = 0.5


def decode_errors() -> tuple[type[BaseException], ...]:
    """PyAV errors after which ffmpeg goes on with the next packet (per-packet data errors)."""
    import av

    e = av.error
    return (e.InvalidDataError, e.BugError, e.PatchWelcomeError, e.UnknownError,
            e.UndefinedError, e.ExternalError)


@dataclass(frozen=True)
class DamageRange:
    """One damaged stretch of a video.

    Attributes
    ----------
    start_s, end_s : float
        Times of the first and last affected frame (video clock, PTS).
    frames : int
        Frames affected in the stretch.
    kind : str
        ``lost`` (the decoder produced no picture: a neighbour stands in), ``corrupt`` (decoded
        with errors, kept), ``truncated`` (listed by the container but missing from the file).
    """

    start_s: float
    end_s: float
    frames: int
    kind: str = "lost"

    def as_dict(self) -> dict:
        return {"start_s": round(self.start_s, 6), "end_s": round(self.end_s, 6),
                "frames": int(self.frames), "kind": self.kind}


class DecodeDamage:
    """What went wrong while decoding one video stream, tracked by PTS.

    Parameters
    ----------
    source : str
        The video's path (named in notes and errors).
    time_base : Fraction
        The stream's time base (PTS -> seconds).
    fps : float
        Nominal frame rate (groups damaged frames into stretches).
    frame_t_s : (F,) float64, optional
        Every frame's presentation time (``VideoInfo.frame_t_s``). With it, ``read`` stands in
        for the frames the decoder never produced; without it (a decoder that analyses only
        windows of the clip) rejected packets are only skipped and recorded.
    declared_frames : int, optional
        Frames the container's frame table lists; more than ``frame_t_s`` holds means the file
        was cut short.
    strict : bool
        Raise ``InputError`` at the first damage instead of working around it.

    Examples
    --------
    >>> import av
    >>> from sensors.damage import DecodeDamage
    >>> from sensors.video import probe_video
    >>> info = probe_video("samples/gopro/karma.mp4")
    >>> damage = DecodeDamage.for_video(info)
    >>> with av.open(info.path) as c:
    ...     n = sum(1 for _ in damage.frames(c, c.streams.video[0]))
    >>> n == info.n_frames, damage.damaged, damage.note()
    (True, False, None)
    """

    def __init__(self, source: str, time_base: Fraction, fps: float,
                 frame_t_s: np.ndarray | None = None, declared_frames: int | None = None,
                 strict: bool = False):
        self.source = str(source)
        self.time_base = Fraction(time_base)
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else 30.0
        self.strict = bool(strict)
        self.n_rejected = 0  # packets the decoder refused
        self.n_lost = 0  # frames stood in for
        self.n_corrupt = 0  # frames decoded with errors, packets the demuxer marks corrupt
        self.read_error: str | None = None
        self._bad: dict[int, str] = {}  # frame index (or PTS without a frame list) -> kind
        self._pts: np.ndarray | None = None
        self._index: dict[int, int] = {}
        self._t: np.ndarray | None = None
        if frame_t_s is not None:
            t = np.asarray(frame_t_s, dtype=np.float64)
            self._t = t
            self._pts = np.round(t / float(self.time_base)).astype(np.int64)
            self._index = {int(p): i for i, p in enumerate(self._pts)}
        self.missing_at_end = 0
        if declared_frames and self._t is not None and declared_frames > self._t.size:
            self.missing_at_end = int(declared_frames - self._t.size)
            self._refuse(f"the file ends early: {self.missing_at_end} of the {declared_frames} "
                         "frames its index lists are missing")

    @classmethod
    def for_video(cls, info: VideoInfo, strict: bool = False) -> DecodeDamage:
        """A tracker for the whole clip ``info`` describes (frame list, declared count)."""
        return cls(info.path, info.time_base, info.fps, info.frame_t_s,
                   info.meta.get("declared_frames"), strict)

    # --- recording ---------------------------------------------------------------------------

    @property
    def damaged(self) -> bool:
        """True once anything was rejected, lost, corrupt, unreadable or missing."""
        return bool(self._bad or self.n_rejected or self.read_error or self.missing_at_end)

    def _refuse(self, what: str) -> None:
        if self.strict:
            raise InputError(f"damaged video: {what} (refused with --strict)", self.source)

    def _key(self, pts: int | None) -> int | None:
        """A frame index for ``pts`` (nearest listed frame), or ``pts`` itself without a list."""
        if pts is None:
            return None
        if self._pts is None:
            return int(pts)
        k = self._index.get(int(pts))
        if k is None:
            j = int(np.clip(np.searchsorted(self._pts, pts), 1, max(1, self._pts.size - 1)))
            k = j if self._pts.size > 1 and abs(self._pts[j] - pts) < abs(
                self._pts[j - 1] - pts) else j - 1
        return int(k)

    def _seconds(self, pts: int | None) -> str:
        return "an unknown time" if pts is None else f"{float(pts * self.time_base):.3f} s"

    def _mark(self, key: int | None, kind: str) -> None:
        if key is not None and self._bad.get(key) != "lost":
            self._bad[key] = kind

    # --- decoding ----------------------------------------------------------------------------

    def packets(self, container, *streams) -> Iterator:
        """``container.demux(*streams)``; a read error ends the input like its end would (the
        decoders are flushed with empty packets, as at the end of the file)."""
        import av

        it = container.demux(*streams)
        while True:
            try:
                packet = next(it)
            except StopIteration:
                return
            except decode_errors() + (av.error.OSError,) as exc:
                self.read_error = " ".join(str(exc).split()) or type(exc).__name__
                self._refuse(f"read error ({self.read_error})")
                for s in streams:
                    flush = av.Packet()
                    flush.stream = s
                    yield flush
                return
            yield packet

    def decode(self, packet) -> list:
        """The frames of one packet; none when the decoder rejects it (recorded)."""
        if getattr(packet, "is_corrupt", False):  # the demuxer says so (e.g. cut short)
            self.n_corrupt += 1
            self._refuse(f"the data at {self._seconds(packet.pts)} is marked corrupt")
            self._mark(self._key(packet.pts), "corrupt")
        try:
            frames = packet.decode()
        except decode_errors():
            self.n_rejected += 1
            pts = packet.pts if packet.pts is not None else packet.dts
            self._refuse(f"the decoder rejects data at {self._seconds(pts)}")
            self._mark(self._key(pts), "lost")
            return []
        for fr in frames:
            if getattr(fr, "is_corrupt", False):
                self.n_corrupt += 1
                self._refuse(f"a frame at {self._seconds(fr.pts)} decodes with errors")
                self._mark(self._key(fr.pts), "corrupt")
        return frames

    def frames(self, container, stream) -> Iterator:
        """Decoded frames of ``stream``, skipping what the decoder rejects (no stand-ins): for
        decoders that only need good frames with their own timestamps (the sync). After damage,
        a frame out of time order (a decoder confused by lost references) is dropped too."""
        last = None
        for packet in self.packets(container, stream):
            for fr in self.decode(packet):
                if fr.pts is not None and last is not None and fr.pts <= last and self.damaged:
                    self._mark(self._key(fr.pts), "lost")
                    continue
                last = fr.pts if fr.pts is not None else last
                yield fr

    def read(self, container, video, streams: Sequence) -> Iterator[tuple]:
        """Demux ``streams`` and decode ``video`` with stand-ins for lost frames.

        Yields ``(obj, pts, shows)``: a packet of another stream (``pts``, ``shows`` None), or
        a decoded ``av.VideoFrame`` to be shown at ``pts``; ``shows`` is None for the frame
        itself, or, for a stand-in, the index of the frame whose picture it is (the frame's own
        PTS is not changed). Frames the decoder never produced are stood in for once the clip
        shows damage (a rejected packet, a corrupt frame, a read error): a clean clip's
        decoder dropping a frame on purpose (an edit list's pre-roll) is left alone.
        """
        if self._pts is None:
            raise ValueError("read() needs the clip's frame list (DecodeDamage.for_video)")
        n = int(self._pts.size)
        nxt, last, last_k = 0, None, None
        for packet in self.packets(container, *streams):
            if packet.stream is not video:
                yield packet, None, None
                continue
            for fr in self.decode(packet):
                k = self._key(fr.pts)
                if k is not None and k < nxt and self.damaged:
                    continue  # late, out of order after damage: its time is already shown
                if k is None or k < nxt:  # no timestamp, or a repeat: as before
                    yield fr, fr.pts, None
                    continue
                if k > nxt and self.damaged:
                    stand, shows = (last, last_k) if last is not None else (fr, k)
                    for j in range(nxt, k):
                        yield stand, self._lose(j), shows
                nxt, last, last_k = k + 1, fr, k
                yield fr, fr.pts, None
        if nxt < n and self.damaged:
            if last is None:
                raise InputError("damaged video: no frame could be decoded", self.source)
            for j in range(nxt, n):
                yield last, self._lose(j), last_k

    def _lose(self, j: int) -> int:
        """Record frame ``j`` as stood in for; return its PTS."""
        self.n_lost += 1
        self._bad[j] = "lost"
        return int(self._pts[j])

    # --- reporting ---------------------------------------------------------------------------

    def ranges(self) -> list[DamageRange]:
        """The damaged stretches, in time order: affected frames of one kind less than
        ``_JOIN_S`` apart form one stretch."""
        out: list[DamageRange] = []
        if self._bad:
            keys = np.array(sorted(self._bad), dtype=np.int64)
            if self._t is not None:
                t = self._t[keys]
            else:
                t = keys.astype(np.float64) * float(self.time_base)
            kinds = [self._bad[int(k)] for k in keys]
            start = 0
            for i in range(1, keys.size + 1):
                if (i == keys.size or t[i] - t[i - 1] > max(1.5 / self.fps, _JOIN_S)
                        or kinds[i] != kinds[start]):
                    out.append(DamageRange(float(t[start]), float(t[i - 1]), i - start,
                                           kinds[start]))
                    start = i
        if self.missing_at_end and self._t is not None:
            t0 = float(self._t[-1]) + 1.0 / self.fps
            out.append(DamageRange(t0, t0 + (self.missing_at_end - 1) / self.fps,
                                   self.missing_at_end, "truncated"))
        return out

    def as_list(self) -> list[dict]:
        """``ranges`` as JSON-friendly dicts (``start_s``, ``end_s``, ``frames``, ``kind``)."""
        return [r.as_dict() for r in self.ranges()]

    def note(self) -> str | None:
        """One line naming the damage and what was done about it, or None for a clean decode."""
        if not self.damaged:
            return None
        return damage_note(self.ranges(), self.n_rejected, self.read_error,
                           stood_in=self.n_lost > 0)


def damage_note(ranges: Sequence[DamageRange], n_rejected: int = 0,
                read_error: str | None = None, stood_in: bool = False) -> str:
    """One line for the user describing ``ranges`` (see ``DecodeDamage.note``); ``stood_in``
    says the lost frames were replaced by their neighbours."""
    parts = []
    lost = "undecodable" + (", replaced by the neighbouring frame" if stood_in else "")
    for kind, what in (("lost", lost),
                       ("corrupt", "decoded with errors"),
                       ("truncated", "missing: the file ends early")):
        sel = [r for r in ranges if r.kind == kind]
        if not sel:
            continue
        spans = ", ".join(f"{r.start_s:.2f} s" if round(r.start_s, 2) == round(r.end_s, 2)
                          else f"{r.start_s:.2f}-{r.end_s:.2f} s" for r in sel[:4])
        more = f" and {len(sel) - 4} more" if len(sel) > 4 else ""
        parts.append(f"{sum(r.frames for r in sel)} frame(s) {what} ({spans}{more})")
    if n_rejected:
        parts.append(f"{n_rejected} packet(s) rejected by the decoder")
    if read_error:
        parts.append(f"reading stopped at an error ({read_error})")
    return "damaged video: " + "; ".join(parts)


def scan_video(path, info: VideoInfo | None = None) -> DecodeDamage:
    """Demux and decode every frame of ``path``, recording damage (``steadyrig inspect``).

    Returns
    -------
    DecodeDamage
        ``ranges()`` / ``as_list()`` / ``note()`` describe what a decode finds.

    Examples
    --------
    >>> from sensors.damage import scan_video
    >>> scan_video("samples/gopro/karma.mp4").as_list()
    []
    """
    import av

    info = probe_video(path) if info is None else info
    damage = DecodeDamage.for_video(info)
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in damage.read(c, stream, [stream]):
            pass
    return damage
