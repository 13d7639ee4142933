"""`stitch_images`: the whole stitch on arrays, the same as the file path, and its bad input."""

import cv2
import numpy as np
import pytest

from sensors.errors import InputError
from sensors.progress import Progress
from stitch import StitchParams, read_rig, stitch_images, stitch_panorama
from stitch.pipeline import STAGES
from stitch.synthetic import generate_rosette

W = 768
FULL = StitchParams(width_px=W)


@pytest.fixture(scope="module")
def rosette(tmp_path_factory):
    return generate_rosette(tmp_path_factory.mktemp("arrays"), n_cameras=4, width=320,
                            height=240, hfov_deg=110.0, seed=5)


@pytest.fixture(scope="module")
def frames(rosette):
    return [cv2.imread(str(p)) for p in rosette.image_paths]


@pytest.fixture(scope="module")
def from_arrays(rosette, frames):
    return stitch_images(read_rig(rosette.rig_path), frames, FULL)


def test_arrays_give_the_file_paths_panorama_bit_for_bit(rosette, from_arrays, tmp_path):
    # PNG is lossless, so the written file holds exactly the panorama the file path rendered.
    from_files = stitch_panorama(rosette.rig_path, rosette.image_paths, tmp_path / "p.png", FULL,
                                 layers_dir=tmp_path / "layers")
    written = cv2.imread(str(tmp_path / "p.png"))
    assert from_arrays.panorama.shape == (W // 2, W, 3)
    assert np.array_equal(from_arrays.panorama, written)
    assert np.array_equal(from_files.panorama, written)
    # Both ran refinement and repair to the same rig, warps and seam figures.
    assert from_arrays.report["refine"] and from_arrays.report["repair"]
    np.testing.assert_array_equal(from_arrays.rig.rotations(), from_files.rig.rotations())
    assert from_arrays.seams["overall"] == from_files.seams["overall"]
    assert len(from_arrays.layers) == len(from_files.layer_paths) == 4


def test_the_result_carries_panorama_coverage_layers_and_seams(from_arrays):
    res = from_arrays
    assert res.output is None and res.layer_paths == []
    assert res.panorama.dtype == np.uint8
    assert res.coverage.shape == (W // 2, W) and res.coverage.dtype == bool
    assert res.report["coverage_fraction"] == pytest.approx(res.coverage.mean())
    assert not res.panorama[~res.coverage].any()  # nothing painted where no camera sees
    for lay in res.layers:
        assert lay.image.shape[:2] == lay.valid.shape
    # The generator's 0.4 deg miscalibration and parallax leave seams the repair shrinks.
    heldout = res.seams["overall"]["heldout"]
    assert res.seam_median_px == heldout["after"]["median_px"]
    assert res.seam_median_px < 0.5 * heldout["before"]["median_px"]


def test_progress_reports_every_stage_but_write(rosette, frames):
    seen: list[Progress] = []
    stitch_images(read_rig(rosette.rig_path), frames,
                  StitchParams(width_px=256, repair=False, refine=False), seen.append)
    stages = STAGES[:-1]
    assert [p.stage for p in seen] == list(stages)
    assert [(p.done, p.total) for p in seen] == [(k + 1, len(stages)) for k in range(len(stages))]


PLAIN = StitchParams(width_px=256, repair=False, refine=False)


def test_wrong_number_of_images_is_an_input_error(rosette, frames):
    with pytest.raises(InputError, match="4 cameras but 3 images"):
        stitch_images(read_rig(rosette.rig_path), frames[:3], PLAIN)


def test_image_of_the_wrong_size_names_its_index_and_camera(rosette, frames):
    bad = list(frames)
    bad[2] = frames[2][:200]
    with pytest.raises(InputError, match=r"images\[2\] \(camera cam2\): image is 320x200 but "
                                         "camera cam2 in the rig is 320x240"):
        stitch_images(read_rig(rosette.rig_path), bad, PLAIN)


@pytest.mark.parametrize(("image", "message"), [
    (np.zeros((240, 320, 3), np.float32), "unsupported image sample type float32"),
    (np.zeros((240, 320, 2), np.uint8), r"expected an HxWx3 BGR image .* shape \(240, 320, 2\)"),
    ("cam1.png", "expected a numpy array, got str"),
])
def test_image_of_the_wrong_type_or_layout_is_an_input_error(rosette, frames, image, message):
    bad = list(frames)
    bad[1] = image
    with pytest.raises(ValueError, match=message):  # InputError is a ValueError
        stitch_images(read_rig(rosette.rig_path), bad, PLAIN)


def test_grey_and_bgra_arrays_stitch_like_bgr(rosette, frames):
    rig = read_rig(rosette.rig_path)
    grey = [cv2.cvtColor(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) for f in frames]
    a = stitch_images(rig, grey, PLAIN).panorama
    b = stitch_images(rig, [g[:, :, 0] for g in grey], PLAIN).panorama
    c = stitch_images(rig, [cv2.cvtColor(g, cv2.COLOR_BGR2BGRA) for g in grey], PLAIN).panorama
    assert np.array_equal(a, b) and np.array_equal(a, c)


def test_a_rig_file_path_instead_of_a_rig_is_refused(rosette, frames):
    with pytest.raises(InputError, match="expected a Rig, got .*Path"):
        stitch_images(rosette.rig_path, frames, PLAIN)
