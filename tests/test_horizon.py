"""Horizon lock (gravity from the accelerometer) and fixed-camera mode."""

import numpy as np
import pytest

from sensors.orientation import integrate_gyro
from sensors.quaternion import qangle, qexp, qmul, qto_matrix
from sensors.synthetic import camera_path, synthesize_gyro
from sensors.types import GyroLog
from stabilize.horizon import fixed_orientation, gravity_world, level_roll, roll_to_horizon_rad


def _walk_log(accel=True):
    path = camera_path("walk", 8.0, seed=17, rate_hz=400.0)
    gyro = synthesize_gyro(path, rate_hz=400.0, seed=5, bias_rad_s=(0, 0, 0), accel=accel)
    return path, gyro, integrate_gyro(gyro, q0=path.orientation.quat[0])


def test_gravity_from_accelerometer_within_half_a_degree():
    # Started from the true orientation the integrated world is the true one, where down is +y.
    path, gyro, real = _walk_log()
    t = np.arange(1.0, 7.0, 1 / 30)
    down, from_accel = gravity_world(gyro, real, t)
    assert from_accel
    err = np.degrees(np.arccos(np.clip(down @ np.array([0, 1.0, 0]), -1, 1)))
    assert err.max() < 0.5


def test_gravity_follows_a_wrong_start_through_the_accelerometer():
    # Integrating from identity puts the world somewhere else; gravity must be found there.
    path, gyro, _ = _walk_log()
    real = integrate_gyro(gyro)
    t = np.arange(1.0, 7.0, 1 / 30)
    down, _ = gravity_world(gyro, real, t)
    R_int = real.matrices_at(t)
    R_true = path.orientation.matrices_at(t)
    want = np.einsum("fij,fkj,k->fi", R_int, R_true, np.array([0, 1.0, 0]))
    err = np.degrees(np.arccos(np.clip(np.sum(down * want, axis=1), -1, 1)))
    assert err.max() < 0.5


def test_without_accelerometer_mean_down_is_used_and_reported():
    _, gyro, real = _walk_log(accel=False)
    down, from_accel = gravity_world(gyro, real, np.array([1.0, 2.0]))
    assert not from_accel
    np.testing.assert_allclose(np.linalg.norm(down, axis=1), 1.0)


def test_level_roll_removes_roll_and_keeps_the_optical_axis():
    rng = np.random.default_rng(2376609)
    q = qexp(rng.normal(0, 0.3, (50, 3)))
    g = np.array([0, 1.0, 0])
    out = level_roll(q, g)
    np.testing.assert_allclose(roll_to_horizon_rad(out, g), 0.0, atol=1e-9)
    np.testing.assert_allclose(qto_matrix(out)[:, :, 2], qto_matrix(q)[:, :, 2], atol=1e-9)
    assert np.max(np.abs(roll_to_horizon_rad(q, g))) > 0.2


def test_level_roll_amount_zero_is_identity():
    q = qexp(np.array([[0.1, 0.2, 0.3]]))
    np.testing.assert_allclose(level_roll(q, np.array([0, 1.0, 0]), amount=0.0), q, atol=1e-12)


def test_fixed_orientation_is_the_mean_of_a_symmetric_spread():
    q0 = qexp(np.array([0.2, -0.4, 0.1]))
    d = np.array([[0.05, 0, 0], [-0.05, 0, 0], [0, 0.05, 0], [0, -0.05, 0]])
    q = qmul(q0, qexp(d))
    q[1] = -q[1]  # quaternion sign must not matter
    assert qangle(fixed_orientation(q), q0) < 1e-6


def test_accelerometer_in_wrong_units_is_refused():
    t = np.arange(100) / 100
    g = GyroLog(t, np.zeros((100, 3)), np.tile([0, -1.0, 0], (100, 1)), source="log.gcsv")
    real = integrate_gyro(g)
    from sensors.errors import InputError

    with pytest.raises(InputError, match="log.gcsv"):
        gravity_world(g, real, t)
