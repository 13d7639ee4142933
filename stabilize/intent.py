"""Operator intent from the gyro: features, a small learned classifier, per-class filter policies.

The model looks at a window of gyro (and accelerometer, where present) centred on each frame and
says what the operator meant: hold still, pan, tilt, walk, run or move freely. Each class has a
filter policy (how strongly to smooth tilt, pan and roll), and the policies are blended by the
temporally smoothed class probabilities, so a pan keeps its yaw while vertical shake and roll are
rejected, a static shot locks, and a walk follows its heading but flattens the bob.

Axes follow DESIGN.md: camera x right, y down, z forward, so rotation about x is tilt (pitch),
about y is pan (yaw), about z is roll. Times are seconds.

The classifier is a one-hidden-layer perceptron evaluated in numpy; its weights and the feature
standardisation ship in ``intent_weights.npz`` (trained by ``python -m stabilize.train_intent``,
whose docstring holds the data recipe).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from sensors.errors import InputError
from sensors.quaternion import qconj, qexp, qlog, qmul
from sensors.types import GyroLog

from ._filters import gaussian_filter1d

__all__ = [
    "INTENT_CLASSES",
    "INTENT_POLICIES",
    "WINDOW_S",
    "FEATURE_RATE_HZ",
    "IntentModel",
    "IntentTrack",
    "intent_features",
    "load_intent_model",
    "classify_intent",
    "smooth_probabilities",
    "policy_sigmas",
    "smooth_per_axis",
    "WEIGHTS_PATH",
    "SMOOTHING_MODES",
    "filter_chain",
    "plot_intent",
]

INTENT_CLASSES = ("static", "pan", "tilt", "walk", "run", "free")

#: Gyro window seen by the classifier, centred on the frame (seconds).
WINDOW_S = 2.0
#: The window is box-averaged onto this rate before the spectrum (anti-aliased, rate-independent).
FEATURE_RATE_HZ = 64.0
#: Spectral bands (Hz) whose log energies are features, per axis.
GYRO_BANDS_HZ = ((0.4, 1.6), (1.6, 4.1), (4.1, 8.1), (8.1, 15.1), (15.1, 32.1))
ACCEL_BANDS_HZ = ((0.4, 1.6), (1.6, 4.1), (4.1, 8.1), (8.1, 15.1))

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

WEIGHTS_PATH = Path(__file__).with_name("intent_weights.npz")

_EPS_RATE = 1e-3  # rad/s floor inside logs: below gyro noise, keeps features finite
_EPS_ENERGY = 1e-7


def _window_rates(t_s: np.ndarray, values: np.ndarray, centres_s: np.ndarray) -> np.ndarray:
    """Box-averaged samples (F, n, C) of ``values`` over windows centred on ``centres_s``.

    Each output sample is the mean of the signal over its bin (difference of the trapezoid
    integral at the bin edges), which anti-aliases any input rate down to ``FEATURE_RATE_HZ``.
    Windows are shifted inside the log near its ends rather than padded with zeros, which would
    look like stillness.
    """
    n = int(round(WINDOW_S * FEATURE_RATE_HZ))
    dt = 1.0 / FEATURE_RATE_HZ
    half = 0.5 * WINDOW_S
    lo, hi = t_s[0] + half, t_s[-1] - half
    c = np.clip(centres_s, lo, hi) if hi > lo else np.full_like(centres_s, 0.5 * (t_s[0] + t_s[-1]))
    edges = (c[:, None] - half) + dt * np.arange(n + 1)[None, :]
    cum = np.concatenate(
        [np.zeros((1, values.shape[1])),
         np.cumsum(0.5 * (values[1:] + values[:-1]) * np.diff(t_s)[:, None], axis=0)]
    )
    out = np.empty((c.size, n, values.shape[1]))
    for a in range(values.shape[1]):
        ce = np.interp(edges, t_s, cum[:, a])
        out[:, :, a] = np.diff(ce, axis=1) / dt
    return out


def _band_log_energy(x: np.ndarray, bands: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Log band energies (F, C, B) of zero-mean windows x (F, n, C)."""
    n = x.shape[1]
    spec = np.abs(np.fft.rfft(x, axis=1)) ** 2 / (n * n)
    freqs = np.fft.rfftfreq(n, 1.0 / FEATURE_RATE_HZ)
    cols = [spec[:, (freqs >= lo) & (freqs < hi), :].sum(axis=1) for lo, hi in bands]
    return np.log(np.stack(cols, axis=-1) + _EPS_ENERGY)


