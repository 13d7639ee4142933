"""Plain CSV reader: column/unit mapping, auto-detection, the real twistnsync logs, bad input."""

import numpy as np
import pytest

from sensors.errors import InputError
from sensors.readers import detect_format, read_log
from sensors.readers.axes import camera_to_raw
from sensors.synthetic import camera_path, synthesize_gyro


@pytest.fixture(scope="module")
def gyro():
    return synthesize_gyro(camera_path("pan", 1.0, seed=5, rate_hz=1000.0), rate_hz=200.0,
                           seed=6, accel=False, clock_offset_s=50.0)


def _write(path, header, cols, delimiter=","):
    lines = [delimiter.join(header)]
    lines += [delimiter.join(f"{v:.12g}" for v in row) for row in np.column_stack(cols)]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("name", ["smartphone_gyro_data.csv", "mcu_gyro_data.csv"])
def test_twistnsync_logs_auto_detect_prefixed_columns(samples_dir, name):
    f = samples_dir / "gyro_logs" / "twistnsync" / name
    assert detect_format(f) == "csv"
    log = read_log(f)
    prefix = name.split("_")[0] if name.startswith("mcu") else "sm"
    assert log.meta["time_col"] == f"{prefix}_time"
    assert log.meta["gyro_cols"] == [f"{prefix}_x", f"{prefix}_y", f"{prefix}_z"]
    assert log.meta["time_unit"] == "s"
    # Bare axis names carry no unit: the documented default rad/s applies (the files are rad/s;
    # a hand-held phone peaks near 1 rad/s, not 0.02).
    assert log.meta["gyro_unit"] == "rad/s"
    assert 0.5 < np.abs(log.gyro.omega_rad_s).max() < 10.0
    assert log.gyro.rate_hz == pytest.approx(500.0, abs=0.5)
    assert len(log.gyro) == 4883


def test_twistnsync_logs_keep_their_clocks(samples_dir):
    d = samples_dir / "gyro_logs" / "twistnsync"
    sm = read_log(d / "smartphone_gyro_data.csv")
    mcu = read_log(d / "mcu_gyro_data.csv")
    # Two clocks ~947849 s apart (published offset 947848.6384 s; the logs start at
    # slightly different moments): neither is re-based.
    assert sm.gyro.t_s[0] - mcu.gyro.t_s[0] == pytest.approx(947848.6384, abs=1.0)


def test_explicit_mapping_units_and_axes(tmp_path, gyro):
    f = tmp_path / "log.csv"
    raw = camera_to_raw(gyro.omega_rad_s, "XYZ")
    _write(f, ["stamp", "a", "b", "c", "temp"],
           [gyro.t_s * 1e3, np.rad2deg(raw), np.full(len(gyro), 21.0)], delimiter=";")
    log = read_log(f, "csv", time_col="stamp", gyro_cols=("a", "b", "c"), time_unit="ms",
                   gyro_unit="deg/s", axes="XYZ")
    np.testing.assert_allclose(log.gyro.t_s, gyro.t_s, rtol=0, atol=1e-9)
    np.testing.assert_allclose(log.gyro.omega_rad_s, gyro.omega_rad_s, rtol=0, atol=1e-10)
    assert log.meta["delimiter"] == ";"


def test_unit_suffixes_are_understood(tmp_path, gyro):
    f = tmp_path / "log.csv"
    _write(f, ["timestamp_us", "gx_dps", "gy_dps", "gz_dps"],
           [np.round(gyro.t_s * 1e6), np.rad2deg(gyro.omega_rad_s)])
    log = read_log(f)
    assert (log.meta["time_unit"], log.meta["gyro_unit"]) == ("us", "deg/s")
    np.testing.assert_allclose(log.gyro.omega_rad_s, gyro.omega_rad_s, atol=1e-10)


def test_time_unit_inferred_from_sample_interval(tmp_path, gyro):
    f = tmp_path / "log.csv"
    _write(f, ["time", "x", "y", "z"], [np.round(gyro.t_s * 1e9), gyro.omega_rad_s])
    log = read_log(f)
    assert log.meta["time_unit"] == "ns"
    assert "time_unit" in log.meta["inferred"]
    assert log.gyro.rate_hz == pytest.approx(200.0, rel=0.05)


def test_ambiguous_time_unit_asks_for_it(tmp_path):
    f = tmp_path / "log.csv"
    t = np.arange(50) * 0.07  # 0.07 s (14 Hz) or 0.07 ms (14 kHz): both plausible
    _write(f, ["t", "gx", "gy", "gz"], [t, np.zeros((50, 3))])
    with pytest.raises(InputError, match="pass time_unit, one of s, ms, us, ns"):
        read_log(f)
    assert read_log(f, time_unit="s").gyro.rate_hz == pytest.approx(1 / 0.07)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"time_unit": "fortnights"}, "unknown time unit 'fortnights'; valid: s, ms, us, ns"),
        ({"gyro_unit": "rpm"}, "unknown gyro unit 'rpm'; valid: rad/s, deg/s"),
        ({"gyro_cols": ("a", "b")}, "gyro_cols must name 3"),
        ({"time_col": "when"}, "no time column 'when'"),
        ({"axes": "XXY"}, "invalid IMU orientation"),
    ],
)
def test_bad_options_list_valid_values(tmp_path, gyro, options, message):
    f = tmp_path / "log.csv"
    _write(f, ["t", "gx", "gy", "gz"], [gyro.t_s, gyro.omega_rad_s])
    with pytest.raises(InputError, match=message):
        read_log(f, "csv", **options)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,3,4\n5,6,7,8\n", "no header row"),
        ("t,a,b,c\n1,2,3,4\n2,3,4,5\n", "no gyro columns found"),
        ("t,gx,gy,gz\n0,1,2,3\n0.005,1,2\n", "line 3: expected 4 values"),
        ("t,gx,gy,gz\n0,1,2,3\n0.005,nan,2,3\n0.01,1,2,3\n", "NaN or infinity"),
        ("t,gx,gy,gz\n0,1,2,3\n0.01,1,2,3\n0.005,1,2,3\n", "non-monotonic"),
        ("t,gx,gy,gz\n0,1,2,3\n0.005,1,2,3\n0.005,1,2,3\n", "duplicated"),
    ],
)
def test_bad_csv_is_one_line_error(tmp_path, text, message):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        read_log(f, "csv", time_unit="s")
    assert "\n" not in str(info.value)


def test_shuffled_timestamps_rejected(tmp_path, gyro):
    rng = np.random.default_rng(2376609)
    order = rng.permutation(len(gyro))
    f = tmp_path / "shuffled.csv"
    _write(f, ["t", "gx", "gy", "gz"], [gyro.t_s[order], gyro.omega_rad_s[order]])
    with pytest.raises(InputError, match="non-monotonic"):
        read_log(f)
