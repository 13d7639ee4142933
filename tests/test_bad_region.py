"""Bad-region lookahead: the zoom a frame needs, and bending the path so it fits a max zoom."""

import numpy as np
import pytest

from sensors.errors import InputError
from sensors.quaternion import qexp, qmul
from sensors.synthetic import camera_path
from sensors.types import CameraModel, Orientation
from stabilize.bad_region import fit_to_frame, required_zoom, smooth_zoom
from stabilize.intent import smooth_per_axis


def _cam():
    K = np.array([[220.0, 0, 159.5], [0, 220.0, 89.5], [0, 0, 1]])
    return CameraModel(K, np.zeros(5), "opencv_standard", (320, 180))


def _brute_zoom(cam, theta_y):
    """Smallest zoom (scan in 1e-3 steps) keeping every border pixel inside, pure yaw offset."""
    w, h = cam.size
    xs, ys = np.arange(w, dtype=float), np.arange(h, dtype=float)
    px = np.concatenate([np.c_[xs, 0 * xs], np.c_[xs, 0 * xs + h - 1],
                         np.c_[0 * ys, ys], np.c_[0 * ys + w - 1, ys]])
    n = (px - cam.K[:2, 2]) / cam.K[0, 0]
    c, s = np.cos(theta_y), np.sin(theta_y)
    for z in np.arange(1.0, 3.0, 1e-3):
        x, y = n[:, 0] / z, n[:, 1] / z
        X, Z = c * x + s, -s * x + c
        u = cam.K[0, 0] * X / Z + cam.K[0, 2]
        v = cam.K[1, 1] * y / Z + cam.K[1, 2]
        if np.all((u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)):
            return z
    raise AssertionError("no zoom found")


@pytest.mark.parametrize("theta_deg", [0.0, 3.0, -6.0])
def test_required_zoom_matches_brute_force_scan(theta_deg):
    cam = _cam()
    t = np.array([0.0, 1.0])
    real = Orientation(t, np.tile([0, 0, 0, 1.0], (2, 1)))
    qv = np.tile(qexp(np.array([0, np.radians(theta_deg), 0])), (2, 1))
    z = required_zoom(cam, real, t, qv, per_side=33, tol=1e-4)
    np.testing.assert_allclose(z, _brute_zoom(cam, np.radians(theta_deg)), atol=2e-3)


def test_rolling_shutter_needs_zoom_even_on_the_real_path():
    # A fast pan skews the frame: the real middle-row orientation no longer covers the corners.
    cam = _cam()
    t = np.linspace(0, 1, 200)
    q = qexp(np.c_[0 * t, 1.5 * t, 0 * t])
    real = Orientation(t, q)
    frames = np.array([0.5])
    assert required_zoom(cam, real, frames, real.at(frames), readout_s=0.0)[0] == 1.0
    assert required_zoom(cam, real, frames, real.at(frames), readout_s=0.03)[0] > 1.01


def test_fit_keeps_every_frame_within_max_zoom_and_bends_smoothly():
    cam = _cam()
    path = camera_path("run", 6.0, seed=31, rate_hz=240.0)
    fps = 30.0
    frames = np.arange(0.5, 5.5, 1 / fps)
    real = path.orientation
    locked = smooth_per_axis(frames, real.at(frames), np.array([6.0, 6.0, 6.0]))
    before = required_zoom(cam, real, frames, locked, readout_s=0.02)
    assert before.max() > 1.08  # a locked running path leaves the frame
    fit = fit_to_frame(cam, real, frames, locked, max_zoom=1.05, readout_s=0.02)
    assert np.all(fit.required_zoom <= 1.05 + 1e-6)
    assert np.max(np.abs(np.diff(fit.alpha))) < 0.2  # eased in and out, no jumps
    # Minimal: on average less than 60 % of the way back to the shaky path (not given up).
    assert fit.alpha.mean() < 0.6


def test_fit_leaves_a_path_that_already_fits_alone():
    cam = _cam()
    path = camera_path("static", 3.0, seed=2, rate_hz=240.0)
    frames = np.arange(0.5, 2.5, 1 / 30)
    v = smooth_per_axis(frames, path.orientation.at(frames), np.array([2.0, 2.0, 2.0]))
    fit = fit_to_frame(cam, path.orientation, frames, v, max_zoom=1.2)
    assert fit.iterations == 0
    np.testing.assert_array_equal(fit.virtual_quat, v)


