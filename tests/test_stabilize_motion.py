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


def test_a_log_starting_at_the_first_frames_middle_row_covers_the_edge_frames():
    # embedded telemetry starts with the recording: frame 0's top rows precede the first sample
    path = camera_path("walk", 4.0, seed=11)
    gyro = synthesize_gyro(path, seed=11)
    t = np.arange(1.0, 3.0, 1.0 / FPS)
    cam = default_camera(320, 180)
    bias = np.zeros(3)
    full = analyze_motion(gyro, t, cam, readout_s=0.03, bias_rad_s=bias)
    edged = analyze_motion(gyro.slice(t[0], t[-1]), t, cam, readout_s=0.03, bias_rad_s=bias)
    assert edged.covered.all()
    assert any("boundary gyro rate held" in n for n in edged.notes)
    for i in (0, len(t) - 1):
        ref = 1 if i == 0 else i - 1  # the neighbour's first band anchors both tracks
        a = _relative(np.concatenate([full.frame(ref).quat[:1], full.frame(i).quat]))
        b = _relative(np.concatenate([edged.frame(ref).quat[:1], edged.frame(i).quat]))
        # the rate held over half a readout: 0.03 deg is 0.3 px at 960 px wide with this lens,
        # where passing frame 0 through unwarped jumps by tens of pixels
        assert np.degrees(qangle(a, b).max()) < 0.03


def test_edge_hold_does_not_bridge_more_than_a_frame_period_and_the_readout():
    path = camera_path("walk", 3.0, seed=12)
    gyro = synthesize_gyro(path, seed=12)
    t = np.arange(0.0, 2.0, 1.0 / FPS)
    readout_s = 0.02
    motion = analyze_motion(gyro.slice(0.2, 1.5), t, default_camera(320, 180),
                            readout_s=readout_s)
    covered_t = t[motion.covered]
    reach_s = 1.0 / FPS + readout_s
    assert covered_t[0] >= 0.2 - reach_s and covered_t[-1] <= 1.5 + reach_s
    assert not motion.covered[t < 0.1].any() and not motion.covered[t > 1.6].any()
