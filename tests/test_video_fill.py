"""Camera motion from the video where the gyro log has none: filled holes follow the truth."""

import av
import numpy as np
import pytest

from sensors.lens_profile import load_lens_profile
from sensors.quaternion import qangle, qconj, qmul
from sensors.readers import read_log
from sensors.synthetic import generate_clip
from sensors.video import probe_video
from stabilize.motion import analyze_motion
from stabilize.video_fill import fill_from_video, frame_sources, uncovered_runs

READOUT_S = 0.02


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    out = tmp_path_factory.mktemp("fill")
    return generate_clip(out, kind="walk", seed=21, width=480, height=270, duration_s=3.0,
                         readout_s=READOUT_S, still_lead_s=0.0, tail_s=0.0, audio=False)


def _frame_steps_deg(q):
    return np.degrees(qangle(q[:-1], q[1:]))


def _step_errors_deg(a, b):
    ra = qmul(qconj(a[:-1]), a[1:])
    rb = qmul(qconj(b[:-1]), b[1:])
    return np.degrees(qangle(ra, rb))


def _filled_motion(clip, t0_s, t1_s):
    log = read_log(clip.gcsv).gyro
    info = probe_video(clip.video)
    cam = load_lens_profile(clip.lens, size=(info.width, info.height))
    ft = info.frame_t_s
    full = analyze_motion(log, ft, cam, readout_s=READOUT_S)
    cut = analyze_motion(log.slice(t0_s, t1_s), ft, cam, readout_s=READOUT_S,
                         bias_rad_s=full.bias_rad_s)
    fill = fill_from_video(str(clip.video), cut.gyro, ft, cut.covered, cam, READOUT_S)
    back = type(fill.gyro)(fill.gyro.t_s, fill.gyro.omega_rad_s + full.bias_rad_s)
    filled = analyze_motion(back, ft, cam, readout_s=READOUT_S, bias_rad_s=full.bias_rad_s)
    return full, cut, fill, filled


def test_a_log_that_ends_early_is_continued_from_the_video(clip):
    info = probe_video(clip.video)
    full, cut, fill, filled = _filled_motion(clip, 0.0, 0.7 * info.frame_t_s[-1])
    assert not cut.covered.all() and filled.covered.all()
    assert fill.filled_s and "taken from the video" in fill.notes[-1]
    hole = ~cut.covered[1:]
    err = _step_errors_deg(filled.frame_quat, full.frame_quat)[hole]
    steps = _frame_steps_deg(full.frame_quat)[hole]
    # the flow's frame-to-frame rotation is a fraction of the shake it replaces: at 960 px wide
    # (focal ~570 px) 0.06 deg is ~0.6 px against a shake of ~2 px per frame
    assert err.mean() < 0.06 and err.mean() < 0.4 * steps.mean()
    assert err.max() < 0.3


def test_a_log_that_starts_late_is_filled_backwards_from_its_start(clip):
    full, cut, fill, filled = _filled_motion(clip, 0.5, 10.0)
    assert not cut.covered[0] and filled.covered.all()
    hole = ~cut.covered[1:]
    assert _step_errors_deg(filled.frame_quat, full.frame_quat)[hole].mean() < 0.06


def test_a_textureless_video_fills_nothing(tmp_path, clip):
    path = tmp_path / "flat.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 320, 180, "yuv420p"
        for _ in range(30):
            img = np.full((180, 320, 3), 128, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    info = probe_video(path)
    log = read_log(clip.gcsv).gyro
    cam = load_lens_profile(clip.lens, size=(info.width, info.height))
    cut = analyze_motion(log.slice(0.0, 0.5), info.frame_t_s, cam, readout_s=READOUT_S)
    fill = fill_from_video(str(path), cut.gyro, info.frame_t_s, cut.covered, cam, READOUT_S)
    assert fill.filled_s == [] and fill.gyro is cut.gyro
    assert fill.notes


def test_uncovered_runs_and_sources():
    covered = np.array([0, 1, 1, 0, 0, 1, 0], bool)
    assert uncovered_runs(covered) == [(0, 1), (3, 5), (6, 7)]
    after = np.array([0, 1, 1, 1, 0, 1, 1], bool)
    assert frame_sources(covered, after).tolist() == [
        "none", "gyro", "gyro", "video", "none", "gyro", "video"]
