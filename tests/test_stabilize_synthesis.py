"""Rolling-shutter mesh warp: kernel parity, geometry of the vertex mapping, dense maps."""

import numpy as np
import pytest

from sensors.camera import project
from sensors.errors import InputError
from sensors.quaternion import qexp, qmul, qto_matrix
from sensors.synthetic import default_camera
from sensors.types import CameraModel
from stabilize.motion import FrameMotion, source_K
from stabilize.synthesis import MeshWarper, map_vertices, map_vertices_reference, output_K


def _frame(cam: CameraModel, seed: int, readout_s: float = 0.03, ois: bool = True,
           bands: int = 9) -> FrameMotion:
    rng = np.random.default_rng(seed)
    rows = np.linspace(0, cam.height - 1, bands)
    t = 1.0 + ((rows + 0.5) / cam.height - 0.5) * readout_s
    w = rng.normal(0, 1.5, 3)  # rad/s during the readout
    q0 = qexp(rng.normal(0, 0.05, 3))
    q = qmul(np.broadcast_to(q0, (bands, 4)), qexp(np.outer(t - 1.0, w)))
    shift = rng.normal(0, 2.0, (bands, 2)) if ois else np.zeros((bands, 2))
    focus = 1 + rng.normal(0, 0.01, bands) if ois else np.ones(bands)
    return FrameMotion(0, 1.0, rows, t, q, source_K(cam.K, shift, focus))


@pytest.mark.parametrize("lens", ["opencv_standard", "opencv_fisheye"])
def test_kernel_matches_numpy_reference(lens, kernels):
    cam = default_camera(320, 180, lens=lens)
    fm = _frame(cam, seed=11)
    rng = np.random.default_rng(12)
    pts = rng.uniform([0, 0], [319, 179], (500, 2))
    qv = qexp(np.array([0.01, -0.02, 0.005]))
    a = map_vertices(cam, fm, qv, 1.1, pts)
    b = map_vertices_reference(cam, fm, qv, 1.1, pts)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_global_shutter_identity_without_distortion_is_the_identity_map():
    cam = CameraModel(default_camera(320, 180).K, np.zeros(5), "opencv_standard", (320, 180))
    fm = _frame(cam, seed=1, readout_s=0.0, ois=False)
    fm = FrameMotion(0, 1.0, fm.band_rows, fm.band_t_s, np.tile(fm.quat[0], (9, 1)), fm.K)
    pts = np.array([[0.0, 0.0], [319.0, 179.0], [100.5, 33.25]])
    np.testing.assert_allclose(map_vertices(cam, fm, fm.quat[0], 1.0, pts), pts, atol=1e-9)


def test_lens_distortion_is_applied_in_the_source_camera():
    cam = default_camera(320, 180)
    fm = _frame(cam, seed=2, readout_s=0.0, ois=False)
    q = fm.quat[0]
    fm = FrameMotion(0, 1.0, fm.band_rows, fm.band_t_s, np.tile(q, (9, 1)), fm.K)
    pts = np.array([[10.0, 10.0], [300.0, 170.0], [160.0, 90.0]])
    rays = np.c_[pts, np.ones(3)] @ np.linalg.inv(output_K(cam, 1.0)).T
    np.testing.assert_allclose(map_vertices(cam, fm, q, 1.0, pts), project(cam, rays), atol=1e-9)


def test_each_vertex_is_seen_at_its_own_row_time():
    cam = default_camera(320, 180)
    fm = _frame(cam, seed=3, readout_s=0.04, ois=False, bands=181)
    qv = fm.quat[90]
    pts = np.array([[20.0, 5.0], [160.0, 90.0], [300.0, 175.0]])
    uv = map_vertices(cam, fm, qv, 1.2, pts)
    world = (np.c_[pts, np.ones(3)] @ np.linalg.inv(output_K(cam, 1.2)).T) @ qto_matrix(qv).T
    for (u, v), wv in zip(uv, world, strict=True):
        k = int(round(v))  # bands at every row: the row's own rotation
        again = project(cam, qto_matrix(fm.quat[k]).T @ wv)
        assert abs(again[1] - v) < 0.6  # consistent with its row (to band spacing)
        assert np.hypot(*(again - [u, v])) < 1.0


