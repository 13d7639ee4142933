"""The ``steadyrig`` command line: parses, calls the library, reports.

Every command turns the library's own errors into one line ``Error: ...`` and exit code 2, with
no traceback (docs/architecture.md "Bad input"), and a stop signal into one line and exit code
128 + the signal (``sensors.interrupt``). The commands live in ``cli_commands`` (one module per
job, with the scripting conventions they share in ``cli_commands._common``).
"""

from __future__ import annotations

import gc
import os
import sys

if sys.argv[1:2] == ["stabilize"]:
    # The stabilizer makes no BLAS calls worth a thread, and OpenBLAS's idle workers (one per
    # extra core, for numpy's and for scipy's copy) spin for a while after loading, on the cores
    # the numba warm-up, the decoder and x264 need. Set before numpy loads; a user's choice wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click  # noqa: E402

from cli_commands import COMMANDS  # noqa: E402
from cli_commands._common import _Command  # noqa: E402
from sensors.errors import SteadyrigError  # noqa: E402
from sensors.interrupt import describe, exit_code, handle_signals  # noqa: E402


class _Group(click.Group):
    """A click group that reports expected failures as one line and exit code 2."""

    def invoke(self, ctx: click.Context):
        with handle_signals():  # SIGTERM and SIGHUP stop a command as Ctrl-C does
            return self._invoke_reporting(ctx)

    def _invoke_reporting(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SteadyrigError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            name = getattr(exc, "filename", None) or ""
            click.echo(f"Error: {name}: {exc.strerror or exc}", err=True)
            sys.exit(2)
        except OSError as exc:
            if getattr(exc, "errno", None) == 28:  # ENOSPC: outputs were written atomically
                click.echo("Error: no space left on device; nothing was written", err=True)
                sys.exit(2)
            raise
        except KeyboardInterrupt as exc:  # Ctrl-C, or a stop signal (sensors.interrupt)
            click.echo(describe(exc), err=True)
            sys.exit(exit_code(exc))
        finally:
            # The interpreter's last collection walks every object numba, scipy and OpenCV
            # created (0.3 s after a transcode here); the process ends now, so skip it.
            # Outputs are closed and renamed by then, and atexit handlers still run.
            gc.freeze()


_Group.command_class = _Command


@click.group(cls=_Group)
@click.version_option(package_name="steadyrig")
def main() -> None:
    """steadyrig: gyro-fused video stabilization and rosette panorama seam repair."""


for _cmd in COMMANDS:
    main.add_command(_cmd)


if __name__ == "__main__":
    main()
