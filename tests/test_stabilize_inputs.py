"""Where a stabilization's readout comes from (``resolve_readout``), in order, and that every
assumption is both noted and logged."""

import dataclasses
import logging

import numpy as np
import pytest

from sensors.errors import InputError
from sensors.types import GyroLog, SensorLog
from stabilize.inputs import DEFAULT_READOUT_S, resolve_readout
from stabilize.motion import assumed_camera


def _log(readout_s=None, camera=None):
    gyro = GyroLog(np.arange(4.0), np.zeros((4, 3)))
    return SensorLog("clip.gcsv", "gcsv", gyro, readout_s=readout_s, camera=camera)


def _camera(readout_s=None, source=None):
    cam = assumed_camera((320, 180))
    meta = dict(cam.meta, readout_s=readout_s) if readout_s is not None else cam.meta
    return dataclasses.replace(cam, source=source, meta=meta)


def test_the_given_readout_wins_over_the_log_and_the_profile():
    notes = []
    assert resolve_readout(7.5, _log(0.02), _camera(0.03), notes) == pytest.approx(0.0075)
    assert notes == []


@pytest.mark.parametrize("ms", [-1.0, 1000.0, float("nan"), float("inf")])
def test_an_implausible_readout_is_refused(ms):
    with pytest.raises(InputError, match="not plausible"):
        resolve_readout(ms, _log(), _camera())


def test_the_log_s_readout_comes_before_the_lens_profile_s():
    notes = []
    assert resolve_readout(None, _log(0.02), _camera(0.03), notes) == 0.02
    assert notes == []  # the log states it: nothing assumed


def test_the_lens_profile_s_readout_is_used_and_said_so():
    notes = []
    assert resolve_readout(None, _log(), _camera(0.03), notes) == 0.03
    assert notes == ["readout 30.00 ms from the lens profile"]


@pytest.mark.parametrize("log_camera, source", [("GoPro HERO5 Black", None),
                                                (None, "GoPro_HERO5_Black_4K.json")])
def test_a_known_camera_gets_its_typical_readout_as_a_noted_assumption(log_camera, source):
    notes = []
    got = resolve_readout(None, _log(camera=log_camera), _camera(source=source), notes)
    assert got == DEFAULT_READOUT_S["HERO5"]
    assert len(notes) == 1 and "assumed 15 ms for HERO5" in notes[0]


def test_an_unknown_readout_is_a_global_shutter_or_left_unknown_without_guessing():
    notes = []
    assert resolve_readout(None, _log(camera="GoPro HERO5 Black"), None, notes,
                           guess=False) is None
    assert resolve_readout(None, _log(), None, notes, guess=False) is None
    assert notes == []
    assert resolve_readout(None, _log(), None, notes) == 0.0
    assert notes == ["readout unknown: assumed a global shutter (set --readout-ms)"]


def test_assumptions_are_logged_under_the_library_logger(caplog):
    with caplog.at_level(logging.INFO, logger="steadyrig"):
        resolve_readout(None, _log(), _camera(0.03))  # no notes list: logged all the same
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("steadyrig.sensors.readout", "readout 30.00 ms from the lens profile")]
