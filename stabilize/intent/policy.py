"""Per-class filter policies (smoothing sigma per camera axis), blended by class probability."""

from __future__ import annotations

import numpy as np

from sensors.errors import InputError

from ..signal1d import gaussian_filter1d
from .model import INTENT_CLASSES

__all__ = ["INTENT_POLICIES", "policy_sigmas"]

#: Gaussian smoothing sigma in seconds per class for (tilt, pan, roll), i.e. rotation about the
#: camera's x, y and z axes. Long sigmas lock an axis; short ones follow intended motion. A
#: constant-rate pan survives any sigma (a centred Gaussian passes linear motion), so the pan
#: axis of a pan gets a moderate sigma that follows speed changes but drops hand jitter.
INTENT_POLICIES: dict[str, tuple[float, float, float]] = {
    "static": (2.0, 2.0, 2.0),
    "pan": (3.0, 0.8, 4.0),
    "tilt": (0.8, 3.0, 4.0),
    "walk": (1.5, 1.0, 2.5),
    "run": (1.5, 1.0, 2.5),
    "free": (0.5, 0.5, 1.0),
}


def policy_sigmas(
    probs: np.ndarray,
    classes: tuple[str, ...] = INTENT_CLASSES,
    policies: dict[str, tuple[float, float, float]] | None = None,
    strength: float = 1.0,
    ease_frames: float = 0.0,
) -> np.ndarray:
    """Per-frame, per-axis smoothing sigma (F, 3) seconds blended from the class policies.

    The blend is geometric (probability-weighted mean of log sigma), so a 50/50 mix of a 1 s and
    a 4 s policy gives 2 s, not 2.5 s. ``strength`` scales every sigma. ``ease_frames`` > 0
    Gaussian-smooths log sigma over time: a sigma that jumps between neighbouring frames makes
    the smoothed path kink (a lock letting go of a pan at once), so policies ease in.
    """
    pol = INTENT_POLICIES if policies is None else policies
    try:
        logs = np.log(np.array([pol[c] for c in classes], dtype=np.float64))  # (C, 3)
    except KeyError as exc:
        raise InputError(f"no filter policy for intent class {exc}") from exc
    p = np.asarray(probs, dtype=np.float64)
    ls = p @ logs / p.sum(axis=1, keepdims=True)
    if ease_frames > 0 and ls.shape[0] > 1:
        ls = gaussian_filter1d(ls, sigma=ease_frames, axis=0)
    return strength * np.exp(ls)
