"""Rolling-shutter readout: the user's value, then the log's, then the lens profile's, else None."""

import dataclasses

import pytest

from sensors.errors import InputError
from sensors.lens_profile import load_lens_profile
from sensors.readout import known_readout_s
from sensors.synthetic import camera_path, synthesize_gyro
from sensors.types import SensorLog

PROFILE = "GoPro_HERO5 Black_Wide_NO-EIS_16by9.json"  # frame_readout_time 16.68333 ms


@pytest.fixture(scope="module")
def log():
    gyro = synthesize_gyro(camera_path("static", 1.0, seed=0), seed=0)
    return SensorLog(path="test.gcsv", format="gcsv", gyro=gyro)


@pytest.fixture(scope="module")
def profile(samples_dir):
    return load_lens_profile(samples_dir / "lens_profiles" / PROFILE)


def test_the_users_value_wins_over_log_and_profile(log, profile):
    with_readout = dataclasses.replace(log, readout_s=0.030)
    assert known_readout_s(12.5, with_readout, profile) == pytest.approx(0.0125)


def test_the_logs_value_comes_before_the_profiles(log, profile):
    assert known_readout_s(None, dataclasses.replace(log, readout_s=0.030), profile) == 0.030


def test_the_profiles_value_is_used_and_said_so(log, profile):
    notes = []
    assert known_readout_s(None, log, profile, notes) == pytest.approx(0.01668333)
    assert notes == ["readout 16.68 ms from the lens profile"]


def test_unknown_is_none(log):
    assert known_readout_s(None, log, None) is None


@pytest.mark.parametrize("ms", [-1.0, 1000.0, float("nan"), float("inf")])
def test_an_implausible_value_is_refused(ms, log):
    with pytest.raises(InputError, match="not plausible"):
        known_readout_s(ms, log, None)
