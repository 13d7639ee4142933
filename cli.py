"""The ``steadyrig`` command line: parses, calls the library, reports.

Every command turns the library's own errors into one line ``Error: ...`` and exit code 2, with
no traceback (DESIGN.md "Bad input").
"""

from __future__ import annotations

import sys

import click

from sensors.errors import SteadyrigError


class _Group(click.Group):
    """A click group that reports expected failures as one line and exit code 2."""

    def invoke(self, ctx: click.Context):
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
        except KeyboardInterrupt:
            click.echo("Interrupted; no partial output was left behind.", err=True)
            sys.exit(130)


@click.group(cls=_Group)
@click.version_option(package_name="steadyrig")
def main() -> None:
    """steadyrig: gyro-fused video stabilization and rosette panorama seam repair."""


def progress(iterable=None, length=None, label=""):
    """A progress bar on stderr (silent when stderr is not a terminal and CI is set)."""
    return click.progressbar(iterable, length=length, label=label, file=sys.stderr)


# --- inspect / samples (sensors) ---


# --- sync ---


# --- stabilize ---


# --- stitch ---


# --- batch ---


# --- demo ---


if __name__ == "__main__":
    main()
