"""Rosette generator: files, truth, miscalibration, and exact cross-camera correspondences."""

import math

import cv2
import numpy as np
import pytest

from stitch.projection import find_overlaps, project_rig
from stitch.rig_io import read_rig
from stitch.synthetic import generate_rosette, load_rosette_truth, true_correspondence

W = 1024


@pytest.fixture(scope="module")
def rosette(tmp_path_factory):
    return generate_rosette(tmp_path_factory.mktemp("rosette"), n_cameras=6, width=320,
                            height=240, miscalibration_deg=0.4, seed=5)


def test_files_and_truth_are_written(rosette):
    assert all(p.exists() for p in rosette.image_paths)
    assert read_rig(rosette.rig_path).ids == [f"cam{k}" for k in range(6)]
    assert len(read_rig(rosette.colmap_rig_path)) == 6
    truth = load_rosette_truth(rosette.truth_path)
    np.testing.assert_allclose(truth.true_rig.rotations(), rosette.true_rig.rotations(),
                               atol=1e-12)
    np.testing.assert_allclose(truth.gains, rosette.truth.gains)


def test_written_rig_is_off_by_exactly_the_miscalibration(rosette):
    written = read_rig(rosette.rig_path)
    for a, b in zip(written, rosette.true_rig, strict=True):
        dR = a.R_rig_from_cam @ b.R_rig_from_cam.T
        ang = math.degrees(math.acos(np.clip((np.trace(dR) - 1) / 2, -1, 1)))
        assert ang == pytest.approx(0.4, abs=1e-6)


def test_same_seed_same_images(rosette, tmp_path):
    again = generate_rosette(tmp_path, n_cameras=6, width=320, height=240, seed=5)
    a = cv2.imread(str(rosette.image_paths[2]))
    b = cv2.imread(str(again.image_paths[2]))
    assert np.array_equal(a, b)


def _overlap_points(layers, o):
    rr, cc = np.nonzero(o.mask)
    return np.column_stack([o.x0 + cc, o.y0 + rr]).astype(float)


def test_correspondence_is_identity_above_the_horizon_under_the_true_rig(rosette):
    imgs = [cv2.imread(str(p)) for p in rosette.image_paths]
    layers = project_rig(rosette.true_rig, imgs, W)
    o = find_overlaps(layers)[0]
    uv = _overlap_points(layers, o)
    uv_j, ok = true_correspondence(rosette.truth, rosette.true_rig, o.i, o.j, uv, W)
    sky = ok & (uv[:, 1] < W / 4 - 1)
    ground = ok & (uv[:, 1] > W / 4 + 40)
    np.testing.assert_allclose(uv_j[sky], uv[sky], atol=1e-6)
    # Below the horizon the ground plane is near: real parallax of a pixel or more.
    assert np.median(np.linalg.norm(uv_j[ground] - uv[ground], axis=1)) > 0.5


def test_correspondences_point_at_the_same_image_content(rosette):
    # Sample camera j's layer where the truth says the point is: it matches camera i's pixel
    # up to the exposure gain ratio (bilinear resampling error on a textured photo aside).
    imgs = [cv2.imread(str(p)) for p in rosette.image_paths]
    rig = rosette.rig  # miscalibrated: correspondences are off by ~ a few pixels
    layers = project_rig(rig, imgs, W)
    o = find_overlaps(layers)[1]
    li, lj = layers[o.i], layers[o.j]
    uv = _overlap_points(layers, o)
    uv_j, ok = true_correspondence(rosette.truth, rig, o.i, o.j, uv, W)
    ci = np.mod(uv[ok, 0] - li.x0, W).astype(np.float32)
    ri = (uv[ok, 1] - li.y0).astype(np.float32)
    cj = np.mod(uv_j[ok, 0] - lj.x0, W).astype(np.float32)
    rj = (uv_j[ok, 1] - lj.y0).astype(np.float32)
    gi = cv2.cvtColor(li.image, cv2.COLOR_BGR2GRAY).astype(np.float32) / rosette.truth.gains[o.i]
    gj = cv2.cvtColor(lj.image, cv2.COLOR_BGR2GRAY).astype(np.float32) / rosette.truth.gains[o.j]
    a = cv2.remap(gi, ci[None], ri[None], cv2.INTER_LINEAR)[0]
    b = cv2.remap(gj, cj[None], rj[None], cv2.INTER_LINEAR)[0]
    err_true = np.median(np.abs(a - b))
    # The naive correspondence (same panorama pixel) is visibly worse.
    b0 = cv2.remap(gj, np.mod(uv[ok, 0] - lj.x0, W).astype(np.float32)[None], ri[None],
                   cv2.INTER_LINEAR)[0]
    err_naive = np.median(np.abs(a - b0))
    assert err_true < 4.0
    assert err_true < 0.6 * err_naive


def test_true_seam_residuals_vanish_for_a_perfect_rig_without_parallax(tmp_path):
    from stitch.synthetic import true_seam_residuals

    g = generate_rosette(tmp_path, n_cameras=5, width=160, height=120, ground_plane_m=None,
                         seed=1)
    exact = true_seam_residuals(g.truth, g.true_rig, 512)
    assert set(exact) == {(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)}
    assert max(d.max() for d in exact.values()) < 1e-6
    off = true_seam_residuals(g.truth, g.rig, 512)  # 0.4 deg miscalibration ~ 0.6 px here
    assert np.median(np.concatenate(list(off.values()))) > 0.2


def test_lens_that_folds_inside_the_image_is_refused():
    from sensors.errors import InputError
    from stitch.synthetic import RosetteScene, render_view, ring_rig

    # r_d = r (1 - 0.1 r^2) peaks at 1.217 < 1.25, the corner radius of a 90-degree 4:3 view.
    rig = ring_rig(4, 320, 240, hfov_deg=90, dist=(-0.1, 0.0))
    with pytest.raises(InputError, match="cannot be inverted"):
        render_view(rig[0], RosetteScene(None, ""), np.zeros((8, 16, 3), np.uint8))


def test_wide_lens_rays_round_trip_to_their_pixels():
    from sensors.camera import project
    from stitch.synthetic import _unproject, ring_rig

    cam = ring_rig(4, 160, 120, up_down=True)[4]  # 140-degree view, k1 = -0.05, k2 = 0.01
    gx, gy = np.meshgrid(np.arange(0, 160, 3.0), np.arange(0, 120, 3.0))
    px = np.stack([gx, gy], axis=-1)
    np.testing.assert_allclose(project(cam.camera, _unproject(cam, px)), px, atol=1e-6)