def intent_features(
    t_s: np.ndarray,
    omega_rad_s: np.ndarray,
    centres_s: np.ndarray,
    accel_m_s2: np.ndarray | None = None,
) -> np.ndarray:
    """Feature vectors for the intent classifier, one per window centre.

    Parameters
    ----------
    t_s : (N,) float64
        Gyro sample times, seconds, strictly increasing.
    omega_rad_s : (N, 3) float64
        Body rates in camera axes, rad/s.
    centres_s : (F,) float64
        Window centres (usually frame times on the gyro's clock).
    accel_m_s2 : (N, 3) float64, optional
        Accelerometer at the same times; only its magnitude is used (orientation-free).

    Returns
    -------
    (F, D) float64 features: per axis log |mean rate|, log std, sign consistency and log band
    energies; the share of the mean rate on the pan and tilt axes; an accel-present flag and
    log band energies of the accel magnitude (zeros without accel).
    """
    t = np.asarray(t_s, dtype=np.float64)
    w = np.asarray(omega_rad_s, dtype=np.float64)
    c = np.atleast_1d(np.asarray(centres_s, dtype=np.float64))
    x = _window_rates(t, w, c)  # (F, n, 3)
    mean = x.mean(axis=1)  # (F, 3)
    dev = x - mean[:, None, :]
    std = dev.std(axis=1)
    consistency = np.abs(mean) / (np.abs(x).mean(axis=1) + 1e-9)
    bands = _band_log_energy(dev, GYRO_BANDS_HZ).reshape(c.size, -1)
    mnorm = np.linalg.norm(mean, axis=1) + _EPS_RATE
    share = np.abs(mean[:, :2]) / mnorm[:, None]
    feats = [np.log(np.abs(mean) + _EPS_RATE), np.log(std + _EPS_RATE), consistency, bands, share]
    if accel_m_s2 is not None:
        a = np.linalg.norm(np.asarray(accel_m_s2, dtype=np.float64), axis=1, keepdims=True)
        xa = _window_rates(t, a, c)
        xa = xa - xa.mean(axis=1, keepdims=True)
        feats += [np.ones((c.size, 1)), _band_log_energy(xa, ACCEL_BANDS_HZ).reshape(c.size, -1)]
    else:
        feats += [np.zeros((c.size, 1 + len(ACCEL_BANDS_HZ)))]
    return np.concatenate(feats, axis=1)


#: Feature count (3 axes x (3 stats + bands) + 2 shares + 1 flag + accel bands).
N_FEATURES = 3 * (3 + len(GYRO_BANDS_HZ)) + 2 + 1 + len(ACCEL_BANDS_HZ)


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


def _edge_taper(x: np.ndarray) -> np.ndarray:
    """Weight factor over the window, ``x = |dt| / reach``: 1 in the inner two thirds, a cos^2
    fall to 0 at the edge. A Gaussian simply cut at a lookahead limit shorter than its 3 sigma
    lets neighbours enter and leave the window at a large weight (exp(-0.5) when cut at one
    sigma): in effect a boxcar, whose sidelobes pass hand jitter into a locked axis."""
    inner = 2.0 / 3.0
    fall = np.cos(0.5 * np.pi * np.clip((x - inner) / (1.0 - inner), 0.0, 1.0)) ** 2
    return np.where(x <= 1.0 + 1e-9, fall, 0.0)


