"""Frame-by-frame stabilizer over a bounded lookahead queue (for video tools and live use).

``Stabilizer`` runs the same filter chain as the offline path planner, but only over the frames
within its lookahead: for frame ``i`` it filters frames ``i - N .. i + N`` and keeps the centre.
``N`` is the chain's reach (``chain_reach_s``) in frames, so away from the clip ends the virtual
path equals the offline one (the ``fixed`` zoom mode is the exception: it can only take the
largest need within the window).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from .filtering import FilterContext, chain_reach_s, run_chain
from .motion import MotionTrack
from .params import StabilizeParams
from .synthesis import MeshWarper

__all__ = ["Stabilizer", "lookahead_frames"]


def lookahead_frames(params: StabilizeParams, fps: float) -> int:
    """Frames of lookahead (and lookbehind) the chain needs at ``fps``."""
    if params.lookahead_frames is not None:
        return int(params.lookahead_frames)
    return int(math.ceil(chain_reach_s(params) * fps)) + 1


class Stabilizer:
    """Stabilize frames one at a time with a bounded lookahead.

    Parameters
    ----------
    motion : MotionTrack
        Real motion of the clip (``analyze_motion``); only frames within the lookahead of the
        current one are read from it.
    params : StabilizeParams
        Job settings.
    fps : float
        Frame rate.

    Examples
    --------
    >>> st = Stabilizer(motion, params, fps)              # doctest: +SKIP
    >>> for img in frames:                                 # doctest: +SKIP
    ...     for index, out in st.push(img): write(out)
    >>> for index, out in st.flush(): write(out)          # doctest: +SKIP
    """

    def __init__(self, motion: MotionTrack, params: StabilizeParams, fps: float):
        self.motion = motion
        self.params = params
        self.fps = float(fps)
        self.lookahead = lookahead_frames(params, fps)
        self.warper = MeshWarper(motion.camera, params.mesh, params.interpolation)
        self._queue: deque = deque()
        self._next_in = 0
        self._next_out = 0
        self.notes: list[str] = []

    def virtual_at(self, index: int) -> tuple[np.ndarray, float, dict]:
        """Virtual quaternion (4,), zoom and per-frame extras of frame ``index``.

        Uses only frames within ``lookahead`` of ``index``.
        """
        F = len(self.motion)
        i0 = max(0, index - self.lookahead)
        i1 = min(F, index + self.lookahead + 1)
        q = self.motion.frame_quat[i0:i1]
        m = self.motion
        ctx = FilterContext(m.frame_t_s[i0:i1], q, q.copy(), np.ones(i1 - i0), m.camera, m.real,
                            self.fps, m.readout_s, m.readout_direction, self.params, m.gyro,
                            first_frame=i0, ois=m.ois)
        ctx = run_chain(ctx)
        k = index - i0
        self.notes.extend(n for n in ctx.notes if n not in self.notes)
        return ctx.virtual_quat[k], float(ctx.zoom[k]), {n: v[k] for n, v in ctx.extras.items()}

    def _emit(self) -> tuple[int, np.ndarray]:
        img = self._queue.popleft()
        i = self._next_out
        qv, zoom, _ = self.virtual_at(i)
        vmap = self.warper.vertex_map(self.motion.frame(i), qv, zoom)
        self._next_out += 1
        return i, self.warper.warp_gray(img, vmap)

    def push(self, image: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Add the next input frame (H, W[, C]); returns the frames that became ready."""
        if self._next_in >= len(self.motion):
            raise IndexError("more frames pushed than the motion track has")
        self._queue.append(image)
        self._next_in += 1
        out = []
        # frame i is final once frames up to i + lookahead are in (or the clip ends)
        while self._queue and (self._next_in - 1 - self._next_out >= self.lookahead):
            out.append(self._emit())
        return out

    def flush(self) -> list[tuple[int, np.ndarray]]:
        """Emit the frames still queued (end of clip)."""
        out = []
        while self._queue:
            out.append(self._emit())
        return out
