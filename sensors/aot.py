"""Ahead-of-time builds of numba kernels: the same machine code, loaded without numba.

A cached ``@njit`` kernel still costs numba's own start-up on its first call: importing numba,
its typing and lowering registries, llvmlite, and a BLAS check that imports ``scipy.linalg``.
That is 0.6-0.7 s of GIL-held work on one core here (numpy already imported), and on a 5 s clip
it held `steadyrig stabilize` ~0.55 s longer before its first frame was encoded. ``build``
compiles the kernel functions themselves with ``numba.pycc`` into a small extension module
beside their package; ``load`` imports it (no numba, no LLVM), and only when it was built from
the kernels' current source for this Python and numpy. Otherwise the callers fall back to the
JIT kernels: a missing, stale or unbuildable module costs start-up time, never correctness.

The module is built for the generic CPU of the architecture (no AVX or FMA), so a virtual
environment copied to an older machine still runs it; the JIT kernels use the host CPU, so the
two may differ in the last bits (FMA contraction in ``fastmath`` kernels): the parity tests
hold them together and to the numpy references. ``STEADYRIG_AOT=0`` turns the modules off;
``STEADYRIG_AOT_DIR`` names a folder to build them in and load them from (for an install
whose package folder is read-only).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import os
import platform
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

__all__ = ["Export", "AotModule", "SENSORS", "digest", "build", "load", "kernel", "status"]


@dataclass(frozen=True)
class Export:
    """One kernel of an AOT module: ``module.function`` compiled for one numba signature."""

    name: str  #: name in the built module
    module: str  #: dotted module holding the ``@njit`` kernel
    function: str  #: the kernel's name there
    signature: str  #: numba signature, e.g. ``"void(f8[:, ::1], f8[::1])"``


@dataclass(frozen=True)
class AotModule:
    """An extension module of kernels, named ``name`` (dotted; built in its package folder)."""

    name: str
    exports: tuple[Export, ...]

    @property
    def basename(self) -> str:
        return self.name.rpartition(".")[2]


#: The sensors layer's kernels (the stabilizer's are in ``stabilize.warmup``).
SENSORS = AotModule("sensors._aot_sensors", (
    Export("integrate_gyro", "sensors._kernels", "_integrate_gyro",
           "f8[:, ::1](f8[::1], f8[:, ::1], f8[::1])"),
))

_lock = threading.Lock()
_loaded: dict[str, ModuleType | None] = {}
_why: dict[str, str] = {}
# resolved callables, so a per-band call in the warp is one dict lookup (no lock, no import)
_callables: dict[tuple[str, str], object] = {}


def _source_file(module: str) -> Path:
    spec = importlib.util.find_spec(module)  # imports the parent package only
    if spec is None or spec.origin is None:
        raise ImportError(f"no source for {module}")
    return Path(spec.origin)


def digest(spec: AotModule) -> int:
    """The stamp a built module must carry to be loaded.

    Parameters
    ----------
    spec : AotModule

    Returns
    -------
    int
        60 bits of sha256 over the export table, the Python cache tag, the machine, numpy's
        major version and the source of every module the kernels come from.
    """
    import numpy as np

    h = hashlib.sha256(repr((spec, sys.implementation.cache_tag, platform.machine(),
                             np.__version__.split(".")[0])).encode())
    for module in sorted({e.module for e in spec.exports}):
        h.update(_source_file(module).read_bytes())
    return int(h.hexdigest()[:15], 16)


def _directory(spec: AotModule) -> Path:
    env = os.environ.get("STEADYRIG_AOT_DIR")
    if env:
        return Path(env)
    return _source_file(spec.name.rpartition(".")[0]).parent


def _filename(spec: AotModule) -> str:
    return spec.basename + importlib.machinery.EXTENSION_SUFFIXES[0]


def build(spec: AotModule, directory: str | os.PathLike | None = None) -> Path:
    """Compile ``spec``'s kernels with ``numba.pycc`` into one extension module.

    Written under a temporary name and renamed, so a reader never sees half a module.

    Parameters
    ----------
    spec : AotModule
    directory : path-like, optional
        Where to write it; default ``$STEADYRIG_AOT_DIR``, else the spec's package folder.

    Returns
    -------
    Path
        The module file.

    Raises
    ------
    Exception
        Whatever numba or the C toolchain raise (no compiler, pycc removed): the JIT kernels
        remain in use.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's pending-deprecation notice
        from numba.pycc import CC

    folder = Path(directory) if directory is not None else _directory(spec)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / _filename(spec)
    tmp = folder / f".{final.name}.{os.getpid()}.tmp"
    cc = CC(spec.basename, source_module=sys.modules[__name__])
    cc.output_dir = str(folder)
    cc.output_file = tmp.name
    cc.target_cpu = ""  # the architecture's baseline: the module runs on any machine of it
    for e in spec.exports:
        kernel = getattr(importlib.import_module(e.module), e.function)
        cc.export(e.name, e.signature)(kernel.py_func)
    stamp = digest(spec)
    cc.export("digest", "i8()")(_constant(stamp))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cc.compile()
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    with _lock:
        _loaded.pop(spec.name, None)
        for key in [k for k in _callables if k[0] == spec.name]:
            del _callables[key]
    return final


def _constant(value: int):
    def digest_value():
        return value

    return digest_value


def load(spec: AotModule) -> ModuleType | None:
    """The built module of ``spec`` if it is current, else None (``status`` says why).

    Looked up once per process (``$STEADYRIG_AOT_DIR`` or the package folder); never raises.
    """
    with _lock:
        if spec.name in _loaded:
            return _loaded[spec.name]
        mod = None
        if os.environ.get("STEADYRIG_AOT", "1") == "0":
            _why[spec.name] = "turned off (STEADYRIG_AOT=0)"
        else:
            try:
                mod = _import(spec)
            except Exception as exc:  # noqa: BLE001 - any failure means: use the JIT kernels
                _why[spec.name] = f"not loaded: {exc}"
        _loaded[spec.name] = mod
        return mod


def _import(spec: AotModule) -> ModuleType | None:
    path = _directory(spec) / _filename(spec)
    if not path.is_file():
        _why[spec.name] = f"not built ({path} missing)"
        return None
    mod_spec = importlib.util.spec_from_file_location(spec.name, path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    if mod.digest() != digest(spec):
        _why[spec.name] = f"stale ({path} was built from other kernel source)"
        return None
    _why[spec.name] = f"loaded from {path}"
    return mod


def status(spec: AotModule) -> str:
    """Why ``load(spec)`` gave what it gave (loaded from ..., not built, stale, turned off)."""
    load(spec)
    return _why[spec.name]


def kernel(spec: AotModule, name: str):
    """The callable of export ``name``: the AOT build when current, else the ``@njit`` kernel
    (importing numba)."""
    fn = _callables.get((spec.name, name))
    if fn is None:
        mod = load(spec)
        if mod is not None:
            fn = getattr(mod, name)
        else:
            e = next(e for e in spec.exports if e.name == name)
            fn = getattr(importlib.import_module(e.module), e.function)
        _callables[(spec.name, name)] = fn
    return fn


def _forget() -> None:
    """Drop the cached load results (tests)."""
    with _lock:
        _loaded.clear()
        _why.clear()
        _callables.clear()
