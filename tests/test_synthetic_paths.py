"""True camera paths and synthetic gyro: exact rates, kinds, labels, determinism."""

import numpy as np
import pytest

from sensors.errors import InputError
from sensors.orientation import estimate_bias, integrate_gyro
from sensors.quaternion import qangle
from sensors.synthetic import KINDS, LABELS, camera_path, camera_path_sequence, synthesize_gyro
from sensors.types import GyroLog


@pytest.mark.parametrize("kind", KINDS)
def test_exact_rates_integrate_back_to_the_orientation(kind):
    path = camera_path(kind, 3.0, seed=11)
    est = integrate_gyro(GyroLog(path.t_s, path.omega_rad_s), q0=path.orientation.quat[0])
    err_deg = np.degrees(qangle(est.quat, path.orientation.quat))
    assert err_deg.max() < 1e-3


def test_same_seed_same_path_other_seed_other_path():
    a = camera_path("walk", 2.0, seed=5)
    b = camera_path("walk", 2.0, seed=5)
    c = camera_path("walk", 2.0, seed=6)
    np.testing.assert_array_equal(a.orientation.quat, b.orientation.quat)
    assert np.degrees(qangle(a.orientation.quat, c.orientation.quat)).max() > 1.0


def _dominant_hz(path, axis):
    w = path.omega_rad_s[:, axis] - path.omega_rad_s[:, axis].mean()
    spec = np.abs(np.fft.rfft(w * np.hanning(w.size)))
    freqs = np.fft.rfftfreq(w.size, d=path.t_s[1] - path.t_s[0])
    band = (freqs > 0.5) & (freqs < 6.0)
    return freqs[band][np.argmax(spec[band])]


def test_walk_and_run_bob_at_their_step_frequencies():
    # Pitch-rate spectra peak at the step rate: 1.7-2.1 Hz walking, 2.6-3.0 Hz running.
    for seed in (1, 2, 3):
        assert 1.6 < _dominant_hz(camera_path("walk", 8.0, seed), 0) < 2.2
        assert 2.5 < _dominant_hz(camera_path("run", 8.0, seed), 0) < 3.1


def test_run_shakes_more_than_walk_and_walk_more_than_static():
    rms = {k: np.sqrt(np.mean(camera_path(k, 6.0, seed=4).omega_rad_s ** 2))
           for k in ("static", "walk", "run")}
    assert rms["static"] < rms["walk"] < rms["run"]


def test_pan_turns_about_the_vertical_by_tens_of_degrees():
    path = camera_path("pan", 6.0, seed=8)
    yaw_deg = np.degrees(np.trapezoid(path.omega_rad_s[:, 1], path.t_s))
    assert 35 < abs(yaw_deg) < 125


def test_sequence_labels_follow_segments_and_lead_is_still():
    path = camera_path_sequence([("walk", 2.0), ("pan", 2.0)], seed=3, still_lead_s=1.0)
    names = path.label_names
    assert names[path.t_s < 1.0].tolist() == ["still"] * int(np.sum(path.t_s < 1.0))
    assert set(names[(path.t_s > 1.0) & (path.t_s < 3.0)]) == {"walk"}
    assert set(names[path.t_s > 3.0]) == {"pan"}
    assert np.all(path.omega_rad_s[path.t_s <= 1.0] == 0.0)
    assert set(LABELS) >= set(names)


def test_sequence_is_smooth_across_transitions():
    path = camera_path_sequence([("walk", 2.0), ("run", 2.0), ("static", 2.0)], seed=9)
    jump = np.abs(np.diff(path.omega_rad_s, axis=0)).max()
    # 1 ms steps: rates change by far less than 0.05 rad/s between samples.
    assert jump < 0.05


def test_synthetic_gyro_has_the_requested_bias_and_noise():
    path = camera_path("static", 1.0, seed=2, still_lead_s=20.0)
    bias = np.array([0.01, -0.02, 0.005])
    gyro = synthesize_gyro(path, rate_hz=200, noise_rad_s=1e-3, bias_rad_s=bias, seed=1)
    still = gyro.t_s < 20.0
    np.testing.assert_allclose(gyro.omega_rad_s[still].mean(0), bias, atol=4e-4)
    np.testing.assert_allclose(gyro.omega_rad_s[still].std(0), 1e-3 * 10, rtol=0.05)
    # At rest the accelerometer reads 1 g (specific force points up, -y in the world).
    assert np.linalg.norm(gyro.accel_m_s2[still].mean(0)) == pytest.approx(9.80665, rel=1e-3)


def test_bias_is_recoverable_from_the_still_lead():
    path = camera_path("walk", 4.0, seed=21, still_lead_s=2.0)
    gyro = synthesize_gyro(path, seed=21)
    bias, still_s = estimate_bias(gyro)
    assert still_s >= 1.5
    np.testing.assert_allclose(bias, np.array([0.3, -0.2, 0.4]) * np.pi / 180, atol=2e-4)


def test_unknown_kind_is_rejected():
    with pytest.raises(InputError, match="unknown camera path kind"):
        camera_path("jog", 1.0, seed=0)
