"""Write outputs atomically: a temporary name in the destination folder, renamed when complete."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError
from .interrupt import track_temporary, untrack_temporary

__all__ = ["atomic_output", "check_not_input"]


def check_not_input(out_path: str | os.PathLike, *inputs: str | os.PathLike) -> None:
    """Refuse an output path that names one of the inputs (an input is never overwritten).

    Raises
    ------
    InputError
        If ``out_path`` resolves to the same file as any input.
    """
    out = Path(out_path).resolve()
    for p in inputs:
        if p is None:
            continue
        if Path(p).resolve() == out:
            raise InputError("output path is the same as an input; choose another name",
                             str(out_path))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    On any exception (including KeyboardInterrupt, and the stop signals ``sensors.interrupt``
    turns into one) the temporary file is removed, so a failed or interrupted run never leaves a
    half-written file at the destination.

    Parameters
    ----------
    path : path-like
        Final destination.
    suffix : str, optional
        Suffix of the temporary file (defaults to the destination's, so encoders that pick a
        container from the extension still work).
    """
    dest = Path(path)
    folder = dest.parent if str(dest.parent) else Path(".")
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True)
    sfx = dest.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=f".part{sfx}", dir=folder)
    os.close(fd)
    tmp_path = Path(tmp)
    track_temporary(tmp_path)  # removed even if repeated stop signals end the process at once
    try:
        yield tmp_path
        # mkstemp creates the file 0600; give the result the permissions a plain open() would.
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
    finally:
        untrack_temporary(tmp_path)