def smooth_per_axis(
    t_s: np.ndarray, quat: np.ndarray, sigma_s: np.ndarray, max_half_window_s: float = 4.0
) -> np.ndarray:
    """Zero-phase Gaussian smoothing of an orientation track with a sigma per frame and per axis.

    For each frame ``i`` the neighbouring orientations are expressed as rotation vectors in frame
    ``i``'s own camera axes, ``v_j = log(q_i^-1 q_j)``; each axis is fitted with a Gaussian-
    weighted local line in time (sigma of that frame and axis) and the fit's value at ``t_i``
    gives the virtual orientation ``q_i exp(v)``. In the interior the local line equals a plain
    Gaussian mean (symmetric weights); near the clip ends it follows a pan instead of lagging.
    No Euler angles are involved, and the axes are the camera's tilt (x), pan (y), roll (z).

    Parameters
    ----------
    t_s : (F,) float64
        Frame times, seconds.
    quat : (F, 4) float64
        Real ``R_world_from_cam`` per frame, scalar-last, sign-continuous.
    sigma_s : (F, 3) or (3,) float64
        Gaussian sigma per frame and axis, seconds (> 0).
    max_half_window_s : float
        The window ends at ``min(3 sigma, max_half_window_s)`` (bounded lookahead); the weights
        taper to zero over its outer third.

    Returns
    -------
    (F, 4) float64 virtual quaternions.
    """
    t = np.asarray(t_s, dtype=np.float64)
    q = np.asarray(quat, dtype=np.float64)
    F = t.size
    sig = np.broadcast_to(np.asarray(sigma_s, dtype=np.float64), (F, 3))
    if q.shape != (F, 4):
        raise InputError(f"orientations have shape {q.shape}, expected ({F}, 4)")
    if np.any(~np.isfinite(sig)) or np.any(sig <= 0):
        raise InputError("smoothing sigmas must be finite and positive")
    if F < 2:
        return q.copy()
    dt = float(np.median(np.diff(t)))
    reach = np.minimum(3.0 * sig, max_half_window_s)  # (F, 3)
    H = int(np.ceil(reach.max() / dt))
    idx = np.arange(F)
    base = q
    # Two passes: the second re-expresses the neighbours around the first estimate, so the
    # large pan angle of a wide window no longer leaks (through the non-commuting composition
    # with the shake) into the other axes.
    for _ in range(2):
        base_inv = qconj(base)
        S0 = np.zeros((F, 3))
        S1 = np.zeros((F, 3))
        S2 = np.zeros((F, 3))
        Sv = np.zeros((F, 3))
        Stv = np.zeros((F, 3))
        for k in range(-H, H + 1):
            j = idx + k
            ok = (j >= 0) & (j < F)
            jj = np.clip(j, 0, F - 1)
            d = (t[jj] - t)[:, None]
            wgt = np.exp(-0.5 * (d / sig) ** 2) * _edge_taper(np.abs(d) / reach) * ok[:, None]
            v = qlog(qmul(base_inv, q[jj]))
            S0 += wgt
            S1 += wgt * d
            S2 += wgt * d * d
            Sv += wgt * v
            Stv += wgt * d * v
        det = S0 * S2 - S1 * S1
        const = Sv / S0
        good = det > 1e-9 * np.maximum(S0 * S2, 1e-30)
        lin = np.where(good, (S2 * Sv - S1 * Stv) / np.where(good, det, 1.0), const)
        base = qmul(base, qexp(lin))
    return base


