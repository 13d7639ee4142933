"""Dual-fisheye disc detection: generated frames of every layout, the real photo, bad frames."""

import cv2
import numpy as np
import pytest

from sensors.errors import InputError
from stitch.dual_fisheye.circles import find_circles
from stitch.dual_fisheye.synthetic import DualFisheyeTruth, render_dual_fisheye


@pytest.mark.parametrize(("layout", "margin", "seed"), [
    ("side_by_side", 0.0, 11), ("stacked", 0.0, 12), ("side_by_side", 0.07, 13),
    ("stacked", 0.05, 14), ("side_by_side", -0.02, 15)])
def test_discs_are_found_within_a_pixel_of_the_truth(layout, margin, seed):
    truth = DualFisheyeTruth.random(seed=seed, height_px=240, layout=layout,
                                    margin_fraction=margin)
    found, circles = find_circles(render_dual_fisheye(truth))
    assert found == layout
    for c, lens in zip(circles, truth.lenses, strict=True):
        assert abs(c.cx_px - lens.cx_px) < 1.0 and abs(c.cy_px - lens.cy_px) < 1.0
        assert abs(c.radius_px - lens.radius_px(lens.fov_rad)) < 2.0
        # No rim darkening in a generated frame: nearly the whole disc is usable.
        assert c.radius_px - c.usable_radius_px <= 2.0


def test_real_photo_discs_and_their_dark_rim(samples_dir):
    img = cv2.imread(str(samples_dir / "dualfisheye" / "dualfisheye.jpg"))
    layout, (front, back) = find_circles(img)
    assert layout == "side_by_side"
    # Two discs of about half the frame's height, each centred in its half, clipped by it.
    for c, x_mid in ((front, 199.5), (back, 599.5)):
        assert abs(c.cx_px - x_mid) < 8 and abs(c.cy_px - 199.5) < 10
        assert 195 < c.radius_px < 220 and c.clipped
        # This lens darkens the outer ~10 px of its disc.
        assert 5 < c.radius_px - c.usable_radius_px < 20


def test_a_frame_of_the_wrong_shape_is_refused():
    with pytest.raises(InputError, match="neither about 2:1"):
        find_circles(np.full((300, 300, 3), 120, np.uint8), source="sq.png")


def test_a_frame_without_discs_is_refused():
    rng = np.random.default_rng(0)
    noise = rng.integers(60, 200, (200, 400, 3)).astype(np.uint8)
    with pytest.raises(InputError, match="no fisheye image circle"):
        find_circles(noise, source="noise.png")
