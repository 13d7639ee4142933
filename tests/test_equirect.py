"""Equirectangular coordinates and sampling (docs/architecture.md "Panorama")."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.equirect import dirs_to_equirect, equirect_to_dirs, sample_equirect
from sensors.errors import InputError


def test_directions_round_trip_through_pixels():
    rng = np.random.default_rng(2376609)
    d = rng.normal(size=(500, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    back = equirect_to_dirs(dirs_to_equirect(d, 1024), 1024)
    np.testing.assert_allclose(back, d, atol=1e-12)


def test_pixels_round_trip_through_directions():
    rng = np.random.default_rng(7)
    uv = np.stack([rng.uniform(0, 512, 300), rng.uniform(1, 255, 300)], axis=-1)
    np.testing.assert_allclose(dirs_to_equirect(equirect_to_dirs(uv, 512), 512), uv, atol=1e-9)


def test_axes_follow_design_convention():
    uv = dirs_to_equirect(np.array([[0, 0, 1.0], [1, 0, 0], [0, -1, 0], [0, 0, -1]]), 400)
    # forward -> centre; +x (right) -> yaw +90 deg; up (-y) -> top row; backward -> seam u=0.
    np.testing.assert_allclose(uv[0], [200, 100])
    np.testing.assert_allclose(uv[1], [300, 100])
    np.testing.assert_allclose(uv[2, 1], 0, atol=1e-12)
    assert uv[3, 0] == pytest.approx(0.0, abs=1e-9) or uv[3, 0] == pytest.approx(400.0)


def test_u_stays_in_range_across_the_seam():
    d = np.array([[-1e-9, 0, -1.0], [1e-9, 0, -1.0]])
    u = dirs_to_equirect(d, 100)[:, 0]
    assert np.all((u >= 0) & (u < 100))
    # Behind the camera, a little to the left (x < 0) is at u ~ 0, a little right at u ~ W.
    assert u[0] < 0.01 and u[1] > 99.99


@pytest.mark.parametrize("interp", ["bilinear", "bicubic", "lanczos"])
def test_sampling_interpolates_across_the_wrap(interp):
    # A smooth periodic pattern in u: sampling exactly on the seam must match the formula.
    h, w = 64, 128
    u = np.arange(w) + 0.5
    img = np.tile((100 + 80 * np.cos(2 * np.pi * u / w)).astype(np.float32), (h, 1))
    uv = np.array([[[0.1, 32.0], [127.9, 32.0], [0.0, 20.0], [64.0, 40.0]]])
    got = sample_equirect(img, equirect_to_dirs(uv, w), interp)[0]
    want = 100 + 80 * np.cos(2 * np.pi * uv[0, :, 0] / w)
    np.testing.assert_allclose(got, want, atol=0.2)


def test_sampling_pixel_centres_returns_pixels():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 255, size=(32, 64, 3), dtype=np.uint8)
    ys, xs = np.mgrid[2:30, 0:64]
    uv = np.stack([xs + 0.5, ys + 0.5], axis=-1).astype(np.float64)
    got = sample_equirect(img, equirect_to_dirs(uv, 64), "bilinear")
    np.testing.assert_array_equal(got, img[2:30])


def test_rejects_non_equirect_image():
    with pytest.raises(InputError, match="panorama"):
        sample_equirect(np.zeros((10, 10)), np.zeros((1, 1, 3)))
    with pytest.raises(InputError, match="interpolation"):
        sample_equirect(np.zeros((10, 20)), np.ones((1, 1, 3)), "cubic-ish")


@settings(max_examples=200, deadline=None)
@given(yaw=st.floats(-np.pi, np.pi), pitch=st.floats(-1.55, 1.55),
       width=st.integers(2, 8192).map(lambda n: 2 * n))
def test_any_direction_maps_inside_the_panorama_and_back(yaw, pitch, width):
    d = np.array([np.cos(pitch) * np.sin(yaw), -np.sin(pitch), np.cos(pitch) * np.cos(yaw)])
    uv = dirs_to_equirect(d, width)
    assert 0 <= uv[0] < width and 0 <= uv[1] <= width / 2
    np.testing.assert_allclose(equirect_to_dirs(uv, width), d, atol=1e-9)