def plot_intent(path: str | Path, gyro: GyroLog, track: IntentTrack, title: str = "") -> None:
    """Debug plot: gyro rates (top) and smoothed class probabilities (bottom) over time.

    Written atomically to ``path`` (PNG); used by the debug folder and ``bench/intent.py`` to
    check the classifier on real logs by eye.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sensors.atomic import atomic_output

    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    for k, name in enumerate(("tilt (x)", "pan (y)", "roll (z)")):
        ax0.plot(gyro.t_s, gyro.omega_rad_s[:, k], lw=0.6, label=name)
    ax0.set_ylabel("rate (rad/s)")
    ax0.legend(loc="upper right", fontsize=8)
    ax0.set_title(title or "intent")
    ax1.stackplot(track.t_s, track.probs.T, labels=track.classes)
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("P(intent)")
    ax1.set_xlabel("time on the log clock (s)")
    ax1.legend(loc="upper right", fontsize=8, ncol=len(track.classes))
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


#: Choices of ``--smoothing``: the motion filter that builds the virtual path.
SMOOTHING_MODES = ("intent", "gaussian", "fixed", "none")


def filter_chain(smoothing: str = "intent", horizon_lock: bool = False,
                 blur_mask: bool = False) -> tuple[str, ...]:
    """Filter-chain names (``StabilizeParams.filters``) for the CLI's smoothing options.

    The smoother first, then horizon lock, then blur masking, then ``bad_region`` so the result
    stays inside the source frame at the max zoom (``none`` keeps the real path: nothing to
    bend). The zoom stage always runs last (``stabilize.filtering.chain_names``).
    """
    if smoothing not in SMOOTHING_MODES:
        raise InputError(f"unknown smoothing {smoothing!r}; valid: " + ", ".join(SMOOTHING_MODES))
    if smoothing == "none":
        return ("none", "horizon") if horizon_lock else ("none",)
    chain = [smoothing]
    if horizon_lock:
        chain.append("horizon")
    if blur_mask:
        chain.append("blur")
    chain.append("bad_region")
    return tuple(chain)


# --- filter-chain entry (stabilize.filtering registry) ---

from .filtering import Filter, FilterContext, register_filter  # noqa: E402

#: Default Gaussian sigma of ``StabilizeParams``; the policies are scaled by window_s / this.
_REFERENCE_WINDOW_S = 0.6


@register_filter("intent")
class IntentSmoothing(Filter):
    """Intent-aware smoothing: per-axis Gaussian sigmas from the classified operator intent.

    Needs the gyro in the context (``ctx.gyro``). The class policies (``INTENT_POLICIES``) are
    scaled by ``params.window_s / 0.6`` so the smoothness knob still works; ``params.strength``
    slerps from the input path to the smoothed one. Per-frame ``intent`` (label and
    probabilities) goes to the sidecar.
    """

    max_half_window_s = 3.0
    #: sigma of the easing between policies, seconds (shorter eases make a lock that lets go
    #: of a starting pan kink visibly: 0.5 s doubled the residual motion at pan onsets)
    ease_s = 1.0

    def reach_s(self) -> float:
        # classifier window + HMM memory (~2 / switch rate, damped) + the smoothing window
        return 0.5 * WINDOW_S + 1.5 + 3.0 * self.ease_s + self.max_half_window_s

    def apply(self, ctx: FilterContext) -> FilterContext:
        if ctx.gyro is None:
            raise InputError("the intent filter needs a gyro log; use --smoothing gaussian")
        track = classify_intent(ctx.gyro, ctx.t_s)
        scale = self.params.window_s / _REFERENCE_WINDOW_S
        sig = policy_sigmas(track.probs, track.classes, strength=scale,
                            ease_frames=self.ease_s * ctx.fps)
        sm = smooth_per_axis(ctx.t_s, ctx.virtual_quat, sig, self.max_half_window_s)
        s = self.params.strength
        if s < 1.0:
            from sensors.quaternion import qslerp

            sm = qslerp(ctx.virtual_quat, sm, np.full(len(ctx), s))
        side = np.empty(len(ctx), dtype=object)
        side[:] = track.sidecar()
        return ctx.with_(virtual_quat=sm).with_extra("intent", side)
