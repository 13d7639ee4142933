"""The calibration solve's ground plane: the parallax of the ground under a ring of cameras is
not taken for a tilt of their lenses, the projection onto it removes that parallax, and the
lenses' derivatives are exact."""

import math

import numpy as np
import pytest

from sensors.camera import project
from sensors.equirect import dirs_to_equirect
from stitch.flow import PairMatches
from stitch.projection import camera_dirs_from_pano, pano_dirs_from_camera, with_ground_plane
from stitch.refine import rotation_matrix
from stitch.refine_calib import bearings, camera_matches_from_pano, refine_calibration
from stitch.refine_lens import (
    LENS_PARAMS,
    adjusted_camera,
    camera_angles_deg,
    pixel_rays_lens_jacobian,
    pixel_rays_radius,
)
from stitch.refine_scene import ground_bearings
from stitch.synthetic import (
    RosetteScene,
    RosetteTruth,
    perturb_intrinsics,
    ring_rig,
    true_correspondence,
    true_seam_residuals,
)

W = 2048
N = 8
GROUND_M = 1.6


def _ring(seed, focal_error=0.0, principal_error_px=0.0, ground_plane_m=GROUND_M):
    """Exact image correspondences of an 8-camera ring (6 cm radius, 0.4 degree rotation
    errors) over a ground plane, most of them on the ground as on a real rig's overlaps (the
    sky has little texture). Returns the truth, the rig as written and the matches."""
    rng = np.random.default_rng(seed)
    nominal = ring_rig(N, 480, 360, hfov_deg=80.0)
    true_rig = perturb_intrinsics(nominal, rng, focal_error, principal_error_px)
    axes = rng.normal(size=(N, 3))
    rotvec = axes / np.linalg.norm(axes, axis=1, keepdims=True) * math.radians(0.4)
    written = nominal.with_rotations(np.stack([rotation_matrix(r) @ c.R_rig_from_cam
                                               for r, c in zip(rotvec, true_rig, strict=True)]))
    truth = RosetteTruth(true_rig, written, RosetteScene(ground_plane_m, ""), np.ones(N), rotvec,
                         seed)
    pano = []
    for i in range(N):
        j = (i + 1) % N
        yaw = 2 * math.pi * (i + 0.5) / N + rng.uniform(-0.06, 0.06, 400)
        pitch = rng.uniform(-0.5, 0.15, 400)  # 3/4 below the horizon
        d = np.column_stack([np.sin(yaw) * np.cos(pitch), -np.sin(pitch),
                             np.cos(yaw) * np.cos(pitch)])
        uv_i = dirs_to_equirect(d, W)
        uv_j, ok = true_correspondence(truth, written, i, j, uv_i, W)
        pano.append(PairMatches(i, j, uv_i[ok], uv_j[ok], np.ones(int(ok.sum())),
                                rng.random(int(ok.sum())) < 0.2))
    return truth, written, camera_matches_from_pano(written, pano, W)


def _pitch_errors_deg(refined, truth):
    """Pitch of every refined camera against the truth, in the frame of camera 0 (the gauge)."""
    G = refined[0].R_rig_from_cam @ truth.true_rig[0].R_rig_from_cam.T
    return np.array([camera_angles_deg(c.R_rig_from_cam)[1]
                     - camera_angles_deg(G @ t.R_rig_from_cam)[1]
                     for c, t in zip(refined, truth.true_rig, strict=True)])


def _lens_errors(refined, truth):
    f = [abs(c.camera.K[0, 0] / t.camera.K[0, 0] - 1) for c, t in zip(refined, truth.true_rig,
                                                                        strict=True)]
    pp = [float(np.hypot(*(c.camera.K[:2, 2] - t.camera.K[:2, 2])))
          for c, t in zip(refined, truth.true_rig, strict=True)]
    return np.array(f), np.array(pp)


def test_a_ground_point_has_one_bearing_from_every_camera():
    rig = ring_rig(N, 480, 360, hfov_deg=80.0)
    X = np.array([0.4, GROUND_M, 1.1])  # on the plane, between cameras 0 and 1
    px = [project(rig[k].camera, ((X - rig[k].position_m) @ rig[k].R_rig_from_cam)[None])
          for k in (0, 1)]
    seen_from_centre = X / np.linalg.norm(X)
    for k in (0, 1):
        b = bearings(rig, k, px[k], 1.0 / GROUND_M)[0]
        np.testing.assert_allclose(b, seen_from_centre, atol=1e-9)
    # At infinity the two cameras disagree by the parallax of their 4.6 cm baseline.
    b_inf = [bearings(rig, k, px[k])[0] for k in (0, 1)]
    assert math.degrees(math.acos(b_inf[0] @ b_inf[1])) > 0.5


