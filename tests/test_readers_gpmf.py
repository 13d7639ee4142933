"""The project's GoPro GPMF reader: KLV parsing, MP4 sample tables, the bundled clips' figures,
agreement with telemetry-parser where it is installed, and one-line errors on broken payloads."""

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensors.errors import InputError
from sensors.readers import read_log
from sensors.readers.gpmf import read_gopro
from sensors.readers.gpmf_klv import GpmfError, decode, parse_klv, stream_items
from sensors.readers.mp4_tracks import read_mp4_index
from sensors.video import probe_video

CLIPS = ("karma.mp4", "hero7.mp4", "max-heromode.mp4")


def _klv(key: bytes, typ: bytes, size: int, repeat: int, payload: bytes) -> bytes:
    assert len(payload) == size * repeat
    return key + typ + struct.pack(">BH", size, repeat) + payload + b"\0" * (-len(payload) % 4)


def _nest(key: bytes, *items: bytes) -> bytes:
    body = b"".join(items)
    return key + b"\0" + struct.pack(">BH", 4, len(body) // 4) + body


# ---------------------------------------------------------------------------------------------
# KLV


def test_klv_nesting_padding_and_scaled_values():
    gyro = np.array([[100, -200, 300], [0, 50, -50]], dtype=">i2")
    strm = _nest(
        b"STRM",
        _klv(b"STMP", b"J", 8, 1, struct.pack(">Q", 1_000_000)),
        _klv(b"SIUN", b"c", 5, 1, b"rad/s"),  # 5 bytes: 3 of padding follow
        _klv(b"SCAL", b"s", 2, 1, struct.pack(">h", 100)),
        _klv(b"GYRO", b"s", 6, 2, gyro.tobytes()),  # 12 bytes: no padding
    )
    custom = _nest(
        b"STRM",
        _klv(b"TMPC", b"q", 4, 1, struct.pack(">i", int(-1.5 * 65536))),  # Q15.16
        _klv(b"TYPE", b"c", 1, 3, b"fsB"),
        _klv(b"CUST", b"?", 7, 1, struct.pack(">fhB", 2.5, -7, 9)),  # 7 bytes: 1 of padding
    )
    devc = _nest(b"DEVC", _klv(b"DVID", b"L", 4, 1, struct.pack(">I", 1)),
                 _klv(b"DVNM", b"c", 1, 6, b"Camera"), strm, custom)
    (dev,) = parse_klv(devc)
    assert dev.is_nest and [c.key for c in dev.children] == ["DVID", "DVNM", "STRM", "STRM"]
    assert decode(dev.children[1]) == "Camera"
    (g,) = stream_items(dev.children[2])
    assert g.key == "GYRO" and g.props["SIUN"] == "rad/s"
    assert float(g.props["STMP"][0, 0]) == 1e6
    np.testing.assert_array_equal(g.values(), gyro.astype(float) / 100.0)
    # Properties belong to their own stream; the structure is decoded through its TYPE.
    (c,) = stream_items(dev.children[3])
    assert "SCAL" not in c.props and c.props["TMPC"][0, 0] == -1.5
    np.testing.assert_array_equal(c.values(), [[2.5, -7.0, 9.0]])


def test_klv_per_column_scale_and_text_lists():
    strm = _nest(b"STRM", _klv(b"SCAL", b"l", 4, 2, struct.pack(">ii", 10, 1000)),
                 _klv(b"UNIT", b"c", 3, 2, b"degm\0\0"),
                 _klv(b"GPSX", b"l", 8, 1, struct.pack(">ii", 125, 4000)))
    (item,) = stream_items(parse_klv(strm)[0])
    assert item.props["UNIT"] == ["deg", "m"]
    np.testing.assert_array_equal(item.values(), [[12.5, 4.0]])


@pytest.mark.parametrize("data, reason", [
    (_klv(b"GYRO", b"s", 6, 2, bytes(12))[:-4], "truncated"),
    (b"\xff\xfe\x00\x01" + bytes(12), "bad GPMF key"),
    (b"GYRO" + b"x" + struct.pack(">BH", 2, 1) + bytes(4), "unknown GPMF type"),
    (_nest(b"DEVC", _klv(b"DVNM", b"c", 1, 6, b"Camera"))[:-2], "truncated"),
])
def test_klv_rejects_malformed_bytes_with_one_line(data, reason):
    with pytest.raises(GpmfError, match=reason) as info:
        parse_klv(data)
    assert "\n" not in str(info.value)


def test_klv_structure_without_type_is_an_error():
    (item,) = parse_klv(_klv(b"CUST", b"?", 4, 1, bytes(4)))
    with pytest.raises(GpmfError, match="no TYPE"):
        decode(item)


# ---------------------------------------------------------------------------------------------
# MP4 sample tables


@pytest.mark.parametrize("name", CLIPS)
def test_gpmf_sample_times_and_bytes_match_pyav(samples_dir, name):
    import av

    path = samples_dir / "gopro" / name
    index = read_mp4_index(path)
    (track,) = [t for t in index.tracks if t.sample_format == "gpmd"]
    assert track.handler == "meta" and track.handler_name == "GoPro MET"
    payloads = index.read_samples(track)
    with av.open(str(path)) as c:
        stream = c.streams[track.track_id - 1]
        packets = [(float(p.pts * p.time_base), float(p.duration * p.time_base), bytes(p))
                   for p in c.demux() if p.stream.index == stream.index and p.size]
    assert len(packets) == len(track)
    np.testing.assert_allclose(track.t_s, [p[0] for p in packets], atol=1e-9)
    np.testing.assert_allclose(track.duration_s, [p[1] for p in packets], atol=1e-9)
    assert payloads == [p[2] for p in packets]


# ---------------------------------------------------------------------------------------------
# Figures of the bundled clips, from the project's reader alone


def test_karma_hero5_figures(samples_dir):
    log = read_log(samples_dir / "gopro" / "karma.mp4")
    assert log.meta["parser"] == "gpmf" and log.format == "telemetry"
    assert log.camera == "GoPro HERO5 Black"
    assert len(log.gyro) == 4795
    assert log.gyro.rate_hz == pytest.approx(397.55, abs=0.005)
    assert log.readout_s is None
    assert float(np.median(log.exposure_s)) * 1000.0 == pytest.approx(4.870, abs=0.0005)
    cm = log.camera_meta
    assert cm.model == "HERO5 Black"
    assert cm.lens_mode == "M" and cm.lens_mode_name == "Medium"
    assert cm.in_camera_stabilization is False
    assert cm.camera_orientation is None and cm.image_orientation is None
    # Accel (200 Hz) is timed by its own stream and put on the 400 Hz gyro times.
    assert log.meta["accel_resampled_from"] == 2397
    assert np.linalg.norm(log.gyro.accel_m_s2.mean(axis=0)) == pytest.approx(9.7, abs=0.3)


def test_hero7_figures(samples_dir):
    path = samples_dir / "gopro" / "hero7.mp4"
    log = read_log(path)
    assert log.camera == "GoPro HERO7 Black" and len(log.gyro) == 2175
    assert log.gyro.rate_hz == pytest.approx(197.53, abs=0.005)
    assert log.readout_s * 1000.0 == pytest.approx(8.015, abs=0.0005)
    assert float(np.median(log.exposure_s)) * 1000.0 == pytest.approx(0.959, abs=0.0005)
    cm = log.camera_meta
    assert cm.in_camera_stabilization is True and cm.stabilization_setting == "HS EIS"
    assert cm.settings["EISE"] == "Y" and cm.lens_mode == "W"
    # The metadata track stops before the video: the gyro ends ~0.7 s before the last frame.
    video = probe_video(path)
    assert video.frame_t_s[-1] - log.gyro.t_s[-1] == pytest.approx(0.71, abs=0.05)


def test_max_figures_and_orientation_quaternions(samples_dir):
    path = samples_dir / "gopro" / "max-heromode.mp4"
    log = read_log(path)
    assert log.camera == "GoPro Max" and len(log.gyro) == 2082
    assert log.gyro.rate_hz == pytest.approx(197.45, abs=0.005)
    assert log.readout_s * 1000.0 == pytest.approx(20.601, abs=0.0005)
    cm = log.camera_meta
    assert cm.in_camera_stabilization is True and cm.stabilization_setting == "HS HLevel"
    video = probe_video(path)
    frame_s = 1001 / 30000
    for track in (cm.camera_orientation, cm.image_orientation):
        # One quaternion per frame (the last payload holds one past the 315 encoded frames).
        assert len(track) == len(log.exposure_s) == 316
        assert abs(len(track) - video.n_frames) <= 1
        np.testing.assert_allclose(np.diff(track.t_s), frame_s, atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(track.quat_wxyz, axis=1), 1.0, atol=1e-3)
        np.testing.assert_array_equal(track.as_xyzw()[:, 3], track.quat_wxyz[:, 0])


@pytest.mark.parametrize("name", CLIPS)
def test_gopro_gyro_starts_at_zero_with_uniform_steps(samples_dir, name):
    g = read_gopro(samples_dir / "gopro" / name).gyro
    assert g.t_s[0] == 0.0
    np.testing.assert_allclose(np.diff(g.t_s), 1.0 / g.rate_hz, rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# Agreement with telemetry-parser (where it is installed)


@pytest.mark.parametrize("name", CLIPS)
def test_same_log_as_telemetry_parser(samples_dir, name):
    pytest.importorskip("telemetry_parser")
    from sensors.readers.telemetry import read_with_telemetry_parser

    path = samples_dir / "gopro" / name
    ours, ref = read_gopro(path), read_with_telemetry_parser(path)
    assert ref.meta["parser"] == "telemetry-parser"
    assert ours.camera == ref.camera
    assert len(ours.gyro) == len(ref.gyro)
    assert ours.gyro.rate_hz == pytest.approx(ref.gyro.rate_hz, rel=1e-9)
    np.testing.assert_allclose(ours.gyro.t_s, ref.gyro.t_s, atol=1e-6)  # 1 us
    np.testing.assert_allclose(ours.gyro.omega_rad_s, ref.gyro.omega_rad_s, atol=1e-12)
    assert (ours.readout_s is None) == (ref.readout_s is None)
    if ref.readout_s is not None:
        assert ours.readout_s == pytest.approx(ref.readout_s, abs=1e-9)
    np.testing.assert_allclose(ours.exposure_s, ref.exposure_s, atol=1e-12)
    assert ours.same_clock_as_video and ref.same_clock_as_video


@pytest.mark.parametrize("name", ["hero7.mp4", "max-heromode.mp4"])
def test_same_accel_as_telemetry_parser_at_the_gyro_rate(samples_dir, name):
    pytest.importorskip("telemetry_parser")
    from sensors.readers.telemetry import read_with_telemetry_parser

    path = samples_dir / "gopro" / name
    ours, ref = read_gopro(path), read_with_telemetry_parser(path)
    np.testing.assert_allclose(ours.gyro.accel_m_s2, ref.gyro.accel_m_s2, atol=1e-12)


def test_hero5_accel_agrees_with_telemetry_parser_on_gravity(samples_dir):
    # telemetry-parser gives the n-th accel sample of a payload the n-th gyro row's time, which
    # squeezes the 200 Hz accel into the first half of each second; we time it by its own
    # stream. Both see the same gravity.
    pytest.importorskip("telemetry_parser")
    from sensors.readers.telemetry import read_with_telemetry_parser

    path = samples_dir / "gopro" / "karma.mp4"
    ours, ref = read_gopro(path), read_with_telemetry_parser(path)
    assert ours.meta["accel_resampled_from"] == ref.meta["accel_resampled_from"]
    np.testing.assert_allclose(ours.gyro.accel_m_s2.mean(axis=0),
                               ref.gyro.accel_m_s2.mean(axis=0), atol=0.2)


# ---------------------------------------------------------------------------------------------
# Broken payloads


def _copy_with_payload_edit(samples_dir, tmp_path, k, edit):
    src = samples_dir / "gopro" / "hero7.mp4"
    index = read_mp4_index(src)
    (track,) = [t for t in index.tracks if t.sample_format == "gpmd"]
    data = bytearray(src.read_bytes())
    off = int(track.offset[k])
    edit(data, off)
    out = tmp_path / "broken.mp4"
    out.write_bytes(bytes(data))
    return out


def test_garbage_payload_is_one_line_input_error(samples_dir, tmp_path):
    def garble(data, off):
        data[off:off + 64] = b"\xff" * 64

    f = _copy_with_payload_edit(samples_dir, tmp_path, 3, garble)
    with pytest.raises(InputError, match=r"GPMF payload 3 \(at 3\.003 s\): bad GPMF key") as info:
        read_log(f)
    assert str(info.value).startswith(str(f)) and "\n" not in str(info.value)


def test_overlong_item_in_payload_is_one_line_input_error(samples_dir, tmp_path):
    def overlong(data, off):
        # The first item inside the DEVC (DVID) claims 0xffff repeats of 4 bytes.
        data[off + 8 + 6:off + 8 + 8] = b"\xff\xff"

    f = _copy_with_payload_edit(samples_dir, tmp_path, 0, overlong)
    with pytest.raises(InputError, match=r"GPMF payload 0 .*truncated") as info:
        read_log(f)
    assert "\n" not in str(info.value)


def test_damaged_settings_box_costs_the_settings_not_the_gyro(samples_dir, tmp_path):
    data = bytearray((samples_dir / "gopro" / "hero7.mp4").read_bytes())
    i = data.find(b"GPMFDEVC") + 4 + 8  # the first item inside the settings device
    data[i:i + 4] = b"\x01\x02\x03\x04"
    f = tmp_path / "h7.mp4"
    f.write_bytes(bytes(data))
    log = read_gopro(f)
    assert len(log.gyro) == 2175 and log.readout_s * 1000.0 == pytest.approx(8.015, abs=5e-4)
    assert log.camera_meta.in_camera_stabilization is None and log.camera_meta.settings == {}
    assert "bad GPMF key" in log.meta["settings_error"]


def test_mp4_without_gpmf_track_is_not_gopro(tmp_path):
    from sensors.synthetic import generate_clip

    clip = generate_clip(tmp_path, kind="static", seed=1, width=64, height=36, duration_s=0.2,
                         audio=False)
    with pytest.raises(InputError, match="no GoPro GPMF telemetry track"):
        read_gopro(clip.video)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(["index", "payload"]), seed=st.integers(0, 2**32 - 1),
       n=st.integers(1, 8))
def test_property_damaged_gopro_file_reads_or_raises_one_line(samples_dir, tmp_path, where,
                                                               seed, n):
    src = samples_dir / "gopro" / "hero7.mp4"
    data = bytearray(src.read_bytes())
    index = read_mp4_index(src)
    (track,) = [t for t in index.tracks if t.sample_format == "gpmd"]
    rng = np.random.default_rng(seed)
    if where == "index":
        a, b = data.rfind(b"moov") - 4, len(data)
    else:
        k = int(rng.integers(len(track)))
        a, b = int(track.offset[k]), int(track.offset[k] + track.size[k])
    for p in rng.integers(a, b, size=n):
        data[int(p)] = int(rng.integers(256))
    f = tmp_path / "damaged.mp4"
    f.write_bytes(bytes(data))
    try:
        log = read_gopro(f)
    except InputError as exc:
        assert str(exc).startswith(str(f)) and "\n" not in str(exc)
    else:
        assert len(log.gyro) >= 2 and np.all(np.diff(log.gyro.t_s) > 0)
