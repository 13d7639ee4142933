"""Gyroflow gcsv reader: round trip with the writer, axis strings, header keys, bad input."""

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensors.errors import InputError
from sensors.readers import detect_format, read_log
from sensors.readers.axes import (
    apply_orientation,
    camera_to_raw,
    gyroflow_to_camera,
    raw_to_camera,
    unapply_orientation,
)
from sensors.readers.gcsv import read_gcsv
from sensors.synthetic import camera_path, synthesize_gyro
from sensors.types import GyroLog
from sensors.writers import write_gcsv

G = 9.80665
ALL_ORIENTATIONS = [
    "".join(c.upper() if s else c for c, s in zip(perm, signs, strict=True))
    for perm in itertools.permutations("xyz")
    for signs in itertools.product((False, True), repeat=3)
]


@pytest.fixture(scope="module")
def walk_log() -> GyroLog:
    path = camera_path("walk", 1.5, seed=11, rate_hz=1000.0)
    return synthesize_gyro(path, rate_hz=200.0, seed=12, t0_s=0.0, clock_offset_s=1234.5)


def test_roundtrip_with_writer_keeps_log_clock_and_values(tmp_path, walk_log):
    f = tmp_path / "walk.gcsv"
    write_gcsv(f, walk_log, readout_s=0.0123, tscale=1e-6, gscale=1e-5, ascale=1e-4)
    log = read_log(f)
    assert log.format == "gcsv"
    # Raw rows are integers: each value is within half a quantum of the truth.
    np.testing.assert_allclose(log.gyro.t_s, walk_log.t_s, rtol=0, atol=0.5e-6 + 1e-9)
    assert log.gyro.t_s[0] == pytest.approx(1234.5, abs=0.01)  # not re-based to 0
    np.testing.assert_allclose(log.gyro.omega_rad_s, walk_log.omega_rad_s, rtol=0,
                               atol=0.5e-5 + 1e-12)
    np.testing.assert_allclose(log.gyro.accel_m_s2, walk_log.accel_m_s2, rtol=0,
                               atol=0.5e-4 * G + 1e-9)
    assert log.readout_s == pytest.approx(0.0123, abs=1e-9)
    assert log.readout_direction == "top_to_bottom"


@pytest.mark.parametrize("orientation", ["XYZ", "yxz", "ZyX", "xZy"])
def test_any_orientation_string_roundtrips(tmp_path, walk_log, orientation):
    f = tmp_path / "o.gcsv"
    write_gcsv(f, walk_log, orientation=orientation, gscale=1e-6)
    log = read_gcsv(f)
    assert log.imu_orientation == orientation
    np.testing.assert_allclose(log.gyro.omega_rad_s, walk_log.omega_rad_s, atol=0.5e-6 + 1e-12)


def test_orientation_yxz_means_columns_are_camera_axes():
    raw = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(raw_to_camera(raw, "yxz"), raw)


def test_gyroflow_up_axis_is_camera_minus_y():
    # Gyroflow's frame: x up, y left, z backward. Camera: x right, y down, z forward.
    np.testing.assert_array_equal(gyroflow_to_camera(np.array([[1.0, 0, 0]])), [[0, -1.0, 0]])
    np.testing.assert_array_equal(gyroflow_to_camera(np.array([[0, 1.0, 0]])), [[-1.0, 0, 0]])
    np.testing.assert_array_equal(gyroflow_to_camera(np.array([[0, 0, 1.0]])), [[0, 0, -1.0]])


@pytest.mark.parametrize("orientation", ALL_ORIENTATIONS)
def test_orientation_inverse_is_exact(orientation):
    rng = np.random.default_rng(2376609)
    v = rng.normal(size=(5, 3))
    np.testing.assert_array_equal(unapply_orientation(apply_orientation(v, orientation),
                                                      orientation), v)
    np.testing.assert_array_equal(raw_to_camera(camera_to_raw(v, orientation), orientation), v)


@pytest.mark.parametrize("bad", ["XY", "XXZ", "abc", "XYZW", ""])
def test_invalid_orientation_string_is_rejected(bad):
    with pytest.raises(InputError, match="orientation"):
        apply_orientation(np.zeros((1, 3)), bad)


def test_header_keys_kept_and_numeric_readout_direction(tmp_path, walk_log):
    f = tmp_path / "h.gcsv"
    write_gcsv(f, walk_log, readout_s=0.02, readout_direction="bottom_to_top",
               extra_header={"vendor": "potatocam", "lensprofile": "potato/wide", "foo": "bar"})
    log = read_gcsv(f)
    assert log.readout_direction == "bottom_to_top"
    assert log.meta["header"]["foo"] == "bar"
    assert log.meta["header"]["lensprofile"] == "potato/wide"
    assert "potatocam" in log.camera
    text = f.read_text().replace("frame_readout_direction,BottomToTop",
                                 "frame_readout_direction,2")
    f.write_text(text)
    assert read_gcsv(f).readout_direction == "left_to_right"


