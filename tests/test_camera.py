"""Lens projection matches OpenCV and round-trips."""

import cv2
import numpy as np
import pytest

from sensors import CameraModel
from sensors.camera import project, unproject

K = np.array([[500.0, 0, 320], [0, 510, 240], [0, 0, 1]])
CASES = [
    ("opencv_standard", [-0.2, 0.05, 0.001, -0.002, 0.01]),
    ("opencv_fisheye", [0.05, -0.01, 0.003, -0.001]),
]


@pytest.mark.parametrize("model, dist", CASES)
def test_projection_matches_opencv(model, dist):
    cam = CameraModel(K, dist, model, (640, 480))
    rng = np.random.default_rng(2376609)
    rays = np.column_stack([rng.uniform(-0.5, 0.5, (500, 2)), np.ones(500)])
    ours = project(cam, rays)
    fn = cv2.fisheye.projectPoints if model == "opencv_fisheye" else cv2.projectPoints
    theirs, _ = fn(rays.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, np.array(dist))
    np.testing.assert_allclose(ours, theirs.reshape(-1, 2), atol=1e-6)


@pytest.mark.parametrize("model, dist", CASES)
def test_unproject_inverts_project(model, dist):
    cam = CameraModel(K, dist, model, (640, 480))
    rng = np.random.default_rng(5)
    px = rng.uniform([0, 0], [640, 480], (1000, 2))
    np.testing.assert_allclose(project(cam, unproject(cam, px)), px, atol=1e-6)


def test_rays_behind_camera_do_not_project():
    cam = CameraModel(K, CASES[0][1], "opencv_standard", (640, 480))
    assert np.all(np.isnan(project(cam, np.array([[0.1, 0.2, -1.0]]))))


def test_scaling_keeps_pixel_centres():
    cam = CameraModel(K, [], "opencv_standard", (640, 480))
    half = cam.scaled((320, 240))
    ray = unproject(cam, np.array([[100.0, 50.0]]))
    np.testing.assert_allclose(project(half, ray), [[(100 + 0.5) / 2 - 0.5, (50 + 0.5) / 2 - 0.5]],
                               atol=1e-9)


def test_unproject_converges_at_the_corners_of_a_wide_lens():
    # 140 degree horizontal view with strong barrel distortion: the corners sit far off axis.
    w, h = 1280, 960
    f = (w / 2) / np.tan(np.radians(70))
    K_wide = np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]])
    cam = CameraModel(K_wide, [-0.05, 0.01, 0.0, 0.0], "opencv_standard", (w, h))
    corners = np.array([[0.0, 0.0], [w - 1.0, 0.0], [0.0, h - 1.0], [w - 1.0, h - 1.0]])
    np.testing.assert_allclose(project(cam, unproject(cam, corners)), corners, atol=1e-6)
