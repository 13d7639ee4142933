"""Spherical video metadata: the MP4 box tree, V1/V2 written and read back, projection found."""

import av
import numpy as np
import pytest

from sensors.errors import InputError
from sensors.mp4_boxes import parse_boxes, read_moov, top_level_boxes
from sensors.spherical import (
    SPHERICAL_V1_UUID,
    detect_projection,
    read_spherical,
    write_spherical,
)


def _write_clip(path, faststart=False, frames=12):
    opts = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=opts) as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 128, 64, "yuv420p"
        for i in range(frames):
            img = np.full((64, 128, 3), 10 + 18 * i, np.uint8)
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


def _means(path):
    with av.open(str(path)) as c:
        return [float(f.to_ndarray(format="gray").mean()) for f in c.decode(video=0)]


def test_moov_tree_serializes_to_the_same_bytes(tmp_path):
    p = _write_clip(tmp_path / "a.mp4")
    (typ, off, size), = [b for b in top_level_boxes(p) if b[0] == b"moov"]
    raw = p.read_bytes()[off:off + size]
    moov = parse_boxes(raw)[0]
    assert moov.find(b"trak", b"mdia", b"minf", b"stbl", b"stsd") is not None
    assert moov.serialize() == raw


@pytest.mark.parametrize("faststart", [False, True])
def test_written_metadata_is_read_back_and_the_video_is_unchanged(tmp_path, faststart):
    p = _write_clip(tmp_path / "a.mp4", faststart)
    before = _means(p)
    assert read_spherical(p) is None
    assert detect_projection(p, (128, 64))[0] == "flat"
    write_spherical(p)
    info = read_spherical(p)
    assert info is not None and info.projection == "equirect" and info.stereo == "mono"
    assert info.versions == (1, 2)
    assert detect_projection(p, (128, 64))[0] == "equirect"
    # the media data was not disturbed (moved and re-pointed when moov comes first)
    assert np.allclose(_means(p), before)
    # written twice: still one of each box
    write_spherical(p)
    trak = read_moov(p).find(b"trak")
    assert sum(b.type == b"uuid" and b.usertype == SPHERICAL_V1_UUID for b in trak.children) == 1
    entry = trak.find(b"mdia", b"minf", b"stbl", b"stsd").children[0]
    assert [b.type for b in entry.children].count(b"sv3d") == 1


@pytest.mark.parametrize("version", [1, 2])
def test_each_layout_alone_marks_the_clip_as_360(tmp_path, version):
    p = _write_clip(tmp_path / "a.mp4")
    write_spherical(p, versions=(version,))
    assert read_spherical(p).versions == (version,)
    assert detect_projection(p, (128, 64))[0] == "equirect"


def test_a_2to1_frame_needs_a_360_camera_to_count_as_equirect(tmp_path):
    p = _write_clip(tmp_path / "a.mp4")
    assert detect_projection(p, (128, 64), "Insta360 X3")[0] == "equirect"
    assert detect_projection(p, (128, 64), "GoPro HERO9")[0] == "flat"
    assert detect_projection(p, (128, 72), "Insta360 X3")[0] == "flat"


def test_a_file_that_is_not_mp4_has_no_metadata_and_cannot_take_it(tmp_path):
    p = tmp_path / "x.mp4"
    p.write_bytes(b"\x00\x00\x00\x03junk")
    assert detect_projection(p, (128, 64))[0] == "flat"
    with pytest.raises(InputError):
        write_spherical(p)
