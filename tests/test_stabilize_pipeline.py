"""End to end on a generated clip: residual motion, borders, audio, sidecar, atomic output, CLI."""

import dataclasses
import json
import logging

import av
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from sensors.errors import CoverageError, InputError
from sensors.lens_profile import load_lens_profile
from sensors.readers import read_log
from sensors.synthetic import generate_clip
from sensors.video import probe_video
from stabilize.metrics import compare_frames, video_metrics
from stabilize.params import StabilizeParams
from stabilize.pipeline import stabilize_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("stab")
    return generate_clip(d, kind="walk", seed=3, width=320, height=180, duration_s=2.0,
                         readout_s=0.02, audio=True)


@pytest.fixture(scope="module")
def run(clip):
    out = clip.video.with_name("out.mp4")
    res = stabilize_video(clip.video, out, lens=clip.lens, offset_ms=0.0,
                          sidecar=clip.video.with_name("out.json"),
                          debug_dir=clip.video.parent / "debug")
    return res


def test_residual_motion_is_small_and_rolling_shutter_wobble_not_worse(clip, run):
    before = video_metrics(clip.video)
    after = video_metrics(run.output)
    assert before["jitter_px"] > 1.0  # the input really shakes (px at 960 wide)
    assert after["jitter_px"] < 0.3
    assert after["wobble_px"] <= before["wobble_px"]


def test_output_keeps_frames_rate_and_audio(clip, run):
    a, b = probe_video(clip.video), probe_video(run.output)
    assert (b.width, b.height, b.n_frames) == (a.width, a.height, a.n_frames)
    assert b.fps == pytest.approx(a.fps)
    np.testing.assert_allclose(b.frame_t_s, a.frame_t_s, atol=1e-3)
    assert b.has_audio


def test_no_undefined_border_pixels(run):
    need = run.extras["required_zoom"]
    assert np.all(run.zoom >= need - 1e-9)
    with av.open(str(run.output)) as c:
        for k, fr in enumerate(c.decode(video=0)):
            if k % 10:
                continue
            y = fr.to_ndarray(format="gray").astype(float)
            edges = [y[0].mean(), y[-1].mean(), y[:, 0].mean(), y[:, -1].mean()]
            assert min(edges) > 30.0  # black (16) would mean pixels outside the source


def test_cropping_ratio_and_distortion(clip, run):
    crop, distortion = compare_frames(clip.video, run.output)
    assert crop >= 0.8
    assert distortion > 0.9


def test_sidecar_records_orientations_zoom_offset_and_camera(clip, run):
    d = json.loads(run.sidecar.read_text())
    assert len(d["frames"]) == probe_video(clip.video).n_frames
    f = d["frames"][10]
    assert len(f["real_quat_xyzw"]) == 4 and len(f["virtual_quat_xyzw"]) == 4
    assert f["zoom"] >= 1.0
    assert d["sync_offset_s"] == 0.0
    assert d["readout_s"] == pytest.approx(0.02)
    assert d["params_checksum"] == StabilizeParams().checksum()
    assert d["camera"]["model"] == "opencv_standard"


def test_debug_dir_has_path_plot_and_previews(clip, run):
    files = sorted(p.name for p in (clip.video.parent / "debug").iterdir())
    assert "01_paths.png" in files
    assert sum(n.startswith("02_frame_") for n in files) == 3


def test_output_may_not_overwrite_the_input(clip):
    with pytest.raises(InputError, match="same as an input"):
        stabilize_video(clip.video, clip.video, offset_ms=0.0)


def test_interrupted_run_leaves_no_output(clip):
    out = clip.video.with_name("interrupted.mp4")

    def stop(p):
        if p.done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stabilize_video(clip.video, out, lens=clip.lens, offset_ms=0.0, progress=stop)
    assert not out.exists()
    assert not list(clip.video.parent.glob(".interrupted*"))


