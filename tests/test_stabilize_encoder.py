"""Encoder options: the preset's lookahead is kept until its frames would exceed the budget."""

import av
import numpy as np
import pytest

from sensors.errors import InputError
from stabilize.encoder import (
    LOOKAHEAD_BUDGET_MPX,
    PRESET_LOOKAHEAD,
    effective_lookahead,
    encoder_options,
)
from stabilize.params import StabilizeParams


@pytest.mark.parametrize("codec", ["h264", "hevc"])
@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_every_preset_is_untouched_up_to_1080p(codec, size):
    for preset in PRESET_LOOKAHEAD[codec]:
        assert effective_lookahead(codec, preset, *size) is None


def test_1440p_keeps_fast_presets_and_caps_medium():
    assert effective_lookahead("h264", "fast", 2560, 1440) is None
    assert effective_lookahead("h264", "medium", 2560, 1440) == 34


def test_4k_medium_lookahead_is_capped_to_the_budget():
    la = effective_lookahead("h264", "medium", 3840, 2160)
    assert la == int(LOOKAHEAD_BUDGET_MPX * 1e6 // (3840 * 2160))
    assert la * 3840 * 2160 <= LOOKAHEAD_BUDGET_MPX * 1e6 < (la + 1) * 3840 * 2160
    assert encoder_options("h264", 18, "medium", 3840, 2160) == {
        "crf": "18", "preset": "medium", "x264-params": f"rc-lookahead={la}"}


def test_cap_never_raises_a_preset_and_keeps_a_useful_floor():
    # veryfast has 10 frames: 8K would cap it to 4, but the floor keeps the preset's 10
    assert effective_lookahead("h264", "veryfast", 7680, 4320) is None
    assert effective_lookahead("h264", "slow", 7680, 4320) == 10
    assert effective_lookahead("h264", "ultrafast", 7680, 4320) is None


def test_explicit_lookahead_is_used_as_given_and_hevc_keeps_its_log_level():
    assert encoder_options("hevc", 20, "medium", 640, 360, rc_lookahead=7) == {
        "crf": "20", "preset": "medium", "x265-params": "log-level=error:rc-lookahead=7"}
    assert encoder_options("prores", 20, "medium", 3840, 2160) == {}


def test_unknown_preset_is_refused_before_any_work():
    with pytest.raises(InputError, match="unknown h264 preset 'mediun'"):
        StabilizeParams(preset="mediun")
    with pytest.raises(InputError, match="rc-lookahead"):
        StabilizeParams(rc_lookahead=-1)


def test_libx264_accepts_the_options(tmp_path):
    # the options reach a real encoder: it opens and encodes with them
    with av.open(str(tmp_path / "o.mp4"), "w") as out:
        s = out.add_stream("libx264", rate=30,
                           options=encoder_options("h264", 30, "ultrafast", 64, 48,
                                                   rc_lookahead=3))
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, np.uint8), "rgb24")
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    with av.open(str(tmp_path / "o.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 5
