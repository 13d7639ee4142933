"""The ground's parallax at the seam, as a displacement of each lens's layer.

The calibration (``stitch.dual_fisheye.calibrate``) fits the ground below the camera and the far
scene's distance (:mod:`stitch.dual_fisheye.ground`); a stitch drawn at infinity still shows the
ground doubled by up to ``b / g`` (a degree for a 2.4 cm baseline 1.5 m up). This module turns
that scene into a **parallax field** per lens on the seam panorama: at panorama point ``q``
(rig-centre direction ``u``), the displacement ``m(q) = P(v) - q`` to where the lens's layer shows
the point the rig centre sees along ``u`` (``v = lens_rays(u)``, ``P`` the panorama position). The
seam warps then solve only what the scene model leaves (their matches lose the model's share,
:func:`without_model`), and a keyframe's seam field is the two added: where the ring has no
texture (sky, walls of one colour) the model alone decides, instead of a warp extrapolated from
the nearest texture.
"""

from __future__ import annotations

import numpy as np

from sensors.equirect import dirs_to_equirect, equirect_to_dirs
from stitch.dual_fisheye.ground import lens_rays
from stitch.flow import PairMatches

from .rig import R_SEAM_FROM_CAM

__all__ = ["parallax_px", "parallax_field", "without_model"]


def parallax_px(lens: int, q_px: np.ndarray, ground, width_px: int) -> np.ndarray:
    """Parallax field (N, 2) of lens ``lens`` at seam panorama points ``q_px`` (N, 2), px.

    Zero without a ground (``ground`` None).

    Examples
    --------
    >>> import numpy as np
    >>> q = np.array([[100.0, 200.0], [300.0, 100.0]])   # the nadir's side and the sky's
    >>> m = parallax_px(0, q, (0.016, 0.0, 0.0, 0.006), 800)
    >>> bool(np.abs(m).max() < 0.02 * 800 / (2 * np.pi))
    True
    """
    q = np.asarray(q_px, dtype=np.float64).reshape(-1, 2)
    if ground is None or float(ground[0]) <= 0.0:
        return np.zeros_like(q)
    u = equirect_to_dirs(q, width_px) @ R_SEAM_FROM_CAM  # seam -> camera (rig) frame
    v = lens_rays(lens, u, ground)
    p = dirs_to_equirect(v @ R_SEAM_FROM_CAM.T, width_px)
    m = p - q
    m[:, 0] = np.mod(m[:, 0] + width_px / 2, width_px) - width_px / 2
    return m


def without_model(matches: list[PairMatches], ground, width_px: int) -> list[PairMatches]:
    """The matches with the parallax field's share taken out: a warp pair ``d_i, d_j`` solving
    them, plus the fields, solves the originals (``d_j - d_i = p_j - p_i`` at the midpoint)."""
    if ground is None or float(ground[0]) <= 0.0:
        return matches
    out = []
    for pm in matches:
        mid = 0.5 * (pm.p_i + pm.p_j)
        share = (parallax_px(pm.j, mid, ground, width_px)
                 - parallax_px(pm.i, mid, ground, width_px))
        out.append(PairMatches(pm.i, pm.j, pm.p_i, pm.p_j - share, pm.weight, pm.heldout))
    return out


def parallax_field(lens: int, layer, width_px: int, step_px: int, ground) -> np.ndarray:
    """The parallax field (gh, gw, 2) float32 sampled as a seam field is (every ``step_px``
    on the seam panorama, zero off the lens's layer)."""
    gw, gh = width_px // step_px, (width_px // 2) // step_px + 1
    out = np.zeros((gh, gw, 2), np.float32)
    if ground is None or float(ground[0]) <= 0.0:
        return out
    U, V = np.meshgrid(np.arange(gw, dtype=np.float64) * step_px,
                       np.arange(gh, dtype=np.float64) * step_px)
    inside = (V >= layer.y0) & (V <= layer.y0 + layer.height - 1)
    out[inside] = parallax_px(lens, np.column_stack([U[inside], V[inside]]), ground,
                              width_px).astype(np.float32)
    return out
