"""Operator intent from the gyro: features, a small learned classifier, per-class filter policies.

The model looks at a window of gyro (and accelerometer, where present) centred on each frame and
says what the operator meant: hold still, pan, tilt, walk, run or move freely. Each class has a
filter policy (how strongly to smooth tilt, pan and roll), and the policies are blended by the
temporally smoothed class probabilities, so a pan keeps its yaw while vertical shake and roll are
rejected, a static shot locks, and a walk follows its heading but flattens the bob.

Axes follow docs/architecture.md: camera x right, y down, z forward, so rotation about x is tilt
(pitch), about y is pan (yaw), about z is roll. Times are seconds.

Modules: ``features`` (what the classifier sees), ``model`` (the perceptron and its shipped
weights, ``intent_weights.npz``), ``classify`` (per-frame intent, HMM-smoothed), ``policy``
(per-class sigmas, blended), ``smoother`` (per-axis smoothing of the path), ``plot``. The
filter-chain entry that puts them together is ``stabilize.filters.intent``.

Examples
--------
>>> import numpy as np
>>> from sensors.synthetic import camera_path, synthesize_gyro
>>> from stabilize.intent import classify_intent
>>> gyro = synthesize_gyro(camera_path("walk", 6.0, seed=1), seed=1)
>>> track = classify_intent(gyro, np.arange(1.0, 5.0, 1 / 30))
>>> track.probs.shape, track.labels[60]
((120, 6), 'walk')
"""

from __future__ import annotations

from .classify import IntentTrack, classify_intent, smooth_probabilities
from .features import FEATURE_RATE_HZ, N_FEATURES, WINDOW_S, intent_features
from .model import INTENT_CLASSES, WEIGHTS_PATH, IntentModel, load_intent_model
from .plot import plot_intent
from .policy import INTENT_POLICIES, policy_sigmas
from .smoother import smooth_per_axis

__all__ = [
    "INTENT_CLASSES",
    "INTENT_POLICIES",
    "WINDOW_S",
    "FEATURE_RATE_HZ",
    "N_FEATURES",
    "IntentModel",
    "IntentTrack",
    "intent_features",
    "load_intent_model",
    "classify_intent",
    "smooth_probabilities",
    "policy_sigmas",
    "smooth_per_axis",
    "WEIGHTS_PATH",
    "plot_intent",
]
