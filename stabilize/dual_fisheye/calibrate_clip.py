"""Calibrate a dual-fisheye clip's lens pair once, from a few of its frames.

The still calibration of ``stitch.dual_fisheye.calibrate`` (circles, a nominal back-to-back
equidistant start, a field-of-view search, SIFT and dense ring flow solved in Ceres) run on
several frames at once: the field-of-view scores of every frame are summed, and the dense pairs
of every frame pooled into the last solve, so a stretch of plain sky in one frame is covered by
the others; the stages before it, which only give that solve its start, take frames in turn
until they have enough pairs. Frames are picked where the gyro says the camera turns slowest
(one per part of the clip): the two lenses read a point of the ring at nearly the same row
time, but a fast turn still blurs and skews the ring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import av
import numpy as np

from sensors.errors import InputError, SolveError
from sensors.fisheye_layout import to_side_by_side
from stitch.dual_fisheye.calibrate import (
    dense_round,
    edge_margin_px,
    nominal_lenses,
    solve_calibration,
    usable_fov,
)
from stitch.dual_fisheye.circles import find_circles
from stitch.dual_fisheye.ground import ground_info
from stitch.dual_fisheye.lens import R_BACK
from stitch.dual_fisheye.ring import (
    STRIP_OVERSAMPLE,
    PixelPairs,
    coarse_matches,
    dense_matches,
    ring_agreement,
    ring_strips_many,
    strip_columns,
)
from stitch.params import StitchParams

from .rig import LensPair

__all__ = ["pick_calibration_frames", "read_frames", "calibrate_frames"]

_MIN_PAIRS = 30
_FOV_SEARCH_DEG = 14.0
_FOV_STEP_DEG = 2.0
_MOST_DENSE_PAIRS = 6000


def pick_calibration_frames(rate_rad_s: np.ndarray, n: int = 3) -> list[int]:
    """The slowest frame (smallest gyro rate) of each of ``n`` equal parts of the clip."""
    rate = np.asarray(rate_rad_s, dtype=np.float64)
    if rate.size == 0:
        return []
    n = max(1, min(int(n), rate.size))
    edges = np.linspace(0, rate.size, n + 1).round().astype(int)
    out = [int(a + np.argmin(rate[a:b])) for a, b in zip(edges[:-1], edges[1:], strict=True)
           if b > a]
    return sorted(set(out))


def read_frames(video, indices: Sequence[int]) -> dict[int, np.ndarray]:
    """Decode frames ``indices`` of ``video`` (BGR uint8, side by side:
    ``sensors.fisheye_layout``), in one pass that stops after the last one."""
    want = set(int(i) for i in indices)
    out: dict[int, np.ndarray] = {}
    if not want:
        return out
    last = max(want)
    with av.open(str(video)) as src:
        stream = src.streams.video[0]
        stream.thread_type = "AUTO"
        for i, fr in enumerate(src.decode(stream)):
            if i in want:
                out[i] = to_side_by_side(fr.to_ndarray(format="bgr24"))
            if i >= last:
                break
    return out


def _pooled(parts: list[PixelPairs], most: int | None = None) -> PixelPairs:
    """The frames' pairs in one set; thinned evenly to ``most`` (the solve's cost grows with
    the pairs, its accuracy hardly past a few thousand spread around the ring)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return PixelPairs(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0))
    x0 = np.concatenate([p.x0 for p in parts])
    x1 = np.concatenate([p.x1 for p in parts])
    wt = np.concatenate([p.weight for p in parts])
    if most is not None and len(x0) > most:
        keep = np.linspace(0, len(x0) - 1, most).round().astype(np.intp)
        x0, x1, wt = x0[keep], x1[keep], wt[keep]
    return PixelPairs(x0, x1, wt)


def _first_enough(imgs: list[np.ndarray], pairs_of) -> PixelPairs:
    """Pairs of the first frame, of the first two if too few, ..., of all of them."""
    got: list[PixelPairs] = []
    for im in imgs:
        got.extend(pairs_of([im]))
        pooled = _pooled(got, _MOST_DENSE_PAIRS)
        if len(pooled) >= 10 * _MIN_PAIRS:
            return pooled
    return _pooled(got, _MOST_DENSE_PAIRS)


