"""Equirectangular (360) clips end to end: generated with truth, stabilized by rotating the sphere,
written with the same size, audio and spherical metadata, and no undefined pixels."""

import av
import numpy as np
import pytest
from click.testing import CliRunner

import cli
from sensors.errors import InputError
from sensors.quaternion import qconj, qmul, qto_matrix
from sensors.rolling_shutter import row_time_s
from sensors.spherical import read_spherical
from sensors.synthetic import generate_clip
from stabilize.inputs import resolve_inputs
from stabilize.metrics import REFERENCE_WIDTH, truth_jitter_px
from stabilize.params import StabilizeParams
from stabilize.pipeline import plan_clip, stabilize_video
from stabilize.sphere_plan import level_sphere

F_SPHERE960 = REFERENCE_WIDTH / (2 * np.pi)  # px per radian at a 960 px wide equirect


@pytest.fixture(scope="module")
def walk360(tmp_path_factory):
    folder = tmp_path_factory.mktemp("walk360")
    return generate_clip(folder, kind="walk", seed=1, width=320, height=160, duration_s=2.0,
                         readout_s=0.02, projection="equirect")


def _gray(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray") for f in c.decode(video=0)]


def test_generated_equirect_clip_has_truth_and_spherical_metadata(walk360):
    assert walk360.projection == "equirect" and walk360.lens is None
    info = read_spherical(walk360.video)
    assert info is not None and info.projection == "equirect"
    d = np.load(walk360.truth_npz)
    assert d["band_quat"].shape == (walk360.n_frames, d["band_rows"].size, 4)
    assert d["K"][0, 0] == pytest.approx(320 / (2 * np.pi))


def test_equirect_clip_is_stabilized_end_to_end(walk360, tmp_path):
    out = tmp_path / "steady.mp4"
    res = stabilize_video(walk360.video, out, offset_ms=0.0)
    assert res.projection == "equirect" and res.stabilized_frames == (0, walk360.n_frames)
    assert np.all(res.zoom == 1.0)
    assert any("leveled" in n for n in res.notes)
    info = read_spherical(out)
    assert info is not None and info.projection == "equirect" and info.versions == (1, 2)
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert (v.width, v.height) == (320, 160) and len(c.streams.audio) == 1
    src, dst = _gray(walk360.video), _gray(out)
    assert len(dst) == len(src)
    # no undefined (black) pixels: no more near-black than the input has
    dark_in = np.mean([np.mean(f <= 16) for f in src])
    dark_out = np.mean([np.mean(f <= 16) for f in dst])
    assert dark_out <= dark_in + 1e-3

    # residual jitter against the truth, per truth row band (rolling shutter included), on
    # the sphere at 960 px wide
    params = StabilizeParams()
    plan = plan_clip(resolve_inputs(walk360.video, offset_ms=0.0, projection="auto"), params)
    assert np.allclose(plan.path.virtual_quat, res.virtual_quat)
    d = np.load(walk360.truth_npz)
    t = d["frame_t_s"]
    band_t = row_time_s(t[:, None], d["band_rows"][None, :], 160, plan.motion.readout_s)
    jitter_out, jitter_in = [], []
    for b in range(d["band_rows"].size):
        q_true = d["band_quat"][:, b]
        shown = qmul(qmul(q_true, qconj(plan.motion.real.at(band_t[:, b]))), res.virtual_quat)
        jitter_out.append(truth_jitter_px(t, shown, F_SPHERE960, 30.0))
        jitter_in.append(truth_jitter_px(t, q_true, F_SPHERE960, 30.0))
    assert np.sqrt(np.mean(np.square(jitter_out))) <= 0.15
    assert np.sqrt(np.mean(np.square(jitter_in))) > 5 * np.sqrt(np.mean(np.square(jitter_out)))


def test_sphere_is_leveled_with_gravity_down(walk360):
    params = StabilizeParams()
    clip = resolve_inputs(walk360.video, offset_ms=0.0, projection="auto")
    plan = plan_clip(clip, params)
    from stabilize.horizon import gravity_world

    down, from_accel = gravity_world(plan.motion.gyro, plan.motion.real, plan.path.t_s)
    assert from_accel
    y_axis = qto_matrix(plan.path.virtual_quat)[:, :, 1]
    assert np.all(np.sum(y_axis * down, axis=1) > np.cos(np.radians(0.01)))
    free = plan_clip(clip, params, level_sphere=False)
    assert not any("leveled" in n for n in free.notes)
    assert np.all(np.sum(qto_matrix(free.path.virtual_quat)[:, :, 1] * down, axis=1) < 0.9999)


def test_level_sphere_keeps_the_heading():
    yaw, tilt = 0.7, 0.2
    R = (np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
         @ np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]]))
    from sensors.quaternion import qfrom_matrix

    q = level_sphere(qfrom_matrix(R[None]), np.array([0.0, 1.0, 0.0]))
    L = qto_matrix(q)[0]
    assert np.allclose(L[:, 1], [0, 1, 0])
    assert np.arctan2(L[0, 2], L[2, 2]) == pytest.approx(yaw)


def test_equirect_needs_a_2to1_frame(tmp_path):
    with pytest.raises(InputError, match="twice as wide"):
        generate_clip(tmp_path, width=320, height=180, duration_s=0.5, projection="equirect")


def test_samples_command_writes_equirect_clips(tmp_path):
    r = CliRunner().invoke(cli.main, ["samples", str(tmp_path), "--kinds", "pan", "--width",
                                      "160", "--duration", "0.5", "--projection", "equirect",
                                      "--no-audio"])
    assert r.exit_code == 0, r.output
    video = tmp_path / "pan_s0.mp4"
    with av.open(str(video)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (160, 80)
    assert read_spherical(video).projection == "equirect"
    assert not (tmp_path / "pan_s0.lens.json").exists()
