"""The dual-fisheye frame warp: stabilizing rotation, per-lens rolling shutter and the stitch
in one remap per lens (stabilize.dual_fisheye.warp), held to exact geometry."""

import math

import numpy as np
import pytest

from sensors.fisheye import pixels_to_rays, rays_to_pixels
from stabilize.dual_fisheye import _kernels, reference
from stabilize.dual_fisheye.rig import LensPair
from stabilize.dual_fisheye.seams import SeamKeyframe, SeamTrack
from stabilize.dual_fisheye.warp import DualFisheyeWarper
from stitch.dual_fisheye.lens import rotation_matrix
from stitch.dual_fisheye.synthetic import DualFisheyeTruth, render_dual_fisheye

H = 160


def _pair(seed=4):
    truth = DualFisheyeTruth.random(seed=seed, height_px=H)
    return truth, LensPair(truth.lenses, truth.R_rig_from_back, truth.size, {})


def _turning_rows(rate_rad=0.05, axis=(0.3, 1.0, 0.2)):
    """Per-row rotations of a camera turning ``rate_rad`` over the frame's rows."""
    a = np.asarray(axis) / np.linalg.norm(axis)
    base = rotation_matrix(np.array([0.2, -0.4, 0.1]))
    return np.stack([base @ rotation_matrix(a * rate_rad * (r / (H - 1) - 0.5))
                     for r in range(H)])


def _seams(pair, seed=0, amp_px=0.8):
    rng = np.random.default_rng(seed)
    W = 2 * pair.size[0]
    gw, gh = W // 16, (W // 2) // 16 + 1
    fields = rng.normal(0.0, amp_px, (2, gh, gw, 2)).astype(np.float32)
    return SeamTrack.from_keyframes([SeamKeyframe(0, fields, 1.1)], W)


def test_node_kernel_matches_its_numpy_twin():
    _, pair = _pair()
    w = DualFisheyeWarper(pair, _seams(pair))
    args, _ = w.node_args(_turning_rows(), 0)
    nodes = np.empty((w.vs.size, w.us.size, 6))
    _kernels._df_nodes(*args, nodes)
    np.testing.assert_allclose(nodes, reference.nodes_reference(*args), atol=1e-9)


def test_dense_and_blend_kernels_match_their_numpy_twins():
    _, pair = _pair()
    w = DualFisheyeWarper(pair, _seams(pair))
    m = w.map_rows(_turning_rows(), 0)
    for size in ((320, 160), (160, 80)):  # luma and 4:2:0 chroma
        got = w.dense_maps(m, size)
        want = reference.dense_reference(*w.dense_args(m, size))
        for g, r in zip(got, want, strict=True):
            np.testing.assert_allclose(g, r, atol=2e-4)
    rng = np.random.default_rng(1)
    a0, a1 = (rng.integers(0, 256, (40, 50)).astype(np.uint8) for _ in range(2))
    w0 = rng.uniform(0, 1, (40, 50)).astype(np.float32)
    out = np.empty_like(a0)
    _kernels._df_blend(a0, a1, w0, 0.93, 1.07, 16.0, 255.0, out)
    want = reference.blend_reference(a0.astype(np.float64), a1, w0, 0.93, 1.07, 16.0, 255.0)
    assert np.abs(out.astype(np.float64) - want).max() <= 1.0 + 1e-9  # float32 weight rounding