def calibrate_frames(frames: Sequence[np.ndarray], fov_deg: float = 190.0,
                     params: StitchParams | None = None, dense_rounds: int = 2,
                     source: str | None = None) -> LensPair:
    """Calibrate both lenses and their relative orientation from several frames.

    Parameters
    ----------
    frames : sequence of (h, w, 3) uint8
        BGR dual-fisheye frames of one clip, lenses side by side.
    fov_deg : float
        Starting full field of view of each lens, degrees.
    params : StitchParams, optional
        Flow settings of the dense rounds.
    dense_rounds : int
        Rounds of pooled dense ring flow.
    source : str, optional
        The clip, for messages.

    Returns
    -------
    LensPair
        With ``info``: frames used, discs, the searched field of view and each stage's pairs
        and residuals.

    Raises
    ------
    InputError
        A frame without two findable discs.
    SolveError
        Too few correspondences in the ring, pooled over the frames.

    Examples
    --------
    >>> from stitch.dual_fisheye.synthetic import DualFisheyeTruth, render_dual_fisheye
    >>> truth = DualFisheyeTruth.random(seed=2, height_px=200)
    >>> pair = calibrate_frames([render_dual_fisheye(truth)])
    >>> est, true = pair.lenses[0], truth.lenses[0]
    >>> bool(abs(est.cx_px - true.cx_px) < 0.5 and abs(est.cy_px - true.cy_px) < 0.5)
    True
    """
    if not frames:
        raise InputError("no frames to calibrate the lenses from", source)
    if not 150.0 <= float(fov_deg) <= 260.0:
        raise InputError(f"field of view must be in 150..260 degrees, got {fov_deg:g}", source)
    params = params or StitchParams()
    imgs = [np.ascontiguousarray(f) for f in frames]
    h, w = imgs[0].shape[:2]
    # The discs of the brightest version of every pixel: a dark scene corner in one frame does
    # not eat into the disc.
    layout, circles = find_circles(np.max(np.stack(imgs), axis=0), "side_by_side", source)
    edge = edge_margin_px(circles)
    R = R_BACK.copy()
    lenses = nominal_lenses(circles, fov_deg)
    n_cols = strip_columns(lenses[0])
    scale = n_cols / (2 * math.pi * STRIP_OVERSAMPLE)
    info: dict = {"source": "frames", "start_fov_deg": float(fov_deg), "stages": []}
    fovs = fov_deg + np.arange(-_FOV_SEARCH_DEG, _FOV_SEARCH_DEG + 0.5, _FOV_STEP_DEG)
    fovs = fovs[fovs > 181.0]
    span = math.radians(max(fovs) / 2 - 90 + 4)
    scores = [sum(ring_agreement(st) for st in ring_strips_many(
        imgs, nominal_lenses(circles, fv), R, circles, edge, n_cols // 2, span)) for fv in fovs]
    best = float(fovs[int(np.argmax(scores))])
    lenses = nominal_lenses(circles, best)
    info["searched_fov_deg"] = best
    ground = None
    # The coarse stages only need a start for the last, pooled, round: each takes frames in
    # turn until one gives enough pairs (all of them when the rings are poor in texture).
    pairs = _first_enough(imgs, lambda ims: [coarse_matches(st) for st in ring_strips_many(
        ims, lenses, R, circles, edge, n_cols, math.radians(30))])
    try:
        if len(pairs) >= _MIN_PAIRS:
            lenses, R, fig = solve_calibration(pairs, lenses, R, circles, scale,
                                               robust_scale_px=3.0, fit_ground=False)
            info["stages"].append({"stage": "coarse", **fig})
        for k in range(dense_rounds):
            def dense(ims, lenses=lenses, R=R):
                return [dense_matches(st, params)
                        for st in ring_strips_many(ims, lenses, R, circles, edge, n_cols)]

            pairs = (_pooled(dense(imgs), _MOST_DENSE_PAIRS) if k == dense_rounds - 1
                     else _first_enough(imgs, dense))
            robust = params.robust_scale_px if info["stages"] else 3.0
            lenses, R, fig = dense_round(k, pairs, lenses, R, circles, scale, robust,
                                         ground)
            info["stages"].append({"stage": "dense", **fig})
            ground = fig["ground"]
    except SolveError as exc:
        raise SolveError(f"{source}: {exc}" if source else str(exc)) from None
    info["ground"] = ground_info(ground)
    lenses = tuple(usable_fov(L, c, edge) for L, c in zip(lenses, circles, strict=True))
    info["circles"] = [{"cx_px": c.cx_px, "cy_px": c.cy_px, "radius_px": c.radius_px}
                       for c in circles]
    info["layout"] = layout
    info["fov_deg"] = [2 * math.degrees(L.fov_rad) for L in lenses]
    return LensPair((lenses[0], lenses[1]), R, (w, h), info,
                    None if ground is None else tuple(float(v) for v in ground))
