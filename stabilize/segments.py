"""One long clip across workers: plan once, warp and encode time segments apart, join them.

    whole log -> virtual camera of every frame, once       (``pipeline.plan_clip``)
    frames [s_k, s_k+1) -> a video-only segment file        (``encode_segment``, on a worker:
        decoded from the keyframe at or before s_k, the frames before it dropped; a fresh
        encoder starts it with an IDR picture)
    segments' packets, audio copied once from the source -> one MP4 (``join_segments``: no
        re-encoding, timestamps those of the input)

The path is planned once for the whole clip, so every frame is warped exactly as a single run
warps it: no join shows in the motion. The encoded pixels differ from a single run's only
around the joins, where each segment's rate control starts afresh. The segment files lie beside
the output (a folder every worker can write, for a remote cluster) and are removed afterwards,
also on an error or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import time
import uuid
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sensors.atomic import atomic_output, check_not_input
from sensors.errors import InputError
from sensors.progress import ProgressCallback, get_logger, note, report
from sensors.types import CameraModel, SensorLog

from .dual_fisheye.options import DualFisheyeOptions
from .inputs import resolve_inputs
from .params import StabilizeParams
from .pipeline import (
    ClipPlan,
    StabilizeResult,
    check_dual_fisheye_paths,
    plan_clip,
    plan_dual_fisheye_clip,
    refuse_dual_fisheye_options,
)
from .sidecar import sidecar_dict, write_sidecar

__all__ = ["segment_ranges", "encode_segment", "join_segments", "stabilize_segmented"]

_log = get_logger(__name__)
#: Container of the segment files: MP4 keeps the stream's time base and each packet's pts and
#: dts as the encoder wrote them (negative dts through its edit list), so the join reads back
#: exactly those (NUT and MPEG-TS shift the timestamps of a stream that starts late).
_SEGMENT_SUFFIX = ".mp4"


def segment_ranges(n_frames: int, n_segments: int) -> list[tuple[int, int]]:
    """Frame ranges ``[s, e)`` of ``n_segments`` near-equal parts of ``n_frames`` frames.

    Examples
    --------
    >>> segment_ranges(10, 3)
    [(0, 3), (3, 7), (7, 10)]
    """
    if n_segments < 1:
        raise InputError(f"segments must be >= 1, got {n_segments}")
    n = min(int(n_segments), max(1, n_frames))
    edges = np.linspace(0, n_frames, n + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def encode_segment(video: str, plan: ClipPlan, info, params: StabilizeParams,
                   segment: tuple[int, int], out_path: str, projection: str = "flat",
                   dual_fisheye_plan=None) -> dict:
    """Warp and encode frames ``segment`` of ``video`` along ``plan`` into ``out_path`` (video
    only; runs on a worker). Returns ``{"frames", "wall_s", "first_pts"}``. An ``equirect``
    clip's sphere is rotated (``sphere_warp.SphereWarper``), a ``dual-fisheye`` clip's lenses
    stitched and rotated with the clip's one lens pair and seam track
    (``dual_fisheye_plan``, ``dual_fisheye.plan.DualFisheyePlan``), as a single run does.

    Raises
    ------
    InputError
        The segment decoded to another number of frames than it spans.
    """
    from .transcode import Transcoder
    from .warmup import warm_up_kernels

    t0 = time.perf_counter()
    warm_up_kernels()
    warper = None
    if projection == "equirect":
        from .sphere_warp import SphereWarper

        warper = SphereWarper(plan.motion.camera.size, interpolation=params.interpolation)
    elif projection == "dual-fisheye":
        if dual_fisheye_plan is None:
            raise InputError("a dual-fisheye segment needs the clip's lens pair and seams",
                             video)
        warper = dual_fisheye_plan.warper(params.interpolation)
    with Transcoder(Path(video), info, Path(out_path), params, segment=segment,
                    side_by_side=projection == "dual-fisheye") as tc:
        written = tc.run(plan.motion, plan.path, plan.frames, None, None, warper)
    if written != segment[1] - segment[0]:
        raise InputError(f"segment {segment[0]}..{segment[1] - 1} decoded {written} frames, "
                         f"not {segment[1] - segment[0]}", video)
    return {"frames": written, "wall_s": round(time.perf_counter() - t0, 3)}


def _packets(container, stream, key: int, first_t: Fraction | None = None):
    """``(time_s, key, order, packet)`` of a stream's packets in file order (for merging).

    With ``first_t`` (the exact time of the segment's first frame, seconds) every timestamp is
    shifted so that the first packet, the segment's IDR picture, shows at ``first_t``: an MP4
    stores the start of a stream that begins late as an edit in the movie's millisecond time
    scale, which reads back rounded.
    """
    delta = None
    for order, pkt in enumerate(container.demux(stream)):
        if pkt.dts is None and pkt.pts is None:
            continue  # the demuxer's flush packet
        if first_t is not None:
            if delta is None:
                delta = round((first_t - pkt.pts * pkt.time_base) / pkt.time_base)
            pkt.pts += delta
            if pkt.dts is not None:
                pkt.dts += delta
        t = pkt.dts if pkt.dts is not None else pkt.pts
        yield float(t * pkt.time_base), key, order, pkt


def join_segments(segment_paths: list[Path], source: str | os.PathLike,
                  out_path: str | os.PathLike, first_pts: list[int]) -> int:
    """Concatenate segment files' video packets and ``source``'s audio into ``out_path`` (no
    re-encoding); returns the number of video packets written. ``first_pts`` is the source's
    timestamp (its video time base) of each segment's first frame.

    Raises
    ------
    InputError
        The segments' encoder headers differ (they could not share one stream).
    """
    from .transcode import copy_metadata

    src = av.open(str(source))
    segs = [av.open(str(p)) for p in segment_paths]
    out = av.open(str(out_path), "w")
    try:
        vtpl = segs[0].streams.video[0]
        heads = {bytes(s.streams.video[0].codec_context.extradata or b"") for s in segs}
        if len(heads) != 1:
            raise InputError("segments were encoded with different stream headers", str(source))
        vin = src.streams.video[0]
        vout = out.add_stream_from_template(vtpl)
        vout.time_base = vin.time_base
        ain = src.streams.audio[0] if src.streams.audio else None
        aout = out.add_stream_from_template(ain) if ain is not None else None
        copy_metadata(src, out, ((vin, vout), (ain, aout)))
        rotation = segs[0].streams.video[0].metadata.get("rotate")
        if rotation:
            if hasattr(vout, "set_display_rotation"):
                vout.set_display_rotation(int(rotation))
            vout.metadata["rotate"] = rotation
        starts = [Fraction(p) * vin.time_base for p in first_pts]
        video = (item for k, s in enumerate(segs)
                 for item in _packets(s, s.streams.video[0], 2 * k, starts[k]))
        audio = _packets(src, ain, -1) if ain is not None else iter(())
        n = 0
        last_dts = None
        for _, key, _, pkt in heapq.merge(video, audio, key=lambda it: it[:3]):
            if key < 0:
                pkt.stream = aout
            else:
                if last_dts is not None and pkt.dts is not None and pkt.dts <= last_dts:
                    raise InputError(f"segment joins decode out of order (dts {pkt.dts} after "
                                     f"{last_dts})", str(source))
                last_dts = pkt.dts
                pkt.stream = vout
                n += 1
            out.mux(pkt)
        return n
    finally:
        out.close()
        for s in segs:
            s.close()
        src.close()


@contextlib.contextmanager
def _cluster(scheduler: str | None, workers: int | None):
    """The client segments are submitted to: inside a Dask task, its own cluster (the task
    secedes while it waits); else ``scheduler`` or an embedded LocalCluster."""
    try:
        from distributed import get_worker, worker_client

        get_worker()
        inside = True
    except (ImportError, ValueError):
        inside = False
    if inside:
        with worker_client() as client:
            yield client
        return
    from sensors.jobs.cluster import connect, cpu_count, warm_up

    with connect(scheduler, workers) as client:
        threads = max(1, cpu_count() // (workers or cpu_count())) if scheduler is None else None
        warm_up(client, scheduler, ("stabilize.segments",), threads)
        yield client


def stabilize_segmented(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    segments: int,
    gyro: str | os.PathLike | SensorLog | None = None,
    lens: str | os.PathLike | CameraModel | None = None,
    readout_ms: float | None = None,
    offset_ms: float | None = None,
    params: StabilizeParams | None = None,
    sidecar: str | os.PathLike | None = None,
    progress: ProgressCallback | None = None,
    strict: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    allow_in_camera_stabilization: bool = False,
    projection: str = "auto",
    level_sphere: bool = True,
    dual_fisheye: DualFisheyeOptions | None = None,
) -> StabilizeResult:
    """Stabilize ``input`` as ``stabilize_video`` does, its time segments on Dask workers.

    Parameters
    ----------
    segments : int
        Parts the clip is split into (each at least one frame).
    scheduler : str, optional
        A running Dask scheduler; default an embedded LocalCluster of ``workers`` processes
        (default: one per core). Inside a Dask task, that task's cluster is used.
    others
        As :func:`stabilize.pipeline.stabilize_video`; ``progress`` is called as each segment
        completes, with ``Progress("stabilize", frames_done, n_frames, "segment k/n")``. An
        equirect clip (``projection``) is planned once as a rotation of the sphere, its segments
        warped by ``sphere_warp.SphereWarper`` and the joined file given spherical video
        metadata (V1 and V2, MP4/MOV), as a single run writes it. A dual-fisheye clip's lenses
        are calibrated (or read from ``dual_fisheye.rig``) and its seams solved once, over the
        whole clip, before the segments are handed out, so the joins show neither the motion
        nor the seam.

    Returns
    -------
    StabilizeResult

    Examples
    --------
    Three segments on an embedded cluster of two workers (skipped as a doctest: it starts
    worker processes):

    >>> from sensors.synthetic import generate_clip
    >>> clip = generate_clip("out/seg", duration_s=3.0)  # doctest: +SKIP
    >>> res = stabilize_segmented(clip.video, "out/seg/steady.mp4", segments=3, workers=2,
    ...                           offset_ms=0.0)  # doctest: +SKIP
    >>> res.n_frames  # doctest: +SKIP
    90
    """
    t_start = time.perf_counter()
    params = StabilizeParams() if params is None else params
    video, out_path = Path(input), Path(output)
    check_not_input(out_path, video, *(p for p in (gyro, lens, sidecar)
                                       if isinstance(p, (str, os.PathLike))))
    if sidecar is not None:
        check_not_input(sidecar, video, out_path)
    check_dual_fisheye_paths(dual_fisheye, video, out_path)
    if params.codec not in ("h264", "hevc"):
        raise InputError(f"segments are joined for h264 and hevc, not {params.codec}")
    clip = resolve_inputs(video, gyro, lens, readout_ms, offset_ms, projection,
                          allow_in_camera_stabilization, dual_fisheye)
    refuse_dual_fisheye_options(dual_fisheye, clip)
    notes = clip.notes
    plan = plan_clip(clip, params, strict, level_sphere=level_sphere)
    df = None
    if clip.projection == "dual-fisheye":
        clip, plan, df = plan_dual_fisheye_clip(clip, plan, dual_fisheye, params, strict,
                                                level_sphere, progress)
    ranges = segment_ranges(clip.info.n_frames, segments)
    folder = out_path.parent if str(out_path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    seg_paths = [folder / f".{out_path.stem}.seg{k:03d}.{token}.part{_SEGMENT_SUFFIX}"
                 for k in range(len(ranges))]
    done_frames = 0
    try:
        with _cluster(scheduler, workers) as client:
            scattered = client.scatter([plan] if df is None else [plan, df], hash=False)
            plan_f, df_f = scattered[0], (scattered[1] if df is not None else None)
            futures = {client.submit(encode_segment, str(video.resolve()), plan_f, clip.info,
                                     params, r, str(p.resolve()), clip.projection, df_f,
                                     pure=False, key=f"steadyrig-segment-{token}-{k}"): k
                       for k, (r, p) in enumerate(zip(ranges, seg_paths, strict=True))}
            from distributed import as_completed

            try:
                for fut in as_completed(list(futures)):
                    k = futures[fut]
                    rec = fut.result()
                    done_frames += rec["frames"]
                    _log.info("segment %d/%d: %d frames in %.1f s", k + 1, len(ranges),
                              rec["frames"], rec["wall_s"])
                    report(progress, "stabilize", done_frames, clip.info.n_frames,
                           f"segment {k + 1}/{len(ranges)}")
            except BaseException:
                client.cancel(list(futures), force=True)
                raise
        with atomic_output(out_path) as tmp:
            tb = clip.info.time_base
            written = join_segments(seg_paths, video, tmp,
                                    [round(clip.info.frame_t_s[s] / tb) for s, _ in ranges])
            if clip.projection in ("equirect", "dual-fisheye"):
                _mark_spherical(tmp, out_path, notes)
    finally:
        for p in seg_paths:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
    if len(ranges) > 1:
        note(notes, _log, f"encoded in {len(ranges)} segments joined at frames "
             + ", ".join(str(s) for s, _ in ranges[1:]))
    all_notes = tuple(notes) + plan.notes
    ctx = plan.path
    sc_path = None
    if sidecar is not None:
        sc_path = Path(sidecar)
        rec = sidecar_dict(plan.motion, ctx, params, plan.frames,
                           {"input": str(video), "output": str(out_path),
                            "projection": clip.projection,
                            "segments": [list(r) for r in ranges]},
                           sources=plan.sources, bias_source=plan.bias_source)
        rec["notes"] = list(all_notes)
        write_sidecar(sc_path, rec)
    return StabilizeResult(out_path, sc_path, written, plan.frames, clip.offset_s,
                           clip.readout_s, clip.camera, ctx.real_quat, ctx.virtual_quat,
                           ctx.zoom, dict(ctx.extras), all_notes,
                           time.perf_counter() - t_start, plan.sources, clip.projection)


def _mark_spherical(tmp: Path, out_path: Path, notes: list[str]) -> None:
    """Spherical video metadata on the joined file (the muxer writes none), as
    ``stabilize_video`` adds it: into MP4/MOV outputs, else a note."""
    if out_path.suffix.lower() in (".mp4", ".mov", ".m4v"):
        from sensors.spherical import write_spherical

        write_spherical(tmp)
    else:
        note(notes, _log, f"spherical metadata is written into MP4/MOV only, not "
             f"{out_path.suffix}: players may not show {out_path.name} as 360")


