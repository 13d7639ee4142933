"""Rig rotation refinement: recovers a known miscalibration up to the fixed camera's gauge."""

import math

import numpy as np
import pytest

from sensors.equirect import dirs_to_equirect
from sensors.errors import InputError
from stitch.flow import PairMatches
from stitch.projection import ProjectedLayer
from stitch.refine import refine_rotations, rotate_matches, rotation_matrix
from stitch.synthetic import RosetteScene, RosetteTruth, ring_rig, true_correspondence

W = 3072
N = 6


def _rosette_matches(miscal_deg=0.4, seed=2376609, outliers=0.0, ground_plane_m=None):
    """Exact correspondences of a rosette (at infinity unless a ground plane is given)."""
    rng = np.random.default_rng(seed)
    true_rig = ring_rig(N, 320, 240, hfov_deg=80.0)
    axes = rng.normal(size=(N, 3))
    rotvec = axes / np.linalg.norm(axes, axis=1, keepdims=True) * math.radians(miscal_deg)
    written = true_rig.with_rotations(np.stack([rotation_matrix(r) @ c.R_rig_from_cam
                                                for r, c in zip(rotvec, true_rig, strict=True)]))
    scene = RosetteScene(ground_plane_m, "")
    truth = RosetteTruth(true_rig, written, scene, np.ones(N), rotvec, seed)
    matches = []
    for i in range(N):
        j = (i + 1) % N
        yaw = 2 * math.pi * (i + 0.5) / N + rng.uniform(-0.04, 0.04, 300)
        pitch = rng.uniform(-0.6, 0.4, 300)
        d = np.column_stack([np.sin(yaw) * np.cos(pitch), -np.sin(pitch),
                             np.cos(yaw) * np.cos(pitch)])
        uv_i = dirs_to_equirect(d, W)
        uv_j, ok = true_correspondence(truth, written, i, j, uv_i, W)
        uv_i, uv_j = uv_i[ok], uv_j[ok]
        bad = rng.random(len(uv_i)) < outliers
        uv_j[bad] += rng.normal(0, 30, (int(bad.sum()), 2))
        a, b = (i, j) if i < j else (j, i)
        p_a, p_b = (uv_i, uv_j) if i < j else (uv_j, uv_i)
        matches.append(PairMatches(a, b, p_a, p_b, np.ones(len(p_a)),
                                   rng.random(len(p_a)) < 0.2))
    layers = [ProjectedLayer(k, 0, 0, np.zeros((2, 2, 3), np.uint8), np.ones((2, 2), np.float32),
                             W) for k in range(N)]
    return truth, written, layers, matches


def _angles_deg(refined, truth):
    # Gauge: camera 0 is held, so the refined rig is G @ true with G = R0_written R0_true^T.
    G = refined[0].R_rig_from_cam @ truth.true_rig[0].R_rig_from_cam.T
    out = []
    for c, t in zip(refined, truth.true_rig, strict=True):
        E = c.R_rig_from_cam @ (G @ t.R_rig_from_cam).T
        out.append(math.degrees(math.acos(np.clip((np.trace(E) - 1) / 2, -1, 1))))
    return np.array(out)


def test_recovers_the_true_relative_rotations():
    truth, written, layers, matches = _rosette_matches()
    refined, info = refine_rotations(written, layers, matches, fixed=0, model="rays")
    assert _angles_deg(written, truth).max() > 0.3
    assert _angles_deg(refined, truth).max() < 0.005
    assert info["median_after_px"] < 0.01 < 1.0 < info["median_before_px"]
    np.testing.assert_array_equal(info["rotvec_rad"][0], 0.0)


def test_outliers_do_not_pull_the_solution():
    truth, written, layers, matches = _rosette_matches(outliers=0.2, seed=3)
    refined, _ = refine_rotations(written, layers, matches, fixed=0, model="rays")
    assert _angles_deg(refined, truth).max() < 0.02


def test_rotated_matches_agree_after_refinement():
    _, written, layers, matches = _rosette_matches()
    _, info = refine_rotations(written, layers, matches, model="rays")
    moved = rotate_matches(matches, np.array(info["rotvec_rad"]), W)
    err = np.concatenate([np.linalg.norm(m.p_i - m.p_j, axis=1)[m.heldout] for m in moved])
    assert np.median(err) < 0.02


def _tilt_deg(refined, truth):
    """Angle between each camera's image-down axis and the truth's, gauge removed (deg)."""
    G = refined[0].R_rig_from_cam @ truth.true_rig[0].R_rig_from_cam.T
    out = []
    for c, t in zip(refined, truth.true_rig, strict=True):
        a, b = c.R_rig_from_cam[:, 1], (G @ t.R_rig_from_cam)[:, 1]
        out.append(math.degrees(math.acos(np.clip(a @ b, -1, 1))))
    return np.array(out)


def test_epipolar_model_is_not_pulled_by_ground_parallax():
    truth, written, layers, matches = _rosette_matches(ground_plane_m=1.6, seed=4)
    rays, _ = refine_rotations(written, layers, matches, model="rays")
    epi, info = refine_rotations(written, layers, matches, model="epipolar")
    # Ground parallax tilts the ray model's cameras by far more than the miscalibration;
    # the epipolar model corrects the tilt (the yaw about the ring axis it cannot see).
    assert _tilt_deg(rays, truth).max() > 0.5
    assert _tilt_deg(epi, truth).max() < 0.05
    assert info["model"] == "epipolar" and info["median_after_px"] < 0.05


def test_bad_fixed_camera_is_rejected():
    _, written, layers, matches = _rosette_matches()
    with pytest.raises(InputError, match="fixed camera"):
        refine_rotations(written, layers, matches, fixed=N)


def test_no_matches_is_an_error():
    _, written, layers, _ = _rosette_matches()
    with pytest.raises(InputError, match="no correspondences"):
        refine_rotations(written, layers, [])
