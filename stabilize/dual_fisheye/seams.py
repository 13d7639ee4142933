"""Seam warps and lens gains of a dual-fisheye clip: solved on keyframes, smoothed over time.

On a keyframe (the first and last frame, and one every ``interval_s``) the frame is stitched as
``stitch.dual_fisheye`` stitches a still with a known rig, but in the seam frame
(``rig.R_SEAM_FROM_CAM``: the lens axes at the poles, the overlap ring along the equator): both
lenses projected into the panorama (``stitch.projection``), dense flow in the overlap ring
(``stitch.flow``) and a cubic B-spline displacement per lens solved in Ceres
(``stitch.warp_solve``). Each lens's warp is
kept as a **seam field**: its displacement sampled every ``field_step_px`` on the stitch
panorama (zero outside the lens's layer, where its blend weight is zero anyway), a few tens of
kilobytes per keyframe. The gain between the lenses is the ratio of their mean brightness
where both see.

Over time the keyframes' fields and log gain ratios are smoothed by a Gaussian across
keyframes (``sigma_keyframes``) and interpolated linearly between them for every frame, so the
seam neither flickers nor jumps; a keyframe whose solve fails (a featureless ring) is skipped.
The two passes before the transcode decode frames one at a time: memory grows with the number
of keyframes (their fields: about 0.1 MB each for a 1280 px wide clip, 6 MB a minute at one a
second), not with the frames; the smoothing is linear in the number of keyframes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import av
import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from sensors.errors import InputError, SolveError
from sensors.fisheye_layout import to_side_by_side
from sensors.progress import ProgressCallback, report
from stitch.flow import overlap_correspondences
from stitch.params import StitchParams
from stitch.projection import (
    ProjectedLayer,
    coverage_weight,
    find_overlaps,
    layer_maps,
    plan_layers,
)
from stitch.warp_solve import solve_warps_info

from .parallax import parallax_field, without_model
from .rig import LensPair

__all__ = ["SeamKeyframe", "SeamTrack", "SeamProjection", "solve_keyframe", "keyframe_indices",
           "plan_seams", "seam_width_px", "seam_params", "FIELD_STEP_PX", "SEAM_ANCHOR_WEIGHT"]

#: Spacing of a seam field's samples, stitch panorama px (half the spline's control spacing).
FIELD_STEP_PX = 16
_MIN_OVERLAP_PX = 64
#: The seam warps' pull towards no displacement (the stitch's default is 0.01). Here the
#: calibration's scene model (ground, far scene) already puts most of the parallax right, so
#: the warps are small corrections: a firmer anchor keeps them from carrying a few noisy
#: matches, or the slope of the nearest texture, into a featureless stretch of the ring (sky),
#: and still leaves a textured overlap's matches (a dozen per control cell) about 96 % of
#: their say.
SEAM_ANCHOR_WEIGHT = 0.3


def seam_params() -> StitchParams:
    """The stitch settings of the seam solves (``SEAM_ANCHOR_WEIGHT``, the rest default)."""
    return StitchParams(anchor_weight=SEAM_ANCHOR_WEIGHT)


@dataclass(frozen=True, eq=False)
class SeamKeyframe:
    """One keyframe's seam solution.

    Parameters
    ----------
    index : int
        Frame index.
    fields : (2, gh, gw, 2) float32
        Each lens's displacement (dx, dy), stitch panorama px, at ``(a, b) * step``.
    gain_ratio : float
        Mean brightness of the front lens over the back lens's where both see.
    info : dict
        Pairs and solve figures.
    """

    index: int
    fields: np.ndarray
    gain_ratio: float
    info: dict = field(default_factory=dict)


def seam_width_px(pair: LensPair) -> int:
    """Stitch panorama width for the seam solves: the frame's own resolution along the seam
    (``stitch.dual_fisheye.auto_width_px``), a multiple of ``2 * FIELD_STEP_PX``."""
    r90 = float(pair.lenses[0].radius_px(math.pi / 2))
    q = 2 * FIELD_STEP_PX
    return int(q * max(4, math.ceil(2 * math.pi * r90 / q)))


def _canvas(layer, W: int) -> tuple[np.ndarray, np.ndarray]:
    """The layer's grey image and valid mask on the full (H, W) panorama."""
    H = W // 2
    g = np.zeros((H + 1, W), np.float32)
    m = np.zeros((H + 1, W), bool)
    h, w = layer.mask.shape
    cols = np.mod(layer.x0 + np.arange(w), W)
    rows = slice(layer.y0, layer.y0 + h)
    g[rows, cols] = cv2.cvtColor(layer.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    m[rows, cols] = layer.mask > 0
    return g, m


def _sampled(warp, layer, W: int, step: int) -> np.ndarray:
    """The warp's displacement (gh, gw, 2) sampled every ``step`` px, zero off its layer."""
    gw, gh = W // step, (W // 2) // step + 1
    U, V = np.meshgrid(np.arange(gw, dtype=np.float64) * step,
                       np.arange(gh, dtype=np.float64) * step)
    out = np.zeros((gh, gw, 2), np.float32)
    if warp is None:
        return out
    inside = (V >= layer.y0) & (V <= layer.y0 + layer.height - 1)
    q = np.column_stack([U[inside], V[inside]])
    out[inside] = warp.displacement(q).astype(np.float32)
    return out


class SeamProjection:
    """Both lenses' layers of the seam panorama, computed once for every keyframe of a clip.

    ``stitch.projection.project_rig`` of the seam rig, with what depends only on the lens pair
    (each layer's crop, remap maps and coverage weight; about 40 % of a keyframe's solve at
    1280 x 640) kept between frames: ``project(frame)`` then remaps the frame into both
    layers, with the same result as ``project_rig``.

    Parameters
    ----------
    pair : LensPair
        The calibrated lenses.
    width_px : int
        Seam panorama width (``seam_width_px``).
    params : StitchParams
        ``feather_px`` and ``margin_px`` of the layers.
    """

    def __init__(self, pair: LensPair, width_px: int, params: StitchParams):
        self.rig = pair.seam_rig()
        self.width_px = int(width_px)
        self.size = tuple(int(v) for v in pair.size)
        self.layers = plan_layers(self.rig, self.width_px, params.margin_px)
        self.maps = []
        for cam, lay in zip(self.rig, self.layers, strict=True):
            mx, my, ok = layer_maps(cam, lay)
            mask = coverage_weight(ok, params.feather_px)
            for a in (mx, my, ok, mask):
                a.setflags(write=False)  # shared by every keyframe's layers
            self.maps.append((mx, my, ok, mask))

    def project(self, frame: np.ndarray) -> list[ProjectedLayer]:
        """The frame (BGR, the pair's size) drawn into both layers."""
        img = np.ascontiguousarray(frame)
        if img.shape[:2] != self.size[::-1]:
            raise InputError(f"frame {img.shape[1]}x{img.shape[0]} is not the "
                             f"{self.size[0]}x{self.size[1]} of the lens pair")
        out = []
        for k, (lay, (mx, my, ok, mask)) in enumerate(zip(self.layers, self.maps, strict=True)):
            pix = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            if pix.ndim == 2 and img.ndim == 3:
                pix = pix[..., None]
            pix[~ok] = 0
            out.append(ProjectedLayer(k, lay.x0, lay.y0, pix, mask, self.width_px))
        return out


def solve_keyframe(frame: np.ndarray, pair: LensPair, width_px: int | None = None,
                   params: StitchParams | None = None, index: int = 0,
                   projection: SeamProjection | None = None) -> SeamKeyframe:
    """Seam fields and gain ratio of one frame (see the module docstring); ``projection``
    (of this pair, width and ``params``) is computed when not given.

    Raises
    ------
    SolveError
        No correspondences in the ring, or the warp solve fails.
    """
    W = seam_width_px(pair) if width_px is None else int(width_px)
    params = (params or seam_params()).with_(width_px=W, heldout_fraction=0.0)
    if projection is None:
        projection = SeamProjection(pair, W, params)
    layers = projection.project(frame)
    overlaps = find_overlaps(layers)
    if not overlaps:
        raise SolveError("the lenses do not overlap on the panorama (check the rig's field of "
                         "view)")
    matches = overlap_correspondences(layers, overlaps, params)
    n_pairs = sum(len(m.p_i) for m in matches)
    if n_pairs == 0:
        raise SolveError("no correspondences in the lenses' overlap ring")
    # the scene model's parallax (ground, far scene) is the fields' base; warps solve the rest
    warps, solve = solve_warps_info(layers, without_model(matches, pair.ground, W), params)
    g0, m0 = _canvas(layers[0], W)
    g1, m1 = _canvas(layers[1], W)
    both = m0 & m1
    ratio = 1.0
    if both.sum() >= _MIN_OVERLAP_PX:
        a, b = float(g0[both].mean()), float(g1[both].mean())
        if a > 1.0 and b > 1.0:
            ratio = a / b
    fields = np.stack([_sampled(warps[k], layers[k].layer, W, FIELD_STEP_PX)
                       + parallax_field(k, layers[k].layer, W, FIELD_STEP_PX, pair.ground)
                       for k in (0, 1)])
    info = {"pairs": int(n_pairs), "max_displacement_px": float(np.abs(fields).max()),
            "solve_s": float(getattr(solve, "seconds", 0.0) or 0.0)}
    return SeamKeyframe(int(index), fields, float(ratio), info)


@dataclass(frozen=True, eq=False)
class SeamTrack:
    """Smoothed seam fields and gains of every frame, from keyframes.

    Parameters
    ----------
    keyframes : (K,) int
        Frame indices of the kept keyframes (ascending).
    fields : (K, 2, gh, gw, 2) float32
        Their seam fields, smoothed across keyframes.
    log_ratio : (K,) float64
        Their log gain ratios (front over back), smoothed.
    pano_width_px : int
        Stitch panorama width the fields are in.
    step_px : int
        Field sample spacing.
    notes : tuple of str
    """

    keyframes: np.ndarray
    fields: np.ndarray
    log_ratio: np.ndarray
    pano_width_px: int
    step_px: int = FIELD_STEP_PX
    notes: tuple = ()

    @classmethod
    def from_keyframes(cls, keys: Sequence[SeamKeyframe], pano_width_px: int,
                       sigma_keyframes: float = 1.0, notes: Sequence[str] = ()) -> SeamTrack:
        """Smooth the keyframes' fields and gains (a Gaussian of ``sigma_keyframes`` keyframes;
        0 keeps them as solved). With no keyframe: no warp and equal gains."""
        W = int(pano_width_px)
        gw, gh = W // FIELD_STEP_PX, (W // 2) // FIELD_STEP_PX + 1
        if not keys:
            return cls(np.zeros(1, np.int64), np.zeros((1, 2, gh, gw, 2), np.float32),
                       np.zeros(1), W, FIELD_STEP_PX, tuple(notes))
        keys = sorted(keys, key=lambda k: k.index)
        idx = np.array([k.index for k in keys], np.int64)
        F = np.stack([k.fields for k in keys]).astype(np.float32)
        L = np.log(np.array([k.gain_ratio for k in keys]))
        if sigma_keyframes > 0 and len(keys) > 1:
            # truncated at 3 sigma, ends held: linear in the number of keyframes
            F = gaussian_filter1d(F, sigma_keyframes, axis=0, mode="nearest", truncate=3.0)
            L = gaussian_filter1d(L, sigma_keyframes, mode="nearest", truncate=3.0)
        return cls(idx, F, L, W, FIELD_STEP_PX, tuple(notes))

    def at(self, frame_index: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
        """Front and back seam fields (gh, gw, 2) float64 and the lens gains ``(g0, g1)`` of a
        frame: linear between the keyframes around it; the gains bring both lenses to their
        geometric mean."""
        k = self.keyframes
        i = float(frame_index)
        if k.size == 1 or i <= k[0]:
            j, a = 0, 0.0
        elif i >= k[-1]:
            j, a = k.size - 2, 1.0
        else:
            j = int(np.searchsorted(k, i, side="right") - 1)
            a = (i - k[j]) / (k[j + 1] - k[j])
        if k.size == 1:
            f, lr = self.fields[0].astype(np.float64), float(self.log_ratio[0])
        else:
            f = (1 - a) * self.fields[j].astype(np.float64) + a * self.fields[j + 1]
            lr = (1 - a) * float(self.log_ratio[j]) + a * float(self.log_ratio[j + 1])
        g = math.exp(0.5 * lr)
        return np.ascontiguousarray(f[0]), np.ascontiguousarray(f[1]), (1.0 / g, g)


def keyframe_indices(n_frames: int, fps: float, interval_s: float) -> list[int]:
    """Frames 0, every ``interval_s`` and the last one."""
    if n_frames <= 0:
        return []
    every = max(1, int(round(float(interval_s) * float(fps))))
    out = list(range(0, n_frames, every))
    if out[-1] != n_frames - 1:
        out.append(n_frames - 1)
    return out


def plan_seams(video, pair: LensPair, n_frames: int, fps: float, interval_s: float = 1.0,
               params: StitchParams | None = None, sigma_keyframes: float = 1.0,
               progress: ProgressCallback | None = None) -> SeamTrack:
    """Decode ``video`` once and solve the seam of every keyframe (``keyframe_indices``), then
    smooth them (:meth:`SeamTrack.from_keyframes`); reported as ``Progress("seams", k, K)``."""
    if interval_s <= 0:
        raise InputError(f"keyframe interval must be positive, got {interval_s:g} s")
    want = keyframe_indices(n_frames, fps, interval_s)
    todo = set(want)
    W = seam_width_px(pair)
    params = (params or seam_params()).with_(width_px=W, heldout_fraction=0.0)
    projection = SeamProjection(pair, W, params)
    keys: list[SeamKeyframe] = []
    notes: list[str] = []
    done = 0
    with av.open(str(video)) as src:
        stream = src.streams.video[0]
        stream.thread_type = "AUTO"
        for i, fr in enumerate(src.decode(stream)):
            if i in todo:
                try:
                    keys.append(solve_keyframe(to_side_by_side(fr.to_ndarray(format="bgr24")),
                                               pair, W, params,
                                               i, projection))
                except SolveError as exc:
                    notes.append(f"dual-fisheye: seam of frame {i} not solved ({exc}); its "
                                 "neighbours' is used")
                done += 1
                report(progress, "seams", done, len(want))
            if i >= want[-1]:
                break
    if not keys:
        notes.append("dual-fisheye: no keyframe's seam could be solved; the lenses are blended "
                     "with the calibration alone")
    return SeamTrack.from_keyframes(keys, W, sigma_keyframes, notes)
