"""Video-only stabilization quality figures, the same for the input, steadyrig and every peer.

Nothing here needs gyro data or truth: every figure is measured from the decoded frames, so a
stabilizer cannot be flattered by its own bookkeeping. Frames are analysed in luma, downscaled
to at most ``ANALYSIS_WIDTH`` px wide, and every pixel figure is stated at 960 px width (the
issue's yardstick).

Per consecutive frame pair: Shi-Tomasi corners tracked with pyramidal Lucas-Kanade (forward and
backward, keeping tracks that return within 0.5 px), one RANSAC homography.

- residual motion (px): the frame centre's accumulated path, minus its slow part (a Gaussian
  whose high-pass gain is 1/2 at ``HIGHPASS_HZ`` = 1 Hz, the "shake above ~1 Hz" of
  ``sensors.synthetic.paths``), RMS of the 2-D remainder; ends (0.5 s) trimmed. Roll likewise
  in degrees.
- row-band wobble (px): per pair, the residual track motion after the homography, median per
  horizontal band (8 bands), spread (RMS about the bands' mean) across bands; mean over pairs.
  Rolling-shutter jello makes rows move differently within one frame; one homography cannot
  explain it.
- undefined pixels: black (luma <= 10) flat (5x5 variance < 4) regions connected to the frame
  border, grown 2 px into dark (luma <= 24) pixels, as a share of the frame; mean over frames,
  the largest frame's share, and frames above 0.05 %. Every tool fills with black (luma 16,
  0 here; coding noise stays within a few levels); a dark lake or shadow at 20-35 is scene
  content, which the resampling smooths flat (it was counted when the core threshold was 24).
  Black flat scene content at the border counts too, hence the input's own figure in the
  table is the floor.
- Liu et al. 2013 ("Bundled camera paths for video stabilization", SIGGRAPH) figures:
  stability = low-frequency share (the 5 lowest non-DC FFT bins over all non-DC bins up to
  Nyquist) of the per-pair translation and rotation, min(mean of x/y, rotation);
  cropping ratio = mean over frames of sqrt|det J|, J the local Jacobian at the frame centre of
  the homography from the output frame to the input frame (1 = no crop; the affine part of H
  is the Jacobian at the corner (0, 0), biased by a rotation's perspective terms);
  distortion = the smallest ratio of J's two singular values over the frames (1 = none).
  Input-output homographies come from SIFT matches (ratio test 0.75, RANSAC 3 px) on every
  ``match_step``-th frame (frames paired by index).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

__all__ = ["ANALYSIS_WIDTH", "HIGHPASS_HZ", "read_gray", "video_quality"]

ANALYSIS_WIDTH = 960
HIGHPASS_HZ = 1.0
BANDS = 8
FILL_LUMA = 10
DARK_LUMA = 24
FLAT_VAR = 4.0
#: A frame counts as having undefined pixels above this share (a 0.5 px sliver on one side).
UNDEFINED_FRAME_SHARE = 5e-4


def read_gray(path: Path, max_width: int = ANALYSIS_WIDTH) -> Iterator[np.ndarray]:
    """Decode a video's luma frames (uint8), downscaled to at most ``max_width`` px wide."""
    with av.open(str(path)) as box:
        stream = box.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in box.decode(stream):
            g = frame.to_ndarray(format="gray")
            if g.shape[1] > max_width:
                h = int(round(g.shape[0] * max_width / g.shape[1] / 2)) * 2
                g = cv2.resize(g, (max_width, h), interpolation=cv2.INTER_AREA)
            yield np.ascontiguousarray(g)


