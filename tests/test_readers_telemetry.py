"""The ``telemetry`` registry entry on the real GoPro samples, and what it rejects.

GoPro clips are read by the project's GPMF reader on every Python; the tests that need
telemetry-parser itself (other sources, its error text) skip when it is not installed.
"""

import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensors.errors import InputError
from sensors.readers import TelemetryParserMissing, detect_format, read_log

# MANIFEST facts of the samples (samples/ATTRIBUTION.md).
CLIPS = {
    "karma.mp4": ("GoPro HERO5 Black", 4795, 397.5),
    "hero7.mp4": ("GoPro HERO7 Black", 2175, 197.5),
    "max-heromode.mp4": ("GoPro Max", 2082, 197.5),
}


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_gopro_gyro_rate_count_and_camera(samples_dir, name):
    camera, samples, rate = CLIPS[name]
    log = read_log(samples_dir / "gopro" / name)
    assert log.format == "telemetry"
    assert log.camera == camera
    assert len(log.gyro) == samples
    assert log.gyro.rate_hz == pytest.approx(rate, abs=0.5)
    assert log.same_clock_as_video
    assert log.gyro.t_s[0] == 0.0


def test_hero7_readout_from_srot(samples_dir):
    log = read_log(samples_dir / "gopro" / "hero7.mp4")
    assert log.readout_s * 1000.0 == pytest.approx(8.015, abs=0.001)


def test_karma_exposure_from_shut_and_no_readout(samples_dir):
    log = read_log(samples_dir / "gopro" / "karma.mp4")
    assert log.readout_s is None  # the HERO5 writes no SROT
    assert float(np.median(log.exposure_s)) * 1000.0 == pytest.approx(4.87, abs=0.01)
    # HERO5 logs accel at half the gyro rate; it is interpolated onto the gyro times.
    assert log.gyro.accel_m_s2 is not None
    assert log.meta["accel_resampled_from"] < len(log.gyro)


def test_gravity_points_down_in_camera_axes_on_hero7(samples_dir):
    # The HERO7 clip is shot upright: the accelerometer's specific force (minus gravity)
    # points up, i.e. along camera -y, with about 1 g.
    log = read_log(samples_dir / "gopro" / "hero7.mp4")
    mean = log.gyro.accel_m_s2.mean(axis=0)
    assert np.linalg.norm(mean) == pytest.approx(9.8, abs=0.6)
    assert mean[1] < -0.8 * np.linalg.norm(mean)


def test_truncated_video_is_input_error(samples_dir, tmp_path):
    data = (samples_dir / "gopro" / "hero7.mp4").read_bytes()
    f = tmp_path / "cut.mp4"
    f.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError) as info:
        read_log(f)
    assert str(info.value).startswith(str(f))
    assert "\n" not in str(info.value)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=3000), name=st.sampled_from(
    ["x.bin", "x.mp4", "x.gcsv", "x.csv", "x.bbl", "x.txt"]))
def test_property_random_bytes_only_ever_raise_input_error(tmp_path, data, name):
    f = tmp_path / name
    f.write_bytes(data)
    try:
        read_log(f)
    except InputError as exc:
        assert "\n" not in str(exc)
    # A random byte string that happens to parse as a log is allowed, but must be valid.


def test_random_bytes_are_rejected(tmp_path):
    pytest.importorskip("telemetry_parser")
    rng = np.random.default_rng(2376609)
    f = tmp_path / "noise.mp4"
    f.write_bytes(rng.integers(0, 256, size=4096, dtype=np.uint8).tobytes())
    assert detect_format(f) == "telemetry"
    with pytest.raises(InputError, match="telemetry-parser could not read it"):
        read_log(f)


def test_non_gopro_file_without_telemetry_parser_names_the_extra(samples_dir, tmp_path,
                                                                  monkeypatch):
    # An install without the optional module (as on Python >= 3.13): importing it fails.
    monkeypatch.setitem(sys.modules, "telemetry_parser", None)
    f = tmp_path / "flight.bbl"
    f.write_bytes(np.random.default_rng(5).integers(0, 256, 2048, dtype=np.uint8).tobytes())
    with pytest.raises(TelemetryParserMissing) as info:
        read_log(f)
    msg = str(info.value)
    assert msg.startswith(str(f)) and "\n" not in msg
    assert "pip install 'steadyrig[telemetry]'" in msg
    # GoPro clips do not need it.
    assert read_log(samples_dir / "gopro" / "hero7.mp4").meta["parser"] == "gpmf"


def test_unknown_format_name_lists_valid(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("x")
    with pytest.raises(InputError, match="valid: gcsv, telemetry, csv, phone"):
        read_log(f, format="bogus")


def test_empty_file(tmp_path):
    f = tmp_path / "e.mp4"
    f.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_log(f)
    assert os.path.exists(f)
