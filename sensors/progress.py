"""One progress protocol and one logger family for every long job.

A long job (sync, motion analysis, a stabilize run, a render, a solve, a batch) takes an optional
``progress`` callable and calls it with a :class:`Progress` record as work completes; the CLI turns
those into a bar or into line-delimited JSON, a video tool into whatever it shows. Messages a job
also returns in its ``notes`` go to :mod:`logging` under ``steadyrig.<module>``, so a program that
imports the library sees them without reading result objects.

Examples
--------
>>> seen = []
>>> report(seen.append, "warp", 3, 10)
>>> seen[0].fraction
0.3
>>> report(None, "warp", 4, 10)  # no callback: nothing happens
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """How far one stage of a long job has come.

    Attributes
    ----------
    stage : str
        What is being done (``"sync"``, ``"motion"``, ``"stabilize"``, ``"render"``,
        ``"solve"``, ``"batch"``, ...).
    done : int
        Units finished (frames, images, jobs).
    total : int or None
        Units in all, when known.
    message : str
        Optional detail (a job's name, a file).
    """

    stage: str
    done: int
    total: int | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        """``done / total`` in [0, 1], or None when the total is unknown."""
        if not self.total:
            return None
        return min(1.0, max(0.0, self.done / self.total))


ProgressCallback = Callable[[Progress], None]


def report(progress: ProgressCallback | None, stage: str, done: int,
           total: int | None = None, message: str = "") -> None:
    """Call ``progress`` with a :class:`Progress` record, when there is a callback."""
    if progress is not None:
        progress(Progress(stage, int(done), None if total is None else int(total), message))


def get_logger(module: str) -> logging.Logger:
    """The logger for a library module: ``steadyrig.<module>`` (``module`` is ``__name__``)."""
    return logging.getLogger(f"steadyrig.{module}")


def note(notes: list[str], logger: logging.Logger, message: str,
         level: int = logging.INFO) -> None:
    """Append ``message`` to a job's ``notes`` and log it, so both audiences hear it once."""
    notes.append(message)
    logger.log(level, message)
