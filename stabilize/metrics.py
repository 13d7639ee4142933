"""Stabilization quality metrics.

From the video alone (feature tracks between frames, as in Liu et al. 2013, "Bundled camera
paths for video stabilization", SIGGRAPH):

- ``stability``: share of the path's spectral energy in the lowest frequencies (2nd to 6th FFT
  bins, DC excluded) of the per-frame camera path (accumulated inter-frame similarity
  transforms: x, y translation and rotation); the minimum over the components. 1 = smooth.
- ``cropping_ratio`` and ``distortion``: from the homography between each input frame and its
  output frame: the cropping ratio is ``1 / scale`` (mean over frames), the distortion is the
  smallest ratio of the two singular values of its affine part (1 = no anisotropic stretch).
- ``jitter_px``: RMS of the high-pass (above ``cutoff_hz``) of the path's translation, pixels
  at a 960 px wide frame.
- ``wobble_px``: RMS over frames of the difference between the inter-frame motion of the bottom
  and top thirds of the frame (rolling-shutter skew/wobble), pixels at 960 px width.

With ground truth (generated clips): ``truth_jitter_px`` measures the same high-pass on the
orientation the output actually shows, ``q_true q_est^-1 q_virtual`` (the estimated real camera
is what the warp undoes), projected with the output focal length; ``band_jitter_px`` does it per
row band of a rolling-shutter sensor (the truth's ``band_quat`` rows: of the frame, of an
equirect clip's panorama, or of both lenses of a dual-fisheye clip) and takes the RMS over bands.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import av
import cv2
import numpy as np

from sensors.errors import InputError
from sensors.quaternion import qconj, qlog, qmul

from .signal1d import gaussian_filter1d

__all__ = [
    "VideoMotion",
    "track_video",
    "stability_score",
    "high_pass_rms",
    "compare_frames",
    "video_metrics",
    "truth_jitter_px",
    "band_jitter_px",
    "REFERENCE_WIDTH",
]

REFERENCE_WIDTH = 960


def _gray_frames(path: str | os.PathLike, width: int):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for fr in c.decode(s):
            g = fr.to_ndarray(format="gray")
            if g.shape[1] != width:
                h = int(round(g.shape[0] * width / g.shape[1]))
                g = cv2.resize(g, (width, h), interpolation=cv2.INTER_AREA)
            yield g


@dataclass(frozen=True, eq=False)
class VideoMotion:
    """Inter-frame motion of a video, in pixels of a ``REFERENCE_WIDTH`` wide frame.

    Parameters
    ----------
    dxy_px : (F-1, 2) float64
        Translation of the frame centre from frame k to k+1 (similarity fit).
    dtheta_rad : (F-1,) float64
        Rotation from frame k to k+1.
    skew_px : (S, 2) float64
        Bottom-third minus top-third median motion (rolling-shutter wobble), for the S frame
        pairs with at least 3 tracked features in both thirds.
    fps : float
        Frame rate.
    """

    dxy_px: np.ndarray
    dtheta_rad: np.ndarray
    skew_px: np.ndarray
    fps: float


def _track(prev: np.ndarray, cur: np.ndarray, max_corners: int = 400):
    p0 = cv2.goodFeaturesToTrack(prev, max_corners, 0.01, 8, blockSize=7)
    if p0 is None or len(p0) < 8:
        return None, None
    p1, st, _ = cv2.calcOpticalFlowPyrLK(prev, cur, p0, None, winSize=(21, 21), maxLevel=3)
    back, st2, _ = cv2.calcOpticalFlowPyrLK(cur, prev, p1, None, winSize=(21, 21), maxLevel=3)
    ok = (st.ravel() == 1) & (st2.ravel() == 1) & (np.linalg.norm(back - p0, axis=2).ravel() < 0.5)
    if ok.sum() < 8:
        return None, None
    return p0[ok].reshape(-1, 2), p1[ok].reshape(-1, 2)


def track_video(path: str | os.PathLike, width: int = REFERENCE_WIDTH // 2) -> VideoMotion:
    """Inter-frame motion of a video from KLT feature tracks (forward-backward checked).

    Frames are tracked at ``width`` and the results scaled to ``REFERENCE_WIDTH``.
    """
    from sensors.video import probe_video

    info = probe_video(path)
    scale = REFERENCE_WIDTH / float(width)
    dxy, dth, skew = [], [], []
    prev = None
    for g in _gray_frames(path, width):
        if prev is not None:
            a, b = _track(prev, g)
            if a is None:
                raise InputError("too few trackable features between frames", str(path))
            M, inl = cv2.estimateAffinePartial2D(a, b, method=cv2.RANSAC,
                                                 ransacReprojThreshold=1.0)
            if M is None:
                raise InputError("no inter-frame motion model could be fitted", str(path))
            c = np.array([g.shape[1] - 1, g.shape[0] - 1]) / 2.0
            dxy.append((M[:, :2] @ c + M[:, 2] - c) * scale)
            dth.append(np.arctan2(M[1, 0], M[0, 0]))
            h = g.shape[0]
            top = a[:, 1] < h / 3
            bot = a[:, 1] > 2 * h / 3
            if top.sum() >= 3 and bot.sum() >= 3:  # else this frame pair says nothing
                d = b - a
                skew.append((np.median(d[bot], axis=0) - np.median(d[top], axis=0)) * scale)
        prev = g
    if len(dxy) < 2:
        raise InputError("need at least 3 frames to measure motion", str(path))
    return VideoMotion(np.array(dxy), np.array(dth), np.array(skew).reshape(-1, 2), info.fps)


def stability_score(path_values: np.ndarray, low_bins: tuple[int, int] = (2, 6)) -> float:
    """Liu et al. 2013 stability of a 1-D path: energy in FFT bins ``low_bins`` over all but DC.

    Bins are counted from 1 = DC (the paper's "2nd to 6th" lowest frequencies).
    """
    x = np.asarray(path_values, dtype=np.float64)
    e = np.abs(np.fft.rfft(x - x.mean())) ** 2
    total = e[1:].sum()
    if total <= 0:
        return 1.0
    return float(e[low_bins[0] - 1:low_bins[1]].sum() / total)


def high_pass_rms(values: np.ndarray, fps: float, cutoff_hz: float = 1.0) -> float:
    """RMS of ``values`` minus its Gaussian low-pass (sigma = 1 / (2 pi cutoff)), ends trimmed."""
    v = np.asarray(values, dtype=np.float64)
    sigma = fps / (2 * np.pi * cutoff_hz)
    hp = v - gaussian_filter1d(v, sigma, axis=0)
    trim = int(round(2 * sigma))
    if hp.shape[0] > 2 * trim + 4:
        hp = hp[trim:-trim]
    return float(np.sqrt(np.mean(np.sum(hp.reshape(hp.shape[0], -1) ** 2, axis=1))))


def frame_shake_px(motion: VideoMotion, cutoff_hz: float = 1.0) -> np.ndarray:
    """Per frame pair, how far the motion departs from its low-pass (px at 960 px wide).

    The translation between consecutive frames minus its Gaussian low-pass (as
    ``high_pass_rms``), as a magnitude per pair: a jump between two frames, or a stretch that
    shakes, stands out where the path is otherwise smooth. Compare an output's with its input's
    pair by pair to find frames that shake more than the input did.
    """
    sigma = motion.fps / (2 * np.pi * cutoff_hz)
    d = motion.dxy_px
    return np.linalg.norm(d - gaussian_filter1d(d, sigma, axis=0), axis=1)


def compare_frames(input_path: str | os.PathLike, output_path: str | os.PathLike,
                   width: int = REFERENCE_WIDTH // 2, step: int = 5) -> tuple[float, float]:
    """Liu et al. cropping ratio (mean) and distortion (min) from input->output homographies."""
    crops, dists = [], []
    for k, (a, b) in enumerate(zip(_gray_frames(input_path, width),
                                   _gray_frames(output_path, width), strict=False)):
        if k % step:
            continue
        p, q = _track(a, b)
        if p is None:
            continue
        H, _ = cv2.findHomography(p, q, cv2.RANSAC, 2.0)
        if H is None:
            continue
        A = H[:2, :2] / H[2, 2]
        sv = np.linalg.svd(A, compute_uv=False)
        crops.append(1.0 / np.sqrt(abs(np.linalg.det(A))))
        dists.append(sv[1] / sv[0])
    if not crops:
        raise InputError("could not relate any output frame to its input", str(output_path))
    return float(np.clip(np.mean(crops), 0, 1)), float(np.min(dists))


@dataclass(frozen=True)
class VideoMetrics:
    stability: float
    jitter_px: float
    wobble_px: float | None  # None: no frame pair had features in both top and bottom thirds

    def as_dict(self) -> dict:
        return asdict(self)


def video_metrics(path: str | os.PathLike, cutoff_hz: float = 1.0) -> dict:
    """``stability``, ``jitter_px`` and ``wobble_px`` of one video (see the module docstring)."""
    m = track_video(path)
    path_xy = np.cumsum(m.dxy_px, axis=0)
    path_th = np.cumsum(m.dtheta_rad)
    stab = min(stability_score(path_xy[:, 0]), stability_score(path_xy[:, 1]),
               stability_score(path_th))
    wobble = (float(np.sqrt(np.mean(np.sum(m.skew_px ** 2, axis=1)))) if len(m.skew_px)
              else None)
    return VideoMetrics(stab, high_pass_rms(path_xy, m.fps, cutoff_hz), wobble).as_dict()


def truth_jitter_px(t_s: np.ndarray, shown_quat: np.ndarray, focal_px: float, fps: float,
                    cutoff_hz: float = 1.0) -> float:
    """High-pass RMS (px) of the orientation a video shows, small-angle projected at ``focal_px``.

    ``shown_quat`` (F, 4): for an input clip the true camera; for an output the true camera times
    the inverse of the estimated one times the virtual one.
    """
    q = np.asarray(shown_quat, dtype=np.float64)
    rv = qlog(qmul(np.broadcast_to(qconj(q[:1]), q.shape), q))
    return high_pass_rms(rv * focal_px, fps, cutoff_hz)


def band_jitter_px(t_s: np.ndarray, true_band_quat: np.ndarray, est_band_quat: np.ndarray,
                   virtual_quat: np.ndarray, focal_px: float, fps: float,
                   cutoff_hz: float = 1.0) -> float:
    """RMS over row bands of ``truth_jitter_px`` of the orientation each band shows.

    Parameters
    ----------
    t_s : (F,) float
        Frame times.
    true_band_quat, est_band_quat : (F, B, 4) float
        True and estimated ``R_world_from_cam`` at each frame's band rows' capture times (the
        truth's ``band_quat``; the estimate evaluated at the same times).
    virtual_quat : (F, 4) float
        The output's virtual camera per frame.
    focal_px, fps, cutoff_hz
        As ``truth_jitter_px`` (e.g. ``REFERENCE_WIDTH / 2pi``: px on the sphere at 960 wide).

    Returns
    -------
    float: ``sqrt(mean_b jitter_b^2)``, px, where band ``b`` shows ``q_true q_est^-1 q_virtual``.
    """
    qt = np.ascontiguousarray(true_band_quat, dtype=np.float64)
    qe = np.ascontiguousarray(est_band_quat, dtype=np.float64)
    qv = np.broadcast_to(np.asarray(virtual_quat, dtype=np.float64)[:, None, :], qt.shape)
    if qe.shape != qt.shape or qt.ndim != 3:
        raise InputError(f"band orientations must both be (F, B, 4), got {qt.shape}, {qe.shape}")
    shown = qmul(qmul(qt, qconj(qe)), np.ascontiguousarray(qv))
    per_band = [truth_jitter_px(t_s, shown[:, b], focal_px, fps, cutoff_hz)
                for b in range(qt.shape[1])]
    return float(np.sqrt(np.mean(np.square(per_band))))
