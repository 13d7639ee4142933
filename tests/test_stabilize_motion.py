"""Motion analysis: real orientation per row band from a synthetic gyro, OIS in K_src, coverage."""

import numpy as np
import pytest

from sensors.errors import InputError
from sensors.quaternion import qangle, qconj, qmul
from sensors.synthetic import camera_path, default_camera, synthesize_gyro
from sensors.types import OisLog, SensorLog
from stabilize.motion import analyze_motion, assumed_camera

FPS = 30.0


def _relative(q):
    return qmul(np.broadcast_to(qconj(q[:1]), q.shape), q)


def test_row_band_orientation_matches_the_true_path():
    path = camera_path("run", 3.0, seed=5, still_lead_s=1.5)
    gyro = synthesize_gyro(path, seed=5, clock_offset_s=0.25)
    t = np.arange(1.6, 4.3, 1.0 / FPS)
    motion = analyze_motion(gyro, t, default_camera(320, 180), offset_s=0.25, readout_s=0.03)
    fms = [motion.frame(i) for i in range(len(motion))]
    est = np.concatenate([fm.quat for fm in fms])
    band_t = np.concatenate([fm.band_t_s for fm in fms])
    true = path.orientation.at(band_t)
    err = qangle(_relative(est), _relative(true))
    assert np.degrees(err.max()) < 0.05
    # the bands of a frame span the readout
    assert fms[3].band_t_s[-1] - fms[3].band_t_s[0] == pytest.approx(0.03 * 179 / 180)


def test_ois_shift_and_focus_enter_the_source_intrinsics():
    path = camera_path("static", 2.0, seed=1)
    gyro = synthesize_gyro(path, seed=1)
    ois = OisLog(np.array([0.0, 2.0]), np.array([[1.0, -2.0], [3.0, 2.0]]),
                 np.array([1.0, 1.02]))
    log = SensorLog("x", "phone", gyro, ois=ois)
    cam = default_camera(320, 180)
    motion = analyze_motion(log, np.array([0.5, 1.0]), cam, readout_s=0.0)
    K = motion.frame(1).K[0]
    assert K[0, 2] == pytest.approx(cam.K[0, 2] + 2.0)
    assert K[1, 2] == pytest.approx(cam.K[1, 2] + 0.0)
    assert K[0, 0] == pytest.approx(cam.K[0, 0] * 1.01)


def test_frames_outside_the_log_are_flagged_and_no_overlap_is_refused():
    path = camera_path("walk", 2.0, seed=2)
    gyro = synthesize_gyro(path, seed=2)
    cam = assumed_camera((320, 180))
    motion = analyze_motion(gyro, np.arange(1.0, 3.0, 0.1), cam, readout_s=0.0)
    assert motion.covered[0] and not motion.covered[-1]
    with pytest.raises(InputError, match="does not cover"):
        analyze_motion(gyro, np.arange(10.0, 11.0, 0.1), cam)


def test_unknown_readout_and_assumed_lens_are_reported():
    gyro = synthesize_gyro(camera_path("walk", 2.0, seed=3), seed=3)
    motion = analyze_motion(gyro, np.arange(0.2, 1.8, 0.1), assumed_camera((320, 180)))
    text = " ".join(motion.notes)
    assert "global shutter" in text and "lens assumed" in text


def test_frames_in_a_gap_of_the_log_are_not_covered():
    from sensors.types import GyroLog

    gyro = synthesize_gyro(camera_path("walk", 3.0, seed=4), seed=4)
    keep = (gyro.t_s < 1.0) | (gyro.t_s > 1.5)
    holed = GyroLog(gyro.t_s[keep], gyro.omega_rad_s[keep])
    t = np.arange(0.2, 2.8, 0.1)
    motion = analyze_motion(holed, t, assumed_camera((320, 180)), readout_s=0.0)
    assert not motion.covered[(t > 1.0) & (t < 1.5)].any()
    assert motion.covered[(t < 0.95) | (t > 1.55)].all()
