"""Phone layout reader (gyro + OIS + frame timing), checked against the generators' writer."""

import numpy as np
import pytest

from sensors.errors import InputError
from sensors.readers import detect_format, read_log
from sensors.synthetic import camera_path, default_camera, synthesize_gyro, synthesize_ois
from sensors.types import FrameTiming, OisLog
from sensors.writers import write_phone_log


@pytest.fixture(scope="module")
def truth():
    path = camera_path("walk", 1.0, seed=21, rate_hz=1000.0)
    gyro = synthesize_gyro(path, rate_hz=400.0, seed=22, accel=False)
    ois0 = synthesize_ois(path, default_camera(320, 180))
    focus = 1.0 + 0.01 * np.sin(ois0.t_s)
    ois = OisLog(ois0.t_s, ois0.shift_px, focus)
    t_f = 0.05 + np.arange(25) / 30.0
    frames = FrameTiming(t_f, np.full(25, 0.004), 0.012)
    return gyro, ois, frames


def test_roundtrip_with_writer(tmp_path, truth):
    gyro, ois, frames = truth
    folder = write_phone_log(tmp_path / "clip", gyro, ois, frames)
    assert detect_format(folder) == "phone"
    log = read_log(folder)
    assert log.format == "phone"
    np.testing.assert_allclose(log.gyro.t_s, gyro.t_s, rtol=0, atol=0.5e-6 + 1e-12)
    np.testing.assert_allclose(log.gyro.omega_rad_s, gyro.omega_rad_s, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(log.ois.t_s, ois.t_s, rtol=0, atol=0.5e-9 + 1e-12)
    np.testing.assert_allclose(log.ois.shift_px, ois.shift_px, rtol=0, atol=0.5e-6 + 1e-12)
    np.testing.assert_allclose(log.ois.focus, ois.focus, rtol=0, atol=0.5e-9 + 1e-12)
    np.testing.assert_allclose(log.frames.t_s, frames.t_s, rtol=0, atol=0.5e-9 + 1e-12)
    np.testing.assert_allclose(log.frames.exposure_s, 0.004, atol=1e-12)
    assert log.readout_s == pytest.approx(0.012, abs=1e-12)


def test_a_file_inside_the_folder_reads_the_folder(tmp_path, truth):
    folder = write_phone_log(tmp_path / "clip", *truth)
    assert detect_format(folder / "gyro.txt") == "phone"
    assert read_log(folder / "frame.txt").path == str(folder)


def test_folder_without_layout_is_rejected(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="phone-layout"):
        read_log(tmp_path)


def test_bad_rows_name_the_file(tmp_path, truth):
    folder = write_phone_log(tmp_path / "clip", *truth)
    g = folder / "gyro.txt"
    lines = g.read_text().splitlines()
    lines[3] = lines[3].rsplit(" ", 1)[0]
    g.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="line 4: expected 4 values") as info:
        read_log(folder)
    assert str(info.value).startswith(str(g))
