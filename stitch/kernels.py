"""The stitcher's numba kernel, loaded from its ahead-of-time build when current.

The panorama -> camera lookups (``stitch._projection_kernels``) run on every projection. As a
cached ``@njit`` kernel its first call costs importing numba and loading LLVM, about 1.5 s of a
stitch that takes a few; built ahead of time (``sensors.aot``; `make` builds it, as does
``python -m stitch.kernels --build``) it loads in milliseconds and numba is never imported.
Without a build (no C compiler, or a stale one) the JIT kernel serves, with the same results.
"""

from __future__ import annotations

from sensors.aot import AotModule, Export, kernel

__all__ = ["STITCH", "projection_kernel", "projection_grid_kernel"]

#: The stitcher's kernels (types as ``stitch.projection.source_pixels`` calls them).
STITCH = AotModule("stitch._aot_stitch", (
    Export("pano_to_camera", "stitch._projection_kernels", "_pano_to_camera",
           "void(f8[::1], f8[::1], i8, f8[:, ::1], f8[:, ::1], f8[::1], b1, f8, f8, b1, f8, f8, "
           "f8[::1], f8, f4[::1], f4[::1], b1[::1])"),
    Export("pano_grid_to_camera", "stitch._projection_kernels", "_pano_grid_to_camera",
           "void(f8[::1], f8[::1], i8, f8[:, ::1], f8[:, ::1], f8[::1], b1, f8, f8, b1, f8, f8, "
           "f8[::1], f8, f4[:, ::1], f4[:, ::1], b1[:, ::1])"),
))


def projection_kernel():
    """``_pano_to_camera``: the AOT build when current, else the numba kernel."""
    return kernel(STITCH, "pano_to_camera")


def projection_grid_kernel():
    """``_pano_grid_to_camera``: the AOT build when current, else the numba kernel."""
    return kernel(STITCH, "pano_grid_to_camera")


def main(argv: list[str] | None = None) -> int:
    """``python -m stitch.kernels [--build]``: build the AOT module, print its status."""
    import argparse

    from sensors.aot import _forget, build, status

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--build", action="store_true", help="compile the module (C compiler)")
    args = ap.parse_args(argv)
    failed = False
    if args.build:
        try:
            print(f"built {build(STITCH)}")
        except Exception as exc:  # noqa: BLE001 - reported, the JIT kernel remains
            print(f"{STITCH.name}: build failed: {exc}")
            failed = True
    _forget()
    print(f"{STITCH.name}: {status(STITCH)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