def test_progress_comes_as_one_record_per_encoded_frame_and_notes_are_logged(clip, tmp_path,
                                                                            caplog):
    from sensors.progress import Progress

    seen = []
    with caplog.at_level(logging.INFO, logger="steadyrig"):
        res = stabilize_video(clip.video, tmp_path / "p.mp4", offset_ms=0.0,
                              params=StabilizeParams(mesh=(8, 5)), progress=seen.append)
    assert seen == [Progress("stabilize", k, res.n_frames) for k in range(1, res.n_frames + 1)]
    assert res.notes  # the lens profile beside the clip, the gyro bias, ...
    assert set(res.notes) <= {r.getMessage() for r in caplog.records
                              if r.name.startswith("steadyrig.stabilize")}


def test_partial_log_is_refused_when_strict_else_continued_from_the_video(clip):
    log = read_log(clip.gcsv)
    t0 = log.gyro.t_s[0]
    short = dataclasses.replace(log, gyro=log.gyro.slice(t0, t0 + 2.0 + 1.0))  # lead 2 s
    out = clip.video.with_name("partial.mp4")
    with pytest.raises(CoverageError):
        stabilize_video(clip.video, out, gyro=short, offset_ms=0.0, strict=True)
    assert not out.exists()
    res = stabilize_video(clip.video, out, gyro=short, lens=clip.lens, offset_ms=0.0,
                          params=StabilizeParams(mesh=(8, 5)))
    src = res.motion_source
    assert res.stabilized_frames == (0, 60)
    assert (src[:29] == "gyro").all() and (src[32:] == "video").all()
    assert any("does not cover" in n for n in res.notes)
    assert any("taken from the video" in n for n in res.notes)
    assert probe_video(out).n_frames == res.n_frames == 60


def test_cli_finds_the_sidecar_log_and_reports(clip):
    out = clip.video.with_name("cli.mp4")
    r = CliRunner().invoke(main, ["stabilize", str(clip.video), "--lens", str(clip.lens),
                                  "--offset-ms", "0", "-o", str(out), "--window-s", "0.4"])
    assert r.exit_code == 0, r.output
    assert "wrote" in r.output and out.exists()


def test_cli_bad_input_exits_2(tmp_path):
    r = CliRunner().invoke(main, ["stabilize", str(tmp_path / "none.mp4")])
    assert r.exit_code == 2
    assert r.output.startswith("Error:")


def test_display_rotation_is_kept(clip, tmp_path):
    from fractions import Fraction

    rotated = tmp_path / "rot.mp4"
    with av.open(str(clip.video)) as src, av.open(str(rotated), "w") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 320, 180, "yuv420p"
        s.set_display_rotation(90)
        for i, f in enumerate(src.decode(video=0)):
            f.pts, f.time_base = i, Fraction(1, 30)
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    assert probe_video(rotated).rotation_deg == 90
    res = stabilize_video(rotated, tmp_path / "out.mp4", gyro=clip.gcsv, lens=clip.lens,
                          offset_ms=0.0, params=StabilizeParams(mesh=(8, 5)))
    assert probe_video(res.output).rotation_deg == 90


def test_ois_lens_shift_from_a_phone_log_is_undone(tmp_path):
    c = generate_clip(tmp_path, kind="walk", seed=5, width=320, height=180, duration_s=2.0,
                      ois=True, focus_breathing=True, audio=False)
    # no offset given: the phone log's frame stamps place it on the video clock
    with_ois = stabilize_video(c.video, tmp_path / "ois.mp4", gyro=c.phone_dir, lens=c.lens)
    assert with_ois.offset_s == pytest.approx(c.offset_s, abs=1e-6)
    assert any("frame timestamps" in n for n in with_ois.notes)
    gyro_only = stabilize_video(c.video, tmp_path / "gyro.mp4", gyro=c.gcsv, lens=c.lens,
                                offset_ms=0.0)
    assert video_metrics(with_ois.output)["jitter_px"] < 0.3
    # ignoring the lens shift leaves (and here doubles) the OIS motion in the output
    assert video_metrics(gyro_only.output)["jitter_px"] > 1.0


