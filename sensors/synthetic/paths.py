"""Ground-truth hand-held camera paths with intent labels (docs/architecture.md "Rotations").

A path is three Euler angles ``R_world_from_cam = Ry(yaw) Rx(pitch) Rz(roll)`` (world y down, so
yaw pans about the vertical), each a sum of analytic terms: sinusoids (tremor, gait, band-limited
wander as a sum of random sinusoids) and quintic smooth steps (pans and tilts). Every term has
an exact time derivative, so the body rate is exact:
``omega = Rz^T Rx^T (yaw' e_y) + Rz^T (pitch' e_x) + roll' e_z``.
Gyro integrated back therefore matches the orientation to the integrator's accuracy, not to a
finite-difference error.

Kinds and their physics (amplitudes, frequencies and phases drawn from the seed):

- ``still``: no motion at all (the camera at rest before recording; used for bias estimation).
- ``static``: a standing hand: physiological tremor 8-12 Hz (~0.02-0.05 deg) + slow drift.
- ``walk``: step frequency 1.7-2.1 Hz: pitch bob at the step rate, roll/yaw sway at half of it.
- ``run``: step frequency 2.6-3.0 Hz, ~2x the walk amplitude, sharper (harmonics 2f, 3f).
  Image shake above ~1 Hz at 960 px width and 80 deg: run 9-11 px RMS, walk 3.5-5.5 px.
- ``pan``: a smooth 40-120 deg yaw sweep with hand jitter.
- ``tilt``: a smooth 15-40 deg pitch sweep with hand jitter.
- ``free``: random smooth motion on all axes (0.05-0.8 Hz, several degrees) with tremor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import InputError
from ..quaternion import qnormalize
from ..types import Orientation

__all__ = ["KINDS", "LABELS", "TruePath", "camera_path", "camera_path_sequence"]

KINDS = ("static", "walk", "run", "pan", "tilt", "free")
#: Label strings; ``TruePath.labels`` holds indices into this tuple.
LABELS = ("still",) + KINDS

_DEG = np.pi / 180.0


@dataclass(frozen=True)
class _Sines:
    """``sum A sin(2 pi f t + phi)`` on one axis, multiplied by a window."""

    axis: int
    amp: np.ndarray
    freq: np.ndarray
    phase: np.ndarray


@dataclass(frozen=True)
class _Step:
    """A quintic smooth step of ``total`` radians on one axis from ``t0`` to ``t1`` (persists)."""

    axis: int
    total: float
    t0: float
    t1: float


@dataclass(frozen=True)
class _Segment:
    kind: str
    t0: float
    t1: float
    sines: tuple[_Sines, ...]
    steps: tuple[_Step, ...]
    bob_m: float
    bob_hz: float


def _smoothstep(t: np.ndarray, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """Quintic 0 -> 1 step and its derivative (C2 continuous)."""
    span = max(t1 - t0, 1e-9)
    x = np.clip((t - t0) / span, 0.0, 1.0)
    s = x**3 * (10 - 15 * x + 6 * x * x)
    ds = 30 * x**2 * (1 - x) ** 2 / span
    return s, ds


def _band(rng: np.random.Generator, axis: int, lo_hz: float, hi_hz: float, rms_rad: float,
          n: int = 6) -> _Sines:
    """Band-limited random wander: ``n`` sinusoids with random frequencies in a band."""
    freq = rng.uniform(lo_hz, hi_hz, n)
    w = rng.uniform(0.5, 1.0, n)
    amp = w / np.sqrt(np.sum(w**2) / 2) * rms_rad
    return _Sines(axis, amp, freq, rng.uniform(0, 2 * np.pi, n))


def _tone(rng: np.random.Generator, axis: int, f_hz: float, amp_rad: float,
          harmonics: Sequence[float] = ()) -> _Sines:
    """A periodic gait term: fundamental plus relative harmonic amplitudes, slight detune."""
    f = f_hz * rng.uniform(0.99, 1.01)
    freqs = [f] + [f * (k + 2) for k in range(len(harmonics))]
    amps = [amp_rad] + [amp_rad * h for h in harmonics]
    return _Sines(axis, np.array(amps), np.array(freqs), rng.uniform(0, 2 * np.pi, len(freqs)))


_YAW, _PITCH, _ROLL = 0, 1, 2


def _tremor(rng: np.random.Generator, scale: float = 1.0) -> list[_Sines]:
    return [_band(rng, ax, 8.0, 12.0, scale * rng.uniform(0.015, 0.035) * _DEG, n=5)
            for ax in (_YAW, _PITCH, _ROLL)]


def _segment(kind: str, t0: float, t1: float, rng: np.random.Generator) -> _Segment:
    sines: list[_Sines] = []
    steps: list[_Step] = []
    bob_m, bob_hz = 0.0, 1.0
    dur = t1 - t0
    if kind == "still":
        pass
    elif kind == "static":
        sines += _tremor(rng)
        sines += [_band(rng, ax, 0.1, 0.6, rng.uniform(0.05, 0.15) * _DEG)
                  for ax in (_YAW, _PITCH, _ROLL)]
    elif kind in ("walk", "run"):
        walk = kind == "walk"
        f = rng.uniform(1.7, 2.1) if walk else rng.uniform(2.6, 3.0)
        g = 1.0 if walk else rng.uniform(1.8, 2.4)
        harm = (0.15, 0.05) if walk else (0.35, 0.2)
        sines.append(_tone(rng, _PITCH, f, g * rng.uniform(0.3, 0.55) * _DEG, harm))
        sines.append(_tone(rng, _ROLL, f / 2, g * rng.uniform(0.3, 0.7) * _DEG, harm))
        sines.append(_tone(rng, _YAW, f / 2, g * rng.uniform(0.2, 0.5) * _DEG, harm))
        sines += _tremor(rng)
        sines += [_band(rng, ax, 0.1, 0.8, rng.uniform(0.2, 0.6) * _DEG)
                  for ax in (_YAW, _PITCH, _ROLL)]
        bob_m, bob_hz = g * rng.uniform(0.02, 0.04), f
    elif kind in ("pan", "tilt"):
        pan = kind == "pan"
        total = (rng.uniform(40, 120) if pan else rng.uniform(15, 40)) * _DEG
        total *= rng.choice([-1.0, 1.0])
        a = t0 + rng.uniform(0.0, 0.15) * dur
        b = t1 - rng.uniform(0.0, 0.15) * dur
        steps.append(_Step(_YAW if pan else _PITCH, float(total), float(a), float(b)))
        sines += _tremor(rng)
        sines += [_band(rng, ax, 0.5, 3.0, rng.uniform(0.08, 0.2) * _DEG)
                  for ax in (_YAW, _PITCH, _ROLL)]
    elif kind == "free":
        sines += _tremor(rng)
        for ax, lo, hi in ((_YAW, 4, 15), (_PITCH, 2, 8), (_ROLL, 1, 4)):
            sines.append(_band(rng, ax, 0.05, 0.8, rng.uniform(lo, hi) * _DEG))
    else:
        raise InputError(f"unknown camera path kind {kind!r}; valid: " + ", ".join(KINDS))
    return _Segment(kind, t0, t1, tuple(sines), tuple(steps), bob_m, bob_hz)


@dataclass(frozen=True)
class _PathSpec:
    segments: tuple[_Segment, ...]
    transition_s: float
    yaw0: float
    pitch0: float

    def angles(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Euler angles (3, N), their rates (3, N) and vertical world acceleration (N,)."""
        ang = np.zeros((3, t.size))
        rate = np.zeros((3, t.size))
        acc = np.zeros(t.size)
        ang[_YAW] += self.yaw0
        ang[_PITCH] += self.pitch0
        n = len(self.segments)
        for k, seg in enumerate(self.segments):
            # Partition of unity: each segment's oscillations fade in and out over the
            # transition; the first and last extend to +-infinity.
            w = np.ones_like(t)
            dw = np.zeros_like(t)
            if k > 0:
                a, b = self._fade(k)
                s, ds = _smoothstep(t, a, b)
                w, dw = s, ds
            if k < n - 1:
                a, b = self._fade(k + 1)
                s, ds = _smoothstep(t, a, b)
                w, dw = w * (1 - s), dw * (1 - s) - w * ds
            active = w > 0
            if not np.any(active):
                continue
            ta = t[active]
            for sn in seg.sines:
                arg = 2 * np.pi * sn.freq[None, :] * ta[:, None] + sn.phase[None, :]
                v = np.sin(arg) @ sn.amp
                dv = np.cos(arg) @ (sn.amp * 2 * np.pi * sn.freq)
                ang[sn.axis, active] += w[active] * v
                rate[sn.axis, active] += dw[active] * v + w[active] * dv
            if seg.bob_m:
                om = 2 * np.pi * seg.bob_hz
                acc[active] += w[active] * -seg.bob_m * om * om * np.sin(om * ta)
            for st in seg.steps:
                s, ds = _smoothstep(t, st.t0, st.t1)
                ang[st.axis] += st.total * s
                rate[st.axis] += st.total * ds
        return ang, rate, acc

    def _fade(self, k: int) -> tuple[float, float]:
        """Cross-fade window into segment ``k``: centred on its start, but a still lead stays
        exactly still (the fade starts when it ends) so bias estimation sees no motion."""
        t0 = self.segments[k].t0
        if self.segments[k - 1].kind == "still":
            return t0, t0 + self.transition_s
        return t0 - 0.5 * self.transition_s, t0 + 0.5 * self.transition_s

    def labels(self, t: np.ndarray) -> np.ndarray:
        lab = np.zeros(t.size, dtype=np.int8)
        for seg in self.segments:
            lab[t >= seg.t0] = LABELS.index(seg.kind)
        return lab

    def evaluate(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Quaternions (N, 4), body rates (N, 3) rad/s and world acceleration (N, 3) m/s^2."""
        t = np.asarray(t_s, dtype=np.float64).ravel()
        ang, rate, acc = self.angles(t)
        quat = Rotation.from_euler("YXZ", ang.T).as_quat()
        cp, sp = np.cos(ang[_PITCH]), np.sin(ang[_PITCH])
        cr, sr = np.cos(ang[_ROLL]), np.sin(ang[_ROLL])
        dy, dp, dr = rate[_YAW], rate[_PITCH], rate[_ROLL]
        # omega = Rz(r)^T [Rx(p)^T (yaw' e_y) + pitch' e_x] + roll' e_z
        # Rx(p)^T e_y = (0, cos p, -sin p)
        vx = dp
        vy = dy * cp
        vz = -dy * sp
        omega = np.stack([cr * vx + sr * vy, -sr * vx + cr * vy, vz + dr], axis=-1)
        accel = np.zeros((t.size, 3))
        accel[:, 1] = acc
        return quat, omega, accel


@dataclass(frozen=True, eq=False)
class TruePath:
    """A true camera orientation track sampled densely, with exact body rates and intent labels.

    Parameters
    ----------
    t_s : (N,) float64
        Sample times, seconds (the path starts at 0).
    orientation : Orientation
        True ``R_world_from_cam`` at ``t_s``.
    omega_rad_s : (N, 3) float64
        Exact body angular velocity at ``t_s``, rad/s, camera axes.
    labels : (N,) int8
        Intent label per sample, an index into ``LABELS``.
    kind : str
        The path kind (``"sequence"`` for a sequence of kinds).
    segments : tuple of (kind, t0_s, t1_s)
        The labelled segments.
    """

    t_s: np.ndarray
    orientation: Orientation
    omega_rad_s: np.ndarray
    labels: np.ndarray
    kind: str
    segments: tuple
    spec: _PathSpec = field(repr=False)

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0])

    @property
    def label_names(self) -> np.ndarray:
        """Label strings per sample."""
        return np.array(LABELS)[self.labels]

    def evaluate(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact quaternions (..., 4) and body rates (..., 3) at arbitrary times."""
        t = np.asarray(t_s, dtype=np.float64)
        q, w, _ = self.spec.evaluate(t)
        return q.reshape(t.shape + (4,)), w.reshape(t.shape + (3,))

    def matrices_at(self, t_s: np.ndarray) -> np.ndarray:
        """Exact ``R_world_from_cam`` (..., 3, 3) at arbitrary times."""
        t = np.asarray(t_s, dtype=np.float64)
        q, _, _ = self.spec.evaluate(t)
        return Rotation.from_quat(q).as_matrix().reshape(t.shape + (3, 3))

    def specific_force_at(self, t_s: np.ndarray) -> np.ndarray:
        """Accelerometer reading (N, 3) m/s^2 in camera axes: ``R^T (a - g)``, g along +y."""
        t = np.asarray(t_s, dtype=np.float64).ravel()
        q, _, a = self.spec.evaluate(t)
        f_world = a - np.array([0.0, 9.80665, 0.0])
        return Rotation.from_quat(q).inv().apply(f_world)


def camera_path_sequence(
    parts: Sequence[tuple[str, float]],
    seed: int,
    rate_hz: float = 1000.0,
    transition_s: float = 0.5,
    still_lead_s: float = 0.0,
) -> TruePath:
    """A path made of consecutive kinds with smooth transitions, labelled per sample.

    Parameters
    ----------
    parts : sequence of (kind, duration_s)
        Kinds from ``KINDS`` (or ``"still"``) and their durations in seconds.
    seed : int
        Seed of every random draw (amplitudes, frequencies, phases, heading).
    rate_hz : float
        Sample rate of the dense track.
    transition_s : float
        Cross-fade time between the oscillations of consecutive parts.
    still_lead_s : float
        A motionless stretch prepended to the path (a logger runs before recording starts).

    Returns
    -------
    TruePath from t = 0 to the sum of durations (plus the lead).
    """
    if not parts:
        raise InputError("a camera path needs at least one part")
    if rate_hz <= 0 or not np.isfinite(rate_hz):
        raise InputError(f"path rate must be positive, got {rate_hz}")
    if still_lead_s < 0:
        raise InputError(f"still lead must be >= 0 s, got {still_lead_s}")
    rng = np.random.default_rng(seed)
    todo = list(parts)
    if still_lead_s > 0:
        todo.insert(0, ("still", float(still_lead_s)))
    segs = []
    t = 0.0
    for kind, dur in todo:
        if kind not in LABELS:
            raise InputError(f"unknown camera path kind {kind!r}; valid: " + ", ".join(KINDS))
        if not dur > 0:
            raise InputError(f"duration of {kind!r} must be positive, got {dur}")
        segs.append(_segment(kind, t, t + float(dur), rng))
        t += float(dur)
    spec = _PathSpec(tuple(segs), float(transition_s), float(rng.uniform(-np.pi, np.pi)),
                     float(rng.uniform(-10, 10) * _DEG))
    n = int(round(t * rate_hz)) + 1
    ts = np.arange(n) / rate_hz
    quat, omega, _ = spec.evaluate(ts)
    kind = todo[-1][0] if len(parts) == 1 else "sequence"
    return TruePath(
        t_s=ts,
        orientation=Orientation(ts, _continuous(quat)),
        omega_rad_s=omega,
        labels=spec.labels(ts),
        kind=kind,
        segments=tuple((s.kind, s.t0, s.t1) for s in segs),
        spec=spec,
    )


def camera_path(
    kind: str, duration_s: float, seed: int, rate_hz: float = 1000.0, still_lead_s: float = 0.0,
) -> TruePath:
    """A true hand-held camera path of one kind (see the module docstring for the physics).

    Parameters
    ----------
    kind : str
        One of ``KINDS``.
    duration_s : float
        Duration of the motion, seconds (after the still lead).
    seed : int
        Random seed.
    rate_hz : float
        Sample rate of the dense track.
    still_lead_s : float
        Motionless time before the motion starts.
    """
    if kind not in KINDS:
        raise InputError(f"unknown camera path kind {kind!r}; valid: " + ", ".join(KINDS))
    return camera_path_sequence([(kind, duration_s)], seed, rate_hz, still_lead_s=still_lead_s)


def _continuous(q: np.ndarray) -> np.ndarray:
    q = qnormalize(q)
    flip = np.concatenate([[False], np.sum(q[1:] * q[:-1], axis=1) < 0])
    sign = np.where(np.logical_xor.accumulate(flip), -1.0, 1.0)
    return q * sign[:, None]

