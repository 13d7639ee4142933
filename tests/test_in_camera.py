"""The camera's own stabilization: refused, let through, or undone (GoPro IORI); the conversion
of the camera's quaternions to our axes, against generated rotations."""

import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from sensors.errors import InputError
from sensors.in_camera import (
    camera_orientation,
    in_camera_state,
    offset_from_camera_orientation,
    picture_rotation,
)
from sensors.lens_profile import load_lens_profile
from sensors.orientation import integrate_gyro
from sensors.quaternion import qconj, qexp, qlog, qmul, qrotate
from sensors.readers import read_log
from sensors.types import CameraMetadata, GyroLog, QuaternionTrack, SensorLog
from stabilize.in_camera import (
    InCameraStabilizationError,
    frame_picture_rotation,
    plan_in_camera,
    undo_picture_rotation,
)
from stabilize.inputs import resolve_inputs
from stabilize.motion import analyze_motion, assumed_camera


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _as_gopro(q_xyzw: np.ndarray) -> np.ndarray:
    """How the camera stores one of our rotations: the inverse, scalar first."""
    return qconj(q_xyzw)[:, [3, 0, 1, 2]]


# --- conversion of the camera's quaternions, with generated rotations ---

def test_a_generated_picture_rotation_comes_back_from_its_gopro_encoding():
    rng = np.random.default_rng(3)
    rot = qexp(rng.normal(scale=0.2, size=(20, 3)))  # R_cam_from_picture, our axes
    track = QuaternionTrack(np.arange(20) / 30.0, _as_gopro(rot) * 0.99)  # stored unnormalised
    back = picture_rotation(track)
    np.testing.assert_allclose(np.abs(np.sum(back * rot, axis=1)), 1.0, atol=1e-12)
    # and as geometry: a ray seen in the picture maps to the camera ray the rotation says
    v = rng.normal(size=(20, 3))
    np.testing.assert_allclose(qrotate(back, v), qrotate(rot, v), atol=1e-12)


def test_the_undone_motion_is_the_body_turned_by_each_frame_s_picture_rotation():
    # a body shaking about every axis, and a camera that held the picture still: its picture
    # rotation is the inverse of the body's motion at each frame time
    t = np.arange(0, 2.0, 0.005)
    w = np.stack([np.sin(9 * t), 0.7 * np.cos(13 * t), 0.4 * np.sin(5 * t)], axis=1)
    ft = np.arange(0.1, 1.9, 1 / 30)
    cam = assumed_camera((160, 90))
    m = analyze_motion(GyroLog(t, w), ft, cam, readout_s=0.0, bias_rad_s=np.zeros(3))
    body = m.frame_quat
    rot = qconj(body)  # R_cam_from_picture that keeps the picture at the world's identity
    track = QuaternionTrack(ft, _as_gopro(rot))
    u = undo_picture_rotation(m, frame_picture_rotation(
        dataclasses.replace(in_camera_state(None), image_orientation=track), ft))
    ident = np.array([0, 0, 0, 1.0])
    assert np.max(np.linalg.norm(qlog(qmul(u.frame_quat, ident)), axis=1)) < 1e-9
    for i in (0, 17, len(ft) - 1):  # every row band of a frame (readout 0) likewise
        assert np.max(np.linalg.norm(qlog(u.frame(i).quat), axis=1)) < 1e-9
    # the body itself moved: a gyro-only warp would have "corrected" a still picture
    assert np.max(np.linalg.norm(qlog(body), axis=1)) > 0.02


def test_the_offset_to_the_camera_s_orientation_is_found_with_a_bias_on_the_gyro():
    t = np.arange(0, 5, 0.005)
    w = np.stack([np.sin(3 * t), np.cos(5 * t), 0.3 * np.sin(7 * t)], axis=1)
    ft = np.arange(0.5, 4.5, 1 / 30)
    q = integrate_gyro(GyroLog(t, w)).at(ft + 0.0123)  # the gyro runs 12.3 ms late
    cori = QuaternionTrack(ft, _as_gopro(q))
    back = camera_orientation(cori)  # R_world_from_cam again
    np.testing.assert_allclose(np.abs(np.sum(back * q, axis=1)), 1.0, atol=1e-12)
    bias = np.array([0.01, -0.02, 0.005])
    off, res, found = offset_from_camera_orientation(GyroLog(t, w + bias), cori)
    assert off == pytest.approx(0.0123, abs=2e-4)
    np.testing.assert_allclose(found, bias, atol=2e-3)
    assert res < 2e-4


