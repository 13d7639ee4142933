"""Calibration refinement: lenses that differ from the rig file are found, and a guard keeps the
rig file's calibration when the matches do not support a refinement."""

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from stitch import StitchParams, stitch_images
from stitch.flow import PairMatches
from stitch.params import REFINE_CHOICES
from stitch.projection import find_overlaps, project_rig
from stitch.refine_calib import CameraMatches
from stitch.refine_features import feature_matches
from stitch.refine_stage import calibrate_rig, supports_intrinsics
from stitch.synthetic import generate_rosette, perturb_intrinsics, ring_rig, true_seam_residuals

W = 1024
FOCAL_ERROR = 0.02
PP_ERROR_PX = 8.0


@pytest.fixture(scope="module")
def ring(tmp_path_factory):
    """Six cameras whose real lenses differ from the rig file by 2 % focal length and 8 px of
    principal point (and 0.5 degree rotations); the scene at infinity, so the truth is exact."""
    g = generate_rosette(tmp_path_factory.mktemp("lens_ring"), n_cameras=6, width=320,
                         height=240, hfov_deg=90.0, miscalibration_deg=0.5,
                         focal_error=FOCAL_ERROR, principal_error_px=PP_ERROR_PX, seed=7,
                         ground_plane_m=None)
    imgs = [cv2.imread(str(p)) for p in g.image_paths]
    return g, imgs


@pytest.fixture(scope="module")
def stitched(ring):
    g, imgs = ring
    return {mode: stitch_images(g.rig, imgs, StitchParams(width_px=W, refine_mode=mode,
                                                          repair=False))
            for mode in ("none", "rotations", "intrinsics")}


def _true_residuals(ring, rig):
    g, _ = ring
    return np.concatenate(list(true_seam_residuals(g.truth, rig, W).values()))


def test_lens_refinement_aligns_the_seams_where_rotations_cannot(ring, stitched):
    lens = _true_residuals(ring, stitched["intrinsics"].rig)
    rot = _true_residuals(ring, stitched["rotations"].rig)
    # Without warps and without parallax, the truth measures the calibration alone.
    assert np.median(lens) < 0.3 and np.percentile(lens, 90) < 1.0
    assert np.percentile(rot, 90) > 5.0 > 5 * np.percentile(lens, 90)


def test_refined_lenses_move_to_the_truth(ring, stitched):
    g, _ = ring
    for ref, true in zip(stitched["intrinsics"].rig, g.true_rig, strict=True):
        assert abs(ref.camera.K[0, 0] / true.camera.K[0, 0] - 1) < 0.25 * FOCAL_ERROR
        assert np.hypot(*(ref.camera.K[:2, 2] - true.camera.K[:2, 2])) < 0.25 * PP_ERROR_PX


def test_report_lists_every_refined_parameter(ring, stitched):
    g, _ = ring
    info = stitched["intrinsics"].report["refine_info"]
    assert info["mode_used"] == "intrinsics" and info["kept"] == "intrinsics"
    assert {"nominal", "intrinsics"} <= set(info["guard"]["scores"])
    for row, nom, ref in zip(info["cameras"], g.rig, stitched["intrinsics"].rig, strict=True):
        assert row["camera"] == nom.id
        f = 100 * (ref.camera.K[0, 0] / nom.camera.K[0, 0] - 1)
        assert row["focal_change_pct"] == pytest.approx(f)
        assert row["principal_point_change_px"] == pytest.approx(
            (ref.camera.K[:2, 2] - nom.camera.K[:2, 2]).tolist())
        assert {"yaw_change_deg", "pitch_change_deg", "roll_change_deg", "distortion_before",
                "distortion_after"} <= set(row)
    json.dumps(stitched["intrinsics"].report)  # JSON-ready


def test_refine_modes_change_what_they_say(ring, stitched):
    g, _ = ring
    none, rot, lens = stitched["none"], stitched["rotations"], stitched["intrinsics"]
    assert none.report["refine"] is False
    for a, b in zip(none.rig, g.rig, strict=True):
        np.testing.assert_array_equal(a.R_rig_from_cam, b.R_rig_from_cam)
        np.testing.assert_array_equal(a.camera.K, b.camera.K)
    assert rot.report["refine_info"]["mode_used"] == "rotations"
    for a, b in zip(rot.rig, g.rig, strict=True):
        np.testing.assert_array_equal(a.camera.K, b.camera.K)
        np.testing.assert_array_equal(a.camera.dist, b.camera.dist)
    assert all(abs(a.camera.K[0, 0] / b.camera.K[0, 0] - 1) > 0.005
               for a, b in zip(lens.rig, g.rig, strict=True))


