"""Decode, warp and encode a clip on three threads with small queues; audio and tags copied.

Memory is bounded by the queues, not by the clip length: frames stream through, and the
virtual path the warp follows is a few numbers per frame (``pipeline.plan_path``). The decoder
and the encoder open before the plan is made, so the first frames are ready when it is.

A transcoder may also write one time segment of the clip (``segment=(s, e)``, video only, for
``stabilize.segments``): it decodes from the keyframe at or before frame ``s``, drops the
frames before it and stops after frame ``e - 1``; a fresh encoder starts the segment with an
IDR picture, so segments encoded apart concatenate into one stream that decodes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from sensors.damage import DecodeDamage
from sensors.errors import InputError
from sensors.fisheye_layout import layout_of, side_by_side_size, to_side_by_side
from sensors.progress import ProgressCallback, report
from sensors.video import VideoInfo

from .encoder import encoder_options
from .filters import FilterContext
from .motion import MotionTrack
from .params import StabilizeParams
from .pixel_format import (
    DEEP_420,
    Samples,
    bgr_preview,
    frame_planes,
    sample_format,
    writable_planes,
)
from .synthesis import MeshWarper

__all__ = ["ENCODERS", "Transcoder", "copy_metadata", "OWN_TAGS"]

ENCODERS = {"h264": "libx264", "hevc": "libx265", "prores": "prores_ks"}
# Frames waiting between decode, warp and encode: enough to even out per-frame cost, few
# enough at 4K (12 MB a frame) that the queues stay small next to the encoder's own frames.
_QUEUE_FRAMES = 4
_QUEUE_BYTES = 32 << 20
# Decoded frames may run further ahead: the decoder starts while the log is analysed (1080p:
# 10 frames, 31 MB; 4K: 2). Deeper prefetch measured no faster, and at 4K costs 12 MB a frame.
_PREFETCH_FRAMES = 20
_PREFETCH_BYTES = 32 << 20
# Codecs decoded on the decode thread alone, without FFmpeg's frame threads: one thread of
# these outpaces the warp (single-threaded too) at every frame size, and each frame thread
# holds frames of its own (25 MB each for 10-bit 4K) and competes with the encoder for the
# cores. Other codecs (AV1, VP9 in software) keep FFmpeg's automatic threading.
_SINGLE_THREAD_DECODERS = frozenset({"h264", "hevc"})


def _add_video_stream(out: av.container.OutputContainer, info: VideoInfo, in_stream,
                      params: StabilizeParams, samples: Samples, size: tuple[int, int]):
    rate = in_stream.average_rate or Fraction(info.fps).limit_denominator(1001)
    opts = encoder_options(params.codec, params.crf, params.preset, size[0], size[1],
                           params.rc_lookahead)
    s = out.add_stream(ENCODERS[params.codec], rate=rate, options=opts)
    s.width, s.height = size
    s.pix_fmt = "yuv422p10le" if params.codec == "prores" else samples.pix_fmt
    # keep the colour description: full-range (yuvj, e.g. GoPro) samples are copied unscaled,
    # so the output must say full range too or players stretch the contrast
    icc = in_stream.codec_context
    s.codec_context.color_range = 2 if info.pix_fmt.startswith("yuvj") else icc.color_range
    for attr in ("colorspace", "color_primaries", "color_trc"):
        setattr(s.codec_context, attr, getattr(icc, attr))
    s.time_base = in_stream.time_base
    s.codec_context.time_base = in_stream.time_base
    # PyAV opens encoders with slice threading; libx264/libx265 then run sliced threads, which
    # parallelise worse and code differently from the ffmpeg CLI's frame threads
    s.codec_context.thread_type = "AUTO"
    if params.encoder_threads:
        s.codec_context.thread_count = params.encoder_threads
    if info.rotation_deg:
        # the display matrix players read (PyAV >= 18); the legacy tag for older readers
        if hasattr(s, "set_display_rotation"):
            s.set_display_rotation(info.rotation_deg)
        s.metadata["rotate"] = str(info.rotation_deg)
    return s


# Tags the muxer writes itself (or that describe the input's encoding, not the content).
OWN_TAGS = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder",
                       "rotate", "duration", "vendor_id"})


def copy_metadata(src, out, streams) -> None:
    """Carry the container's and the streams' tags over, as the ffmpeg CLI does by default:
    creation time (what photo libraries sort by), location, make/model, title, language and
    handler names."""
    for k, v in src.metadata.items():
        if k.lower() not in OWN_TAGS:
            out.metadata[k] = v
    for sin, sout in streams:
        if sin is None or sout is None:
            continue
        for k, v in sin.metadata.items():
            if k.lower() not in OWN_TAGS:
                sout.metadata[k] = v


@dataclass
class _Picture:
    """A decoded picture in the warp's sample format: its planes and timestamp. ``pooled``
    planes belong to the transcoder's pool and go back to it once warped; otherwise they are
    views on the decoder's frame, which they keep alive."""

    planes: tuple[np.ndarray, np.ndarray, np.ndarray]
    pts: int | None
    time_base: Fraction | None
    pooled: bool = False
    shows: int | None = None  # a stand-in for a lost frame: the index of the frame it shows


