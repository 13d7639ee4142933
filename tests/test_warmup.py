"""The stabilizer's kernels load fast: light imports; with the ahead-of-time modules no numba at
all; without them, the warm-up loads exactly the JIT machine code the pipeline then calls (a
mismatch would load or compile a second time)."""

import os
import subprocess
import sys

import pytest

import sensors._kernels
import stabilize._kernels
import stabilize._sphere_kernels
from sensors.aot import _forget
from sensors.synthetic import generate_clip
from stabilize.pipeline import stabilize_video
from stabilize.warmup import warm_up_kernels, warmup_calls

_KERNELS = [(sensors._kernels, "_integrate_gyro"), (stabilize._kernels, "_map_vertices"),
            (stabilize._kernels, "_densify"), (stabilize._sphere_kernels, "_sphere_vertices"),
            (stabilize._sphere_kernels, "_sphere_cells"),
            (stabilize._sphere_kernels, "_sphere_refine"),
            (stabilize._sphere_kernels, "_sphere_maps")]


def _loaded_by(imports: str, heavy: tuple[str, ...]) -> list[str]:
    """Which of the ``heavy`` modules a fresh interpreter holds after ``import <imports>``."""
    code = f"import sys, {imports}; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    return [m for m in out.split(",") if m]


def test_the_cli_and_the_stabilize_package_import_without_numba_opencv_or_pyav():
    assert _loaded_by("cli, stabilize, stabilize.warmup, stabilize.params",
                      ("numba", "av", "cv2")) == []


def test_auto_sync_imports_no_scipy_signal():
    # scipy.signal pulls in scipy.stats: ~1 s of GIL-held imports before the sync can decode
    assert _loaded_by("sensors.sync.video, sensors.sync.logs",
                      ("scipy.signal", "scipy.stats")) == []


def test_the_lazy_package_exports_resolve_to_their_modules():
    import stabilize
    from stabilize.pipeline import stabilize_video as direct

    assert stabilize.stabilize_video is direct
    with pytest.raises(AttributeError):
        stabilize.no_such_name  # noqa: B018


def test_warm_up_loads_the_signatures_the_pipeline_calls(tmp_path, monkeypatch):
    # the JIT kernels: a signature the warm-up does not load would load or compile mid-clip
    monkeypatch.setenv("STEADYRIG_AOT", "0")
    _forget()
    monkeypatch.setattr("stabilize.warmup._thread", None)
    warm_up_kernels().join(timeout=120)
    jit = {name: getattr(module, name) for module, name in _KERNELS}
    warmed = {f"_{export}": {tuple(jit[f"_{export}"].typeof_pyval(a) for a in args)}
              for _, export, args in warmup_calls()}

    seen: dict[str, set] = {name: set() for _, name in _KERNELS}
    for module, name in _KERNELS:
        kernel = getattr(module, name)

        def record(*args, _kernel=kernel, _name=name):
            seen[_name].add(tuple(_kernel.typeof_pyval(a) for a in args))
            return _kernel(*args)

        monkeypatch.setattr(module, name, record)
    _forget()  # resolved kernels are cached: resolve again, to the recording wrappers
    clip = generate_clip(tmp_path, kind="walk", seed=4, width=160, height=96, duration_s=0.5,
                         readout_s=0.02, audio=False)
    stabilize_video(clip.video, tmp_path / "out.mp4", lens=clip.lens, offset_ms=0.0)
    clip360 = generate_clip(tmp_path, kind="walk", seed=4, width=160, height=80,
                            duration_s=0.5, readout_s=0.02, audio=False, projection="equirect",
                            name="walk360")
    stabilize_video(clip360.video, tmp_path / "out360.mp4", offset_ms=0.0)
    _forget()
    assert all(seen.values())
    assert seen == warmed


def test_with_the_ahead_of_time_modules_the_stabilizer_never_imports_numba(tmp_path, aot_dir):
    # a fresh interpreter, as the CLI runs: every kernel call of the pipeline matches a built
    # signature (a mismatch raises), and numba's ~0.6 s start-up is not paid
    clip = generate_clip(tmp_path, kind="walk", seed=4, width=160, height=96, duration_s=0.5,
                         readout_s=0.02, audio=False)
    code = ("import sys; from stabilize.pipeline import stabilize_video; "
            f"stabilize_video({str(clip.video)!r}, {str(tmp_path / 'out.mp4')!r}, "
            f"lens={str(clip.lens)!r}, offset_ms=0.0); print('numba' in sys.modules)")
    env = dict(os.environ, STEADYRIG_AOT_DIR=str(aot_dir))
    env.pop("STEADYRIG_AOT", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    assert out[-1] == "False"
    assert (tmp_path / "out.mp4").stat().st_size > 0
