"""Shared test fixtures: paths to the bundled samples. Ground truth comes from generators."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def aot_dir(tmp_path_factory) -> Path:
    """The stabilizer's and the stitcher's ahead-of-time kernel modules, built once per session
    (C compiler)."""
    from sensors.aot import build
    from stabilize.warmup import SPECS
    from stitch.kernels import STITCH

    folder = tmp_path_factory.mktemp("aot")
    for spec in (*SPECS, STITCH):
        build(spec, folder)
    return folder


@pytest.fixture(params=["jit", "aot"])
def kernels(request, monkeypatch) -> str:
    """Run a test once with the numba JIT kernels and once with their ahead-of-time builds."""
    from sensors.aot import _forget, status
    from stabilize.warmup import SPECS

    if request.param == "aot":
        monkeypatch.setenv("STEADYRIG_AOT_DIR", str(request.getfixturevalue("aot_dir")))
    else:
        monkeypatch.setenv("STEADYRIG_AOT", "0")
    _forget()
    loaded = [status(s).startswith("loaded") for s in SPECS]
    assert loaded == [request.param == "aot"] * len(SPECS)
    yield request.param
    _forget()
