"""An equirect clip's own picture gives the gyro bias and fills the log's holes, as a flat clip's
does (stabilize.video_bias, stabilize.video_fill over sensors.sphere_motion)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from sensors.equirect import equirect_camera
from sensors.orientation import estimate_bias
from sensors.quaternion import qangle, qconj, qmul
from sensors.readers import read_log
from sensors.synthetic import DEFAULT_BIAS_RAD_S, generate_clip
from sensors.video import probe_video
from stabilize.motion import analyze_motion
from stabilize.pipeline import stabilize_video
from stabilize.video_bias import bias_from_video
from stabilize.video_fill import fill_from_video

READOUT_S = 0.02


@pytest.fixture(scope="module")
def walk360(tmp_path_factory):
    # a log that never rests: no still lead, no tail
    out = tmp_path_factory.mktemp("walk360_motion")
    return generate_clip(out, kind="walk", seed=51, width=640, height=320, duration_s=3.0,
                         readout_s=READOUT_S, still_lead_s=0.0, tail_s=0.0, audio=False,
                         projection="equirect")


def _camera(clip):
    info = probe_video(clip.video)
    return info, equirect_camera((info.width, info.height))


def test_the_bias_of_an_equirect_log_that_never_rests_is_measured_from_the_video(walk360):
    gyro = read_log(walk360.gcsv).gyro
    assert estimate_bias(gyro)[1] == 0.0  # no stillness to measure it from
    info, cam = _camera(walk360)
    est = bias_from_video(str(walk360.video), gyro, info.frame_t_s, cam, READOUT_S)
    assert est.bias_rad_s is not None and "from the video" in est.note
    # 0.1 deg/s: half the smallest bias component (0.2 deg/s); what is left turns the sphere
    # by under 0.3 deg over the 3 s clip. Over 3 s of a walk the fit's own spread is about
    # that (0.01-0.09 deg/s on other seeds, at CRF 16 as at CRF 2; flat clips are alike)
    err = np.degrees(np.abs(est.bias_rad_s - np.asarray(DEFAULT_BIAS_RAD_S)))
    assert err.max() < 0.1


def _step_errors_deg(a, b):
    return np.degrees(qangle(qmul(qconj(a[:-1]), a[1:]), qmul(qconj(b[:-1]), b[1:])))


def test_an_equirect_log_that_ends_early_is_continued_from_the_video(walk360):
    gyro = read_log(walk360.gcsv).gyro
    info, cam = _camera(walk360)
    ft = info.frame_t_s
    full = analyze_motion(gyro, ft, cam, readout_s=READOUT_S)
    cut = analyze_motion(gyro.slice(0.0, 0.7 * ft[-1]), ft, cam, readout_s=READOUT_S,
                         bias_rad_s=full.bias_rad_s)
    fill = fill_from_video(str(walk360.video), cut.gyro, ft, cut.covered, cam, READOUT_S)
    assert fill.filled_s and "taken from the video" in fill.notes[-1]
    back = type(fill.gyro)(fill.gyro.t_s, fill.gyro.omega_rad_s + full.bias_rad_s)
    filled = analyze_motion(back, ft, cam, readout_s=READOUT_S, bias_rad_s=full.bias_rad_s)
    assert not cut.covered.all() and filled.covered.all()
    err = _step_errors_deg(filled.frame_quat, full.frame_quat)[~cut.covered[1:]]
    # a 640 px panorama has 0.56 deg per pixel: 0.1 deg is under a fifth of a pixel per frame
    assert err.mean() < 0.1 and err.max() < 0.3


def test_stabilizing_an_equirect_clip_takes_bias_and_missing_motion_from_its_video(
        walk360, tmp_path):
    log = read_log(walk360.gcsv)
    short = replace(log, gyro=log.gyro.slice(0.0, 2.0))  # the log stops 1 s before the video
    res = stabilize_video(walk360.video, tmp_path / "o.mp4", gyro=short, offset_ms=0.0,
                          sidecar=tmp_path / "o.json")
    assert res.projection == "equirect"
    doc = json.loads((tmp_path / "o.json").read_text())
    assert doc["gyro_bias_source"] == "video"
    counts = doc["motion_sources"]
    assert counts["video"] >= 25 and counts["none"] == 0
    assert counts["gyro"] + counts["video"] == res.n_frames


def test_frames_no_source_covers_are_drawn_uncorrected_with_the_sphere_eased_into_them(
        walk360):
    from sensors.quaternion import qmul as _qmul
    from stabilize.params import StabilizeParams
    from stabilize.sphere_plan import plan_sphere_path

    info, cam = _camera(walk360)
    motion = analyze_motion(read_log(walk360.gcsv).gyro, info.frame_t_s, cam,
                            readout_s=READOUT_S)
    params = StabilizeParams()
    none = np.zeros(len(motion), dtype=bool)
    none[40:55] = True
    plain = plan_sphere_path(motion, params, 30.0)
    eased = plan_sphere_path(motion, params, 30.0, passthrough=none)
    real = motion.frame_quat
    assert np.degrees(qangle(eased.virtual_quat[none], real[none])).max() < 1e-6
    assert np.degrees(qangle(plain.virtual_quat[none], real[none])).min() > 0.5
    # 0.5 s (15 frames) from them the path is the plain one
    far = np.r_[0:25, 70:len(motion)]
    np.testing.assert_allclose(eased.virtual_quat[far], plain.virtual_quat[far], atol=1e-12)
    # the correction changes smoothly on the way: no step over 15 % of the largest (a cut to
    # the real camera would step by all of it)
    corr = _qmul(qconj(eased.virtual_quat), real)
    steps = np.degrees(qangle(corr[:-1], corr[1:]))
    size = np.degrees(qangle(plain.virtual_quat, real)).max()
    assert steps.max() < 0.15 * size
    assert np.all(eased.zoom == 1.0)
