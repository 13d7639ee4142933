"""Bad-region lookahead: keep the output window inside the source frame.

For every frame in the lookahead, the border of the output window is mapped to the source frame
with the warp of docs/architecture.md,
``p_src ~ K_src(t) R_world_from_cam(t)^T R_virtual K_out^-1 p_out``: rolling shutter (each
border point seen at its own row time, found by fixed-point iteration on the row) and the
source lens distortion included. The output camera's rays come from
``stabilize.output_lens`` as the warp's do (the rectified pinhole with the source focal length
times the zoom by default; the source lens's own projection or a blend, and a wider or narrower
field of view, on request). The zoom a frame needs is the smallest one whose whole border lands
inside the source image.

Where that exceeds ``max_zoom``, the virtual path is bent towards the real one: each violating
frame raises its pull ``alpha`` (virtual = slerp(virtual, real, alpha)), the pulls are spread
with a max-then-Gaussian window so the correction eases in and out over ``ease_s``, and the check
repeats until every frame fits. Gyroflow's max-zoom feedback is the same idea in spirit (limit
the smoothing where the crop would exceed the limit, spread over neighbouring frames); this is
our own formulation. The filter-chain entry is ``stabilize.filters.bad_region``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.camera import project
from sensors.errors import InputError
from sensors.quaternion import qslerp, qto_matrix
from sensors.rolling_shutter import row_fraction
from sensors.types import CameraModel, OisLog, Orientation

from .output_lens import PINHOLE, OutputLens, output_normalized, rays_from_normalized
from .signal1d import gaussian_filter1d, maximum_filter1d

__all__ = ["border_points", "required_zoom", "smooth_zoom", "fit_to_frame", "FitResult"]


def border_points(size: tuple[int, int], per_side: int = 9) -> np.ndarray:
    """Pixel coordinates (M, 2) spaced along the border of a ``size=(w, h)`` image."""
    w, h = size
    s = np.linspace(0.0, 1.0, per_side)
    xs, ys = s * (w - 1), s * (h - 1)
    top = np.stack([xs, np.zeros_like(xs)], 1)
    bottom = np.stack([xs, np.full_like(xs, h - 1.0)], 1)
    left = np.stack([np.zeros_like(ys[1:-1]), ys[1:-1]], 1)
    right = np.stack([np.full_like(ys[1:-1], w - 1.0), ys[1:-1]], 1)
    return np.concatenate([top, bottom, left, right])


def _band_times(frame_t_s: np.ndarray, readout_s: float, bands: int,
                bottom_to_top: bool) -> tuple[np.ndarray, np.ndarray]:
    """Capture times (F, B) of ``bands`` evenly spread rows per frame, and the rows' frac."""
    frac = np.linspace(-0.5, 0.5, bands)
    sign = -1.0 if bottom_to_top else 1.0
    return frame_t_s[:, None] + sign * frac[None, :] * readout_s, frac


