"""Frame-by-frame stabilizer for video tools and live use: numpy frames in, warped frames out.

``Stabilizer.from_video`` reads what a clip needs as ``stabilize_video`` does (gyro log, lens,
readout, sync offset) and plans the whole virtual path up front, so each pushed frame comes back
at once, warped along the same path by the same mesh as ``stabilize_video`` warps it (a pushed
Y plane comes back equal to the bit). Built from a ``MotionTrack``
alone, a ``Stabilizer`` runs the same filter chain over a bounded lookahead instead: for frame
``i`` it filters frames ``i - N .. i + N`` and keeps the centre. ``N`` is the chain's reach
(``chain_reach_s``) in frames, so away from the clip ends the virtual path equals the offline
one (the ``fixed`` zoom mode is the exception: it can only take the largest need within the
window).

An equirect clip (``from_video`` detects it as ``stabilize_video`` does, or
``projection="equirect"``) is stabilized by rotating the sphere: the path is the sphere's
(``sphere_plan.plan_sphere_path``, leveled where the log has an accelerometer) and the frames
are warped by ``sphere_warp.SphereWarper``, so they come back as ``stabilize_video`` writes
them, every pixel defined.
"""

from __future__ import annotations

import math
import os
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from sensors.errors import InputError
from sensors.progress import get_logger, note

from .filters import FilterContext, chain_reach_s, run_chain
from .motion import MotionTrack
from .params import StabilizeParams
from .synthesis import MeshWarper

if TYPE_CHECKING:
    from sensors.types import CameraModel, SensorLog

__all__ = ["Stabilizer", "lookahead_frames"]

_log = get_logger(__name__)


def lookahead_frames(params: StabilizeParams, fps: float) -> int:
    """Frames of lookahead (and lookbehind) the chain needs at ``fps``."""
    if params.lookahead_frames is not None:
        return int(params.lookahead_frames)
    return int(math.ceil(chain_reach_s(params) * fps)) + 1


