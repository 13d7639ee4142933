"""Hugin projects in: the .pto reader against the writer, Hugin's own output, stitching a
project with seam repair, and one-line errors for what the rig model cannot hold."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from sensors.errors import InputError
from sensors.types import CameraModel
from stitch.rig import Rig, RigCamera
from stitch.rig_io import hugin_angles, hugin_rotation, read_pto, read_rig, write_pto
from stitch.synthetic import generate_rosette


def _cam(cid, model, k1, yaw, pitch, roll, shift=(0.0, 0.0)):
    K = [[250.0, 0, 159.5 + shift[0]], [0, 250.0, 119.5 + shift[1]], [0, 0, 1]]
    return RigCamera(cid, CameraModel(K, [k1, 0, 0, 0], model, (320, 240)),
                     hugin_rotation(yaw, pitch, roll))


def test_written_project_reads_back_to_the_same_rig(tmp_path):
    rig = Rig((_cam("a", "opencv_standard", -0.08, 0, 0, 0),
               _cam("b", "opencv_fisheye", -0.03, 70, 12, -5, (3.5, -2.0)),
               _cam("c", "opencv_standard", 0.02, -110, -30, 40, (-1.0, 4.0))))
    names = [f"{c.id}.jpg" for c in rig]
    for n in names:
        (tmp_path / n).write_bytes(b"")
    write_pto(tmp_path / "rig.pto", rig, names, 2048)
    back = read_pto(tmp_path / "rig.pto")
    assert back.rig.ids == ["a", "b", "c"] and back.width_px == 2048
    assert back.image_paths == [tmp_path / n for n in names]
    for a, b in zip(rig, back.rig, strict=True):
        assert b.camera.model == a.camera.model
        # v is written with 6 decimals: focal to a few 1e-6 relative.
        np.testing.assert_allclose(b.camera.K, a.camera.K, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(b.camera.dist[0], a.camera.dist[0], atol=1e-6)
        np.testing.assert_allclose(b.R_rig_from_cam, a.R_rig_from_cam, atol=1e-8)


def test_hugin_rotation_inverts_hugin_angles():
    for ypr in [(10.0, -20.0, 30.0), (-170.0, 80.0, -60.0), (0.0, 0.0, 90.0)]:
        assert hugin_angles(hugin_rotation(*ypr)) == pytest.approx(ypr, abs=1e-9)


def test_hugin_optimised_project_reads_with_back_references(samples_dir):
    # pto_gen + cpfind + cpclean + autooptimiser output: images 1 and 2 link v, b to image 0.
    proj = read_pto(samples_dir / "panorama" / "weir" / "weir_hugin.pto")
    assert proj.rig.ids == ["weir_1", "weir_2", "weir_3"]
    assert all(p.is_file() for p in proj.image_paths)
    K = [c.camera.K for c in proj.rig]
    assert K[1][0, 0] == K[0][0, 0] == K[2][0, 0]
    # v50 on 1333 px wide rectilinear images, b -0.0277 folded into f and k1.
    f_h = 666.5 / math.tan(math.radians(25))
    assert K[0][0, 0] == pytest.approx(f_h * (1 + 0.0276619815683011))
    assert proj.rig[0].camera.dist[0] < 0
    yaws = [hugin_angles(c.R_rig_from_cam)[0] for c in proj.rig]
    assert yaws == pytest.approx([-23.9682672066143, -2.22868618016786, 24.1936436377687])


def test_even_distortion_terms_are_fitted_by_k1_k2(tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"")
    (tmp_path / "p.pto").write_text('i w640 h480 f0 v80 a0.01 b-0.02 c0.015 y0 p0 r0 d0 e0 '
                                    'n"x.jpg"\n')
    cam = read_pto(tmp_path / "p.pto").rig[0].camera
    f_h = 320 / math.tan(math.radians(40))
    t = np.linspace(0.05, 0.9, 30)
    rho = f_h * t / 240
    hugin = 240 * rho * (0.01 * rho**3 - 0.02 * rho**2 + 0.015 * rho + (1 - 0.005))
    k = cam.dist
    ours = cam.K[0, 0] * t * (1 + k[0] * t**2 + k[1] * t**4)
    assert np.abs(ours - hugin).max() < 0.1  # px, over 345 px of radius


def test_fisheye_circular_crop_sets_the_field_of_view(tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"")
    (tmp_path / "p.pto").write_text('i w1000 h1000 f2 v180 S100,900,100,900 y0 p0 r0 '
                                    'n"x.jpg"\n')
    cam = read_rig(tmp_path / "p.pto")[0]
    # f = 1000 / pi px per radian; the crop circle (radius 400 px, centred half a pixel off
    # the principal point on both axes) reaches 72 degrees off axis, 71.87 all around.
    assert cam.camera.model == "opencv_fisheye"
    reach = (400 - math.hypot(0.5, 0.5)) / (1000 / math.pi)
    assert cam.fov_rad == pytest.approx(reach, abs=1e-9)


@pytest.mark.parametrize(("line", "problem"), [
    ('i w640 h480 f4 v360 y0 p0 r0 n"x.jpg"', "equirectangular projection (f4) is not supported"),
    ('i w640 h480 f10 v120 y0 p0 r0 n"x.jpg"', "stereographic fisheye projection (f10)"),
    ('i w640 h480 f0 v60 y0 p0 r0 n"gone.jpg"', "image 0: gone.jpg does not exist"),
    ('i w640 h480 f0 v=3 y0 p0 r0 n"x.jpg"', "back-reference v=3 names no other image"),
    ("p f2 w100 h50 v360", "no images in the project"),
])
def test_bad_projects_exit_2_with_one_line_and_write_nothing(tmp_path, line, problem):
    (tmp_path / "x.jpg").write_bytes(b"")
    pto = tmp_path / "p.pto"
    pto.write_text(line + "\n")
    out = tmp_path / "out" / "pano.jpg"
    r = CliRunner().invoke(main, ["stitch", str(pto), "-o", str(out)])
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[-1] == f"Error: {pto}: " + \
        r.output.strip().splitlines()[-1].split(": ", 2)[2]
    assert problem in r.output and "Traceback" not in r.output
    assert not out.parent.exists()
    with pytest.raises(InputError, match=problem.split(" (")[0]):
        read_pto(pto)


def test_a_project_of_a_miscalibrated_rosette_stitches_with_its_images_and_seams_repaired(
        tmp_path):
    ros = generate_rosette(tmp_path / "ros", n_cameras=4, width=200, height=150,
                           hfov_deg=110.0, seed=5)
    rig = read_rig(ros.rig_path)
    write_pto(ros.out_dir / "rig.pto", rig, [p.name for p in ros.image_paths], 1024)
    r = CliRunner().invoke(main, ["stitch", str(ros.out_dir / "rig.pto"), "-o",
                                  str(tmp_path / "pano.jpg"), "--width", "768", "--report",
                                  str(tmp_path / "r.json"), "--save-rig",
                                  str(tmp_path / "rig.json")])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["cameras"] == [c.id for c in rig] and rep["refine"] and rep["repair"]
    held = rep["seams"]["overall"]["heldout"]
    # The project holds k1 only (the rosette's k2 is dropped): the repair absorbs that too.
    assert held["after"]["median_px"] < 0.5 * held["before"]["median_px"]
    assert held["after"]["median_px"] < 1.0
    assert read_rig(tmp_path / "rig.json").ids == rep["cameras"]


def test_ptgui_o_lines_take_size_and_name_from_their_imgfile_comments(tmp_path):
    for n in ("l.jpg", "r.jpg"):
        (tmp_path / n).write_bytes(b"")
    (tmp_path / "p.pto").write_text(
        "p w3000 h1500 f2 v360\n"
        '#-imgfile 640 480 "l.jpg"\n#-imgfile 640 480 "r.jpg"\n'
        "o f0 y-30 r0 p0 v70 a0 b0 c0 d0 e0\no f0 y30 r0 p0 v=0 a0 b0 c0 d0 e0\n")
    proj = read_pto(tmp_path / "p.pto")
    assert proj.rig.ids == ["l", "r"] and proj.rig[1].size == (640, 480)
    assert [hugin_angles(c.R_rig_from_cam)[0] for c in proj.rig] == pytest.approx([-30, 30])