def _shuffled(matches, rng):
    out = []
    for m in matches:
        if isinstance(m, CameraMatches):
            out.append(CameraMatches(m.i, m.j, m.x_i, m.x_j[rng.permutation(len(m))],
                                     m.weight, m.heldout, m.source))
        else:
            out.append(PairMatches(m.i, m.j, m.p_i, m.p_j[rng.permutation(len(m))], m.weight,
                                   m.heldout))
    return out


def _nominal_projection(ring, params):
    g, imgs = ring
    layers = project_rig(g.rig, imgs, W, params.feather_px, params.margin_px)
    return layers, find_overlaps(layers)


def test_guard_keeps_the_rig_file_when_the_matches_are_wrong(ring):
    g, imgs = ring
    params = StitchParams(width_px=W, refine_mode="intrinsics")
    layers, ovs = _nominal_projection(ring, params)
    rng = np.random.default_rng(0)
    fm = _shuffled(feature_matches(g.rig, imgs, [(o.i, o.j) for o in ovs]), rng)
    from stitch.flow import overlap_correspondences

    def wrong_flow(lay, ov, p):
        return _shuffled(overlap_correspondences(lay, ov, p), rng)

    out = calibrate_rig(g.rig, imgs, layers, ovs, params, wrong_flow,
                        feature_matches_override=fm)
    assert out.info["kept"] == "nominal"
    assert out.rig is g.rig
    assert any("not kept" in w and "nominal" in w for w in out.warnings)


def test_a_diverging_solve_falls_back_with_a_warning(ring):
    g, imgs = ring
    params = StitchParams(width_px=W, refine_mode="intrinsics")
    layers, ovs = _nominal_projection(ring, params)
    fm = feature_matches(g.rig, imgs, [(o.i, o.j) for o in ovs])
    # Every match 150 px off: only a camera turned by tens of degrees would explain it.
    off = [CameraMatches(m.i, m.j, m.x_i, m.x_j + [150.0, 0.0], m.weight, m.heldout, m.source)
           for m in fm]
    out = calibrate_rig(g.rig, imgs, layers, ovs, params, lambda *a: [],
                        feature_matches_override=off)
    assert out.rig is g.rig and out.info["kept"] == "nominal"
    assert any("dropped" in w for w in out.warnings)
    assert all(np.isfinite(s["score_px"]) for s in out.info["guard"]["scores"].values())


def test_auto_refines_lenses_only_with_matches_spread_over_every_image(ring):
    g, imgs = ring
    params = StitchParams(width_px=W)
    _, ovs = _nominal_projection(ring, params)
    fm = feature_matches(g.rig, imgs, [(o.i, o.j) for o in ovs])
    assert supports_intrinsics(g.rig, fm)[0]
    few = [m.subset(np.arange(min(len(m), 5))) for m in fm]
    ok, why = supports_intrinsics(g.rig, few)
    assert not ok and "feature matches" in why


def test_cli_refine_option_offers_the_library_choices(ring, tmp_path):
    g, _ = ring
    r = CliRunner().invoke(main, ["stitch", "--help"])
    assert "[" + "|".join(REFINE_CHOICES) + "]" in r.output.replace("\n", "").replace(" ", "")
    report = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["stitch", str(g.rig_path), str(g.out_dir), "-o",
                                  str(tmp_path / "p.jpg"), "--width", str(W), "--no-repair",
                                  "--refine", "intrinsics", "--report", str(report)])
    assert r.exit_code == 0, r.output
    info = json.loads(report.read_text())["refine_info"]
    assert info["mode_requested"] == "intrinsics" and info["kept"] == "intrinsics"


def test_perturbed_lenses_have_the_asked_error_sizes():
    nominal = ring_rig(4, 320, 240)
    true = perturb_intrinsics(nominal, np.random.default_rng(3), focal_error=0.015,
                              principal_error_px=6.0)
    for a, b in zip(true, nominal, strict=True):
        assert abs(a.camera.K[0, 0] / b.camera.K[0, 0] - 1) == pytest.approx(0.015)
        assert np.hypot(*(a.camera.K[:2, 2] - b.camera.K[:2, 2])) == pytest.approx(6.0)
        np.testing.assert_array_equal(a.R_rig_from_cam, b.R_rig_from_cam)
