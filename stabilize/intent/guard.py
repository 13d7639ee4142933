"""Never shakier than the plain Gaussian: where the intent path keeps more fast motion, use the
Gaussian's.

The intent policies were tuned on generated paths. On a real log a policy can leave more fast
motion in the output than the plain lookahead Gaussian would (a classifier unsure between two
classes makes the sigmas wander, and a short ``free`` policy passes shake). The guard measures
both paths the way a viewer sees them: the output's apparent motion is the virtual camera's
angular velocity, and what reads as shake is its part above ``HF_CUTOFF_HZ``. Where the intent
path's high-frequency RMS (local, over ``WINDOW_S``) exceeds the Gaussian's by more than
``MARGIN``, the virtual path slides to the Gaussian's; the share eases in and out over
seconds (``EASE_S``, ``BLEND_SIGMA_S``) so the switch itself adds no fast motion.

The decision is per stretch of frames, not per clip: a clip's one bad stretch no longer costs
the intent filter everywhere else, and the frame-by-frame ``Stabilizer`` (which only sees its
lookahead) gives the same answer as the offline run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.errors import InputError
from sensors.quaternion import qconj, qlog, qmul, qslerp

from ..signal1d import gaussian_filter1d, maximum_filter1d

__all__ = ["HF_CUTOFF_HZ", "MARGIN", "FLOOR_RAD_S", "guard_reach_s", "high_frequency_rate",
           "high_frequency_rms", "gaussian_share", "GuardResult", "guard_path"]

#: The apparent motion above this frequency counts as shake (a Gaussian high-pass whose
#: response is 1 - exp(-0.5) at the cutoff and above 0.85 from twice it).
HF_CUTOFF_HZ = 1.0
#: Local RMS window (Gaussian sigma), seconds.
WINDOW_S = 0.5
#: The intent path may keep this much more high-frequency motion (relative) before the
#: Gaussian's starts to take over; at twice it the Gaussian's is used alone.
MARGIN = 0.05
#: High-frequency angular speed (rad/s) added to both sides of the comparison: 1e-3 rad/s is
#: 1 px/s at a 1000 px focal length (0.03 px per frame at 30 fps), far below what shows. It
#: keeps the comparison of two nearly still paths from following noise.
FLOOR_RAD_S = 1e-3
#: The Gaussian's share is spread over this many seconds each side (running maximum), then
#: eased in and out with a Gaussian of ``BLEND_SIGMA_S``. The two paths can differ by degrees,
#: so a quick change of share would itself move the view: with a sigma of 0.5 s the blend
#: left more motion above 1 Hz than either path on generated pans; from 1 s on it stays at or
#: below the Gaussian's on every path measured (docs/benchmarks.md).
EASE_S = 1.0
BLEND_SIGMA_S = 1.5
# Gaussians here reach this many sigmas (``signal1d.gaussian_filter1d``'s ``truncate``).
_TRUNCATE = 3.0


def _hp_sigma_s(cutoff_hz: float) -> float:
    return 1.0 / (2.0 * np.pi * cutoff_hz)


def guard_reach_s() -> float:
    """Seconds each side that the guard's choice for one frame depends on its input paths."""
    return (_TRUNCATE * (_hp_sigma_s(HF_CUTOFF_HZ) + WINDOW_S + BLEND_SIGMA_S) + EASE_S
            + 0.1)


def high_frequency_rate(t_s: np.ndarray, quat: np.ndarray,
                        cutoff_hz: float = HF_CUTOFF_HZ) -> np.ndarray:
    """Squared high-frequency angular speed (rad/s)^2 of an orientation track, per frame (F,).

    The angular velocity between consecutive frames (in the camera's own axes, i.e. the
    output's apparent rotation) minus its Gaussian low-pass; each frame gets the mean of the
    two intervals beside it.
    """
    t = np.asarray(t_s, dtype=np.float64)
    q = np.asarray(quat, dtype=np.float64)
    if q.shape != (t.size, 4):
        raise InputError(f"orientations have shape {q.shape}, expected ({t.size}, 4)")
    if t.size < 3:
        return np.zeros(t.size)
    dt = np.diff(t)
    w = qlog(qmul(qconj(q[:-1]), q[1:])) / dt[:, None]
    sigma = _hp_sigma_s(cutoff_hz) / float(np.median(dt))
    # Odd reflection at the ends continues a trend (a pan running out of the clip) instead of
    # holding the end value, which would read as a jolt at every clip edge.
    r = min(int(_TRUNCATE * sigma + 0.5), w.shape[0] - 1)
    wp = np.pad(w, ((r, r), (0, 0)), mode="reflect", reflect_type="odd")
    hp = w - gaussian_filter1d(wp, sigma, axis=0, truncate=_TRUNCATE)[r:wp.shape[0] - r]
    e = np.sum(hp * hp, axis=1)
    return np.r_[e[0], 0.5 * (e[1:] + e[:-1]), e[-1]]


