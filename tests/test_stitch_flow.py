"""Overlap flow: sub-pixel shifts recovered across exposure differences, wrap-aware, seeded."""

import cv2
import numpy as np
import pytest

from sensors.errors import InputError
from sensors.synthetic import default_panorama_path
from stitch.flow import overlap_correspondences
from stitch.params import StitchParams
from stitch.projection import ProjectedLayer, find_overlaps

W = 2048
SHIFT = (0.37, -0.21)


def _shifted_pair(x0=100, gain=1.2):
    """A 256 px crop of the sample panorama and a copy moved by SHIFT px with another exposure."""
    img = cv2.imread(str(default_panorama_path()))
    crop = np.ascontiguousarray(img[900:1156, 1500:1756])
    M = np.float32([[1, 0, -SHIFT[0]], [0, 1, -SHIFT[1]]])
    moved = cv2.warpAffine(crop, M, (256, 256), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REFLECT)
    moved = np.clip(moved.astype(np.float32) * gain + 5, 0, 255).astype(np.uint8)
    m = np.ones((256, 256), np.float32)
    return [ProjectedLayer(0, x0, 300, crop, m, W), ProjectedLayer(1, x0, 300, moved, m, W)]


def test_known_subpixel_shift_is_recovered_despite_a_gain_difference():
    layers = _shifted_pair()
    pm, = overlap_correspondences(layers, find_overlaps(layers), StitchParams(width_px=W))
    err = np.linalg.norm(pm.p_j - pm.p_i - SHIFT, axis=1)
    assert len(pm) > 500
    assert np.median(err) < 0.05 and np.percentile(err, 90) < 0.1


def test_matches_are_absolute_and_wrap_aware_across_the_seam():
    layers = _shifted_pair(x0=W - 128)
    pm, = overlap_correspondences(layers, find_overlaps(layers), StitchParams(width_px=W))
    assert pm.p_i[:, 0].min() >= W - 128 and pm.p_i[:, 0].max() < W + 128
    assert (pm.p_i[:, 0] >= W).any()
    assert np.median(np.linalg.norm(pm.p_j - pm.p_i - SHIFT, axis=1)) < 0.05


def test_heldout_split_is_seeded_and_near_the_requested_fraction():
    layers = _shifted_pair()
    ovs = find_overlaps(layers)
    p = StitchParams(width_px=W, heldout_fraction=0.2, seed=3)
    a, = overlap_correspondences(layers, ovs, p)
    b, = overlap_correspondences(layers, ovs, p)
    np.testing.assert_array_equal(a.heldout, b.heldout)
    assert 0.15 < a.heldout.mean() < 0.25


def test_one_match_per_grid_cell_at_most():
    layers = _shifted_pair()
    pm, = overlap_correspondences(layers, find_overlaps(layers), StitchParams(width_px=W,
                                                                             flow_grid_px=16))
    cells = {(int(u) // 16, int(v) // 16) for u, v in pm.p_i - [100, 300]}
    assert len(cells) == len(pm) and len(pm) <= 256


def test_textureless_overlap_gives_no_matches():
    m = np.ones((64, 64), np.float32)
    flat = np.full((64, 64, 3), 90, np.uint8)
    layers = [ProjectedLayer(0, 0, 0, flat, m, W), ProjectedLayer(1, 0, 0, flat, m, W)]
    assert overlap_correspondences(layers, find_overlaps(layers), StitchParams(width_px=W)) == []


def test_unknown_flow_method_is_rejected():
    layers = _shifted_pair()
    with pytest.raises(InputError, match="unknown flow method"):
        overlap_correspondences(layers, find_overlaps(layers),
                                StitchParams(width_px=W, flow_method="nope"))
