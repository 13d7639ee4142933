"""Motion-blur masking: keep the motion a blurred frame needs.

A frame exposed while the camera turned carries a streak. A perfectly steady output shows that
streak on still content, and sharpness then jumps from frame to frame with the shake. Here the
blur of every frame is estimated from the gyro over its exposure (from the log or container;
a 180-degree shutter, half the frame period, when unknown), and real camera motion is blended
back into the virtual path along the blur direction, in proportion to the blur, so the output
moves with its streaks.

Image motion and angular rate (docs/architecture.md axes, x right, y down): a body rate
``omega_y`` moves content by ``-f omega_y`` px/s horizontally and ``omega_x`` by ``+f omega_x``
vertically. The filter-chain entry is ``stabilize.filters.blur``.
"""

from __future__ import annotations

import numpy as np

from sensors.camera import project, unproject
from sensors.errors import InputError
from sensors.quaternion import qexp, qmul, qto_matrix
from sensors.rolling_shutter import row_time_s
from sensors.types import CameraModel, Orientation

from .signal1d import gaussian_filter1d

__all__ = [
    "default_exposure_s",
    "blur_vectors",
    "output_motion_px_s",
    "blur_mismatch_px",
    "sharpness_variation",
    "mask_blur",
]


def default_exposure_s(fps: float, n_frames: int) -> np.ndarray:
    """Exposure per frame for a 180-degree shutter (half the frame period)."""
    if not (fps > 0 and np.isfinite(fps)):
        raise InputError(f"frame rate must be positive, got {fps}")
    return np.full(int(n_frames), 0.5 / fps)


def blur_vectors(
    cam: CameraModel,
    real: Orientation,
    frame_t_s: np.ndarray,
    exposure_s: np.ndarray,
    readout_s: float = 0.0,
    bands: int = 1,
) -> np.ndarray:
    """Blur streak (px, end minus start of exposure) per frame and row band.

    Parameters
    ----------
    cam : CameraModel
        Source lens.
    real : Orientation
        Real ``R_world_from_cam`` on the video clock.
    frame_t_s : (F,) float64
        Frame times (centre of exposure of the middle row).
    exposure_s : (F,) float64
        Exposure per frame, seconds.
    readout_s : float
        Rolling-shutter readout (top to bottom); each band is exposed around its own row time.
    bands : int
        Row bands; 1 gives the image centre only.

    Returns
    -------
    (F, bands, 2) float64 streak vectors in source pixels, measured at the centre column.
    """
    t = np.atleast_1d(np.asarray(frame_t_s, dtype=np.float64))
    e = np.broadcast_to(np.asarray(exposure_s, dtype=np.float64), t.shape)
    if np.any(~np.isfinite(e)) or np.any(e < 0):
        raise InputError("exposure times must be finite and >= 0")
    w, h = cam.size
    rows = (np.arange(bands) + 0.5) * h / bands - 0.5 if bands > 1 else np.array([cam.K[1, 2]])
    px = np.stack([np.full(rows.size, cam.K[0, 2]), rows], axis=1)
    rays = unproject(cam, px)  # (B, 3)
    tr = row_time_s(t[:, None], rows[None, :], h, readout_s)  # (F, B)
    R_mid = qto_matrix(real.at(tr))
    world = np.einsum("fbij,bj->fbi", R_mid, rays)
    R0 = qto_matrix(real.at(tr - 0.5 * e[:, None]))
    R1 = qto_matrix(real.at(tr + 0.5 * e[:, None]))
    p0 = project(cam, np.einsum("fbji,fbj->fbi", R0, world))
    p1 = project(cam, np.einsum("fbji,fbj->fbi", R1, world))
    return p1 - p0


def output_motion_px_s(cam: CameraModel, frame_t_s: np.ndarray, virtual_quat: np.ndarray,
                       zoom: np.ndarray | float = 1.0) -> np.ndarray:
    """Image velocity (F, 2) px/s of still content at the output centre (central differences)."""
    t = np.asarray(frame_t_s, dtype=np.float64)
    R = qto_matrix(np.asarray(virtual_quat, dtype=np.float64))
    f = np.broadcast_to(np.asarray(zoom, dtype=np.float64), t.shape) * cam.K[0, 0]
    if t.size < 3:
        return np.zeros((t.size, 2))
    d = R[:, :, 2]  # world direction on the output's optical axis at each frame
    i = np.arange(t.size)
    a, b = np.clip(i - 1, 0, t.size - 1), np.clip(i + 1, 0, t.size - 1)
    va = np.einsum("fji,fj->fi", R[a], d)
    vb = np.einsum("fji,fj->fi", R[b], d)
    pa = va[:, :2] / va[:, 2:3]
    pb = vb[:, :2] / vb[:, 2:3]
    return f[:, None] * (pb - pa) / (t[b] - t[a])[:, None]