def high_frequency_rms(t_s: np.ndarray, quat: np.ndarray,
                       cutoff_hz: float = HF_CUTOFF_HZ) -> float:
    """RMS (rad/s) of an orientation track's angular velocity above ``cutoff_hz``, whole track.

    Examples
    --------
    >>> t = np.arange(0, 4, 1 / 30)
    >>> from sensors.quaternion import qexp
    >>> steady = qexp(np.c_[0 * t, 0.3 * t, 0 * t])  # a 0.3 rad/s pan: nothing above 1 Hz
    >>> shaky = qexp(np.c_[0.002 * np.sin(2 * np.pi * 5 * t), 0.3 * t, 0 * t])
    >>> round(high_frequency_rms(t, steady), 6), round(high_frequency_rms(t, shaky), 3)
    (0.0, 0.042)
    """
    return float(np.sqrt(np.mean(high_frequency_rate(t_s, quat, cutoff_hz))))


def gaussian_share(t_s: np.ndarray, intent_quat: np.ndarray, gaussian_quat: np.ndarray
                   ) -> np.ndarray:
    """Per-frame share (F,) 0..1 of the Gaussian path in the guarded one.

    0 where the intent path's local high-frequency RMS is at most ``1 + MARGIN`` times the
    Gaussian's (or both are below ``FLOOR_RAD_S``), 1 from ``1 + 2 MARGIN`` times, linear
    between; then spread (running maximum over ``EASE_S`` each side, a Gaussian of
    ``BLEND_SIGMA_S``) so the change eases in before the stretch that needs it, slowly enough
    not to move the view itself.
    """
    t = np.asarray(t_s, dtype=np.float64)
    if t.size < 3:
        return np.zeros(t.size)
    fps = 1.0 / float(np.median(np.diff(t)))
    sig = WINDOW_S * fps
    floor = FLOOR_RAD_S ** 2
    e_int = gaussian_filter1d(high_frequency_rate(t, intent_quat), sig, truncate=_TRUNCATE)
    e_gau = gaussian_filter1d(high_frequency_rate(t, gaussian_quat), sig, truncate=_TRUNCATE)
    ratio = np.sqrt((e_int + floor) / (e_gau + floor))
    raw = np.clip((ratio - 1.0 - MARGIN) / MARGIN, 0.0, 1.0)
    r = max(1, int(round(EASE_S * fps)))
    spread = gaussian_filter1d(maximum_filter1d(raw, 2 * r + 1), BLEND_SIGMA_S * fps,
                               truncate=_TRUNCATE)
    return np.clip(spread, 0.0, 1.0)


@dataclass(frozen=True, eq=False)
class GuardResult:
    """The guarded path and what the guard did.

    Parameters
    ----------
    virtual_quat : (F, 4) float64
        The intent path, slid towards the Gaussian's by ``share``.
    share : (F,) float64
        Share of the Gaussian path per frame (0 = intent, 1 = Gaussian).
    hf_rad_s : dict
        Whole-window high-frequency RMS (rad/s) of the ``intent``, ``gaussian`` and ``guarded``
        paths.
    """

    virtual_quat: np.ndarray
    share: np.ndarray
    hf_rad_s: dict


def guard_path(t_s: np.ndarray, intent_quat: np.ndarray, gaussian_quat: np.ndarray,
               drawn: tuple[np.ndarray, np.ndarray] | None = None) -> GuardResult:
    """The intent path where it is no shakier than the Gaussian's, the Gaussian's elsewhere.

    Parameters
    ----------
    t_s : (F,) float64
        Frame times, seconds.
    intent_quat, gaussian_quat : (F, 4) float64
        The two smoothed paths of the same real path.
    drawn : ((F, 4), (F, 4)) float64, optional
        The two paths as they will be drawn, when later stages change them (bent towards the
        real path to fit the max zoom: a path that strays further is bent more, and the bend
        brings back the real path's shake). The share is judged on these and applied to the
        smoothed paths.

    Returns
    -------
    GuardResult
        With ``hf_rad_s`` of the judged paths (``guarded``: their blend).
    """
    t = np.asarray(t_s, dtype=np.float64)
    qi = np.asarray(intent_quat, dtype=np.float64)
    qg = np.asarray(gaussian_quat, dtype=np.float64)
    ji, jg = (qi, qg) if drawn is None else (np.asarray(drawn[0], dtype=np.float64),
                                              np.asarray(drawn[1], dtype=np.float64))
    if not qg.shape == qi.shape == ji.shape == jg.shape:
        raise InputError(f"paths of shapes {qi.shape}, {qg.shape}, {ji.shape} and {jg.shape} "
                         "cannot be compared")
    share = gaussian_share(t, ji, jg)
    used = np.any(share > 0)
    out = qslerp(qi, qg, share) if used else qi
    judged = qslerp(ji, jg, share) if used else ji
    hf = {name: high_frequency_rms(t, q) for name, q in
          (("intent", ji), ("gaussian", jg), ("guarded", judged))}
    return GuardResult(out, share, hf)
