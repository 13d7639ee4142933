"""Scene distance in the projection: content at that distance lands on one panorama pixel in
every camera, whatever the baseline."""

import math

import cv2
import numpy as np
import pytest

from sensors.camera import project
from sensors.equirect import dirs_to_equirect
from sensors.errors import InputError
from stitch import StitchParams, stitch_images
from stitch.projection import (
    SceneRigCamera,
    _source_pixels_reference,
    camera_dirs_from_pano,
    pano_dirs_from_camera,
    source_pixels,
    with_scene_depth,
)
from stitch.synthetic import generate_rosette, ring_rig

W = 2048


def _dirs(n, seed=0):
    rng = np.random.default_rng(seed)
    yaw = rng.uniform(-math.pi, math.pi, n)
    pitch = rng.uniform(-0.5, 0.5, n)
    return np.column_stack([np.sin(yaw) * np.cos(pitch), -np.sin(pitch),
                            np.cos(yaw) * np.cos(pitch)])


def test_content_at_the_scene_distance_lands_on_one_panorama_pixel():
    D = 3.0
    rig = with_scene_depth(ring_rig(6, 320, 240, hfov_deg=90.0, ring_radius_m=0.3), D)
    d = _dirs(4000)
    uv = dirs_to_equirect(d, W)
    X = D * d  # scene points on the sphere
    for cam in rig:
        mx, my, ok = source_pixels(cam, uv[:, 0], uv[:, 1], W)
        # Where the camera really images X, from its own centre.
        px = project(cam.camera, (X - cam.position_m) @ cam.R_rig_from_cam)
        assert ok.sum() > 200
        err = np.hypot(mx[ok] - px[ok, 0], my[ok] - px[ok, 1])
        assert err.max() < 1e-2


def test_kernel_and_numpy_reference_agree_with_a_scene_distance():
    cam = with_scene_depth(ring_rig(4, 320, 240, ring_radius_m=0.2), 2.0)[1]
    uv = dirs_to_equirect(_dirs(3000, 1), W)
    a = source_pixels(cam, uv[:, 0], uv[:, 1], W)
    b = _source_pixels_reference(cam, uv[:, 0], uv[:, 1], W)
    np.testing.assert_array_equal(a[2], b[2])
    np.testing.assert_allclose(a[0][a[2]], b[0][a[2]], atol=1e-3)
    np.testing.assert_allclose(a[1][a[2]], b[1][a[2]], atol=1e-3)


def test_infinite_depth_is_the_plain_projection():
    rig = ring_rig(4, 320, 240, ring_radius_m=0.2)
    same = with_scene_depth(rig, math.inf)
    assert not any(isinstance(c, SceneRigCamera) for c in same)
    uv = dirs_to_equirect(_dirs(500, 2), W)
    for a, b in zip(rig, same, strict=True):
        for x, y in zip(source_pixels(a, uv[:, 0], uv[:, 1], W),
                        source_pixels(b, uv[:, 0], uv[:, 1], W), strict=True):
            np.testing.assert_array_equal(x, y)


def test_camera_and_panorama_directions_invert_each_other():
    cam = with_scene_depth(ring_rig(4, 320, 240, ring_radius_m=0.2), 1.5)[2]
    d = _dirs(100, 3)
    np.testing.assert_allclose(pano_dirs_from_camera(cam, camera_dirs_from_pano(cam, d)), d,
                               atol=1e-12)


def test_scene_depth_inside_the_rig_is_refused():
    with pytest.raises(InputError, match="beyond the scene depth"):
        with_scene_depth(ring_rig(4, 320, 240, ring_radius_m=0.2), 0.1)
    with pytest.raises(InputError, match="scene depth must be positive"):
        StitchParams(depth_m=0.0)


def test_refined_rig_keeps_its_scene_distance(tmp_path):
    g = generate_rosette(tmp_path, n_cameras=5, width=160, height=120, hfov_deg=110.0, seed=4)
    imgs = [cv2.imread(str(p)) for p in g.image_paths]
    res = stitch_images(g.rig, imgs, StitchParams(width_px=512, depth_m=10.0, repair=False,
                                                  refine_mode="intrinsics"))
    assert all(isinstance(c, SceneRigCamera) and c.scene_depth_m == 10.0 for c in res.rig)
    assert res.report["params"]["depth_m"] == 10.0
