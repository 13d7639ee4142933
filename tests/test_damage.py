"""Damaged recordings are processed as ffmpeg processes them (sensors.damage).

Ground truth: a generated clip re-encoded with a keyframe every 12 frames, then damaged by
``sensors.synthetic.damage``; which frames the garbled bytes belong to comes from the packets'
byte positions, so the decoder can only lose frames of the groups of pictures that hold them.
"""

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from sensors.damage import DecodeDamage, scan_video
from sensors.readers import read_log
from sensors.sync import sync_video_to_gyro
from sensors.synthetic import generate_clip
from sensors.synthetic.damage import drop_index, garble_mdat, reencode, truncate
from sensors.video import probe_video

GOP = 12


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 4 s walk (120 frames, audio) with a keyframe every GOP frames, index in front."""
    d = tmp_path_factory.mktemp("damage_clip")
    c = generate_clip(d / "gen", kind="walk", seed=3, width=320, height=180, duration_s=4.0)
    good = d / "good.mp4"
    reencode(c.video, good, gop=GOP, faststart=True)
    shutil.copy(c.gcsv, d / "good.gcsv")
    shutil.copy(c.lens, d / "good.lens.json")
    return {"dir": d, "good": good, "generated": Path(c.video)}


def _variant(clip, name: str) -> Path:
    """Path ``name.mp4`` in a fresh folder, with the clip's log and lens profile beside it."""
    d = clip["dir"] / name
    d.mkdir(exist_ok=True)
    shutil.copy(clip["dir"] / "good.gcsv", d / f"{name}.gcsv")
    shutil.copy(clip["dir"] / "good.lens.json", d / f"{name}.lens.json")
    return d / f"{name}.mp4"


