"""Overlap correspondences: dense flow between two layers where both see the scene.

For each overlap (``stitch.projection.Overlap``) both layers are cut to the overlap's box in one
unwrapped frame, then:

1. **Exposure normalisation**: each crop becomes ``(I - local mean) / local std`` (Gaussian
   window, computed over valid pixels only), so per-camera gains and vignetting cancel.
2. **Dense flow** with OpenCV DIS (``cv2.DISOpticalFlow``, fast preset) on the normalised
   crops quantised to 8 bits; after thinning (step 4) each kept point is refined by a few
   Lucas-Kanade steps on the float crops, each window under its own point's flow.
3. **Checks**: forward-backward consistency ``|F(x) + B(x + F(x))| < flow_fb_max_px``, both ends
   inside the (eroded) overlap, structure confidence = smallest eigenvalue of the windowed
   structure tensor above ``flow_min_eig``.
4. **Thinning** to one correspondence per ``flow_grid_px`` cell (the most confident pixel) and a
   seeded held-out split (``heldout_fraction``), kept for the report only.

Coordinates are absolute panorama pixels in the overlap's unwrapped frame: ``p_i`` and ``p_j``
may lie outside [0, W) and always wrap modulo W (``p_j`` is within a few px of ``p_i``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from sensors.errors import InputError

from .params import StitchParams

__all__ = ["PairMatches", "overlap_crops", "normalise_exposure", "dense_flow",
           "structure_min_eig", "lk_refine_points",
           "overlap_correspondences", "FLOW_METHODS"]

#: Dense flow methods by name (``StitchParams.flow_method``).
FLOW_METHODS = ("dis",)

_NORM_SIGMA_PX = 6.0  # window of the exposure normalisation
_LK_WINDOW_PX = 15  # window of the Lucas-Kanade refinement and the structure tensor
_LK_STEPS = 5
_LK_PRESMOOTH_PX = 1.0
_LK_CHUNK = 512  # points refined together (their window arrays: 512 x 225 float64, ~1 MB each)
_EROSION_PX = 4
_RELATIVE_MIN_CONF = 0.3  # flow is unreliable next to the overlap's edge (zero padding outside)


@dataclass(frozen=True, eq=False)
class PairMatches:
    """Correspondences between layer i and layer j (absolute panorama px, wrap-aware).

    Parameters
    ----------
    i, j : int
        Camera indices (``i < j``).
    p_i, p_j : (N, 2) float64
        The same scene content in layer i and in layer j (u, v).
    weight : (N,) float64
        Confidence in (0, 1].
    heldout : (N,) bool
        Kept aside for the report (the solves ignore these).
    """

    i: int
    j: int
    p_i: np.ndarray
    p_j: np.ndarray
    weight: np.ndarray
    heldout: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.p_i)
        if (np.shape(self.p_i) != (n, 2) or np.shape(self.p_j) != (n, 2)
                or np.shape(self.weight) != (n,) or np.shape(self.heldout) != (n,)):
            raise InputError(f"pair ({self.i}, {self.j}): p_i, p_j must be (N, 2) and weight, "
                             "heldout (N,)")

    def __len__(self) -> int:
        return len(self.p_i)

    def subset(self, keep: np.ndarray) -> PairMatches:
        """The matches selected by a boolean or index array."""
        return PairMatches(self.i, self.j, self.p_i[keep], self.p_j[keep], self.weight[keep],
                           self.heldout[keep])


def _crop(layer, ov) -> tuple[np.ndarray, np.ndarray]:
    """Layer pixels (h, w, C) float32 and validity (h, w) over the overlap's box."""
    W = layer.pano_width
    lh, lw = layer.mask.shape
    cols = np.mod(ov.x0 + np.arange(ov.w) - layer.x0, W)
    rows = ov.y0 + np.arange(ov.h) - layer.y0
    inside_c = cols < lw
    inside_r = (rows >= 0) & (rows < lh)
    cc = np.where(inside_c, cols, 0).astype(np.intp)
    rr = np.where(inside_r, rows, 0).astype(np.intp)
    img = layer.image[rr[:, None], cc[None, :]].astype(np.float32)
    valid = layer.mask[rr[:, None], cc[None, :]] > 0
    valid &= inside_r[:, None] & inside_c[None, :]
    return img, valid


