"""The intent classifier: feature standardisation plus a one-hidden-layer tanh perceptron.

Evaluated in numpy; its weights and the feature standardisation ship beside this module as
``intent_weights.npz`` (package data, trained by ``python -m stabilize.train_intent``, whose
docstring holds the data recipe).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from sensors.errors import InputError

from .features import FEATURE_RATE_HZ, N_FEATURES, WINDOW_S

__all__ = ["INTENT_CLASSES", "WEIGHTS_PATH", "IntentModel", "load_intent_model"]

#: Intent classes in the classifier's output order.
INTENT_CLASSES = ("static", "pan", "tilt", "walk", "run", "free")

#: The shipped weights (package data).
WEIGHTS_PATH = Path(__file__).with_name("intent_weights.npz")


@dataclass(frozen=True, eq=False)
class IntentModel:
    """Standardisation plus a tanh perceptron with a softmax output.

    Parameters
    ----------
    mean, scale : (D,) float64
        Feature standardisation ``z = (f - mean) / scale``.
    W1 : (D, H), b1 : (H,), W2 : (H, C), b2 : (C,) float64
        Layer weights.
    classes : tuple of str
        Class names in output order.
    """

    mean: np.ndarray
    scale: np.ndarray
    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    classes: tuple[str, ...] = INTENT_CLASSES

    def logits(self, features: np.ndarray) -> np.ndarray:
        """Pre-softmax scores (F, C)."""
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        return np.tanh(z @ self.W1 + self.b1) @ self.W2 + self.b2

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (F, C), rows summing to one."""
        s = self.logits(features)
        s = s - s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, path: str | Path) -> None:
        """Write the weights as a small ``.npz`` (float32 is plenty for inference)."""
        np.savez_compressed(
            path, mean=self.mean, scale=self.scale, W1=self.W1.astype(np.float32),
            b1=self.b1.astype(np.float32), W2=self.W2.astype(np.float32),
            b2=self.b2.astype(np.float32), classes=np.array(self.classes),
            window_s=WINDOW_S, feature_rate_hz=FEATURE_RATE_HZ,
        )


def _load(path: str | Path) -> IntentModel:
    try:
        with np.load(path) as z:
            d = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read intent weights ({exc})", str(path)) from exc
    need = ("mean", "scale", "W1", "b1", "W2", "b2", "classes", "window_s", "feature_rate_hz")
    missing = [k for k in need if k not in d]
    if missing:
        raise InputError("intent weights lack " + ", ".join(missing), str(path))
    if float(d["window_s"]) != WINDOW_S or float(d["feature_rate_hz"]) != FEATURE_RATE_HZ:
        raise InputError("intent weights were trained with another window or feature rate; "
                         "retrain with python -m stabilize.train_intent", str(path))
    if d["mean"].shape != (N_FEATURES,) or d["W1"].shape[0] != N_FEATURES:
        raise InputError(f"intent weights expect {d['W1'].shape[0]} features, code makes "
                         f"{N_FEATURES}; retrain", str(path))
    f64 = {k: np.asarray(d[k], dtype=np.float64) for k in ("mean", "scale", "W1", "b1", "W2", "b2")}
    return IntentModel(classes=tuple(str(c) for c in d["classes"]), **f64)


@lru_cache(maxsize=4)
def _load_cached(path: str) -> IntentModel:
    return _load(path)


def load_intent_model(path: str | Path | None = None) -> IntentModel:
    """The intent classifier from ``path`` (the shipped ``intent_weights.npz`` by default)."""
    p = WEIGHTS_PATH if path is None else Path(path)
    if not p.is_file():
        raise InputError("intent weights not found; run python -m stabilize.train_intent", str(p))
    return _load_cached(str(p.resolve()))
