"""The sphere warp of equirectangular frames: kernels against their numpy references, a known
rotation undone, no seam at u = 0 <-> W, every pixel defined up to the poles."""

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sensors.equirect import dirs_to_equirect, equirect_to_dirs
from sensors.synthetic import load_panorama, panorama_for_focal
from sensors.synthetic.render import render_equirect_frame
from stabilize.sphere_warp import SphereWarper, pole_padded


def _rot(deg_xyz):
    return Rotation.from_euler("xyz", deg_xyz, degrees=True).as_matrix()


def _rolling_rows(h, deg_xyz, rate_deg):
    """Per-row rotations: a base rotation and a turn of ``rate_deg`` (about y) across the rows,
    as a rolling shutter under a pan gives."""
    base = _rot(deg_xyz)
    frac = (np.arange(h) + 0.5) / h - 0.5
    return np.stack([base @ _rot([0, rate_deg * f, 0]) for f in frac])


@pytest.fixture(scope="module")
def pano_gray():
    return panorama_for_focal(load_panorama(gray=True), 320 / (2 * np.pi))


def test_kernels_match_numpy_references(kernels):
    w = SphereWarper((320, 160), step_px=16)
    sm = w.map_rows(_rolling_rows(160, [8, 25, -6], 2.0))
    ref = w.map_rows_reference(sm.M)
    # every path is exercised: plain coarse cells, refined cells, and pixels mapped exactly
    assert (~sm.bad).any() and sm.bad.any() and sm.fine_exact.any()
    assert np.array_equal(sm.bad, ref.bad) and np.array_equal(sm.fine_exact, ref.fine_exact)
    assert np.allclose(sm.corners, ref.corners, atol=1e-9)
    assert np.allclose(sm.fine_corners, ref.fine_corners, atol=1e-9)
    for chroma in (False, "420", "422"):
        mx, my = w.dense_maps(sm, chroma)
        rx, ry = w.dense_maps_reference(sm, chroma)
        assert np.abs(mx - rx).max() < 2e-3 and np.abs(my - ry).max() < 2e-3


def test_interpolated_map_stays_within_its_tolerance_of_the_exact_map():
    w = SphereWarper((640, 320))
    sm = w.map_rows(_rolling_rows(320, [4, 30, 3], 1.5))
    mx, my = w.dense_maps(sm)
    ex, ey = w.exact_maps(sm)
    du = np.mod(mx - ex + 320, 640) - 320
    lat = (0.5 - (ey + 0.5) / 320) * np.pi
    arc = np.maximum(np.cos(lat), 0.05)
    # the tolerance is checked at cell centres; elsewhere a cell stays within a few times it
    assert np.abs(du * arc).max() < 3 * w.tol_px
    assert np.abs(my - ey).max() < 3 * w.tol_px
    assert np.sqrt(np.mean((du * arc) ** 2)) < 0.3 * w.tol_px


def test_known_rotation_of_a_generated_frame_is_undone_to_subpixel_accuracy(pano_gray):
    size = (320, 160)
    R = _rot([6, -40, 4])  # the camera turned and tilted
    seen = render_equirect_frame(pano_gray, size, R).astype(np.float32)
    level = render_equirect_frame(pano_gray, size, np.eye(3)).astype(np.float32)
    w = SphereWarper(size)
    # source direction = R_world_from_cam^T R_virtual output direction, virtual = identity
    back = w.warp_gray(seen, w.map_rotation(R.T))
    band = slice(40, 120)  # +-45 degrees: away from the poles
    win = cv2.createHanningWindow((320, 80), cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(level[band], back[band], win)
    assert np.hypot(dx, dy) < 0.1
    assert np.median(np.abs(back[band] - level[band])) < 2.0
    # and the map itself is the rotation's: source pixel of each output pixel
    mx, my = w.dense_maps(w.map_rotation(R.T))
    ys, xs = np.mgrid[0:160, 0:320]
    uv = dirs_to_equirect(equirect_to_dirs(np.stack([xs + 0.5, ys + 0.5], -1), 320) @ R, 320)
    du = np.mod(mx - (uv[..., 0] - 0.5) + 160, 320) - 160
    assert np.abs(du[band]).max() < 0.1 and np.abs(my - (uv[..., 1] - 0.5))[band].max() < 0.1


def test_a_turn_about_the_vertical_moves_every_column_alike_across_the_seam():
    w, h = 320, 160
    turn_px = 37.3
    warper = SphereWarper((w, h))
    # yaw by turn_px columns: output column x shows source column x + turn_px (mod W)
    sm = warper.map_rotation(_rot([0, turn_px / w * 360.0, 0]))
    mx, my = warper.dense_maps(sm)
    expect = np.mod(np.arange(w) + turn_px + 0.5, w) - 0.5
    assert np.abs(mx - expect[None, :]).max() < 1e-3
    assert np.abs(my - np.arange(h)[:, None]).max() < 1e-3
    # a pattern periodic in u comes out shifted with no seam at the first and last columns
    x = np.arange(w)
    img = (128 + 100 * np.sin(2 * np.pi * 3 * (x + 0.5) / w))[None, :].repeat(h, 0)
    out = warper.warp_gray(img.astype(np.float32), sm)
    want = 128 + 100 * np.sin(2 * np.pi * 3 * (x + turn_px + 0.5) / w)
    assert np.abs(out - want[None, :]).max() < 0.2


def test_no_seam_at_u_zero_after_a_tilt(pano_gray):
    w, h = 320, 160
    frame = render_equirect_frame(pano_gray, (w, h), np.eye(3)).astype(np.float32)
    warper = SphereWarper((w, h))
    out = warper.warp_gray(frame, warper.map_rotation(_rot([12, 0, 7])))
    seam = np.abs(out[20:140, 0] - out[20:140, -1]).mean()
    inner = np.abs(np.diff(out[20:140], axis=1)).mean()
    assert seam < 1.5 * inner


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "lanczos"])
def test_every_output_pixel_is_defined_up_to_the_poles(interpolation):
    w, h = 256, 128
    warper = SphereWarper((w, h), interpolation=interpolation)
    sm = warper.map_rows(_rolling_rows(h, [35, 70, -20], 4.0))
    y = np.full((h, w), 200, np.uint8)
    u = np.full((h // 2, w // 2), 90, np.uint8)
    v = np.full((h // 2, w // 2), 160, np.uint8)
    yo, uo, vo = warper.warp_yuv(y, u, v, sm)
    assert yo.shape == (h, w) and uo.shape == (h // 2, w // 2)
    assert (yo == 200).all() and (uo == 90).all() and (vo == 160).all()


def test_rows_padded_over_a_pole_are_the_rows_half_a_turn_away():
    img = np.arange(4 * 8).reshape(4, 8)
    p = pole_padded(img, 2)
    assert np.array_equal(p[1], np.roll(img[0], 4)) and np.array_equal(p[0], np.roll(img[1], 4))
    assert np.array_equal(p[-2], np.roll(img[-1], 4)) and np.array_equal(p[2:-2], img)