def test_float_rows_without_scales(tmp_path):
    f = tmp_path / "float.gcsv"
    f.write_text("CAMERA IMU LOG\nversion,1\norientation,yxz\nt,gx,gy,gz\n"
                 "0.0,0.1,0.2,0.3\n0.005,0.4,0.5,0.6\n0.010,0.7,0.8,0.9\n")
    assert detect_format(f) == "gcsv"
    log = read_log(f)
    np.testing.assert_allclose(log.gyro.t_s, [0, 0.005, 0.010])
    np.testing.assert_allclose(log.gyro.omega_rad_s[1], [0.4, 0.5, 0.6])
    assert log.gyro.accel_m_s2 is None


def _gcsv(rows: str, header: str = "tscale,0.001\ngscale,1\n") -> str:
    return "GYROFLOW IMU LOG\nversion,1\norientation,XYZ\n" + header + "t,gx,gy,gz\n" + rows


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_gcsv("0,1,2,3\n1,1,2,3\n2,1,2"), "line 9: expected 4 values"),
        (_gcsv("0,1,2,3\n1,nan,2,3\n2,1,2,3\n"), "NaN or infinity"),
        (_gcsv("0,1,2,3\n1,inf,2,3\n"), "NaN or infinity"),
        (_gcsv("0,1,2,3\n1,1,2,3\n1,1,2,3\n"), "duplicated"),
        (_gcsv("0,1,2,3\n2,1,2,3\n1,1,2,3\n"), "non-monotonic"),
        (_gcsv("0,1,2,3\n1,a,2,3\n"), "not a number"),
        (_gcsv("0,1,2,3\n1,1,2,3\n", "tscale,-1\n"), "tscale must be a positive"),
        (_gcsv("0,1,2,3\n1,1,2,3\n", "tscale,x\n"), "tscale is not a number"),
        (_gcsv("0,1,2,3\n1,1,2,3\n", "frame_readout_direction,Sideways\n"), "TopToBottom"),
        (_gcsv("0,1,2,3\n"), "at least 2"),
        ("GYROFLOW IMU LOG\nversion,1\ntscale,0.001\n", "no column row"),
    ],
)
def test_bad_gcsv_is_one_line_error_naming_the_file(tmp_path, content, message):
    f = tmp_path / "bad.gcsv"
    f.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_log(f)
    assert str(info.value).startswith(str(f))
    assert "\n" not in str(info.value)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_log(tmp_path / "nope.gcsv")
    (tmp_path / "empty.gcsv").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_log(tmp_path / "empty.gcsv")
    with pytest.raises(InputError, match="not a gcsv"):
        read_gcsv(__file__)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(2, 60),
    tscale=st.sampled_from([1e-3, 1e-6, 1e-9]),
    gscale=st.floats(1e-7, 1e-2),
    ascale=st.floats(1e-6, 1e-2),
    orientation=st.sampled_from(ALL_ORIENTATIONS),
)
def test_property_any_valid_log_roundtrips(tmp_path, seed, n, tscale, gscale, ascale,
                                           orientation):
    rng = np.random.default_rng(seed)
    dt = rng.uniform(1e-3, 2e-2, size=n)
    t = rng.uniform(-1e3, 1e3) + np.cumsum(dt)
    omega = rng.normal(scale=2.0, size=(n, 3))
    acc = rng.normal(scale=9.0, size=(n, 3))
    log = GyroLog(t, omega, acc)
    f = tmp_path / f"p{seed}.gcsv"
    write_gcsv(f, log, orientation=orientation, tscale=tscale, gscale=gscale, ascale=ascale)
    back = read_gcsv(f).gyro
    # t is quantised to tscale; the writer works from the float times, so allow float64
    # rounding of large timestamps as well.
    np.testing.assert_allclose(back.t_s, t, rtol=0, atol=tscale / 2 + 1e-9 * abs(t).max())
    np.testing.assert_allclose(back.omega_rad_s, omega, rtol=0, atol=gscale / 2 * (1 + 1e-9))
    np.testing.assert_allclose(back.accel_m_s2, acc, rtol=0, atol=ascale * G / 2 * (1 + 1e-9))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(3, 40))
def test_property_unsorted_timestamps_are_rejected(tmp_path, seed, n):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.integers(1, 50, size=n))
    order = rng.permutation(n)
    if np.all(order == np.arange(n)):
        order = order[::-1]
    rows = np.column_stack([t[order], rng.integers(-999, 999, size=(n, 3))])
    f = tmp_path / f"s{seed}.gcsv"
    f.write_text("GYROFLOW IMU LOG\nversion,1\norientation,yxz\ntscale,0.001\nt,gx,gy,gz\n"
                 + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n")
    with pytest.raises(InputError, match="non-monotonic"):
        read_log(f)
