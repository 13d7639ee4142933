"""A log that starts with the recording and stops early: no frame shakes more than the input."""

import dataclasses

import numpy as np
import pytest

from sensors.readers import read_log
from sensors.synthetic import generate_clip
from sensors.video import probe_video
from stabilize.metrics import frame_shake_px, track_video
from stabilize.pipeline import stabilize_video


@pytest.mark.slow
def test_a_log_from_the_first_frames_middle_row_to_three_quarters_never_adds_shake(tmp_path):
    c = generate_clip(tmp_path, kind="walk", seed=41, width=480, height=270, duration_s=4.0,
                      readout_s=0.02, still_lead_s=0.0, tail_s=0.0, audio=False)
    log = read_log(c.gcsv)
    ft = probe_video(c.video).frame_t_s
    # embedded telemetry starts at the first frame's middle row; this one also ends at 75 %
    cut = dataclasses.replace(log, gyro=log.gyro.slice(ft[0], ft[0] + 0.75 * (ft[-1] - ft[0])))
    res = stabilize_video(c.video, tmp_path / "cut.mp4", gyro=cut, lens=c.lens, offset_ms=0.0)
    full = stabilize_video(c.video, tmp_path / "full.mp4", gyro=c.gcsv, lens=c.lens,
                           offset_ms=0.0)
    assert res.stabilized_frames == (0, len(ft))
    assert res.motion_source[0] == "gyro" and res.motion_source[-1] == "video"
    shake_in, shake_out, shake_full = (frame_shake_px(track_video(p)) for p in
                                       (c.video, res.output, full.output))
    # px at 960 px wide, frame pair by frame pair, the first and the last included
    assert (shake_out - shake_in).max() <= 2.0
    covered = slice(0, int(np.flatnonzero(res.motion_source == "gyro")[-1]))
    rms = [float(np.sqrt(np.mean(s[covered] ** 2))) for s in (shake_out, shake_full)]
    assert rms[0] <= 1.2 * rms[1] + 0.02  # the covered part keeps the full log's quality


def test_frames_with_no_motion_source_are_eased_into_pass_through(tmp_path):
    from sensors.quaternion import qangle
    from stabilize.filters.passthrough import EASE_S
    from stabilize.inputs import resolve_inputs
    from stabilize.motion_sources import analyze_clip_motion
    from stabilize.params import StabilizeParams
    from stabilize.pipeline import plan_path

    c = generate_clip(tmp_path, kind="walk", seed=43, width=320, height=180, duration_s=3.0,
                      readout_s=0.02, still_lead_s=0.5, tail_s=0.0, audio=False)
    log = read_log(c.gcsv)
    t0 = log.gyro.t_s[0] + 0.5
    cut = dataclasses.replace(log, gyro=log.gyro.slice(log.gyro.t_s[0], t0 + 2.0))
    clip = resolve_inputs(c.video, cut, c.lens, offset_ms=0.0)
    cm = analyze_clip_motion(clip, use_video=False)  # nothing stands in for the missing log
    none = cm.passthrough
    assert none.any() and not none[:55].any()
    assert any("no camera motion known" in n for n in clip.notes)
    path = plan_path(cm.motion, StabilizeParams(), 30.0, None, None, none)
    correction = np.degrees(qangle(path.virtual_quat, path.real_quat))
    assert correction[none].max() < 1e-6  # drawn uncorrected
    t = cm.motion.frame_t_s
    first = t[none][0]
    # the correction fades out over the ease rather than at once: a frame's virtual step is
    # the real step plus the share of the correction dropped in that frame, which the
    # smoothstep keeps under 1.5 / (EASE_S * fps) = 10 % of it (plus 0.01 deg of slack)
    assert correction[t < first - EASE_S - 0.05].max() > 0.05
    steps = np.degrees(qangle(path.virtual_quat[1:], path.virtual_quat[:-1]))
    real_steps = np.degrees(qangle(path.real_quat[1:], path.real_quat[:-1]))
    ease = (t[1:] > first - EASE_S) & (t[1:] <= first)
    dropped = correction[np.flatnonzero(ease)[0]]
    assert (steps[ease] <= real_steps[ease] + 0.1 * dropped + 0.01).all()
