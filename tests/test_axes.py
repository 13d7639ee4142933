"""Specification of IMU axis mappings and their two spellings (sensors.readers.axes)."""

import itertools

import numpy as np
import pytest

from sensors.errors import InputError
from sensors.readers.axes import (
    ALL_AXIS_MAPS,
    IDENTITY,
    AxisMap,
    apply_orientation,
    camera_to_raw,
    gyroflow_to_camera,
    raw_to_camera,
)

ORIENTATIONS = ["".join(c.upper() if up else c for c, up in zip(perm, ups, strict=True))
                for perm in itertools.permutations("xyz")
                for ups in itertools.product((False, True), repeat=3)]


def test_there_are_48_maps_half_of_them_rotations():
    assert len({m.signed for m in ALL_AXIS_MAPS}) == 48
    assert sum(m.proper for m in ALL_AXIS_MAPS) == 24
    assert IDENTITY.signed == "+x+y+z" and np.array_equal(IDENTITY.matrix, np.eye(3))


@pytest.mark.parametrize("m", ALL_AXIS_MAPS, ids=lambda m: m.signed)
def test_both_spellings_name_the_same_map(m):
    assert AxisMap.from_signed(m.signed) == m
    assert AxisMap.from_orientation(m.orientation) == m
    assert AxisMap.from_matrix(m.matrix) == m


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_an_orientation_string_maps_raw_columns_through_gyroflows_frame(orientation):
    # Gyroflow's definition, step by step: columns -> Gyroflow IMU frame -> camera axes.
    raw = np.random.default_rng(len(orientation)).normal(size=(20, 3))
    by_steps = gyroflow_to_camera(apply_orientation(raw, orientation))
    np.testing.assert_array_equal(AxisMap.from_orientation(orientation).apply(raw), by_steps)
    np.testing.assert_array_equal(raw_to_camera(camera_to_raw(by_steps, orientation),
                                                orientation), by_steps)


def test_camera_axes_are_orientation_yxz():
    assert AxisMap.from_orientation("yxz") == IDENTITY
    assert IDENTITY.orientation == "yxz"


def test_a_signed_string_says_which_column_feeds_each_camera_axis():
    m = AxisMap.from_signed("-y+x-z")
    g = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(m.apply(g), [[-2.0, 1.0, -3.0]])
    np.testing.assert_array_equal(m.matrix @ g[0], [-2.0, 1.0, -3.0])
    np.testing.assert_array_equal(m.unapply(m.apply(g)), g)
    np.testing.assert_array_equal(m.inverse.matrix, m.matrix.T)


def test_the_nearest_map_of_a_slightly_rotated_permutation_is_that_permutation():
    m = AxisMap.from_signed("+z-x-y")
    c, s = np.cos(0.2), np.sin(0.2)
    tilt = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    assert AxisMap.nearest(tilt @ m.matrix) == m


@pytest.mark.parametrize("bad", ["+x+x+z", "x+y+z+", "+x+y", "+a+b+c"])
def test_a_bad_signed_string_is_refused(bad):
    with pytest.raises(InputError, match="signed"):
        AxisMap.from_signed(bad)


@pytest.mark.parametrize("bad", ["xxz", "XY", "abc", "+x+y+z"])
def test_a_bad_orientation_is_refused_naming_the_file(bad):
    with pytest.raises(InputError, match="orientation") as e:
        AxisMap.from_orientation(bad, "log.gcsv")
    assert "log.gcsv" in str(e.value)
