"""Generated dual-fisheye clips: the truth says where every scene point lands in every lens.

The clip's world is a lattice of small bright spots (a panorama of Gaussian blobs), so a spot's
position in a decoded frame can be measured (intensity centroid) and compared with where the
truth (``DualFisheyeClipTruth``) says it must be.
"""

import dataclasses
import math

import av
import numpy as np
import pytest

from sensors.equirect import equirect_to_dirs
from sensors.synthetic import (
    DualFisheyeCalibration,
    DualFisheyeScene,
    generate_clip,
    render_dual_fisheye_frame,
)
from sensors.synthetic.dual_fisheye import RIM_LEVEL
from sensors.synthetic.dual_fisheye_truth import DualFisheyeClipTruth

SIZE = (1024, 512)
SCENE = DualFisheyeScene(radius_m=2.0, ground_m=1.0)
WINDOW_PX = 6


def _spot_panorama(width=2048, yaw_step_deg=10, pitches_deg=range(-60, 61, 15), sigma_rad=0.012):
    """Black panorama with Gaussian spots; returns the image and the spots' world directions."""
    h = width // 2
    yaw = np.radians(np.arange(-180, 180, yaw_step_deg))
    pitch = np.radians(np.array(pitches_deg, dtype=float))
    Y, P = np.meshgrid(yaw, pitch)
    spots = np.stack([np.cos(P) * np.sin(Y), -np.sin(P), np.cos(P) * np.cos(Y)], -1).reshape(-1, 3)
    X, V = np.meshgrid(np.arange(width) + 0.5, np.arange(h) + 0.5)
    d = equirect_to_dirs(np.stack([X, V], -1), width)
    img = np.zeros((h, width), np.float32)
    for s in spots:
        near = d @ s > math.cos(5 * sigma_rad)
        ang = np.arccos(np.clip(d[near] @ s, -1, 1))
        img[near] = np.maximum(img[near], 255 * np.exp(-0.5 * (ang / sigma_rad) ** 2))
    pano = np.repeat(np.rint(img).astype(np.uint8)[..., None], 3, axis=2)
    return pano, spots


@pytest.fixture(scope="module")
def spots_clip(tmp_path_factory):
    pano, spots = _spot_panorama()
    # Wide lenses (a broad overlap ring), a 3 cm baseline and a near scene: visible parallax.
    calib = DualFisheyeCalibration.random(5, SIZE, fov_deg=(199.0, 200.0),
                                          baseline_m=(0.03, 0.03))
    clip = generate_clip(tmp_path_factory.mktemp("df"), kind="pan", seed=3, width=SIZE[0],
                         height=SIZE[1], fps=10.0, duration_s=2.0, readout_s=0.05,
                         projection="dual-fisheye", dual_fisheye=calib, scene=SCENE,
                         panorama=pano, audio=False)
    with av.open(str(clip.video)) as c:
        frames = [f.to_ndarray(format="gray").astype(np.float64) for f in c.decode(video=0)]
    return clip, DualFisheyeClipTruth.load(clip.truth_npz), frames, spots


def _centroids(gray, px):
    """Intensity centroids (N, 2) of the spots in windows around ``px`` (N, 2)."""
    out = []
    for x, y in px:
        x0, y0 = int(round(x)), int(round(y))
        win = gray[y0 - WINDOW_PX:y0 + WINDOW_PX + 1, x0 - WINDOW_PX:x0 + WINDOW_PX + 1]
        w = np.maximum(win - 20.0, 0.0)
        gy, gx = np.mgrid[y0 - WINDOW_PX:y0 + WINDOW_PX + 1, x0 - WINDOW_PX:x0 + WINDOW_PX + 1]
        out.append([np.sum(w * gx) / np.sum(w), np.sum(w * gy) / np.sum(w)])
    return np.array(out)


def _inside(truth, lens, px, seen, margin_px=WINDOW_PX + 3):
    """Spots whose measuring window lies inside the lens's disc."""
    L = truth.calibration.lenses[lens]
    r = np.hypot(px[:, 0] - L.cx_px, px[:, 1] - L.cy_px)
    return seen & (r < L.radius_px(L.fov_rad) - margin_px)


def _spot_errors(truth, frame, gray, spots, lens):
    px, seen = truth.direction_pixels(frame, lens, spots)
    keep = _inside(truth, lens, px, seen)
    return px[keep], _centroids(gray, px[keep]), keep


def _rates(clip):
    return np.linalg.norm(np.load(clip.truth_npz)["frame_omega_rad_s"], axis=1)


def test_truth_calibration_places_every_rendered_spot(spots_clip):
    clip, truth, frames, spots = spots_clip
    k = int(np.argmin(_rates(clip)))
    for lens in (0, 1):
        want, got, _ = _spot_errors(truth, k, frames[k], spots, lens)
        err = np.hypot(*(got - want).T)
        assert len(err) > 80
        assert np.median(err) < 0.1 and err.max() < 0.3, (lens, np.median(err), err.max())


