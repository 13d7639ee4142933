"""Train the intent classifier shipped as ``stabilize/intent/intent_weights.npz``.

Run ``python -m stabilize.train_intent [--out PATH] [--report JSON]``.

Data recipe (all seeded, so the weights are reproducible):

- Trajectories come from ``sensors.synthetic.camera_path_sequence``: each is 3-4 consecutive
  parts of random kinds (static, pan, tilt, walk, run, free; 4-8 s each) with smooth
  transitions, so the model also sees a kind entered from any other kind. (Adding the
  generator's perfectly still leads made the model call real walking and running logs
  "static" 25-60 % of the time, so they are left out.)
- Each trajectory is sampled by ``synthesize_gyro`` at a random rate of 100-1000 Hz with a
  white-noise density 0.5-4x the default MEMS part, a random turn-on bias of up to
  0.5 deg/s per axis, and an accelerometer in 70 % of logs (the rest have none, as many
  action-camera logs).
- Amplitudes are randomised beyond the generator's own draws by scaling the rates by
  0.5-2x, log-uniform (a calmer or rougher operator; a small-angle path scales linearly;
  0.5-4x made the real GoPro logs worse).
- Windows of ``WINDOW_S`` centred on random times at least 0.6 s from a part boundary, labelled
  with the part's kind; in pan and tilt parts only the sweep itself is pan/tilt, the hand
  holding still before and after it is static.
- Training seeds 0..N-1, held-out seeds 100000+; the held-out accuracy and confusion matrix are
  printed and written as JSON.

Model: standardised features -> 24 tanh units -> 6-way softmax, cross-entropy with L2, fitted by
scipy's L-BFGS with the analytic gradient.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from sensors.synthetic.gyro import DEFAULT_NOISE_RAD_S, synthesize_gyro
from sensors.synthetic.paths import LABELS, camera_path_sequence

from .intent import INTENT_CLASSES, WEIGHTS_PATH, IntentModel, intent_features

__all__ = ["make_dataset", "train_model", "evaluate", "main"]

_KINDS = ("static", "pan", "tilt", "walk", "run", "free")


def _class_of(label_name: str) -> int:
    return INTENT_CLASSES.index("static" if label_name == "still" else label_name)


def _labelled_spans(path, margin_s: float = 0.6) -> list[tuple[str, float, float]]:
    """(kind, lo, hi) spans of window centres with an unambiguous label.

    A pan or tilt part sweeps only between its smooth step's start and end; before and after it
    the hand just holds the camera, which is static intent (labelling it "pan" would teach the
    model that hand jitter means pan). Centres keep ``margin_s`` from every boundary.
    """
    spans = []
    for seg in path.spec.segments:
        cuts = [(seg.kind, seg.t0, seg.t1)]
        if seg.kind in ("pan", "tilt") and seg.steps:
            a, b = seg.steps[0].t0, seg.steps[0].t1
            cuts = [("static", seg.t0, a), (seg.kind, a, b), ("static", b, seg.t1)]
        for kind, t0, t1 in cuts:
            if t1 - t0 > 2 * margin_s + 0.2:
                spans.append((kind, t0 + margin_s, t1 - margin_s))
    return spans


def make_dataset(
    seeds: range, windows_per_part: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Features (M, D) and class indices (M,) from one trajectory per seed (module recipe)."""
    X, y = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        n_parts = int(rng.integers(3, 5))
        kinds = [str(rng.choice(_KINDS)) for _ in range(n_parts)]
        parts = [(k, float(rng.uniform(4.0, 8.0))) for k in kinds]
        path = camera_path_sequence(parts, seed=seed, rate_hz=100.0)
        rate = float(rng.uniform(100.0, 1000.0))
        bias = np.radians(rng.uniform(-0.5, 0.5, 3))
        gyro = synthesize_gyro(
            path, rate_hz=rate, noise_rad_s=DEFAULT_NOISE_RAD_S * rng.uniform(0.5, 4.0),
            bias_rad_s=bias, seed=seed + 7, accel=bool(rng.random() < 0.7),
        )
        scale = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
        omega = bias + (gyro.omega_rad_s - bias) * scale
        centres, labels = [], []
        for kind, lo, hi in _labelled_spans(path):
            centres.append(rng.uniform(lo, hi, windows_per_part))
            labels += [_class_of(kind)] * windows_per_part
        if not centres:
            continue
        X.append(intent_features(gyro.t_s, omega, np.concatenate(centres), gyro.accel_m_s2))
        y.append(np.array(labels))
    return np.concatenate(X), np.concatenate(y)


