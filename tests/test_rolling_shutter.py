"""Specification of the rolling-shutter row time (sensors.rolling_shutter)."""

import numpy as np
import pytest

from sensors.errors import InputError
from sensors.rolling_shutter import row_fraction, row_time_s
from sensors.types import FrameTiming


def test_the_middle_of_the_frame_is_captured_at_the_frame_time():
    # An even height has no middle row: the sensor's centre line lies between rows H/2 - 1 and H/2.
    assert row_time_s(5.0, 539.5, 1080, 0.03) == 5.0


def test_first_and_last_rows_are_half_a_readout_minus_half_a_row_away():
    h, r = 100, 0.02
    t = row_time_s(1.0, np.array([0, h - 1]), h, r)
    np.testing.assert_allclose(t, [1.0 - 0.5 * r + 0.5 * r / h, 1.0 + 0.5 * r - 0.5 * r / h],
                               rtol=0, atol=1e-15)


@pytest.mark.parametrize("forward, backward", [("top_to_bottom", "bottom_to_top"),
                                               ("left_to_right", "right_to_left")])
def test_a_reversed_readout_mirrors_the_times(forward, backward):
    rows = np.arange(8)
    np.testing.assert_array_equal(row_fraction(rows, 8, backward), -row_fraction(rows, 8, forward))


def test_frames_and_rows_broadcast():
    t = row_time_s(np.array([0.0, 1.0, 2.0])[:, None], np.array([0.0, 9.0])[None, :], 10, 0.01)
    assert t.shape == (3, 2)
    np.testing.assert_allclose(t[:, 1] - t[:, 0], 0.009, atol=1e-15)


def test_a_global_shutter_captures_every_row_at_the_frame_time():
    np.testing.assert_array_equal(row_time_s(3.25, np.arange(50), 50, 0.0), 3.25)


def test_frame_timing_uses_the_same_row_times():
    timing = FrameTiming(np.array([0.0, 1 / 30]), np.full(2, 1e-3), 0.025, "bottom_to_top")
    rows = np.array([0.0, 17.0, 179.0])
    np.testing.assert_array_equal(timing.row_times(1, rows, 180),
                                  row_time_s(1 / 30, rows, 180, 0.025, "bottom_to_top"))


def test_an_unknown_direction_is_refused():
    with pytest.raises(InputError, match="readout direction"):
        row_fraction(0, 10, "diagonal")