def _band_lens(ois: OisLog | None, band_t: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Focus scale (F, B) and OIS lens shift (F, B, 2) px at the band times, or None."""
    if ois is None:
        return None
    return ois.focus_at(band_t), ois.shift_at(band_t)


# A zoom whose border stays this close (source pixels) to the frame edge is tight enough.
_SLACK_TOL_PX = 0.01
# Border points per side for an output projection other than the pinhole: its border is curved
# in the source, so points further apart would let it bulge out between them.
_CURVED_PER_SIDE = 33
# Slack (source pixels) forgiven for a curved projection: at zoom 1 it maps the border onto the
# frame edge exactly, up to the lens inversion's rounding.
_ROUNDING_PX = 1e-6


def _to_source_lens(cam: CameraModel, src: np.ndarray, lens, fi, i0, a) -> np.ndarray:
    """Pixels of the calibrated lens -> pixels of the lens as it was (``stabilize.motion``'s
    ``source_K``: ``c + focus (p - c) + shift``), interpolated between bands like the rotation."""
    if lens is None:
        return src
    focus, shift = lens
    f = (1 - a) * focus[fi, i0] + a * focus[fi, i0 + 1]
    sh = (1 - a)[..., None] * shift[fi, i0] + a[..., None] * shift[fi, i0 + 1]
    c = cam.K[:2, 2]
    return c + f[..., None] * (src - c) + sh


def _output_camera_rays(cam: CameraModel, pts_px: np.ndarray, pts_n: np.ndarray,
                        zoom: np.ndarray, out_lens: OutputLens) -> np.ndarray:
    """Rays (F, M, 3) of the border points in the output camera at each frame's zoom."""
    if out_lens.is_pinhole:  # the classic output, in its original arithmetic
        F, M = zoom.size, pts_n.shape[0]
        return np.concatenate([pts_n[None] / zoom[:, None, None], np.ones((F, M, 1))], axis=2)
    n = output_normalized(cam, zoom[:, None], pts_px[None], out_lens.fov_scale)
    return rays_from_normalized(cam, n, out_lens)


def _border_slack(cam: CameraModel, R_bands: np.ndarray, band_frac: np.ndarray,
                  R_virtual: np.ndarray, pts: tuple[np.ndarray, np.ndarray], zoom: np.ndarray,
                  margin_px: float, lens=None, out_lens: OutputLens = PINHOLE) -> np.ndarray:
    """Least distance (source pixels) from any border point of each frame to the edge of the
    source at ``zoom`` (F,): >= 0 when every point lands inside, -inf when one is behind.
    ``pts`` holds the border points as output pixels (M, 2) and as normalized pinhole
    coordinates (M, 2)."""
    F, M = R_virtual.shape[0], pts[0].shape[0]
    w, h = cam.size
    rays = _output_camera_rays(cam, pts[0], pts[1], zoom, out_lens)  # (F, M, 3)
    if not out_lens.is_pinhole:
        margin_px = margin_px + _ROUNDING_PX
    world = np.einsum("fij,fmj->fmi", R_virtual, rays)
    B = band_frac.size
    fi = np.arange(F)[:, None]
    mid, i_mid = B // 2, min(B // 2, B - 2)  # start at the middle band
    i0 = np.full((F, M), i_mid)
    a = np.full((F, M), float(mid - i_mid))
    for _ in range(3):  # fixed point on the row: the row seen decides the capture time
        Rm = (1 - a)[..., None, None] * R_bands[fi, i0] + a[..., None, None] * R_bands[fi, i0 + 1]
        src = _to_source_lens(cam, project(cam, np.einsum("fmji,fmj->fmi", Rm, world)), lens,
                              fi, i0, a)
        y = np.nan_to_num(src[..., 1], nan=h / 2.0)
        pos = np.clip(row_fraction(y, h) - band_frac[0], 0.0, band_frac[-1] - band_frac[0])
        pos = pos / (band_frac[1] - band_frac[0])
        i0 = np.minimum(pos.astype(int), B - 2)
        a = pos - i0
    Rm = (1 - a)[..., None, None] * R_bands[fi, i0] + a[..., None, None] * R_bands[fi, i0 + 1]
    src = _to_source_lens(cam, project(cam, np.einsum("fmji,fmj->fmi", Rm, world)), lens,
                          fi, i0, a)
    u, v = src[..., 0], src[..., 1]
    slack = np.minimum(np.minimum(u, w - 1 - u), np.minimum(v, h - 1 - v)) + margin_px
    return np.where(np.isfinite(slack), slack, -np.inf).min(axis=1)


def required_zoom(
    cam: CameraModel,
    real: Orientation,
    frame_t_s: np.ndarray,
    virtual_quat: np.ndarray,
    readout_s: float = 0.0,
    readout_direction: str = "top_to_bottom",
    zoom_limit: float = 4.0,
    bands: int = 9,
    per_side: int = 9,
    tol: float = 1e-3,
    margin_px: float = 0.0,
    ois: OisLog | None = None,
    output_lens: OutputLens = PINHOLE,
) -> np.ndarray:
    """Smallest zoom per frame whose output border lands inside the source frame.

    Parameters
    ----------
    cam : CameraModel
        Source lens at the clip's resolution (the output has the same size and centre).
    real : Orientation
        Real ``R_world_from_cam`` on the video clock, dense enough for per-row lookup.
    frame_t_s : (F,) float64
        Frame times (centre of exposure of the middle row), video clock.
    virtual_quat : (F, 4) float64
        Virtual orientation per frame.
    readout_s, readout_direction : float, str
        Rolling shutter (docs/architecture.md); 0 is a global shutter.
    zoom_limit : float
        Upper end of the search; frames needing more report ``inf``.
    bands, per_side : int
        Row bands per frame for the rolling-shutter lookup; border points per side.
    tol : float
        Tolerance on the zoom: the result covers, and is within ``tol`` of the least zoom that
        does or leaves its nearest border point within ``_SLACK_TOL_PX`` of the frame edge.
    margin_px : float
        Slack in source pixels allowed outside the image (0 = strict).
    ois : OisLog, optional
        Lens shift and focus scale on the video clock: the source image is where the lens was
        (the warp uses the same ``K_src``), so both move the frame the border must stay in.
    output_lens : OutputLens
        The output projection (``stabilize.output_lens``), as the warp draws it. Other than
        the pinhole, its border is curved in the source and is checked at no fewer than 33
        points per side.

    Returns
    -------
    (F,) float64 zoom >= 1 (``inf`` where even ``zoom_limit`` leaves the frame).
    """
    t = np.atleast_1d(np.asarray(frame_t_s, dtype=np.float64))
    qv = np.asarray(virtual_quat, dtype=np.float64)
    if qv.shape != (t.size, 4):
        raise InputError(f"virtual orientations have shape {qv.shape}, expected ({t.size}, 4)")
    band_t, frac = _band_times(t, float(readout_s), bands, readout_direction == "bottom_to_top")
    R_bands = qto_matrix(real.at(band_t))
    lens = _band_lens(ois, band_t)
    Rv = qto_matrix(qv)
    Kinv = np.linalg.inv(cam.K)
    if not output_lens.is_pinhole:
        per_side = max(per_side, _CURVED_PER_SIDE)
    px = border_points(cam.size, per_side)
    pts = (px, (np.c_[px, np.ones(len(px))] @ Kinv.T)[:, :2])

    def slack(z: np.ndarray, idx: np.ndarray) -> np.ndarray:
        sub = None if lens is None else (lens[0][idx], lens[1][idx])
        return _border_slack(cam, R_bands[idx], frac, Rv[idx], pts, z, margin_px, sub,
                             output_lens)

    every = np.arange(t.size)
    lo = np.ones(t.size)
    hi = np.full(t.size, float(zoom_limit))
    s_lo = slack(lo, every)
    s_hi = slack(hi, every)
    ok_lo, ok_hi = s_lo >= 0, s_hi >= 0
    # Illinois regula falsi on the border slack, bracketed: ``hi`` always covers, ``lo`` never.
    # The slack is continuous in the zoom and nearly linear near the answer, so a few rounds
    # replace bisection's ~12 (it is what every start-up of a stabilization waits for).
    w_lo, w_hi = s_lo.copy(), s_hi.copy()  # end values, halved while an end goes stale
    kept = np.zeros(t.size, dtype=np.int8)  # -1 / +1: the low / high end was kept last round
    for _ in range(60):  # a bound only: ``hi`` covers whenever the loop stops
        idx = np.flatnonzero(~ok_lo & ok_hi & (hi - lo > tol) & (s_hi > _SLACK_TOL_PX))
        if idx.size == 0:
            break
        zl, zh, wl, wh = lo[idx], hi[idx], w_lo[idx], w_hi[idx]
        with np.errstate(invalid="ignore"):  # -inf ends (points behind the camera): bisect
            secant = (zl * wh - zh * wl) / (wh - wl)
        z = np.where(np.isfinite(secant), secant, 0.5 * (zl + zh))
        z = np.clip(z, zl + 1e-3 * (zh - zl), zh - 1e-3 * (zh - zl))
        s = slack(z, idx)
        inside = s >= 0
        k = kept[idx]
        hi[idx] = np.where(inside, z, zh)
        s_hi[idx] = np.where(inside, s, s_hi[idx])
        w_hi[idx] = np.where(inside, s, np.where(k == 1, 0.5 * wh, wh))
        lo[idx] = np.where(inside, zl, z)
        s_lo[idx] = np.where(inside, s_lo[idx], s)
        w_lo[idx] = np.where(inside, np.where(k == -1, 0.5 * wl, wl), s)
        kept[idx] = np.where(inside, -1, 1)
    return np.where(ok_lo, 1.0, np.where(ok_hi, hi, np.inf))


def smooth_zoom(required: np.ndarray, fps: float, hold_s: float = 0.5) -> np.ndarray:
    """A smooth zoom track that is never below ``required`` (dynamic zoom).

    A running maximum over ``+-hold_s`` then a Gaussian of ``hold_s / 3`` eases in before a
    frame that needs more zoom; the final ``maximum`` makes the guarantee exact.
    """
    z = np.asarray(required, dtype=np.float64)
    if not np.all(np.isfinite(z)):
        raise InputError("required zoom has infinite entries: the path cannot be covered")
    r = max(1, int(round(hold_s * fps)))
    env = maximum_filter1d(z, size=2 * r + 1)
    sm = gaussian_filter1d(env, sigma=r / 3.0)
    return np.maximum(sm, z)


@dataclass(frozen=True, eq=False)
class FitResult:
    """Result of ``fit_to_frame``.

    Parameters
    ----------
    virtual_quat : (F, 4) float64
        The bent virtual path.
    alpha : (F,) float64
        Pull towards the real orientation per frame (0 = untouched, 1 = real).
    required_zoom : (F,) float64
        Zoom each frame needs on the bent path (<= max_zoom).
    iterations : int
        Check-and-bend rounds used.
    unreachable : int
        Frames that need more than the max zoom even on the real path (``strict=False`` only).
    """

    virtual_quat: np.ndarray
    alpha: np.ndarray
    required_zoom: np.ndarray
    iterations: int
    unreachable: int = 0


def fit_to_frame(
    cam: CameraModel,
    real: Orientation,
    frame_t_s: np.ndarray,
    virtual_quat: np.ndarray,
    max_zoom: float,
    readout_s: float = 0.0,
    readout_direction: str = "top_to_bottom",
    ease_s: float = 0.4,
    max_iterations: int = 40,
    strict: bool = True,
    ois: OisLog | None = None,
    output_lens: OutputLens = PINHOLE,
) -> FitResult:
    """Bend the virtual path minimally and smoothly so no frame needs more than ``max_zoom``.

    Parameters
    ----------
    cam, real, frame_t_s, virtual_quat, readout_s, readout_direction, ois, output_lens
        As in ``required_zoom``.
    max_zoom : float
        Largest zoom allowed (>= 1).
    ease_s : float
        Half-width of the window over which a correction eases in and out, seconds.
    max_iterations : int
        Bound on check-and-bend rounds.
    strict : bool
        Raise when some frame cannot fit even on the real path; otherwise such frames keep the
        real orientation and are counted in ``FitResult.unreachable``.

    Returns
    -------
    FitResult

    Raises
    ------
    InputError
        With ``strict``, if ``max_zoom`` is below what even the real orientation needs (rolling
        shutter alone can need a little zoom), so no bending can satisfy it.
    """
    if not (np.isfinite(max_zoom) and max_zoom >= 1.0):
        raise InputError(f"max zoom must be >= 1, got {max_zoom}")
    t = np.atleast_1d(np.asarray(frame_t_s, dtype=np.float64))
    qv0 = np.asarray(virtual_quat, dtype=np.float64)
    qr = real.at(t)
    dt = float(np.median(np.diff(t))) if t.size > 1 else 1.0 / 30.0
    r = max(1, int(round(ease_s / dt)))
    kw = dict(readout_s=readout_s, readout_direction=readout_direction,
              zoom_limit=max(4.0, 2 * max_zoom), ois=ois, output_lens=output_lens)
    demand = np.zeros(t.size)
    alpha = demand
    qv = qv0
    hopeless = np.zeros(t.size, dtype=bool)
    for it in range(max_iterations + 1):
        z = required_zoom(cam, real, t, qv, **kw)
        stuck = (z > max_zoom + 1e-6) & (alpha >= 1.0 - 1e-9)
        if np.any(stuck) and strict:
            i = int(np.flatnonzero(stuck)[0])
            raise InputError(f"max zoom {max_zoom:g} is below the {z[i]:.3f} that frame {i} "
                             "needs even unstabilized (rolling shutter); raise --max-zoom")
        hopeless |= stuck
        bad = (z > max_zoom + 1e-6) & ~hopeless
        if not np.any(bad):
            return FitResult(qv, alpha, z, it, int(hopeless.sum()))
        # Pull harder where the frame is further out; the step shrinks as alpha nears 1.
        excess = np.where(bad, np.minimum(z, 2 * max_zoom) / max_zoom - 1.0, 0.0)
        step = np.clip(0.15 + 2.0 * excess, 0.0, 1.0)
        demand = np.where(bad, np.minimum(1.0, np.maximum(demand, alpha) + step * (1 - alpha)),
                          demand)
        if it == max_iterations - 1:
            demand = np.where(bad, 1.0, demand)
        env = maximum_filter1d(demand, size=2 * r + 1)
        alpha = np.clip(np.maximum(gaussian_filter1d(env, sigma=r / 2.0),
                                   demand), 0.0, 1.0)
        qv = qslerp(qv0, qr, alpha)
    if strict:
        raise InputError(f"could not keep the output inside the frame at max zoom {max_zoom:g}")
    z = required_zoom(cam, real, t, qv, **kw)
    return FitResult(qv, alpha, z, max_iterations, int(np.sum(z > max_zoom + 1e-6)))
