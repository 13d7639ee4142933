"""Rendering: warp + displacement, exposure compensation, wrap-aware blending, GPano output."""

import struct

import cv2
import numpy as np
import pytest

from sensors.errors import InputError
from stitch.params import StitchParams
from stitch.projection import camera_footprint
from stitch.render import render_panorama, warp_layer, write_layers, write_panorama
from stitch.synthetic import generate_rosette, reference_panorama

W = 1024


@pytest.fixture(scope="module")
def flat_rosette(tmp_path_factory):
    # No ground plane and no miscalibration: a perfect stitch equals the reference panorama.
    return generate_rosette(tmp_path_factory.mktemp("flat"), n_cameras=5, width=320, height=240,
                            hfov_deg=90, miscalibration_deg=0.0, ground_plane_m=None,
                            gain_range=0.15, seed=11)


def _images(g):
    return [cv2.imread(str(p)) for p in g.image_paths]


def _column_ratio(pano, ref, cov):
    band = slice(W // 4 - 40, W // 4 + 40)  # rows every side camera sees
    a = pano[band].astype(float).sum(axis=(0, 2))
    b = ref[band].astype(float).sum(axis=(0, 2))
    assert cov[band].all()
    return a / b


def test_perfect_rig_reproduces_the_scene_including_the_wrap(tmp_path):
    g = generate_rosette(tmp_path, n_cameras=5, width=320, height=240, hfov_deg=90,
                         miscalibration_deg=0.0, ground_plane_m=None, gain_range=0.0, seed=11)
    res = render_panorama(g.true_rig, _images(g), StitchParams(width_px=W, exposure="none"))
    ref = reference_panorama(g.truth.scene, W)
    band = slice(W // 4 - 40, W // 4 + 40)
    # The stitch and the reference resample the photo along different chains (photo -> camera
    # -> panorama vs photo -> panorama); a light blur leaves the geometry: the true rig scores
    # 0.98 grey levels here, the same rig turned by 0.4 px 1.48, by 0.8 px 2.14.
    a = cv2.GaussianBlur(res.panorama.astype(np.float32), (0, 0), 1.5)[band]
    b = cv2.GaussianBlur(ref.astype(np.float32), (0, 0), 1.5)[band]
    err = np.abs(a - b).mean(axis=(0, 2))
    assert err.mean() < 1.2
    # The 0/W seam is blended like every other column: no step there.
    assert err[:8].mean() < 1.5 * err.mean() and err[-8:].mean() < 1.5 * err.mean()


def test_gain_compensation_flattens_exposure_steps(flat_rosette):
    g = flat_rosette
    ref = reference_panorama(g.truth.scene, W)
    spread = {}
    for comp in ("none", "gain"):
        res = render_panorama(g.true_rig, _images(g), StitchParams(width_px=W, exposure=comp))
        r = _column_ratio(res.panorama, ref, res.coverage)
        spread[comp] = np.std(r / r.mean())
    assert spread["none"] > 0.015  # this seed's gains span 1.00 .. 1.10
    assert spread["gain"] < 0.6 * spread["none"]


def test_displacement_moves_content_by_that_many_panorama_pixels(flat_rosette):
    g = flat_rosette
    img = _images(g)[1]
    lay = camera_footprint(g.true_rig[1], W)
    plain = warp_layer(img, g.true_rig, lay)
    dx = np.full(lay.shape, 5.0, np.float32)
    moved = warp_layer(img, g.true_rig, lay, (dx, np.zeros_like(dx)))
    both = plain.valid[:, 5:] & moved.valid[:, :-5]
    diff = np.abs(moved.image[:, :-5].astype(int) - plain.image[:, 5:].astype(int))[both]
    assert diff.max() <= 1


def test_nan_displacement_is_rejected(flat_rosette):
    g = flat_rosette
    lay = camera_footprint(g.true_rig[0], W)
    dx = np.zeros(lay.shape, np.float32)
    dx[3, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        warp_layer(_images(g)[0], g.true_rig, lay, (dx, np.zeros_like(dx)))


def _jpeg_segments(data):
    pos, out = 2, []
    while data[pos] == 0xFF and data[pos + 1] not in (0xDA, 0xD9):
        n = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        out.append((data[pos + 1], data[pos + 4:pos + 2 + n]))
        pos += 2 + n
    return out


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_panorama_files_carry_gpano_xmp_and_decode(tmp_path, suffix):
    rng = np.random.default_rng(2376609)
    pano = rng.integers(0, 255, size=(64, 128, 3), dtype=np.uint8)
    path = tmp_path / f"pano{suffix}"
    write_panorama(path, pano)
    data = path.read_bytes()
    assert b"<GPano:ProjectionType>equirectangular</GPano:ProjectionType>" in data
    assert b"<GPano:FullPanoWidthPixels>128</GPano:FullPanoWidthPixels>" in data
    back = cv2.imread(str(path))
    assert back.shape == pano.shape
    if suffix == ".jpg":
        app1 = [s for m, s in _jpeg_segments(data) if m == 0xE1]
        assert app1 and app1[0].startswith(b"http://ns.adobe.com/xap/1.0/\x00")
    else:
        assert np.array_equal(back, pano)  # lossless types round-trip exactly
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


def test_unsupported_suffix_leaves_nothing(tmp_path):
    with pytest.raises(InputError, match="unsupported panorama type"):
        write_panorama(tmp_path / "pano.gif", np.zeros((8, 16, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_layers_are_full_canvas_rgba_with_coverage_alpha(flat_rosette, tmp_path):
    g = flat_rosette
    res = render_panorama(g.true_rig, _images(g), StitchParams(width_px=W))
    paths = write_layers(tmp_path, res.layers, g.true_rig)
    assert [p.name for p in paths] == [f"layer_cam{k}.png" for k in range(5)]
    rgba = cv2.imread(str(paths[0]), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (W // 2, W, 4)
    # cam0 looks at yaw 0 (u = W/2); cam2/cam3 straddle the seam at yaw 180.
    alpha = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED)[..., 3] for p in paths]
    assert alpha[0][W // 4, W // 2] == 255 and alpha[0][W // 4, 0] == 0
    seam = alpha[2][W // 4] > 0
    assert seam[0] or seam[-1]
    union = np.any([a > 0 for a in alpha], axis=0)
    np.testing.assert_array_equal(union[W // 4], True)
    assert union.mean() == pytest.approx(res.coverage.mean(), abs=0.01)
