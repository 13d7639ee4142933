"""A dual-fisheye clip whose frames hold the lenses stacked (H = 2W, front on top): found by
``auto``, worked on side by side as it is decoded, and stabilized into exactly what its
side-by-side twin gives."""

import av
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from sensors.errors import InputError
from sensors.fisheye_layout import side_by_side_size, to_side_by_side
from sensors.spherical import read_spherical
from sensors.synthetic import generate_clip
from stabilize.dual_fisheye.options import DualFisheyeOptions
from stabilize.params import StabilizeParams
from stabilize.pipeline import stabilize_video

pytestmark = pytest.mark.slow

W, H = 480, 240  # side by side
OPTIONS = DualFisheyeOptions(keyframe_interval_s=0.5)


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """The same generated walk written side by side and stacked, both lossless."""
    kw = dict(kind="walk", seed=81, duration_s=1.0, projection="dual-fisheye", crf=0)
    sbs = generate_clip(tmp_path_factory.mktemp("sbs"), width=W, height=H, **kw)
    stacked = generate_clip(tmp_path_factory.mktemp("stacked"), width=H, height=W,
                            layout="stacked", **kw)
    return sbs, stacked


def _frames(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(c.streams.video[0])]


def test_a_stacked_frame_is_its_side_by_side_twin_rearranged(twins):
    sbs, stacked = twins
    a, b = _frames(sbs.video), _frames(stacked.video)
    assert b[0].shape == (W, H, 3) and side_by_side_size((H, W)) == (W, H)
    assert all(np.array_equal(x, to_side_by_side(y)) for x, y in zip(a, b, strict=True))


def test_a_stacked_clip_stabilizes_to_what_its_side_by_side_twin_gives(twins, tmp_path):
    sbs, stacked = twins
    params = StabilizeParams(crf=0, encoder_threads=1)
    one = stabilize_video(sbs.video, tmp_path / "sbs.mp4", offset_ms=0.0, params=params,
                          dual_fisheye=OPTIONS)
    two = stabilize_video(stacked.video, tmp_path / "stacked.mp4", offset_ms=0.0,
                          params=params, projection="auto", dual_fisheye=OPTIONS)
    assert one.projection == two.projection == "dual-fisheye"
    assert any("stacked" in n for n in two.notes)
    a, b = _frames(tmp_path / "sbs.mp4"), _frames(tmp_path / "stacked.mp4")
    assert b[0].shape == (H, W, 3) and len(a) == len(b) == sbs.n_frames
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_the_command_line_writes_a_stacked_clip_as_equirect_360(twins, tmp_path):
    out = tmp_path / "o.mp4"
    r = CliRunner().invoke(main, ["stabilize", str(twins[1].video), "--offset-ms", "0",
                                  "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    info = read_spherical(out)
    assert info is not None and info.projection == "equirect"
    with av.open(str(out)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (W, H)
        assert len(c.streams.audio) == 1


def test_a_stacked_layout_is_only_for_dual_fisheye_clips(tmp_path):
    with pytest.raises(InputError, match="dual-fisheye"):
        generate_clip(tmp_path, width=160, height=320, duration_s=0.2, layout="stacked")


def test_a_stacked_clip_syncs_its_log_from_its_own_picture(tmp_path):
    from stabilize.inputs import resolve_inputs

    clip = generate_clip(tmp_path, kind="walk", seed=82, width=240, height=480,
                         duration_s=2.0, projection="dual-fisheye", layout="stacked",
                         log_offset_s=0.3, audio=False)
    inputs = resolve_inputs(clip.video, projection="auto")
    assert inputs.projection == "dual-fisheye" and inputs.camera.size == (480, 240)
    assert abs(inputs.offset_s - 0.3) < 1e-3


def test_a_rig_saved_from_a_stacked_still_serves_the_stacked_clip(twins, tmp_path):
    import cv2

    stacked = twins[1]
    still, rig = tmp_path / "still.png", tmp_path / "rig.json"
    cv2.imwrite(str(still), _frames(stacked.video)[0])
    r = CliRunner().invoke(main, ["stitch", "--dual-fisheye", str(still), "-o",
                                  str(tmp_path / "pano.jpg"), "--save-rig", str(rig), "-q"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "o.mp4"
    r = CliRunner().invoke(main, ["stabilize", str(stacked.video), "--dual-fisheye", "--rig",
                                  str(rig), "--offset-ms", "0", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    with av.open(str(out)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (W, H)
