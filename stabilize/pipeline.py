"""Stabilize a video end to end (DESIGN.md "stabilize/"): reads like the algorithm.

    log, lens, readout, offset  -> motion (real camera per row band)
    motion + filter chain       -> virtual path and zoom for every frame (before decoding)
    decode -> warp -> encode    -> three threads with small queues, audio copied

Memory is bounded by the queues, not by the clip length: the virtual path is a few numbers per
frame, and frames stream through. The output appears only when complete (``atomic_output``).
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from sensors.atomic import atomic_output, check_not_input
from sensors.damage import DecodeDamage
from sensors.errors import CoverageError, InputError, SteadyrigError
from sensors.lens_profile import load_lens_profile
from sensors.readers import read_log
from sensors.types import CameraModel, SensorLog
from sensors.video import VideoInfo, probe_video

from .encoder import encoder_options
from .filtering import FilterContext, run_chain
from .motion import MotionTrack, analyze_motion, assumed_camera
from .params import StabilizeParams
from .sidecar import sidecar_dict, write_sidecar
from .synthesis import MeshWarper
from .warmup import warm_up_kernels

__all__ = [
    "StabilizeResult",
    "stabilize_video",
    "find_gyro_log",
    "plan_path",
    "DEFAULT_READOUT_S",
    "ENCODERS",
]

# Readout times used when neither the log nor the lens profile states one. GoPro's HERO5 writes
# no readout to its metadata; 15 ms is a typical figure for its 1080p modes (an assumption,
# reported as such; override with readout_ms / --readout-ms).
DEFAULT_READOUT_S = {"HERO5": 0.015}
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


@dataclass(frozen=True, eq=False)
class StabilizeResult:
    """Outcome of ``stabilize_video``.

    Parameters
    ----------
    output : Path
        The stabilized video.
    sidecar : Path or None
        The JSON sidecar, when asked for.
    n_frames : int
        Frames written.
    stabilized_frames : (int, int)
        Range ``[i0, i1)`` of frames covered by the log and stabilized (others passed through).
    offset_s, readout_s : float
        Sync offset and readout used.
    camera : CameraModel
        Lens used (``meta['assumed']`` set when guessed).
    real_quat, virtual_quat : (F', 4) float64
        Real and virtual orientation of the stabilized frames.
    zoom : (F',) float64
        Zoom of the stabilized frames.
    extras : dict
        Per-frame outputs of the filters (e.g. ``required_zoom``).
    notes : tuple of str
        Assumptions and warnings.
    elapsed_s : float
        Wall time of the whole call.
    """

    output: Path
    sidecar: Path | None
    n_frames: int
    stabilized_frames: tuple[int, int]
    offset_s: float
    readout_s: float
    camera: CameraModel
    real_quat: np.ndarray
    virtual_quat: np.ndarray
    zoom: np.ndarray
    extras: dict
    notes: tuple
    elapsed_s: float


def find_gyro_log(video: str | os.PathLike, gyro: str | os.PathLike | None = None) -> SensorLog:
    """The sensor log of a video: ``gyro`` if given, else a same-stem ``.gcsv`` beside the video,
    else the telemetry embedded in the video (GoPro GPMF, ...)."""
    if gyro is not None:
        return read_log(gyro)
    v = Path(video)
    side = v.with_suffix(".gcsv")
    if side.exists():
        return read_log(side)
    try:
        return read_log(v, format="telemetry")
    except SteadyrigError as exc:
        raise InputError(f"no gyro log found (no {side.name} beside the video and no usable "
                         f"embedded telemetry: {exc}); pass --gyro LOG", str(v)) from None


def _resolve_readout(readout_ms: float | None, log: SensorLog, cam: CameraModel,
                     notes: list[str]) -> float:
    if readout_ms is not None:
        if not (np.isfinite(readout_ms) and 0 <= readout_ms < 1000):
            raise InputError(f"readout {readout_ms} ms is not plausible")
        return readout_ms / 1000.0
    if log.readout_s is not None:
        return float(log.readout_s)
    if cam.meta.get("readout_s"):
        notes.append(f"readout {cam.meta['readout_s'] * 1e3:.2f} ms from the lens profile")
        return float(cam.meta["readout_s"])
    name = f"{log.camera or ''} {cam.source or ''}".upper()
    for key, value in DEFAULT_READOUT_S.items():
        if key in name:
            notes.append(f"readout unknown: assumed {value * 1e3:g} ms for {key} "
                         "(set --readout-ms)")
            return value
    notes.append("readout unknown: assumed a global shutter (set --readout-ms)")
    return 0.0


def _resolve_offset(offset_ms: float | None, video: Path, video_t_s: np.ndarray,
                    log: SensorLog, cam: CameraModel, readout_s: float,
                    notes: list[str]) -> tuple[float, SensorLog]:
    if offset_ms is not None:
        if not np.isfinite(offset_ms):
            raise InputError(f"offset {offset_ms} ms is not finite")
        return offset_ms / 1000.0, log
    if log.same_clock_as_video:
        return 0.0, log
    if log.frames is not None and len(log.frames) == video_t_s.size:
        # the log stamps every frame (phone layout): the offset is where those stamps meet PTS
        off = float(np.median(log.frames.t_s - video_t_s))
        notes.append(f"offset {off * 1e3:.2f} ms from the log's frame timestamps")
        return off, log
    from sensors.sync import apply_axes, sync_video_to_gyro

    res = sync_video_to_gyro(str(video), log.gyro, camera=cam, readout_s=readout_s,
                             readout_direction=log.readout_direction)
    notes.append(f"auto sync: offset {res.offset_s * 1e3:.2f} ms, axes {res.axes}, "
                 f"confidence {res.confidence:.2f}")
    notes.extend(res.notes)
    return float(res.offset_s), dataclasses.replace(log, gyro=apply_axes(log.gyro, res.axes))


def _capture_times(log: SensorLog, info: VideoInfo, offset_s: float,
                   notes: list[str]) -> np.ndarray:
    """Frame times on the video clock: the log's own frame stamps when it has them (capture
    times, finer than container PTS) and they agree with PTS to half a frame, else PTS."""
    if log.frames is None or len(log.frames) != info.n_frames:
        return info.frame_t_s
    t = log.frames.t_s - offset_s
    worst = float(np.max(np.abs(t - info.frame_t_s)))
    if worst > 0.5 / info.fps:
        notes.append(f"the log's frame stamps disagree with PTS by up to {worst * 1e3:.1f} ms "
                     "with this offset: using PTS")
        return info.frame_t_s
    return t


def plan_path(motion: MotionTrack, params: StabilizeParams, fps: float,
              frames: tuple[int, int] | None = None,
              exposure_s: np.ndarray | None = None) -> FilterContext:
    """Offline virtual path: run the filter chain over frames ``[i0, i1)`` of the clip at once."""
    i0, i1 = (0, len(motion)) if frames is None else frames
    q = motion.frame_quat[i0:i1]
    ctx = FilterContext(motion.frame_t_s[i0:i1], q, q.copy(), np.ones(i1 - i0), motion.camera,
                        motion.real, float(fps), motion.readout_s, motion.readout_direction,
                        params, motion.gyro,
                        None if exposure_s is None else exposure_s[i0:i1], first_frame=i0,
                        ois=motion.ois)
    return run_chain(ctx)


def _covered_range(covered: np.ndarray) -> tuple[int, int]:
    idx = np.flatnonzero(covered)
    return int(idx[0]), int(idx[-1]) + 1


@dataclass(frozen=True)
class _Samples:
    """How frames are warped: the planar YUV format, its sample type and black in it."""

    pix_fmt: str  # yuv420p, yuv420p10le, or yuv422p10le (4:2:2 input to ProRes)
    dtype: type
    black_luma: int
    neutral_chroma: int


def _sample_format(pix_fmt: str, full_range: bool, codec: str = "h264",
                   bit_depth: str = "auto") -> tuple[_Samples, list[str]]:
    """The warp's sample format for an input of ``pix_fmt``, and notes on what the output
    does not keep of it.

    ``bit_depth`` ``auto`` (``StabilizeParams.bit_depth``) keeps a deeper-than-8-bit input at 10
    bits when the codec is hevc (Main 10) or prores, so a log or HLG/PQ grade does not band,
    and writes 8 bits for h264: High 10 plays on few devices (the usual ffmpeg advice is
    ``-pix_fmt yuv420p``) and its encoder alone needs ~2 GB at 4K. Everything is warped as 4:2:0
    YUV, except 4:2:2 input written as ProRes (4:2:2 10-bit itself), which keeps its chroma
    rows. Black (the fill outside the source) is 16 (64 at 10 bits) in limited range, 0 in full.
    """
    notes: list[str] = []
    try:
        fmt = av.VideoFormat(pix_fmt, 64, 64) if pix_fmt else None
    except ValueError:
        fmt = None
    bits = max((c.bits for c in fmt.components), default=8) if fmt is not None else 8
    black10 = 0 if full_range else 64
    if fmt is not None:
        c = fmt.components
        yuv = not fmt.is_rgb and len(c) == 3
        is_420 = yuv and (c[1].width, c[1].height) == (32, 32)
        if codec == "prores" and yuv and (c[1].width, c[1].height) == (32, 64):
            if bits > 10:
                notes.append(f"input has {bits}-bit samples; the output keeps 10")
            return _Samples("yuv422p10le", np.uint16, black10, 512), notes
        if not is_420:
            notes.append(f"input pixel format {fmt.name} is warped and written as 4:2:0 YUV")
    if bit_depth == "auto":
        deep = bits > 8 and codec in ("hevc", "prores")
        if bits > 8 and not deep:
            notes.append(f"{bits}-bit input written as 8-bit {codec.upper()} (plays everywhere); "
                         "--codec hevc or prores, or --bit-depth 10, keep 10 bits")
    else:
        deep = bit_depth == "10"
    if deep and bits > 10:
        notes.append(f"input has {bits}-bit samples; the output keeps 10")
    if deep:
        return _Samples("yuv420p10le", np.uint16, black10, 512), notes
    return _Samples("yuv420p", np.uint8, 0 if full_range else 16, 128), notes


def _add_video_stream(out: av.container.OutputContainer, info: VideoInfo, in_stream,
                      params: StabilizeParams, samples: _Samples):
    rate = in_stream.average_rate or Fraction(info.fps).limit_denominator(1001)
    opts = encoder_options(params.codec, params.crf, params.preset, info.width, info.height,
                           params.rc_lookahead)
    s = out.add_stream(ENCODERS[params.codec], rate=rate, options=opts)
    s.width, s.height = info.width, info.height
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
_OWN_TAGS = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder",
                       "rotate", "duration", "vendor_id"})


def _copy_metadata(src, out, streams) -> None:
    """Carry the container's and the streams' tags over, as the ffmpeg CLI does by default:
    creation time (what photo libraries sort by), location, make/model, title, language and
    handler names."""
    for k, v in src.metadata.items():
        if k.lower() not in _OWN_TAGS:
            out.metadata[k] = v
    for sin, sout in streams:
        if sin is None or sout is None:
            continue
        for k, v in sin.metadata.items():
            if k.lower() not in _OWN_TAGS:
                sout.metadata[k] = v


def _as_samples(frame: av.VideoFrame, samples: _Samples) -> av.VideoFrame:
    """``frame`` in ``samples``' format (converted when the decoder gives another; yuvj420p is
    yuv420p with full-range values, taken as is)."""
    if frame.format.name != samples.pix_fmt and not (samples.pix_fmt == "yuv420p"
                                                     and frame.format.name == "yuvj420p"):
        frame = frame.reformat(format=samples.pix_fmt)
    return frame


def _planes(frame: av.VideoFrame, samples: _Samples
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, U, V planes of a 4:2:0 frame as arrays (views on the frame's buffers, no BGR), in
    ``samples``' format."""
    return tuple(_writable_planes(_as_samples(frame, samples), samples.dtype))


