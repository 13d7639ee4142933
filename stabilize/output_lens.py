"""The output camera's projection: rectified pinhole, the source lens's own look, or between.

Action-camera users often keep the lens's look (a fisheye's curved horizon, its wide view) and
only want the motion removed; others want straight lines. ``lens_correction`` chooses: 1 is the
rectified pinhole the warp has always produced, 0 keeps the source lens's projection (the rotation
applied within it, so at zoom 1 with no motion the output is the input), values between blend the
two by the angle off the optical axis. ``fov_scale`` widens (> 1) or narrows (< 1) the output's
field of view; the zoom logic still keeps every output pixel inside the source frame.

Both the warp (``stabilize.synthesis``) and the bad-region check (``stabilize.filters``) take their
output rays from :func:`output_rays`, so what is checked is what is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.camera import undistort_normalized
from sensors.errors import InputError
from sensors.types import CameraModel


@dataclass(frozen=True)
class OutputLens:
    """How the output frame projects rays.

    Attributes
    ----------
    correction : float
        1 = rectified pinhole, 0 = the source lens's projection, between = a blend.
    fov_scale : float
        Output field-of-view scale (focal length divided by it).
    """

    correction: float = 1.0
    fov_scale: float = 1.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.correction) and 0.0 <= self.correction <= 1.0):
            raise InputError(f"lens correction must be in 0..1, got {self.correction}")
        if not (np.isfinite(self.fov_scale) and 0.1 <= self.fov_scale <= 4.0):
            raise InputError(f"field-of-view scale must be in 0.1..4, got {self.fov_scale}")

    @property
    def is_pinhole(self) -> bool:
        """True for the rectified pinhole at the source focal length (the classic output)."""
        return self.correction == 1.0 and self.fov_scale == 1.0


PINHOLE = OutputLens()


def output_normalized(camera: CameraModel, zoom: float | np.ndarray, pts_px: np.ndarray,
                      fov_scale: float = 1.0) -> np.ndarray:
    """Normalized output coordinates (..., 2) of output pixels: source focal x zoom / fov."""
    K = camera.K
    z = np.asarray(zoom, dtype=np.float64)[..., None] / fov_scale
    p = np.asarray(pts_px, dtype=np.float64)
    y = (p[..., 1] - K[1, 2]) / K[1, 1]
    x = (p[..., 0] - K[0, 2] - K[0, 1] * y) / K[0, 0]
    return np.stack([x, y], axis=-1) / z


def rays_from_normalized(camera: CameraModel, n: np.ndarray, lens: OutputLens = PINHOLE
                         ) -> np.ndarray:
    """Virtual-camera rays (..., 3), z forward, of normalized output coordinates ``n``.

    With ``lens.correction == 1`` these are the pinhole rays ``(x, y, 1)``; otherwise the unit ray
    whose angle off axis blends the pinhole's and the source lens's at that image position.
    """
    n = np.asarray(n, dtype=np.float64)
    c = lens.correction
    if c == 1.0:
        return np.concatenate([n, np.ones(n.shape[:-1] + (1,))], axis=-1)
    u = undistort_normalized(camera, n)
    r_n = np.hypot(n[..., 0], n[..., 1])
    r_u = np.hypot(u[..., 0], u[..., 1])
    th = c * np.arctan(r_n) + (1.0 - c) * np.arctan(r_u)
    d_n = n / np.where(r_n > 1e-12, r_n, 1.0)[..., None]
    d_u = u / np.where(r_u > 1e-12, r_u, 1.0)[..., None]
    d = c * d_n + (1.0 - c) * d_u
    d = d / np.maximum(np.hypot(d[..., 0], d[..., 1]), 1e-12)[..., None]
    return np.concatenate([d * np.sin(th)[..., None], np.cos(th)[..., None]], axis=-1)


def output_rays(camera: CameraModel, zoom: float, pts_px: np.ndarray,
                lens: OutputLens = PINHOLE) -> np.ndarray:
    """Virtual-camera rays (M, 3) of output pixels ``pts_px`` (M, 2) at ``zoom``.

    Examples
    --------
    >>> from sensors.types import CameraModel
    >>> cam = CameraModel(np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]]), np.zeros(4),
    ...                   "opencv_fisheye", (640, 480))
    >>> output_rays(cam, 1.0, np.array([[820.0, 240.0]])).round(3)  # pinhole: (x, y, 1)
    array([[1., 0., 1.]])
    >>> r = output_rays(cam, 1.0, np.array([[820.0, 240.0]]), OutputLens(correction=0.0))
    >>> float(np.degrees(np.arctan2(r[0, 0], r[0, 2])).round(2))  # equidistant: 1 rad off axis
    57.3
    """
    if not (np.isfinite(zoom) and zoom > 0):
        raise InputError(f"zoom must be finite and > 0, got {zoom}")
    n = output_normalized(camera, zoom, pts_px, lens.fov_scale)
    return rays_from_normalized(camera, n, lens)