def test_dense_maps_are_exact_at_vertices_and_chroma_is_half_scale():
    cam = default_camera(320, 180)
    warper = MeshWarper(cam, (32, 18))
    fm = _frame(cam, seed=4)
    vmap = warper.vertex_map(fm, fm.quat[4], 1.05)
    mx, my = warper.dense_maps(vmap)
    assert mx.shape == (180, 320)
    np.testing.assert_allclose(mx[0, 0], vmap[0, 0, 0], atol=1e-3)
    np.testing.assert_allclose(my[179, 319], vmap[-1, -1, 1], atol=1e-3)
    cx, cy = warper.dense_maps(vmap, chroma=True)
    assert cx.shape == (90, 160)
    # chroma sample (i, j) sits at luma (2j + 0.5, 2i + 0.5)
    lum = 0.5 * (mx[40, 60] + mx[40, 61] + mx[41, 60] + mx[41, 61]) / 2
    assert cx[20, 30] == pytest.approx((lum + 0.5) / 2 - 0.5, abs=0.05)


def test_warp_of_a_pure_rotation_moves_content_as_the_rotation_predicts():
    cam = CameraModel(default_camera(320, 180).K, np.zeros(5), "opencv_standard", (320, 180))
    real = np.tile(qexp(np.array([0.0, 0.02, 0.0])), (9, 1))  # camera panned 0.02 rad
    fm = FrameMotion(0, 1.0, np.linspace(0, 179, 9), np.ones(9), real,
                     np.broadcast_to(cam.K, (9, 3, 3)).copy())
    img = np.zeros((180, 320), np.uint8)
    img[80:100, 150:170] = 255
    out = MeshWarper(cam).warp_gray(img, MeshWarper(cam).vertex_map(fm, [0, 0, 0, 1.0], 1.0))
    ys, xs = np.nonzero(out > 127)
    # the real camera looks 0.02 rad right of the virtual one: content moves right by f tan 0.02
    shift = cam.K[0, 0] * np.tan(0.02)
    assert xs.mean() == pytest.approx(159.5 + shift, abs=0.3)
    assert ys.mean() == pytest.approx(89.5, abs=0.3)


@pytest.mark.parametrize("size", [(320, 180), (302, 166)])
@pytest.mark.parametrize("chroma", [False, True, "422"])
def test_densify_kernel_matches_numpy_reference(chroma, size, kernels):
    # vertex spacing that is not a whole number of pixels in either direction
    cam = default_camera(*size)
    warper = MeshWarper(cam, (32, 18))
    fm = _frame(cam, seed=5)
    vmap = warper.vertex_map(fm, fm.quat[4], 1.05)
    a = warper.dense_maps(vmap, chroma)
    b = warper.dense_maps_reference(vmap, chroma)
    np.testing.assert_allclose(a[0], b[0], atol=1e-3)
    np.testing.assert_allclose(a[1], b[1], atol=1e-3)


def test_yuv_warp_into_padded_encoder_planes_equals_the_allocating_warp():
    # odd width: the encoder frame's rows are padded beyond the plane width
    cam = default_camera(318, 180)
    warper = MeshWarper(cam, (16, 9))
    rng = np.random.default_rng(21)
    y = rng.integers(0, 256, (180, 318), dtype=np.uint8)
    u = rng.integers(0, 256, (90, 159), dtype=np.uint8)
    v = rng.integers(0, 256, (90, 159), dtype=np.uint8)
    maps = [warper.vertex_map(_frame(cam, seed=s), _frame(cam, seed=s).quat[4], 1.05)
            for s in (6, 7)]
    expected = [warper.warp_yuv420(y, u, v, m) for m in maps]
    for m, want in zip(maps, expected, strict=True):
        bufs = [np.zeros((h, w + 13), np.uint8) for h, w in ((180, 318), (90, 159), (90, 159))]
        views = [b[:, :-13] for b in bufs]
        got = warper.warp_yuv420(y, u, v, m, out=views)
        for g, view, e in zip(got, views, want, strict=True):
            assert np.shares_memory(g, view)
            np.testing.assert_array_equal(view, e)
    # results of earlier calls are not overwritten by the warper's reused map buffers
    assert not np.array_equal(expected[0][0], expected[1][0])
    np.testing.assert_array_equal(expected[0][0], warper.warp_yuv420(y, u, v, maps[0])[0])


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "lanczos"])
def test_banded_warp_equals_a_whole_frame_remap_with_the_dense_maps(interpolation):
    import cv2

    from stabilize.synthesis import INTERPOLATION_FLAGS

    # wide enough that luma (8) and chroma (2) are warped in several bands of ~2 MB of maps
    cam = default_camera(4096, 512)
    warper = MeshWarper(cam, (32, 18), interpolation)
    fm = _frame(cam, seed=8)
    vmap = warper.vertex_map(fm, fm.quat[4], 1.05)
    rng = np.random.default_rng(9)
    y = rng.integers(0, 256, (512, 4096), dtype=np.uint8)
    u = rng.integers(0, 256, (256, 2048), dtype=np.uint8)
    got = warper.warp_yuv420(y, u, u, vmap)
    flag = INTERPOLATION_FLAGS[interpolation]
    mx, my = warper.dense_maps(vmap)
    cx, cy = warper.dense_maps(vmap, chroma=True)
    want_y = cv2.remap(y, mx, my, flag, borderMode=cv2.BORDER_CONSTANT, borderValue=16)
    want_u = cv2.remap(u, cx, cy, flag, borderMode=cv2.BORDER_CONSTANT, borderValue=128)
    np.testing.assert_array_equal(got[0], want_y)
    np.testing.assert_array_equal(got[1], want_u)
    np.testing.assert_array_equal(got[2], want_u)


