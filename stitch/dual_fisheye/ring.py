"""Correspondences in the overlap ring of two back-to-back fisheyes.

Both lenses see a band around the great circle halfway between their axes. It is unwrapped into
a **ring strip**: an equirectangular map whose pole is the front lens's axis, so the band lies
along its equator without pole stretching. Strip pixel (column ``c``, row ``r``) is the
front-lens ray at azimuth ``phi = c * s`` and off-axis angle ``theta = theta_lo + r * s`` with
``s = 2 pi / n_cols``; columns wrap. Each lens is drawn into its own strip through the current
calibration, so where the calibration is right the two strips show the same thing at the same
pixel, and what moves between them is the calibration's error.

Two kinds of correspondences are found between the strips and handed back as pixel pairs in
the frame (which do not depend on the calibration that drew the strips):

- **coarse**: SIFT features matched by descriptor, kept where their displacement agrees with
  the most common one (a lens rolled by any angle shifts the whole strip sideways, so this also
  finds a rolled second lens);
- **dense**: the panorama overlap flow of :mod:`stitch.flow` (exposure normalisation, DIS, FB
  check, Lucas-Kanade refinement, thinning to a grid), run on the strips as two full-width
  layers of a panorama ``n_cols`` wide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..flow import normalise_exposure, overlap_correspondences
from ..params import StitchParams
from ..projection import Overlap, ProjectedLayer
from .circles import ImageCircle
from .lens import FisheyeLens, pixels_to_rays, rays_to_pixels

__all__ = ["RingStrips", "ring_strips", "ring_strips_many", "ring_agreement", "coarse_matches",
           "dense_matches", "PixelPairs", "strip_columns", "STRIP_OVERSAMPLE"]

_THETA_HALF_SPAN_RAD = math.radians(30.0)
_SIFT_RATIO = 0.8
_WRAP_PAD_PX = 48
_MIN_AGREEMENT_ROWS = 4
_BLUR_REACH_ROWS = 8  # rows a Gaussian blur of sigma 1.5 px reads each side (OpenCV: 6)
STRIP_OVERSAMPLE = 2.0


@dataclass(frozen=True, eq=False)
class PixelPairs:
    """The same scene point in the front lens (``x0``) and the back lens (``x1``), frame px."""

    x0: np.ndarray
    x1: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.x0)


@dataclass(frozen=True, eq=False)
class RingStrips:
    """Both lenses drawn into the ring strip (see the module docstring)."""

    images: tuple[np.ndarray, np.ndarray]
    valid: tuple[np.ndarray, np.ndarray]
    theta_lo_rad: float
    step_rad: float
    lenses: tuple[FisheyeLens, FisheyeLens]
    R_rig_from_back: np.ndarray

    @property
    def n_cols(self) -> int:
        """Strip width (columns wrap)."""
        return self.images[0].shape[1]

    def rays(self, cr: np.ndarray) -> np.ndarray:
        """Front-lens (= rig) rays (N, 3) of strip points (N, 2) (column, row)."""
        phi = cr[:, 0] * self.step_rad
        th = self.theta_lo_rad + cr[:, 1] * self.step_rad
        s = np.sin(th)
        return np.column_stack([s * np.cos(phi), s * np.sin(phi), np.cos(th)])

    def grid_rays(self, n_rows: int, n_cols: int) -> np.ndarray:
        """``rays`` of every strip pixel (n_rows * n_cols, 3), row by row: the same values,
        with the angles' sines and cosines taken once per row and column."""
        phi = np.arange(n_cols, dtype=np.float64) * self.step_rad
        th = self.theta_lo_rad + np.arange(n_rows, dtype=np.float64)[:, None] * self.step_rad
        s = np.sin(th)
        out = np.empty((n_rows, n_cols, 3))
        out[..., 0] = s * np.cos(phi)
        out[..., 1] = s * np.sin(phi)
        out[..., 2] = np.cos(th)
        return out.reshape(-1, 3)

    def frame_pixels(self, cr: np.ndarray, lens: int) -> np.ndarray:
        """Frame pixels (N, 2) of strip points (N, 2) as lens ``lens`` drew them."""
        return self.ray_pixels(self.rays(cr), lens)

    def ray_pixels(self, rays: np.ndarray, lens: int) -> np.ndarray:
        """Frame pixels (N, 2) of front-lens rays (N, 3) as lens ``lens`` drew them."""
        if lens == 1:
            # R^T d for row vectors, summed here: a BLAS product of hundreds of thousands of
            # rays starts threads that spin against other work on a busy machine
            R = self.R_rig_from_back
            rays = rays[:, 0, None] * R[0] + rays[:, 1, None] * R[1] + rays[:, 2, None] * R[2]
        L = self.lenses[lens]
        return rays_to_pixels(rays, L.f_px, L.cx_px, L.cy_px, L.k1)[0]


