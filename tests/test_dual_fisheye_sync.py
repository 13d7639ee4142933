"""Specification of the camera rotation measured on a dual-fisheye clip's two lens discs
(sensors.dual_fisheye_motion) and of the sync offset, gyro bias and gap fill taken from it, so
a dual-fisheye clip with a separate log needs no --offset-ms."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.spatial.transform import Rotation

from sensors.dual_fisheye_motion import dual_fisheye_camera, dual_fisheye_flow_samples_from_frames
from sensors.errors import InputError
from sensors.readers import read_log
from sensors.rolling_shutter import row_time_s
from sensors.sync import sync_samples_to_gyro, sync_video_to_gyro
from sensors.synthetic import camera_path, generate_clip, load_panorama, synthesize_gyro
from sensors.synthetic.dual_fisheye import (
    DualFisheyeCalibration,
    DualFisheyeScene,
    render_dual_fisheye_clip,
    render_dual_fisheye_frame,
)
from sensors.synthetic.render import panorama_for_focal

READOUT_S = 0.02
FPS = 30.0
W, H = 320, 160
#: A scene far away and without ground, lenses at one point: the flow is the rotation's alone.
FAR = DualFisheyeScene(radius_m=1000.0, ground_m=None)


def _calibration(seed: int) -> DualFisheyeCalibration:
    return DualFisheyeCalibration.random(seed, (W, H), baseline_m=(0.0, 0.0))


def _true_camera(calib: DualFisheyeCalibration):
    return dual_fisheye_camera(calib.size, calib.lenses, calib.R_rig_from_back)


def _error_px(samples, R_at, t0, t1, f_px):
    pred = np.einsum("mji,mjk,mk->mi", R_at(t1), R_at(t0), samples.ray0_cam)
    return np.linalg.norm(pred - samples.ray1_cam, axis=1) * f_px


def test_flow_on_both_discs_follows_the_rotation_at_each_lens_rows_own_time():
    # a fast shake about a tilted axis (8 Hz, up to 4 rad/s) read out over 30 ms: each sample's
    # rotation between its two ends depends on the rows it lies on
    calib = _calibration(5)
    readout = 0.03
    axis = np.array([0.6, 0.8, 0.0])

    def R_at(t):
        angle = 0.08 * np.sin(2 * np.pi * 8.0 * np.ravel(t))
        return Rotation.from_rotvec(np.outer(angle, axis)).as_matrix()

    pano = panorama_for_focal(load_panorama(gray=True), calib.lenses[0].f_px)
    frame_t = 0.2 + np.arange(8) / FPS
    rows = np.arange(H)
    frames = [render_dual_fisheye_frame(pano, calib, FAR, R_at(row_time_s(t, rows, H, readout)))
              for t in frame_t]
    samples = dual_fisheye_flow_samples_from_frames(frames, frame_t, _true_camera(calib))
    f = calib.lenses[0].f_px
    err = _error_px(samples, R_at, *samples.sample_times(readout), f)
    # both lenses measured: directions ahead of the camera and behind it
    z = samples.ray0_cam[:, 2]
    assert (z > 0.2).sum() > 200 and (z < -0.2).sum() > 200
    assert np.median(err) < 0.15
    # timed as a global shutter (every row at the frame's time) the same flow is far off
    glob = _error_px(samples, R_at, samples.frame_t_s[samples.pair],
                     samples.frame_t_s[samples.pair + 1], f)
    assert np.median(glob) > 5 * np.median(err)


def test_the_offset_is_found_on_uncompressed_frames():
    calib = DualFisheyeCalibration.random(8, (W, H))  # lenses 2-3 cm apart, ground 1.5 m below
    path = camera_path("walk", 4.0, 41)
    frame_t = 1.0 + np.arange(int(2.0 * FPS)) / FPS
    frames = render_dual_fisheye_clip(path, calib, DualFisheyeScene(), frame_t, READOUT_S,
                                      pano=load_panorama(gray=True))
    samples = dual_fisheye_flow_samples_from_frames(frames, frame_t, _true_camera(calib))
    gyro = synthesize_gyro(path, 200.0, seed=7, clock_offset_s=0.2718, accel=False)
    res = sync_samples_to_gyro(samples, gyro, readout_s=READOUT_S, search_s=1.0)
    assert res.axes == "+x+y+z"
    assert abs(res.offset_s - 0.2718) < 0.3e-3


@pytest.fixture(scope="module")
def run360(tmp_path_factory):
    # a log on its own clock that never rests (no still lead, no tail); CRF 6 keeps the
    # codec's own lag on the picture (bench/dual_fisheye_sync.py measures CRF 16) out of it
    out = tmp_path_factory.mktemp("df_sync")
    return generate_clip(out, kind="run", seed=62, width=W, height=H, duration_s=2.5,
                         readout_s=READOUT_S, still_lead_s=0.0, tail_s=0.0,
                         log_offset_s=0.3731, audio=False, crf=6, projection="dual-fisheye")


def test_a_dual_fisheye_clip_stabilizes_with_its_offset_bias_and_missing_motion_from_its_video(
        run360, tmp_path):
    from stabilize.pipeline import stabilize_video

    log = read_log(run360.gcsv)
    end = log.gyro.t_s[0] + 2.0
    short = replace(log, gyro=log.gyro.slice(log.gyro.t_s[0], end))  # stops 0.5 s early
    res = stabilize_video(run360.video, tmp_path / "o.mp4", gyro=short,
                          sidecar=tmp_path / "o.json")  # no offset given
    assert res.projection == "dual-fisheye"
    # 0.1 ms or less on this and neighbouring seeds; the codec's own lag stays under 0.5 ms here
    assert abs(res.offset_s - run360.offset_s) < 0.5e-3
    assert any("measured on both lens discs" in n for n in res.notes)
    # synced through nominal lenses first, then again through the ones calibrated with it
    assert any("through the calibrated lenses" in n for n in res.notes)
    doc = json.loads((tmp_path / "o.json").read_text())
    assert doc["gyro_bias_source"] == "video"
    counts = doc["motion_sources"]
    assert counts["video"] >= 10 and counts["none"] == 0


def test_a_rig_file_gives_the_sync_its_lenses(run360, tmp_path):
    from stabilize.dual_fisheye.options import DualFisheyeOptions
    from stabilize.dual_fisheye.rig import LensPair, write_lens_pair
    from stabilize.inputs import resolve_inputs

    calib = DualFisheyeCalibration.random(run360.seed + 3, (W, H))  # the clip's own
    rig = tmp_path / "rig.json"
    write_lens_pair(rig, LensPair(calib.lenses, calib.R_rig_from_back, (W, H), {}))
    clip = resolve_inputs(run360.video, projection="dual-fisheye",
                          dual_fisheye=DualFisheyeOptions(rig=rig))
    assert clip.motion_camera.meta["lens_pair"] == f"lenses from {rig}"
    assert clip.motion_camera.meta["lenses"][1].f_px == pytest.approx(calib.lenses[1].f_px)
    assert abs(clip.offset_s - run360.offset_s) < 1e-3


def test_the_sync_command_measures_a_dual_fisheye_clip_on_its_discs(run360, tmp_path):
    from cli import main

    out = tmp_path / "sync.json"
    r = CliRunner().invoke(main, ["sync", str(run360.video), "--gyro", str(run360.gcsv),
                                  "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "projection dual-fisheye: camera motion measured on both lens discs" in r.output
    assert abs(json.loads(out.read_text())["offset_ms"] - run360.offset_s * 1e3) < 1.0


def test_the_library_sync_wants_the_lens_pair_of_a_dual_fisheye_clip(run360):
    gyro = read_log(run360.gcsv).gyro
    with pytest.raises(InputError, match="measured through its lens pair"):
        sync_video_to_gyro(str(run360.video), gyro, projection="dual-fisheye")


def test_a_clip_whose_frames_are_not_dual_fisheye_is_refused_in_one_line(tmp_path):
    from cli import main

    eq = generate_clip(tmp_path, kind="walk", seed=1, width=128, height=64, duration_s=0.5,
                       log_offset_s=0.2, projection="equirect", audio=False)
    out = tmp_path / "o.mp4"
    r = CliRunner().invoke(main, ["stabilize", str(eq.video), "--dual-fisheye", "-o", str(out)])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {eq.video}: ")
    assert "no fisheye image circle found" in lines[0]
    assert not out.exists()