def _track(prev: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p0 = cv2.goodFeaturesToTrack(prev, maxCorners=600, qualityLevel=0.01, minDistance=10,
                                 blockSize=7)
    if p0 is None:
        return np.empty((0, 2), np.float32), np.empty((0, 2), np.float32)
    lk = dict(winSize=(21, 21), maxLevel=4,
              criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
    p1, st1, _ = cv2.calcOpticalFlowPyrLK(prev, cur, p0, None, **lk)
    pb, st2, _ = cv2.calcOpticalFlowPyrLK(cur, prev, p1, None, **lk)
    ok = (st1[:, 0] == 1) & (st2[:, 0] == 1) & (np.linalg.norm(pb - p0, axis=2)[:, 0] < 0.5)
    return p0[ok, 0], p1[ok, 0]


def _apply(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    q = pts @ H[:2, :2].T + H[:2, 2]
    w = pts @ H[2, :2] + H[2, 2]
    return q / w[:, None]


def _undefined_share(g: np.ndarray) -> float:
    black = g <= FILL_LUMA
    if not black.any():
        return 0.0
    dark = g <= DARK_LUMA
    # A fill is black and flat; dark scene content has texture or is not black. The 5x5
    # variance misses the fill's last 2 px next to the picture (and coding ringing lifts them
    # above black), so the flat core is grown back into dark pixels.
    f = g.astype(np.float32)
    mean = cv2.blur(f, (5, 5))
    var = cv2.blur(f * f, (5, 5)) - mean * mean
    core = (black & (var < FLAT_VAR)).astype(np.uint8)
    n, labels = cv2.connectedComponents(core, connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    edge = edge[edge > 0]
    if not edge.size:
        return 0.0
    fill = np.isin(labels, edge).astype(np.uint8)
    fill = cv2.dilate(fill, np.ones((5, 5), np.uint8)).astype(bool) & dark
    return float(fill.mean())


def _low_freq_share(x: np.ndarray) -> float:
    e = np.abs(np.fft.rfft(x)) ** 2
    e = e[1:]  # drop DC
    total = e.sum()
    return float(e[:5].sum() / total) if total > 0 else 1.0


def _sift_homography(sift, out_g: np.ndarray, in_g: np.ndarray) -> np.ndarray | None:
    ko, do = sift.detectAndCompute(out_g, None)
    ki, di = sift.detectAndCompute(in_g, None)
    if do is None or di is None or len(ko) < 8 or len(ki) < 8:
        return None
    matches = cv2.BFMatcher(cv2.NORM_L2).knnMatch(do, di, k=2)
    good = [m for m, n in (p for p in matches if len(p) == 2) if m.distance < 0.75 * n.distance]
    if len(good) < 12:
        return None
    src = np.float32([ko[m.queryIdx].pt for m in good])
    dst = np.float32([ki[m.trainIdx].pt for m in good])
    H, _ = cv2.findHomography(src, dst, cv2.RANSAC, 3.0)
    return H


def video_quality(video: Path, fps: float, reference: Path | None = None,
                  match_step: int = 10) -> dict:
    """Quality figures of one video (see the module docstring).

    Parameters
    ----------
    video : Path
        The video to judge.
    fps : float
        Its frame rate (sets the 1 Hz high-pass and the trimmed ends).
    reference : Path, optional
        The input it was made from; enables Liu's cropping ratio and distortion (frames are
        paired by index).
    match_step : int
        Every how many frames the input-output homography is measured.

    Returns
    -------
    dict
        JSON-ready figures; pixel figures at 960 px width.
    """
    centre_d, roll, wobble, undefined = [], [], [], []
    prev = None
    scale = 1.0
    for g in read_gray(video):
        undefined.append(_undefined_share(g))
        if prev is None:
            scale = 960.0 / g.shape[1]
            c = np.array([[g.shape[1] / 2, g.shape[0] / 2],
                          [g.shape[1] / 2 + 100.0, g.shape[0] / 2]], np.float32)
            bands = np.linspace(0, g.shape[0], BANDS + 1)
        else:
            p0, p1 = _track(prev, g)
            H = None
            if len(p0) >= 12:
                H, _ = cv2.findHomography(p0, p1, cv2.RANSAC, 2.0)
            if H is None:
                raise RuntimeError(f"{video}: too few features tracked at frame {len(undefined)-1}")
            cc = _apply(H, c.astype(np.float64))
            centre_d.append(cc[0] - c[0])
            v = cc[1] - cc[0]
            roll.append(np.degrees(np.arctan2(v[1], v[0])))
            res = p1 - _apply(H, p0.astype(np.float64))
            band = np.digitize(p1[:, 1], bands[1:-1])
            med = np.array([np.median(res[band == b], axis=0)
                            for b in range(BANDS) if np.count_nonzero(band == b) >= 5])
            if len(med) >= 2:
                wobble.append(np.sqrt(np.mean(np.sum((med - med.mean(axis=0)) ** 2, axis=1))))
        prev = g
    d = np.asarray(centre_d) * scale
    r = np.asarray(roll)
    # Gaussian high-pass 1 - exp(-(2 pi f sigma)^2 / 2) = 1/2 at HIGHPASS_HZ.
    sigma = np.sqrt(2 * np.log(2)) / (2 * np.pi * HIGHPASS_HZ) * fps
    trim = int(round(0.5 * fps))
    path = np.concatenate([[[0.0, 0.0]], np.cumsum(d, axis=0)])
    hp = (path - gaussian_filter1d(path, sigma, axis=0, mode="nearest"))[trim:-trim or None]
    rpath = np.concatenate([[0.0], np.cumsum(r)])
    rhp = (rpath - gaussian_filter1d(rpath, sigma, mode="nearest"))[trim:-trim or None]
    stab_t = 0.5 * (_low_freq_share(d[:, 0]) + _low_freq_share(d[:, 1]))
    stab_r = _low_freq_share(r)
    out = {
        "frames": len(undefined),
        "residual_px": float(np.sqrt(np.mean(np.sum(hp ** 2, axis=1)))),
        "residual_px_xy": [float(v) for v in np.sqrt(np.mean(hp ** 2, axis=0))],
        "residual_roll_deg": float(np.sqrt(np.mean(rhp ** 2))),
        "wobble_px": float(np.mean(wobble) * scale) if wobble else None,
        "undefined_mean_pct": float(100 * np.mean(undefined)),
        "undefined_max_pct": float(100 * np.max(undefined)),
        "frames_with_undefined": int(np.sum(np.asarray(undefined) > UNDEFINED_FRAME_SHARE)),
        "stability": float(min(stab_t, stab_r)),
    }
    if reference is not None:
        out.update(_liu_crop_distortion(video, reference, match_step))
    return out


def _liu_crop_distortion(video: Path, reference: Path, step: int) -> dict:
    sift = cv2.SIFT_create(nfeatures=1000)
    scales, ratios = [], []
    for k, (o, i) in enumerate(zip(read_gray(video), read_gray(reference), strict=False)):
        if k % step:
            continue
        H = _sift_homography(sift, o, i)
        if H is None:
            continue
        # Local Jacobian at the frame centre: the affine part H[:2, :2] / H[2, 2] alone is the
        # Jacobian at the corner (0, 0), biased by the perspective terms of a rotation.
        c = np.array([o.shape[1] / 2, o.shape[0] / 2])
        p = _apply(H, np.array([c, c + (1.0, 0.0), c + (0.0, 1.0)]))
        J = np.stack([p[1] - p[0], p[2] - p[0]], axis=1)
        sv = np.linalg.svd(J, compute_uv=False)
        scales.append(np.sqrt(abs(np.linalg.det(J))))
        ratios.append(sv[1] / sv[0])
    if not scales:
        return {"cropping_ratio": None, "distortion": None, "matched_frames": 0}
    return {"cropping_ratio": float(np.mean(scales)), "distortion": float(np.min(ratios)),
            "matched_frames": len(scales)}
