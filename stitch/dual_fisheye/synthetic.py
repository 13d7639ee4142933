"""Dual-fisheye frames with exact truth, rendered from a real equirectangular photo.

Two back-to-back lenses (``stitch.dual_fisheye.lens``) see the photo
(``samples/equirect/examplepano.jpg``) at infinity. The true calibration differs from the
nominal one a stitcher starts from: field of view 185-200 degrees, disc centres a few pixels off
the halves' centres, a small radial term, a relative rotation of up to a degree per axis and a
gain difference between the lenses. Frames are side by side or stacked, with or without a black
margin around the discs (with none, the discs touch their halves' borders).

:func:`true_seam_residuals_px` measures a stitch against the truth: for panorama points that
both warped layers show, the angle between the scene directions the two layers actually show
there (through the true lenses), in panorama pixels at the equator (``W / 2 pi`` per radian).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from sensors.equirect import dirs_to_equirect

from ..projection import source_pixels
from .circles import split_halves
from .lens import R_BACK, FisheyeLens, pixels_to_rays, rotation_matrix

__all__ = ["DualFisheyeTruth", "render_dual_fisheye", "true_seam_residuals_px"]

_PANO_WIDTH_PX = 2048


@dataclass(frozen=True)
class DualFisheyeTruth:
    """The true calibration of a generated dual-fisheye frame.

    Parameters
    ----------
    lenses : (FisheyeLens, FisheyeLens)
        Front and back lens in full-frame pixels (``fov_rad`` is the disc's half angle).
    R_rig_from_back : (3, 3)
        True orientation of the back lens (the front lens is the rig frame).
    size : (int, int)
        Frame (width, height).
    layout : str
        ``"side_by_side"`` or ``"stacked"``.
    gains : (float, float)
        Brightness factor of each lens.
    """

    lenses: tuple[FisheyeLens, FisheyeLens]
    R_rig_from_back: np.ndarray
    size: tuple[int, int]
    layout: str
    gains: tuple[float, float] = (1.0, 1.0)

    @property
    def fov_deg(self) -> float:
        """Full field of view of the front lens, degrees."""
        return 2 * math.degrees(self.lenses[0].fov_rad)

    @classmethod
    def random(cls, seed: int = 0, height_px: int = 400, layout: str = "side_by_side",
               margin_fraction: float = 0.0, fov_deg: float | None = None,
               max_rotation_deg: float = 1.0, max_centre_offset_px: float = 3.0
               ) -> DualFisheyeTruth:
        """A seeded random calibration.

        Parameters
        ----------
        seed : int
        height_px : int
            Size of one half's shorter side (the frame is 2h x h side by side, h x 2h stacked).
        layout : {"side_by_side", "stacked"}
        margin_fraction : float
            Black margin between a disc and its half's border, as a fraction of the half
            (0: the discs touch the borders).
        fov_deg : float, optional
            Full field of view; default uniform in 185-200 degrees.
        max_rotation_deg : float
            Bound of the relative rotation's components.
        max_centre_offset_px : float
            Bound of each disc centre's offset from its half's centre.
        """
        rng = np.random.default_rng(seed)
        h = int(height_px)
        size = (2 * h, h) if layout == "side_by_side" else (h, 2 * h)
        fov = float(rng.uniform(185.0, 200.0)) if fov_deg is None else float(fov_deg)
        radius = (0.5 - margin_fraction) * h
        lenses = []
        for x0, y0, w, hh in split_halves(size[0], size[1], layout):
            half = math.radians(fov / 2 + rng.uniform(-0.5, 0.5))
            k1 = float(rng.uniform(-0.02, 0.02))
            f = radius / (half * (1 + k1 * half * half))
            off = rng.uniform(-max_centre_offset_px, max_centre_offset_px, 2)
            lenses.append(FisheyeLens(float(f), float(x0 + (w - 1) / 2 + off[0]),
                                      float(y0 + (hh - 1) / 2 + off[1]), k1, half))
        rot = np.radians(rng.uniform(-max_rotation_deg, max_rotation_deg, 3))
        gains = (1.0, float(rng.uniform(0.9, 1.1)))
        return cls((lenses[0], lenses[1]), R_BACK @ rotation_matrix(rot), size, layout, gains)

    def rotations(self) -> tuple[np.ndarray, np.ndarray]:
        """``R_rig_from_cam`` of the front and the back lens."""
        return np.eye(3), np.asarray(self.R_rig_from_back, dtype=np.float64)


@functools.lru_cache(maxsize=2)
def _panorama(width: int) -> np.ndarray:
    from ..synthetic import default_panorama_path

    img = cv2.imread(str(default_panorama_path()), cv2.IMREAD_COLOR)
    img = cv2.resize(img, (width, width // 2), interpolation=cv2.INTER_AREA)
    img.setflags(write=False)
    return img


def render_dual_fisheye(truth: DualFisheyeTruth, pano: np.ndarray | None = None) -> np.ndarray:
    """The frame (h, w, 3) uint8 BGR both lenses of ``truth`` see of the panorama photo.

    Parameters
    ----------
    truth : DualFisheyeTruth
    pano : (H, 2H, 3) uint8, optional
        The scene; default the sample photo at 2048 x 1024.

    Examples
    --------
    >>> truth = DualFisheyeTruth.random(seed=0, height_px=100)
    >>> render_dual_fisheye(truth).shape
    (100, 200, 3)
    """
    pano = _panorama(_PANO_WIDTH_PX) if pano is None else pano
    W = pano.shape[1]
    w, h = truth.size
    X, Y = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    out = np.zeros((h, w, 3), np.float32)
    for lens, R, gain, box in zip(truth.lenses, truth.rotations(), truth.gains,
                                  split_halves(w, h, truth.layout), strict=True):
        x0, y0, bw, bh = box
        sl = (slice(y0, y0 + bh), slice(x0, x0 + bw))
        px = np.stack([X[sl], Y[sl]], axis=-1)
        rays = pixels_to_rays(px, lens.f_px, lens.cx_px, lens.cy_px, lens.k1)
        uv = dirs_to_equirect(rays @ R.T, W)
        img = cv2.remap(pano, uv[..., 0].astype(np.float32), uv[..., 1].astype(np.float32),
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP).astype(np.float32)
        # Anti-aliased disc edge.
        r = np.hypot(px[..., 0] - lens.cx_px, px[..., 1] - lens.cy_px)
        alpha = np.clip(lens.radius_px(lens.fov_rad) + 0.5 - r, 0.0, 1.0)
        out[sl] = img * (gain * alpha)[..., None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def true_seam_residuals_px(truth: DualFisheyeTruth, rig, layers, warps=None,
                           step_px: int = 4) -> np.ndarray:
    """True misalignment (N,) of two stitched layers wherever both show the scene.

    Parameters
    ----------
    truth : DualFisheyeTruth
    rig : Rig
        The two-camera rig the stitch rendered with.
    layers : sequence of WarpedLayer
        ``StitchResult.layers`` (their ``valid`` masks say where each layer shows the scene).
    warps : sequence of SplineWarp, optional
        ``StitchResult.warps``: layer pixel q shows the projection at q + d(q).
    step_px : int
        Grid spacing of the sampled panorama points.

    Returns
    -------
    (N,) float64 angle between the scene directions the two layers show, times ``W / 2 pi``.
    """
    lay0, lay1 = layers[0].layer, layers[1].layer
    W = lay0.pano_width
    # Both dual-fisheye layers span the full width; sample rows both cover.
    v0 = max(lay0.y0, lay1.y0)
    v1 = min(lay0.y0 + lay0.height, lay1.y0 + lay1.height)
    U, V = np.meshgrid(np.arange(0, W, step_px, dtype=np.float64),
                       np.arange(v0, v1, step_px, dtype=np.float64))
    q = np.column_stack([U.ravel(), V.ravel()])
    both = np.ones(len(q), bool)
    dirs = []
    for k, wl in enumerate(layers):
        lay = wl.layer
        c = np.mod(q[:, 0] - lay.x0, W).astype(np.intp)
        r = (q[:, 1] - lay.y0).astype(np.intp)
        ok = (c < lay.width) & (r >= 0) & (r < lay.height)
        ok[ok] = wl.valid[r[ok], c[ok]]
        p = q.copy()
        if warps is not None and warps[k] is not None:
            p = q + warps[k].displacement(q)
        mx, my, seen = source_pixels(rig[k], p[:, 0], p[:, 1], W)
        ok &= seen
        lens = truth.lenses[k]
        rays = pixels_to_rays(np.column_stack([mx, my]).astype(np.float64), lens.f_px,
                              lens.cx_px, lens.cy_px, lens.k1)
        dirs.append(rays @ truth.rotations()[k].T)
        both &= ok
    a, b = dirs[0][both], dirs[1][both]
    ang = np.arctan2(np.linalg.norm(np.cross(a, b), axis=1), np.einsum("nk,nk->n", a, b))
    return ang * W / (2 * math.pi)
