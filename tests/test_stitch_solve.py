"""Spline warp solve: recovers a known smooth misalignment, stays subtle, never folds."""

import dataclasses

import numpy as np
import pytest

from sensors.errors import InputError, SolveError
from stitch.flow import PairMatches
from stitch.params import StitchParams
from stitch.projection import ProjectedLayer
from stitch.warp_solve import solve_warps, solve_warps_info

W = 1024


def _layer(index, x0, y0=100, w=300, h=256):
    return ProjectedLayer(index, x0, y0, np.zeros((h, w, 3), np.uint8),
                          np.ones((h, w), np.float32), W)


def _misalignment(p):
    """A smooth 1-2 px disagreement between the two layers (what parallax leaves)."""
    return np.column_stack([1.5 * np.sin(p[:, 1] / 60.0), 0.8 * np.cos(p[:, 1] / 80.0)])


def _matches(rng, u_lo, u_hi, n=600, i=0, j=1, field=_misalignment):
    m = np.column_stack([rng.uniform(u_lo, u_hi, n), rng.uniform(110, 345, n)])
    d = field(m)
    return PairMatches(i, j, m + d / 2, m - d / 2, np.ones(n), rng.random(n) < 0.2)


def _heldout_after(warps, pm, index_of):
    ho = pm.heldout
    qi = warps[index_of[pm.i]].inverse(pm.p_i[ho])
    qj = warps[index_of[pm.j]].inverse(pm.p_j[ho])
    return np.linalg.norm(qi - qj, axis=1)


def test_recovers_a_known_smooth_misalignment():
    rng = np.random.default_rng(2376609)
    layers = [_layer(0, 0), _layer(1, 200)]
    pm = _matches(rng, 205, 295)
    warps, info = solve_warps_info(layers, [pm], StitchParams(width_px=W))
    before = np.linalg.norm(pm.p_i - pm.p_j, axis=1)[pm.heldout]
    after = _heldout_after(warps, pm, {0: 0, 1: 1})
    assert np.median(before) > 1.0
    assert np.median(after) < 0.05 and np.percentile(after, 90) < 0.1
    assert info.termination.endswith("CONVERGENCE")


def test_agreeing_layers_get_no_warp():
    rng = np.random.default_rng(5)
    layers = [_layer(0, 0), _layer(1, 200)]
    pm = _matches(rng, 205, 295, field=lambda p: np.zeros_like(p))
    warps = solve_warps(layers, [pm], StitchParams(width_px=W))
    assert max(w.max_displacement_px for w in warps) < 1e-6


def test_displacement_fades_far_from_the_overlap():
    rng = np.random.default_rng(7)
    layers = [_layer(0, 0, w=700), _layer(1, 600, w=300)]
    pm = _matches(rng, 605, 695, field=lambda p: np.tile([2.0, -1.0], (len(p), 1)))
    warps = solve_warps(layers, [pm], StitchParams(width_px=W))
    dx, dy = warps[0].dense()
    near = np.hypot(dx[:, 650], dy[:, 650]).mean()
    far = np.hypot(dx[:, 20], dy[:, 20]).mean()
    assert near > 0.8 and far < 0.1 * near


def test_warp_across_the_panorama_seam_matches_wrapped_coordinates():
    # Layer 1 straddles u = 0 (x0 < 0); the matches are given near u = W (the same place).
    rng = np.random.default_rng(11)
    layers = [_layer(0, W - 300), _layer(1, -100)]
    pm = _matches(rng, W - 95, W - 5)
    warps = solve_warps(layers, [pm], StitchParams(width_px=W))
    after = _heldout_after(warps, pm, {0: 0, 1: 1})
    assert np.median(after) < 0.05


def test_full_width_layer_uses_a_periodic_grid():
    rng = np.random.default_rng(13)
    layers = [_layer(0, 0, w=W), _layer(1, -150)]
    pm = _matches(rng, -95, 95)
    warps = solve_warps(layers, [pm], StitchParams(width_px=W))
    assert warps[0].periodic
    dx, dy = warps[0].dense()
    # Columns 0 and W-1 are neighbours on the panorama: the field is continuous there.
    assert np.abs(dx[:, 0] - dx[:, -1]).max() < 0.1
    assert np.median(_heldout_after(warps, pm, {0: 0, 1: 1})) < 0.05


def test_contradicting_matches_never_fold_the_warp():
    rng = np.random.default_rng(17)
    layers = [_layer(0, 0), _layer(1, 200)]
    pm = _matches(rng, 205, 295, field=lambda p: rng.normal(0, 6.0, p.shape))
    try:
        warps = solve_warps(layers, [pm], StitchParams(width_px=W))
    except SolveError:
        return
    assert min(w.min_jacobian_det for w in warps) > 0.8


def test_the_fold_check_is_the_smallest_jacobian_determinant_over_the_layer():
    # min_jacobian_det skips the rows no moved control point reaches and works in bands of
    # rows: the same figure as the dense determinant's minimum
    rng = np.random.default_rng(5)
    layers = [_layer(0, 0, h=700), _layer(1, 200, h=700)]
    pm = _matches(rng, 205, 295, field=lambda p: rng.normal(0, 2.0, p.shape))
    warps = solve_warps(layers, [pm], StitchParams(width_px=W))
    for w in warps:
        moved = np.any(w.ctrl != 0, axis=(1, 2))
        assert 0 < moved.sum() < moved.size  # some rows never move, some do
        assert w.min_jacobian_det == pytest.approx(float(w.jacobian_det().min()), abs=1e-12)
        assert w.min_jacobian_det < 1.0
    still = dataclasses.replace(warps[0], ctrl=np.zeros_like(warps[0].ctrl))
    assert still.min_jacobian_det == 1.0


def test_nan_matches_are_rejected():
    layers = [_layer(0, 0), _layer(1, 200)]
    p = np.array([[210.0, 150.0], [np.nan, 160.0]])
    pm = PairMatches(0, 1, p, p, np.ones(2), np.zeros(2, bool))
    with pytest.raises(InputError, match="NaN"):
        solve_warps(layers, [pm], StitchParams(width_px=W))


def test_three_layers_over_one_region_are_aligned_consistently():
    # Layers 0, 1, 2 all cover u in [205, 295]; layer k sees the scene shifted by k * shift.
    rng = np.random.default_rng(19)
    layers = [_layer(0, 0), _layer(1, 200), _layer(2, 150, w=200)]
    shift = np.array([0.9, -0.6])
    matches = []
    for i, j in ((0, 1), (0, 2), (1, 2)):
        m = np.column_stack([rng.uniform(205, 295, 400), rng.uniform(110, 345, 400)])
        p_i = m + i * shift + 0.3 * _misalignment(m) * i
        p_j = m + j * shift + 0.3 * _misalignment(m) * j
        matches.append(PairMatches(i, j, p_i, p_j, np.ones(400), rng.random(400) < 0.2))
    warps = solve_warps(layers, matches, StitchParams(width_px=W))
    for pm in matches:
        assert np.median(_heldout_after(warps, pm, {0: 0, 1: 1, 2: 2})) < 0.05