def overlap_crops(layers_by_index: dict, ov) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grey crops of layer i and j over an overlap's box, and where both are valid."""
    img_i, val_i = _crop(layers_by_index[ov.i], ov)
    img_j, val_j = _crop(layers_by_index[ov.j], ov)
    gray = [im.mean(axis=2) if im.ndim == 3 else im for im in (img_i, img_j)]
    both = val_i & val_j & ov.mask
    return gray[0].astype(np.float32), gray[1].astype(np.float32), both


def normalise_exposure(gray: np.ndarray, valid: np.ndarray, sigma_px: float = _NORM_SIGMA_PX
                       ) -> np.ndarray:
    """(I - local mean) / local std over valid pixels (Gaussian window); 0 where invalid.

    A per-camera gain or offset (and any vignetting smooth on the window scale) cancels.
    """
    m = valid.astype(np.float32)
    g = np.where(valid, gray, 0).astype(np.float32)

    def blur(x):
        return cv2.GaussianBlur(x, (0, 0), sigma_px, borderType=cv2.BORDER_CONSTANT)

    wsum = np.maximum(blur(m), 1e-6)
    mean = blur(g) / wsum
    var = np.maximum(blur(g * g) / wsum - mean * mean, 0.0)
    # A floor on the std keeps flat areas (sky) from blowing up noise.
    z = (g - mean) / np.sqrt(var + 4.0)
    return np.where(valid, z, 0).astype(np.float32)


def _dis(a8: np.ndarray, b8: np.ndarray) -> np.ndarray:
    # DIS only initialises the per-point LK refinement, so its half-resolution finest scale is
    # enough (measured on a generated rosette: same final error as MEDIUM at full resolution,
    # median 0.064 px, at less than half the time).
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    dis.setFinestScale(1)
    return dis.calc(a8, b8, None)


def _to8(z: np.ndarray) -> np.ndarray:
    return np.clip(128.0 + 40.0 * z, 0, 255).astype(np.uint8)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))


def structure_min_eig(z: np.ndarray, window_px: int = _LK_WINDOW_PX) -> np.ndarray:
    """Smallest eigenvalue (h, w) of the windowed structure tensor of ``z`` (texture confidence)."""
    z = cv2.GaussianBlur(z, (0, 0), _LK_PRESMOOTH_PX)
    gx = cv2.Scharr(z, cv2.CV_32F, 1, 0) / 32.0
    gy = cv2.Scharr(z, cv2.CV_32F, 0, 1) / 32.0
    k = (window_px, window_px)
    gxx = cv2.boxFilter(gx * gx, -1, k)
    gxy = cv2.boxFilter(gx * gy, -1, k)
    gyy = cv2.boxFilter(gy * gy, -1, k)
    tr = gxx + gyy
    return 0.5 * (tr - np.sqrt(np.maximum((gxx - gyy) ** 2 + 4 * gxy * gxy, 0.0)))


