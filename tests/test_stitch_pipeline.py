"""The stitch pipeline end to end on a generated rosette, and its answers to bad input."""

import json
import shutil

import cv2
import numpy as np
import pytest

from sensors.errors import InputError
from stitch.params import StitchParams
from stitch.pipeline import STAGES, stitch_panorama
from stitch.rig_io import write_surround360_rig
from stitch.synthetic import generate_rosette, ring_rig

W = 1024
PLAIN = StitchParams(width_px=W, repair=False, refine=False)


@pytest.fixture(scope="module")
def rosette(tmp_path_factory):
    return generate_rosette(tmp_path_factory.mktemp("rosette"), n_cameras=6, width=320,
                            height=240, seed=7)


def test_plain_stitch_writes_panorama_report_and_layers(rosette, tmp_path):
    stages = []
    res = stitch_panorama(rosette.rig_path, rosette.image_paths, tmp_path / "pano.jpg", PLAIN,
                          report=tmp_path / "report.json", layers_dir=tmp_path / "layers",
                          progress=stages.append)
    assert [p.stage for p in stages] == list(STAGES)
    assert [(p.done, p.total) for p in stages] == [(k, len(STAGES)) for k in range(1, 9)]
    pano = cv2.imread(str(tmp_path / "pano.jpg"))
    assert pano.shape == (W // 2, W, 3)
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep == res.report
    assert rep["cameras"] == [f"cam{k}" for k in range(6)]
    assert {(o["i"], o["j"]) for o in rep["overlaps"]} == {(0, 1), (1, 2), (2, 3), (3, 4),
                                                            (4, 5), (0, 5)}
    assert 0.3 < rep["coverage_fraction"] < 0.6
    assert rep["repair"] is False and rep["seams"] is None
    assert set(rep["timings_s"]) == set(STAGES) | {"total"}
    assert len(list((tmp_path / "layers").glob("layer_cam*.png"))) == 6


def test_folder_of_images_named_by_camera_id_equals_the_list(rosette, tmp_path):
    a = stitch_panorama(rosette.rig_path, rosette.image_paths, tmp_path / "a.png", PLAIN)
    b = stitch_panorama(rosette.rig_path, [rosette.out_dir], tmp_path / "b.png", PLAIN)
    assert np.array_equal(cv2.imread(str(a.output)), cv2.imread(str(b.output)))


def test_colmap_rig_file_stitches_too(rosette, tmp_path):
    # COLMAP's rig frame is camera 0's, so this panorama is centred on cam0 (0.4 deg off the
    # Surround360 one by cam0's miscalibration).
    res = stitch_panorama(rosette.colmap_rig_path, rosette.image_paths, tmp_path / "c.png",
                          PLAIN)
    assert res.rig.ids == rosette.rig.ids
    assert res.report["coverage_fraction"] > 0.3


def _assert_nothing_written(folder):
    assert not [p for p in folder.iterdir() if p.suffix in (".jpg", ".png", ".json")]


def test_count_mismatch_is_an_error(rosette, tmp_path):
    with pytest.raises(InputError, match="6 cameras but 5 images"):
        stitch_panorama(rosette.rig_path, rosette.image_paths[:5], tmp_path / "p.jpg", PLAIN)
    _assert_nothing_written(tmp_path)


def test_unreadable_image_is_an_error_naming_it(rosette, tmp_path):
    paths = list(rosette.image_paths)
    bad = tmp_path / "bad.png"
    bad.write_bytes(np.random.default_rng(2376609).bytes(500))
    paths[3] = bad
    with pytest.raises(InputError, match="cannot read image") as exc:
        stitch_panorama(rosette.rig_path, paths, tmp_path / "p.jpg", PLAIN)
    assert "bad.png" in str(exc.value)
    assert not (tmp_path / "p.jpg").exists()


def test_image_size_not_matching_the_rig_is_an_error(rosette, tmp_path):
    paths = list(rosette.image_paths)
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), np.zeros((100, 120, 3), np.uint8))
    paths[1] = small
    with pytest.raises(InputError, match="120x100 but camera cam1 in the rig is 320x240"):
        stitch_panorama(rosette.rig_path, paths, tmp_path / "p.jpg", PLAIN)


def test_folder_missing_a_camera_is_an_error(rosette, tmp_path):
    for p in rosette.image_paths[:-1]:
        shutil.copy(p, tmp_path / p.name)
    with pytest.raises(InputError, match="cam5"):
        stitch_panorama(rosette.rig_path, [tmp_path], tmp_path / "p.jpg", PLAIN)


