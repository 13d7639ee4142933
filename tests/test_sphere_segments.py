"""An equirect clip across workers: planned once as a rotation of the sphere, its segments warped
by the sphere warper and joined without re-encoding into what a single run writes."""

import json

import av
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from sensors.spherical import read_spherical
from sensors.synthetic import generate_clip
from stabilize.params import StabilizeParams
from stabilize.pipeline import stabilize_video
from stabilize.segments import stabilize_segmented

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def walk360(tmp_path_factory):
    return generate_clip(tmp_path_factory.mktemp("seg360"), kind="walk", seed=61, width=320,
                         height=160, duration_s=2.0, readout_s=0.02, projection="equirect")


def _frames(path):
    with av.open(str(path)) as c:
        return [(f.pts, f.to_ndarray()[: f.height]) for f in c.decode(c.streams.video[0])]


def test_lossless_equirect_segments_are_the_single_runs_frames_exactly(walk360, tmp_path):
    params = StabilizeParams(crf=0, encoder_threads=1)
    single = stabilize_video(walk360.video, tmp_path / "single.mp4", offset_ms=0.0,
                             params=params)
    res = stabilize_segmented(walk360.video, tmp_path / "seg.mp4", segments=3, workers=2,
                              offset_ms=0.0, params=params, sidecar=tmp_path / "seg.json")
    assert single.projection == res.projection == "equirect"
    a, b = _frames(tmp_path / "single.mp4"), _frames(tmp_path / "seg.mp4")
    assert len(b) == len(a) == walk360.n_frames
    assert [p for p, _ in b] == [p for p, _ in a]
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(a, b, strict=True))
    np.testing.assert_array_equal(res.virtual_quat, single.virtual_quat)
    assert json.loads((tmp_path / "seg.json").read_text())["projection"] == "equirect"


def test_the_joined_equirect_output_carries_spherical_metadata(walk360, tmp_path):
    out = tmp_path / "seg.mp4"
    r = CliRunner().invoke(main, ["stabilize", str(walk360.video), "--offset-ms", "0",
                                  "--segments", "2", "--workers", "2", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "equirect: sphere rotated, spherical metadata written" in r.output
    info = read_spherical(out)
    assert info is not None and info.projection == "equirect" and info.stereo == "mono"
    assert info.versions == (1, 2)
    with av.open(str(out)) as c:  # the input's size and audio kept
        assert (c.streams.video[0].width, c.streams.video[0].height) == (320, 160)
        assert len(c.streams.audio) == 1
