"""The command line builds its filter chain, choices and defaults from the library's own."""

import json
import subprocess
import sys
from dataclasses import fields

import click
import pytest
from click.testing import CliRunner

import cli
from cli_commands.stabilize import _stabilize_params
from sensors.readers import FORMATS
from sensors.types import LENS_MODELS, CameraModel
from stabilize.filters import FILTERS, Filter, chain_choices, compose_chain, register_filter
from stabilize.params import (
    BIT_DEPTHS,
    CODECS,
    DEFAULT_SMOOTHING,
    INTERPOLATIONS,
    ZOOM_MODES,
    StabilizeParams,
)
from stitch.params import EXPOSURE_CHOICES, StitchParams

STABILIZE = cli.main.commands["stabilize"]
STITCH = cli.main.commands["stitch"]


def _cli_params(args: list[str]) -> StabilizeParams:
    """What the stabilize command would run with: its own parsing and params building."""
    ctx = STABILIZE.make_context("stabilize", ["clip.mp4", *args])
    return _stabilize_params(ctx)


def _option(command: click.Command, name: str) -> click.Option:
    return next(p for p in command.params if p.name == name)


def _combinations():
    names = chain_choices()
    extras = [()] + [(n,) for n in names] + [("fixed", "bad_region")]
    for smoothing in names:
        for extra in extras:
            for horizon in (False, True):
                for blur in (False, True):
                    yield smoothing, extra, horizon, blur


def test_the_chain_the_cli_passes_is_compose_chain_for_every_option_combination():
    n = 0
    for smoothing, extra, horizon, blur in _combinations():
        args = ["--smoothing", smoothing]
        for e in extra:
            args += ["--filter", e]
        args += ["--horizon-lock"] * horizon + ["--blur-mask"] * blur
        want = compose_chain(smoothing, extra, horizon_lock=horizon, blur_mask=blur)
        assert _cli_params(args).filters == want, args
        n += 1
    assert n == len(chain_choices()) * (len(chain_choices()) + 2) * 4


def test_without_chain_options_the_cli_runs_the_default_smoothing_chain():
    assert _cli_params([]).filters == compose_chain() == (DEFAULT_SMOOTHING, "bad_region")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from sensors.synthetic import generate_clip

    return generate_clip(tmp_path_factory.mktemp("chain"), kind="walk", seed=5, width=160,
                         height=90, duration_s=2.0, readout_s=0.02, audio=False)


@pytest.mark.parametrize("args, chain", [
    ([], ("intent", "bad_region")),
    (["--smoothing", "none", "--blur-mask"], ("none", "blur")),
    (["--smoothing", "gaussian", "--filter", "fixed", "--horizon-lock"],
     ("gaussian", "fixed", "horizon", "bad_region")),
])
def test_a_stabilize_run_records_the_composed_chain_in_its_sidecar(clip, tmp_path, args, chain):
    side = tmp_path / "run.json"
    r = CliRunner().invoke(cli.main, ["stabilize", str(clip.video), "--offset-ms", "0",
                                      "-o", str(tmp_path / "run.mp4"), "--sidecar", str(side),
                                      *args])
    assert r.exit_code == 0, r.output
    assert tuple(json.loads(side.read_text())["params"]["filters"]) == chain


@pytest.mark.parametrize("command, name, library", [
    ("stabilize", "smoothing", lambda: chain_choices()),
    ("stabilize", "extra_filters", lambda: chain_choices()),
    ("stabilize", "zoom_mode", lambda: ZOOM_MODES),
    ("stabilize", "interpolation", lambda: INTERPOLATIONS),
    ("stabilize", "codec", lambda: CODECS),
    ("stabilize", "bit_depth", lambda: BIT_DEPTHS),
    ("stitch", "exposure", lambda: EXPOSURE_CHOICES),
    ("inspect", "fmt", lambda: tuple(FORMATS)),
    ("samples", "lens", lambda: LENS_MODELS),
])
def test_every_choice_is_the_library_registry_and_every_entry_is_in_help(command, name, library):
    cmd = cli.main.commands[command]
    assert tuple(_option(cmd, name).type.choices) == tuple(library())
    text = CliRunner().invoke(cli.main, [command, "--help"], terminal_width=200).output
    assert "[" + "|".join(library()) + "]" in text
    assert set(chain_choices()) == set(FILTERS) - {"zoom"}


def test_a_filter_registered_at_run_time_is_offered_and_accepted():
    @register_filter("keep_path_for_test")
    class KeepPath(Filter):
        def apply(self, ctx):
            return ctx

    try:
        text = CliRunner().invoke(cli.main, ["stabilize", "--help"]).output
        assert "keep_path_for_test" in text
        assert _cli_params(["--filter", "keep_path_for_test"]).filters == (
            "intent", "keep_path_for_test", "bad_region")
    finally:
        del FILTERS["keep_path_for_test"]
    assert "keep_path_for_test" not in CliRunner().invoke(cli.main, ["stabilize", "--help"]).output


def test_a_filter_module_imported_before_the_cli_appears_in_its_help(tmp_path):
    (tmp_path / "extra_entry.py").write_text(
        "from stabilize.filters import Filter, register_filter\n\n"
        "@register_filter('extra_entry')\n"
        "class Extra(Filter):\n"
        "    def apply(self, ctx):\n"
        "        return ctx\n")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import extra_entry, cli; "
            "cli.main(['stabilize', '--help'])")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True, check=True).stdout
    assert "extra_entry" in out and "[bad_region|blur|extra_entry|" in " ".join(out.split())


# option name -> params dataclass field, for every option that shows a default
STABILIZE_DEFAULTS = {"window_s": "window_s", "strength": "strength", "zoom_mode": "zoom",
                      "max_zoom": "max_zoom", "interpolation": "interpolation", "codec": "codec",
                      "crf": "crf", "encoder_preset": "preset", "bit_depth": "bit_depth",
                      "lens_correction": "lens_correction", "fov_scale": "fov_scale"}
STITCH_DEFAULTS = {"width_px": "width_px", "exposure": "exposure", "bands": "blend_bands",
                   "refine_mode": "refine_mode"}


@pytest.mark.parametrize("command, params_class, mapping, own", [
    (STABILIZE, StabilizeParams, STABILIZE_DEFAULTS, {"smoothing": DEFAULT_SMOOTHING,
                                                      "segments": 1, "projection": "auto"}),
    (STITCH, StitchParams, STITCH_DEFAULTS, {}),
])
def test_every_default_shown_is_the_library_default(command, params_class, mapping, own):
    library = {f.name: f.default for f in fields(params_class)}
    expected = {opt: library[field] for opt, field in mapping.items()} | own
    shown = {p.name for p in command.params if isinstance(p, click.Option) and p.show_default}
    assert shown == set(expected)
    ctx = click.Context(command)
    for name, value in expected.items():
        opt = _option(command, name)
        assert opt.default == value, name
        shown_help = " ".join(opt.get_help_record(ctx)[1].split())
        assert f"[default: {value}]" in shown_help or f"[default: {value};" in shown_help, name


def test_the_samples_lens_default_is_the_camera_model_default():
    lens = _option(cli.main.commands["samples"], "lens")
    assert lens.default == {f.name: f.default for f in fields(CameraModel)}["model"]
