"""Specification of the camera rotation measured on an equirect clip's sphere
(sensors.sphere_motion) and of the sync offset found from it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from sensors.equirect import equirect_camera
from sensors.errors import InputError, SolveError
from sensors.readers import read_log
from sensors.sphere_motion import motion_camera, sphere_flow_samples_from_frames
from sensors.sync import sync_samples_to_gyro, sync_video_to_gyro
from sensors.synthetic import camera_path, generate_clip, load_panorama, synthesize_gyro
from sensors.synthetic.render import render_equirect_clip
from sensors.video_motion import pair_rates

READOUT_S = 0.02
FPS = 30.0


def _rendered(kind: str, seed: int, width: int = 480, duration_s: float = 2.0):
    """Uncompressed rolling-shutter panoramas along a true path, their samples and the path."""
    path = camera_path(kind, duration_s + 2.0, seed)
    frame_t = 1.0 + np.arange(int(duration_s * FPS)) / FPS
    frames = render_equirect_clip(path, (width, width // 2), frame_t, READOUT_S,
                                  pano=load_panorama(gray=True))
    return sphere_flow_samples_from_frames(frames, frame_t), path


@pytest.fixture(scope="module")
def walk_sphere():
    return _rendered("walk", 31)


def test_sphere_flow_rates_match_the_true_angular_velocity(walk_sphere):
    samples, path = walk_sphere
    rates = pair_rates(samples, READOUT_S)
    _, w_true = path.evaluate(rates.t_s)
    rms_true = np.sqrt(np.mean(w_true ** 2))
    rms_err = np.sqrt(np.mean((rates.omega_rad_s - w_true) ** 2))
    assert rates.valid.all()
    assert rms_err < 0.1 * rms_true


def test_points_are_tracked_across_the_seam_and_not_near_the_poles():
    # the camera turns about its vertical axis at 2 rad/s: ~5 px per frame at 480 px wide
    from scipy.spatial.transform import Rotation

    from sensors.rolling_shutter import row_time_s
    from sensors.synthetic.render import panorama_for_focal, render_equirect_frame

    w, h, rate = 480, 240, 2.0
    pano = panorama_for_focal(load_panorama(gray=True), w / (2 * np.pi))
    frame_t = np.arange(8) / FPS
    rows = np.arange(h)

    def R_at(t):
        return Rotation.from_rotvec(np.outer(np.ravel(t), [0.0, rate, 0.0])).as_matrix()

    frames = [render_equirect_frame(pano, (w, h), R_at(row_time_s(t, rows, h, READOUT_S)))
              for t in frame_t]
    samples = sphere_flow_samples_from_frames(frames, frame_t)
    t0, t1 = samples.sample_times(READOUT_S)
    pred = np.einsum("mji,mjk,mk->mi", R_at(t1), R_at(t0), samples.ray0_cam)
    err_px = np.linalg.norm(pred - samples.ray1_cam, axis=1) * w / (2 * np.pi)
    yaw0 = np.degrees(np.arctan2(samples.ray0_cam[:, 0], samples.ray0_cam[:, 2]))
    yaw1 = np.degrees(np.arctan2(samples.ray1_cam[:, 0], samples.ray1_cam[:, 2]))
    crossed = np.abs(yaw1 - yaw0) > 180.0  # moved over u = 0 <-> W between the two frames
    assert crossed.sum() >= 10
    assert np.median(err_px[crossed]) < 0.2
    assert np.median(err_px) < 0.2
    pitch = np.degrees(np.arcsin(-samples.ray0_cam[:, 1]))
    assert np.abs(pitch).max() <= 60.0


def test_the_offset_is_found_on_uncompressed_panoramas(walk_sphere):
    samples, path = walk_sphere
    gyro = synthesize_gyro(path, 200.0, seed=7, clock_offset_s=0.2718, accel=False)
    res = sync_samples_to_gyro(samples, gyro, readout_s=READOUT_S, search_s=1.0)
    assert res.axes == "+x+y+z"
    assert abs(res.offset_s - 0.2718) < 0.5e-3


def test_an_unknown_readout_is_estimated_with_the_offset_on_the_sphere(walk_sphere):
    samples, path = walk_sphere
    gyro = synthesize_gyro(path, 200.0, seed=8, clock_offset_s=-0.4321, accel=False)
    res = sync_samples_to_gyro(samples, gyro, readout_s=0.0, search_s=1.0,
                               estimate_readout=True)
    assert abs(res.readout_s - READOUT_S) < 2e-3
    assert abs(res.offset_s + 0.4321) < 0.5e-3


@pytest.fixture(scope="module")
def walk360(tmp_path_factory):
    out = tmp_path_factory.mktemp("sync360")
    return generate_clip(out, kind="walk", seed=33, width=640, height=320, duration_s=3.0,
                         log_offset_s=0.5123, audio=False, projection="equirect")


def test_an_equirect_clip_is_synced_from_its_video_within_a_millisecond(walk360):
    from stabilize.inputs import resolve_inputs

    clip = resolve_inputs(walk360.video, projection="auto")  # no offset given: auto sync
    assert clip.projection == "equirect"
    assert abs(clip.offset_s - walk360.offset_s) < 1e-3
    assert any(n.startswith("auto sync: offset") for n in clip.notes)


def test_a_pan_with_its_axes_known_is_synced_within_a_millisecond(tmp_path):
    pan = generate_clip(tmp_path, kind="pan", seed=34, width=640, height=320, duration_s=2.0,
                        log_offset_s=-0.8372, audio=False, projection="equirect")
    log = read_log(pan.gcsv)
    res = sync_video_to_gyro(str(pan.video), log.gyro, readout_s=log.readout_s, axes="+x+y+z")
    assert abs(res.offset_s - pan.offset_s) < 1e-3
    assert res.notes[0].startswith("projection equirect: spherical metadata")


def test_cli_sync_finds_an_equirect_clips_offset(walk360, tmp_path):
    from cli import main

    out = tmp_path / "sync.json"
    r = CliRunner().invoke(main, ["sync", str(walk360.video), "--gyro", str(walk360.gcsv),
                                  "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "projection equirect" in r.output
    assert abs(json.loads(out.read_text())["offset_ms"] - walk360.offset_s * 1e3) < 1.0


def test_a_still_equirect_clip_is_refused_as_a_flat_one_is(tmp_path):
    from cli import main

    still = generate_clip(tmp_path, kind="static", seed=35, width=320, height=160,
                          duration_s=1.5, log_offset_s=0.1, audio=False, projection="equirect")
    r = CliRunner().invoke(main, ["stabilize", str(still.video), "-o", str(tmp_path / "o.mp4")])
    assert r.exit_code == 2
    assert r.output.startswith(f"Error: {still.video}: the video barely rotates")
    assert "motion too weak to sync; give --offset-ms" in r.output
    assert not (tmp_path / "o.mp4").exists()


def test_projection_is_forced_or_found_for_the_measurement(walk360, tmp_path):
    flat = generate_clip(tmp_path, kind="static", seed=1, width=160, height=90, duration_s=0.5,
                         audio=False)
    assert motion_camera(str(flat.video), None) == (None, None)
    cam, note = motion_camera(str(flat.video), None, "equirect")
    assert cam.meta["projection"] == "equirect" and note.startswith("projection equirect: given;")
    cam, _ = motion_camera(str(walk360.video), None)
    assert cam.size == (640, 320) and cam.meta["projection"] == "equirect"
    assert motion_camera(str(walk360.video), None, "flat") == (None, None)
    with pytest.raises(InputError, match="unknown projection"):
        motion_camera(str(flat.video), None, "cubemap")


def test_a_frame_that_is_not_two_to_one_is_refused():
    frames = [np.zeros((100, 150), np.uint8)] * 3
    with pytest.raises(InputError, match="twice as wide as high"):
        sphere_flow_samples_from_frames(frames, np.arange(3) / FPS)


def test_a_gyro_from_another_recording_does_not_sync_an_equirect_clip(walk_sphere):
    samples, _ = walk_sphere
    other = synthesize_gyro(camera_path("walk", 8.0, 99), 200.0, seed=3, accel=False)
    with pytest.raises(SolveError):
        sync_samples_to_gyro(samples, other, readout_s=READOUT_S, search_s=1.0)


def test_the_equirect_camera_is_what_the_samples_are_scaled_by(walk_sphere):
    samples, _ = walk_sphere
    assert samples.camera.K[0, 0] == pytest.approx(equirect_camera((480, 240)).K[0, 0])
