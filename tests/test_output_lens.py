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
