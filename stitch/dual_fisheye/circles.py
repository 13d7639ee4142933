"""Find the two image circles of a dual-fisheye frame.

A dual-fisheye 360 camera writes both lenses into one frame, side by side (width ~ 2 x height)
or stacked (height ~ 2 x width), each lens's image a disc on black, with or without a black
margin around it; the discs may be clipped by the frame's border (the circle is then larger than
its half). The layout follows from the frame's aspect ratio. In each half, rays are cast from
the centroid of the bright pixels; the outermost bright pixel along a ray (with sub-pixel
interpolation of the threshold crossing) is an edge point of the disc, unless the ray leaves the
half while still bright (the disc is clipped there). A circle fit to the edge points (algebraic
fit, then geometric refinement with outliers dropped) gives the centre and the radius.

The threshold sits between the black level (the darkest corner's median) and the disc's median
brightness, so dark scene content inside the disc is not taken for the border: only the
outermost crossing along each ray counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from sensors.errors import InputError

__all__ = ["ImageCircle", "LAYOUTS", "find_circles", "split_halves", "layout_of"]

#: Frame layouts: lens 0 left / lens 1 right, or lens 0 top / lens 1 bottom.
LAYOUTS = ("side_by_side", "stacked")

_N_RAYS = 720
_MIN_EDGE_POINTS = 24
_RANSAC_TRIALS = 300
_RANSAC_TOL_PX = 1.5
_RIM_REACH_PX = 40.0
_RIM_LEVEL = 0.9
_ASPECT_TOLERANCE = 0.25


@dataclass(frozen=True)
class ImageCircle:
    """One lens's image disc, in full-frame pixel coordinates.

    Parameters
    ----------
    cx_px, cy_px : float
        Centre (pixel centres at integer coordinates).
    radius_px : float
        Radius of the bright disc.
    n_edge_points : int
        Edge points the fit kept.
    rms_px : float
        RMS distance of those points to the circle.
    clipped : bool
        Part of the disc runs past its half of the frame.
    usable_radius_px : float
        Radius inside which the disc is not darkened by the lens's rim (the ring mean stays
        above 90% of the level just inside it); at most ``radius_px - 1``.
    """

    cx_px: float
    cy_px: float
    radius_px: float
    n_edge_points: int
    rms_px: float
    clipped: bool
    usable_radius_px: float = 0.0

    @property
    def centre(self) -> np.ndarray:
        """(cx, cy) as an array."""
        return np.array([self.cx_px, self.cy_px])


def layout_of(width: int, height: int, source: str | None = None) -> str:
    """``"side_by_side"`` for a ~2:1 frame, ``"stacked"`` for ~1:2, else an InputError."""
    ratio = width / height
    if abs(ratio - 2.0) <= _ASPECT_TOLERANCE * 2:
        return "side_by_side"
    if abs(ratio - 0.5) <= _ASPECT_TOLERANCE * 0.5:
        return "stacked"
    raise InputError(f"not a dual-fisheye frame: {width}x{height} is neither about 2:1 (side by "
                     "side) nor 1:2 (stacked)", source)


def split_halves(width: int, height: int, layout: str) -> list[tuple[int, int, int, int]]:
    """The two halves ``(x0, y0, w, h)`` of a frame, lens 0 first."""
    if layout == "side_by_side":
        half = width // 2
        return [(0, 0, half, height), (half, 0, width - half, height)]
    if layout == "stacked":
        half = height // 2
        return [(0, 0, width, half), (0, half, width, height - half)]
    raise InputError(f"unknown layout {layout!r}; valid: {', '.join(LAYOUTS)}")


def _fit_algebraic(pts: np.ndarray) -> tuple[float, float, float]:
    # Kasa fit: x^2 + y^2 + D x + E y + F = 0, linear least squares.
    x, y = pts[:, 0], pts[:, 1]
    A = np.column_stack([x, y, np.ones_like(x)])
    b = -(x * x + y * y)
    (d, e, f), *_ = np.linalg.lstsq(A, b, rcond=None)
    cx, cy = -d / 2, -e / 2
    return cx, cy, math.sqrt(max(cx * cx + cy * cy - f, 1e-9))


def _fit_geometric(pts: np.ndarray, cx: float, cy: float, r: float
                   ) -> tuple[float, float, float]:
    # Gauss-Newton on the distances to the circle.
    for _ in range(20):
        dx, dy = pts[:, 0] - cx, pts[:, 1] - cy
        rho = np.maximum(np.hypot(dx, dy), 1e-9)
        res = rho - r
        J = np.column_stack([-dx / rho, -dy / rho, -np.ones_like(rho)])
        step, *_ = np.linalg.lstsq(J, -res, rcond=None)
        cx, cy, r = cx + step[0], cy + step[1], r + step[2]
        if np.abs(step).max() < 1e-6:
            break
    return cx, cy, r


def _circle3(p: np.ndarray) -> tuple[float, float, float] | None:
    (x1, y1), (x2, y2), (x3, y3) = p
    d = 2 * (x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2))
    if abs(d) < 1e-9:
        return None
    s1, s2, s3 = x1 * x1 + y1 * y1, x2 * x2 + y2 * y2, x3 * x3 + y3 * y3
    cx = (s1 * (y2 - y3) + s2 * (y3 - y1) + s3 * (y1 - y2)) / d
    cy = (s1 * (x3 - x2) + s2 * (x1 - x3) + s3 * (x2 - x1)) / d
    return cx, cy, math.hypot(x1 - cx, y1 - cy)


def _fit_circle(pts: np.ndarray) -> tuple[float, float, float, np.ndarray]:
    """Robust circle fit: RANSAC on point triples (seeded), then a geometric fit to the
    consensus, which drops flare and glare beyond the lens's disc."""
    rng = np.random.default_rng(0)
    best, best_n = None, -1
    for _ in range(_RANSAC_TRIALS):
        c = _circle3(pts[rng.choice(len(pts), 3, replace=False)])
        if c is None:
            continue
        d = np.abs(np.hypot(pts[:, 0] - c[0], pts[:, 1] - c[1]) - c[2])
        n = int(np.count_nonzero(d < _RANSAC_TOL_PX))
        if n > best_n:
            best, best_n = c, n
    cx, cy, r = best if best is not None else _fit_algebraic(pts)
    keep = np.ones(len(pts), bool)
    for _ in range(3):
        keep = np.abs(np.hypot(pts[:, 0] - cx, pts[:, 1] - cy) - r) < _RANSAC_TOL_PX
        if keep.sum() < 3:
            break
        cx, cy, r = _fit_geometric(pts[keep], cx, cy, r)
    return cx, cy, r, keep


