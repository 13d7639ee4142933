"""A whole generated sample: files, clocks, and its log integrating back to the true orientation."""

import json

import av
import numpy as np
import pytest

from sensors.orientation import estimate_bias, integrate_gyro
from sensors.quaternion import qangle, qconj, qmul
from sensors.readers import read_log
from sensors.synthetic.clip import generate_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    # Tiny frames keep rendering cheap; the gyro log is what this module checks.
    out = tmp_path_factory.mktemp("gen")
    return generate_clip(out, kind="walk", seed=7, width=160, height=90, fps=10.0,
                         duration_s=10.0, log_offset_s=0.37, ois=True, focus_breathing=True)


def test_gcsv_integrates_back_to_the_true_orientation(clip):
    # Read the .gcsv back, estimate the bias from the still lead (not
    # given), integrate, align only the initial orientation: < 0.05 deg RMS over the 10 s clip.
    log = read_log(clip.gcsv)
    truth = np.load(clip.truth_npz)
    offset = json.loads(clip.truth_json.read_text())["offset_s"]
    bias, still_s = estimate_bias(log.gyro)
    assert still_s >= 1.0
    track = integrate_gyro(log.gyro.shifted(offset), bias)
    t = truth["frame_t_s"]
    est = track.at(t)
    true = truth["frame_quat"]
    align = qmul(true[0], qconj(est[0]))
    err_deg = np.degrees(qangle(qmul(align, est), true))
    rms = float(np.sqrt(np.mean(err_deg**2)))
    print(f"gyro-vs-truth RMS over {t[-1] - t[0]:.1f} s: {rms:.4f} deg (max {err_deg.max():.4f})")
    assert rms < 0.05


def test_video_frames_have_the_documented_timestamps_and_audio(clip):
    with av.open(str(clip.video)) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
        pts = np.array([float(f.pts * f.time_base) for f in c.decode(video=0)])
    truth = np.load(clip.truth_npz)
    np.testing.assert_allclose(pts, truth["frame_t_s"], atol=1e-6)
    assert len(pts) == clip.n_frames == 100


def test_truth_rows_follow_the_rolling_shutter(clip):
    truth = np.load(clip.truth_npz)
    bands = truth["band_quat"]
    assert bands.shape == (100, 9, 4)
    # The middle band is the frame's own time.
    np.testing.assert_allclose(np.abs(np.sum(bands[:, 4] * truth["frame_quat"], -1)), 1.0,
                               atol=1e-12)


def test_phone_log_carries_ois_and_frame_timing_on_the_log_clock(clip):
    log = read_log(clip.phone_dir)
    truth = np.load(clip.truth_npz)
    np.testing.assert_allclose(log.frames.t_s, truth["frame_t_s"] + clip.offset_s, atol=1e-8)
    np.testing.assert_allclose(log.ois.shift_at(log.frames.t_s), truth["frame_ois_shift_px"],
                               atol=0.05)
    assert np.abs(truth["frame_ois_shift_px"]).max() > 0.1
    assert 0.97 < truth["frame_focus"].min() < truth["frame_focus"].max() < 1.03


def test_same_seed_gives_the_same_sample(tmp_path, clip):
    again = generate_clip(tmp_path, kind="walk", seed=7, width=160, height=90, fps=10.0,
                          duration_s=10.0, log_offset_s=0.37, ois=True, focus_breathing=True,
                          audio=False)
    assert again.gcsv.read_bytes() == clip.gcsv.read_bytes()
    a, b = np.load(again.truth_npz), np.load(clip.truth_npz)
    np.testing.assert_array_equal(a["band_quat"], b["band_quat"])


def test_lens_profile_reads_back_as_the_rendering_lens(clip):
    from sensors.lens_profile import load_lens_profile

    cam = load_lens_profile(clip.lens)
    truth = np.load(clip.truth_npz)
    np.testing.assert_allclose(cam.K, truth["K"], rtol=1e-12)
    np.testing.assert_allclose(cam.dist[:4], truth["dist"][:4], atol=1e-12)
    assert cam.size == (160, 90)


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "jog"}, "unknown camera path kind"),
    ({"width": 161}, "even"),
    ({"readout_s": 0.2}, "readout"),
    ({"hfov_deg": 179.0}, "field of view"),
])
def test_bad_settings_stop_before_anything_is_written(tmp_path, kwargs, match):
    from sensors.errors import InputError

    args = {"width": 64, "height": 36, "fps": 10.0, "duration_s": 0.5} | kwargs
    with pytest.raises(InputError, match=match):
        generate_clip(tmp_path, **args)
    assert not any(tmp_path.iterdir())


def test_jittered_gyro_times_still_integrate_to_the_truth(tmp_path):
    c = generate_clip(tmp_path, kind="run", seed=3, width=64, height=36, fps=10.0,
                      duration_s=3.0, gyro_jitter_s=0.5e-3, audio=False)
    log = read_log(c.gcsv)
    assert np.std(np.diff(log.gyro.t_s)) > 1e-4
    truth = np.load(c.truth_npz)
    bias, _ = estimate_bias(log.gyro)
    est = integrate_gyro(log.gyro, bias).at(truth["frame_t_s"])
    true = truth["frame_quat"]
    err = np.degrees(qangle(qmul(qmul(true[0], qconj(est[0])), est), true))
    assert np.sqrt(np.mean(err**2)) < 0.05
