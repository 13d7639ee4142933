"""The project's exception types.

Every reader and command validates first and raises one of these with a single line that names
the file and the problem (docs/architecture.md, "Bad input"); the CLI prints it as
``Error: ...`` and exits 2.
"""

from __future__ import annotations

__all__ = ["SteadyrigError", "InputError", "CoverageError", "SolveError"]


class SteadyrigError(Exception):
    """Base class of every error the library raises on purpose."""


class InputError(SteadyrigError, ValueError):
    """An input file or value is missing, malformed or inconsistent.

    Parameters
    ----------
    message : str
        What was expected and what arrived.
    path : str, optional
        The file concerned; prefixed to the message so the one line names it.
    """

    def __init__(self, message: str, path: str | None = None):
        self.path = None if path is None else str(path)
        self.reason = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class CoverageError(InputError):
    """A sensor log does not cover (enough of) the video it is meant for."""


class SolveError(SteadyrigError, RuntimeError):
    """An estimation (sync, warp solve, ...) failed or is too uncertain to trust."""
