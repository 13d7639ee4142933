"""Camera rotation measured from the video: dense optical flow between consecutive frames.

Frames are decoded grayscale at a reduced width (PyAV), flow comes from OpenCV DIS, and each
frame pair keeps a thinned set of textured flow samples as unit-ray correspondences together
with the fraction of the readout at which each end was captured (docs/architecture.md
"Rolling shutter").
From those, ``pair_rates`` solves the angular velocity that explains each pair's flow by
iteratively reweighted least squares (moving objects get down-weighted), each sample with its
own time difference ``t_{k+1} - t_k + (f1 - f0) * readout_s``.

``FlowSamples`` is what ``sensors.sync`` refines the time offset on: it keeps the rays, not just
the per-pair rates, so the offset can be scored by the reprojection of every sample under the
gyro's rotation at each sample's own row time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .camera import unproject
from .damage import DecodeDamage
from .errors import InputError, SolveError
from .progress import ProgressCallback, report
from .rolling_shutter import row_fraction
from .types import CameraModel

__all__ = [
    "FlowSamples",
    "PairRates",
    "pinhole_guess",
    "flow_samples_from_frames",
    "flow_samples_from_video",
    "keyframe_times",
    "pair_rates",
]

#: Horizontal field of view assumed when no lens profile is given (a typical action/phone
#: camera's linear mode); reported as an assumption in ``SyncResult.notes``.
ASSUMED_HFOV_DEG = 70.0

_END = object()  # end of the decoder thread's frame queue


@dataclass(frozen=True, eq=False)
class FlowSamples:
    """Flow correspondences of consecutive frames as unit camera rays.

    Parameters
    ----------
    frame_t_s : (F,) float64
        Video time of each frame (PTS x time_base; middle-row capture time), seconds.
    pair : (M,) int64
        Index ``k`` of the pair (frame k -> frame k+1) each sample belongs to.
    ray0_cam, ray1_cam : (M, 3) float64
        Unit rays of the sample in frame k and of where the flow put it in frame k+1.
    frac0, frac1 : (M,) float64
        Row-time fraction ``(y + 0.5) / H - 0.5`` (sign-flipped for bottom-to-top readout;
        ``sensors.rolling_shutter.row_fraction``) of both ends, so the capture time is
        ``t_frame + frac * readout_s``.
    camera : CameraModel
        The camera at the analysis resolution.
    camera_assumed : bool
        True when ``camera`` is a pinhole guess (no lens profile was given).
    frames_decoded : int
        Frames the decoder produced to get these samples (including frames decoded only to
        reach a window's start after a seek); 0 when the frames did not come from a video.
    damage : tuple of sensors.damage.DamageRange
        Stretches the decoder could not decode (skipped; ``flow_samples_from_video`` only).
    """

    frame_t_s: np.ndarray
    pair: np.ndarray
    ray0_cam: np.ndarray
    ray1_cam: np.ndarray
    frac0: np.ndarray
    frac1: np.ndarray
    camera: CameraModel
    camera_assumed: bool = False
    source: str | None = None
    px0: np.ndarray | None = None
    px1: np.ndarray | None = None
    frames_decoded: int = 0
    damage: tuple = ()

    @property
    def n_pairs(self) -> int:
        return max(0, int(self.frame_t_s.size) - 1)

    def sample_times(self, readout_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Video-clock capture times (M,) of both ends of every sample."""
        t0 = self.frame_t_s[self.pair] + self.frac0 * readout_s
        t1 = self.frame_t_s[self.pair + 1] + self.frac1 * readout_s
        return t0, t1

    def select_pairs(self, keep: np.ndarray) -> FlowSamples:
        """The samples whose pair index is flagged in ``keep`` (a (F-1,) bool mask)."""
        m = np.asarray(keep, dtype=bool)[self.pair]
        return self.take(m)

    def take(self, index: np.ndarray) -> FlowSamples:
        """The samples selected by a boolean mask or index array over samples."""
        i = np.asarray(index)
        px0 = None if self.px0 is None else self.px0[i]
        px1 = None if self.px1 is None else self.px1[i]
        return FlowSamples(self.frame_t_s, self.pair[i], self.ray0_cam[i], self.ray1_cam[i],
                           self.frac0[i], self.frac1[i], self.camera, self.camera_assumed,
                           self.source, px0, px1, self.frames_decoded)

    def with_camera(self, camera: CameraModel) -> FlowSamples:
        """The same correspondences re-unprojected through another lens (same image size)."""
        if self.px0 is None or self.px1 is None:
            raise SolveError("flow samples carry no pixel coordinates to re-unproject")
        return FlowSamples(self.frame_t_s, self.pair, unproject(camera, self.px0),
                           unproject(camera, self.px1), self.frac0, self.frac1, camera,
                           self.camera_assumed, self.source, self.px0, self.px1,
                           self.frames_decoded)


@dataclass(frozen=True, eq=False)
class PairRates:
    """Angular velocity per frame pair, camera axes (rad/s).

    ``t_s`` is the mean capture time of the pair's samples (video clock), ``valid`` flags pairs
    with enough consistent flow, ``inlier_frac`` the share of samples the robust fit kept.
    """

    t_s: np.ndarray
    omega_rad_s: np.ndarray
    valid: np.ndarray
    inlier_frac: np.ndarray
    span_s: np.ndarray


def pinhole_guess(size: tuple[int, int], hfov_deg: float = ASSUMED_HFOV_DEG) -> CameraModel:
    """A distortion-free pinhole for ``size=(w, h)`` with the given horizontal field of view."""
    w, h = int(size[0]), int(size[1])
    f = 0.5 * w / np.tan(np.radians(hfov_deg) / 2.0)
    K = np.array([[f, 0.0, (w - 1) / 2.0], [0.0, f, (h - 1) / 2.0], [0.0, 0.0, 1.0]])
    return CameraModel(K, np.zeros(4), "opencv_standard", (w, h),
                       meta={"assumed_hfov_deg": float(hfov_deg)})


def _analysis_size(width: int, height: int, target_w: int) -> tuple[int, int]:
    if width <= target_w:
        return width, height
    w = int(target_w) // 2 * 2
    h = max(2, int(round(height * w / width)) // 2 * 2)
    return w, h


def flow_samples_from_frames(
    frames: Iterable[np.ndarray],
    frame_t_s: np.ndarray,
    camera: CameraModel | None = None,
    *,
    readout_direction: str = "top_to_bottom",
    grid_step_px: int = 8,
    max_per_pair: int = 300,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    source: str | None = None,
    total_frames: int | None = None,
) -> FlowSamples:
    """Flow samples from a sequence of grayscale frames (all the same size).

    Parameters
    ----------
    frames : iterable of (h, w) uint8 or None
        Frames in time order; a ``None`` item marks a gap (no flow pair is formed across it).
    frame_t_s : (F,) float64 or list
        Their video times, seconds (read after the last frame, so a list a decoder thread
        appends to works).
    camera : CameraModel, optional
        The lens at any resolution (scaled to the frames); a pinhole guess when omitted.
    readout_direction : str
        ``top_to_bottom`` or ``bottom_to_top`` (row fractions are negated for the latter).
    grid_step_px : int
        Spacing of the candidate sample grid.
    max_per_pair : int
        Textured candidates kept per pair (the most textured first, then a seeded random pick).
    progress : callable, optional
        Called with a ``sensors.progress.Progress`` record (stage ``"motion"``, ``done`` the
        frames processed so far, ``total`` = ``total_frames``) after every frame.
    source : str, optional
        File named in error messages.
    total_frames : int, optional
        Frames expected, for the progress records.
    """
    if readout_direction not in ("top_to_bottom", "bottom_to_top"):
        raise InputError(f"sync supports row-wise readout only, got {readout_direction!r}", source)
    rng = np.random.default_rng(seed)
    dis = _make_dis()
    pairs, r0s, r1s, f0s, f1s, px0s, px1s = [], [], [], [], [], [], []
    prev = None
    cam = None
    assumed = camera is None
    grid = None
    n = 0
    for img in frames:
        if img is None:
            # A gap (the next frame starts another decode window): no pair across it.
            prev = None
            continue
        k = n
        img = np.ascontiguousarray(img)
        if cam is None:
            h, w = img.shape[:2]
            cam = pinhole_guess((w, h)) if camera is None else camera.scaled((w, h))
            m = grid_step_px // 2
            gy, gx = np.mgrid[m:h - m:grid_step_px, m:w - m:grid_step_px]
            grid = np.stack([gx.ravel(), gy.ravel()], axis=-1)
            grid_rays = unproject(cam, grid.astype(np.float64))
        if prev is not None:
            eig0 = cv2.cornerMinEigenVal(prev, 5)
            idx, p1 = _flow_pairs(dis, prev, img, eig0, grid, max_per_pair, rng)
            p0 = grid[idx].astype(np.float64)
            f0 = row_fraction(p0[:, 1], h, readout_direction)
            f1 = row_fraction(p1[:, 1], h, readout_direction)
            pairs.append(np.full(p0.shape[0], k - 1, dtype=np.int64))
            px0s.append(p0)
            px1s.append(p1)
            r0s.append(grid_rays[idx])
            r1s.append(unproject(cam, p1))
            f0s.append(f0)
            f1s.append(f1)
        prev = img
        n += 1
        report(progress, "motion", n, total_frames)
    # Read the times only now: a streaming decoder fills them while the frames are consumed.
    t = frame_times(frame_t_s, n, source)
    cat = np.concatenate
    return FlowSamples(t, cat(pairs), cat(r0s), cat(r1s), cat(f0s), cat(f1s), cam, assumed,
                       source, cat(px0s), cat(px1s))


def frame_times(frame_t_s, n: int, source: str | None = None) -> np.ndarray:
    """The ``n`` analysed frames' times as an array, or ``InputError`` when they do not match
    the frames or are too few to sync on (read after the frames: a streaming decoder fills
    them while the frames are consumed)."""
    t = np.asarray(frame_t_s, dtype=np.float64)
    if n != t.size:
        raise InputError(f"{n} frames but {t.size} timestamps", source)
    if n < 3:
        raise InputError(f"{n} frames; sync needs at least 3", source)
    return t


def flow_samples_from_video(
    path: str,
    camera: CameraModel | None = None,
    *,
    readout_direction: str = "top_to_bottom",
    target_width: int = 320,
    windows_s: Sequence[tuple[float, float]] | None = None,
    keyframes_s: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    analyse: Callable[..., FlowSamples] | None = None,
) -> FlowSamples:
    """Decode ``path`` at ~``target_width`` px wide and return its ``FlowSamples``.

    Decoding runs in its own thread feeding a small queue, so the decoder (PyAV) and the flow
    (OpenCV) overlap on two cores; both release the GIL.

    Parameters
    ----------
    windows_s : sequence of (start_s, end_s), optional
        Video-time windows to analyse (sorted, non-overlapping). For each the decoder seeks to
        the keyframe at or before ``start_s``, decodes forward and drops the frames before it;
        no flow pair spans two windows. The whole video when None.
    keyframes_s : (K,) float64, optional
        Keyframe times (``keyframe_times``); with them the decoder seeks only when the next
        window's keyframe lies beyond the frames already decoded, so no frame is decoded twice.
    progress : callable, optional
        Called with a ``sensors.progress.Progress`` record (stage ``"motion"``) after every frame
        analysed; ``total`` is the frames expected (the stream's frame count, or the windows'
        length times the frame rate) when the container tells.
    analyse : callable, optional
        Turns the decoded frames into samples, with ``flow_samples_from_frames``'s signature
        (``sensors.sphere_motion`` passes its panorama version); that function when None.
    """
    import queue
    import threading

    import av

    try:
        container = av.open(str(path))
    except (av.error.InvalidDataError, av.error.FileNotFoundError, OSError) as exc:
        raise InputError(f"cannot open video ({exc})", path) from None
    if not container.streams.video:
        container.close()
        raise InputError("no video stream", path)
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    full = (stream.codec_context.width, stream.codec_context.height)
    small = _analysis_size(full[0], full[1], target_width)
    if camera is not None:
        fa = camera.size[0] / camera.size[1]
        va = full[0] / full[1]
        if abs(fa - va) > 0.02 * va:
            container.close()
            raise InputError(
                f"lens profile is for {camera.size[0]}x{camera.size[1]} but the video is "
                f"{full[0]}x{full[1]} (different aspect ratio)", path)
    q: queue.Queue = queue.Queue(maxsize=32)
    times: list[float] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    tb = stream.time_base
    # packets the decoder rejects are skipped and recorded, as ffmpeg does (sensors.damage)
    damage = DecodeDamage(str(path), tb, float(stream.average_rate or 0))

    decoded = [0]
    if windows_s is not None:
        wins = [(float(a), float(b)) for a, b in windows_s]
        if not wins or any(not (b > a) for a, b in wins) or any(
                wins[i][1] > wins[i + 1][0] for i in range(len(wins) - 1)):
            container.close()
            raise InputError(f"decode windows must be sorted, non-overlapping and non-empty, "
                             f"got {wins}", path)

    def put(frame) -> None:
        img = frame.reformat(width=small[0], height=small[1], format="gray")
        q.put(img.to_ndarray().copy())

    def stamp(frame) -> float:
        if frame.pts is None:
            raise InputError("a video frame has no timestamp", path)
        return float(frame.pts * tb)

    def produce() -> None:
        try:
            if windows_s is None:
                for frame in damage.frames(container, stream):
                    if stop.is_set():
                        break
                    decoded[0] += 1
                    t = stamp(frame)
                    if times and t <= times[-1]:
                        raise InputError(f"video frame timestamps are not increasing at "
                                         f"{t:.6f} s", path)
                    put(frame)
                    times.append(t)
            else:
                it = None  # the running decoder, kept across windows when no seek is needed
                pending = None  # a frame read past the previous window's end
                last_t = -np.inf
                for a, b in wins:
                    # Seek only when the keyframe at or before ``a`` is ahead of where decoding
                    # stands; otherwise decoding on is cheaper (and a long GOP would make a seek
                    # decode the same frames twice). After a seek (backward=True lands on that
                    # keyframe) the frames up to ``a`` are decoded, being references, but not
                    # analysed.
                    kb = None
                    if keyframes_s is not None:
                        before = np.asarray(keyframes_s)[np.asarray(keyframes_s) <= a + 1e-9]
                        kb = float(before.max()) if before.size else None
                    if it is None or kb is None or kb > last_t:
                        container.seek(max(0, int(np.floor(a / tb))), backward=True,
                                       any_frame=False, stream=stream)
                        it = iter(damage.frames(container, stream))
                        pending = None
                    started = False
                    while True:
                        if pending is not None:
                            frame, pending = pending, None
                        else:
                            frame = next(it, None)
                            if frame is None:
                                break
                            decoded[0] += 1
                        if stop.is_set():
                            return
                        t = stamp(frame)
                        last_t = max(last_t, t)
                        if t < a or (times and t <= times[-1]):
                            continue
                        if t > b:
                            pending = frame
                            break
                        if not started and times:
                            q.put(None)  # gap marker: no flow pair across windows
                        started = True
                        put(frame)
                        times.append(t)
        except av.error.InvalidDataError as exc:
            errors.append(InputError(f"cannot decode video ({exc})", path))
        except BaseException as exc:  # handed to the consumer thread and re-raised there
            errors.append(exc)
        finally:
            q.put(_END)

    worker = threading.Thread(target=produce, name="sync-decode", daemon=True)
    worker.start()
    try:
        def frames():
            # ``_END`` closes the stream; ``None`` items are gap markers between windows.
            while (img := q.get()) is not _END:
                yield img

        try:
            samples = (analyse or flow_samples_from_frames)(
                frames(), times, camera, readout_direction=readout_direction,
                progress=progress, source=str(path),
                total_frames=_expected_frames(stream, windows_s))
            samples = replace(samples, frames_decoded=int(decoded[0]),
                              damage=tuple(damage.ranges()))
        except InputError:
            if errors:
                raise errors[0] from None
            raise
    finally:
        stop.set()
        while worker.is_alive():  # drain so a blocked producer can finish
            try:
                q.get(timeout=0.1)
            except queue.Empty:
                pass
        worker.join()
        container.close()
    if errors:
        raise errors[0]
    return samples


def _expected_frames(stream, windows_s: Sequence[tuple[float, float]] | None) -> int | None:
    """Frames the analysis should see: the stream's count, or the windows' span at its rate."""
    if windows_s is None:
        return int(stream.frames) if stream.frames else None
    rate = stream.average_rate
    if not rate:
        return None
    return int(sum(np.floor((b - a) * float(rate)) + 1 for a, b in windows_s))


def keyframe_times(path: str, start_s: float, end_s: float, *,
                   max_probes: int = 64) -> np.ndarray | None:
    """Keyframe times (s, ascending) from the last one at or before ``start_s`` to ``end_s``.

    Found by seeking backwards from ``end_s`` and reading one packet per seek (the container's
    index, no decoding and no pass over the file). Returns None when the file cannot be probed
    or the keyframes are denser than ``max_probes`` in the range (then seeking costs little
    anyway).
    """
    import av

    found: list[float] = []
    try:
        with av.open(str(path)) as c:
            st = c.streams.video[0]
            tb = st.time_base
            t = float(end_s)
            for _ in range(max_probes):
                c.seek(max(0, int(np.floor(t / tb))), backward=True, any_frame=False, stream=st)
                pkt = next((p for p in c.demux(st) if p.pts is not None), None)
                if pkt is None:
                    return None
                k = float(pkt.pts * tb)
                if found and k >= found[-1]:
                    break  # no earlier keyframe
                found.append(k)
                if k <= start_s:
                    break
                t = k - 1e-3
            else:
                return None
    except (av.error.FFmpegError, OSError, IndexError):
        return None
    return np.asarray(sorted(found))


def _flow_pairs(dis, a: np.ndarray, b: np.ndarray, eig: np.ndarray, grid: np.ndarray,
                max_n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of textured grid points of ``a`` and where the flow a -> b puts them in ``b``."""
    h, w = a.shape[:2]
    flow = dis.calc(a, b, None)
    # Minimum-eigenvalue texture measure: flow in flat regions is interpolated, not seen.
    score = eig[grid[:, 1], grid[:, 0]]
    good = np.flatnonzero(score > max(1e-4, 0.05 * float(np.percentile(score, 90))))
    if good.size > max_n:
        good = np.sort(rng.choice(good, max_n, replace=False))
    p0 = grid[good].astype(np.float64)
    p1 = p0 + flow[grid[good, 1], grid[good, 0]].astype(np.float64)
    if good.size:
        # DIS flow is patch-averaged and locks slightly toward whole pixels; a Lucas-Kanade step
        # seeded with it gives the sub-pixel accuracy the sub-millisecond offset needs.
        q0 = p0.astype(np.float32).reshape(-1, 1, 2)
        q1 = p1.astype(np.float32).reshape(-1, 1, 2)
        q1, st, _ = cv2.calcOpticalFlowPyrLK(
            a, b, q0, q1, winSize=(LK_WIN, LK_WIN), maxLevel=1,
            criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 0.005),
            flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
        ok = st.ravel() == 1
        good, p1 = good[ok], q1.reshape(-1, 2)[ok].astype(np.float64)
    inside = (p1[:, 0] >= 0) & (p1[:, 0] <= w - 1) & (p1[:, 1] >= 0) & (p1[:, 1] <= h - 1)
    return good[inside], p1[inside]


LK_WIN = 15


def _make_dis() -> cv2.DISOpticalFlow:
    # FAST preset: the Lucas-Kanade refinement in ``_flow_pairs`` supplies the sub-pixel
    # accuracy, so the dense stage only has to be robust, not precise.
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)


def _skew(v: np.ndarray) -> np.ndarray:
    z = np.zeros(v.shape[:-1])
    x, y, w = v[..., 0], v[..., 1], v[..., 2]
    return np.stack([np.stack([z, -w, y], -1), np.stack([w, z, -x], -1),
                     np.stack([-y, x, z], -1)], -2)


def pair_rates(
    samples: FlowSamples, readout_s: float, *, min_samples: int = 20, iterations: int = 5
) -> PairRates:
    """Angular velocity per frame pair from its flow samples (rolling-shutter aware).

    For a static scene point, small rotation ``omega`` over ``dt`` moves its ray as
    ``r1 = r0 + dt * (r0 x omega)`` (camera rotating by ``exp([omega dt]x)``, docs/architecture.md
    rotations). Each sample has its own ``dt`` from its two row times; the 3x3 system per pair is
    solved by IRLS with Cauchy weights on the residual (scale from the median residual), so flow
    on moving objects loses its say.

    Returns
    -------
    PairRates with one entry per pair (F - 1); ``valid`` is False where fewer than
    ``min_samples`` samples existed.
    """
    s = samples
    P = s.n_pairs
    t0, t1 = s.sample_times(readout_s)
    dt = t1 - t0
    if np.any(dt <= 0):
        raise SolveError("frame pairs with non-positive capture interval; readout too long?")
    A = _skew(s.ray0_cam) * dt[:, None, None]
    b = s.ray1_cam - s.ray0_cam
    f = s.camera.K[0, 0]
    omega = np.zeros((P, 3))
    valid = np.zeros(P, dtype=bool)
    inl = np.zeros(P)
    tm = np.zeros(P)
    span = np.diff(s.frame_t_s)
    counts = np.bincount(s.pair, minlength=P)
    tmid = 0.5 * (t0 + t1)
    tm_sum = np.bincount(s.pair, weights=tmid, minlength=P)
    tm = np.where(counts > 0, tm_sum / np.maximum(counts, 1), 0.5 * (s.frame_t_s[:-1]
                                                                      + s.frame_t_s[1:]))
    wts = np.ones(s.pair.size)
    # Pair-batched normal equations: accumulate A^T W A and A^T W b per pair with bincount.
    for it in range(iterations):
        AtA = np.zeros((P, 3, 3))
        Atb = np.zeros((P, 3))
        AtA_s = np.einsum("mki,mkj->mij", A, A) * wts[:, None, None]
        Atb_s = np.einsum("mki,mk->mi", A, b) * wts[:, None]
        for i in range(3):
            Atb[:, i] = np.bincount(s.pair, weights=Atb_s[:, i], minlength=P)
            for j in range(3):
                AtA[:, i, j] = np.bincount(s.pair, weights=AtA_s[:, i, j], minlength=P)
        ok = counts >= min_samples
        reg = 1e-12 * np.eye(3)
        omega[ok] = np.linalg.solve(AtA[ok] + reg, Atb[ok][..., None])[..., 0]
        res_px = f * np.linalg.norm(np.einsum("mij,mj->mi", A, omega[s.pair]) - b, axis=1)
        med = np.zeros(P)
        # Per-pair median residual via sorting within groups.
        order = np.lexsort((res_px, s.pair))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        mid_idx = starts + counts // 2
        med[ok] = res_px[order][np.minimum(mid_idx[ok], res_px.size - 1)]
        scale = np.maximum(1.4826 * med, 0.05)[s.pair] * 2.385
        wts = 1.0 / (1.0 + (res_px / scale) ** 2)
        if it == iterations - 1:
            inl = np.bincount(s.pair, weights=(res_px < 2 * scale).astype(float),
                              minlength=P) / np.maximum(counts, 1)
    valid = counts >= min_samples
    return PairRates(tm, omega, valid, inl, span)
