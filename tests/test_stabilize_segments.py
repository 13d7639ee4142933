"""One clip across workers: three time segments on an embedded cluster of two workers, joined
without re-encoding, against a single run of the same clip."""

import av
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from sensors.synthetic import generate_clip
from stabilize.params import StabilizeParams
from stabilize.pipeline import stabilize_video
from stabilize.segments import segment_ranges, stabilize_segmented

pytestmark = pytest.mark.slow

JOINS = (30, 60)  # first frames of segments 2 and 3 of 90


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return generate_clip(tmp_path_factory.mktemp("seg"), kind="walk", width=160, height=90,
                         duration_s=3.0, seed=4)


def _decode(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = [(f.pts, f.to_ndarray()[: f.height].astype(np.int16)) for f in c.decode(v)]
    with av.open(str(path)) as c:
        packets = [(p.stream.type, p.pts, p.is_keyframe) for p in c.demux() if p.pts is not None]
    keys = [pts for kind, pts, key in packets if kind == "video" and key]
    audio = [pts for kind, pts, _ in packets if kind == "audio"]
    return frames, keys, audio


def test_segment_ranges_cover_every_frame_once():
    assert segment_ranges(90, 3) == [(0, 30), (30, 60), (60, 90)]
    assert segment_ranges(2, 5) == [(0, 1), (1, 2)]


def test_three_segments_join_into_the_single_runs_frames_and_timestamps(clip, tmp_path):
    single = stabilize_video(clip.video, tmp_path / "single.mp4", offset_ms=0.0,
                             params=StabilizeParams(filters=("intent",)))
    res = CliRunner().invoke(main, ["stabilize", str(clip.video), "--offset-ms", "0",
                                    "--smoothing", "intent", "--segments", "3", "--workers",
                                    "2", "-o", str(tmp_path / "seg.mp4"), "--json", "-"])
    assert res.exit_code == 0, res.output
    import json

    summary = json.loads(res.stdout)  # --json -: stdout holds the JSON alone
    assert summary["n_frames"] == 90 and summary["segments"] == 3
    a, _, audio_a = _decode(tmp_path / "single.mp4")
    b, keys, audio_b = _decode(tmp_path / "seg.mp4")
    assert len(b) == len(a) == single.n_frames == 90
    assert [p for p, _ in b] == [p for p, _ in a]
    with av.open(str(clip.video)) as c:  # the input's own timestamps
        assert [f.pts for f in c.decode(c.streams.video[0])] == [p for p, _ in b]
    # every segment starts with an IDR picture
    assert {a[j][0] for j in (0, *JOINS)} <= set(keys)
    # audio copied once, packet for packet
    assert audio_b == audio_a and len(audio_b) > 0
    # the joins: same warps, so only the encoders' noise differs (x264 crf 18: ~1 level)
    for j in JOINS:
        for k in (j - 1, j):
            diff = np.abs(a[k][1] - b[k][1])
            assert diff.mean() < 2.5, (k, diff.mean())
    # no frame-to-frame jump at a join beyond the single run's own
    for j in JOINS:
        jump_seg = np.abs(b[j][1] - b[j - 1][1]).mean()
        jump_single = np.abs(a[j][1] - a[j - 1][1]).mean()
        assert jump_seg < jump_single + 2.0


def test_lossless_segments_are_the_single_runs_frames_exactly(clip, tmp_path):
    # Four segments: joins at 0.733 s and 2.267 s, off the millisecond grid an MP4's edit
    # list keeps, so the join must restore the exact timestamps.
    params = StabilizeParams(crf=0, encoder_threads=1)
    stabilize_video(clip.video, tmp_path / "single.mp4", offset_ms=0.0, params=params)
    res = stabilize_segmented(clip.video, tmp_path / "seg.mp4", segments=4, workers=2,
                              offset_ms=0.0, params=params)
    assert any("4 segments joined at frames 22, 45, 68" in n for n in res.notes)
    a, _, _ = _decode(tmp_path / "single.mp4")
    b, keys, _ = _decode(tmp_path / "seg.mp4")
    assert [p for p, _ in b] == [p for p, _ in a]
    assert {b[j][0] for j in (0, 22, 45, 68)} <= set(keys)
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(a, b, strict=True))
    assert not [p.name for p in tmp_path.iterdir() if ".part" in p.name]  # segments removed


def test_an_interrupt_leaves_neither_the_output_nor_a_segment_file(clip, tmp_path):
    def interrupt(progress):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stabilize_segmented(clip.video, tmp_path / "seg.mp4", segments=3, workers=2,
                            offset_ms=0.0, progress=interrupt)
    assert list(tmp_path.iterdir()) == []
