"""Equirectangular panorama coordinates and sampling (docs/architecture.md "Panorama").

A panorama is W = 2H pixels; a world direction (x, y, z) has ``yaw = atan2(x, z)`` and
``pitch = -atan2(y, hypot(x, z))`` and sits at ``u = (0.5 + yaw / 2pi) W``,
``v = (0.5 - pitch / pi) H``. The u axis wraps at 0 <-> W, so sampling wraps too.
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import InputError
from .types import CameraModel

__all__ = ["dirs_to_equirect", "equirect_to_dirs", "sample_equirect", "equirect_camera",
           "INTERPOLATIONS"]

INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}


def equirect_camera(size: tuple[int, int]) -> CameraModel:
    """The ``CameraModel`` an equirectangular clip's motion is analysed with: its size (rows for
    the rolling shutter) and a focal length of ``W / 2pi`` px per radian, the panorama's scale
    at the equator (what pixel figures are measured in); ``meta['projection']`` says
    ``equirect``, so nothing takes it for a pinhole lens."""
    w, h = int(size[0]), int(size[1])
    if w < 2 or h < 2:
        raise InputError(f"equirect frame size must be positive, got {w}x{h}")
    f = w / (2 * np.pi)
    K = np.array([[f, 0.0, (w - 1) / 2.0], [0.0, f, (h - 1) / 2.0], [0.0, 0.0, 1.0]])
    return CameraModel(K, np.zeros(5), "opencv_standard", (w, h),
                       meta={"projection": "equirect", "name": "equirectangular"})


def dirs_to_equirect(dirs: np.ndarray, width: int) -> np.ndarray:
    """Panorama pixel coordinates (..., 2) ``(u, v)`` of world directions (..., 3).

    Directions need not be unit length. ``u`` lies in ``[0, W)``, ``v`` in ``[0, H]`` with
    ``H = W / 2``.
    """
    d = np.asarray(dirs, dtype=np.float64)
    if d.shape[-1] != 3:
        raise InputError(f"directions must have shape (..., 3), got {d.shape}")
    w = float(width)
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    yaw = np.arctan2(x, z)
    pitch = -np.arctan2(y, np.hypot(x, z))
    u = np.mod((0.5 + yaw / (2 * np.pi)) * w, w)
    v = (0.5 - pitch / np.pi) * (w / 2)
    return np.stack([u, v], axis=-1)


def equirect_to_dirs(uv: np.ndarray, width: int) -> np.ndarray:
    """Unit world directions (..., 3) of panorama pixel coordinates (..., 2) ``(u, v)``."""
    uv = np.asarray(uv, dtype=np.float64)
    if uv.shape[-1] != 2:
        raise InputError(f"pixel coordinates must have shape (..., 2), got {uv.shape}")
    w = float(width)
    yaw = (uv[..., 0] / w - 0.5) * 2 * np.pi
    pitch = (0.5 - uv[..., 1] / (w / 2)) * np.pi
    cp = np.cos(pitch)
    return np.stack([cp * np.sin(yaw), -np.sin(pitch), cp * np.cos(yaw)], axis=-1)


def sample_equirect(
    pano_img: np.ndarray, dirs: np.ndarray, interpolation: str = "bilinear"
) -> np.ndarray:
    """Sample a panorama image along world directions.

    Parameters
    ----------
    pano_img : (H, W[, C]) array
        Equirectangular image with W = 2H (any dtype cv2.remap accepts).
    dirs : (h, w, 3) float
        World directions, one per output pixel.
    interpolation : str
        One of ``INTERPOLATIONS`` (nearest, bilinear, bicubic, lanczos).

    Returns
    -------
    (h, w[, C]) array of ``pano_img``'s dtype. Interpolation wraps across u = 0 <-> W; rows past
    the poles are clamped.
    """
    img = np.asarray(pano_img)
    if img.ndim not in (2, 3) or img.shape[1] != 2 * img.shape[0]:
        raise InputError(f"panorama must be (H, 2H[, C]), got {img.shape}")
    if interpolation not in INTERPOLATIONS:
        raise InputError(
            f"unknown interpolation {interpolation!r}; valid: " + ", ".join(INTERPOLATIONS)
        )
    d = np.asarray(dirs, dtype=np.float64)
    if d.ndim != 3 or d.shape[-1] != 3:
        raise InputError(f"directions must have shape (h, w, 3), got {d.shape}")
    width = img.shape[1]
    uv = dirs_to_equirect(d, width)
    # Pixel centres sit at integer coordinates: continuous u maps to u - 0.5.
    mapx = (uv[..., 0] - 0.5).astype(np.float32)
    mapy = np.clip(uv[..., 1] - 0.5, 0.0, img.shape[0] - 1).astype(np.float32)
    return remap_wrapped(img, mapx, mapy, INTERPOLATIONS[interpolation])


def remap_wrapped(img: np.ndarray, mapx: np.ndarray, mapy: np.ndarray, flags: int) -> np.ndarray:
    """``cv2.remap`` that wraps horizontally and replicates vertically.

    OpenCV's border mode applies to both axes, so the image is padded by a few rows (replicated)
    and sampled with ``BORDER_WRAP``; the padded rows keep the top/bottom from wrapping.
    """
    pad = 4
    padded = cv2.copyMakeBorder(img, pad, pad, 0, 0, cv2.BORDER_REPLICATE)
    out = cv2.remap(padded, mapx, (mapy + pad).astype(np.float32), flags,
                    borderMode=cv2.BORDER_WRAP)
    return out
