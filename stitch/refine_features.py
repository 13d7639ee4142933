"""Feature correspondences between rig images: the coarse start of the calibration refinement.

Dense overlap flow (``stitch.flow``) finds correspondences only where the layers already agree
to a few pixels; a rig whose lenses differ from the file by a percent of focal length leaves
seams 40-80 px apart. SIFT features (OpenCV) are found once per image, and for every pair of
cameras whose views meet:

1. keypoints of image i whose nominal bearing camera j also sees (and vice versa) are kept;
2. descriptors are matched both ways with Lowe's ratio test (``ratio``), mutual best only;
3. matches whose nominal bearings differ by more than ``max_angle_deg`` are dropped;
4. RANSAC on the bearings: a relative rotation from two matches explains the inliers to
   ``ransac_deg`` (near content with parallax and repeated texture fall out).

Every ``heldout_every``-th surviving match (in a fixed order) is held out for the guard.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from .refine_calib import CameraMatches, bearings
from .rig import Rig

__all__ = ["detect_features", "feature_matches"]

_MAX_FEATURES = 2000
_MAX_SIDE_PX = 448
_RANSAC_ROUNDS = 200


def detect_features(images: Sequence[np.ndarray], max_features: int = _MAX_FEATURES,
                    max_side_px: int = _MAX_SIDE_PX):
    """SIFT keypoints (n, 2) float64 (full-resolution pixels) and descriptors (n, 128) float32
    of every image, found on a copy at most ``max_side_px`` on its longer side (a coarse start
    needs pixel accuracy, not more, and SIFT's cost grows with the area)."""
    sift = cv2.SIFT_create(nfeatures=max_features)
    out = []
    for img in images:
        grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
        s = min(1.0, max_side_px / max(grey.shape))
        if s < 1.0:
            grey = cv2.resize(grey, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        kps, desc = sift.detectAndCompute(grey, None)
        # Pixel centres: full-resolution x = (x_small + 0.5) / s - 0.5.
        pts = (np.array([kp.pt for kp in kps], np.float64).reshape(-1, 2) + 0.5) / s - 0.5
        out.append((pts, np.zeros((0, 128), np.float32) if desc is None else desc))
    return out


def _sees(rig: Rig, k: int, dirs: np.ndarray) -> np.ndarray:
    """Does camera k see rig-frame directions (inside its image, in front)?"""
    from .projection import _inside_image, _project_rays

    c = rig[k]
    rays = dirs @ c.R_rig_from_cam
    px = _project_rays(c, rays)
    return _inside_image(c, px, rays)


def _rotation_fit(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation R (3, 3) with R a ~ b in the least-squares sense (Kabsch)."""
    u, _, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def _ransac_rotation(a: np.ndarray, b: np.ndarray, thresh_rad: float,
                     rng: np.random.Generator) -> np.ndarray:
    """Inliers (bool) of the relative rotation between bearings a and b (RANSAC, 2 matches;
    all hypotheses are fitted and scored at once)."""
    n = len(a)
    if n < 6:
        return np.zeros(n, bool)
    s = np.stack([rng.choice(n, 2, replace=False) for _ in range(_RANSAC_ROUNDS)])
    M = np.einsum("hsk,hsl->hkl", b[s], a[s])  # sum over the sample of b a^T
    u, _, vt = np.linalg.svd(M)
    d = np.sign(np.linalg.det(u @ vt))
    u[:, :, 2] *= d[:, None]
    R = u @ vt  # (h, 3, 3)
    err = np.linalg.norm(np.einsum("hkl,nl->hnk", R, a) - b[None], axis=2)
    inl = err < thresh_rad
    best = inl[int(np.argmax(inl.sum(axis=1)))]
    if best.sum() >= 3:
        R = _rotation_fit(a[best], b[best])
        best = np.linalg.norm(a @ R.T - b, axis=1) < thresh_rad
    return best


def feature_matches(rig: Rig, images: Sequence[np.ndarray], pairs: Sequence[tuple[int, int]],
                    features=None, ratio: float = 0.8, max_angle_deg: float = 8.0,
                    ransac_deg: float = 0.5, heldout_every: int = 5, seed: int = 0
                    ) -> list[CameraMatches]:
    """Verified feature correspondences of every pair (see the module docstring).

    Parameters
    ----------
    rig : Rig
        The nominal rig (predicts where a feature should be found in the other image).
    images : sequence of ndarray
        BGR uint8 images in rig order.
    pairs : sequence of (i, j)
        Camera pairs to match (e.g. the overlaps' ``(o.i, o.j)``).
    features : list, optional
        :func:`detect_features` of the images (detected here when None).
    ratio, max_angle_deg, ransac_deg : float
        Ratio test, largest offset from the nominal rig, RANSAC inlier threshold.
    heldout_every : int
        Every n-th verified match is held out (0: none).
    seed : int
        Seeds RANSAC's sampling.

    Returns
    -------
    list of CameraMatches (``source="features"``), one per pair with at least 6 inliers.
    """
    feats = features if features is not None else detect_features(images)
    dirs = [bearings(rig, k, f[0]) if len(f[0]) else np.zeros((0, 3))
            for k, f in enumerate(feats)]
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    cos_max = math.cos(math.radians(max_angle_deg))
    out = []
    for i, j in pairs:
        (pi, di), (pj, dj) = feats[i], feats[j]
        if len(pi) < 2 or len(pj) < 2:
            continue
        si = np.flatnonzero(_sees(rig, j, dirs[i]))
        sj = np.flatnonzero(_sees(rig, i, dirs[j]))
        if len(si) < 6 or len(sj) < 6:
            continue
        fwd = matcher.knnMatch(di[si], dj[sj], k=2)
        bwd = matcher.knnMatch(dj[sj], di[si], k=2)
        best_b = {m[0].queryIdx: m[0].trainIdx for m in bwd if len(m) == 2}
        ia, ib = [], []
        for m in fwd:
            if len(m) < 2 or m[0].distance >= ratio * m[1].distance:
                continue
            if best_b.get(m[0].trainIdx) != m[0].queryIdx:
                continue
            ia.append(si[m[0].queryIdx])
            ib.append(sj[m[0].trainIdx])
        if len(ia) < 6:
            continue
        ia, ib = np.array(ia), np.array(ib)
        near = np.einsum("nk,nk->n", dirs[i][ia], dirs[j][ib]) > cos_max
        ia, ib = ia[near], ib[near]
        rng = np.random.default_rng([seed, i, j])
        inl = _ransac_rotation(dirs[j][ib], dirs[i][ia], math.radians(ransac_deg), rng)
        if inl.sum() < 6:
            continue
        ia, ib = ia[inl], ib[inl]
        order = np.lexsort((pi[ia, 0], pi[ia, 1]))
        ia, ib = ia[order], ib[order]
        ho = np.zeros(len(ia), bool)
        if heldout_every > 0:
            ho[heldout_every - 1::heldout_every] = True
        out.append(CameraMatches(i, j, pi[ia], pj[ib], np.ones(len(ia)), ho, "features"))
    return out
