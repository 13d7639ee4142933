"""Gyro integration, bias estimation and slerp lookup."""

import numpy as np
import pytest

from sensors import GyroLog, InputError, Orientation, estimate_bias, integrate_gyro
from sensors.orientation import integrate_gyro_reference
from sensors.quaternion import qangle, qconj, qexp, qlog, qmul, qnormalize


def test_kernel_matches_numpy_reference(kernels):
    rng = np.random.default_rng(2376609)
    t = np.cumsum(rng.uniform(0.002, 0.006, 3000))
    w = rng.normal(scale=2.0, size=(3000, 3))
    fast = integrate_gyro(GyroLog(t, w)).quat
    ref = integrate_gyro_reference(t, w)
    np.testing.assert_allclose(fast, ref, atol=1e-9)


def test_constant_rate_integrates_to_exact_rotation():
    t = np.arange(0, 2.0 + 1e-9, 1 / 200)
    axis = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    w = np.tile(axis * 1.3, (t.size, 1))
    q = integrate_gyro(GyroLog(t, w)).quat
    truth = qexp(axis * 1.3 * t[:, None])
    assert np.max(qangle(q, truth)) < 1e-9


def test_sinusoidal_motion_error_is_sub_hundredth_degree():
    # Rotation about a fixed-then-moving axis: compare with a fine (20 kHz) integration.
    def rate(t):
        return np.stack([0.8 * np.sin(7 * t), 0.5 * np.cos(11 * t), 0.3 * np.sin(3 * t + 1)], 1)

    fine_t = np.arange(0, 5, 1 / 20000)
    fine = integrate_gyro(GyroLog(fine_t, rate(fine_t))).quat[::100]
    t = fine_t[::100]
    coarse = integrate_gyro(GyroLog(t, rate(t))).quat
    assert np.degrees(np.max(qangle(coarse, fine))) < 0.01


def test_bias_estimated_from_still_stretch():
    rng = np.random.default_rng(7)
    t = np.arange(0, 6, 1 / 400)
    bias = np.array([0.004, -0.002, 0.0015])
    w = rng.normal(scale=1e-3, size=(t.size, 3)) + bias
    moving = t > 2.0
    w[moving] += np.stack([np.sin(5 * t[moving]), np.cos(3 * t[moving]), 0 * t[moving]], 1)
    est, still_s = estimate_bias(GyroLog(t, w))
    assert still_s >= 1.5
    np.testing.assert_allclose(est, bias, atol=1e-4)


def test_no_still_stretch_gives_no_bias():
    t = np.arange(0, 3, 1 / 200)
    w = np.stack([np.sin(5 * t), np.cos(3 * t), np.sin(t)], 1)
    est, still_s = estimate_bias(GyroLog(t, w))
    assert still_s == 0.0 and np.all(est == 0)


def test_slerp_lookup_hits_samples_and_midpoints():
    t = np.array([0.0, 1.0, 2.0])
    q = qexp(np.array([[0, 0, 0], [0, 0.4, 0], [0, 0.4, 0.2]]))
    o = Orientation(t, q)
    np.testing.assert_allclose(o.at(t), qnormalize(q), atol=1e-12)
    mid = o.at(0.5)
    np.testing.assert_allclose(qlog(mid), [0, 0.2, 0], atol=1e-12)
    assert o.at(np.zeros((2, 3))).shape == (2, 3, 4)


def test_quaternion_exp_log_roundtrip():
    rng = np.random.default_rng(11)
    v = rng.normal(size=(100, 3))
    v *= (np.pi * 0.99 / np.maximum(np.linalg.norm(v, axis=1), np.pi))[:, None]
    np.testing.assert_allclose(qlog(qexp(v)), v, atol=1e-10)
    q = qnormalize(rng.normal(size=(100, 4)))
    ident = qmul(q, qconj(q))
    np.testing.assert_allclose(np.abs(ident[:, 3]), 1.0, atol=1e-12)


@pytest.mark.parametrize(
    "t, msg",
    [
        ([0.0, 0.1, 0.1, 0.2], "duplicated"),
        ([0.0, 0.2, 0.1, 0.3], "non-monotonic"),
        ([0.0, np.nan, 0.2, 0.3], "not finite"),
    ],
)
def test_bad_timestamps_rejected(t, msg):
    with pytest.raises(InputError, match=msg):
        GyroLog(np.array(t), np.zeros((4, 3)), source="log.csv")


def test_nan_rates_rejected_with_file_name():
    w = np.zeros((4, 3))
    w[2, 1] = np.inf
    with pytest.raises(InputError, match=r"^log.csv: gyro sample 2 is not finite"):
        GyroLog(np.arange(4.0), w, source="log.csv")
