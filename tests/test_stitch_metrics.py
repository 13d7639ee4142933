"""Seam report: residual statistics, before/after the warps, overlap similarity."""

import json

import cv2
import numpy as np

from stitch.flow import PairMatches
from stitch.metrics import overlap_similarity, residual_stats, seam_report
from stitch.params import StitchParams
from stitch.projection import Layer, ProjectedLayer
from stitch.render import WarpedLayer
from stitch.warp_solve import solve_warps

W = 1024


def test_residual_stats_of_known_distances():
    s = residual_stats(np.arange(1, 101, dtype=float))
    assert s["n"] == 100 and s["worst_px"] == 100.0
    assert s["median_px"] == 50.5
    np.testing.assert_allclose(s["rmse_px"], np.sqrt(np.mean(np.arange(1, 101) ** 2.0)))
    assert residual_stats(np.zeros(0))["median_px"] is None


def test_report_shows_the_warps_closing_the_heldout_residuals():
    rng = np.random.default_rng(2376609)
    n = 500
    m = np.column_stack([rng.uniform(205, 295, n), rng.uniform(110, 345, n)])
    d = np.column_stack([np.full(n, 1.2), 0.5 * np.sin(m[:, 1] / 50)])
    pm = PairMatches(0, 1, m + d / 2, m - d / 2, np.ones(n), rng.random(n) < 0.2)
    layers = [ProjectedLayer(k, x0, 100, np.zeros((256, 300, 3), np.uint8),
                             np.ones((256, 300), np.float32), W) for k, x0 in ((0, 0), (1, 200))]
    warps = solve_warps(layers, [pm], StitchParams(width_px=W))
    rep = seam_report([pm], warps)
    ho = rep["overall"]["heldout"]
    assert ho["before"]["n"] == int(pm.heldout.sum())
    assert ho["before"]["median_px"] > 1.0 > 0.05 > ho["after"]["median_px"]
    assert rep["pairs"][0]["i"] == 0 and rep["pairs"][0]["j"] == 1
    assert all(w["min_jacobian_det"] > 0.8 for w in rep["warps"])
    assert "held-out after" in rep["text"]
    json.dumps(rep)  # JSON-ready


def test_report_without_warps_has_after_equal_before():
    p = np.array([[10.0, 10.0], [20.0, 20.0]])
    pm = PairMatches(0, 1, p, p + [3.0, 4.0], np.ones(2), np.array([False, True]))
    rep = seam_report([pm])
    assert rep["overall"]["fit"]["after"]["median_px"] == 5.0
    assert rep["overall"]["heldout"]["before"]["worst_px"] == 5.0


def _warped(index, x0, img):
    h, w = img.shape[:2]
    valid = np.ones((h, w), bool)
    return WarpedLayer(Layer(index, x0, 0, w, h, W), img, valid, np.ones((h, w), np.float32))


def test_identical_overlaps_score_perfect_and_shifted_ones_do_not():
    rng = np.random.default_rng(5)
    noise = rng.uniform(0, 255, (80, 120, 3)).astype(np.float32)
    tex = np.clip(cv2.GaussianBlur(noise, (0, 0), 1.0), 0, 255).astype(np.uint8)
    a = _warped(0, 0, tex[:, :100])
    same = _warped(1, 20, tex[:, 20:120])
    moved = _warped(1, 20, np.roll(tex, -2, axis=1)[:, 20:120])  # content 2 px off
    s_same, = overlap_similarity([a, same])
    s_moved, = overlap_similarity([a, moved])
    assert s_same["psnr_db"] == float("inf") and abs(s_same["ssim"] - 1.0) < 1e-6
    assert s_moved["psnr_db"] < 35 and s_moved["ssim"] < 0.95