def strip_columns(lens: FisheyeLens) -> int:
    """Strip width: twice the frame's resolution along the 90-degree circle (a multiple of 8).

    Oversampled so that the overlap, a few degrees each side of 90, is tall enough in strip
    rows for the flow's windows on small frames.
    """
    return int(8 * math.ceil(STRIP_OVERSAMPLE * 2 * math.pi * float(lens.radius_px(math.pi / 2))
                             / 8))


def ring_strips(image: np.ndarray, lenses: tuple[FisheyeLens, FisheyeLens],
                R_rig_from_back: np.ndarray, circles: tuple[ImageCircle, ImageCircle],
                edge_px: float, n_cols: int | None = None,
                half_span_rad: float | None = None) -> RingStrips:
    """Draw both lenses into the ring strip through the calibration ``lenses``/``R``.

    A strip pixel is valid where its frame pixel lies inside the lens's detected disc, at least
    ``edge_px`` from its edge (the disc's rim is soft and vignetted). The strip spans
    ``half_span_rad`` each side of 90 degrees (default: the overlap and a margin).
    """
    return ring_strips_many([image], lenses, R_rig_from_back, circles, edge_px, n_cols,
                            half_span_rad)[0]


def ring_strips_many(images, lenses: tuple[FisheyeLens, FisheyeLens],
                     R_rig_from_back: np.ndarray, circles: tuple[ImageCircle, ImageCircle],
                     edge_px: float, n_cols: int | None = None,
                     half_span_rad: float | None = None) -> list[RingStrips]:
    """:func:`ring_strips` of several frames of one camera (the strip geometry computed once)."""
    n_cols = strip_columns(lenses[0]) if n_cols is None else int(n_cols)
    step = 2 * math.pi / n_cols
    if half_span_rad is None:
        reach = max(float(L.theta_rad(c.radius_px)) for L, c in zip(lenses, circles,
                                                                     strict=True))
        half_span_rad = min(_THETA_HALF_SPAN_RAD, max(reach - math.pi / 2, 0.0)
                            + math.radians(4.0))
    th_lo = math.pi / 2 - half_span_rad
    n_rows = int(round(2 * half_span_rad / step)) + 1
    strips = RingStrips((None, None), (None, None), th_lo, step, lenses,
                        np.asarray(R_rig_from_back, dtype=np.float64))
    rays = strips.grid_rays(n_rows, n_cols)
    maps, valid = [], []
    for k in (0, 1):
        px = strips.ray_pixels(rays, k).reshape(n_rows, n_cols, 2)
        circ = circles[k]
        inside = np.hypot(px[..., 0] - circ.cx_px, px[..., 1] - circ.cy_px) \
            < circ.radius_px - edge_px
        h, w = images[0].shape[:2]
        inside &= (px[..., 0] >= 0) & (px[..., 0] <= w - 1) & (px[..., 1] >= 0) \
            & (px[..., 1] <= h - 1)
        maps.append((px[..., 0].astype(np.float32), px[..., 1].astype(np.float32)))
        valid.append(inside)
    out = []
    for image in images:
        drawn = []
        for (mx, my), inside in zip(maps, valid, strict=True):
            img = cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            img[~inside] = 0
            drawn.append(img)
        out.append(RingStrips((drawn[0], drawn[1]), (valid[0], valid[1]), th_lo, step, lenses,
                              strips.R_rig_from_back))
    return out