# Deep 4:2:0 formats the decode thread dithers to 8 bits itself, into reused planes.
_DEEP_420 = {"yuv420p10le": 10, "yuv420p12le": 12}


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


def _writable_planes(frame: av.VideoFrame, dtype: type = np.uint8) -> list[np.ndarray]:
    """Writable views on a 4:2:0 frame's planes (rows padded to the line size), so the warp
    writes straight into the encoder's buffers."""
    size = np.dtype(dtype).itemsize
    return [np.frombuffer(p, dtype).reshape(-1, p.line_size // size)[:p.height, :p.width]
            for p in frame.planes]


def _bgr(y, u, v) -> np.ndarray:
    """BGR preview of 4:2:0 planes, 8 or 10 bits (debug only)."""
    if y.dtype != np.uint8:
        y, u, v = ((a >> 2).astype(np.uint8) for a in (y, u, v))
    h, w = y.shape
    uu = cv2.resize(u, (w, h), interpolation=cv2.INTER_LINEAR)
    vv = cv2.resize(v, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(cv2.merge([y, vv, uu]), cv2.COLOR_YCrCb2BGR)  # Cr = V, Cb = U


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


class _Transcoder:
    """Decode, warp and encode on three threads.

    Opened before the motion analysis: the input and the encoder open and the decoder starts
    filling its queue while the caller analyses the log (and the kernels finish loading), so the
    first frames are ready when the plan is. ``run`` then warps and encodes; ``close`` (or the
    ``with`` block) stops the threads and closes both files, also when the caller fails first.
    """

    def __init__(self, video: Path, info: VideoInfo, out_path: Path, params: StabilizeParams,
                 strict: bool = False):
        self.video, self.info, self.params = video, info, params
        self.damage = DecodeDamage.for_video(info, strict=strict)  # damaged input (or refuse)
        full = info.pix_fmt.startswith("yuvj") or info.color_range == 2
        self.samples, self.notes = _sample_format(info.pix_fmt, full, params.codec,
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
            self.ain = self.src.streams.audio[0] if self.src.streams.audio else None
            self.out = av.open(str(out_path), "w", format=None)
            self.vout = _add_video_stream(self.out, info, self.vin, params, self.samples)
            self.aout = (self.out.add_stream_from_template(self.ain) if self.ain is not None
                         else None)
            _copy_metadata(self.src, self.out, ((self.vin, self.vout), (self.ain, self.aout)))
            self.vout.codec_context.open()
        except BaseException:
            if self.out is not None:
                self.out.close()
            self.src.close()
            raise
        self._start(self._decode, "steadyrig-decode")

    def __enter__(self) -> _Transcoder:
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

    def _decode(self) -> None:
        streams = [self.vin] + ([self.ain] if self.ain is not None else [])
        # packets the decoder rejects are skipped, lost frames stood in for (sensors.damage)
        for obj, pts, shows in self.damage.read(self.src, self.vin, streams):
            if isinstance(obj, av.VideoFrame):
                # converted here, so the queue holds frames of the warp's size (a 10-bit
                # input written at 8 bits: half the bytes) and the decoder's buffer is free
                pic = self._picture(obj)
                pic.pts, pic.shows = pts, shows
                _put(self.decoded, ("v", pic), self.stop)
            elif obj.dts is not None:
                _put(self.decoded, ("a", obj), self.stop)
        _put(self.decoded, _END, self.stop)

    def _picture(self, fr: av.VideoFrame) -> _Picture:
        """The decoded frame in the warp's sample format."""
        bits = _DEEP_420.get(fr.format.name)
        if bits is None or self.samples.dtype != np.uint8:
            return _Picture(_planes(fr, self.samples), fr.pts, fr.time_base)
        from .dither import dither_to_8bit, make_tiles

        try:
            planes = self.pool.get_nowait()
        except queue.Empty:
            planes = tuple(np.empty((p.height, p.width), np.uint8) for p in fr.planes)
        if bits not in self._tiles:
            self._tiles[bits] = make_tiles(bits)
        tiles = self._tiles[bits]
        for src, dst in zip(_writable_planes(fr, np.uint16), planes, strict=True):
            dither_to_8bit(src, dst, bits, tiles)
        return _Picture(planes, fr.pts, fr.time_base, pooled=True)

    def _warp(self, warper: MeshWarper, motion: MotionTrack, ctx: FilterContext,
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
                nf = av.VideoFrame(info.width, info.height, sm.pix_fmt)
                planes = _writable_planes(nf, sm.dtype)
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
                preview[index] = (_bgr(y, u, v), _bgr(yo, uo, vo))
            nf.color_range = cc.color_range
            nf.colorspace = cc.colorspace
            nf.pts = obj.pts
            nf.time_base = obj.time_base
            if obj.pooled:
                self.pool.put(obj.planes)
            _put(self.warped, ("v", (nf, planes)), self.stop)
            index += 1

    def run(self, motion: MotionTrack, ctx: FilterContext, frames: tuple[int, int],
            progress: Callable[[int, int], None] | None,
            preview: dict[int, tuple] | None) -> int:
        """Warp and encode every frame; returns the number of frames written."""
        warper = MeshWarper(motion.camera, self.params.mesh, self.params.interpolation)
        written = 0
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
                if progress is not None:
                    progress(written, len(motion))
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


def stabilize_video(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    gyro: str | os.PathLike | SensorLog | None = None,
    lens: str | os.PathLike | CameraModel | None = None,
    readout_ms: float | None = None,
    offset_ms: float | None = None,
    params: StabilizeParams | None = None,
    sidecar: str | os.PathLike | None = None,
    debug_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
    strict: bool = False,
) -> StabilizeResult:
    """Stabilize ``input`` with its gyro log and write ``output`` (audio copied).

    Parameters
    ----------
    input, output : path-like
        Source video and destination (never the same file).
    gyro : path-like or SensorLog, optional
        The log; found automatically when omitted (``find_gyro_log``).
    lens : path-like or CameraModel, optional
        Gyroflow lens profile (scaled to the video size); a distortion-free pinhole of
        ``motion.DEFAULT_HFOV_DEG`` is assumed (and reported) otherwise.
    readout_ms, offset_ms : float, optional
        Rolling-shutter readout and sync offset (``t_video = t_log - offset``); by default from
        the log / lens profile, and the offset 0 for embedded telemetry or found by
        ``sensors.sync.sync_video_to_gyro`` for a separate log.
    params : StabilizeParams
        Smoothing, zoom, warp and encoder settings.
    sidecar : path-like, optional
        JSON with per-frame real/virtual orientation, zoom, sync offset and camera.
    debug_dir : path-like, optional
        Folder for ``01_paths.png`` and side-by-side ``02_frame_*.png`` previews.
    progress : callable(done, total), optional
        Called after each encoded frame.
    strict : bool
        Refuse a log that covers only part of the clip (else those frames pass through), and a
        damaged video (else undecodable frames are stood in for by their neighbours and named
        in the notes and the sidecar's ``damage``; ``sensors.damage``).

    Returns
    -------
    StabilizeResult
    """
    t_start = time.perf_counter()
    warm_up_kernels()
    params = StabilizeParams() if params is None else params
    video = Path(input)
    out_path = Path(output)
    check_not_input(out_path, video, *(p for p in (gyro, lens, sidecar)
                                       if isinstance(p, (str, os.PathLike))))
    if sidecar is not None:
        check_not_input(sidecar, video, out_path)
    info = probe_video(video)
    notes: list[str] = []

    log = gyro if isinstance(gyro, SensorLog) else find_gyro_log(video, gyro)
    if isinstance(lens, CameraModel):
        cam = lens.scaled((info.width, info.height)) if lens.size != (info.width,
                                                                      info.height) else lens
    elif lens is not None:
        cam = load_lens_profile(lens, size=(info.width, info.height))
    elif Path(video).with_suffix(".lens.json").is_file():
        # A lens profile named after the clip (as `steadyrig samples` writes) is taken like a
        # same-stem .gcsv: explicitly named in the notes.
        side_lens = Path(video).with_suffix(".lens.json")
        cam = load_lens_profile(side_lens, size=(info.width, info.height))
        notes.append(f"lens profile {side_lens.name} found beside the video")
    else:
        cam = assumed_camera((info.width, info.height))
    if cam.meta.get("warning"):
        notes.append(str(cam.meta["warning"]))
    readout_s = _resolve_readout(readout_ms, log, cam, notes)
    offset_s, log = _resolve_offset(offset_ms, video, info.frame_t_s, log, cam, readout_s,
                                    notes)
    frame_t_s = _capture_times(log, info, offset_s, notes)
    # The decoder and the encoder start now, beside the analysis and the plan.
    with atomic_output(out_path) as tmp, _Transcoder(video, info, tmp, params,
                                                     strict) as transcoder:
        notes.extend(transcoder.notes)
        motion = analyze_motion(log, frame_t_s, cam, offset_s=offset_s, readout_s=readout_s,
                                bands=params.row_bands)
        frames = _covered_range(motion.covered)
        if frames != (0, len(motion)) or not motion.covered[frames[0]:frames[1]].all():
            msg = (f"the gyro log covers frames {frames[0]}..{frames[1] - 1} of {len(motion)}; "
                   "the rest pass through unstabilized")
            if not motion.covered[frames[0]:frames[1]].all():
                gap = np.flatnonzero(~motion.covered[frames[0]:frames[1]]) + frames[0]
                raise CoverageError(f"the gyro log has a gap over frames {gap[0]}..{gap[-1]} "
                                    f"({motion.frame_t_s[gap[0]]:.2f} s on the video clock)",
                                    str(video))
            if strict:
                raise CoverageError(msg.split(";")[0] + " (refused with --strict)", str(video))
            notes.append(msg)
        ctx = plan_path(motion, params, info.fps, frames, log.exposure_s
                        if log.exposure_s is not None and log.exposure_s.size == len(motion)
                        else None)

        preview = None
        if debug_dir is not None:
            preview = {int(i): None for i in np.linspace(frames[0], frames[1] - 1, 3).round()}
        written = transcoder.run(motion, ctx, frames, progress, preview)
    all_notes = tuple(notes) + motion.notes + ctx.notes
    if transcoder.damage.damaged:  # named in the notes and the sidecar (sensors.damage)
        all_notes += (transcoder.damage.note(),)

    sc_path = None
    if sidecar is not None:
        sc_path = Path(sidecar)
        rec = sidecar_dict(motion, ctx, params, frames,
                           {"input": str(video), "output": str(out_path)})
        rec["notes"] = list(all_notes)
        rec["damage"] = transcoder.damage.as_list()
        write_sidecar(sc_path, rec)
    if debug_dir is not None:
        from .debug import plot_paths, write_side_by_side

        d = Path(debug_dir)
        d.mkdir(parents=True, exist_ok=True)
        plot_paths(d / "01_paths.png", ctx.t_s, ctx.real_quat, ctx.virtual_quat, ctx.zoom,
                   title=f"{video.name}: real vs virtual camera")
        for i, pair in (preview or {}).items():
            if pair is not None:
                write_side_by_side(d, i, *pair)
    return StabilizeResult(out_path, sc_path, written, frames, offset_s, readout_s, cam,
                           ctx.real_quat, ctx.virtual_quat, ctx.zoom, dict(ctx.extras),
                           all_notes, time.perf_counter() - t_start)
