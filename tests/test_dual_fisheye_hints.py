"""EXIF Make/Model pick the dual-fisheye calibration's starting field of view, nothing more."""

import numpy as np
import pytest
from PIL import Image

from stitch.dual_fisheye.hints import hint_for, read_make_model


@pytest.mark.parametrize(("make", "model", "fov"), [
    ("RICOH", "RICOH THETA S", 190.0), ("Arashi Vision", "Insta360 ONE X2", 200.0),
    ("SAMSUNG", "SM-C200", 195.0), ("GoPro", "GoPro Fusion", 190.0),
    ("GoPro", "GoPro Max", 195.0)])
def test_known_cameras_give_their_starting_field_of_view(make, model, fov):
    hint = hint_for(make, model)
    assert hint is not None and hint.fov_deg == fov


@pytest.mark.parametrize(("make", "model"), [(None, None), ("Canon", "EOS R5"), ("", "")])
def test_unknown_or_missing_cameras_give_no_hint(make, model):
    assert hint_for(make, model) is None


def test_make_and_model_are_read_from_a_jpeg(tmp_path):
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "RICOH", "RICOH THETA V"
    Image.fromarray(np.zeros((8, 16, 3), np.uint8)).save(tmp_path / "a.jpg", exif=exif)
    assert read_make_model(tmp_path / "a.jpg") == ("RICOH", "RICOH THETA V")
    Image.fromarray(np.zeros((8, 16, 3), np.uint8)).save(tmp_path / "b.png")
    assert read_make_model(tmp_path / "b.png") == (None, None)
    assert read_make_model(tmp_path / "missing.jpg") == (None, None)