def test_ten_bit_planes_keep_their_precision_and_get_ten_bit_black():
    # a pure half-pixel shift of a 10-bit ramp in steps of 4 (one 8-bit level): each output is
    # the mean of two neighbours, half an 8-bit level, which only 10-bit samples can hold
    cam = CameraModel(default_camera(320, 180).K, np.zeros(5), "opencv_standard", (320, 180))
    warper = MeshWarper(cam, (16, 9))
    xs, ys = np.meshgrid(warper.xs, warper.ys)
    vmap = np.stack([xs + 0.5, ys], axis=-1)
    y = np.tile((64 + 4 * np.arange(320)).astype(np.uint16), (180, 1))
    u = np.full((90, 160), 300, np.uint16)
    yo, uo, vo = warper.warp_yuv420(y, u, u, vmap, black=(64, 512))
    assert yo.dtype == np.uint16
    np.testing.assert_array_equal(yo[:, :319], y[:, :319] + 2)
    np.testing.assert_array_equal(uo[:, :159], u[:, :159])
    # outside the source: 10-bit black (64, 512)
    yo, uo, vo = warper.warp_yuv420(y, u, u, vmap + 1000.0, black=(64, 512))
    assert (yo == 64).all() and (uo == 512).all() and (vo == 512).all()


def test_a_translation_moves_422_chroma_half_as_far_across_and_as_far_down():
    # 4:2:2 chroma has full rows: a (4, 2) px luma shift is (2, 2) chroma px, exactly
    cam = default_camera(320, 180)
    warper = MeshWarper(cam, (16, 9))
    gx, gy = np.meshgrid(warper.xs, warper.ys)
    vmap = np.stack([gx + 4.0, gy + 2.0], axis=-1)
    rng = np.random.default_rng(8)
    y = rng.integers(64, 941, (180, 320), dtype=np.uint16)
    u = rng.integers(64, 961, (180, 160), dtype=np.uint16)
    yo, uo, vo = warper.warp_yuv(y, u, u, vmap, black=(64, 512))
    assert uo.shape == (180, 160) and uo.dtype == np.uint16
    np.testing.assert_array_equal(yo[:-2, :-4], y[2:, 4:])
    np.testing.assert_array_equal(uo[:-2, :-2], u[2:, 2:])
    assert np.all(uo[-2:] == 512) and np.all(yo[:, -4:] == 64)  # the fill past the source


def test_planes_of_another_layout_are_refused():
    cam = default_camera(320, 180)
    warper = MeshWarper(cam, (16, 9))
    gx, gy = np.meshgrid(warper.xs, warper.ys)
    vmap = np.stack([gx, gy], axis=-1)
    y = np.zeros((180, 320), np.uint8)
    with pytest.raises(InputError, match="4:2:0 or 4:2:2"):
        warper.warp_yuv(y, y, y, vmap)  # 4:4:4
