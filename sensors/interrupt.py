"""Stop signals end a command the way Ctrl-C does: promptly, cleanly, with a known exit code.

Python turns SIGINT into ``KeyboardInterrupt`` in the main thread, and every writing stage
already unwinds on it: ``sensors.atomic.atomic_output`` removes its temporary file, the
stabilizer's decode/warp/encode threads stop on their event, a batch cancels its Dask futures and
closes its cluster. SIGTERM (``kill``, a service manager, a container stop) and SIGHUP (a closed
terminal or SSH session) end the process at once by default, leaving temporary files behind.
``handle_signals`` routes all three into the same path: its handler raises :class:`Interrupted`,
a ``KeyboardInterrupt`` that carries the signal number, so the existing clean-up serves every
signal, and ``exit_code`` maps it to the shell's ``128 + signal`` convention (130, 143, 129).

Signals after the first are ignored while the clean-up runs (a second Ctrl-C must not cut it
short and leave a half-written file). As in ffmpeg, a clean-up that hangs can still be cut
short: more than ``HARD_EXIT_AFTER`` further signals end the process at once, after removing
the temporary files ``atomic_output`` registered here.

Native loops that call back into Python (the Ceres solver evaluating Python cost functions)
must not see an exception unwind through them: inside ``deferred()`` the handler only records
the signal, the loop polls ``requested()`` (e.g. from a solver iteration callback) and returns,
and the signal is delivered when the block exits.

Examples
--------
>>> from sensors.interrupt import handle_signals, exit_code, describe
>>> def run():
...     with handle_signals():
...         try:
...             return 0  # the command's work
...         except KeyboardInterrupt as exc:
...             print(describe(exc))
...             return exit_code(exc)
>>> run()
0
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Interrupted", "STOP_SIGNALS", "HARD_EXIT_AFTER", "handle_signals", "deferred",
           "requested", "exit_code", "describe", "signal_name", "track_temporary",
           "untrack_temporary"]

#: The signals that stop a command: Ctrl-C, ``kill`` / service stop, hang-up.
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, n))
#: Further signals ignored while the first one's clean-up runs; one more ends the process.
HARD_EXIT_AFTER = 3


class Interrupted(KeyboardInterrupt):
    """A stop signal, raised in the main thread like ``KeyboardInterrupt`` (which it is).

    Parameters
    ----------
    signum : int
        The signal received.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = int(signum)

    def __str__(self) -> str:
        return signal_name(self.signum)


class _State:
    """Signals seen since the handlers were installed, and the current mode."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.deferring = 0
        self.installed = 0
        self.temporaries: set[Path] = set()
        self.lock = threading.Lock()


_state = _State()


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15, and so on (``signal N`` for a number without a name)."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def track_temporary(path: str | os.PathLike) -> None:
    """Remember a temporary output, removed if a repeated signal ends the process at once."""
    with _state.lock:
        _state.temporaries.add(Path(path))


def untrack_temporary(path: str | os.PathLike) -> None:
    """Forget a temporary output (renamed into place or removed)."""
    with _state.lock:
        _state.temporaries.discard(Path(path))


def _hard_exit(signum: int) -> None:
    with _state.lock:
        paths = list(_state.temporaries)
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()
    with contextlib.suppress(OSError):
        os.write(2, f"Interrupted ({signal_name(signum)}) again: stopped at once\n".encode())
    os._exit(128 + signum)


def _handler(signum: int, frame) -> None:
    _state.received.append(signum)
    if len(_state.received) > 1 + HARD_EXIT_AFTER:
        _hard_exit(signum)
    if _state.deferring or len(_state.received) > 1:
        return  # recorded: polled by a native loop, or the first signal's clean-up is running
    raise Interrupted(signum)


def requested() -> bool:
    """True once a stop signal arrived (under ``handle_signals`` or inside ``deferred``)."""
    return bool(_state.received)


def _install() -> dict:
    """Put ``_handler`` on every stop signal not ignored; return the handlers replaced.

    An ignored signal stays ignored: ``nohup`` ignores SIGHUP, and a shell ignores SIGINT for a
    background job, on purpose.
    """
    previous = {}
    for s in STOP_SIGNALS:
        if signal.getsignal(s) != signal.SIG_IGN:
            previous[s] = signal.signal(s, _handler)
    return previous


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Raise :class:`Interrupted` in the main thread on SIGINT, SIGTERM and SIGHUP.

    The previous handlers come back when the block ends. Outside the main thread (where Python
    cannot install handlers) the block runs unchanged.

    Examples
    --------
    >>> import os, signal
    >>> from sensors.interrupt import Interrupted, handle_signals
    >>> with handle_signals():
    ...     try:
    ...         os.kill(os.getpid(), signal.SIGTERM)
    ...     except Interrupted as exc:
    ...         print(exc.signum == signal.SIGTERM)
    True
    """
    if not _in_main_thread():
        yield
        return
    previous = _install()
    _state.installed += 1
    if _state.installed == 1:
        _state.received.clear()
    try:
        yield
    finally:
        _state.installed -= 1
        for s, h in previous.items():
            signal.signal(s, h)
        if not _state.installed:
            _state.received.clear()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold stop signals for the block; deliver them when it ends.

    For native loops that call Python code (a Ceres solve with Python cost functions or
    callbacks): an exception raised there would have to unwind through C++. Inside the block a
    signal is only recorded, ``requested()`` turns true for the loop to stop at its next check
    (``stitch.ceres_solve`` stops Ceres between iterations), and on leaving the
    block the signal takes its usual course: :class:`Interrupted` under ``handle_signals``,
    ``KeyboardInterrupt`` for Ctrl-C otherwise, the default action for the others.
    """
    if not _in_main_thread():
        yield
        return
    n_before = len(_state.received)
    previous = _install()
    _state.deferring += 1
    try:
        yield
    finally:
        _state.deferring -= 1
        for s, h in previous.items():
            signal.signal(s, h)
        held = _state.received[n_before:]
        if held and not _state.installed:
            del _state.received[n_before:]  # outside handle_signals nothing else reads them
        if held and n_before == 0:
            _deliver(held[0], previous.get(held[0], signal.SIG_IGN))


def _deliver(signum: int, handler) -> None:
    if handler is _handler:
        raise Interrupted(signum)
    if callable(handler):
        handler(signum, None)  # e.g. Python's default SIGINT handler: KeyboardInterrupt
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)


def exit_code(exc: BaseException) -> int:
    """The exit status of a command stopped by ``exc``: ``128 + signal`` (130 for Ctrl-C)."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


def describe(exc: BaseException) -> str:
    """One line for the user: which signal stopped the command, and that nothing was left."""
    name = signal_name(int(getattr(exc, "signum", signal.SIGINT)))
    return f"Interrupted ({name}): stopped; no partial output was left behind."