def _grey8(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img


def ring_agreement(strips: RingStrips) -> float:
    """How alike the two strips are where both lenses see: the mean product of their
    exposure-normalised grey levels (a normalised cross-correlation; 0 where nothing overlaps).
    """
    both = strips.valid[0] & strips.valid[1]
    if both.sum() < 64:
        return 0.0
    core = cv2.erode(both.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if core.sum() < _MIN_AGREEMENT_ROWS * strips.n_cols:
        return 0.0  # too thin an overlap to tell (and to flow in)
    # Only the rows where both lenses see, and the band-limiting blur's reach beyond them: the
    # exposure normalisation is zero outside them and blurs with a zero border, so its values
    # there are those of the whole strip.
    rows = np.flatnonzero(both.any(axis=1))
    band = slice(max(int(rows[0]) - _BLUR_REACH_ROWS, 0), int(rows[-1]) + 1 + _BLUR_REACH_ROWS)
    # Band-limited: a search start a pixel or two off should still correlate.
    z = [normalise_exposure(cv2.GaussianBlur(_grey8(im[band]).astype(np.float32), (0, 0), 1.5),
                            both[band], sigma_px=8.0) for im in strips.images]
    a, b = z[0][core[band]], z[1][core[band]]
    return float(np.mean(a * b) / max(math.sqrt(np.mean(a * a) * np.mean(b * b)), 1e-9))


def coarse_matches(strips: RingStrips, max_dy_px: float | None = None) -> PixelPairs:
    """SIFT matches between the strips, kept where they agree with the dominant shift."""
    sift = cv2.SIFT_create(nfeatures=4000)  # strips for SIFT span the full +-30 degrees
    feats = []
    for k in (0, 1):
        mask = cv2.erode(strips.valid[k].astype(np.uint8), np.ones((5, 5), np.uint8))
        feats.append(sift.detectAndCompute(_grey8(strips.images[k]), mask))
    (kp0, d0), (kp1, d1) = feats
    empty = PixelPairs(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0))
    if d0 is None or d1 is None or len(kp0) < 8 or len(kp1) < 8:
        return empty
    knn = cv2.BFMatcher(cv2.NORM_L2).knnMatch(d0, d1, k=2)
    good = [m[0] for m in knn if len(m) == 2 and m[0].distance < _SIFT_RATIO * m[1].distance]
    if len(good) < 8:
        return empty
    p0 = np.array([kp0[m.queryIdx].pt for m in good], dtype=np.float64)
    p1 = np.array([kp1[m.trainIdx].pt for m in good], dtype=np.float64)
    n = strips.n_cols
    dx = np.mod(p1[:, 0] - p0[:, 0] + n / 2, n) - n / 2
    dy = p1[:, 1] - p0[:, 1]
    # The dominant sideways shift (a roll of the back lens), from a coarse histogram.
    bins = np.arange(-n / 2, n / 2 + 16, 16)
    hist, edges = np.histogram(dx, bins)
    k = int(np.argmax(hist))
    near = np.abs(dx - 0.5 * (edges[k] + edges[k + 1])) < 24
    mdx, mdy = float(np.median(dx[near])), float(np.median(dy[near]))
    span = max_dy_px if max_dy_px is not None else 0.5 * strips.images[0].shape[0]
    keep = (np.abs(dx - mdx) < 24) & (np.abs(dy - mdy) < span)
    if keep.sum() < 8:
        return empty
    p0, p1 = p0[keep], p1[keep]
    return PixelPairs(strips.frame_pixels(p0, 0), strips.frame_pixels(p1, 1),
                      np.ones(len(p0)))


def dense_matches(strips: RingStrips, params: StitchParams | None = None) -> PixelPairs:
    """Dense overlap flow between the strips (:mod:`stitch.flow`), as frame pixel pairs."""
    n = strips.n_cols
    # A finer grid than the panorama's: the ring is only a few dozen strip rows tall.
    params = (params or StitchParams()).with_(heldout_fraction=0.0, flow_grid_px=4)
    both = strips.valid[0] & strips.valid[1]
    rows = np.flatnonzero(both.any(axis=1))
    if rows.size < 8:
        return PixelPairs(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0))
    layers = [ProjectedLayer(k, 0, 0, strips.images[k], strips.valid[k].astype(np.float32), n)
              for k in (0, 1)]
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    cols = np.mod(np.arange(-_WRAP_PAD_PX, n + _WRAP_PAD_PX), n)
    ov = Overlap(0, 1, -_WRAP_PAD_PX, r0, n + 2 * _WRAP_PAD_PX, r1 - r0, both[r0:r1][:, cols])
    matches = overlap_correspondences(layers, [ov], params)
    if not matches:
        return PixelPairs(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0))
    pm = matches[0]
    # The padded columns repeat the strip's ends: keep one copy of each point.
    own = (pm.p_i[:, 0] >= 0) & (pm.p_i[:, 0] < n)
    p0, p1 = pm.p_i[own], pm.p_j[own]
    return PixelPairs(strips.frame_pixels(p0, 0), strips.frame_pixels(p1, 1),
                      np.asarray(pm.weight)[own])


def frame_rays(pairs: PixelPairs, lenses: tuple[FisheyeLens, FisheyeLens]
               ) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame rays of both ends of the pairs under ``lenses``."""
    out = []
    for x, L in ((pairs.x0, lenses[0]), (pairs.x1, lenses[1])):
        out.append(pixels_to_rays(x, L.f_px, L.cx_px, L.cy_px, L.k1))
    return out[0], out[1]