def test_max_zoom_below_the_rolling_shutter_need_is_refused():
    cam = _cam()
    t = np.linspace(0, 2, 400)
    real = Orientation(t, qexp(np.c_[0 * t, 2.0 * t, 0 * t]))
    frames = np.arange(0.5, 1.5, 1 / 30)
    with pytest.raises(InputError, match="max zoom"):
        fit_to_frame(cam, real, frames, real.at(frames), max_zoom=1.0, readout_s=0.03)


def test_smooth_zoom_never_below_required():
    z = np.ones(90)
    z[40:45] = 1.3
    s = smooth_zoom(z, 30.0)
    assert np.all(s >= z)
    assert np.max(np.abs(np.diff(s))) < 0.1
    assert s[0] == 1.0


def test_virtual_offset_by_a_pure_rotation_is_a_known_shift():
    # Sanity of conventions: a virtual camera turned right by 2 degrees sees further right.
    cam = _cam()
    t = np.array([0.0, 1.0])
    real = Orientation(t, np.tile([0, 0, 0, 1.0], (2, 1)))
    q_right = qmul(real.quat, qexp(np.array([0, np.radians(2.0), 0])))
    z = required_zoom(cam, real, t, q_right)
    assert np.all(z > 1.0)


@pytest.mark.parametrize("shift_x, focus, expected", [
    (8.0, 1.0, 159.5 / (159.5 - 8.0)),  # the lens moved right: the right border runs out
    (0.0, 1.02, 1.02),                  # focus breathing: the image grew by 2 %
])
def test_ois_shift_and_focus_move_the_frame_the_border_must_stay_in(shift_x, focus, expected):
    from sensors.types import OisLog

    cam = _cam()  # pinhole: the need follows in closed form
    t = np.linspace(0.0, 2.0, 61)
    real = Orientation(np.linspace(-1.0, 3.0, 401), np.tile([0.0, 0.0, 0.0, 1.0], (401, 1)))
    qv = np.tile([0.0, 0.0, 0.0, 1.0], (t.size, 1))
    ois = OisLog(np.array([-1.0, 3.0]), np.array([[shift_x, 0.0], [shift_x, 0.0]]),
                 np.array([focus, focus]))
    assert np.allclose(required_zoom(cam, real, t, qv), 1.0)
    need = required_zoom(cam, real, t, qv, ois=ois, tol=1e-4)
    np.testing.assert_allclose(need, expected, atol=2e-4)


def test_required_zoom_when_the_unzoomed_border_looks_behind_the_source_camera():
    # 120 degree lens yawed 32 degrees: at zoom 1 the far edge's rays point behind the source
    # camera (no pixel at all), a little over 3x zoom brings the whole border inside
    w, h = 320, 180
    f = (w / 2) / np.tan(np.radians(60))
    cam = CameraModel(np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]]),
                      np.zeros(5), "opencv_standard", (w, h))
    t = np.array([0.0, 1.0])
    real = Orientation(t, np.tile([0, 0, 0, 1.0], (2, 1)))
    yaw = np.radians(32.0)
    qv = np.tile(qexp(np.array([0, yaw, 0])), (2, 1))
    z = required_zoom(cam, real, t, qv, per_side=33, tol=1e-4, zoom_limit=8.0)
    # brute force over the whole border, rays behind the camera counted as outside
    xs, ys = np.arange(w, dtype=float), np.arange(h, dtype=float)
    px = np.concatenate([np.c_[xs, 0 * xs], np.c_[xs, 0 * xs + h - 1],
                         np.c_[0 * ys, ys], np.c_[0 * ys + w - 1, ys]])
    n = (px - cam.K[:2, 2]) / f
    assert np.any(-np.sin(yaw) * n[:, 0] + np.cos(yaw) < 0)  # the case: behind at zoom 1
    for zb in np.arange(1.0, 8.0, 1e-3):
        x, y = n[:, 0] / zb, n[:, 1] / zb
        X, Z = np.cos(yaw) * x + np.sin(yaw), -np.sin(yaw) * x + np.cos(yaw)
        u, v = f * X / Z + cam.K[0, 2], f * y / Z + cam.K[1, 2]
        if np.all((Z > 0) & (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)):
            break
    np.testing.assert_allclose(z, zb, atol=3e-3)