def _damage_window_s(path: Path, span: tuple[int, int]) -> tuple[float, float]:
    """Times of the groups of pictures whose packets overlap the byte range ``span``:
    [keyframe at or before the first garbled packet, next keyframe after the last one)."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        pk = [(p.pos, p.size, p.is_keyframe, float(p.pts * s.time_base))
              for p in c.demux(s) if p.size]
    key_t = sorted(t for _, _, k, t in pk if k)
    hit = [t for pos, n, _, t in pk if pos < span[1] and pos + n > span[0]]
    assert hit, "the garbled bytes must fall on video packets"
    lo = max(t for t in key_t if t <= min(hit) + 1e-9)
    later = [t for t in key_t if t > max(hit) + 1e-9]
    return lo, (later[0] if later else np.inf)


@pytest.fixture(scope="module")
def garbled(clip):
    """40 KB of random bytes in the middle of the media data (about 1/9 of it)."""
    path = _variant(clip, "garbled")
    span = garble_mdat(clip["good"], path, 40_000, at=0.45, seed=1)
    return path, _damage_window_s(path, span)


def _run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in r.output
    return r


def _within(ranges, window, fps):
    lo, hi = window
    return all(lo - 0.5 / fps <= d["start_s"] <= d["end_s"] < hi for d in ranges)


def test_stabilize_skips_damage_and_keeps_every_frame_at_its_time(clip, garbled, tmp_path):
    video, window = garbled
    out, side = tmp_path / "out.mp4", tmp_path / "out.json"
    r = _run("stabilize", video, "-o", out, "--sidecar", side)
    assert r.exit_code == 0, r.output
    src, dst = probe_video(clip["good"]), probe_video(out)
    assert dst.n_frames == src.n_frames  # stand-ins fill the lost frames
    np.testing.assert_allclose(dst.frame_t_s, src.frame_t_s, atol=1e-9)
    damage = json.loads(side.read_text())["damage"]
    assert damage and _within(damage, window, src.fps)
    lost = sum(d["frames"] for d in damage if d["kind"] == "lost")
    assert 0 < sum(d["frames"] for d in damage) <= 0.2 * src.n_frames
    notes = [ln for ln in r.output.splitlines() if ln.startswith("note: damaged video")]
    assert len(notes) == 1
    assert f"{lost} frame(s) undecodable, replaced by the neighbouring frame" in notes[0]


def test_strict_refuses_damaged_video_in_one_line(garbled, tmp_path):
    video, _ = garbled
    out = tmp_path / "o"
    out.mkdir()
    r = _run("stabilize", video, "-o", out / "s.mp4", "--offset-ms", "0", "--strict")
    assert r.exit_code == 2
    errors = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "damaged video" in errors[0] and "--strict" in errors[0]
    assert list(out.iterdir()) == []


def test_stand_ins_show_the_previous_good_frame_at_the_missing_time(garbled):
    video, window = garbled
    info = probe_video(video)
    damage = DecodeDamage.for_video(info)
    with av.open(str(video)) as c:
        v = c.streams.video[0]
        items = [(int(pts), shows, fr.pts) for fr, pts, shows in damage.read(c, v, [v])]
    pts = np.round(info.frame_t_s / float(info.time_base)).astype(np.int64)
    assert [p for p, _, _ in items] == pts.tolist()  # every frame once, in order, own time
    stood = [(k, shows) for k, (_, shows, _) in enumerate(items) if shows is not None]
    assert stood and len(stood) == damage.n_lost
    good = {k for k, (_, shows, _) in enumerate(items) if shows is None}
    for k, shows in stood:
        assert shows == max(g for g in good if g < k)  # the last good frame before it
        assert window[0] - 1e-9 <= info.frame_t_s[k] < window[1]


def test_lost_first_frames_are_stood_in_for_by_the_next_good_one(clip):
    video = _variant(clip, "head")
    with av.open(str(clip["good"])) as c:
        first = next(p for p in c.demux(c.streams.video[0]) if p.size)
        span = (first.pos, first.pos + first.size)
    garble_mdat(clip["good"], video, span[1] - span[0], at=0.0, seed=2)
    info = probe_video(video)
    damage = DecodeDamage.for_video(info)
    with av.open(str(video)) as c:
        v = c.streams.video[0]
        items = [(int(pts), shows) for _, pts, shows in damage.read(c, v, [v])]
    assert len(items) == info.n_frames
    first_good = next(k for k, (_, shows) in enumerate(items) if shows is None)
    assert 0 < first_good <= GOP  # the first group of pictures is lost, the next decodes
    assert all(shows == first_good for _, shows in items[:first_good])


def test_truncated_tail_keeps_what_is_there_and_says_the_file_ends_early(clip, tmp_path):
    video = _variant(clip, "cut")
    truncate(clip["good"], video, keep=0.97)
    out, side = tmp_path / "cut.mp4", tmp_path / "cut.json"
    r = _run("stabilize", video, "-o", out, "--sidecar", side)
    assert r.exit_code == 0, r.output
    src, cut, dst = probe_video(clip["good"]), probe_video(video), probe_video(out)
    assert dst.n_frames == cut.n_frames >= 0.95 * src.n_frames
    np.testing.assert_allclose(dst.frame_t_s, cut.frame_t_s, atol=1e-9)
    assert "the file ends early" in r.output
    damage = json.loads(side.read_text())["damage"]
    tail = [d for d in damage if d["kind"] == "truncated"]
    assert len(tail) == 1 and tail[0]["frames"] == src.n_frames - cut.n_frames


def test_missing_index_is_one_error_line(clip, tmp_path):
    video = _variant(clip, "noindex")
    drop_index(clip["generated"], video)  # index at the end, as cameras write it
    for args in (("stabilize", video, "-o", tmp_path / "x.mp4"), ("inspect", video)):
        r = _run(*args)
        assert r.exit_code == 2
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error:") and "moov" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_inspect_reports_the_damaged_stretches(clip, garbled, tmp_path):
    video, window = garbled
    r = _run("inspect", video, "--json", tmp_path / "d.json")
    assert r.exit_code == 0, r.output
    damage = json.loads((tmp_path / "d.json").read_text())["damage"]
    assert damage and _within(damage, window, probe_video(video).fps)
    assert "damage:" in r.output
    assert scan_video(clip["good"]).as_list() == []


def test_sync_decodes_past_damage_and_finds_the_same_offset(clip, garbled):
    video, _ = garbled
    gyro = read_log(clip["dir"] / "good.gcsv").gyro
    clean = sync_video_to_gyro(str(clip["good"]), gyro, readout_s=0.02)
    damaged = sync_video_to_gyro(str(video), gyro, readout_s=0.02)
    assert abs(damaged.offset_s - clean.offset_s) < 1e-3
    assert any(n.startswith("sync: damaged video") for n in damaged.notes)
    assert not any("damaged" in n for n in clean.notes)