def blur_mismatch_px(blur_px: np.ndarray, motion_px_s: np.ndarray,
                     exposure_s: np.ndarray) -> np.ndarray:
    """Blur the displayed motion does not explain, per frame (px): ``|b - v e|``."""
    b = np.asarray(blur_px, dtype=np.float64).reshape(-1, 2)
    v = np.asarray(motion_px_s, dtype=np.float64)
    e = np.asarray(exposure_s, dtype=np.float64)
    return np.linalg.norm(b - v * e[:, None], axis=1)


def sharpness_variation(mismatch_px: np.ndarray) -> float:
    """RMS frame-to-frame change of the unexplained blur (px): how much sharpness jumps."""
    m = np.asarray(mismatch_px, dtype=np.float64)
    if m.size < 2:
        return 0.0
    return float(np.sqrt(np.mean(np.diff(m) ** 2)))


def mask_blur(
    cam: CameraModel,
    real: Orientation,
    frame_t_s: np.ndarray,
    exposure_s: np.ndarray,
    virtual_quat: np.ndarray,
    blur_lo_px: float = 0.1,
    blur_hi_px: float = 1.0,
    strength: float = 1.0,
    recenter_s: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """Blend real motion back into the virtual path along each frame's blur direction.

    Per frame, the weight ``beta`` rises in proportion to the blur, from 0 at ``blur_lo_px``
    to ``strength`` at ``blur_hi_px`` (a clearly soft frame keeps all the motion that made it);
    the virtual angular rate along the blur direction moves ``beta`` of the way to the real rate
    (the one that made the streak). The added rotation is integrated and high-passed (Gaussian
    of ``recenter_s`` subtracted) so the path returns to the smooth one between blurred
    stretches and never drifts.

    Returns
    -------
    virtual_quat : (F, 4) float64
        The masked virtual path.
    beta : (F,) float64
        Blend weight per frame (for the sidecar and debug plots).
    """
    t = np.atleast_1d(np.asarray(frame_t_s, dtype=np.float64))
    qv = np.asarray(virtual_quat, dtype=np.float64)
    e = np.broadcast_to(np.asarray(exposure_s, dtype=np.float64), t.shape)
    if qv.shape != (t.size, 4):
        raise InputError(f"virtual orientations have shape {qv.shape}, expected ({t.size}, 4)")
    if not (0 <= blur_lo_px < blur_hi_px):
        raise InputError("blur thresholds need 0 <= blur_lo_px < blur_hi_px")
    if t.size < 3:
        return qv.copy(), np.zeros(t.size)
    b = blur_vectors(cam, real, t, e)[:, 0]
    mag = np.linalg.norm(b, axis=1)
    # Linear, full from 1 px (per 960 px): a smoothstep from 1 px to 6 px kept ~10 % of the
    # motion at a typical 2 px running streak and none at walking's 0.3-1 px, so sharpness
    # still jumped (end to end on rendered blurred clips: run -27..-33 %, walk -4..-9 %).
    beta = strength * np.clip((mag - blur_lo_px) / (blur_hi_px - blur_lo_px), 0.0, 1.0)
    u = b / np.maximum(mag, 1e-12)[:, None]
    v_real = b / np.maximum(e, 1e-6)[:, None]
    v_out = output_motion_px_s(cam, t, qv)
    dv = beta[:, None] * np.sum((v_real - v_out) * u, axis=1, keepdims=True) * u
    f = cam.K[0, 0]
    # content velocity (du, dv) = f (-omega_y, omega_x)  =>  omega = (dv / f, -du / f, 0)
    domega = np.stack([dv[:, 1] / f, -dv[:, 0] / f, np.zeros(t.size)], axis=1)
    dt = np.diff(t)
    delta = np.concatenate([np.zeros((1, 3)),
                            np.cumsum(0.5 * (domega[1:] + domega[:-1]) * dt[:, None], axis=0)])
    sig = max(1.0, recenter_s / float(np.median(dt)))
    delta = delta - gaussian_filter1d(delta, sigma=sig, axis=0)
    return qmul(qv, qexp(delta)), beta
