"""Equirectangular layers: the panorama convention of docs/architecture.md, wrap-aware
footprints, maps and overlaps."""

import math

import numpy as np
import pytest

from sensors.camera import project
from stitch.projection import (
    camera_footprint,
    coverage_weight,
    find_overlaps,
    pano_dirs_from_uv,
    pano_uv_from_dirs,
    project_rig,
    source_pixels,
)
from stitch.synthetic import ring_rig

W = 1024


def test_convention_matches_design_formulas():
    # yaw = atan2(x, z), pitch = -atan2(y, hypot(x, z)),
    # u = (0.5 + yaw/2pi) W, v = (0.5 - pitch/pi) H
    d = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0.001], [0.3, 0.4, -0.8]])
    uv = pano_uv_from_dirs(d, W)
    yaw = np.arctan2(d[:, 0], d[:, 2])
    pitch = -np.arctan2(d[:, 1], np.hypot(d[:, 0], d[:, 2]))
    np.testing.assert_allclose(uv[:, 0], np.mod((0.5 + yaw / (2 * math.pi)) * W, W))
    np.testing.assert_allclose(uv[:, 1], (0.5 - pitch / math.pi) * W / 2)
    assert uv[0, 0] == pytest.approx(0.75 * W)  # +x (right) is to the right of the centre


def test_uv_dirs_round_trip_and_wrap():
    rng = np.random.default_rng(2376609)
    uv = np.column_stack([rng.uniform(0, W, 200), rng.uniform(1, W / 2 - 1, 200)])
    back = pano_uv_from_dirs(pano_dirs_from_uv(uv[:, 0], uv[:, 1], W), W)
    np.testing.assert_allclose(back, uv, atol=1e-9)
    # u and u + W are the same direction.
    np.testing.assert_allclose(pano_dirs_from_uv(uv[:, 0] + W, uv[:, 1], W),
                               pano_dirs_from_uv(uv[:, 0], uv[:, 1], W), atol=1e-12)


def test_camera_straddling_the_seam_gets_one_contiguous_layer():
    rig = ring_rig(4, 320, 240, hfov_deg=90, dist=(0.0, 0.0))
    back = rig[2]  # looks along -z: yaw 180 deg, u = 0 = W
    lay = camera_footprint(back, W, margin_px=4)
    assert 0 <= lay.x0 < W < lay.x0 + lay.width
    # 90 degrees of yaw (a pinhole's vertical edges are meridians) plus the margins, plus at
    # most one coarse footprint cell (1024 / 720 px) and rounding on each side.
    assert W / 4 + 2 * 4 <= lay.width <= W / 4 + 2 * 4 + 6
    # Every image corner lands inside the layer.
    u, v = lay.grid()
    mx, my, ok = source_pixels(back, u, v, W)
    assert ok[:, 0].sum() == 0 and ok[:, -1].sum() == 0  # margins are outside the image
    assert mx[ok].min() < 2 and mx[ok].max() > 316  # panorama pixels are ~1.2 image px


def test_maps_hit_the_pixel_that_sees_the_direction():
    rig = ring_rig(3, 320, 240, hfov_deg=90)
    cam = rig[1]
    lay = camera_footprint(cam, W)
    u, v = lay.grid()
    mx, my, ok = source_pixels(cam, u, v, W)
    d = pano_dirs_from_uv(u[ok], v[ok], W)
    px = project(cam.camera, d @ cam.R_rig_from_cam)
    np.testing.assert_allclose(np.column_stack([mx[ok], my[ok]]), px, atol=1e-3)


def test_upward_camera_gets_a_full_width_layer_reaching_the_pole():
    rig = ring_rig(4, 320, 240, up_down=True)
    lay = camera_footprint(rig[4], W)
    assert (lay.x0, lay.width, lay.y0) == (0, W, 0)