def lk_refine_points(zi: np.ndarray, zj: np.ndarray, pts: np.ndarray, flow: np.ndarray,
                     steps: int = _LK_STEPS) -> np.ndarray:
    """Refine ``zi(p) ~ zj(p + f)`` at integer points by Lucas-Kanade on a window around each.

    Every window is evaluated under its own point's flow (a dense box-filtered variant mixes
    neighbours' flows and diverges where the flow varies).

    Parameters
    ----------
    zi, zj : (h, w) float32
        Normalised crops.
    pts : (N, 2) int
        (x, y) pixel positions in ``zi``.
    flow : (N, 2) float
        Initial flow at those points.

    Returns
    -------
    (N, 2) float64 refined flow.
    """
    # Band-limit both crops: on content near Nyquist a smoothed derivative underestimates the
    # true slope and the LK steps overshoot (measured: x1.6 on the sample panorama).
    zi = cv2.GaussianBlur(zi, (0, 0), _LK_PRESMOOTH_PX)
    zj = cv2.GaussianBlur(zj, (0, 0), _LK_PRESMOOTH_PX)
    gxj = cv2.Scharr(zj, cv2.CV_32F, 1, 0) / 32.0
    gyj = cv2.Scharr(zj, cv2.CV_32F, 0, 1) / 32.0
    r = _LK_WINDOW_PX // 2
    oy, ox = np.mgrid[-r:r + 1, -r:r + 1]
    ox, oy = ox.ravel(), oy.ravel()
    pts = np.asarray(pts)
    out = np.asarray(flow, np.float64).copy()
    # A chunk of points at a time: every point's refinement is its own, and the window
    # arrays of a chunk (a few MB) stay in cache where all points' (hundreds of MB) did not.
    for k in range(0, len(pts), _LK_CHUNK):
        sl = slice(k, k + _LK_CHUNK)
        px = np.asarray(pts[sl, 0], np.float64)[:, None] + ox
        py = np.asarray(pts[sl, 1], np.float64)[:, None] + oy
        tmpl = cv2.remap(zi, px.astype(np.float32), py.astype(np.float32), cv2.INTER_NEAREST,
                         borderMode=cv2.BORDER_REPLICATE).astype(np.float64)
        f = out[sl]
        for _ in range(steps):
            mx = (px + f[:, :1]).astype(np.float32)
            my = (py + f[:, 1:]).astype(np.float32)
            jw = cv2.remap(zj, mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
            gx = cv2.remap(gxj, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            gy = cv2.remap(gyj, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            gx, gy = gx.astype(np.float64), gy.astype(np.float64)
            e = tmpl - jw
            gxx, gxy, gyy = (gx * gx).sum(1), (gx * gy).sum(1), (gy * gy).sum(1)
            bx, by = (gx * e).sum(1), (gy * e).sum(1)
            det = gxx * gyy - gxy * gxy
            ok = det > 1e-9
            safe = np.where(ok, det, 1.0)
            dx = np.where(ok, (gyy * bx - gxy * by) / safe, 0.0)
            dy = np.where(ok, (gxx * by - gxy * bx) / safe, 0.0)
            # LK linearisation is trusted over a fraction of a pixel per step.
            f[:, 0] += np.clip(dx, -0.5, 0.5)
            f[:, 1] += np.clip(dy, -0.5, 0.5)
    return out


def dense_flow(zi: np.ndarray, zj: np.ndarray, method: str = "dis") -> np.ndarray:
    """Flow F (h, w, 2) float32 with ``zi(x) ~ zj(x + F(x))`` on normalised crops.

    Parameters
    ----------
    zi, zj : (h, w) float32
        Exposure-normalised crops (:func:`normalise_exposure`).
    method : str
        One of ``FLOW_METHODS``.
    """
    if method not in FLOW_METHODS:
        raise InputError(f"unknown flow method {method!r}; valid: {', '.join(FLOW_METHODS)}")
    return _dis(_to8(zi), _to8(zj))


def _pair_matches(li, lj, ov, params: StitchParams, rng: np.random.Generator
                  ) -> PairMatches | None:
    gi, gj, both = overlap_crops({li.index: li, lj.index: lj}, ov)
    if min(gi.shape) < 2 * _EROSION_PX + 8:
        return None
    zi = normalise_exposure(gi, both)
    zj = normalise_exposure(gj, both)
    fwd = dense_flow(zi, zj, params.flow_method)
    bwd = dense_flow(zj, zi, params.flow_method)
    lam = structure_min_eig(zi)
    h, w = both.shape
    X, Y = _grid(h, w)
    mx, my = X + fwd[..., 0], Y + fwd[..., 1]
    back = cv2.remap(bwd, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    fb = np.hypot(fwd[..., 0] + back[..., 0], fwd[..., 1] + back[..., 1])
    core = cv2.erode(both.astype(np.uint8), np.ones((2 * _EROSION_PX + 1,) * 2, np.uint8),
                     borderType=cv2.BORDER_CONSTANT, borderValue=0)
    end_ok = cv2.remap(core.astype(np.float32), mx, my, cv2.INTER_NEAREST,
                       borderMode=cv2.BORDER_CONSTANT) > 0.5
    good = (core > 0) & end_ok & (fb < params.flow_fb_max_px) & (lam > params.flow_min_eig)
    good &= np.isfinite(fwd).all(axis=2)
    if not good.any():
        return None
    # One match per grid cell: the most confident good pixel.
    g = int(params.flow_grid_px)
    nh, nw = -(-h // g), -(-w // g)
    score = np.full((nh * g, nw * g), -1.0, np.float32)
    score[:h, :w] = np.where(good, lam, -1.0)
    cells = score.reshape(nh, g, nw, g).transpose(0, 2, 1, 3).reshape(nh, nw, g * g)
    best = cells.argmax(axis=2)
    has = np.take_along_axis(cells, best[..., None], axis=2)[..., 0] > 0
    cr, cc = np.nonzero(has)
    r = cr * g + best[cr, cc] // g
    c = cc * g + best[cr, cc] % g
    p_i = np.column_stack([ov.x0 + c, ov.y0 + r]).astype(np.float64)
    f = lk_refine_points(zi, zj, np.column_stack([c, r]), fwd[r, c])
    moved = np.hypot(*(f - fwd[r, c]).T) < 1.0  # LK wandered off: not a trustworthy match
    r, c, f, p_i = r[moved], c[moved], f[moved], p_i[moved]
    if not len(r):
        return None
    conf = lam[r, c].astype(np.float64)
    # Relative texture cut: the least textured matches of an overlap carry most of its flow
    # error (measured on generated rosettes: bottom quartile median error 3x the rest).
    strong = conf >= _RELATIVE_MIN_CONF * np.median(conf)
    r, c, f, p_i, conf = r[strong], c[strong], f[strong], p_i[strong], conf[strong]
    p_j = p_i + f
    weight = conf / (conf + np.median(conf))
    heldout = rng.random(len(r)) < params.heldout_fraction
    return PairMatches(li.index, lj.index, p_i, p_j, weight, heldout)


def overlap_correspondences(layers: Sequence, overlaps: Sequence,
                            params: StitchParams | None = None) -> list[PairMatches]:
    """Correspondences in every overlap (see the module docstring).

    Parameters
    ----------
    layers : sequence of ProjectedLayer
    overlaps : sequence of Overlap
        From ``stitch.projection.find_overlaps``.
    params : StitchParams
        ``flow_method``, ``flow_grid_px``, ``flow_fb_max_px``, ``flow_min_eig``,
        ``heldout_fraction``, ``seed``.

    Returns
    -------
    list of PairMatches, one per overlap that yielded any correspondence (pairs without texture
    are left out).
    """
    params = params or StitchParams()
    if params.flow_method not in FLOW_METHODS:
        raise InputError(f"unknown flow method {params.flow_method!r}; valid: "
                         + ", ".join(FLOW_METHODS))
    by_index = {ly.index: ly for ly in layers}
    out = []
    for ov in overlaps:
        if ov.i not in by_index or ov.j not in by_index:
            raise InputError(f"overlap ({ov.i}, {ov.j}) names a camera without a layer")
        # Seeded per pair, so the split does not depend on the order of the overlaps.
        rng = np.random.default_rng([params.seed, ov.i, ov.j])
        pm = _pair_matches(by_index[ov.i], by_index[ov.j], ov, params, rng)
        if pm is not None:
            out.append(pm)
    return out
