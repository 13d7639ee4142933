"""`steadyrig stitch`: output, report, layers, and one-line errors with exit code 2."""

import json

import pytest
from click.testing import CliRunner

from cli import main
from stitch.synthetic import generate_rosette


@pytest.fixture(scope="module")
def rosette(tmp_path_factory):
    return generate_rosette(tmp_path_factory.mktemp("cli_rosette"), n_cameras=5, width=320,
                            height=240, seed=2)


def test_stitch_command_writes_what_it_reports(rosette, tmp_path):
    out = tmp_path / "pano.jpg"
    r = CliRunner().invoke(main, ["stitch", str(rosette.rig_path), str(rosette.out_dir),
                                  "-o", str(out), "--width", "1024", "--no-repair",
                                  "--no-refine", "--report", str(tmp_path / "r.json"),
                                  "--layers", str(tmp_path / "layers"),
                                  "--pto", str(tmp_path / "rig.pto")])
    assert r.exit_code == 0, r.output
    assert f"Wrote {out} (1024x512, 5 cameras, 5 overlaps" in r.output
    assert out.exists()
    assert json.loads((tmp_path / "r.json").read_text())["width_px"] == 1024
    assert len(list((tmp_path / "layers").iterdir())) == 5
    pto = (tmp_path / "rig.pto").read_text()
    assert pto.count("\ni ") == 5 and str(rosette.image_paths[0].resolve()) in pto


def test_count_mismatch_exits_2_with_one_line(rosette, tmp_path):
    r = CliRunner().invoke(main, ["stitch", str(rosette.rig_path), str(rosette.image_paths[0]),
                                  "-o", str(tmp_path / "p.jpg"), "--no-repair", "--no-refine"])
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[-1].startswith("Error: ")
    assert "5 cameras but 1 images" in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "p.jpg").exists()


def test_missing_rig_file_exits_2(tmp_path):
    r = CliRunner().invoke(main, ["stitch", str(tmp_path / "nope.json"), str(tmp_path),
                                  "-o", str(tmp_path / "p.jpg")])
    assert r.exit_code == 2
    assert "rig file does not exist" in r.output


def test_odd_width_is_rejected(rosette, tmp_path):
    r = CliRunner().invoke(main, ["stitch", str(rosette.rig_path), str(rosette.out_dir),
                                  "-o", str(tmp_path / "p.jpg"), "--width", "1001"])
    assert r.exit_code == 2
    assert "even integer" in r.output