# --- what the clips say, and what stabilize does about it ---

def test_hero7_is_refused_with_one_line_and_nothing_written(samples_dir, tmp_path):
    out = tmp_path / "h7.mp4"
    res = _run("stabilize", samples_dir / "gopro" / "hero7.mp4", "-o", out,
               "--sidecar", tmp_path / "h7.json")
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert lines == [f"Error: {samples_dir / 'gopro' / 'hero7.mp4'}: the camera stabilized this "
                     "clip itself (EIS \"HS EIS\"): its picture no longer follows the gyro; "
                     "record with HyperSmooth off, or pass --allow-in-camera-stabilization to "
                     "stabilize it anyway"]
    assert list(tmp_path.iterdir()) == []


def test_hero7_is_let_through_with_the_flag_and_a_warning(samples_dir):
    clip = resolve_inputs(samples_dir / "gopro" / "hero7.mp4",
                          allow_in_camera_stabilization=True)
    assert clip.picture_rotation is None
    assert clip.in_camera.sidecar_value == "HS EIS kept"
    warn = [n for n in clip.notes if n.startswith("warning: the camera stabilized this clip")]
    assert len(warn) == 1 and "--allow-in-camera-stabilization" in warn[0]


def test_the_flag_takes_hero7_past_the_refusal_on_the_command_line(samples_dir, tmp_path):
    # an impossible offset stops the run right after the refusal would have come
    res = _run("stabilize", samples_dir / "gopro" / "hero7.mp4", "-o", tmp_path / "h7.mp4",
               "--allow-in-camera-stabilization", "--offset-ms", "nan")
    assert res.exit_code == 2
    assert "offset nan ms is not finite" in res.output and "stabilized" not in res.output


def test_a_lens_profile_noted_hs_eis_says_so_when_the_log_does_not(samples_dir):
    log = SensorLog("clip.gcsv", "gcsv", GyroLog(np.arange(3.0), np.zeros((3, 3))))
    prof = samples_dir / "lens_profiles" / \
        "GoPro_HERO7 Black_Wide_HS EIS_1080p_16by9_1920x1080-29.97fps.json"
    cam = load_lens_profile(prof)
    state = in_camera_state(log, cam)
    assert (state.applied, state.setting, state.source) == (True, "HS EIS", "lens profile")
    with pytest.raises(InCameraStabilizationError, match="from the lens profile's note"):
        plan_in_camera(log, cam, "clip.mp4")
    no_eis = load_lens_profile(samples_dir / "lens_profiles" /
                               "GoPro_HERO5 Black_Wide_NO-EIS_16by9.json")
    assert plan_in_camera(log, no_eis, "clip.mp4").sidecar_value is False


def test_the_camera_s_own_word_wins_over_the_lens_profile_s(samples_dir):
    log = read_log(samples_dir / "gopro" / "karma.mp4")  # EIS off, says the camera
    cam = load_lens_profile(samples_dir / "lens_profiles" /
                            "GoPro_HERO5 Black_Wide_EIS-Y_16by9.json")
    assert in_camera_state(log, cam).applied is False
    assert in_camera_state(log, cam).source == "telemetry"


def test_max_heromode_is_undone_and_its_picture_then_follows_the_gyro(samples_dir):
    from sensors.video_motion import flow_samples_from_video, pair_rates

    clip = resolve_inputs(samples_dir / "gopro" / "max-heromode.mp4")
    assert clip.in_camera.undo and clip.in_camera.sidecar_value == "HS HLevel undone"
    # the gyro is lined up with the camera's orientation: 18 ms here (measured, see
    # docs/benchmarks.md), and the picture has no rolling shutter left
    assert clip.offset_s == pytest.approx(0.018, abs=1.5e-3)
    assert clip.readout_s == 0.0
    assert clip.picture_rotation.shape == (clip.info.n_frames, 4)
    m = analyze_motion(clip.log, clip.frame_t_s, clip.camera, offset_s=clip.offset_s,
                       readout_s=0.0, bias_rad_s=np.zeros(3))
    u = undo_picture_rotation(m, clip.picture_rotation)
    # the whole clip: in its quiet stretches the picture moves less than the flow's noise
    fs = flow_samples_from_video(str(clip.video), clip.camera)
    pr = pair_rates(fs, 0.0)
    idx = np.searchsorted(clip.frame_t_s, fs.frame_t_s - 1e-6)

    def misfit(frame_quat):  # RMS of flow rate minus the model's, rad/s
        q = frame_quat[idx]
        r = qlog(qmul(qconj(q[:-1]), q[1:])) / np.diff(fs.frame_t_s)[:, None]
        return float(np.sqrt(np.mean((pr.omega_rad_s[pr.valid] - r[pr.valid]) ** 2)))

    flow_rms = float(np.sqrt(np.mean(pr.omega_rad_s[pr.valid] ** 2)))
    assert misfit(u.frame_quat) < 0.6 * flow_rms  # most of the picture's motion explained
    assert misfit(m.frame_quat) > flow_rms  # the gyro alone explains none of it
    assert misfit(u.frame_quat) < 0.5 * misfit(m.frame_quat)


