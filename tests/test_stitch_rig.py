"""Rig files: Surround360 and COLMAP readers/writers, Hugin .pto, validation."""

import json
import math

import numpy as np
import pytest

from sensors.camera import project
from sensors.errors import InputError
from stitch.rig_io import (
    hugin_angles,
    read_colmap_rig,
    read_rig,
    read_surround360_rig,
    write_colmap_rig,
    write_pto,
    write_surround360_rig,
)
from stitch.synthetic import ring_rig


def test_surround360_side_camera_looks_along_its_forward_vector(samples_dir):
    rig = read_surround360_rig(samples_dir / "rigs" / "surround360_camera_rig.json")
    assert len(rig) == 17
    cam1 = rig[rig.ids.index("cam1")]
    # cam1 looks along +x of the z-up Surround360 frame, which is our yaw 0 (rig z).
    np.testing.assert_allclose(cam1.R_rig_from_cam[:, 2], [0, 0, 1], atol=1e-12)
    # Image "up" (Surround360 up = +z, i.e. the sky) is our -y: rows grow downwards.
    np.testing.assert_allclose(cam1.R_rig_from_cam[:, 1], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(cam1.position_m, [0, 0, 0.218], atol=1e-6)
    assert rig[rig.ids.index("cam0")].camera.model == "opencv_fisheye"


def test_surround360_pixel_matches_the_files_own_projection(samples_dir):
    # Surround360: pixel = principal + focal * (right.d, up.d) / forward.d (focal[1] < 0).
    path = samples_dir / "rigs" / "surround360_camera_rig.json"
    doc = json.loads(path.read_text())["cameras"][2]
    rig = read_surround360_rig(path)
    cam = rig[2]
    rng = np.random.default_rng(2376609)
    d_s360 = np.asarray(doc["forward"]) + 0.3 * rng.normal(size=(20, 3))
    right, up, fwd = (np.asarray(doc[k]) for k in ("right", "up", "forward"))
    z = d_s360 @ fwd
    want = np.column_stack([doc["principal"][0] + doc["focal"][0] * (d_s360 @ right) / z,
                            doc["principal"][1] + doc["focal"][1] * (d_s360 @ up) / z])
    from stitch.rig_io import R_RIG_FROM_S360

    rays = (d_s360 @ R_RIG_FROM_S360.T) @ cam.R_rig_from_cam
    np.testing.assert_allclose(project(cam.camera, rays), want, atol=1e-9)


def test_surround360_round_trip(tmp_path):
    rig = ring_rig(5, 320, 240, ring_radius_m=0.1)
    write_surround360_rig(tmp_path / "camera_rig.json", rig)
    back = read_rig(tmp_path / "camera_rig.json")
    np.testing.assert_allclose(back.rotations(), rig.rotations(), atol=1e-12)
    for a, b in zip(rig, back, strict=True):
        np.testing.assert_allclose(a.position_m, b.position_m, atol=1e-12)
        np.testing.assert_allclose(a.camera.K, b.camera.K)
        np.testing.assert_allclose(a.camera.dist, b.camera.dist)


def test_colmap_round_trip_rebases_on_the_reference_camera(tmp_path):
    rig = ring_rig(4, 320, 240, ring_radius_m=0.1)
    write_colmap_rig(tmp_path / "rig_config.json", rig, ref_index=1)
    back = read_colmap_rig(tmp_path / "rig_config.json")
    R_ref = rig[1].R_rig_from_cam
    for a, b in zip(rig, back, strict=True):
        np.testing.assert_allclose(b.R_rig_from_cam, R_ref.T @ a.R_rig_from_cam, atol=1e-12)
        np.testing.assert_allclose(b.position_m, R_ref.T @ (a.position_m - rig[1].position_m),
                                   atol=1e-12)
        np.testing.assert_allclose(a.camera.K, b.camera.K)


def test_colmap_intrinsics_from_cameras_txt(tmp_path):
    (tmp_path / "cameras.txt").write_text("# id model w h params\n"
                                          "1 PINHOLE 100 80 90 91 49.5 39.5\n"
                                          "2 SIMPLE_RADIAL 100 80 90 49.5 39.5 -0.1\n")
    doc = [{"ref_camera_id": 1, "cameras": [
        {"camera_id": 1, "image_prefix": "left/"},
        {"camera_id": 2, "image_prefix": "right/", "rel_qvec": [math.cos(0.25), 0,
                                                              math.sin(0.25), 0],
         "rel_tvec": [-0.1, 0, 0]}]}]
    (tmp_path / "rig_config.json").write_text(json.dumps(doc))
    rig = read_rig(tmp_path / "rig_config.json")
    assert rig.ids == ["left", "right"]
    assert rig[1].camera.dist[0] == pytest.approx(-0.1)
    # cam_from_rig rotates by +0.5 rad about y, so the camera looks 0.5 rad to the left.
    f = rig[1].R_rig_from_cam[:, 2]
    assert math.atan2(f[0], f[2]) == pytest.approx(-0.5)
    np.testing.assert_allclose(rig[1].position_m, rig[1].R_rig_from_cam @ [0.1, 0, 0])


def test_pto_has_one_image_line_per_camera_with_yaw(tmp_path):
    rig = ring_rig(4, 320, 240)
    names = [f"{c.id}.png" for c in rig]
    write_pto(tmp_path / "rig.pto", rig, names, 2048)
    lines = (tmp_path / "rig.pto").read_text().splitlines()
    ilines = [ln for ln in lines if ln.startswith("i ")]
    assert len(ilines) == 4
    assert any(ln.startswith("p f2 w2048 h1024 v360") for ln in lines)
    assert " y90.000000 " in ilines[1] and 'n"cam1.png"' in ilines[1]
    yaw, pitch, roll = hugin_angles(rig[3].R_rig_from_cam)
    assert (yaw, pitch, roll) == pytest.approx((-90, 0, 0), abs=1e-9)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("{not json", "not valid JSON"),
        ('{"foo": 1}', "not a rig file"),
        ('{"cameras": [{"forward": [1, 0, 0]}]}', "missing 'right'"),
        ('{"cameras": [{"forward": [2, 0, 0], "right": [0, -1, 0], "up": [0, 0, 1]}]}',
         "not a unit vector"),
        ('[{"cameras": [{"camera_id": 1, "image_prefix": "a"}]}]', "missing rel_qvec"),
        ('[{"ref_camera_id": 1, "cameras": [{"camera_id": 1, "image_prefix": "a"}]}]',
         "no intrinsics"),
    ],
)
def test_bad_rig_files_raise_one_clear_error(tmp_path, content, message):
    p = tmp_path / "rig.json"
    p.write_text(content)
    with pytest.raises(InputError, match=message) as exc:
        read_rig(p)
    assert str(p) in str(exc.value)


