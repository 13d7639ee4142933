"""Lazy package exports (PEP 562): a package names its public objects without importing them.

A command that needs one light module (``sensors.errors``) then does not pay for OpenCV, PyAV or
numba at start-up, which `steadyrig stabilize` spends loading numba in the background instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, where: dict[str, str]
                 ) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package`` whose name ``n`` lives in
    ``where[n]``: the one table of a package's public names.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : dict
        Exported name -> submodule (relative, without the dot).
    """
    import sys

    def __getattr__(name: str) -> object:
        if name in where:
            value = getattr(importlib.import_module(f".{where[name]}", package), name)
            setattr(sys.modules[package], name, value)  # later lookups skip this hook
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__, sorted(where)