def test_a_gap_in_the_log_is_filled_from_the_video_not_bridged(clip):
    from sensors.types import GyroLog

    log = read_log(clip.gcsv)
    t0 = log.gyro.t_s[0] + 2.0  # the clip starts after the 2 s still lead
    g = log.gyro
    keep = (g.t_s < t0 + 0.8) | (g.t_s > t0 + 1.1)
    holed = dataclasses.replace(log, gyro=GyroLog(g.t_s[keep], g.omega_rad_s[keep]))
    out = clip.video.with_name("gap.mp4")
    with pytest.raises(CoverageError, match="does not cover"):
        stabilize_video(clip.video, out, gyro=holed, offset_ms=0.0, strict=True)
    assert not out.exists()
    sidecar = clip.video.with_name("gap.json")
    res = stabilize_video(clip.video, out, gyro=holed, lens=clip.lens, offset_ms=0.0,
                          sidecar=sidecar, params=StabilizeParams(mesh=(8, 5)))
    gap = (res.motion_source != "gyro")
    frame_t = probe_video(clip.video).frame_t_s
    assert gap.any() and (frame_t[gap] > 0.7).all() and (frame_t[gap] < 1.2).all()
    assert (res.motion_source[gap] == "video").all()
    rec = json.loads(sidecar.read_text())
    assert rec["motion_sources"] == {"gyro": int((~gap).sum()), "video": int(gap.sum()),
                                     "none": 0}
    assert [f["motion_source"] for f in rec["frames"]] == res.motion_source.tolist()


def test_a_lens_profile_named_after_the_clip_is_used_without_lens_option(clip, tmp_path):
    assert clip.lens == clip.video.with_suffix(".lens.json")
    res = stabilize_video(clip.video, tmp_path / "out.mp4", offset_ms=0.0)
    assert any("lens profile" in n and "beside the video" in n for n in res.notes)
    np.testing.assert_allclose(res.camera.K, load_lens_profile(clip.lens, (320, 180)).K)


def test_a_clip_with_ois_and_focus_breathing_keeps_every_border_point_inside(tmp_path):
    # The coverage checks must use the lens as it was (shifted, breathing), as the warp does:
    # before they did, this pan left up to 6 px of undefined border on 10 of 120 frames.
    from stabilize.bad_region import border_points
    from stabilize.filters import compose_chain
    from stabilize.inputs import capture_times
    from stabilize.motion import analyze_motion
    from stabilize.synthesis import map_vertices

    c = generate_clip(tmp_path, kind="pan", seed=9, width=640, height=360, duration_s=4.0,
                      ois=True, focus_breathing=True, audio=False)
    res = stabilize_video(c.video, tmp_path / "o.mp4", gyro=c.phone_dir, lens=c.lens,
                          params=StabilizeParams(filters=compose_chain("intent")))
    info = probe_video(c.video)
    log = read_log(c.phone_dir)
    cam = load_lens_profile(c.lens, size=(info.width, info.height))
    m = analyze_motion(log, capture_times(log, info, res.offset_s, []), cam,
                       offset_s=res.offset_s, readout_s=res.readout_s, bands=17)
    pts = border_points(cam.size, 33)
    w, h = cam.size
    i0, i1 = res.stabilized_frames
    worst = 0.0
    for k in range(i0, i1):
        uv = map_vertices(cam, m.frame(k), res.virtual_quat[k - i0], float(res.zoom[k - i0]), pts)
        worst = max(worst, float(np.max([-uv[:, 0], uv[:, 0] - (w - 1), -uv[:, 1],
                                          uv[:, 1] - (h - 1)])))
    assert worst <= 0.5  # px outside the source: none beyond the bisection tolerance