class Stabilizer:
    """Stabilize frames one at a time.

    Parameters
    ----------
    motion : MotionTrack
        Real motion of the clip (``analyze_motion``); only frames within the lookahead of the
        current one are read from it.
    params : StabilizeParams
        Job settings.
    fps : float
        Frame rate.
    plan : FilterContext, optional
        A virtual path planned for the whole clip (``pipeline.plan_path`` over frames
        ``[plan.first_frame, plan.first_frame + len(plan))``): used as is, without lookahead,
        and frames outside it pass through unchanged, as in ``stabilize_video``.
    indexed : bool
        ``push`` and ``flush`` return ``(index, frame)`` pairs (the default here) rather than
        frames alone (``from_video``'s default).
    projection : str
        ``flat``, or ``equirect``: ``motion.camera`` is ``sensors.equirect.equirect_camera``,
        the sphere is rotated (no zoom) and, without a plan, the window's path is the sphere's.
    level_sphere : bool
        Equirect without a plan: keep gravity down where the log has an accelerometer.

    Attributes
    ----------
    lookahead : int
        Frames a pushed frame waits for before it comes back (0 with a plan).
    stabilized_frames : (int, int)
        Range ``[i0, i1)`` of frames warped (the others pass through).
    notes : list of str
        Assumptions and warnings (also logged under ``steadyrig.stabilize``).

    Examples
    --------
    Stabilize a generated one-second clip frame by frame (its gyro log and lens profile lie
    beside it, and the log shares the video's clock), with frames as OpenCV or PyAV decode them:

    >>> import tempfile, av
    >>> from sensors.synthetic import generate_clip
    >>> tmp = tempfile.TemporaryDirectory()
    >>> clip = generate_clip(tmp.name, width=160, height=90, duration_s=1.0, audio=False)
    >>> st = Stabilizer.from_video(clip.video, offset_ms=0.0)
    >>> out, n_in = [], 0
    >>> with av.open(str(clip.video)) as video:
    ...     for n_in, frame in enumerate(video.decode(video=0), 1):
    ...         out += st.push(frame.to_ndarray(format="bgr24"))
    >>> out += st.flush()
    >>> len(out) == n_in, out[0].shape, out[0].dtype
    (True, (90, 160, 3), dtype('uint8'))
    >>> tmp.cleanup()
    """

    def __init__(self, motion: MotionTrack, params: StabilizeParams, fps: float, *,
                 plan: FilterContext | None = None, indexed: bool = True,
                 projection: str = "flat", level_sphere: bool = True):
        self.motion = motion
        self.params = params
        self.fps = float(fps)
        self.plan = plan
        self.indexed = bool(indexed)
        if plan is None:
            self.lookahead = lookahead_frames(params, fps)
            self.stabilized_frames = (0, len(motion))
        else:
            self.lookahead = 0
            self.stabilized_frames = (plan.first_frame, plan.first_frame + len(plan))
            if not 0 <= self.stabilized_frames[0] < self.stabilized_frames[1] <= len(motion):
                raise InputError(f"the plan's frames {self.stabilized_frames} are not frames of "
                                 f"the {len(motion)}-frame motion track")
        if projection not in ("flat", "equirect"):
            raise InputError(f"unknown projection {projection!r}; valid: flat, equirect")
        self.projection = projection
        self.level_sphere = bool(level_sphere)
        if projection == "equirect":
            from .sphere_warp import SphereWarper

            self.warper = SphereWarper(motion.camera.size, interpolation=params.interpolation)
        else:
            self.warper = MeshWarper(motion.camera, params.mesh, params.interpolation,
                                     params.output_lens())
        self._queue: deque = deque()
        self._next_in = 0
        self._next_out = 0
        self.notes: list[str] = []
        self.motion_source: np.ndarray | None = None  # set by from_video

    @classmethod
    def from_video(
        cls,
        path: str | os.PathLike,
        gyro: str | os.PathLike | SensorLog | None = None,
        lens: str | os.PathLike | CameraModel | None = None,
        *,
        readout_ms: float | None = None,
        offset_ms: float | None = None,
        params: StabilizeParams | None = None,
        strict: bool = False,
        indexed: bool = False,
        projection: str = "auto",
        level_sphere: bool = True,
        **settings,
    ) -> Stabilizer:
        """A stabilizer for the frames of the video at ``path``, ready for ``push``.

        The inputs are found, the offset synced and the virtual path planned exactly as
        ``stabilize_video`` does (``inputs.resolve_inputs``, ``pipeline.plan_clip``), so the
        frames pushed come back warped as ``stabilize_video`` warps them, each at once.

        Parameters
        ----------
        path : path-like
            The video whose frames will be pushed (probed here, not decoded: the caller
            decodes).
        gyro : path-like or SensorLog, optional
            Its log; else a same-stem ``.gcsv`` beside the video, else its embedded telemetry
            (``inputs.find_gyro_log``).
        lens : path-like or CameraModel, optional
            Gyroflow lens profile or camera; else ``<stem>.lens.json`` beside the video, else
            an assumed pinhole (noted).
        readout_ms, offset_ms : float, optional
            Rolling-shutter readout and sync offset (``t_video = t_log - offset``); by default
            as ``stabilize_video`` finds them (the offset: 0 for embedded telemetry, the log's
            frame stamps, or auto sync, which decodes the clip once).
        params : StabilizeParams, optional
            Job settings (default ``StabilizeParams()``).
        strict : bool
            Refuse a log that covers only part of the clip (else those frames pass through).
        indexed : bool
            ``push`` returns ``(index, frame)`` pairs rather than frames.
        projection : str
            ``auto`` (as ``stabilize_video`` decides: spherical metadata, or a 2:1 frame from a
            360 camera), ``flat`` or ``equirect``: the sphere is rotated.
        level_sphere : bool
            Equirect only: keep gravity down where the log has an accelerometer.
        **settings
            ``StabilizeParams`` fields to set (e.g. ``window_s=0.4``, ``zoom="fixed"``), on top
            of ``params``.

        Returns
        -------
        Stabilizer
            With ``notes`` holding what was found beside the clip or assumed,
            ``stabilized_frames``, ``motion_source`` (per frame: ``gyro``, ``video`` or
            ``none``), and ``motion.offset_s`` / ``motion.readout_s`` as used.
        """
        from .inputs import resolve_inputs
        from .pipeline import plan_clip
        from .warmup import warm_up_kernels

        warm_up_kernels()
        params = StabilizeParams() if params is None else params
        if settings:
            params = params.replace(**settings)
        clip = resolve_inputs(path, gyro, lens, readout_ms, offset_ms, projection)
        plan = plan_clip(clip, params, strict, level_sphere=level_sphere)
        st = cls(plan.motion, params, clip.info.fps, plan=plan.path, indexed=indexed,
                 projection=clip.projection, level_sphere=level_sphere)
        st.notes.extend(clip.notes)
        st.notes.extend(plan.notes)  # logged by the motion analysis and plan_clip
        st.motion_source = plan.sources
        return st

    def virtual_at(self, index: int) -> tuple[np.ndarray, float, dict]:
        """Virtual quaternion (4,), zoom and per-frame extras of frame ``index``.

        From the plan when there is one; else from the frames within ``lookahead`` of
        ``index`` alone.
        """
        if self.plan is not None:
            k = index - self.plan.first_frame
            if not 0 <= k < len(self.plan):
                raise IndexError(f"frame {index} is outside the planned frames "
                                 f"{self.stabilized_frames}")
            p = self.plan
            return p.virtual_quat[k], float(p.zoom[k]), {n: v[k] for n, v in p.extras.items()}
        F = len(self.motion)
        i0 = max(0, index - self.lookahead)
        i1 = min(F, index + self.lookahead + 1)
        q = self.motion.frame_quat[i0:i1]
        m = self.motion
        if self.projection == "equirect":
            from .sphere_plan import plan_sphere_path

            ctx = plan_sphere_path(m, self.params, self.fps, (i0, i1), level=self.level_sphere)
        else:
            ctx = FilterContext(m.frame_t_s[i0:i1], q, q.copy(), np.ones(i1 - i0), m.camera,
                                m.real, self.fps, m.readout_s, m.readout_direction,
                                self.params, m.gyro, first_frame=i0, ois=m.ois)
            ctx = run_chain(ctx)
        k = index - i0
        for n in ctx.notes:
            if n not in self.notes:
                note(self.notes, _log, n)
        return ctx.virtual_quat[k], float(ctx.zoom[k]), {n: v[k] for n, v in ctx.extras.items()}

    def _emit(self):
        img = self._queue.popleft()
        i = self._next_out
        self._next_out += 1
        i0, i1 = self.stabilized_frames
        if i0 <= i < i1:
            qv, zoom, _ = self.virtual_at(i)
            vmap = self.warper.vertex_map(self.motion.frame(i), qv, zoom)
            out = self.warper.warp_gray(img, vmap)
        else:  # not covered by the log: passed through unchanged, as stabilize_video does
            out = img.copy()
        return (i, out) if self.indexed else out

    def push(self, image: np.ndarray) -> list:
        """Add the next input frame; returns the frames that became ready, in order.

        ``image`` is (H, W) or (H, W, C) at the video's size, e.g. BGR uint8 as OpenCV and
        PyAV (``to_ndarray(format="bgr24")``) decode it; each comes back warped, of the same
        shape and type (black outside the source, which the zoom avoids; none on a sphere).
        With ``indexed``, ``(index, frame)`` pairs.
        """
        w, h = self.motion.camera.size
        if image.ndim not in (2, 3) or image.shape[:2] != (h, w):
            raise InputError(f"frame of shape {image.shape} pushed; this clip's frames are "
                             f"{h}x{w} (H, W[, C])")
        if self._next_in >= len(self.motion):
            raise IndexError("more frames pushed than the motion track has")
        self._queue.append(image)
        self._next_in += 1
        out = []
        # frame i is final once frames up to i + lookahead are in (or the clip ends)
        while self._queue and (self._next_in - 1 - self._next_out >= self.lookahead):
            out.append(self._emit())
        return out

    def flush(self) -> list:
        """Emit the frames still queued (end of clip)."""
        out = []
        while self._queue:
            out.append(self._emit())
        return out