class _Stop(Exception):
    pass


def _put(q: queue.Queue, item, stop: threading.Event) -> None:
    while True:
        if stop.is_set():
            raise _Stop
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _get(q: queue.Queue, stop: threading.Event):
    while True:
        if stop.is_set():
            raise _Stop
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue


_END = object()


class Transcoder:
    """Decode, warp and encode on three threads.

    Opened before the motion analysis: the input and the encoder open and the decoder starts
    filling its queue while the caller analyses the log (and the kernels finish loading), so the
    first frames are ready when the plan is. ``run`` then warps and encodes; ``close`` (or the
    ``with`` block) stops the threads and closes both files, also when the caller fails first.
    With ``segment=(s, e)`` only frames ``s .. e - 1`` are written, without audio (see the
    module docstring). With ``side_by_side`` a stacked dual-fisheye frame is rearranged side by
    side as it is decoded (``sensors.fisheye_layout``): the warp and the output have that size.
    """

    def __init__(self, video: Path, info: VideoInfo, out_path: Path, params: StabilizeParams,
                 strict: bool = False, segment: tuple[int, int] | None = None,
                 side_by_side: bool = False):
        self.video, self.info, self.params = video, info, params
        self.rearrange = side_by_side and layout_of((info.width, info.height)) == "stacked"
        self.out_size = (side_by_side_size((info.width, info.height)) if self.rearrange
                         else (info.width, info.height))
        self.damage = DecodeDamage.for_video(info, strict=strict)  # damaged input (or refuse)
        self.segment = segment
        full = info.pix_fmt.startswith("yuvj") or info.color_range == 2
        self.samples, self.notes = sample_format(info.pix_fmt, full, params.codec,
                                                 params.bit_depth)
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        frame_bytes = info.width * info.height * 3 // 2 * np.dtype(self.samples.dtype).itemsize
        depth = int(np.clip(_QUEUE_BYTES // frame_bytes, 2, _QUEUE_FRAMES))
        self.decoded: queue.Queue = queue.Queue(
            maxsize=int(np.clip(_PREFETCH_BYTES // frame_bytes, depth, _PREFETCH_FRAMES)))
        self.warped: queue.Queue = queue.Queue(maxsize=depth)
        # Encoder frames are reused rather than allocated per frame: a fresh 3 MB (1080p)
        # buffer is new pages for the kernel to fault in and zero, and freeing it unmaps them.
        self.spare: queue.SimpleQueue = queue.SimpleQueue()
        # 8-bit planes that deep input is dithered into (decode thread), back after the warp
        self.pool: queue.SimpleQueue = queue.SimpleQueue()
        self._tiles: dict[int, object] = {}
        self.threads: list[threading.Thread] = []
        self.src = av.open(str(video))
        self.out = None
        try:
            self.vin = self.src.streams.video[0]
            self.vin.thread_type = "AUTO"
            if self.vin.codec_context.name in _SINGLE_THREAD_DECODERS:
                self.vin.thread_count = 1
            self.ain = (self.src.streams.audio[0] if self.src.streams.audio and segment is None
                        else None)
            self.out = av.open(str(out_path), "w", format=None)
            self.vout = _add_video_stream(self.out, info, self.vin, params, self.samples,
                                          self.out_size)
            self.aout = (self.out.add_stream_from_template(self.ain) if self.ain is not None
                         else None)
            copy_metadata(self.src, self.out, ((self.vin, self.vout), (self.ain, self.aout)))
            self.vout.codec_context.open()
            if segment is not None:
                self._seek(segment[0])
        except BaseException:
            if self.out is not None:
                self.out.close()
            self.src.close()
            raise
        self._start(self._decode, "steadyrig-decode")

    def __enter__(self) -> Transcoder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self, target: Callable[..., None], name: str, *args) -> None:
        t = threading.Thread(target=self._guarded, args=(target, *args), daemon=True, name=name)
        self.threads.append(t)
        t.start()

    def _guarded(self, target: Callable[..., None], *args) -> None:
        try:
            target(*args)
        except _Stop:
            pass
        except BaseException as exc:  # surfaced in the calling thread
            self.errors.append(exc)
            self.stop.set()

    def _seek(self, first: int) -> None:
        """Position the input at the keyframe at or before frame ``first``."""
        tb = self.vin.time_base
        self._pts_range = (round(self.info.frame_t_s[first] / tb),
                           round(self.info.frame_t_s[self.segment[1]] / tb)
                           if self.segment[1] < self.info.n_frames else None)
        if first > 0:
            self.src.seek(self._pts_range[0], stream=self.vin, backward=True, any_frame=False)

    def _in_segment(self, pts: int | None) -> bool | None:
        """True to keep a decoded frame shown at ``pts``, False to drop it (before the segment),
        None past the segment's end."""
        if self.segment is None or pts is None:
            return True
        start, end = self._pts_range
        if end is not None and pts >= end:
            return None
        return pts >= start

    def _decode(self) -> None:
        streams = [self.vin] + ([self.ain] if self.ain is not None else [])
        # packets the decoder rejects are skipped, lost frames stood in for (sensors.damage)
        for obj, pts, shows in self.damage.read(self.src, self.vin, streams):
            if isinstance(obj, av.VideoFrame):
                keep = self._in_segment(pts)
                if keep is None:
                    _put(self.decoded, _END, self.stop)
                    return
                if not keep:
                    continue
                # converted here, so the queue holds frames of the warp's size (a 10-bit
                # input written at 8 bits: half the bytes) and the decoder's buffer is free
                pic = self._picture(obj)
                pic.pts, pic.shows = pts, shows
                _put(self.decoded, ("v", pic), self.stop)
            elif obj.dts is not None:
                _put(self.decoded, ("a", obj), self.stop)
        _put(self.decoded, _END, self.stop)

    def _picture(self, fr: av.VideoFrame) -> _Picture:
        """The decoded frame in the warp's sample format (and arrangement)."""
        pic = self._samples_of(fr)
        if self.rearrange:
            if pic.pooled:
                self.pool.put(pic.planes)  # the pool keeps the decoder's shapes
            pic = _Picture(tuple(to_side_by_side(p) for p in pic.planes), pic.pts,
                           pic.time_base)
        return pic

    def _samples_of(self, fr: av.VideoFrame) -> _Picture:
        bits = DEEP_420.get(fr.format.name)
        if bits is None or self.samples.dtype != np.uint8:
            return _Picture(frame_planes(fr, self.samples), fr.pts, fr.time_base)
        from .dither import dither_to_8bit, make_tiles

        try:
            planes = self.pool.get_nowait()
        except queue.Empty:
            planes = tuple(np.empty((p.height, p.width), np.uint8) for p in fr.planes)
        if bits not in self._tiles:
            self._tiles[bits] = make_tiles(bits)
        tiles = self._tiles[bits]
        for src, dst in zip(writable_planes(fr, np.uint16), planes, strict=True):
            dither_to_8bit(src, dst, bits, tiles)
        return _Picture(planes, fr.pts, fr.time_base, pooled=True)

    def _warp(self, warper, motion: MotionTrack, ctx: FilterContext,
              frames: tuple[int, int], preview: dict[int, tuple] | None) -> None:
        info, i0, i1 = self.info, frames[0], frames[1]
        sm = self.samples
        index = 0
        pts_s = info.frame_t_s if len(info.frame_t_s) > 1 else np.r_[info.frame_t_s, np.inf]
        cc = self.vout.codec_context
        while True:
            item = _get(self.decoded, self.stop)
            if item is _END:
                _put(self.warped, _END, self.stop)
                return
            kind, obj = item
            if kind == "a":
                _put(self.warped, item, self.stop)
                continue
            if obj.pts is not None and obj.time_base is not None:
                # match by PTS, so a frame the decoder drops cannot shift the rest
                t = float(obj.pts * obj.time_base)
                k = int(np.clip(np.searchsorted(pts_s, t), 1, len(pts_s) - 1))
                index = k if abs(pts_s[k] - t) < abs(pts_s[k - 1] - t) else k - 1
            if index >= len(motion):
                raise InputError(f"the video decodes more frames than the {len(motion)} "
                                 "it declares", str(self.video))
            y, u, v = obj.planes
            try:
                nf, planes = self.spare.get_nowait()
            except queue.Empty:
                nf = av.VideoFrame(self.out_size[0], self.out_size[1], sm.pix_fmt)
                planes = writable_planes(nf, sm.dtype)
            if i0 <= index < i1:
                # a stand-in is warped from the camera that took its picture
                real = obj.shows if obj.shows is not None and i0 <= obj.shows < i1 else index
                vmap = warper.vertex_map(motion.frame(real), ctx.virtual_quat[index - i0],
                                         float(ctx.zoom[index - i0]))
                yo, uo, vo = warper.warp_yuv(y, u, v, vmap, out=planes,
                                             black=(sm.black_luma, sm.neutral_chroma))
            else:  # not covered by the log: passed through unchanged
                for dst, a in zip(planes, (y, u, v), strict=True):
                    dst[...] = a
                yo, uo, vo = y, u, v
            if preview is not None and index in preview:
                preview[index] = (bgr_preview(y, u, v), bgr_preview(yo, uo, vo))
            nf.color_range = cc.color_range
            nf.colorspace = cc.colorspace
            nf.pts = obj.pts
            nf.time_base = obj.time_base
            if obj.pooled:
                self.pool.put(obj.planes)
            _put(self.warped, ("v", (nf, planes)), self.stop)
            index += 1

    def run(self, motion: MotionTrack, ctx: FilterContext, frames: tuple[int, int],
            progress: ProgressCallback | None,
            preview: dict[int, tuple] | None, warper=None) -> int:
        """Warp frames ``[i0, i1)`` (``frames``) along ``ctx``'s path, pass the others through,
        encode every frame and report each (``Progress("stabilize", done, total)``); returns
        the number of frames written. ``preview`` (frame index -> None) receives BGR
        (before, after) pairs of those frames. ``warper`` (default a ``MeshWarper`` of the
        clip's lens) has ``vertex_map(frame_motion, virtual_quat, zoom)`` and ``warp_yuv``,
        e.g. ``stabilize.sphere_warp.SphereWarper`` for an equirect clip."""
        if warper is None:
            warper = MeshWarper(motion.camera, self.params.mesh, self.params.interpolation,
                                self.params.output_lens())
        written = 0
        total = len(motion) if self.segment is None else self.segment[1] - self.segment[0]
        # The warp has a thread of its own beside decode and the encoder's threads, which fill
        # the cores: OpenCV's pool on top only adds synchronisation (+25 % CPU per 1080p warp).
        cv_threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            self._start(self._warp, "steadyrig-warp", warper, motion, ctx, frames, preview)
            # encode + mux in the calling thread (Ctrl-C lands here)
            while True:
                try:
                    item = _get(self.warped, self.stop)
                except _Stop:
                    break
                if item is _END:
                    break
                kind, obj = item
                if kind == "a":
                    obj.stream = self.aout
                    self.out.mux(obj)
                    continue
                frame, planes = obj
                given = frame
                if given.format.name != self.vout.pix_fmt:  # warped at 4:2:0, to ProRes 4:2:2
                    given = given.reformat(format=self.vout.pix_fmt)
                for pkt in self.vout.encode(given):
                    self.out.mux(pkt)
                # libx264 and libx265 copy the picture inside encode, so the frame's buffers
                # are free again for the warp; another encoder may keep a reference to the
                # frame it was given, so only a frame it did not get is reused
                if given is not frame or self.params.codec in ("h264", "hevc"):
                    self.spare.put((frame, planes))
                written += 1
                report(progress, "stabilize", written, total)
            if not self.errors:
                for pkt in self.vout.encode(None):
                    self.out.mux(pkt)
        except BaseException:
            self.stop.set()
            raise
        finally:
            cv2.setNumThreads(cv_threads)
        if self.errors:
            raise self.errors[0]
        return written

    def close(self) -> None:
        """Stop the threads and close both files (idempotent)."""
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)
        self.threads = []
        if self.out is not None:
            self.out.close()
            self.src.close()
            self.out = None


