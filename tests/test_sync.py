"""Specification of gyro <-> video and gyro <-> gyro synchronisation (sensors.sync)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.spatial.transform import Rotation

from sensors.errors import InputError, SolveError
from sensors.sync import (
    AXES_ALL,
    apply_axes,
    axes_matrix,
    sync_logs,
    sync_samples_to_gyro,
)
from sensors.sync.numerics import xcorr
from sensors.synthetic import camera_path, load_panorama, render_clip, synthesize_gyro
from sensors.types import GyroLog
from sensors.video_motion import flow_samples_from_frames, pair_rates, pinhole_guess

ROOT = Path(__file__).resolve().parents[1]
TWIST = ROOT / "samples" / "gyro_logs" / "twistnsync"
READOUT_S = 0.02
FPS = 30.0


def _rendered(kind: str, seed: int, duration_s: float = 3.0):
    """Frames (rendered per row from the true path, no compression) and the true path."""
    path = camera_path(kind, duration_s + 2.0, seed)
    cam = pinhole_guess((320, 180), 75.0)
    frame_t = 1.0 + np.arange(int(duration_s * FPS)) / FPS
    frames = render_clip(path, cam, frame_t, READOUT_S, pano=load_panorama(gray=True))
    return flow_samples_from_frames(frames, frame_t, cam), path


@pytest.fixture(scope="module")
def walk_samples():
    return _rendered("walk", 1)


def test_the_48_axis_mappings_are_distinct_signed_permutations():
    mats = [axes_matrix(a) for a in AXES_ALL]
    assert len({m.tobytes() for m in mats}) == 48
    dets = np.array([np.linalg.det(m) for m in mats])
    assert np.sum(dets > 0) == 24 and np.sum(dets < 0) == 24
    assert np.array_equal(axes_matrix("+x+y+z"), np.eye(3))


@pytest.mark.parametrize("n_signal, n_impulses", [(1000, 37), (64, 64), (513, 2)])
def test_fft_correlation_equals_the_direct_sum(n_signal, n_impulses):
    rng = np.random.default_rng(n_signal)
    imp, sig = rng.normal(size=n_impulses), rng.normal(size=n_signal)
    direct = np.array([imp @ sig[j:j + n_impulses] for j in range(n_signal - n_impulses + 1)])
    np.testing.assert_allclose(xcorr(imp, sig), direct, atol=1e-10)


def test_axes_string_is_validated():
    with pytest.raises(InputError, match="signed"):
        axes_matrix("+x+x+z")


def test_flow_rates_match_true_angular_velocity(walk_samples):
    samples, path = walk_samples
    rates = pair_rates(samples, READOUT_S)
    _, w_true = path.evaluate(rates.t_s)
    rms_true = np.sqrt(np.mean(w_true**2))
    rms_err = np.sqrt(np.mean((rates.omega_rad_s - w_true) ** 2))
    # Flow noise on a 320 px frame is ~0.05 px; a walk moves ~0.5 px per frame.
    assert rates.valid.all()
    assert rms_err < 0.15 * rms_true


@pytest.mark.parametrize("offset_s, axes", [(0.3137, "-y+z+x"), (-0.8123, "+x-y-z")])
def test_offset_and_axes_found_on_rolling_shutter_frames(walk_samples, offset_s, axes):
    samples, path = walk_samples
    gyro = synthesize_gyro(path, 200.0, seed=7, clock_offset_s=offset_s, accel=False)
    scrambled = apply_axes(gyro, axes)
    res = sync_samples_to_gyro(samples, scrambled, readout_s=READOUT_S, search_s=2.0)
    assert abs(res.offset_s - offset_s) < 0.5e-3
    # The found mapping undoes the scrambling exactly.
    assert np.array_equal(axes_matrix(res.axes) @ axes_matrix(axes), np.eye(3))
    assert res.axes_runner_up_score > 3 * res.axes_score
    assert res.confidence > 0.5


def test_ignoring_the_rolling_shutter_costs_accuracy(walk_samples):
    # The row-time model is what the sub-millisecond figure rests on: treating the same frames
    # as global-shutter moves the offset by milliseconds.
    samples, path = walk_samples
    gyro = synthesize_gyro(path, 200.0, seed=7, clock_offset_s=0.25, accel=False)
    good = sync_samples_to_gyro(samples, gyro, readout_s=READOUT_S, axes="+x+y+z")
    bad = sync_samples_to_gyro(samples, gyro, readout_s=0.0, axes="+x+y+z")
    assert abs(good.offset_s - 0.25) < 0.5e-3
    assert abs(bad.offset_s - 0.25) > 1e-3


def test_unknown_readout_is_estimated_with_the_offset(walk_samples, caplog):
    samples, path = walk_samples
    gyro = synthesize_gyro(path, 200.0, seed=7, clock_offset_s=-0.3, accel=False)
    with caplog.at_level(logging.INFO, logger="steadyrig"):
        res = sync_samples_to_gyro(samples, gyro, readout_s=0.0, estimate_readout=True,
                                   axes="+x+y+z", search_s=1.0)
    assert abs(res.readout_s - READOUT_S) < 1e-3
    assert abs(res.offset_s + 0.3) < 0.5e-3
    assert any("readout time estimated" in n for n in res.notes)
    # The notes are logged as well, under the library's logger family.
    assert [r.getMessage() for r in caplog.records if r.name.startswith("steadyrig.")] == \
        list(res.notes)


def test_unknown_focal_length_is_estimated(walk_samples):
    samples, path = walk_samples
    true_f = samples.camera.K[0, 0]
    guessed = samples.with_camera(pinhole_guess(samples.camera.size, 60.0))
    gyro = synthesize_gyro(path, 200.0, seed=7, clock_offset_s=0.1, accel=False)
    res = sync_samples_to_gyro(guessed, gyro, readout_s=READOUT_S, estimate_focal=True,
                               axes="+x+y+z", search_s=1.0)
    assert abs(res.focal_px / true_f - 1.0) < 0.03
    assert abs(res.offset_s - 0.1) < 0.5e-3


def test_a_still_camera_is_refused():
    samples, path = _rendered("static", 3, duration_s=1.5)
    gyro = synthesize_gyro(path, 200.0, seed=1, accel=False)
    still = GyroLog(gyro.t_s, gyro.omega_rad_s * 0.0 + 1e-4)
    with pytest.raises(SolveError, match="too weak|ambiguous|do not match"):
        sync_samples_to_gyro(samples, still, readout_s=READOUT_S)


def test_a_gyro_from_another_recording_is_refused(walk_samples):
    samples, _ = walk_samples
    other = camera_path("walk", 8.0, 99)
    gyro = synthesize_gyro(other, 200.0, seed=3, accel=False)
    with pytest.raises(SolveError):
        sync_samples_to_gyro(samples, gyro, readout_s=READOUT_S, search_s=1.0)


def test_two_rigid_gyros_give_offset_and_mounting_rotation():
    path = camera_path("free", 12.0, 5, rate_hz=500.0)
    R = Rotation.from_euler("xyz", [30, -70, 110], degrees=True).as_matrix()
    a = synthesize_gyro(path, 400.0, seed=1, accel=False, clock_offset_s=123456.789)
    b = synthesize_gyro(path, 500.0, seed=2, accel=False)
    b = GyroLog(b.t_s, b.omega_rad_s @ R.T)  # b's axes are rotated by R
    res = sync_logs(a, b, search_s=2.0)
    assert abs(res.offset_s - 123456.789) < 0.5e-3
    angle = np.degrees(Rotation.from_matrix(res.rotation @ R.T).magnitude())
    assert angle < 1.0


def test_clock_drift_between_logs_is_measured():
    path = camera_path("walk", 60.0, 4, rate_hz=400.0)
    a = synthesize_gyro(path, 200.0, seed=1, accel=False)
    ppm = 80.0
    b = synthesize_gyro(path, 200.0, seed=2, accel=False)
    # b's clock runs fast by 80 ppm: t_b = t * (1 + 80e-6) - 0.5.
    b = GyroLog(b.t_s * (1 + ppm * 1e-6) - 0.5, b.omega_rad_s)
    res = sync_logs(a, b, search_s=2.0)
    # t_b = t_a - offset(t_b): offset = t_a - t_b falls by ~80 us per second of t_b.
    assert abs(res.drift_ppm + ppm) < 10.0


def test_twistnsync_offset_matches_the_published_value():
    def load(name):
        d = np.loadtxt(TWIST / name, delimiter=",", skiprows=1)
        return GyroLog(d[:, 0], d[:, 1:])

    res = sync_logs(load("smartphone_gyro_data.csv"), load("mcu_gyro_data.csv"))
    # Published: sm_time = mcu_time + 947848.6384 s.
    assert abs(res.offset_s - 947848.6384) < 2e-3


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from sensors.synthetic import generate_clip

    out = tmp_path_factory.mktemp("syncclip")
    # Near-lossless encode: x264 at higher CRF biases the measured timing (see bench/sync.py).
    return generate_clip(out, kind="pan", seed=2, width=320, height=180, duration_s=3.0,
                         log_offset_s=-0.4567, audio=False, crf=2)


def test_generated_clip_syncs_through_the_public_api(generated):
    from sensors.lens_profile import load_lens_profile
    from sensors.readers import read_log
    from sensors.sync import sync_video_to_gyro

    log = read_log(generated.gcsv)
    res = sync_video_to_gyro(str(generated.video), log.gyro,
                             camera=load_lens_profile(generated.lens), readout_s=log.readout_s)
    assert abs(res.offset_s - generated.offset_s) < 0.5e-3
    assert res.axes == "+x+y+z"  # the gcsv states its orientation and the reader applies it


def test_cli_prints_offset_and_writes_json_and_plot(generated, tmp_path):
    from cli import main

    out_json, out_png = tmp_path / "s.json", tmp_path / "s.png"
    r = CliRunner().invoke(main, ["sync", str(generated.video), "--gyro", str(generated.gcsv),
                                  "--lens", str(generated.lens), "--json", str(out_json),
                                  "--plot", str(out_png)])
    assert r.exit_code == 0, r.output
    assert "offset:" in r.output and "ms" in r.output
    doc = json.loads(out_json.read_text())
    assert abs(doc["offset_ms"] - generated.offset_s * 1e3) < 0.5
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_needs_a_video_or_a_reference(generated):
    from cli import main

    r = CliRunner().invoke(main, ["sync", "--gyro", str(generated.gcsv)])
    assert r.exit_code == 2
    assert r.output.startswith("Error:") and "--reference" in r.output


def test_cli_reports_an_unreadable_video_in_one_line(generated, tmp_path):
    from cli import main

    fake = tmp_path / "not_a_video.mp4"
    fake.write_text("hello")
    r = CliRunner().invoke(main, ["sync", str(fake), "--gyro", str(generated.gcsv)])
    assert r.exit_code == 2
    assert r.output.startswith("Error:") and "not_a_video.mp4" in r.output
    assert "Traceback" not in r.output


@pytest.fixture(scope="module")
def long_generated(tmp_path_factory):
    from sensors.synthetic import generate_clip

    out = tmp_path_factory.mktemp("synclong")
    # Long enough (>= sensors.sync.MIN_WINDOWED_S) to be synced from windows; 15 fps keeps the
    # rendering short.
    clip = generate_clip(out, kind="walk", seed=4, width=320, height=180, fps=15.0,
                         duration_s=24.0, log_offset_s=0.7321, audio=False, crf=2)
    # Re-encoded with a keyframe every second (the generator uses x264's default 250-frame
    # GOP), as cameras do, so a seek lands near each window; timestamps are kept.
    import av

    short_gop = out / "short_gop.mp4"
    with av.open(str(clip.video)) as src, av.open(str(short_gop), "w") as dst:
        sin = src.streams.video[0]
        sout = dst.add_stream("libx264", rate=15)
        sout.width, sout.height, sout.pix_fmt = 320, 180, "yuv420p"
        sout.time_base = sin.time_base
        sout.options = {"crf": "2", "g": "15", "bf": "0"}
        for frame in src.decode(sin):
            frame.pict_type = av.video.frame.PictureType.NONE
            for pkt in sout.encode(frame):
                dst.mux(pkt)
        for pkt in sout.encode():
            dst.mux(pkt)
    return clip, short_gop


def test_a_long_clip_is_synced_from_gyro_chosen_windows_only(long_generated):
    from sensors.lens_profile import load_lens_profile
    from sensors.readers import read_log
    from sensors.sync import MIN_WINDOWED_S, sync_video_to_gyro
    from sensors.video import probe_video

    clip, video = long_generated
    info = probe_video(str(video))
    assert info.duration_s >= MIN_WINDOWED_S
    log = read_log(clip.gcsv)
    res = sync_video_to_gyro(str(video), log.gyro, camera=load_lens_profile(clip.lens),
                             readout_s=log.readout_s)
    assert abs(res.offset_s - clip.offset_s) < 0.5e-3
    wins = np.asarray(res.decode_windows_s)
    assert wins.shape == (4, 2)
    # Every analysed frame pair lies inside a window, and only the windows plus the run-up from
    # the keyframe before each (at most one 1 s GOP) were decoded.
    t = res.curves["t_s"]
    inside = np.any((t[:, None] >= wins[:, 0]) & (t[:, None] <= wins[:, 1]), axis=1)
    assert inside.all()
    assert res.frames_decoded <= np.sum(wins[:, 1] - wins[:, 0] + 1.0) * info.fps + 4
    assert res.frames_decoded < 0.8 * info.n_frames
    assert res.window_t_s.size == 4
    assert any("windows chosen from the gyro" in n for n in res.notes)


def test_a_mid_length_clip_is_synced_from_two_windows(tmp_path):
    from sensors.lens_profile import load_lens_profile
    from sensors.readers import read_log
    from sensors.sync import MID_WINDOWED_S, MID_WINDOWS, MIN_WINDOWED_S, sync_video_to_gyro
    from sensors.synthetic import generate_clip

    clip = generate_clip(tmp_path, kind="run", seed=7, width=320, height=180, fps=15.0,
                         duration_s=13.0, log_offset_s=-0.4132, audio=False, crf=2)
    assert MID_WINDOWED_S <= 13.0 < MIN_WINDOWED_S
    log = read_log(clip.gcsv)
    res = sync_video_to_gyro(str(clip.video), log.gyro, camera=load_lens_profile(clip.lens),
                             readout_s=log.readout_s)
    assert abs(res.offset_s - clip.offset_s) < 0.5e-3
    wins = np.asarray(res.decode_windows_s)
    assert wins.shape == (MID_WINDOWS, 2)
    t = res.curves["t_s"]
    assert np.any((t[:, None] >= wins[:, 0]) & (t[:, None] <= wins[:, 1]), axis=1).all()
    # about half the clip's frame pairs are flowed
    assert t.size < 0.65 * clip.n_frames


def test_a_short_clip_is_analysed_whole(generated):
    from sensors.lens_profile import load_lens_profile
    from sensors.readers import read_log
    from sensors.sync import sync_video_to_gyro
    from sensors.video import probe_video

    log = read_log(generated.gcsv)
    seen = []
    res = sync_video_to_gyro(str(generated.video), log.gyro,
                             camera=load_lens_profile(generated.lens), readout_s=log.readout_s,
                             progress=seen.append)
    n = probe_video(str(generated.video)).n_frames
    assert res.decode_windows_s == ()
    assert res.frames_decoded == n
    # One progress record per frame analysed, counting up to the clip's frames.
    assert {p.stage for p in seen} == {"motion"}
    assert [p.done for p in seen] == list(range(1, n + 1))
    assert seen[-1].total == n and seen[-1].fraction == 1.0


def test_decode_windows_are_spread_and_stay_where_the_log_covers_every_searched_offset():
    from sensors.sync import decode_windows_from_gyro

    # A 60 s video whose log (same clock) covers only its first 40 s.
    path = camera_path("walk", 42.0, 6)
    gyro = synthesize_gyro(path, 200.0, seed=1, accel=False)
    gyro = GyroLog(gyro.t_s - 1.0, gyro.omega_rad_s)  # log time 0 .. ~41 s
    wins = np.asarray(decode_windows_from_gyro(gyro, (0.0, 60.0), search_s=5.0, n_windows=4,
                                               window_s=3.5))
    assert wins.shape == (4, 2)
    assert np.allclose(wins[:, 1] - wins[:, 0], 3.5)
    # Under any offset in +/-5 s the log still spans each window.
    assert wins[:, 0].min() >= gyro.t_s[0] + 5.0 - 1e-9
    assert wins[:, 1].max() <= gyro.t_s[-1] - 5.0 + 1e-9
    assert np.all(wins[1:, 0] >= wins[:-1, 1])  # sorted, no overlap
    # One per quarter of the usable span, so drift across the clip stays observable.
    assert np.all(np.diff(wins[:, 0]) > 2.0)


def test_a_short_clip_gets_no_decode_windows():
    from sensors.sync import MIN_WINDOWED_S, decode_windows_from_gyro

    path = camera_path("walk", 20.0, 6)
    gyro = synthesize_gyro(path, 200.0, seed=1, accel=False)
    assert decode_windows_from_gyro(gyro, (0.0, MIN_WINDOWED_S - 1.0)) is None


def test_a_long_clip_with_another_recordings_gyro_is_refused(long_generated):
    from sensors.sync import sync_video_to_gyro

    _, video = long_generated
    other = synthesize_gyro(camera_path("walk", 30.0, 77), 200.0, seed=3, accel=False)
    with pytest.raises(SolveError, match="short_gop.mp4"):
        sync_video_to_gyro(str(video), other, readout_s=READOUT_S)


@pytest.fixture(scope="module")
def one_axis_pan():
    # seed 21's pan barely turns about x: x and -x explain the picture's motion equally well
    samples, path = _rendered("pan", 21)
    gyro = synthesize_gyro(path, 200.0, seed=1, accel=False)
    return samples, gyro


def test_a_pan_that_cannot_tell_the_axes_apart_keeps_the_logs_own_axes(one_axis_pan):
    samples, gyro = one_axis_pan
    res = sync_samples_to_gyro(samples, GyroLog(gyro.t_s + 0.3, gyro.omega_rad_s),
                               readout_s=READOUT_S)
    assert res.axes == "+x+y+z"
    assert abs(res.offset_s - 0.3) < 1e-3
    assert any("kept the log's axes" in n for n in res.notes)


def test_a_log_in_other_axes_is_still_refused_when_the_motion_cannot_tell(one_axis_pan):
    samples, gyro = one_axis_pan
    swapped = GyroLog(gyro.t_s + 0.3, gyro.omega_rad_s[:, [1, 0, 2]] * [1.0, -1.0, 1.0])
    with pytest.raises(SolveError, match="axis orientation is ambiguous"):
        sync_samples_to_gyro(samples, swapped, readout_s=READOUT_S)
