"""Truth measures of dual-fisheye clips: seam residuals of a stitch and band jitter."""

import dataclasses
import json

import numpy as np
import pytest

from sensors.quaternion import qangle
from sensors.synthetic import DualFisheyeCalibration, generate_clip
from sensors.synthetic.dual_fisheye_truth import DualFisheyeClipTruth, seam_errors_px
from stabilize.metrics import band_jitter_px

OUT = (256, 128)


@pytest.fixture(scope="module")
def pan(tmp_path_factory):
    clip = generate_clip(tmp_path_factory.mktemp("dft"), kind="pan", seed=3, width=256,
                         height=128, fps=10.0, duration_s=2.0, readout_s=0.03,
                         projection="dual-fisheye", audio=False)
    truth = DualFisheyeClipTruth.load(clip.truth_npz)
    k = int(np.argmax(np.linalg.norm(np.load(clip.truth_npz)["frame_omega_rad_s"], axis=1)))
    return clip, truth, k, truth.row_matrices(k, (OUT[1] - 1) / 2)


def test_the_truths_own_source_maps_stitch_without_seam_error(pan):
    _, truth, k, R_v = pan
    s = seam_errors_px(truth, k, truth.equirect_source_maps(k, OUT, R_v), R_v).summary()
    assert s["between"]["n"] > 0.15 * OUT[0] * OUT[1]  # the overlap ring
    for part in ("front", "back", "between"):
        assert s[part]["p90_px"] < 1e-3, s


def test_a_stitch_that_ignores_the_baseline_shows_its_parallax_at_the_seam(pan):
    _, truth, k, R_v = pan
    c = truth.calibration
    far = dataclasses.replace(truth, calibration=dataclasses.replace(
        c, centres_m=np.zeros((2, 3))))
    s = seam_errors_px(truth, k, far.equirect_source_maps(k, OUT, R_v), R_v).summary()
    px_per_rad = OUT[0] / (2 * np.pi)
    nearest = truth.scene.ground_m
    # between the lenses: baseline / depth (depth 1.5-4 m here), each lens half of it
    assert 0.5 * c.baseline_m / truth.scene.radius_m * px_per_rad < s["between"]["median_px"]
    assert s["between"]["p90_px"] <= 1.01 * c.baseline_m / nearest * px_per_rad
    for lens in ("front", "back"):
        assert s[lens]["median_px"] == pytest.approx(s["between"]["median_px"] / 2, rel=0.1)


def test_a_stitch_that_ignores_the_rolling_shutter_is_off_by_the_rows_rotation(pan):
    _, truth, k, R_v = pan
    global_shutter = dataclasses.replace(truth, readout_s=0.0)
    maps = global_shutter.equirect_source_maps(k, OUT, R_v)
    s = seam_errors_px(truth, k, maps, R_v).summary()
    w = np.linalg.norm(np.load(pan[0].truth_npz)["frame_omega_rad_s"][k])
    most = w * truth.readout_s / 2 * OUT[0] / (2 * np.pi)  # the top or bottom row's rotation
    assert 0.1 * most < s["front"]["median_px"] < most
    assert s["between"]["median_px"] < 0.5 * s["front"]["median_px"]  # both lenses move alike


def test_band_times_give_the_truths_band_orientations(pan):
    clip, truth, _, _ = pan
    q = truth.orientation.at(truth.band_times_s)
    assert np.max(qangle(q, np.load(clip.truth_npz)["band_quat"])) < 1e-6


def test_band_jitter_is_zero_for_a_perfect_estimate_and_not_without_rolling_shutter(pan):
    clip, truth, _, _ = pan
    d = np.load(clip.truth_npz)
    t, q_true = d["frame_t_s"], d["band_quat"]
    still = np.tile([0.0, 0.0, 0.0, 1.0], (len(t), 1))
    assert band_jitter_px(t, q_true, q_true, still, 152.8, 10.0) < 1e-6
    frame_only = np.broadcast_to(d["frame_quat"][:, None], q_true.shape)
    assert band_jitter_px(t, q_true, frame_only, still, 152.8, 10.0) > 0.05


def test_the_truth_holds_the_calibration_the_clip_was_rendered_with(tmp_path):
    calib = DualFisheyeCalibration.random(11, (128, 64), rim_px=2.0)
    clip = generate_clip(tmp_path, kind="walk", width=128, height=64, duration_s=0.2,
                         projection="dual-fisheye", dual_fisheye=calib, audio=False)
    truth = DualFisheyeClipTruth.load(clip.truth_npz)
    from_json = DualFisheyeCalibration.from_dict(json.loads(clip.truth_json.read_text())[
        "dual_fisheye"])
    for got in (truth.calibration, from_json):
        assert got.lenses == calib.lenses and got.gains == calib.gains
        assert got.size == calib.size and got.rim_px == calib.rim_px
        np.testing.assert_array_equal(got.R_rig_from_back, calib.R_rig_from_back)
        np.testing.assert_array_equal(got.centres_m, calib.centres_m)