def test_a_video_without_telemetry_keeps_the_assumed_lens(tmp_path):
    from sensors.synthetic import generate_clip

    clip = generate_clip(tmp_path, width=160, height=90, duration_s=1.0, audio=False)
    clip.video.with_suffix(".lens.json").unlink()
    inputs = resolve_inputs(clip.video, offset_ms=0.0)
    assert inputs.camera.meta.get("assumed") == assumed_camera((160, 90)).meta["assumed"]
    np.testing.assert_array_equal(inputs.camera.K, assumed_camera((160, 90)).K)
    assert not any("database" in n for n in inputs.notes)
    assert inputs.in_camera.sidecar_value is None and inputs.picture_rotation is None


def test_a_digital_lens_mode_keeps_the_assumed_lens_and_says_why(samples_dir):
    log = read_log(samples_dir / "gopro" / "karma.mp4")
    meta = dataclasses.replace(log.camera_meta, lens_mode="S")
    clip = resolve_inputs(samples_dir / "gopro" / "karma.mp4",
                          gyro=dataclasses.replace(log, camera_meta=meta), offset_ms=0.0)
    assert clip.camera.meta.get("assumed")
    assert any(n.startswith("no lens profile from the database: lens mode SuperView is a "
                            "digital lens") and "assumed pinhole" in n for n in clip.notes)


# --- inspect and stabilize on karma ---

def test_karma_inspect_reports_no_in_camera_stabilization_and_the_hero5_medium_profile(
        samples_dir, tmp_path):
    out = tmp_path / "k.json"
    res = _run("inspect", samples_dir / "gopro" / "karma.mp4", "--json", out)
    assert res.exit_code == 0, res.output
    r = json.loads(out.read_text())
    assert r["in_camera_stabilization"] is False
    lp = r["lens_profile"]
    assert lp["key"].startswith("GoPro/GoPro_HERO5 Black_") and "Medium" in lp["key"]
    assert lp["name"] in lp["key"] and 0 < lp["score"] <= 100 and "lens mode" in lp["reason"]
    assert r["lens_profile_reason"] is None
    assert f"lens profile:   {lp['name']}" in res.output


def test_a_log_file_has_no_lens_profile(samples_dir, tmp_path):
    out = tmp_path / "l.json"
    log = samples_dir / "gyro_logs" / "twistnsync" / "smartphone_gyro_data.csv"
    res = _run("inspect", log, "--json", out)
    assert res.exit_code == 0, res.output
    r = json.loads(out.read_text())
    assert r["lens_profile"] is None and r["lens_profile_reason"]


def test_karma_stabilize_takes_the_database_profile_without_a_lens_flag(samples_dir, tmp_path):
    side = tmp_path / "k.json"
    res = _run("stabilize", samples_dir / "gopro" / "karma.mp4", "-o", tmp_path / "k.mp4",
               "--sidecar", side)
    assert res.exit_code == 0, res.output
    cam = json.loads(side.read_text())["camera"]
    assert cam["chosen_from_database"] is True and cam["assumed"] is None
    assert cam["database_key"].startswith("GoPro/GoPro_HERO5 Black_") and "Medium" in cam[
        "profile"]
    assert f"note: lens profile {cam['profile']} from the bundled database" in res.output
    assert json.loads(side.read_text())["in_camera_stabilization"] is False


def test_frame_picture_rotation_needs_a_track():
    with pytest.raises(InputError):
        frame_picture_rotation(in_camera_state(None), np.arange(3.0))


def test_gopro_metadata_without_a_stabilization_word_is_unknown():
    log = SensorLog("c.mp4", "telemetry", GyroLog(np.arange(3.0), np.zeros((3, 3))),
                    camera_meta=CameraMetadata(model="HERO9 Black"))
    assert in_camera_state(log).applied is None
    assert plan_in_camera(log, None, "c.mp4").sidecar_value is None
