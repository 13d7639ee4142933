"""Output projection: pinhole, the source lens's own, and blends between."""

import numpy as np
import pytest

from sensors.camera import project
from sensors.errors import InputError
from sensors.synthetic import default_camera
from stabilize.output_lens import OutputLens, output_rays


@pytest.fixture(params=["opencv_standard", "opencv_fisheye"])
def cam(request):
    return default_camera(640, 360, hfov_deg=120.0, lens=request.param)


def _grid(w=640, h=360, n=9):
    xs, ys = np.meshgrid(np.linspace(0, w - 1, n), np.linspace(0, h - 1, n))
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def test_full_correction_is_the_rectified_pinhole(cam):
    p = _grid()
    rays = output_rays(cam, 1.3, p)
    back = rays[:, :2] / rays[:, 2:] * 1.3 * cam.K[0, 0] + cam.K[:2, 2]
    assert np.abs(back - p).max() < 1e-9


def test_no_correction_keeps_the_source_projection(cam):
    # zoom 1 and no motion: every output pixel looks where the source pixel looked
    p = _grid()
    back = project(cam, output_rays(cam, 1.0, p, OutputLens(correction=0.0)))
    assert np.abs(back - p).max() < 1e-6


def test_a_blend_lies_between_the_two_angles(cam):
    p = np.array([[639.0, 180.0]])
    angle = [float(np.arctan2(r[0, 0], r[0, 2])) for r in
             (output_rays(cam, 1.0, p, OutputLens(correction=c)) for c in (0.0, 0.5, 1.0))]
    assert min(angle[0], angle[2]) < angle[1] < max(angle[0], angle[2])


def test_field_of_view_scale_widens_the_view(cam):
    p = np.array([[639.0, 180.0]])
    narrow = output_rays(cam, 1.0, p)
    wide = output_rays(cam, 1.0, p, OutputLens(fov_scale=1.5))
    assert wide[0, 0] / wide[0, 2] == pytest.approx(1.5 * narrow[0, 0] / narrow[0, 2])


@pytest.mark.parametrize("kw", [{"correction": 1.5}, {"correction": -0.1},
                                {"fov_scale": 0.0}, {"fov_scale": float("nan")}])
def test_out_of_range_settings_are_refused(kw):
    with pytest.raises(InputError):
        OutputLens(**kw)


# --- the warp and the border check with the output lens -------------------------------------

def _still_frame(cam, readout_s=0.03, bands=9):
    """A frame seen by a camera that does not move during the readout (rolling shutter on)."""
    from stabilize.motion import FrameMotion

    rows = np.linspace(0, cam.height - 1, bands)
    t = 1.0 + ((rows + 0.5) / cam.height - 0.5) * readout_s
    return FrameMotion(0, 1.0, rows, t, np.tile([0.0, 0.0, 0.0, 1.0], (bands, 1)),
                       np.broadcast_to(cam.K, (bands, 3, 3)).copy())


def test_without_correction_at_zoom_1_and_no_motion_the_output_is_the_input(cam):
    from stabilize.synthesis import MeshWarper

    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (360, 640), dtype=np.uint8)
    warper = MeshWarper(cam, (32, 18), lens=OutputLens(correction=0.0))
    out = warper.warp_gray(img, warper.vertex_map(_still_frame(cam), [0, 0, 0, 1.0], 1.0))
    np.testing.assert_array_equal(out, img)


def test_without_correction_a_still_path_needs_no_zoom(cam):
    from sensors.types import Orientation
    from stabilize.bad_region import required_zoom

    t = np.linspace(0.0, 1.0, 5)
    real = Orientation(np.array([-1.0, 2.0]), np.tile([0.0, 0.0, 0.0, 1.0], (2, 1)))
    need = required_zoom(cam, real, t, real.at(t), readout_s=0.03,
                         output_lens=OutputLens(correction=0.0))
    np.testing.assert_array_equal(need, 1.0)


@pytest.mark.parametrize("correction", [0.0, 0.5])
def test_kernel_matches_numpy_reference_for_a_curved_output(cam, correction):
    from sensors.quaternion import qexp
    from stabilize.synthesis import map_vertices, map_vertices_reference

    fm = _still_frame(cam)
    pts = np.random.default_rng(5).uniform([0, 0], [639, 359], (300, 2))
    qv = qexp(np.array([0.02, -0.03, 0.01]))
    lens = OutputLens(correction=correction, fov_scale=1.2)
    np.testing.assert_allclose(map_vertices(cam, fm, qv, 1.3, pts, lens),
                               map_vertices_reference(cam, fm, qv, 1.3, pts, lens), atol=1e-6)


def test_a_wider_field_of_view_is_paid_for_with_zoom_where_there_is_no_slack():
    # A still distortion-free pinhole has no slack at all: the wider view must be zoomed away
    # (zoom = fov scale), and a narrower one needs none.
    from sensors.types import CameraModel, Orientation
    from stabilize.bad_region import required_zoom

    cam = CameraModel(np.array([[300.0, 0, 319.5], [0, 300.0, 179.5], [0, 0, 1]]), np.zeros(5),
                      "opencv_standard", (640, 360))
    t = np.array([0.0, 1.0])
    real = Orientation(t, np.tile([0.0, 0.0, 0.0, 1.0], (2, 1)))
    wide = required_zoom(cam, real, t, real.at(t), tol=1e-4, output_lens=OutputLens(1.0, 1.3))
    narrow = required_zoom(cam, real, t, real.at(t), output_lens=OutputLens(1.0, 0.8))
    np.testing.assert_allclose(wide, 1.3, atol=2e-4)
    np.testing.assert_array_equal(narrow, 1.0)