def test_fused_sample_and_blend_kernel_matches_its_numpy_twin():
    _, pair = _pair()
    w = DualFisheyeWarper(pair, _seams(pair))
    m = w.map_rows(_turning_rows(), 0)
    rng = np.random.default_rng(2)
    for size in ((2 * H, H), (H, H // 2)):  # luma, then U and V in one pass
        u, v = (rng.integers(16, 236, size[::-1]).astype(np.uint8) for _ in range(2))
        ou, ov = np.empty_like(u), np.empty_like(v)
        args = w.dense_args(m, size)
        _kernels._df_sample_blend(*args, u, 0.95, 1.05, 128.0, 255.0, ou, v, ov, 2)
        for src, out in ((u, ou), (v, ov)):
            want = reference.sample_blend_reference(*args, src, 0.95, 1.05, 128.0, 255.0)
            diff = np.abs(out - want)
            assert diff.max() <= 1.0 and np.mean(diff > 0) < 1e-3  # float rounding only
    # one plane: the second is not touched
    y = rng.integers(16, 236, (H, 2 * H)).astype(np.uint8)
    keep = np.full((H, 2 * H), 7, np.uint8)
    _kernels._df_sample_blend(*w.dense_args(m, (2 * H, H)), y, 1.0, 1.0, 16.0, 255.0,
                              np.empty_like(y), y, keep, 1)
    assert np.all(keep == 7)


def test_bilinear_planes_warp_like_opencv_remap_and_blend():
    # the one-pass path and the remap-then-blend path (other interpolations) agree to within
    # OpenCV's fixed-point sampling
    _, pair = _pair()
    m = DualFisheyeWarper(pair, _seams(pair)).map_rows(_turning_rows(), 0)
    rng = np.random.default_rng(3)
    y = rng.integers(16, 236, (H, 2 * H)).astype(np.uint8)
    fused = DualFisheyeWarper(pair, _seams(pair)).warp_gray(y, m)
    split = DualFisheyeWarper(pair, _seams(pair)).warp_bgr(np.dstack([y, y, y]), m)[..., 0]
    assert np.abs(fused.astype(int) - split).max() <= 2


def test_each_lens_sample_is_the_output_direction_at_its_own_row_time():
    # the fixed-point iteration: lens pixel (x, y) shows M(row y) d, to well under 0.01 px, for
    # a fast pan (3 rad/s over a 20 ms readout)
    _, pair = _pair()
    M = _turning_rows(rate_rad=0.06)
    w = DualFisheyeWarper(pair)
    m = w.map_rows(M, 0)
    U, V = np.meshgrid(w.us, w.vs)
    yaw, pitch = (U / w.size[0] - 0.5) * 2 * np.pi, (0.5 - V / w.size[1]) * np.pi
    d = np.stack([np.cos(pitch) * np.sin(yaw), -np.sin(pitch), np.cos(pitch) * np.cos(yaw)], -1)
    for k, R in enumerate(pair.rotations()):
        L = pair.lenses[k]
        px = m.nodes[..., 2 * k:2 * k + 2]
        row = np.clip(px[..., 1], 0, H - 1)
        r0 = np.minimum(row.astype(int), H - 2)
        a = (row - r0)[..., None, None]
        Mr = (1 - a) * M[r0] + a * M[r0 + 1]
        ray = np.einsum("...ij,...j->...i", Mr, d) @ R
        want, th = rays_to_pixels(ray, L.f_px, L.cx_px, L.cy_px, L.k1)
        sees = th < L.fov_rad
        assert sees.mean() > 0.4
        assert np.abs(px[sees] - want[sees]).max() < 0.01


def test_dense_maps_stay_within_a_tenth_of_a_pixel_of_the_exact_mapping():
    _, pair = _pair()
    w = DualFisheyeWarper(pair)
    m = w.map_rotation(rotation_matrix(np.array([0.1, 0.5, -0.2])))
    mx0, my0, mx1, my1, w0 = w.dense_maps(m)
    Wd, Hd = w.size
    X, Y = np.meshgrid(np.arange(Wd) + 0.5, np.arange(Hd) + 0.5)
    yaw, pitch = (X / Wd - 0.5) * 2 * np.pi, (0.5 - Y / Hd) * np.pi
    d = np.stack([np.cos(pitch) * np.sin(yaw), -np.sin(pitch), np.cos(pitch) * np.cos(yaw)], -1)
    d = d @ rotation_matrix(np.array([0.1, 0.5, -0.2])).T
    for k, (mx, my) in enumerate(((mx0, my0), (mx1, my1))):
        L = pair.lenses[k]
        want, th = rays_to_pixels(d @ pair.rotations()[k], L.f_px, L.cx_px, L.cy_px, L.k1)
        weight = w0 if k == 0 else 1 - w0
        used = (weight > 0) & (th < L.fov_rad)
        err = np.hypot(mx - want[..., 0], my - want[..., 1])[used]
        assert err.max() < 0.1


def test_every_output_pixel_is_defined_and_the_gains_even_out_the_lenses():
    # a frame whose back lens is 20 % darker, with that ratio as the seam's gain: the output is
    # one level everywhere, the blend leaves no hole and no seam
    truth, pair = _pair()
    frame = np.zeros((H, 2 * H), np.uint8)
    X, Y = np.meshgrid(np.arange(2 * H), np.arange(H))
    for k, level in ((0, 150), (1, 120)):
        L = truth.lenses[k]
        frame[np.hypot(X - L.cx_px, Y - L.cy_px) < L.radius_px(L.fov_rad) + 1] = level
    W = 4 * H
    keys = [SeamKeyframe(0, np.zeros((2, W // 32 + 1, W // 16, 2), np.float32), 150 / 120)]
    w = DualFisheyeWarper(pair, SeamTrack.from_keyframes(keys, W))
    out = w.warp_bgr(frame, w.map_rotation(np.eye(3)))
    assert abs(float(out.mean()) - math.sqrt(150 * 120)) < 1.0
    assert out.min() >= math.sqrt(150 * 120) - 2 and out.max() <= math.sqrt(150 * 120) + 2


@pytest.mark.parametrize("seed", [5])
def test_a_still_at_infinity_stitches_into_its_panorama(seed):
    # no rotation, true calibration: every lens sample lands on the scene direction the output
    # pixel stands for (the map's geometry checked through the lens model of the renderer)
    truth, pair = _pair(seed)
    frame = render_dual_fisheye(truth)
    w = DualFisheyeWarper(pair)
    mx0, my0, mx1, my1, w0 = w.dense_maps(w.map_rotation(np.eye(3)))
    Wd, Hd = w.size
    X, Y = np.meshgrid(np.arange(Wd) + 0.5, np.arange(Hd) + 0.5)
    yaw, pitch = (X / Wd - 0.5) * 2 * np.pi, (0.5 - Y / Hd) * np.pi
    d = np.stack([np.cos(pitch) * np.sin(yaw), -np.sin(pitch), np.cos(pitch) * np.cos(yaw)], -1)
    for k, (mx, my) in enumerate(((mx0, my0), (mx1, my1))):
        L = truth.lenses[k]
        rays = pixels_to_rays(np.stack([mx, my], -1).astype(np.float64), L.f_px, L.cx_px,
                              L.cy_px, L.k1) @ truth.rotations()[k].T
        ang = np.arccos(np.clip(np.sum(rays * d, -1), -1, 1)) * Wd / (2 * np.pi)
        used = (w0 > 0) if k == 0 else (w0 < 1)
        assert np.percentile(ang[used], 99) < 0.1
    out = w.warp_bgr(frame, w.map_rotation(np.eye(3)))
    assert out.shape == (Hd, Wd, 3) and out.min(axis=2).max() > 0