def test_rolling_shutter_moves_spots_as_their_rows_times_predict(spots_clip):
    clip, truth, frames, spots = spots_clip
    k = int(np.argmax(_rates(clip)))
    assert _rates(clip)[k] > 0.8  # rad/s: a fast pan
    global_shutter = dataclasses.replace(truth, readout_s=0.0)
    for lens in (0, 1):
        want, got, keep = _spot_errors(truth, k, frames[k], spots, lens)
        gs, _ = global_shutter.direction_pixels(k, lens, spots[keep])
        predicted_shift = np.hypot(*(want - gs).T)
        err = np.hypot(*(got - want).T)
        err_gs = np.hypot(*(got - gs).T)
        # rows far from the middle row were read up to 25 ms away from it: the spots there
        # moved by the rotation in that time, and the truth's row times account for all of it
        assert predicted_shift.max() > 1.5
        assert err.max() < 0.2, (lens, err.max())
        assert np.median(err_gs) > 0.8, (lens, np.median(err_gs))


def test_lenses_agree_in_the_overlap_up_to_the_baselines_parallax(spots_clip):
    clip, truth, frames, spots = spots_clip
    k = 0
    a = _spot_errors(truth, k, frames[k], spots, 0)
    b = _spot_errors(truth, k, frames[k], spots, 1)
    both = a[2] & b[2]
    assert both.sum() >= 10
    got0 = a[1][both[a[2]]]
    got1 = b[1][both[b[2]]]
    # Through the truth, both lenses' measured spots are the same scene direction ...
    d0 = truth.pixel_directions(k, 0, got0)
    d1 = truth.pixel_directions(k, 1, got1)
    f_px = truth.calibration.lenses[0].f_px
    sep_px = np.arccos(np.clip(np.sum(d0 * d1, axis=1), -1, 1)) * f_px
    assert sep_px.max() < 0.15, sep_px
    # ... while lenses taken as seeing from one point (a scene at infinity) disagree by the
    # parallax of a 3 cm baseline at 1-2 m, bounded by baseline / nearest depth.
    c = truth.calibration
    at_infinity = dataclasses.replace(truth, calibration=dataclasses.replace(
        c, centres_m=np.zeros((2, 3))))
    e0 = at_infinity.pixel_directions(k, 0, got0)
    e1 = at_infinity.pixel_directions(k, 1, got1)
    parallax_rad = np.arccos(np.clip(np.sum(e0 * e1, axis=1), -1, 1))
    bound_rad = c.baseline_m / SCENE.ground_m
    assert 1.0 < np.median(parallax_rad) * f_px
    assert parallax_rad.max() <= bound_rad * 1.05


def test_same_seed_gives_the_same_clip_and_truth(tmp_path):
    kw = dict(kind="walk", seed=4, width=128, height=64, fps=10.0, duration_s=0.5,
              projection="dual-fisheye", audio=False)
    a = generate_clip(tmp_path / "a", **kw)
    b = generate_clip(tmp_path / "b", **kw)
    c = generate_clip(tmp_path / "c", **{**kw, "seed": 5})
    frames = []
    for clip in (a, b):
        with av.open(str(clip.video)) as f:
            frames.append(np.stack([x.to_ndarray(format="bgr24") for x in f.decode(video=0)]))
    np.testing.assert_array_equal(frames[0], frames[1])
    assert a.truth_json.read_text() == b.truth_json.read_text()
    ta, tb = np.load(a.truth_npz), np.load(b.truth_npz)
    for key in ta.files:
        np.testing.assert_array_equal(ta[key], tb[key])
    assert not np.array_equal(ta["df_f_px"], np.load(c.truth_npz)["df_f_px"])


def test_the_dark_rim_darkens_each_discs_edge_and_black_surrounds_it():
    calib = DualFisheyeCalibration.random(2, (256, 128), rim_px=4.0)
    grey = np.full((512, 1024, 3), 200, np.uint8)
    frame = render_dual_fisheye_frame(grey, calib, SCENE, np.eye(3))[..., 1].astype(float)
    for k, lens in enumerate(calib.lenses):
        edge = lens.radius_px(lens.fov_rad)
        for r, level in ((edge - 10, 1.0), (edge - 2, RIM_LEVEL), (edge + 2, 0.0)):
            x, y = lens.cx_px - r / np.sqrt(2), lens.cy_px - r / np.sqrt(2)  # up and left
            value = frame[int(round(y)), int(round(x))]
            assert value == pytest.approx(200 * calib.gains[k] * level, abs=2), (k, r)
        assert calib.usable_fov_rad(k) < lens.fov_rad