@pytest.mark.parametrize("pix_fmt, full, codec, depth, want, note", [
    ("yuv420p", False, "h264", "auto", ("yuv420p", 16, 128), None),
    ("yuvj420p", True, "h264", "auto", ("yuv420p", 0, 128), None),
    ("yuv420p10le", False, "hevc", "auto", ("yuv420p10le", 64, 512), None),
    ("yuv420p10le", True, "prores", "auto", ("yuv420p10le", 0, 512), None),
    ("yuv420p10le", False, "h264", "auto", ("yuv420p", 16, 128), "--bit-depth 10"),
    ("yuv420p10le", False, "h264", "10", ("yuv420p10le", 64, 512), None),
    ("yuv420p10le", False, "hevc", "8", ("yuv420p", 16, 128), None),
    ("yuv422p10le", False, "hevc", "auto", ("yuv420p10le", 64, 512), "4:2:0"),
    ("yuv420p12le", False, "hevc", "auto", ("yuv420p10le", 64, 512), "12-bit"),
    ("rgb24", False, "h264", "auto", ("yuv420p", 16, 128), "4:2:0"),
    ("yuv422p10le", False, "prores", "auto", ("yuv422p10le", 64, 512), None),
    ("yuvj422p", True, "prores", "auto", ("yuv422p10le", 0, 512), None),
    ("yuv422p12le", False, "prores", "8", ("yuv422p10le", 64, 512), "12-bit"),
    ("yuv444p10le", False, "prores", "auto", ("yuv420p10le", 64, 512), "4:2:0"),
])
def test_the_output_depth_follows_the_input_codec_and_option_and_notes_what_is_dropped(
        pix_fmt, full, codec, depth, want, note):
    from stabilize.pixel_format import sample_format

    samples, notes = sample_format(pix_fmt, full, codec, depth)
    assert (samples.pix_fmt, samples.black_luma, samples.neutral_chroma) == want
    assert any(note in n for n in notes) if note else notes == []


def _to_ten_bit(src, dst):
    """Re-encode a clip at 10 bits (libx264 High 10, near-lossless), timestamps kept."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream("libx264", rate=vin.average_rate, options={"crf": "1"})
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p10le"
        vout.time_base = vin.time_base
        for frame in inp.decode(vin):
            ten = frame.reformat(format="yuv420p10le")
            ten.pts, ten.time_base = frame.pts, frame.time_base
            for pkt in vout.encode(ten):
                out.mux(pkt)
        for pkt in vout.encode():
            out.mux(pkt)


def _luma(path):
    """Luma of every frame on a 16-bit scale (gray16le), and the stream's pixel format."""
    frames, fmt = [], None
    with av.open(str(path)) as c:
        for fr in c.decode(video=0):
            fmt = fr.format.name
            frames.append(fr.to_ndarray(format="gray16le").astype(np.float64))
    return frames, fmt


@pytest.fixture(scope="module")
def deep(clip, tmp_path_factory):
    path = tmp_path_factory.mktemp("deep") / "deep10.mp4"
    _to_ten_bit(clip.video, path)
    assert probe_video(path).pix_fmt == "yuv420p10le"
    return path


def _same_picture(a_frames, b_frames):
    """Up to two encodes' coding noise (~1.4 8-bit levels on this small textured clip; a
    plane, stride or frame mix-up is tens of levels)."""
    diff = [np.mean(np.abs(a - b)) / 256.0 for a, b in zip(a_frames, b_frames, strict=True)]
    corr = min(np.corrcoef(a.ravel(), b.ravel())[0, 1]
               for a, b in zip(a_frames, b_frames, strict=True))
    return np.max(diff) < 3.0 and corr > 0.99


def test_a_ten_bit_clip_is_written_at_eight_bits_for_h264_by_default(clip, run, deep, tmp_path):
    res = stabilize_video(deep, tmp_path / "out8.mp4", gyro=clip.gcsv, lens=clip.lens,
                          offset_ms=0.0)
    got, fmt = _luma(res.output)
    eight, _ = _luma(run.output)
    assert fmt == "yuv420p" and len(got) == len(eight)
    assert any("--bit-depth 10" in n for n in res.notes)
    # dithered into reused planes in the decode thread: every frame its own picture
    assert _same_picture(got, eight)


