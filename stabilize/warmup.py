"""The stabilizer's kernels: ahead-of-time builds when current, else numba loaded in the
background.

``steadyrig stabilize`` calls three numba kernels: gyro integration (``sensors._kernels``),
vertex mapping and map densification (``stabilize._kernels``); equirectangular clips call the
sphere warp's instead of the last two (``stabilize._sphere_kernels``). When their ahead-of-time
modules are built and current (``sensors.aot``; `make` builds them, as does ``python -m
stabilize.warmup --build``) they load in milliseconds and numba is never imported. Otherwise
importing numba and loading the first cached kernel costs about 0.6 s of one core, and
``warm_up_kernels`` starts that loading first so it overlaps the caller's probing of the video,
reading of the log and import of OpenCV and PyAV. A kernel called before the thread is done
waits for it (import and compiler locks), and a failure here is left for the caller's own call
to report.
"""

from __future__ import annotations

import threading

from sensors.aot import SENSORS, AotModule, Export, kernel

__all__ = ["STABILIZE", "SPHERE", "SPECS", "stabilizer_kernel", "sphere_kernel",
           "warm_up_kernels", "warmup_calls"]

#: The stabilizer's own kernels (types as ``synthesis`` calls them).
STABILIZE = AotModule("stabilize._aot_stabilize", (
    Export("map_vertices", "stabilize._kernels", "_map_vertices",
           "void(f8[:, ::1], f8[::1], f8[:, ::1], f8[:, :, ::1], f8[::1], b1, i8, f8[:, ::1])"),
    Export("densify", "stabilize._kernels", "_densify",
           "void(f4[:, :, ::1], i8[::1], f4[::1], i8[::1], f4[::1], f4, f4, f4, f4, "
           "f4[:, ::1], f4[:, ::1])"),
))
#: The sphere warp's kernels (equirectangular clips; types as ``sphere_warp`` calls them).
SPHERE = AotModule("stabilize._aot_sphere", (
    Export("sphere_vertices", "stabilize._sphere_kernels", "_sphere_vertices",
           "void(f8[::1], f8[::1], f8[:, :, ::1], f8, f8, i8, f8[:, :, ::1])"),
    Export("sphere_refine", "stabilize._sphere_kernels", "_sphere_refine",
           "void(b1[:, ::1], f8[:, :, :, ::1], i8, f8[::1], f8[::1], f8[:, :, ::1], f8, f8, i8, "
           "f8[:, :, ::1])"),
    Export("sphere_cells", "stabilize._sphere_kernels", "_sphere_cells",
           "void(f8[:, :, ::1], f8[::1], f8[::1], f8[:, :, ::1], f8, f8, i8, f8, b1[:, ::1], "
           "f8[:, :, :, ::1], b1[:, ::1])"),
    Export("sphere_maps", "stabilize._sphere_kernels", "_sphere_maps",
           "void(f8[:, :, :, ::1], b1[:, ::1], f8[:, :, :, ::1], b1[:, ::1], i8[::1], f8[::1], "
           "i8[::1], f8[::1], i8[::1], f8[::1], i8[::1], f8[::1], f8[:, ::1], f8[:, ::1], "
           "f8[:, :, ::1], f8, f8, i8, f8, f8, f8, f4[:, ::1], f4[:, ::1])"),
))
#: Every AOT module `steadyrig stabilize` uses.
SPECS = (SENSORS, STABILIZE, SPHERE)

_lock = threading.Lock()
_thread: threading.Thread | None = None


def stabilizer_kernel(name: str):
    """Export ``name`` of ``STABILIZE``: the AOT build when current, else the numba kernel."""
    return kernel(STABILIZE, name)


def sphere_kernel(name: str):
    """Export ``name`` of ``SPHERE``: the AOT build when current, else the numba kernel."""
    return kernel(SPHERE, name)


def warm_up_kernels() -> threading.Thread:
    """Start loading the stabilizer's kernels (once per process); returns the thread."""
    global _thread
    with _lock:
        if _thread is None:
            # numpy first, in the caller's thread: both threads import it otherwise
            import numpy  # noqa: F401

            _thread = threading.Thread(target=_load, name="steadyrig-kernel-warmup", daemon=True)
            _thread.start()
    return _thread


def warmup_calls() -> list[tuple[AotModule, str, tuple]]:
    """(module, export, tiny arguments) of each kernel, in the types the pipeline calls with."""
    import numpy as np

    m = np.empty((1, 2), np.float32)
    rot = np.tile(np.eye(3), (2, 1, 1))
    return [
        (SENSORS, "integrate_gyro",
         (np.zeros(2), np.zeros((2, 3)), np.array([0.0, 0.0, 0.0, 1.0]))),
        (STABILIZE, "map_vertices",
         (np.array([[0.0, 0.0, 1.0]]), np.array([0.0, 1.0]), np.tile([0.0, 0.0, 0.0, 1.0], (2, 1)),
          np.tile(np.eye(3), (2, 1, 1)), np.zeros(8), False, 1, np.empty((1, 2)))),
        (STABILIZE, "densify",
         (np.zeros((2, 2, 2), np.float32), np.array([0, 2], np.int64), np.zeros(2, np.float32),
          np.zeros(1, np.intp), np.zeros(1, np.float32), np.float32(1.0), np.float32(0.0),
          np.float32(1.0), np.float32(0.0), m, np.empty_like(m))),
        (SPHERE, "sphere_vertices",
         (np.zeros(2), np.zeros(2), rot, 2.0, 2.0, 1, np.empty((2, 2, 2)))),
        (SPHERE, "sphere_refine",
         (np.zeros((1, 1), np.bool_), np.zeros((1, 1, 4, 2)), 1, np.array([0.0, 2.0]),
          np.array([0.0, 2.0]), rot, 2.0, 2.0, 1, np.zeros((2, 2, 2)))),
        (SPHERE, "sphere_cells",
         (np.zeros((2, 2, 2)), np.array([0.0, 2.0]), np.array([0.0, 2.0]), rot, 2.0, 2.0, 1,
          0.01, np.ones((1, 1), np.bool_), np.empty((1, 1, 4, 2)), np.empty((1, 1), np.bool_))),
        (SPHERE, "sphere_maps",
         (np.zeros((1, 1, 4, 2)), np.zeros((1, 1), np.bool_), np.zeros((1, 1, 4, 2)),
          np.zeros((1, 1), np.bool_), np.zeros(1, np.int64), np.zeros(1), np.zeros(1, np.int64),
          np.zeros(1), np.zeros(1, np.int64), np.zeros(1), np.zeros(1, np.int64), np.zeros(1),
          np.zeros((1, 2)), np.zeros((1, 2)), rot, 2.0, 2.0, 1, 1.0, 1.0, 0.0, m,
          np.empty_like(m))),
    ]


def _load() -> None:
    try:
        for spec, name, args in warmup_calls():
            kernel(spec, name)(*args)
    except Exception:  # noqa: BLE001 - reported by the caller's own first call
        pass


def main(argv: list[str] | None = None) -> int:
    """``python -m stabilize.warmup [--build]``: build the AOT modules, print their status."""
    import argparse

    from sensors.aot import _forget, build, status

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--build", action="store_true", help="compile the modules (C compiler)")
    args = ap.parse_args(argv)
    failed = False
    for spec in SPECS:
        if args.build:
            try:
                path = build(spec)
                print(f"built {path}")
            except Exception as exc:  # noqa: BLE001 - reported, the JIT kernels remain
                print(f"{spec.name}: build failed: {exc}")
                failed = True
    _forget()
    for spec in SPECS:
        print(f"{spec.name}: {status(spec)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