def test_coverage_weight_ramps_over_the_feather():
    valid = np.zeros((40, 60), bool)
    valid[:, 10:] = True
    w = coverage_weight(valid, 8.0)
    assert w[20, 5] == 0 and w[20, 40] == 1
    assert 0 < w[20, 12] < 0.5
    assert np.all(np.diff(w[20, 10:30]) >= 0)


def test_overlaps_of_a_ring_include_the_pair_across_the_seam():
    rig = ring_rig(5, 160, 120, hfov_deg=90, dist=(0.0, 0.0))
    imgs = [np.full((120, 160, 3), 50 * k + 10, np.uint8) for k in range(5)]
    layers = project_rig(rig, imgs, 512, feather_px=2)
    pairs = {(o.i, o.j): o for o in find_overlaps(layers)}
    assert set(pairs) == {(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)}
    # cam2 and cam3 straddle yaw 180 (u = 0 = W) between them; their overlap holds the seam.
    o = pairs[(2, 3)]
    assert o.x0 < 0 < o.x0 + o.w or o.x0 < 512 < o.x0 + o.w
    # Overlap widths are all alike: 90 - 72 = 18 degrees of yaw at the horizon.
    widths = [p.mask[p.h // 2].sum() for p in pairs.values()]
    assert max(widths) - min(widths) <= 2
    assert np.mean(widths) == pytest.approx(18 / 360 * 512, abs=3)


def test_wide_fisheye_projects_past_90_degrees_and_agrees_with_sensors_below(samples_dir):
    from stitch.rig_io import read_rig

    rig = read_rig(samples_dir / "rigs" / "surround360_camera_rig.json")
    top = rig[rig.ids.index("cam0")]  # FTHETA, fov 92.5 degrees from the axis
    lay = camera_footprint(top, W)
    assert (lay.x0, lay.y0, lay.width) == (0, 0, W)
    # The horizon (90 deg off its axis) and 1 degree below it are inside its image.
    v_horizon = W / 4
    u = np.arange(0, W, 7.0)
    for dv in (0.0, W / 2 / 180):
        _, _, ok = source_pixels(top, u, np.full_like(u, v_horizon + dv), W)
        assert ok.all()
    _, _, ok = source_pixels(top, u, np.full_like(u, v_horizon + 4 * W / 2 / 180), W)
    assert not ok.any()  # 94 degrees: beyond the lens fov
    # Where sensors.camera.project works (in front of the lens) both agree.
    uu, vv = np.meshgrid(np.arange(0, W, 9.0), np.arange(0, W / 4 - 2, 9.0))
    mx, my, ok = source_pixels(top, uu, vv, W)
    rays = pano_dirs_from_uv(uu, vv, W) @ top.R_rig_from_cam
    px = project(top.camera, rays)
    np.testing.assert_allclose(np.column_stack([mx[ok], my[ok]]), px[ok], atol=1e-3)


def test_separable_layer_maps_equal_the_general_lookup():
    from stitch.projection import layer_maps

    rig = ring_rig(5, 320, 240, up_down=True)
    for cam in (rig[2], rig[5]):  # a side camera across the seam, the up camera (full width)
        lay = camera_footprint(cam, W)
        mx, my, ok = layer_maps(cam, lay)
        u, v = lay.grid()
        gx, gy, gok = source_pixels(cam, u, v, W)
        np.testing.assert_array_equal(ok, gok)
        np.testing.assert_allclose(mx[ok], gx[ok], atol=1e-3)
        np.testing.assert_allclose(my[ok], gy[ok], atol=1e-3)


def test_strong_barrel_distortion_does_not_fold_outside_rays_into_the_image():
    from sensors.types import CameraModel
    from stitch.rig import RigCamera

    # r_d = r (1 - 0.3 r^2) peaks at r = 1/sqrt(0.9) and then falls: far rays would land back
    # inside the image. Only rays within the monotonic part may be valid.
    K = [[100, 0, 99.5], [0, 100, 74.5], [0, 0, 1]]
    cam = RigCamera("c", CameraModel(K, [-0.3, 0, 0, 0], "opencv_standard", (200, 150)),
                    np.eye(3))
    uu, vv = np.meshgrid(np.arange(0, W, 2.0), np.arange(0, W / 2, 2.0))
    _, _, ok = source_pixels(cam, uu, vv, W)
    rays = pano_dirs_from_uv(uu[ok], vv[ok], W)
    r = np.hypot(rays[:, 0], rays[:, 1]) / rays[:, 2]
    assert r.max() < 1 / math.sqrt(0.9) + 0.01


def _parity_cameras(samples_dir):
    from sensors.types import CameraModel
    from stitch.rig import RigCamera
    from stitch.rig_io import read_rig

    s360 = read_rig(samples_dir / "rigs" / "surround360_camera_rig.json")
    rig = ring_rig(3, 320, 240, up_down=True)
    K = [[100, 0.5, 99.5], [0, 101, 74.5], [0, 0, 1]]
    folding = RigCamera("fold", CameraModel(K, [-0.3, 0.01, 0.001, -0.002, 0.0],
                                            "opencv_standard", (200, 150)), rig[1].R_rig_from_cam)
    limited = RigCamera("fov", rig[0].camera, rig[2].R_rig_from_cam, fov_rad=0.5)
    from stitch.projection import with_ground_plane

    grounded = with_ground_plane(rig, 1.6)
    return [rig[0], rig[3], folding, limited, s360[0], s360[s360.ids.index("cam0")],
            s360[s360.ids.index("cam16")], grounded[1], grounded[4]]


@pytest.fixture(params=["jit", "aot"])
def stitch_kernel(request, monkeypatch) -> str:
    """The projection kernel as numba compiles it, and as its ahead-of-time build."""
    from sensors.aot import _forget, status
    from stitch.kernels import STITCH

    if request.param == "aot":
        monkeypatch.setenv("STEADYRIG_AOT_DIR", str(request.getfixturevalue("aot_dir")))
    else:
        monkeypatch.setenv("STEADYRIG_AOT", "0")
    _forget()
    assert status(STITCH).startswith("loaded") == (request.param == "aot")
    yield request.param
    _forget()


def test_projection_kernel_matches_numpy_reference(samples_dir, stitch_kernel):
    from stitch.projection import _source_pixels_reference

    rng = np.random.default_rng(2376609)
    u = rng.uniform(-W, 2 * W, 20000)
    v = rng.uniform(0, W / 2, 20000)
    for cam in _parity_cameras(samples_dir):
        mx, my, ok = source_pixels(cam, u, v, W)
        rx, ry, rok = _source_pixels_reference(cam, u, v, W)
        assert ok.any()
        assert np.count_nonzero(ok != rok) <= 2  # only points on a boundary, to rounding
        both = ok & rok
        np.testing.assert_allclose(mx[both], rx[both], atol=1e-3)
        np.testing.assert_allclose(my[both], ry[both], atol=1e-3)
        assert np.all(mx[~ok] == -1) and np.all(my[~ok] == -1)


def test_grid_projection_kernel_matches_numpy_reference(samples_dir, stitch_kernel):
    from stitch.projection import _source_pixels_reference

    # A layer's grid: a row of columns (crossing the 0/W seam) and a column of rows.
    u = np.arange(-300.0, 1500.0, 1.7)[None, :]
    v = np.arange(0.0, W / 2, 1.3)[:, None]
    for cam in _parity_cameras(samples_dir):
        mx, my, ok = source_pixels(cam, u, v, W)
        rx, ry, rok = _source_pixels_reference(cam, u, v, W)
        assert mx.shape == ok.shape == (v.size, u.size)
        assert ok.any()
        assert np.count_nonzero(ok != rok) <= 2
        both = ok & rok
        np.testing.assert_allclose(mx[both], rx[both], atol=1e-3)
        np.testing.assert_allclose(my[both], ry[both], atol=1e-3)
        assert np.all(mx[~ok] == -1) and np.all(my[~ok] == -1)
