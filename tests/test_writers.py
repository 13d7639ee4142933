"""Writers: gcsv and phone logs read back by sensors.readers; truth files."""

import json

import numpy as np
import pytest

from sensors.errors import InputError
from sensors.readers import read_log
from sensors.synthetic import camera_path, synthesize_gyro
from sensors.types import FrameTiming, OisLog
from sensors.writers import write_gcsv, write_phone_log, write_truth


@pytest.fixture(scope="module")
def gyro():
    return synthesize_gyro(camera_path("run", 1.0, seed=4), rate_hz=200, seed=4,
                           clock_offset_s=12.5)


@pytest.mark.parametrize("orientation", ["yxz", "XYZ", "ZyX", "xZy"])
def test_gcsv_round_trips_through_the_reader(tmp_path, gyro, orientation):
    p = write_gcsv(tmp_path / "a.gcsv", gyro, readout_s=0.0183, orientation=orientation,
                   gscale=2e-4, ascale=1 / 4096)
    log = read_log(p)
    assert log.format == "gcsv"
    assert log.readout_s == pytest.approx(0.0183)
    # The log clock (including its 12.5 s start) survives to the microsecond.
    np.testing.assert_allclose(log.gyro.t_s, gyro.t_s, atol=0.6e-6)
    # Rates come back in camera axes to half a quantisation step.
    np.testing.assert_allclose(log.gyro.omega_rad_s, gyro.omega_rad_s, atol=1e-4 + 1e-12)
    np.testing.assert_allclose(log.gyro.accel_m_s2, gyro.accel_m_s2,
                               atol=9.80665 / 4096 / 2 + 1e-9)


def test_gcsv_rejects_a_time_scale_too_coarse(tmp_path, gyro):
    with pytest.raises(InputError, match="tscale"):
        write_gcsv(tmp_path / "a.gcsv", gyro, tscale=0.01)
    assert not (tmp_path / "a.gcsv").exists()


def test_phone_log_round_trips_through_the_reader(tmp_path, gyro):
    t = gyro.t_s
    ois = OisLog(t, np.stack([np.sin(t), np.cos(t)], -1) * 3.0, 1 + 0.01 * np.sin(t))
    frames = FrameTiming(t[10:180:7], np.full(len(t[10:180:7]), 0.008), 0.021)
    folder = write_phone_log(tmp_path / "clip_phone", gyro, ois, frames)
    log = read_log(folder)
    assert log.format == "phone"
    np.testing.assert_allclose(log.gyro.t_s, gyro.t_s, atol=1e-6)
    np.testing.assert_allclose(log.gyro.omega_rad_s, gyro.omega_rad_s, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(log.ois.shift_px, ois.shift_px, atol=1e-6)
    np.testing.assert_allclose(log.ois.focus, ois.focus, atol=1e-8)
    np.testing.assert_allclose(log.frames.t_s, frames.t_s, atol=1e-9)
    assert log.frames.readout_s == pytest.approx(0.021)


def test_truth_files_hold_arrays_and_summary(tmp_path):
    npz, js = write_truth(tmp_path / "x.truth.npz", {"q": np.eye(4)}, {"offset_s": 0.25})
    assert js.name == "x.truth.json"
    np.testing.assert_array_equal(np.load(npz)["q"], np.eye(4))
    assert json.loads(js.read_text()) == {"offset_s": 0.25}
    with pytest.raises(InputError, match="truth"):
        write_truth(tmp_path / "x.npz", {}, {})
