"""Frame by frame on an equirect clip (``Stabilizer``): the sphere rotated as ``stabilize_video``
rotates it."""

import av
import numpy as np
import pytest

from sensors.quaternion import qangle
from sensors.synthetic import generate_clip
from stabilize.inputs import resolve_inputs
from stabilize.params import StabilizeParams
from stabilize.pipeline import plan_clip, stabilize_video
from stabilize.stabilizer import Stabilizer, lookahead_frames

W, H = 256, 128


@pytest.fixture(scope="module")
def walk360(tmp_path_factory):
    return generate_clip(tmp_path_factory.mktemp("st360"), kind="walk", seed=71, width=W,
                         height=H, duration_s=1.5, readout_s=0.02, audio=False,
                         projection="equirect")


def _luma(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray()[:H] for f in c.decode(video=0)]


def test_pushed_equirect_luma_comes_back_as_stabilize_video_rotates_the_sphere(walk360):
    res = stabilize_video(walk360.video, walk360.video.with_name("lossless.mp4"),
                          offset_ms=0.0, params=StabilizeParams(crf=0))
    want = _luma(res.output)
    st = Stabilizer.from_video(walk360.video, offset_ms=0.0)  # projection found: equirect
    assert st.projection == res.projection == "equirect"
    frames = _luma(walk360.video)
    got = []
    for y in frames:
        ready = st.push(y)
        assert len(ready) == 1
        got += ready
    assert st.flush() == [] and len(got) == len(want) == walk360.n_frames
    for a, b in zip(got, want, strict=True):  # same path, same sphere warp: equal to the bit
        np.testing.assert_array_equal(a, b)
    # which tells warps apart: the input frames are levels off
    assert min(np.abs(f.astype(int) - w).mean() for f, w in zip(frames, want, strict=True)) > 1


def test_a_sphere_stabilizer_without_a_plan_follows_the_offline_path_within_its_window(
        walk360):
    # a window the 12 frames of lookahead hold whole: the windowed path is the offline one
    params = StabilizeParams(filters=("gaussian",), window_s=0.1, lookahead_frames=12)
    plan = plan_clip(resolve_inputs(walk360.video, offset_ms=0.0, projection="equirect"),
                     params)
    st = Stabilizer(plan.motion, params, 30.0, projection="equirect")
    n = lookahead_frames(params, 30.0)
    assert st.lookahead == n == 12
    inner = range(n, len(plan.motion) - n)
    got = np.array([st.virtual_at(i)[0] for i in inner])
    want = plan.path.virtual_quat[n:len(plan.motion) - n]
    err = np.degrees(qangle(got, want))
    assert err.max() < 0.05
    assert all(st.virtual_at(i)[1] == 1.0 for i in inner)  # a sphere is never zoomed