def test_rays_above_the_horizon_stay_at_infinity():
    r = np.array([[0.0, -0.3, 1.0], [0.2, 0.0, 1.0]])
    r /= np.linalg.norm(r, axis=1, keepdims=True)
    np.testing.assert_allclose(ground_bearings(np.array([0.06, 0.0, 0.0]), r, 1.0), r)


def test_exact_lenses_stay_exact_over_a_near_ground():
    # Scored at infinity, this ring's ground parallax pulls every principal point ~10 px down
    # with compensating pitches (a common tilt of the ring); with the ground plane solved, the
    # lenses stay where they are.
    truth, written, matches = _ring(2)
    res = refine_calibration(written, matches, W, model="rays")
    f_err, pp_err = _lens_errors(res.rig, truth)
    assert f_err.max() < 0.002
    assert pp_err.max() < 1.0
    assert np.abs(_pitch_errors_deg(res.rig, truth)).max() < 0.1
    assert 1.0 / res.ground_inv_m == pytest.approx(GROUND_M, rel=0.05)


def test_lens_errors_are_found_over_a_near_ground():
    truth, written, matches = _ring(3, focal_error=0.02, principal_error_px=8.0)
    res = refine_calibration(written, matches, W, model="rays")
    f_err, pp_err = _lens_errors(res.rig, truth)
    assert f_err.max() < 0.002  # of a 2 % error
    assert pp_err.max() < 1.5  # of 8 px
    assert np.abs(_pitch_errors_deg(res.rig, truth)).max() < 0.25  # 1.5 px of pp is 0.3 deg


def test_without_a_ground_the_plane_goes_away():
    truth, written, matches = _ring(4, focal_error=0.02, ground_plane_m=None)
    res = refine_calibration(written, matches, W, model="rays")
    assert res.ground_inv_m < 0.02  # farther than 50 m
    f_err, _ = _lens_errors(res.rig, truth)
    assert f_err.max() < 0.002


@pytest.mark.parametrize("lens", ["rectilinear", "fisheye"])
def test_analytic_lens_derivatives_match_central_differences(lens):
    rig = ring_rig(4, 320, 240, hfov_deg=150.0 if lens == "fisheye" else 80.0, lens=lens)
    cam = adjusted_camera(rig[0].camera, np.array([0.01, 3.0, -2.0, 0.01, -0.005]))
    rng = np.random.default_rng(5)
    px = np.column_stack([rng.uniform(0, 320, 60), rng.uniform(0, 240, 60)])
    px[0] = cam.K[:2, 2]  # the principal point itself (zero radius)
    _, radius = pixel_rays_radius(cam, px)
    J = pixel_rays_lens_jacobian(cam, px, radius)
    steps = {"log_focal": 1e-6, "cx_px": 1e-3, "cy_px": 1e-3, "k1": 1e-6, "k2": 1e-6}
    for a, name in enumerate(LENS_PARAMS):
        e = np.zeros(5)
        e[a] = steps[name]
        fd = (pixel_rays_radius(adjusted_camera(cam, e), px)[0]
              - pixel_rays_radius(adjusted_camera(cam, -e), px)[0]) / (2 * steps[name])
        np.testing.assert_allclose(J[:, :, a], fd, atol=1e-6 * max(1.0, np.abs(fd).max()))


def test_projected_onto_the_ground_the_true_rig_has_no_parallax_left():
    # The generator's scene is the sky at infinity over a plane 1.6 m down: projected onto that
    # plane, the true calibration's layers agree everywhere (without any warp).
    truth, _, _ = _ring(6)
    at_infinity = np.concatenate(list(true_seam_residuals(truth, truth.true_rig, 1024).values()))
    on_ground = np.concatenate(list(true_seam_residuals(
        truth, with_ground_plane(truth.true_rig, GROUND_M), 1024).values()))
    assert np.percentile(at_infinity, 90) > 1.0
    assert np.percentile(on_ground, 90) < 0.01


def test_ground_projection_round_trips():
    rig = with_ground_plane(ring_rig(N, 480, 360, hfov_deg=80.0), GROUND_M)
    rng = np.random.default_rng(7)
    d = rng.normal(size=(500, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    for cam in rig:
        back = pano_dirs_from_camera(cam, camera_dirs_from_pano(cam, d))
        np.testing.assert_allclose(back, d, atol=1e-12)
