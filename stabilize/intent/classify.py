"""Operator intent per frame: the classifier's output, smoothed over time by a sticky HMM."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.errors import InputError
from sensors.types import GyroLog

from .features import intent_features
from .model import IntentModel, load_intent_model

__all__ = ["IntentTrack", "classify_intent", "smooth_probabilities"]


def smooth_probabilities(probs: np.ndarray, dt_s: float, switch_per_s: float = 0.5) -> np.ndarray:
    """Temporally smoothed class probabilities (HMM forward-backward over the frames).

    The per-frame classifier output is treated as the emission likelihood of a sticky Markov
    chain that switches class about ``switch_per_s`` times a second; forward-backward (zero phase,
    it sees the lookahead) gives the posterior per frame, so single-frame flickers vanish and real
    transitions are smooth over a few frames.

    Parameters
    ----------
    probs : (F, C) float64
        Per-frame class probabilities.
    dt_s : float
        Frame period in seconds.
    switch_per_s : float
        Expected class changes per second (> 0).

    Returns
    -------
    (F, C) float64 posterior probabilities.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0:
        raise InputError(f"probabilities must be (F, C) with F > 0, got {p.shape}")
    if not (dt_s > 0 and switch_per_s > 0):
        raise InputError("frame period and switch rate must be positive")
    F, C = p.shape
    leave = min(1.0 - 1e-9, switch_per_s * dt_s)
    A = np.full((C, C), leave / max(C - 1, 1))
    np.fill_diagonal(A, 1.0 - leave)
    e = np.clip(p, 1e-6, None)
    fwd = np.empty_like(e)
    cur = e[0] / e[0].sum()
    fwd[0] = cur
    for i in range(1, F):
        cur = (cur @ A) * e[i]
        cur /= cur.sum()
        fwd[i] = cur
    out = np.empty_like(e)
    back = np.ones(C) / C
    out[-1] = fwd[-1]
    for i in range(F - 2, -1, -1):
        back = A @ (e[i + 1] * back)
        back /= back.sum()
        post = fwd[i] * back
        out[i] = post / post.sum()
    return out


@dataclass(frozen=True, eq=False)
class IntentTrack:
    """Intent per frame.

    Parameters
    ----------
    t_s : (F,) float64
        Frame times on the gyro's clock.
    probs : (F, C) float64
        Smoothed class probabilities.
    raw_probs : (F, C) float64
        Per-frame classifier output before smoothing.
    classes : tuple of str
        Class names.
    """

    t_s: np.ndarray
    probs: np.ndarray
    raw_probs: np.ndarray
    classes: tuple[str, ...]

    @property
    def labels(self) -> list[str]:
        """Most probable class per frame."""
        return [self.classes[i] for i in np.argmax(self.probs, axis=1)]

    def sidecar(self) -> list[dict]:
        """Per-frame ``{"label": ..., "p": {class: prob}}`` for the JSON sidecar."""
        out = []
        for row in self.probs:
            k = int(np.argmax(row))
            p = {c: round(float(v), 4) for c, v in zip(self.classes, row, strict=True)}
            out.append({"label": self.classes[k], "p": p})
        return out


def classify_intent(
    gyro: GyroLog,
    frame_t_s: np.ndarray,
    model: IntentModel | None = None,
    switch_per_s: float = 0.5,
) -> IntentTrack:
    """Operator intent per frame from a gyro log.

    Parameters
    ----------
    gyro : GyroLog
        Rates (and accel) in camera axes.
    frame_t_s : (F,) float64
        Frame times on the gyro's clock (``t_log = t_video + offset_s``).
    model : IntentModel, optional
        Classifier (the shipped weights by default).
    switch_per_s : float
        Stickiness of the temporal smoothing (see ``smooth_probabilities``).

    Returns
    -------
    IntentTrack
    """
    m = load_intent_model() if model is None else model
    t = np.atleast_1d(np.asarray(frame_t_s, dtype=np.float64))
    if t.size == 0 or not np.all(np.isfinite(t)):
        raise InputError("frame times must be a non-empty finite array", gyro.source)
    feats = intent_features(gyro.t_s, gyro.omega_rad_s, t, gyro.accel_m_s2)
    raw = m.predict_proba(feats)
    dt = float(np.median(np.diff(t))) if t.size > 1 else 1.0 / 30.0
    return IntentTrack(t, smooth_probabilities(raw, dt, switch_per_s), raw, m.classes)
