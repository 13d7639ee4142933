"""What every command shares: scripting options, logging, output checks, progress, choices.

Scripting conventions, on every command: an existing output is an error unless ``-y`` /
``--overwrite`` is given (as ffmpeg's ``-n``); ``-q`` prints errors only, ``-v`` logs the
library's ``steadyrig.*`` messages as they happen (``-vv`` with debug messages), each message
printed once; ``--progress json`` prints each ``sensors.progress.Progress`` record as a JSON line
on stderr (``bar``, the default, draws a bar; ``none`` prints nothing); ``--json -`` writes the
JSON report to standard output, the human lines then going to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager

import click

from stabilize.params import StabilizeParams
from stitch.params import StitchParams

# --- scripting conventions (shared by every command) ---

def _meta(ctx: click.Context | None, key: str, default=None):
    ctx = ctx or click.get_current_context(silent=True)
    return default if ctx is None else ctx.meta.get(f"steadyrig.{key}", default)


def _store(key: str):
    """An option callback keeping a given value in ``ctx.meta`` (shared with invoked commands,
    so the demo's choices reach the commands it runs)."""

    def callback(ctx: click.Context, _param, value):
        if value:
            ctx.meta[f"steadyrig.{key}"] = value

    return callback


def _script_options(f):
    """-y/--overwrite, -q/--quiet, -v/--verbose and --progress on a command."""
    for opt in reversed((
        click.option("-y", "--overwrite", is_flag=True, expose_value=False,
                     callback=_store("overwrite"),
                     help="Replace existing outputs (else an existing output is an error)."),
        click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_store("quiet"),
                     help="Print errors only."),
        click.option("-v", "--verbose", count=True, expose_value=False,
                     callback=_store("verbose"),
                     help="Log the library's messages as they happen (-vv: debug too)."),
        click.option("--progress", "progress_mode", type=click.Choice(["bar", "json", "none"]),
                     expose_value=False, callback=_store("progress"),
                     help="bar (default), json (one Progress record per line on stderr, for "
                          "programs that wrap steadyrig) or none."),
    )):
        f = opt(f)
    return f


class _Once(logging.Handler):
    """Prints ``steadyrig.*`` log records on stderr and remembers them, so a note the command
    reports afterwards is not printed a second time."""

    def __init__(self):
        super().__init__()
        self.seen: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        self.seen.add(msg)
        kind = {logging.INFO: "note", logging.DEBUG: f"debug ({record.name})"}.get(
            record.levelno, record.levelname.lower())
        click.echo(f"{kind}: {msg}", err=True)


def _setup_logging(verbose: int, quiet: bool) -> None:
    """One handler on the ``steadyrig`` logger: errors only (-q), warnings (default), notes
    (-v) or debug (-vv)."""
    logger = logging.getLogger("steadyrig")
    for h in [h for h in logger.handlers if isinstance(h, _Once)]:
        logger.removeHandler(h)
    handler = _Once()
    level = (logging.ERROR if quiet else logging.WARNING if not verbose
             else logging.INFO if verbose == 1 else logging.DEBUG)
    handler.setLevel(level)
    logger.addHandler(handler)
    # Only ever lowered: a program (or test) that set a level of its own keeps hearing.
    if level < logging.WARNING and logger.getEffectiveLevel() > level:
        logger.setLevel(level)


def _logged() -> set[str]:
    for h in logging.getLogger("steadyrig").handlers:
        if isinstance(h, _Once):
            return h.seen
    return set()


def _say(message: str = "", err: bool = False) -> None:
    """A human line: on stdout (stderr once stdout carries JSON), nothing with -q."""
    if _meta(None, "quiet", False):
        return
    click.echo(message, err=err or _meta(None, "stdout_json", False))


def _notes(notes, prefix: str = "note") -> None:
    """Report a job's notes, except those the log already printed."""
    seen = _logged()
    for n in notes:
        if n not in seen:
            _say(f"{prefix}: {n}", err=prefix != "note")


def _check_outputs(*paths) -> None:
    """Refuse to replace an existing output unless -y/--overwrite was given."""
    from sensors.errors import InputError

    if _meta(None, "overwrite", False):
        return
    for p in paths:
        if p is not None and p != "-" and os.path.lexists(p):
            raise InputError("output exists; pass -y/--overwrite to replace it", str(p))


def _json_out(path: str | None, record: dict) -> None:
    """Write ``record`` as JSON to ``path`` (atomically), or to stdout for ``-``."""
    if path is None:
        return
    text = json.dumps(record, indent=2) + "\n"
    if path == "-":
        click.echo(text, nl=False)
        return
    from sensors.atomic import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(text)


def _claim_stdout(path: str | None) -> None:
    if path == "-":
        click.get_current_context().meta["steadyrig.stdout_json"] = True


@contextmanager
def _progress(label: str):
    """A ``sensors.progress`` callback: a bar, JSON lines or nothing (``--progress``, -q)."""
    mode = "none" if _meta(None, "quiet", False) else _meta(None, "progress", "bar")
    bars: list = []  # (stage, bar): one bar per stage, in turn
    stages: set = set()

    def callback(p) -> None:
        if mode == "json":
            click.echo(json.dumps({"stage": p.stage, "done": p.done, "total": p.total,
                                   "fraction": p.fraction, "message": p.message}), err=True)
        elif mode == "bar":
            # a stage counting something else (seams, then frames) gets a bar of its own
            if bars and bars[0][1].length != (p.total or 1):
                bars.pop()[1].__exit__(None, None, None)
            if not bars:
                text = label if p.stage == label or not stages else f"{label}: {p.stage}"
                bar = click.progressbar(length=p.total or 1, label=text, file=sys.stderr)
                bar.__enter__()
                bars.append((p.stage, bar))
            stages.add(p.stage)
            bar = bars[0][1]
            bar.update(max(0, p.done - bar.pos))

    try:
        yield callback
    finally:
        if bars:
            bars[0][1].__exit__(None, None, None)


class _Names(click.Choice):
    """A choice whose names a library registry gives when they are needed (help, parsing), so
    an entry registered after this module was imported is offered too."""

    def __init__(self, names):
        self._names = names
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._names())

    @choices.setter
    def choices(self, _value) -> None:
        pass  # click.Choice.__init__ assigns; the registry stays the source


def _defaults(params_class) -> dict:
    """Field defaults of a library parameter dataclass, by field name."""
    import dataclasses

    return {f.name: f.default for f in dataclasses.fields(params_class)}


def _projection_names() -> list[str]:
    from sensors.spherical import PROJECTIONS

    return list(PROJECTIONS)


def _projection_choices() -> list[str]:
    return ["auto", *_projection_names()]


_STAB = _defaults(StabilizeParams)
_STITCH = _defaults(StitchParams)



class _Command(click.Command):
    """A command that sets up logging from its scripting options before it runs."""

    def invoke(self, ctx: click.Context):
        _setup_logging(_meta(ctx, "verbose", 0), _meta(ctx, "quiet", False))
        return super().invoke(ctx)