def test_left_handed_camera_axes_are_rejected(tmp_path):
    cam = {"id": "c", "origin": [0, 0, 0], "right": [0, 1, 0], "up": [0, 0, 1],
           "forward": [1, 0, 0], "focal": [100, -100], "principal": [50, 50],
           "resolution": [100, 100], "type": "RECTILINEAR"}
    p = tmp_path / "camera_rig.json"
    p.write_text(json.dumps({"cameras": [cam]}))
    with pytest.raises(InputError, match="right-handed"):
        read_rig(p)


@pytest.mark.parametrize("model", ["opencv_standard", "opencv_fisheye"])
def test_pto_lens_reproduces_our_radial_mapping_to_third_order(tmp_path, model):
    # Hugin: r_src = ((1 - b) rho + b rho^3) * s with rho = r_ideal / s, s = half the shorter
    # side and r_ideal = f_H tan(theta) (f0) or f_H theta (f3), f_H from the hfov v.
    import re

    from sensors.types import CameraModel
    from stitch.rig import Rig, RigCamera

    K = [[250.0, 0, 159.5], [0, 250.0, 119.5], [0, 0, 1]]
    dist = [-0.08, 0, 0, 0] if model == "opencv_standard" else [-0.05, 0, 0, 0]
    cam = RigCamera("c", CameraModel(K, dist, model, (320, 240)), np.eye(3))
    write_pto(tmp_path / "r.pto", Rig((cam,)), ["c.png"], 1024)
    line = [ln for ln in (tmp_path / "r.pto").read_text().splitlines() if ln.startswith("i ")][0]
    v = math.radians(float(re.search(r" v([-\d.]+)", line).group(1)))
    b = float(re.search(r" b([-\d.e]+)", line).group(1))
    s = 120.0
    theta = np.radians(np.linspace(1, 35, 12))
    if model == "opencv_standard":
        f_h = 160 / math.tan(v / 2)
        rho = f_h * np.tan(theta) / s
    else:
        f_h = 320 / v
        rho = f_h * theta / s
    hugin = ((1 - b) * rho + b * rho**3) * s
    rays = np.column_stack([np.sin(theta), np.zeros_like(theta), np.cos(theta)])
    ours = project(cam.camera, rays)[:, 0] - 159.5
    np.testing.assert_allclose(hugin, ours, atol=1e-6)


def test_hugin_angles_recover_yaw_pitch_roll():
    # Verified against nona (Hugin 2022): these angles put each layer where ours is, to the
    # half pixel of Hugin's panorama pixel convention.
    def rot(axis, a):
        c, s = math.cos(a), math.sin(a)
        i, j = [(1, 2), (2, 0), (0, 1)][axis]
        R = np.eye(3)
        R[i, i] = R[j, j] = c
        R[i, j], R[j, i] = -s, s
        return R

    y, p, r = 37.0, 12.0, -20.0
    R = rot(1, math.radians(y)) @ rot(0, math.radians(p)) @ rot(2, math.radians(r))
    assert hugin_angles(R) == pytest.approx((y, p, r), abs=1e-9)
    # Positive pitch looks up: the optical axis has a negative y (up) component.
    assert R[1, 2] < 0