def test_rig_without_overlaps_cannot_be_repaired(tmp_path):
    rig = ring_rig(4, 64, 48, hfov_deg=30)
    write_surround360_rig(tmp_path / "camera_rig.json", rig)
    paths = []
    for c in rig:
        paths.append(tmp_path / f"{c.id}.png")
        cv2.imwrite(str(paths[-1]), np.full((48, 64, 3), 128, np.uint8))
    with pytest.raises(InputError, match="no two cameras overlap"):
        stitch_panorama(tmp_path / "camera_rig.json", paths, tmp_path / "p.jpg",
                        StitchParams(width_px=512))
    assert not (tmp_path / "p.jpg").exists()
    # Without repair it is only a warning: the (gappy) panorama is still useful.
    res = stitch_panorama(tmp_path / "camera_rig.json", paths, tmp_path / "p.jpg",
                          StitchParams(width_px=512, repair=False, refine=False))
    assert "no two cameras overlap" in res.report["warnings"][0]


def test_output_may_not_overwrite_an_input(rosette):
    with pytest.raises(InputError, match="same as an input"):
        stitch_panorama(rosette.rig_path, rosette.image_paths, rosette.image_paths[0], PLAIN)


def test_unknown_output_type_is_rejected_before_any_work(rosette, tmp_path):
    with pytest.raises(InputError, match="unsupported panorama type .gif"):
        stitch_panorama(rosette.rig_path, rosette.image_paths, tmp_path / "p.gif", PLAIN)


def test_rosette_with_up_and_down_cameras_covers_the_whole_sphere(tmp_path):
    g = generate_rosette(tmp_path / "ud", n_cameras=6, width=160, height=120, up_down=True,
                         seed=4)
    res = stitch_panorama(g.rig_path, [g.out_dir], tmp_path / "p.png",
                          StitchParams(width_px=512, repair=False, refine=False))
    assert res.report["coverage_fraction"] == 1.0
    # The up camera (index 6) overlaps every side camera, across the 0/W seam too.
    pairs = {(o["i"], o["j"]) for o in res.report["overlaps"]}
    assert {(k, 6) for k in range(6)} <= pairs and {(k, 7) for k in range(6)} <= pairs


def test_refine_and_repair_shrink_the_true_seam_misalignment(rosette, tmp_path):
    # Truth from the generator: exact scene correspondences (parallax + 0.4 deg miscalibration).
    from stitch.synthetic import true_seam_residuals

    plain = stitch_panorama(rosette.rig_path, rosette.image_paths, tmp_path / "a.png", PLAIN)
    full = stitch_panorama(rosette.rig_path, rosette.image_paths, tmp_path / "b.png",
                           StitchParams(width_px=W), report=tmp_path / "r.json")

    def median(res):
        pairs = [(o["i"], o["j"]) for o in res.report["overlaps"]]
        d = true_seam_residuals(rosette.truth, res.rig, W, res.warps, pairs=pairs)
        return float(np.median(np.concatenate(list(d.values()))))

    before, after = median(plain), median(full)
    assert before > 1.0  # the miscalibrated rig leaves visible seams at this width
    assert after < 0.4 * before
    rep = full.report
    assert rep["repair"] and rep["refine"]
    assert rep["seams"]["overall"]["heldout"]["after"]["median_px"] < \
        rep["seams"]["overall"]["heldout"]["before"]["median_px"]
    assert min(w["min_jacobian_det"] for w in rep["warps"]) > 0.8
    assert rep["solve_info"]["n_matches"] > 0


def test_textureless_overlaps_fail_the_repair_and_write_nothing(rosette, tmp_path):
    from sensors.errors import SolveError

    flat = tmp_path / "flat"
    flat.mkdir()
    for cam in rosette.rig:
        cv2.imwrite(str(flat / f"{cam.id}.png"), np.full((240, 320, 3), 90, np.uint8))
    out = tmp_path / "out"
    with pytest.raises(SolveError, match="no usable correspondences"):
        stitch_panorama(rosette.rig_path, [flat], out / "p.jpg",
                        StitchParams(width_px=W, refine=False), report=out / "r.json",
                        layers_dir=out / "layers")
    assert not out.exists() or list(out.iterdir()) == []


def test_params_checksum_is_a_stable_cache_key():
    a = StitchParams(width_px=2048)
    assert a.checksum() == StitchParams(width_px=2048).checksum()
    assert a.checksum() != a.with_(blend_bands=3).checksum()
    assert a.height_px == 1024


@pytest.mark.parametrize(("change", "message"), [
    ({"width_px": 1001}, "even integer"),
    ({"exposure": "magic"}, "valid: none, gain"),
    ({"heldout_fraction": 1.0}, "heldout_fraction"),
])
def test_bad_params_are_rejected_with_the_valid_choices(change, message):
    with pytest.raises(InputError, match=message):
        StitchParams(**change)
