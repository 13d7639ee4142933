"""Motion-blur estimation from the gyro and blur masking of the virtual path."""

import numpy as np
import pytest

from sensors.errors import InputError
from sensors.quaternion import qexp
from sensors.synthetic import camera_path
from sensors.types import CameraModel, Orientation
from stabilize.blur import (
    blur_mismatch_px,
    blur_vectors,
    default_exposure_s,
    mask_blur,
    output_motion_px_s,
    sharpness_variation,
)
from stabilize.intent import smooth_per_axis


def _cam():
    K = np.array([[300.0, 0, 159.5], [0, 300.0, 89.5], [0, 0, 1]])
    return CameraModel(K, np.zeros(5), "opencv_standard", (320, 180))


def test_constant_pan_blur_is_f_omega_exposure_leftwards():
    cam = _cam()
    t = np.linspace(0, 2, 2001)
    omega = 0.8  # rad/s about +y: the camera turns right, content moves left
    real = Orientation(t, qexp(np.c_[0 * t, omega * t, 0 * t]))
    e = default_exposure_s(30.0, 3)
    b = blur_vectors(cam, real, np.array([0.5, 1.0, 1.5]), e)[:, 0]
    np.testing.assert_allclose(b[:, 0], -300.0 * omega * e, rtol=1e-3)
    np.testing.assert_allclose(b[:, 1], 0.0, atol=1e-6)


def test_real_path_explains_its_own_blur():
    # Shown unstabilized, the displayed motion matches the streaks (residual from finite
    # differences over one frame only).
    cam = _cam()
    path = camera_path("walk", 5.0, seed=8, rate_hz=600.0)
    frames = np.arange(0.5, 4.5, 1 / 30)
    e = default_exposure_s(30.0, frames.size)
    b = blur_vectors(cam, path.orientation, frames, e)[:, 0]
    v = output_motion_px_s(cam, frames, path.orientation.at(frames))
    m = blur_mismatch_px(b, v, e)
    # Central differences over two frames of a 2 Hz gait with harmonics: ~15 % residual.
    assert np.mean(m[1:-1]) < 0.2 * np.mean(np.linalg.norm(b, axis=1))


def test_masking_lowers_sharpness_variation_by_30_percent():
    cam = _cam()
    path = camera_path("run", 6.0, seed=12, rate_hz=600.0)
    frames = np.arange(0.5, 5.5, 1 / 30)
    e = np.full(frames.size, 1 / 60)
    real = path.orientation
    virt = smooth_per_axis(frames, real.at(frames), np.array([1.5, 1.0, 2.5]))
    b = blur_vectors(cam, real, frames, e)[:, 0]
    assert np.median(np.linalg.norm(b, axis=1)) > 1.0  # the clip is visibly blurred
    before = sharpness_variation(blur_mismatch_px(b, output_motion_px_s(cam, frames, virt), e))
    masked, beta = mask_blur(cam, real, frames, e, virt, blur_lo_px=0.5, blur_hi_px=3.0)
    after = sharpness_variation(blur_mismatch_px(b, output_motion_px_s(cam, frames, masked), e))
    assert after < 0.7 * before
    assert beta.max() > 0.5


def test_no_blur_no_change():
    cam = _cam()
    path = camera_path("walk", 3.0, seed=3, rate_hz=600.0)
    frames = np.arange(0.5, 2.5, 1 / 30)
    virt = smooth_per_axis(frames, path.orientation.at(frames), np.array([1.0, 1.0, 1.0]))
    out, beta = mask_blur(cam, path.orientation, frames, np.full(frames.size, 1e-5), virt)
    assert np.all(beta == 0)
    np.testing.assert_allclose(out, virt, atol=1e-12)


def test_negative_exposure_rejected():
    cam = _cam()
    t = np.linspace(0, 1, 10)
    real = Orientation(t, np.tile([0, 0, 0, 1.0], (10, 1)))
    with pytest.raises(InputError):
        blur_vectors(cam, real, t[2:4], np.array([-0.01, 0.01]))
