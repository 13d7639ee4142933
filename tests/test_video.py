"""Video facts from the container and gyro coverage of a clip."""

from fractions import Fraction

import av
import numpy as np
import pytest

from sensors.errors import InputError
from sensors.readers import read_log
from sensors.video import check_coverage, probe_video


def _tiny_clip(path, n=6, fps=25, rotation=None):
    """A 64x48 H.264 clip of flat grey frames (optionally with a display rotation)."""
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        if rotation is not None:
            s.set_display_rotation(rotation)
        for i in range(n):
            img = np.full((48, 64, 3), 30 * i, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def test_hero7_container_facts(samples_dir):
    v = probe_video(samples_dir / "gopro" / "hero7.mp4")
    assert (v.width, v.height) == (848, 480)
    assert v.fps_fraction == Fraction(30000, 1001)
    assert v.n_frames == 352
    assert v.has_audio and v.codec == "h264"
    # PTS x time_base: one frame every 1001/30000 s from 0.
    np.testing.assert_allclose(v.frame_t_s, np.arange(352) * 1001 / 30000, atol=1e-9)
    assert v.duration_s == pytest.approx(352 * 1001 / 30000)


def test_generated_clip_rotation_and_no_audio(tmp_path):
    v = probe_video(_tiny_clip(tmp_path / "r.mp4", rotation=90))
    assert v.rotation_deg == 90
    assert not v.has_audio
    assert v.n_frames == 6
    np.testing.assert_allclose(v.frame_t_s, np.arange(6) / 25, atol=1e-9)
    assert probe_video(_tiny_clip(tmp_path / "n.mp4")).rotation_deg == 0


def test_hero7_gyro_ends_before_the_video(samples_dir):
    f = samples_dir / "gopro" / "hero7.mp4"
    v = probe_video(f)
    log = read_log(f)
    cov = check_coverage(log.gyro.t_s, v.frame_t_s, str(f))
    assert not cov.complete
    tail = v.frame_t_s[-1] - log.gyro.t_s[-1]
    assert tail == pytest.approx(0.7, abs=0.05)
    assert cov.last_uncovered == v.n_frames - 1
    assert cov.uncovered_s[0][0] > log.gyro.t_s[-1]
    assert "gyro covers 330 of 352 frames" in cov.warning()


def test_coverage_finds_a_hole_inside_the_log():
    frames = np.arange(100) / 30.0
    g = np.arange(0, 3.4, 0.005)
    g = g[(g < 1.01) | (g > 1.49)]  # ~0.48 s missing: frames 31..44 fall in it
    cov = check_coverage(g, frames)
    assert len(cov.uncovered_s) == 1
    a, b = cov.uncovered_s[0]
    assert (a, b) == pytest.approx((31 / 30, 44 / 30))
    assert (cov.first_uncovered, cov.last_uncovered) == (31, 44)
    assert cov.fraction == pytest.approx(1 - 14 / 100)


def test_full_coverage_has_no_warning():
    cov = check_coverage(np.arange(0, 2.0, 0.005), np.arange(30) / 30.0)
    assert cov.complete and cov.warning() is None


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage" * 100])
def test_unreadable_video_is_input_error(tmp_path, content):
    f = tmp_path / "bad.mp4"
    f.write_bytes(content)
    with pytest.raises(InputError) as info:
        probe_video(f)
    assert str(info.value).startswith(str(f)) and "\n" not in str(info.value)
