"""Rolling-shutter rendering of camera frames from an equirectangular photo.

Each output pixel ``p`` of row ``y`` sees the world direction
``R_world_from_cam(t_y) . unproject(K_src(t_y), p)`` (docs/architecture.md "Rolling shutter"
and "Warp"; ``t_y`` is ``sensors.rolling_shutter.row_time_s``), sampled from the panorama.
``K_src(t)`` carries the OIS lens shift (principal point moves by ``shift_px``) and focus
breathing (focal length scaled by ``focus``), which is the same as unprojecting
``c + (p - c - shift) / focus`` through the calibrated lens.

Speed: rays are computed exactly on a coarse grid (every ``grid_step`` pixels, each grid row with
its own rotation), interpolated bilinearly to every pixel (the ray field is smooth: at step 4 the
error is far below 0.01 px) and converted to panorama coordinates in one numba pass
(``equirect_maps``; numpy reference beside it), then sampled with one ``cv2.remap``. The
panorama is first reduced (wrap-aware pyramid) to about the output's angular resolution so
distant texture does not alias.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from scipy.signal import lfilter

from ..camera import unproject
from ..equirect import INTERPOLATIONS, dirs_to_equirect, equirect_to_dirs, remap_wrapped
from ..errors import InputError
from ..progress import ProgressCallback, report
from ..rolling_shutter import row_time_s
from ..types import CameraModel, OisLog
from ._kernels import _equirect_maps
from .paths import TruePath

__all__ = [
    "default_panorama_path",
    "equirect_maps",
    "grid_rays",
    "equirect_maps_reference",
    "load_panorama",
    "panorama_for_focal",
    "render_frame",
    "render_clip",
    "render_equirect_frame",
    "render_equirect_clip",
    "row_rotations",
    "synthesize_ois",
    "synthesize_focus",
]


def default_panorama_path() -> Path:
    """The bundled equirectangular photo (``samples/equirect/examplepano.jpg``, CC BY-SA 3.0)."""
    return Path(__file__).resolve().parents[2] / "samples" / "equirect" / "examplepano.jpg"


def load_panorama(path: str | Path | None = None, *, gray: bool = False) -> np.ndarray:
    """Read an equirectangular image (BGR uint8, W = 2H; (H, W) grayscale with ``gray``); the
    bundled photo by default."""
    p = default_panorama_path() if path is None else Path(path)
    img = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR)
    if img is None:
        raise InputError("cannot read panorama image", str(p))
    if img.shape[1] != 2 * img.shape[0]:
        raise InputError(f"panorama must be W = 2H, got {img.shape[1]}x{img.shape[0]}", str(p))
    return img


#: The 5-tap binomial low-pass of an image pyramid level.
_PYRAMID_TAPS = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def panorama_for_focal(pano: np.ndarray, focal_px: float) -> np.ndarray:
    """Halve the panorama (wrap-aware) while it keeps at least ``focal_px`` pixels per radian.

    Each halving low-passes with the pyramid's binomial taps and averages pixel pairs, so a
    reduced pixel ``j`` is centred between ``2j`` and ``2j + 1`` and every direction keeps its
    panorama coordinate (``cv2.pyrDown`` centres ``j`` on ``2j``: a quarter-pixel shift).
    """
    img = pano
    while img.shape[1] / 2 / (2 * np.pi) >= focal_px and img.shape[0] >= 64:
        pad = 8
        wrapped = cv2.copyMakeBorder(img, 0, 0, pad, pad, cv2.BORDER_WRAP)
        wrapped = cv2.copyMakeBorder(wrapped, pad, pad, 0, 0, cv2.BORDER_REPLICATE)
        blurred = cv2.sepFilter2D(wrapped, -1, _PYRAMID_TAPS, _PYRAMID_TAPS,
                                  borderType=cv2.BORDER_REPLICATE)
        h, w = blurred.shape[:2]
        small = cv2.resize(blurred, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        img = np.ascontiguousarray(small[pad // 2:-pad // 2, pad // 2:-pad // 2])
    return img


def _grid(n: int, step: int) -> np.ndarray:
    return np.arange(0, n - 1 + step, step, dtype=np.float64)


def row_rotations(R_rows: np.ndarray, h: int, interpolation: str) -> np.ndarray:
    """``R_rows`` (a frame's (3, 3) or per row (h, 3, 3)) as (h, 3, 3), after checking it and
    the interpolation name."""
    R = np.asarray(R_rows, dtype=np.float64)
    if R.shape == (3, 3):
        R = np.broadcast_to(R, (h, 3, 3))
    if R.shape != (h, 3, 3):
        raise InputError(f"row rotations must be (3, 3) or ({h}, 3, 3), got {R.shape}")
    if interpolation not in INTERPOLATIONS:
        raise InputError(f"unknown interpolation {interpolation!r}")
    return R


def grid_rays(cam: CameraModel, step: int, shift_px: np.ndarray | None = None,
              focus: np.ndarray | float | None = None) -> np.ndarray:
    """Camera-frame rays (gh, gw, 3) of the pixels ``(j * step, i * step)`` covering the frame.

    ``shift_px`` ((2,) or per row (H, 2)) and ``focus`` (scalar or per row (H,)) describe
    ``K_src(t)``: the principal point moves by the shift and the focal length scales.
    """
    w, h = cam.size
    if int(step) < 1:
        raise InputError(f"grid step must be >= 1, got {step}")
    gx = _grid(w, int(step))
    gy = _grid(h, int(step))
    rows = np.clip(gy.astype(np.intp), 0, h - 1)
    px = np.stack(np.broadcast_arrays(gx[None, :], gy[:, None]), axis=-1)
    c = cam.K[:2, 2]
    if shift_px is not None:
        s = np.asarray(shift_px, dtype=np.float64)
        s = s[rows][:, None, :] if s.ndim == 2 else s
        px = px - s
    if focus is not None:
        f = np.asarray(focus, dtype=np.float64)
        f = f[rows][:, None, None] if f.ndim == 1 else f
        px = c + (px - c) / f
    return unproject(cam, px)


def render_frame(
    pano: np.ndarray,
    cam: CameraModel,
    R_rows: np.ndarray,
    *,
    shift_px: np.ndarray | None = None,
    focus: np.ndarray | float | None = None,
    interpolation: str = "bilinear",
    grid_step: int = 4,
    rays: np.ndarray | None = None,
) -> np.ndarray:
    """Render one rolling-shutter frame.

    Parameters
    ----------
    pano : (Hp, 2Hp[, C]) array
        Equirectangular image (see ``panorama_for_focal`` to pre-reduce it).
    cam : CameraModel
        Calibrated source lens at the output size.
    R_rows : (3, 3) or (H, 3, 3) float
        ``R_world_from_cam`` for the whole frame or for each row.
    shift_px : (2,) or (H, 2) float, optional
        OIS principal-point shift per frame or per row, pixels.
    focus : float or (H,) float, optional
        Focal-length scale per frame or per row (focus breathing).
    interpolation : str
        Panorama sampling (``sensors.equirect.INTERPOLATIONS``).
    grid_step : int
        Spacing of the exact ray grid (1 = every pixel).
    rays : (gh, gw, 3) float, optional
        ``grid_rays(cam, grid_step)`` computed once when ``K_src`` does not change (then
        ``shift_px`` and ``focus`` must be None).

    Returns
    -------
    (H, W[, C]) array of the panorama's dtype.
    """
    w, h = cam.size
    R = row_rotations(R_rows, h, interpolation)
    step = int(grid_step)
    if rays is None:
        rays = grid_rays(cam, step, shift_px, focus)
    elif shift_px is not None or focus is not None:
        raise InputError("precomputed rays cannot take an OIS shift or focus scale")
    rows = np.clip(_grid(h, step).astype(np.intp), 0, h - 1)
    dirs = np.einsum("gij,gxj->gxi", R[rows], rays)
    mapx, mapy = equirect_maps(dirs, step, (w, h), pano.shape[1])
    return remap_wrapped(pano, mapx, mapy, INTERPOLATIONS[interpolation])


def equirect_maps(dirs: np.ndarray, step: int, size: tuple[int, int], pano_width: int,
                  dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap`` maps into a panorama from world rays on a coarse pixel grid.

    Parameters
    ----------
    dirs : (gh, gw, 3) float64
        World directions of the pixels ``(j * step, i * step)``; the grid covers the frame.
    step : int
        Grid spacing in pixels.
    size : (w, h)
        Output frame size.
    pano_width : int
        Panorama width W (height W / 2).
    dtype : numpy dtype
        float32 for ``cv2.remap``; float64 to compare with the reference.

    Returns
    -------
    mapx, mapy : (h, w) ``dtype``
        Panorama pixel coordinates (centres at integers) of each output pixel; rays are
        interpolated bilinearly (exact float64 weights) before conversion, so the seam at
        u = 0 <-> W never gets averaged across.
    """
    d = np.ascontiguousarray(dirs, dtype=np.float64)
    w, h = int(size[0]), int(size[1])
    if d.ndim != 3 or d.shape[2] != 3:
        raise InputError(f"ray grid must be (gh, gw, 3), got {d.shape}")
    if (d.shape[0] - 1) * step < h - 1 or (d.shape[1] - 1) * step < w - 1:
        raise InputError(f"ray grid {d.shape[:2]} at step {step} does not cover {w}x{h}")
    if not np.all(np.isfinite(d)):
        raise InputError("ray grid has non-finite directions (a ray outside the lens model?)")
    mapx = np.empty((h, w), dtype)
    mapy = np.empty((h, w), dtype)
    _equirect_maps(d, int(step), h, w, int(pano_width), int(pano_width) // 2, mapx, mapy)
    return mapx, mapy


def equirect_maps_reference(dirs: np.ndarray, step: int, size: tuple[int, int], pano_width: int,
                            dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy reference of ``equirect_maps`` (bilinear rays, then ``dirs_to_equirect``)."""
    w, h = int(size[0]), int(size[1])
    d = np.asarray(dirs, dtype=np.float64)
    fy = np.arange(h) / step
    fx = np.arange(w) / step
    i0 = np.minimum(fy.astype(int), d.shape[0] - 1)
    j0 = np.minimum(fx.astype(int), d.shape[1] - 1)
    i1 = np.minimum(i0 + 1, d.shape[0] - 1)
    j1 = np.minimum(j0 + 1, d.shape[1] - 1)
    ay = (fy - i0)[:, None, None]
    ax = (fx - j0)[None, :, None]
    dense = ((1 - ay) * (1 - ax) * d[i0][:, j0] + (1 - ay) * ax * d[i0][:, j1]
             + ay * (1 - ax) * d[i1][:, j0] + ay * ax * d[i1][:, j1])
    uv = dirs_to_equirect(dense, pano_width)
    mapx = (uv[..., 0] - 0.5).astype(dtype)
    mapy = np.clip(uv[..., 1] - 0.5, 0.0, pano_width // 2 - 1).astype(dtype)
    return mapx, mapy


def synthesize_ois(
    path: TruePath,
    cam: CameraModel,
    rate_hz: float = 500.0,
    gain: float = 0.7,
    tau_s: float = 0.3,
    max_deg: float = 1.5,
) -> OisLog:
    """Lens shift of an OIS that cancels part of the high-frequency shake (x/y rotation).

    The controller's estimate of the shake is a leaky integral of the pitch/yaw rates (a
    first-order high-pass of the angle, time constant ``tau_s``); the lens shifts by ``gain``
    of it, clipped at ``max_deg`` of travel. A small body rotation ``d`` moves the image centre
    by ``f (-d_y, d_x)``, so the shift is ``gain f (d_y, -d_x)``.

    Returns
    -------
    OisLog on the path's clock, with ``focus`` unset.
    """
    t = path.t_s
    dt = float(np.median(np.diff(t)))
    a = np.exp(-dt / tau_s)
    d = lfilter([dt], [1.0, -a], path.omega_rad_s[:, :2], axis=0)
    f = float(cam.K[0, 0])
    lim = f * np.radians(max_deg)
    shift = np.clip(gain * f * np.stack([d[:, 1], -d[:, 0]], axis=-1), -lim, lim)
    n = int(np.floor(path.duration_s * rate_hz)) + 1
    ts = t[0] + np.arange(n) / rate_hz
    out = np.stack([np.interp(ts, t, shift[:, 0]), np.interp(ts, t, shift[:, 1])], axis=-1)
    return OisLog(ts, out)


def synthesize_focus(t_s: np.ndarray, seed: int, amplitude: float = 0.015) -> np.ndarray:
    """Focus-breathing focal scale ``1 + A sin(2 pi f t + phi)`` (f 0.2-0.5 Hz) at ``t_s``."""
    rng = np.random.default_rng(seed)
    f = rng.uniform(0.2, 0.5)
    phi = rng.uniform(0, 2 * np.pi)
    return 1.0 + amplitude * np.sin(2 * np.pi * f * np.asarray(t_s) + phi)


def render_clip(
    path: TruePath,
    cam: CameraModel,
    frame_t_s: np.ndarray,
    readout_s: float,
    *,
    pano: np.ndarray | None = None,
    ois: OisLog | None = None,
    exposure_s: float = 0.0,
    motion_blur: bool = False,
    blur_samples: int = 5,
    interpolation: str = "bilinear",
    grid_step: int = 4,
    progress: ProgressCallback | None = None,
) -> Iterator[np.ndarray]:
    """Yield rolling-shutter frames (uint8 BGR) along a true path.

    Parameters
    ----------
    path : TruePath
        True motion; ``frame_t_s`` are times on the path's clock.
    cam : CameraModel
        Lens at the output size.
    frame_t_s : (F,) float
        Centre of exposure of each frame's middle row (docs/architecture.md).
    readout_s : float
        Top-to-bottom readout time.
    pano : array, optional
        Equirectangular image (the bundled photo by default), reduced here to the focal length.
    ois : OisLog, optional
        Lens shift and focus scale on the path's clock.
    exposure_s : float
        Exposure time; with ``motion_blur`` each row averages ``blur_samples`` renders over it.
    progress : callable, optional
        Called with a ``sensors.progress.Progress`` record (stage ``"render"``, ``done`` frames
        of ``total``) after every frame.
    """
    w, h = cam.size
    img = load_panorama() if pano is None else pano
    img = panorama_for_focal(img, float(cam.K[0, 0]))
    rows = np.arange(h)
    if motion_blur and exposure_s > 0:
        subs = (np.arange(blur_samples) + 0.5) / blur_samples - 0.5
        offsets = subs * exposure_s
    else:
        offsets = np.zeros(1)
    total = len(frame_t_s)
    # Without OIS or focus breathing K_src is constant: unproject the grid once per clip.
    rays = grid_rays(cam, grid_step) if ois is None else None
    for k, tf in enumerate(np.asarray(frame_t_s, dtype=np.float64)):
        acc = None
        for off in offsets:
            t_rows = row_time_s(tf, rows, h, readout_s) + off
            R = path.matrices_at(t_rows)
            shift = ois.shift_at(t_rows) if ois is not None else None
            focus = ois.focus_at(t_rows) if (ois is not None and ois.focus is not None) else None
            frame = render_frame(img, cam, R, shift_px=shift, focus=focus,
                                 interpolation=interpolation, grid_step=grid_step, rays=rays)
            if len(offsets) == 1:
                acc = frame
            else:
                acc = frame.astype(np.float32) if acc is None else acc + frame
        if len(offsets) > 1:
            acc = np.clip(acc / len(offsets) + 0.5, 0, 255).astype(np.uint8)
        report(progress, "render", k + 1, total)
        yield acc


def render_equirect_frame(pano: np.ndarray, size: tuple[int, int], R_rows: np.ndarray, *,
                          interpolation: str = "bilinear", grid_step: int = 4) -> np.ndarray:
    """Render one rolling-shutter equirectangular frame (a 360 camera's output).

    Output pixel ``(x, y)`` is the camera direction ``E^-1(x + 0.5, y + 0.5)`` (the panorama
    mapping of docs/architecture.md, camera axes), seen at row ``y``'s orientation:
    ``R_rows[y] @ d``, sampled from the (world) panorama. Directions are exact on a
    ``grid_step`` grid and interpolated between (``equirect_maps``; the u seam never averaged).

    Parameters
    ----------
    pano : (Hp, 2Hp[, C]) array
        World panorama.
    size : (w, h)
        Output size (w = 2h usually).
    R_rows : (3, 3) or (h, 3, 3) float
        ``R_world_from_cam`` for the frame or for each row.
    """
    w, h = int(size[0]), int(size[1])
    R = row_rotations(R_rows, h, interpolation)
    step = int(grid_step)
    gx, gy = _grid(w, step), _grid(h, step)
    uv = np.stack(np.broadcast_arrays(gx[None, :] + 0.5, gy[:, None] + 0.5), axis=-1)
    rays = equirect_to_dirs(uv, w)
    rows = np.clip(gy.astype(np.intp), 0, h - 1)
    dirs = np.einsum("gij,gxj->gxi", R[rows], rays)
    mapx, mapy = equirect_maps(dirs, step, (w, h), pano.shape[1])
    return remap_wrapped(pano, mapx, mapy, INTERPOLATIONS[interpolation])


def render_equirect_clip(path: TruePath, size: tuple[int, int], frame_t_s: np.ndarray,
                         readout_s: float, *, pano: np.ndarray | None = None,
                         interpolation: str = "bilinear", grid_step: int = 4,
                         progress: ProgressCallback | None = None) -> Iterator[np.ndarray]:
    """Yield rolling-shutter equirectangular frames (uint8 BGR) along a true path.

    Rolling shutter, the simple model of ``stabilize.sphere_warp``: equirect row ``y`` is
    captured at ``sensors.rolling_shutter.row_time_s`` of that row.
    """
    w, h = int(size[0]), int(size[1])
    img = load_panorama() if pano is None else pano
    img = panorama_for_focal(img, w / (2 * np.pi))
    rows = np.arange(h)
    total = len(frame_t_s)
    for k, tf in enumerate(np.asarray(frame_t_s, dtype=np.float64)):
        R = path.matrices_at(row_time_s(tf, rows, h, readout_s))
        frame = render_equirect_frame(img, (w, h), R, interpolation=interpolation,
                                      grid_step=grid_step)
        report(progress, "render", k + 1, total)
        yield frame
