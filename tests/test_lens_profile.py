"""Gyroflow lens profiles: the bundled GoPro files, scaling to the clip, round trip, bad input."""

import json

import numpy as np
import pytest

from sensors.camera import project, unproject
from sensors.errors import InputError
from sensors.lens_profile import load_lens_profile, write_lens_profile
from sensors.synthetic import default_camera

HERO7 = "GoPro_HERO7 Black_Wide_HS EIS_1080p_16by9_1920x1080-29.97fps.json"
HERO5 = "GoPro_HERO5 Black_Wide_EIS-Y_16by9.json"


@pytest.fixture
def profiles(samples_dir):
    return samples_dir / "lens_profiles"


def test_bundled_profiles_load_as_fisheye(profiles):
    files = sorted(profiles.glob("*.json"))
    assert len(files) == 5
    for f in files:
        cam = load_lens_profile(f)
        assert cam.model == "opencv_fisheye"
        assert cam.dist.shape == (4,)
        assert cam.size == tuple(cam.meta["calib_size"])


def test_hero7_profile_values_and_meta(profiles):
    cam = load_lens_profile(profiles / HERO7)
    assert cam.size == (1920, 1080)
    assert cam.K[0, 0] == pytest.approx(721.8607285550222)
    assert cam.meta["camera_model"] == "HERO7 Black"
    assert cam.meta["readout_s"] is None  # null in the file: unknown, not zero


def test_readout_time_in_ms_becomes_seconds(profiles):
    assert load_lens_profile(profiles / HERO5).meta["readout_s"] == pytest.approx(0.02669333)


def test_scaled_to_clip_size_projects_the_same_rays(profiles):
    full = load_lens_profile(profiles / HERO7)
    small = load_lens_profile(profiles / HERO7, size=(848, 480))
    assert small.size == (848, 480)
    assert not small.meta["approximate"]  # 16:9 vs 53:30 differ by 0.6%
    rng = np.random.default_rng(2376609)
    rays = np.column_stack([rng.uniform(-0.8, 0.8, (50, 2)), np.ones(50)])
    px_full = project(full, rays)
    px_small = project(small, rays)
    s = np.array([848 / 1920, 480 / 1080])
    np.testing.assert_allclose(px_small, (px_full + 0.5) * s - 0.5, atol=1e-9)


def test_other_aspect_is_marked_approximate(profiles):
    cam = load_lens_profile(profiles / HERO7, size=(640, 480))
    assert cam.meta["approximate"]
    assert "aspect" in cam.meta["warning"]


@pytest.mark.parametrize("model", ["opencv_fisheye", "opencv_standard"])
def test_write_then_load_roundtrips(tmp_path, model):
    base = default_camera(320, 180)
    dist = [0.05, -0.01, 0.002, 0.0005] if model == "opencv_fisheye" else [
        -0.2, 0.05, 0.001, -0.0005, 0.01]
    from sensors.types import CameraModel

    cam = CameraModel(base.K, dist, model, (320, 180), meta={"name": "synthetic"})
    f = write_lens_profile(tmp_path / "lens.json", cam, readout_s=0.015)
    back = load_lens_profile(f)
    assert back.model == model
    np.testing.assert_array_equal(back.K, cam.K)
    np.testing.assert_array_equal(back.dist, cam.dist)
    assert back.meta["readout_s"] == pytest.approx(0.015)
    px = np.array([[10.0, 20.0], [160.0, 90.0], [300.0, 170.0]])
    np.testing.assert_allclose(project(back, unproject(cam, px)), px, atol=1e-6)


def _edit(profiles, tmp_path, **changes):
    d = json.loads((profiles / HERO7).read_text())
    d.update(changes)
    f = tmp_path / "edited.json"
    f.write_text(json.dumps(d))
    return f


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"distortion_model": "poly5"}, "valid: opencv_standard, opencv_fisheye"),
        ({"calib_dimension": {"w": 1920}}, "calib_dimension"),
        ({"fisheye_params": {"camera_matrix": [[1, 0], [0, 1]], "distortion_coeffs": [0] * 4}},
         "3x3"),
        ({"input_horizontal_stretch": 1.33}, "anamorphic"),
        ({"frame_readout_time": "fast"}, "frame_readout_time"),
    ],
)
def test_bad_profiles_are_rejected(profiles, tmp_path, changes, message):
    with pytest.raises(InputError, match=message):
        load_lens_profile(_edit(profiles, tmp_path, **changes))


def test_not_json_and_missing(tmp_path):
    f = tmp_path / "x.json"
    f.write_text("{ not json")
    with pytest.raises(InputError, match="not a JSON lens profile"):
        load_lens_profile(f)
    with pytest.raises(InputError, match="not found"):
        load_lens_profile(tmp_path / "missing.json")
