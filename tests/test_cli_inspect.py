"""``steadyrig inspect``: the MANIFEST figures on the real GoPro clips, JSON/PNG outputs, errors."""

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from sensors.synthetic import camera_path, synthesize_gyro
from sensors.writers import write_gcsv

RATES = {"karma.mp4": 397.5, "hero7.mp4": 197.5, "max-heromode.mp4": 197.5}


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("name", sorted(RATES))
def test_gopro_rates_in_json(samples_dir, tmp_path, name):
    out = tmp_path / "r.json"
    res = _run("inspect", samples_dir / "gopro" / name, "--json", out)
    assert res.exit_code == 0, res.output
    r = json.loads(out.read_text())
    assert r["format"] == "telemetry" and r["kind"] == "video"
    assert r["gyro_rate_hz"] == pytest.approx(RATES[name], abs=0.5)
    assert f"gyro_rate_hz:   {r['gyro_rate_hz']:.2f}" in res.output
    for key in ("camera", "duration_s", "samples", "gaps", "readout_ms", "exposure_ms",
                "coverage", "video"):
        assert key in r


# (in_camera_stabilization, setting, lens_mode, orientation_quaternions) per clip.
CAMERA = {"karma.mp4": (False, "N", "M", None),
          "hero7.mp4": (True, "HS EIS", "W", None),
          "max-heromode.mp4": (True, "HS HLevel", "W", {"camera": 316, "image": 316})}


@pytest.mark.parametrize("name", sorted(CAMERA))
def test_gopro_in_camera_stabilization_and_lens_mode(samples_dir, tmp_path, name):
    out = tmp_path / "r.json"
    res = _run("inspect", samples_dir / "gopro" / name, "--json", out)
    assert res.exit_code == 0, res.output
    r = json.loads(out.read_text())
    on, setting, lens, quats = CAMERA[name]
    assert r["in_camera_stabilization"] is on
    assert r["in_camera_stabilization_setting"] == setting
    assert r["lens_mode"] == lens and r["orientation_quaternions"] == quats
    assert r["telemetry_reader"] == "gpmf"
    assert f"in-camera stab: {'yes' if on else 'no'} (setting {setting})" in res.output
    assert f"lens mode:      {lens} (" in res.output


def test_log_without_camera_metadata_reports_null(tmp_path):
    log = tmp_path / "s.gcsv"
    write_gcsv(log, synthesize_gyro(camera_path("static", 0.2, seed=1), rate_hz=100.0, seed=2))
    out = tmp_path / "s.json"
    res = _run("inspect", log, "--json", out)
    r = json.loads(out.read_text())
    assert r["in_camera_stabilization"] is None and r["lens_mode"] is None
    assert "in-camera stab" not in res.output


def test_non_gopro_log_without_telemetry_parser_exits_2_naming_the_extra(tmp_path,
                                                                         monkeypatch):
    monkeypatch.setitem(sys.modules, "telemetry_parser", None)  # as on Python >= 3.13
    f = tmp_path / "flight.bbl"
    f.write_bytes(bytes(range(256)) * 8)
    res = _run("inspect", f)
    assert res.exit_code == 2
    assert res.output.startswith("Error: ") and res.output.count("\n") == 1
    assert "pip install 'steadyrig[telemetry]'" in res.output


def test_hero7_readout_and_coverage_warning(samples_dir, tmp_path):
    out = tmp_path / "h7.json"
    res = _run("inspect", samples_dir / "gopro" / "hero7.mp4", "--json", out)
    r = json.loads(out.read_text())
    assert r["readout_ms"] == pytest.approx(8.015, abs=0.001)
    assert r["coverage"]["fraction"] < 1.0
    assert "readout_ms:     8.015" in res.output
    assert "warning:" in res.output and "gyro covers 330 of 352 frames" in res.output


def test_gcsv_log_and_plot(tmp_path):
    gyro = synthesize_gyro(camera_path("run", 1.0, seed=3, rate_hz=1000.0), rate_hz=250.0,
                           seed=4, clock_offset_s=10.0)
    log = tmp_path / "run.gcsv"
    write_gcsv(log, gyro, readout_s=0.02)
    png = tmp_path / "run.png"
    out = tmp_path / "run.json"
    res = _run("inspect", log, "--plot", png, "--json", out)
    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = json.loads(out.read_text())
    assert r["format"] == "gcsv" and r["samples"] == len(gyro)
    assert r["gyro_rate_hz"] == pytest.approx(gyro.rate_hz, rel=1e-6)
    assert r["readout_ms"] == pytest.approx(20.0)
    assert r["coverage"] is None and r["accel"] is True


def test_gap_is_reported(tmp_path):
    t = np.concatenate([np.arange(0, 1, 0.005), np.arange(1.5, 2, 0.005)])
    from sensors.types import GyroLog

    log = tmp_path / "gap.gcsv"
    write_gcsv(log, GyroLog(t, np.zeros((t.size, 3))))
    out = tmp_path / "gap.json"
    res = _run("inspect", log, "--json", out)
    r = json.loads(out.read_text())
    assert len(r["gaps"]) == 1 and r["gaps"][0][1] == pytest.approx(1.5)
    assert "gap(s)" in res.output


@pytest.mark.parametrize("content", [b"", b"\xff\xfe random \x00 bytes" * 50,
                                     b"GYROFLOW IMU LOG\nversion,1\nt,gx,gy,gz\n0,1,2,3\n1,1"])
def test_bad_input_exits_2_with_one_line_and_no_output(tmp_path, content):
    f = tmp_path / "bad.gcsv"
    f.write_bytes(content)
    out = tmp_path / "out.json"
    res = _run("inspect", f, "--json", out)
    assert res.exit_code == 2
    assert res.output.startswith("Error: ") and res.output.count("\n") == 1
    assert "Traceback" not in res.output
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.gcsv"]


def test_missing_file_and_output_equal_to_input(samples_dir, tmp_path):
    res = _run("inspect", tmp_path / "nope.mp4")
    assert res.exit_code == 2 and "not found" in res.output
    f = tmp_path / "x.gcsv"
    write_gcsv(f, synthesize_gyro(camera_path("static", 0.2, seed=1), rate_hz=100.0, seed=2))
    before = f.read_bytes()
    res = _run("inspect", f, "--json", f)
    assert res.exit_code == 2 and "same as an input" in res.output
    assert f.read_bytes() == before
