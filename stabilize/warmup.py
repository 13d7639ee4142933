"""Load the numba kernels on a background thread while the caller reads its inputs.

Importing numba and loading the first cached kernel costs about half a second of one core (its
typing registries, LLVM, and a BLAS check that imports scipy.linalg). ``stabilize_video`` needs
the kernels only after it has probed the video, read the log and imported OpenCV and PyAV, so
``warm_up_kernels`` starts that loading first and lets the two overlap: much of it is file I/O and
llvmlite calls that release the GIL. The kernels and their results are the same either way; a
kernel called before the thread is done waits for it (import and compiler locks), and a failure
here is left for the caller's own call to report.
"""

from __future__ import annotations

import threading

__all__ = ["warm_up_kernels", "warmup_calls"]

_lock = threading.Lock()
_thread: threading.Thread | None = None


def warm_up_kernels() -> threading.Thread:
    """Start loading the stabilizer's numba kernels (once per process); returns the thread."""
    global _thread
    with _lock:
        if _thread is None:
            # numpy first, in the caller's thread: both threads import it otherwise
            import numpy  # noqa: F401

            _thread = threading.Thread(target=_load, name="steadyrig-kernel-warmup", daemon=True)
            _thread.start()
    return _thread


def warmup_calls() -> list[tuple[object, tuple]]:
    """The kernels and the tiny arguments the warm-up calls them with (the pipeline's types)."""
    import numpy as np

    from sensors._kernels import _integrate_gyro

    from ._kernels import _densify, _map_vertices

    m = np.empty((1, 2), np.float32)
    return [
        (_integrate_gyro, (np.zeros(2), np.zeros((2, 3)), np.array([0.0, 0.0, 0.0, 1.0]))),
        (_map_vertices, (np.array([[0.0, 0.0, 1.0]]), np.array([0.0, 1.0]),
                         np.tile([0.0, 0.0, 0.0, 1.0], (2, 1)), np.tile(np.eye(3), (2, 1, 1)),
                         np.zeros(8), False, 1, np.empty((1, 2)))),
        (_densify, (np.zeros((2, 2, 2), np.float32), np.array([0, 2], np.int64),
                    np.zeros(2, np.float32), np.zeros(1, np.intp), np.zeros(1, np.float32),
                    np.float32(1.0), np.float32(0.0), np.float32(1.0), np.float32(0.0), m,
                    np.empty_like(m))),
    ]


def _load() -> None:
    try:
        for kernel, args in warmup_calls():
            kernel(*args)
    except Exception:  # noqa: BLE001 - reported by the caller's own first call
        pass