def _unpack(theta: np.ndarray, D: int, H: int, C: int):
    i = 0
    W1 = theta[i:i + D * H].reshape(D, H)
    i += D * H
    b1 = theta[i:i + H]
    i += H
    W2 = theta[i:i + H * C].reshape(H, C)
    i += H * C
    return W1, b1, W2, theta[i:i + C]


def train_model(X: np.ndarray, y: np.ndarray, hidden: int = 24, l2: float = 1e-3,
                seed: int = 0, maxiter: int = 800) -> IntentModel:
    """Fit the perceptron by L-BFGS on the mean cross-entropy plus ``l2 * |W|^2``."""
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    Z = (X - mean) / scale
    M, D = Z.shape
    C = len(INTENT_CLASSES)
    Y = np.eye(C)[y]
    rng = np.random.default_rng(seed)
    theta0 = np.concatenate([
        rng.normal(0, 1 / np.sqrt(D), D * hidden), np.zeros(hidden),
        rng.normal(0, 1 / np.sqrt(hidden), hidden * C), np.zeros(C),
    ])

    def loss_grad(theta):
        W1, b1, W2, b2 = _unpack(theta, D, hidden, C)
        h = np.tanh(Z @ W1 + b1)
        s = h @ W2 + b2
        s -= s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        loss = -np.sum(Y * logp) / M + l2 * (np.sum(W1**2) + np.sum(W2**2))
        g_s = (np.exp(logp) - Y) / M
        gW2 = h.T @ g_s + 2 * l2 * W2
        gb2 = g_s.sum(axis=0)
        g_h = (g_s @ W2.T) * (1 - h * h)
        gW1 = Z.T @ g_h + 2 * l2 * W1
        gb1 = g_h.sum(axis=0)
        return loss, np.concatenate([gW1.ravel(), gb1, gW2.ravel(), gb2])

    res = minimize(loss_grad, theta0, jac=True, method="L-BFGS-B",
                   options={"maxiter": maxiter})
    W1, b1, W2, b2 = _unpack(res.x, D, hidden, C)
    return IntentModel(mean, scale, W1.copy(), b1.copy(), W2.copy(), b2.copy(), INTENT_CLASSES)


def evaluate(model: IntentModel, X: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy and confusion matrix (rows: true class, columns: predicted)."""
    pred = np.argmax(model.predict_proba(X), axis=1)
    C = len(model.classes)
    conf = np.zeros((C, C), dtype=int)
    np.add.at(conf, (y, pred), 1)
    return {"accuracy": float(np.mean(pred == y)), "classes": list(model.classes),
            "confusion": conf.tolist(), "n": int(y.size)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(WEIGHTS_PATH))
    ap.add_argument("--report", default="bench/results/intent_training.json")
    ap.add_argument("--train-seeds", type=int, default=500)
    ap.add_argument("--test-seeds", type=int, default=150)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    Xtr, ytr = make_dataset(range(args.train_seeds))
    Xte, yte = make_dataset(range(100000, 100000 + args.test_seeds))
    t1 = time.perf_counter()
    model = train_model(Xtr, ytr)
    t2 = time.perf_counter()
    train = evaluate(model, Xtr, ytr)
    test = evaluate(model, Xte, yte)
    model.save(args.out)
    print(f"data {t1 - t0:.1f} s ({ytr.size} train / {yte.size} held-out windows), "
          f"fit {t2 - t1:.1f} s")
    print(f"train accuracy {train['accuracy']:.3f}, held-out accuracy {test['accuracy']:.3f}")
    print("confusion (rows true, columns predicted): " + " ".join(model.classes))
    for name, row in zip(model.classes, test["confusion"], strict=True):
        print(f"  {name:>6} " + " ".join(f"{v:5d}" for v in row))
    report = {"train": train, "held_out": test, "labels_source": list(LABELS),
              "train_seeds": args.train_seeds, "test_seeds": args.test_seeds,
              "weights": str(args.out)}
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
