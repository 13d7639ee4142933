"""Gyro bias from the video when the log has no still stretch."""

import numpy as np
import pytest

from sensors.lens_profile import load_lens_profile
from sensors.orientation import estimate_bias
from sensors.readers import read_log
from sensors.synthetic import DEFAULT_BIAS_RAD_S, generate_clip
from sensors.video import probe_video
from stabilize.video_bias import bias_from_video


@pytest.mark.parametrize(("kind", "seed"), [("walk", 31), ("pan", 32)])
def test_the_bias_of_a_log_that_never_rests_is_measured_from_the_video(tmp_path, kind, seed):
    c = generate_clip(tmp_path, kind=kind, seed=seed, width=480, height=270, duration_s=3.0,
                      readout_s=0.02, still_lead_s=0.0, tail_s=0.0, audio=False)
    gyro = read_log(c.gcsv).gyro
    assert estimate_bias(gyro)[1] == 0.0  # no stillness to measure it from
    info = probe_video(c.video)
    cam = load_lens_profile(c.lens, size=(info.width, info.height))
    est = bias_from_video(str(c.video), gyro, info.frame_t_s, cam, c.readout_s)
    assert est.bias_rad_s is not None and "from the video" in est.note
    # 0.05 deg/s: a sixth of the smallest bias component, well under MEMS datasheet spreads
    err = np.degrees(np.abs(est.bias_rad_s - np.asarray(DEFAULT_BIAS_RAD_S)))
    assert err.max() < 0.05
