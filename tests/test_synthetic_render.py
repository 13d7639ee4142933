"""Rolling-shutter renderer: geometry against reprojection, shear under a pan, OIS, focus."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sensors.camera import project
from sensors.equirect import equirect_to_dirs
from sensors.synthetic import panorama_for_focal, render_frame
from sensors.synthetic.clip import default_camera
from sensors.types import CameraModel

W, H = 320, 180


def _pinhole(f=200.0):
    K = np.array([[f, 0, (W - 1) / 2], [0, f, (H - 1) / 2], [0, 0, 1.0]])
    return CameraModel(K, np.zeros(5), "opencv_standard", (W, H))


def _blob_pano(direction, sigma_deg=1.5, width=1024):
    h = width // 2
    ys, xs = np.mgrid[0:h, 0:width].astype(np.float64)
    d = equirect_to_dirs(np.stack([xs + 0.5, ys + 0.5], axis=-1), width)
    ang = np.arccos(np.clip(d @ (direction / np.linalg.norm(direction)), -1, 1))
    return (200.0 * np.exp(-0.5 * (ang / np.radians(sigma_deg)) ** 2)).astype(np.float32)


def _centroid(img):
    ys, xs = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    m = img.astype(np.float64)
    m = np.where(m > 0.05 * m.max(), m, 0.0)
    return np.array([np.sum(xs * m), np.sum(ys * m)]) / m.sum()


@pytest.mark.parametrize("lens", ["opencv_standard", "opencv_fisheye"])
def test_blob_lands_where_the_rotation_projects_it(lens):
    cam = default_camera(W, H, hfov_deg=80, lens=lens)
    target = np.array([0.3, -0.1, 1.0])
    R = Rotation.from_euler("YXZ", [0.12, -0.05, 0.08]).as_matrix()
    img = render_frame(_blob_pano(target), cam, R, grid_step=4)
    want = project(cam, R.T @ (target / np.linalg.norm(target)))
    np.testing.assert_allclose(_centroid(img), want, atol=0.15)


def test_rendered_rotation_matches_reprojection_of_the_photo():
    # Frame B is frame A seen after a small rotation: resampling A at the reprojected pixels
    # must reproduce B (the photo, not a blob: every pixel counts).
    import cv2

    from sensors.camera import unproject
    from sensors.synthetic import load_panorama

    cam = _pinhole()
    pano = panorama_for_focal(load_panorama(), cam.K[0, 0])
    R0 = Rotation.from_euler("YXZ", [0.4, 0.05, 0.0]).as_matrix()
    Rd = Rotation.from_euler("YXZ", [0.03, -0.02, 0.01]).as_matrix()
    a = render_frame(pano, cam, R0, grid_step=1).astype(np.float32)
    b = render_frame(pano, cam, R0 @ Rd, grid_step=1).astype(np.float32)
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    pa = project(cam, unproject(cam, np.stack([xs, ys], -1)) @ Rd.T)
    inner = (slice(20, H - 20), slice(20, W - 20))

    def residual(dx, dy):
        warped = cv2.remap(a, (pa[..., 0] + dx).astype(np.float32),
                           (pa[..., 1] + dy).astype(np.float32), cv2.INTER_LINEAR)
        return np.abs(warped[inner] - b[inner]).mean()

    err = residual(0.0, 0.0)
    # What is left is interpolation blur (~2 grey levels); any quarter-pixel misplacement of the
    # reprojection makes it worse, so the render is geometrically right to better than that.
    for dx, dy in ((0.25, 0), (-0.25, 0), (0, 0.25), (0, -0.25)):
        assert err < residual(dx, dy)
    assert err < 0.15 * np.abs(a[inner] - b[inner]).mean()


def test_rolling_shutter_shears_a_pan():
    # A vertical line, camera panning right at omega: later rows see it further left by
    # f * omega * readout across the frame.
    cam = _pinhole()
    width = 2048
    ys, xs = np.mgrid[0:width // 2, 0:width].astype(np.float64)
    yaw = (xs + 0.5) / width * 2 * np.pi - np.pi
    pano = (200 * np.exp(-0.5 * (yaw / np.radians(0.6)) ** 2)).astype(np.float32)
    omega, readout = 0.8, 0.03
    row_t = ((np.arange(H) + 0.5) / H - 0.5) * readout
    R = Rotation.from_euler("Y", (omega * row_t)[:, None]).as_matrix()
    img = render_frame(pano, cam, R, grid_step=2).astype(np.float64)
    rows = np.arange(40, H - 40)
    xc = np.array([np.sum(np.arange(W) * img[r]) / img[r].sum() for r in rows])
    slope = np.polyfit(rows, xc, 1)[0]
    want = -cam.K[0, 0] * omega * readout / H
    assert slope == pytest.approx(want, rel=0.03)


def test_ois_shift_moves_the_image_by_the_shift():
    cam = _pinhole()
    target = np.array([0.0, 0.0, 1.0])
    pano = _blob_pano(target)
    c0 = _centroid(render_frame(pano, cam, np.eye(3)))
    c1 = _centroid(render_frame(pano, cam, np.eye(3), shift_px=np.array([3.0, -2.0])))
    np.testing.assert_allclose(c1 - c0, [3.0, -2.0], atol=0.05)


def test_focus_breathing_scales_about_the_principal_point():
    cam = _pinhole()
    target = np.array([0.4, 0.2, 1.0])
    pano = _blob_pano(target, sigma_deg=1.0)
    c = cam.K[:2, 2]
    c0 = _centroid(render_frame(pano, cam, np.eye(3)))
    c1 = _centroid(render_frame(pano, cam, np.eye(3), focus=1.02))
    np.testing.assert_allclose(c1 - c, 1.02 * (c0 - c), atol=0.1)


@pytest.mark.parametrize("step", [1, 3, 8])
def test_equirect_map_kernel_matches_numpy_reference(step):
    from sensors.synthetic.render import equirect_maps, equirect_maps_reference, grid_rays

    cam = default_camera(W, H, hfov_deg=100)
    # Looking backwards so the seam u = 0 <-> W crosses the frame.
    R = Rotation.from_euler("YXZ", [np.pi - 0.01, 0.3, 0.2]).as_matrix()
    dirs = grid_rays(cam, step) @ R.T
    fast = equirect_maps(dirs, step, (W, H), 1000, dtype=np.float64)
    ref = equirect_maps_reference(dirs, step, (W, H), 1000, dtype=np.float64)
    # Across the seam the same u may come out as -0.5 or W - 0.5.
    du = np.abs(fast[0] - ref[0])
    du = np.minimum(du, np.abs(du - 1000))
    assert du.max() < 1e-9
    np.testing.assert_allclose(fast[1], ref[1], rtol=0, atol=1e-9)
    assert np.any(fast[0] < 100) and np.any(fast[0] > 900)


def test_ois_cancels_most_of_the_high_frequency_shake_within_its_travel():
    from scipy.ndimage import uniform_filter1d

    from sensors.synthetic import camera_path, synthesize_ois

    cam = _pinhole()
    path = camera_path("run", 4.0, seed=5)
    ois = synthesize_ois(path, cam, rate_hz=500.0, gain=0.7, max_deg=1.5)
    t = ois.t_s[ois.t_s > 1.0]
    d0 = path.matrices_at(np.array([1.0]))[0] @ np.array([0.0, 0.0, 1.0])
    seen = project(cam, np.einsum("nji,j->ni", path.matrices_at(t), d0))

    def shake(px):  # image motion above ~2 Hz
        return np.sqrt(np.mean((px - uniform_filter1d(px, 250, axis=0)) ** 2))

    raw = shake(seen)
    with_ois = shake(seen + ois.shift_at(t))
    assert raw > 1.0
    assert with_ois < 0.5 * raw
    assert np.abs(ois.shift_px).max() <= cam.K[0, 0] * np.radians(1.5) + 1e-9


def test_motion_blur_smears_a_fast_pan():
    from sensors.synthetic import camera_path, load_panorama, render_clip

    cam = _pinhole()
    path = camera_path("pan", 3.0, seed=2)
    t = np.array([1.5])
    sharp = next(render_clip(path, cam, t, 0.0, pano=load_panorama()))
    blurred = next(render_clip(path, cam, t, 0.0, pano=load_panorama(), exposure_s=1 / 30,
                               motion_blur=True, blur_samples=7))

    def detail(img):
        g = img.astype(np.float64).mean(axis=2)
        return np.mean(np.abs(np.diff(g, axis=1)))

    assert detail(blurred) < 0.8 * detail(sharp)
    # Blur averages the same scene: the mean brightness stays.
    assert abs(blurred.mean() - sharp.mean()) < 1.0


def test_render_progress_counts_frames_of_the_clip():
    from sensors.progress import Progress
    from sensors.synthetic import camera_path, render_clip

    cam = _pinhole()
    pano = np.full((64, 128), 100, dtype=np.uint8)
    seen = []
    frames = list(render_clip(camera_path("walk", 2.0, seed=1), cam, np.array([0.5, 0.6, 0.7]),
                              0.01, pano=pano, progress=seen.append))
    assert len(frames) == 3 and frames[0].shape == (H, W)
    assert seen == [Progress("render", k, 3) for k in (1, 2, 3)]


def test_a_rolling_shutter_render_shows_each_row_at_its_own_row_time():
    # Under a pan, row y of a rolling-shutter frame is row y of a global-shutter render at
    # row_time_s(t, y); at the mirrored time (the other readout direction) it is not.
    from sensors.rolling_shutter import row_time_s
    from sensors.synthetic import camera_path, load_panorama, render_clip

    cam = _pinhole()
    path = camera_path("pan", 3.0, seed=2)
    pano = panorama_for_focal(load_panorama(gray=True), cam.K[0, 0])
    rs = next(render_clip(path, cam, np.array([1.5]), 0.03, pano=pano)).astype(np.float64)

    def row_error(y, direction):
        R = path.matrices_at(np.array([row_time_s(1.5, y, H, 0.03, direction)]))[0]
        return np.mean(np.abs(rs[y] - render_frame(pano, cam, R)[y]))

    for y in (20, 160):
        assert row_error(y, "top_to_bottom") < 0.05
        assert row_error(y, "bottom_to_top") > 2.0
