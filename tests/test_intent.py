"""Intent model: features, shipped weights, temporal smoothing, per-axis policy smoothing."""

import numpy as np
import pytest

from sensors.errors import InputError
from sensors.quaternion import qangle, qconj, qexp, qlog, qmul
from sensors.synthetic import camera_path, camera_path_sequence, synthesize_gyro
from stabilize.intent import (
    INTENT_CLASSES,
    N_FEATURES,
    classify_intent,
    intent_features,
    load_intent_model,
    policy_sigmas,
    smooth_per_axis,
    smooth_probabilities,
)
from stabilize.train_intent import evaluate, make_dataset


def test_features_do_not_depend_on_gyro_rate():
    # Box-averaging onto the feature rate makes a 200 Hz and a 1000 Hz log of one path agree.
    path = camera_path("walk", 5.0, seed=11, rate_hz=100.0)
    centres = np.array([1.5, 2.5, 3.5])
    f = [intent_features(g.t_s, g.omega_rad_s, centres, g.accel_m_s2)
         for g in (synthesize_gyro(path, rate_hz=r, noise_rad_s=0.0, bias_rad_s=(0, 0, 0))
                   for r in (200.0, 1000.0))]
    assert f[0].shape == (3, N_FEATURES)
    np.testing.assert_allclose(f[0], f[1], atol=0.1)  # logs: within ~10 % per band


def test_held_out_accuracy_at_least_90_percent():
    # Seeds far from the training range (0..499): unseen trajectories, rates, noise, bias.
    X, y = make_dataset(range(200000, 200030))
    report = evaluate(load_intent_model(), X, y)
    assert report["accuracy"] >= 0.90, report


@pytest.mark.parametrize("kind", ["static", "pan", "walk", "run"])
def test_classify_whole_clip_of_one_kind(kind):
    path = camera_path(kind, 6.0, seed=4242, rate_hz=100.0)
    gyro = synthesize_gyro(path, rate_hz=400.0, seed=3)
    frames = np.arange(1.0, 5.0, 1 / 30)
    track = classify_intent(gyro, frames)
    assert np.mean(np.array(track.labels) == kind) > 0.9


def test_smoothing_removes_single_frame_flicker():
    p = np.tile([0.9, 0.02, 0.02, 0.02, 0.02, 0.02], (60, 1))
    p[30] = [0.02, 0.9, 0.02, 0.02, 0.02, 0.02]  # one-frame "pan"
    s = smooth_probabilities(p, 1 / 30, switch_per_s=0.5)
    assert np.all(np.argmax(s, axis=1) == 0)
    np.testing.assert_allclose(s.sum(axis=1), 1.0)


def test_smoothing_follows_a_real_transition_within_a_few_frames():
    path = camera_path_sequence([("static", 4.0), ("pan", 5.0)], seed=9, rate_hz=100.0)
    gyro = synthesize_gyro(path, rate_hz=200.0, seed=1)
    frames = np.arange(0.0, 9.0, 1 / 30)
    track = classify_intent(gyro, frames)
    lab = np.array(track.labels)
    assert np.all(lab[frames < 2.5] == "static")
    assert np.all(lab[(frames > 5.5) & (frames < 8.0)] == "pan")
    switches = np.count_nonzero(lab[1:] != lab[:-1])
    assert switches <= 2


def test_policy_blend_is_geometric():
    p = np.zeros((1, len(INTENT_CLASSES)))
    p[0, INTENT_CLASSES.index("static")] = 0.5
    p[0, INTENT_CLASSES.index("free")] = 0.5
    s = policy_sigmas(p, policies={c: (1.0, 1.0, 1.0) for c in INTENT_CLASSES}
                      | {"static": (4.0, 4.0, 4.0)})
    np.testing.assert_allclose(s, 2.0)


def test_per_axis_smoothing_keeps_constant_pan_and_removes_vertical_shake():
    t = np.arange(0, 6, 1 / 30)
    yaw = 0.4 * t  # steady pan about y
    shake = 0.01 * np.sin(2 * np.pi * 2.0 * t)  # 2 Hz tilt shake
    q = qmul(qexp(np.c_[0 * t, yaw, 0 * t]), qexp(np.c_[shake, 0 * t, 0 * t]))
    out = smooth_per_axis(t, q, np.array([1.5, 1.0, 2.0]))
    rel = qlog(qmul(qconj(qexp(np.c_[0 * t, yaw, 0 * t])), out))
    # Pan followed exactly (incl. the clip ends: local-line fit); shake down by >20x where the
    # window is whole, and still by >5x in the last second at each end (half a window).
    assert np.max(np.abs(rel[:, 1])) < 1e-3
    inner = (t > 1.0) & (t < t[-1] - 1.0)
    assert np.max(np.abs(rel[inner, 0])) < 0.01 / 20
    assert np.max(np.abs(rel[:, 0])) < 0.01 / 5


def test_static_policy_locks_the_camera():
    path = camera_path("static", 6.0, seed=5, rate_hz=30.0)
    t = path.t_s
    out = smooth_per_axis(t, path.orientation.quat, np.array([6.0, 6.0, 6.0]))
    step_in = qangle(path.orientation.quat[:-1], path.orientation.quat[1:])
    step_out = qangle(out[:-1], out[1:])
    assert np.sqrt(np.mean(step_out**2)) < 0.1 * np.sqrt(np.mean(step_in**2))


def test_bad_sigma_rejected():
    t = np.arange(5) / 30
    q = np.tile([0, 0, 0, 1.0], (5, 1))
    with pytest.raises(InputError):
        smooth_per_axis(t, q, np.array([1.0, 0.0, 1.0]))


def test_sidecar_and_debug_plot(tmp_path):
    path = camera_path("pan", 4.0, seed=21, rate_hz=100.0)
    gyro = synthesize_gyro(path, rate_hz=200.0, seed=2, accel=False)
    track = classify_intent(gyro, np.arange(1.0, 3.0, 1 / 30))
    side = track.sidecar()
    assert len(side) == track.t_s.size
    assert set(side[0]["p"]) == set(INTENT_CLASSES)
    assert side[0]["label"] == track.labels[0]
    from stabilize.intent import plot_intent

    png = tmp_path / "intent.png"
    plot_intent(png, gyro, track)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_weights_file_from_another_feature_layout_is_refused(tmp_path):
    bad = tmp_path / "w.npz"
    np.savez(bad, mean=np.zeros(3))
    with pytest.raises(InputError, match="w.npz"):
        load_intent_model(bad)


def test_a_locked_axis_lets_a_far_neighbour_in_without_a_jump():
    # sigma (3 s) longer than the window (3 s): a tilt impulse entering the window at its edge
    # must move the virtual path by (almost) nothing, not by the truncated Gaussian's weight
    fps = 30.0
    t = np.arange(0, 20, 1 / fps)  # the impulse 10 s from either end: full windows
    q = np.tile([0.0, 0.0, 0.0, 1.0], (t.size, 1))
    k0 = 300
    q[k0] = qexp(np.array([0.05, 0.0, 0.0]))
    out = smooth_per_axis(t, q, np.array([3.0, 3.0, 3.0]), max_half_window_s=3.0)
    tilt = qlog(out)[:, 0]
    edge = tilt[k0 - int(2.95 * fps)]  # the impulse 2.95 s ahead: 98 % of the window
    centre = tilt[k0]
    assert centre > 0
    assert abs(edge) < 0.01 * centre
    # and the response grows smoothly: no frame-to-frame step above a twentieth of its peak
    assert np.max(np.abs(np.diff(tilt))) < 0.05 * centre
