"""The numba kernels load in the background: light imports, and the warm-up loads exactly the
machine code the pipeline then calls (a mismatch would load or compile a second time)."""

import subprocess
import sys

import pytest

import sensors._kernels
import stabilize._kernels
from sensors.synthetic import generate_clip
from stabilize.pipeline import stabilize_video
from stabilize.warmup import warm_up_kernels, warmup_calls

_KERNELS = [(sensors._kernels, "_integrate_gyro"), (stabilize._kernels, "_map_vertices"),
            (stabilize._kernels, "_densify")]


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
    assert _loaded_by("sensors.sync", ("scipy.signal", "scipy.stats")) == []


def test_the_lazy_package_exports_resolve_to_their_modules():
    import stabilize
    from stabilize.pipeline import stabilize_video as direct

    assert stabilize.stabilize_video is direct
    with pytest.raises(AttributeError):
        stabilize.no_such_name  # noqa: B018


def test_warm_up_loads_the_signatures_the_pipeline_calls(tmp_path, monkeypatch):
    warm_up_kernels().join(timeout=120)
    warmed = {name: {tuple(kernel.typeof_pyval(a) for a in args)}
              for (kernel, args), (_, name) in zip(warmup_calls(), _KERNELS, strict=True)}

    seen: dict[str, set] = {name: set() for _, name in _KERNELS}
    for module, name in _KERNELS:
        kernel = getattr(module, name)

        def record(*args, _kernel=kernel, _name=name):
            seen[_name].add(tuple(_kernel.typeof_pyval(a) for a in args))
            return _kernel(*args)

        monkeypatch.setattr(module, name, record)
    clip = generate_clip(tmp_path, kind="walk", seed=4, width=160, height=96, duration_s=0.5,
                         readout_s=0.02, audio=False)
    stabilize_video(clip.video, tmp_path / "out.mp4", lens=clip.lens, offset_ms=0.0)
    assert all(seen.values())
    assert seen == warmed