def _edge_points(grey: np.ndarray, thr: float, x0: float, y0: float) -> np.ndarray:
    """Outermost threshold crossing along rays from (x0, y0) that end in the dark."""
    h, w = grey.shape
    reach = math.hypot(w, h)
    step = 0.5
    t = np.arange(0.0, reach, step)
    ang = np.arange(_N_RAYS) * (2 * math.pi / _N_RAYS)
    X = x0 + np.cos(ang)[:, None] * t[None, :]
    Y = y0 + np.sin(ang)[:, None] * t[None, :]
    inside = (X >= 0) & (X <= w - 1) & (Y >= 0) & (Y <= h - 1)
    vals = cv2.remap(grey, X.astype(np.float32), Y.astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=-1.0)
    bright = (vals > thr) & inside
    out = []
    for k in range(_N_RAYS):
        idx = np.flatnonzero(bright[k])
        if idx.size == 0:
            continue
        last = idx[-1]
        n_in = np.flatnonzero(inside[k])
        if n_in.size == 0 or last >= n_in[-1] - 1:
            continue  # still bright at the half's border: the disc is clipped here
        if n_in[-1] - last < 4:
            continue
        a, b = vals[k, last], vals[k, last + 1]
        frac = (a - thr) / (a - b) if a != b else 0.5
        tt = (last + float(np.clip(frac, 0.0, 1.0))) * step
        out.append((x0 + math.cos(ang[k]) * tt, y0 + math.sin(ang[k]) * tt))
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def _half_circle(grey: np.ndarray, box: tuple[int, int, int, int], lens: int,
                 source: str | None) -> ImageCircle:
    x0, y0, w, h = box
    sub = np.ascontiguousarray(grey[y0:y0 + h, x0:x0 + w])
    c = max(3, min(w, h) // 20)
    corners = [sub[:c, :c], sub[:c, -c:], sub[-c:, :c], sub[-c:, -c:]]
    black = float(min(np.median(k) for k in corners))
    level = float(np.median(sub))
    if level - black < 20.0:
        raise InputError(f"no fisheye image circle found in lens {lens}'s half of the frame "
                         "(it is as dark as its corners)", source)
    thr = black + max(8.0, 0.2 * (level - black))
    mask = sub > thr
    ys, xs = np.nonzero(mask)
    cx0, cy0 = float(xs.mean()), float(ys.mean())
    pts = _edge_points(sub, thr, cx0, cy0)
    if len(pts) < _MIN_EDGE_POINTS:
        raise InputError(f"no fisheye image circle found in lens {lens}'s half of the frame "
                         f"(only {len(pts)} edge points against a dark border)", source)
    cx, cy, r, keep = _fit_circle(pts)
    d = np.hypot(pts[keep, 0] - cx, pts[keep, 1] - cy) - r
    rms = float(np.sqrt(np.mean(d * d)))
    # A disc covers a fair part of its half and the edge must actually be round.
    if not (0.25 * min(w, h) < r < 0.75 * math.hypot(w, h)) or rms > 0.02 * r + 1.0 \
            or keep.sum() < _MIN_EDGE_POINTS:
        raise InputError(f"no fisheye image circle found in lens {lens}'s half of the frame "
                         f"(the bright area's edge is not a circle: radius {r:.0f} px, "
                         f"rms {rms:.1f} px)", source)
    clipped = cx - r < -0.5 or cy - r < -0.5 or cx + r > w - 0.5 or cy + r > h - 0.5
    usable = _usable_radius(sub, cx, cy, r)
    return ImageCircle(float(cx + x0), float(cy + y0), float(r), int(keep.sum()), rms,
                       bool(clipped), float(usable))


def _usable_radius(sub: np.ndarray, cx: float, cy: float, r: float) -> float:
    """Where the disc's rim darkening starts: the ring means (1 px rings inside the edge)
    fall below ``_RIM_LEVEL`` of the level ``_RIM_REACH_PX`` inside the edge."""
    h, w = sub.shape
    Y, X = np.mgrid[0:h, 0:w]
    rho = np.hypot(X - cx, Y - cy)
    reach = min(_RIM_REACH_PX, 0.3 * r)
    sel = rho > r - reach
    k = np.floor(r - rho[sel]).astype(np.intp)  # ring index: 0 at the edge
    vals = sub[sel]
    ok = k >= 0
    sums = np.bincount(k[ok], weights=vals[ok], minlength=int(reach) + 1)
    cnt = np.bincount(k[ok], minlength=int(reach) + 1)
    means = np.where(cnt > 0, sums / np.maximum(cnt, 1), np.nan)
    n = int(reach)
    inner = means[int(0.6 * n):n]
    inner = inner[np.isfinite(inner)]
    if inner.size == 0:
        return r - 1.0
    level = float(np.median(inner))
    usable = r - 1.0
    for i in range(n):  # from the edge inwards: the first ring bright enough
        if np.isfinite(means[i]) and means[i] >= _RIM_LEVEL * level:
            usable = r - max(float(i), 1.0)
            break
    return usable


def find_circles(image: np.ndarray, layout: str | None = None, source: str | None = None
                 ) -> tuple[str, list[ImageCircle]]:
    """Find the two lens discs of a dual-fisheye frame.

    Parameters
    ----------
    image : (h, w, 3) or (h, w) uint8
        The frame.
    layout : {"side_by_side", "stacked"}, optional
        Default: from the aspect ratio.
    source : str, optional
        File name for error messages.

    Returns
    -------
    (layout, [circle of lens 0, circle of lens 1])

    Raises
    ------
    InputError
        The frame is not ~2:1 or ~1:2, or a half has no round bright disc on a dark border.

    Examples
    --------
    >>> from stitch.dual_fisheye.synthetic import render_dual_fisheye, DualFisheyeTruth
    >>> truth = DualFisheyeTruth.random(seed=1, height_px=200, margin_fraction=0.05)
    >>> layout, (c0, c1) = find_circles(render_dual_fisheye(truth))
    >>> layout, abs(c0.cx_px - truth.lenses[0].cx_px) < 1.5
    ('side_by_side', True)
    """
    img = np.asarray(image)
    if img.ndim == 3:
        grey = img[..., :3].max(axis=2).astype(np.float32)
    elif img.ndim == 2:
        grey = img.astype(np.float32)
    else:
        raise InputError(f"expected an image, got an array of shape {img.shape}", source)
    h, w = grey.shape
    layout = layout_of(w, h, source) if layout is None else layout
    grey = cv2.GaussianBlur(grey, (0, 0), 0.8)
    circles = [_half_circle(grey, box, k, source)
               for k, box in enumerate(split_halves(w, h, layout))]
    return layout, circles