def test_a_ten_bit_clip_is_stabilized_at_ten_bits_when_asked(clip, run, deep, tmp_path):
    res = stabilize_video(deep, tmp_path / "out10.mp4", gyro=clip.gcsv, lens=clip.lens,
                          offset_ms=0.0, params=StabilizeParams(bit_depth="10"))
    ten, fmt = _luma(res.output)
    eight, _ = _luma(run.output)
    assert fmt == "yuv420p10le" and len(ten) == len(eight)
    assert _same_picture(ten, eight)  # the same picture as the 8-bit run
    # and the 10-bit output uses the levels between 8-bit ones (a 10-bit level is 64 here)
    mid = np.round(ten[len(ten) // 2] / 64.0)
    assert np.mean(mid % 4 != 0) > 0.5


def _to_prores_422_with_striped_chroma(src, dst):
    """Re-encode a clip as ProRes 4:2:2 10-bit whose V plane alternates every row (+-150
    around neutral): detail that only 4:2:2's full chroma rows can hold."""
    from stabilize.pixel_format import writable_planes

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream("prores_ks", rate=vin.average_rate)
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv422p10le"
        vout.time_base = vin.time_base
        for frame in inp.decode(vin):
            f = frame.reformat(format="yuv422p10le")
            v = writable_planes(f, np.uint16)[2]
            v[0::2] = 662
            v[1::2] = 362
            f.pts, f.time_base = frame.pts, frame.time_base
            for pkt in vout.encode(f):
                out.mux(pkt)
        for pkt in vout.encode():
            out.mux(pkt)


def test_four_two_two_input_written_as_prores_keeps_its_chroma_rows(clip, tmp_path):
    from stabilize.pixel_format import writable_planes

    src = tmp_path / "in422.mov"
    _to_prores_422_with_striped_chroma(clip.video, src)
    res = stabilize_video(src, tmp_path / "out422.mov", gyro=clip.gcsv, lens=clip.lens,
                          offset_ms=0.0, params=StabilizeParams(codec="prores"))
    assert not any("4:2:0" in n for n in res.notes)
    details = []
    with av.open(str(res.output)) as c:
        for fr in c.decode(video=0):
            assert fr.format.name == "yuv422p10le"
            v = writable_planes(fr, np.uint16)[2].astype(np.float64)
            h, w = v.shape
            mid = v[h // 4:3 * h // 4, w // 4:3 * w // 4]
            details.append(np.mean(np.abs(np.diff(mid, axis=0))))
    # 300 levels in; warped through 4:2:0 rows the pattern averages away (< 10); the warp's
    # vertical sub-pixel shifts attenuate it by |1 - 2 frac|, ~half on average
    assert np.median(details) > 60


def test_creation_time_and_stream_tags_are_kept(clip, tmp_path):
    # the ffmpeg CLI keeps them; photo libraries sort clips by creation_time
    tagged = tmp_path / "tagged.mp4"
    with av.open(str(clip.video)) as inp, av.open(str(tagged), "w") as out:
        out.metadata["creation_time"] = "2024-05-01T10:00:00.000000Z"
        out.metadata["title"] = "ridge walk"
        pairs = {}
        for s in inp.streams:
            pairs[s.index] = out.add_stream_from_template(s)
        pairs[inp.streams.video[0].index].metadata["language"] = "fra"
        for pkt in inp.demux():
            if pkt.dts is not None:
                pkt.stream = pairs[pkt.stream.index]
                out.mux(pkt)
    res = stabilize_video(tagged, tmp_path / "out.mp4", gyro=clip.gcsv, lens=clip.lens,
                          offset_ms=0.0)
    with av.open(str(res.output)) as c:
        assert c.metadata.get("creation_time", "").startswith("2024-05-01T10:00:00")
        assert c.metadata.get("title") == "ridge walk"
        assert c.streams.video[0].metadata.get("language") == "fra"
        assert c.metadata.get("encoder", "").startswith("Lavf")  # the muxer's own, not copied
