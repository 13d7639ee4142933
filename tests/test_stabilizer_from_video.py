"""Frame by frame from a video (``Stabilizer.from_video``): the frames ``stabilize_video`` writes,
one out per frame in, in order."""

import dataclasses

import av
import cv2
import numpy as np
import pytest

from sensors.errors import InputError
from sensors.readers import read_log
from sensors.synthetic import generate_clip
from stabilize.params import StabilizeParams
from stabilize.pipeline import stabilize_video
from stabilize.stabilizer import Stabilizer

W, H = 192, 108


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("frames")
    return generate_clip(d, kind="walk", seed=4, width=W, height=H, duration_s=1.5,
                         readout_s=0.02, audio=False)


def _decoded(path, fmt):
    """Every frame of ``path``: ``yuv`` the Y plane as stored, else ``to_ndarray(format=fmt)``."""
    with av.open(str(path)) as c:
        return [f.to_ndarray()[:H] if fmt == "yuv" else f.to_ndarray(format=fmt)
                for f in c.decode(video=0)]


@pytest.fixture(scope="module")
def lossless(clip):
    """``stabilize_video``'s warped luma exactly: encoded at CRF 0 (lossless H.264)."""
    res = stabilize_video(clip.video, clip.video.with_name("lossless.mp4"), offset_ms=0.0,
                          params=StabilizeParams(crf=0))
    return res, _decoded(res.output, "yuv")


def _grey(bgr):
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(int)


def test_pushed_luma_planes_come_back_as_stabilize_video_warps_them(clip, lossless):
    res, want = lossless
    st = Stabilizer.from_video(clip.video, offset_ms=0.0)
    assert st.stabilized_frames == res.stabilized_frames == (0, len(want))
    got = []
    for y in _decoded(clip.video, "yuv"):
        ready = st.push(y)
        assert len(ready) == 1  # the path is planned: no lookahead, no latency
        got += ready
    assert st.flush() == []
    assert len(got) == len(want)
    # the same path, mesh and remap on the same plane: equal to the bit
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_bgr_frames_come_back_in_order_within_a_grey_level_of_stabilize_video(clip, lossless):
    res, _ = lossless
    want = _decoded(res.output, "bgr24")  # warped in YUV, then converted as the input is
    st = Stabilizer.from_video(clip.video, offset_ms=0.0, indexed=True)
    frames = _decoded(clip.video, "bgr24")
    got = [pair for f in frames for pair in st.push(f)] + st.flush()
    assert [i for i, _ in got] == list(range(len(frames)))
    assert all(o.shape == (H, W, 3) and o.dtype == np.uint8 for _, o in got)
    # converted to BGR before the warp or after it: the same picture in grey levels up to the
    # conversions' rounding (colour differs more where chroma edges are: warped at full size
    # here, at half size in stabilize_video)
    diff = [np.abs(_grey(o) - _grey(w)) for (_, o), w in zip(got, want, strict=True)]
    assert max(float(d.mean()) for d in diff) < 0.5
    assert min(float(np.mean(d <= 1)) for d in diff) > 0.98
    assert max(int(d.max()) for d in diff) <= 4
    # which tells warps apart: the frames as they came in are levels off
    unwarped = [np.abs(_grey(f) - _grey(w)).mean() for f, w in zip(frames, want, strict=True)]
    assert min(unwarped) > 4 * 0.5


def test_settings_reach_the_params_and_notes_say_what_was_found(clip):
    st = Stabilizer.from_video(clip.video, offset_ms=0.0, window_s=0.4, zoom="fixed")
    assert (st.params.window_s, st.params.zoom) == (0.4, "fixed")
    assert any("beside the video" in n for n in st.notes)  # the clip's lens profile
    assert st.motion.offset_s == 0.0
    assert st.motion.readout_s == pytest.approx(0.02)  # from the generated log


def test_frames_the_log_does_not_reach_take_their_motion_from_the_video(clip):
    log = read_log(clip.gcsv)
    t0 = log.gyro.t_s[0]
    short = dataclasses.replace(log, gyro=log.gyro.slice(t0, t0 + 2.0 + 0.8))  # lead 2 s
    st = Stabilizer.from_video(clip.video, gyro=short, offset_ms=0.0)
    assert st.stabilized_frames == (0, 45)
    assert (st.motion_source[:23] == "gyro").all() and (st.motion_source[27:] == "video").all()
    assert any("does not cover" in n for n in st.notes)
    frames = _decoded(clip.video, "bgr24")
    got = [o for f in frames for o in st.push(f)] + st.flush()
    assert len(got) == len(frames)
    assert not any(np.array_equal(o, f) for o, f in zip(got, frames, strict=True))


def test_a_frame_of_another_size_or_one_too_many_is_refused(clip):
    st = Stabilizer.from_video(clip.video, offset_ms=0.0)
    with pytest.raises(InputError, match="108x192"):
        st.push(np.zeros((H // 2, W // 2, 3), np.uint8))
    frame = np.zeros((H, W, 3), np.uint8)
    for _ in range(len(st.motion)):
        st.push(frame)
    with pytest.raises(IndexError):
        st.push(frame)


def test_the_windowed_constructor_still_returns_indexed_pairs(clip):
    planned = Stabilizer.from_video(clip.video, offset_ms=0.0)
    st = Stabilizer(planned.motion, StabilizeParams(window_s=0.2, zoom_hold_s=0.2), 30.0)
    assert st.lookahead > 0 and st.indexed
    frame = np.full((H, W), 128, np.uint8)
    got = [p for _ in range(len(st.motion)) for p in st.push(frame)] + st.flush()
    assert [i for i, _ in got] == list(range(len(st.motion)))
