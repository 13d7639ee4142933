"""Scripting conventions of every command: -y/--overwrite, -q, -v (each message once),
--progress json, --json -, and stabilize presets (--preset, --save-preset)."""

import json

import pytest
from click.testing import CliRunner

import cli
from cli import main
from cli_commands.stabilize import _stabilize_params
from sensors.synthetic import generate_clip
from stabilize.params import StabilizeParams
from stabilize.presets import load_preset

STABILIZE = cli.main.commands["stabilize"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return generate_clip(tmp_path_factory.mktemp("clip"), kind="walk", width=160, height=90,
                         duration_s=1.0, seed=5)


def _params(args):
    return _stabilize_params(STABILIZE.make_context("stabilize", ["clip.mp4", *args]))


def test_an_existing_output_is_an_error_without_overwrite(clip, tmp_path):
    out = tmp_path / "report.json"
    out.write_text("{}")
    res = CliRunner().invoke(main, ["inspect", str(clip.gcsv), "--json", str(out)])
    assert res.exit_code == 2
    assert res.stderr.strip() == f"Error: {out}: output exists; pass -y/--overwrite to replace it"
    assert out.read_text() == "{}"
    res = CliRunner().invoke(main, ["inspect", str(clip.gcsv), "--json", str(out), "-y"])
    assert res.exit_code == 0 and json.loads(out.read_text())


def test_json_to_standard_output_is_the_only_thing_there(clip):
    res = CliRunner().invoke(main, ["inspect", str(clip.gcsv), "--json", "-"])
    assert res.exit_code == 0
    assert isinstance(json.loads(res.stdout), dict)  # the human report went to stderr
    assert res.stderr.strip()


def test_stabilize_progress_json_quiet_and_verbose(clip, tmp_path):
    out = tmp_path / "a.mp4"
    args = ["stabilize", str(clip.video), "--offset-ms", "0", "-o", str(out)]
    res = CliRunner().invoke(main, [*args, "--progress", "json"])
    assert res.exit_code == 0, res.output
    records = [json.loads(ln) for ln in res.stderr.splitlines() if ln.startswith("{")]
    assert [r["done"] for r in records] == list(range(1, 31))
    assert {r["stage"] for r in records} == {"stabilize"} and records[-1]["fraction"] == 1.0

    res = CliRunner().invoke(main, [*args, "-q"])
    assert res.exit_code == 2 and "output exists" in res.stderr  # the first run wrote it

    res = CliRunner().invoke(main, [*args, "-q", "-y"])
    assert res.exit_code == 0 and res.stdout == "" and res.stderr == ""

    res = CliRunner().invoke(main, [*args, "-y", "-v", "--progress", "none"])
    assert res.exit_code == 0
    found = "lens profile gcsv.lens.json found beside the video".replace("gcsv", clip.name)
    assert res.output.count(found) == 1  # logged as it happened, not repeated as a note
    res = CliRunner().invoke(main, [*args, "-y", "--progress", "none"])
    assert res.output.count(found) == 1  # reported once without -v too


def test_a_preset_gives_parameters_and_given_options_override_it(tmp_path):
    preset = tmp_path / "calm.json"
    preset.write_text(json.dumps({"window_s": 1.3, "crf": 22, "filters": ["gaussian"],
                                  "encoder_preset": "fast"}))
    p = _params(["--preset", str(preset), "--crf", "20"])
    assert (p.window_s, p.crf, p.filters, p.preset) == (1.3, 20, ("gaussian",), "fast")
    p = _params(["--preset", str(preset), "--smoothing", "fixed"])
    assert p.filters == _params(["--smoothing", "fixed"]).filters and p.window_s == 1.3


def test_save_preset_round_trips(tmp_path):
    path = tmp_path / "mine.json"
    res = CliRunner().invoke(main, ["stabilize", "missing.mp4", "--window-s", "0.9",
                                    "--encoder-preset", "slow", "--horizon-lock",
                                    "--save-preset", str(path)])
    assert res.exit_code == 2 and "missing.mp4" in res.stderr  # the preset came first
    saved = load_preset(path)
    assert saved["encoder_preset"] == "slow" and "preset" not in saved
    p = _params(["--preset", str(path)])
    assert p == _params(["--window-s", "0.9", "--encoder-preset", "slow", "--horizon-lock"])
    assert isinstance(p, StabilizeParams)


def test_a_preset_with_an_unknown_parameter_is_one_error_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"window_s": 1.0, "smoothnes": 2}))
    res = CliRunner().invoke(main, ["stabilize", "clip.mp4", "--preset", str(bad)])
    assert res.exit_code == 2
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith(f"Error: {bad}: unknown key 'smoothnes'; valid keys: filters, ")
    assert "Traceback" not in res.output


def test_the_x264_preset_option_is_now_encoder_preset():
    assert _params(["--encoder-preset", "veryfast"]).preset == "veryfast"
    res = CliRunner().invoke(main, ["stabilize", "clip.mp4", "--encoder-preset", "medum"])
    assert res.exit_code == 2 and "unknown h264 preset 'medum'" in res.stderr
