"""Ahead-of-time kernel modules: loaded only when current, else the numba JIT kernels."""

from dataclasses import replace

import numpy as np
import pytest

from sensors.aot import SENSORS, Export, _forget, build, kernel, load, status


@pytest.fixture(autouse=True)
def _fresh_loads():
    _forget()
    yield
    _forget()


def _is_jit(fn) -> bool:
    return hasattr(fn, "py_func")  # a numba dispatcher; the built functions are builtins


def test_a_missing_module_falls_back_to_the_jit_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("STEADYRIG_AOT_DIR", str(tmp_path))
    assert load(SENSORS) is None
    assert status(SENSORS).startswith("not built")
    assert _is_jit(kernel(SENSORS, "integrate_gyro"))


def test_STEADYRIG_AOT_0_turns_a_current_module_off(aot_dir, monkeypatch):
    monkeypatch.setenv("STEADYRIG_AOT_DIR", str(aot_dir))
    assert load(SENSORS) is not None
    assert not _is_jit(kernel(SENSORS, "integrate_gyro"))
    _forget()
    monkeypatch.setenv("STEADYRIG_AOT", "0")
    assert load(SENSORS) is None
    assert status(SENSORS).startswith("turned off")


def test_a_module_built_from_other_kernels_is_not_loaded(tmp_path, monkeypatch):
    # same module name, one export more: what an edit of the kernels' source looks like to it
    other = replace(SENSORS, exports=SENSORS.exports + (
        Export("integrate_gyro_again", "sensors._kernels", "_integrate_gyro",
               "f8[:, ::1](f8[::1], f8[:, ::1], f8[::1])"),))
    path = build(other, tmp_path)
    monkeypatch.setenv("STEADYRIG_AOT_DIR", str(tmp_path))
    assert path.is_file()
    assert load(SENSORS) is None
    assert status(SENSORS).startswith("stale")
    assert _is_jit(kernel(SENSORS, "integrate_gyro"))


def test_a_build_leaves_only_the_finished_module(aot_dir):
    names = sorted(p.name for p in aot_dir.iterdir())
    assert [n.split(".")[0] for n in names] == ["_aot_sensors", "_aot_sphere", "_aot_stabilize",
                                               "_aot_stitch"]
    assert not any(n.startswith(".") for n in names)


def test_built_gyro_integration_equals_the_jit_kernel(aot_dir, monkeypatch):
    # no fastmath in this kernel: the generic-CPU build rounds as the host-CPU JIT does
    rng = np.random.default_rng(8)
    t = np.cumsum(rng.uniform(0.001, 0.006, 4000))
    w = rng.normal(scale=3.0, size=(4000, 3))
    q0 = np.array([0.1, -0.2, 0.3, 0.9]) / np.linalg.norm([0.1, -0.2, 0.3, 0.9])
    monkeypatch.setenv("STEADYRIG_AOT", "0")
    jit = kernel(SENSORS, "integrate_gyro")
    monkeypatch.delenv("STEADYRIG_AOT")
    monkeypatch.setenv("STEADYRIG_AOT_DIR", str(aot_dir))
    _forget()
    aot = kernel(SENSORS, "integrate_gyro")
    assert _is_jit(jit) and not _is_jit(aot)
    np.testing.assert_allclose(aot(t, w, q0), jit(t, w, q0), rtol=0, atol=1e-12)
