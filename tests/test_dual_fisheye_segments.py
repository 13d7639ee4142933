"""A dual-fisheye clip across workers: its lenses calibrated and its seams solved once over the
whole clip, the segments stitched and rotated with them and joined without re-encoding into
what a single run writes."""

import av
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from sensors.spherical import read_spherical
from sensors.synthetic import generate_clip
from stabilize.dual_fisheye.options import DualFisheyeOptions
from stabilize.params import StabilizeParams
from stabilize.pipeline import stabilize_video
from stabilize.segments import stabilize_segmented

pytestmark = pytest.mark.slow

W, H = 480, 240
OPTIONS = DualFisheyeOptions(keyframe_interval_s=0.5)


@pytest.fixture(scope="module")
def walk_df(tmp_path_factory):
    return generate_clip(tmp_path_factory.mktemp("segdf"), kind="walk", seed=71, width=W,
                         height=H, duration_s=1.5, projection="dual-fisheye")


def _frames(path):
    with av.open(str(path)) as c:
        return [(f.pts, f.to_ndarray()[: f.height]) for f in c.decode(c.streams.video[0])]


def test_lossless_dual_fisheye_segments_are_the_single_runs_frames_exactly(walk_df, tmp_path):
    params = StabilizeParams(crf=0, encoder_threads=1)
    single = stabilize_video(walk_df.video, tmp_path / "single.mp4", offset_ms=0.0,
                             params=params, dual_fisheye=OPTIONS)
    res = stabilize_segmented(walk_df.video, tmp_path / "seg.mp4", segments=3, workers=2,
                              offset_ms=0.0, params=params, dual_fisheye=OPTIONS)
    assert single.projection == res.projection == "dual-fisheye"
    a, b = _frames(tmp_path / "single.mp4"), _frames(tmp_path / "seg.mp4")
    assert len(b) == len(a) == walk_df.n_frames
    assert [p for p, _ in b] == [p for p, _ in a]
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(a, b, strict=True))
    assert any("seams solved on" in n for n in res.notes)


def test_the_command_line_splits_a_dual_fisheye_clip_and_saves_its_rig(walk_df, tmp_path):
    out, rig = tmp_path / "seg.mp4", tmp_path / "rig.json"
    r = CliRunner().invoke(main, ["stabilize", str(walk_df.video), "--dual-fisheye",
                                  "--offset-ms", "0", "--segments", "2", "--workers", "2",
                                  "--save-rig", str(rig), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "dual-fisheye: lenses stitched" in r.output and rig.is_file()
    info = read_spherical(out)
    assert info is not None and info.projection == "equirect" and info.versions == (1, 2)
    with av.open(str(out)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (W, H)
        assert c.streams.video[0].frames in (0, walk_df.n_frames)
        assert len(c.streams.audio) == 1
