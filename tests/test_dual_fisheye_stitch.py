"""Dual-fisheye stills stitched with no rig file: generated frames against their truth, the
real photo against the seam targets, the saved rig, and the command line."""

import json
import math

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from stitch.dual_fisheye import stitch_dual_fisheye
from stitch.dual_fisheye.synthetic import (
    DualFisheyeTruth,
    render_dual_fisheye,
    true_seam_residuals_px,
)
from stitch.rig_io import read_rig


@pytest.fixture(scope="module")
def generated():
    truth = DualFisheyeTruth.random(seed=21, height_px=300, layout="stacked",
                                    margin_fraction=0.04)
    return truth, stitch_dual_fisheye(render_dual_fisheye(truth))


@pytest.fixture(scope="module")
def real(samples_dir):
    return stitch_dual_fisheye(cv2.imread(str(samples_dir / "dualfisheye" / "dualfisheye.jpg")))


def test_generated_frame_stitches_within_the_seam_bounds_of_the_truth(generated):
    truth, res = generated
    d = true_seam_residuals_px(truth, res.rig, res.layers, res.warps)
    assert d.size > 1000
    assert np.median(d) <= 0.5 and np.percentile(d, 90) <= 4.0
    # Unrepaired (calibration only) the truth's seam is already within the bounds too.
    d0 = true_seam_residuals_px(truth, res.rig, res.layers, None)
    assert np.median(d0) <= 0.5 and np.percentile(d0, 90) <= 4.0


def test_generated_calibration_recovers_the_lenses(generated):
    truth, res = generated
    for cam, lens in zip(res.rig, truth.lenses, strict=True):
        K = cam.camera.K
        assert abs(K[0, 2] - lens.cx_px) < 1.0 and abs(K[1, 2] - lens.cy_px) < 1.0
        # The radius where rays 90 degrees off axis land is what the ring pins down.
        f, k1 = K[0, 0], cam.camera.dist[0]
        r90 = f * math.pi / 2 * (1 + k1 * math.pi**2 / 4)
        assert abs(r90 - lens.radius_px(math.pi / 2)) < 1.5
    R = res.rig[1].R_rig_from_cam.T @ truth.R_rig_from_back
    assert math.degrees(math.acos(np.clip((np.trace(R) - 1) / 2, -1, 1))) < 0.3


def test_real_photo_meets_the_seam_targets(real):
    held = real.seams["overall"]["heldout"]["after"]
    assert held["n"] >= 30
    assert held["median_px"] <= 0.5 and held["p90_px"] <= 4.0
    assert real.seams["similarity"][0]["psnr_db"] >= 24.0
    assert real.report["dual_fisheye"]["layout"] == "side_by_side"
    assert real.panorama.shape == (real.report["height_px"], real.report["width_px"], 3)


def test_saved_rig_reads_back_and_stitches_the_frame_given_twice(tmp_path):
    truth = DualFisheyeTruth.random(seed=31, height_px=200, margin_fraction=0.03)
    photo = tmp_path / "frame.png"
    cv2.imwrite(str(photo), render_dual_fisheye(truth))
    r = CliRunner().invoke(main, ["stitch", "--dual-fisheye", str(photo), "-o",
                                  str(tmp_path / "pano.jpg"), "--save-rig",
                                  str(tmp_path / "rig.json"), "--report",
                                  str(tmp_path / "r.json"), "--layers", str(tmp_path / "L")])
    assert r.exit_code == 0, r.output
    data = (tmp_path / "pano.jpg").read_bytes()
    assert b"<GPano:ProjectionType>equirectangular</GPano:ProjectionType>" in data
    assert sorted(p.name for p in (tmp_path / "L").iterdir()) == ["layer_back.png",
                                                                   "layer_front.png"]
    first = json.loads((tmp_path / "r.json").read_text())
    rig = read_rig(tmp_path / "rig.json")
    assert rig.ids == ["front", "back"]
    for cam, lens in zip(rig, first["dual_fisheye"]["lenses"], strict=True):
        assert cam.camera.K[0, 0] == pytest.approx(lens["f_px"])
        assert cam.camera.K[0, 2] == pytest.approx(lens["cx_px"])
        assert cam.fov_rad == pytest.approx(lens["fov_rad"])
    np.testing.assert_allclose(rig[1].R_rig_from_cam, first["dual_fisheye"]["R_rig_from_back"],
                               atol=1e-9)
    # The same frame through the saved rig (given once per lens) gives the same seams.
    r = CliRunner().invoke(main, ["stitch", str(tmp_path / "rig.json"), str(photo), str(photo),
                                  "-o", str(tmp_path / "again.jpg"), "--width",
                                  str(first["width_px"]), "--no-refine", "--report",
                                  str(tmp_path / "r2.json")])
    assert r.exit_code == 0, r.output
    again = json.loads((tmp_path / "r2.json").read_text())["seams"]["overall"]["heldout"]
    assert again["after"]["median_px"] == pytest.approx(
        first["seams"]["overall"]["heldout"]["after"]["median_px"], abs=1e-6)


@pytest.mark.parametrize(("make", "problem"), [
    ("square", "neither about 2:1"), ("flat", "no fisheye image circle"),
    ("missing", "image does not exist")])
def test_bad_dual_fisheye_input_exits_2_with_one_line_and_writes_nothing(tmp_path, make,
                                                                         problem):
    src = tmp_path / f"{make}.png"
    if make == "square":
        cv2.imwrite(str(src), np.full((200, 200, 3), 128, np.uint8))
    elif make == "flat":
        cv2.imwrite(str(src), np.full((200, 400, 3), 128, np.uint8))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["stitch", "--dual-fisheye", str(src), "-o",
                                  str(out / "p.jpg"), "--save-rig", str(out / "rig.json")])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert lines[-1] == f"Error: {src}: " + lines[-1].split(": ", 2)[2]
    assert problem in lines[-1] and "Traceback" not in r.output
    assert not out.exists()


def test_dual_fisheye_takes_no_rig(tmp_path):
    r = CliRunner().invoke(main, ["stitch", "rig.json", "--dual-fisheye", "x.jpg", "-o",
                                  str(tmp_path / "p.jpg")])
    assert r.exit_code == 2 and "give no RIG" in r.output
