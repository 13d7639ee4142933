"""Helpers for benchmarks that run external commands: wall time and peak memory of a child.

Each measured command runs under GNU ``/usr/bin/time -f %M``, which reports the peak resident
set size of that command alone. Measuring our own child with ``os.wait4`` is not enough: Linux
carries the pre-``exec`` high-water mark of the forked copy of this (large, numpy/cv2-loaded)
Python process into the child's ``ru_maxrss``, so every tool would read the same ~370 MB; nor is
``getrusage(RUSAGE_CHILDREN)``, the maximum over all children so far. ``time`` itself is a
small process, so its child starts from a small high-water mark.
The peers are Debian's ``ffmpeg`` filters (``apt-get install ffmpeg``); tests never need them.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Measured",
    "run_measured",
    "median_runs",
    "ffmpeg_path",
    "ffmpeg_has_filters",
    "ffmpeg_transcode",
    "ffmpeg_vidstab",
    "ffmpeg_deshake",
]

TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Measured:
    """One measured run: wall time, CPU time (user + system) and peak resident set size.

    CPU time is the figure that survives a machine shared with other jobs: wall time there
    depends on how many cores the scheduler happened to give the command.
    """

    wall_s: float
    cpu_s: float
    peak_rss_mb: float


def run_measured(cmd: list[str], log_path: Path | None = None) -> Measured:
    """Run ``cmd`` to completion in a fresh child; raise with its stderr tail if it fails.

    Parameters
    ----------
    cmd : list of str
        Program and arguments (no shell).
    log_path : Path, optional
        Where the child's stderr goes (default: discarded after a failure report).

    Returns
    -------
    Measured
        Wall time (s), CPU time (s) and the command's peak RSS in MiB.
    """
    if not os.path.exists(TIME):
        raise RuntimeError(f"{TIME} not found: install GNU time (apt-get install time)")
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        log = open(log_path, "wb") if log_path is not None else subprocess.PIPE
        try:
            t0 = time.perf_counter()
            proc = subprocess.run([TIME, "-f", "%M %U %S", "-o", rss_file.name, *cmd],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=log)
            wall = time.perf_counter() - t0
        finally:
            if log_path is not None:
                log.close()
        if proc.returncode != 0:
            err = Path(log_path).read_bytes() if log_path is not None else proc.stderr
            tail = err.decode(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                               + "\n".join(tail))
        # GNU time may prepend "Command exited ..." lines; the figures are the last line:
        # peak RSS (KiB), user and system CPU seconds.
        peak_kib, user_s, sys_s = map(
            float, Path(rss_file.name).read_text().strip().splitlines()[-1].split())
    return Measured(wall, user_s + sys_s, peak_kib / 1024.0)


def median_runs(runs: list[list[Measured]]) -> dict:
    """Summarise repeated runs of a (possibly multi-step) job.

    Parameters
    ----------
    runs : list of list of Measured
        One list per repeat, holding the measured steps of that repeat (e.g. both vidstab
        passes); a repeat's wall time is the sum of its steps, its peak RSS their maximum.

    Returns
    -------
    dict
        ``wall_s`` and ``cpu_s`` (medians over repeats), ``wall_s_all``, ``cpu_s_all``,
        ``peak_rss_mb`` (maximum).
    """
    walls = [sum(m.wall_s for m in steps) for steps in runs]
    cpus = [sum(m.cpu_s for m in steps) for steps in runs]
    rss = [max(m.peak_rss_mb for m in steps) for steps in runs]
    return {"wall_s": float(statistics.median(walls)), "wall_s_all": [float(w) for w in walls],
            "cpu_s": float(statistics.median(cpus)), "cpu_s_all": [float(c) for c in cpus],
            "peak_rss_mb": float(max(rss))}


def ffmpeg_path() -> str:
    """The ``ffmpeg`` executable, or a RuntimeError saying how to install it."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise RuntimeError("ffmpeg not found: the benchmark peers need Debian's ffmpeg "
                           "(apt-get update && apt-get install -y ffmpeg)")
    return exe


def ffmpeg_has_filters(names: tuple[str, ...]) -> dict[str, bool]:
    """Which of the named video filters this ffmpeg build has."""
    out = subprocess.run([ffmpeg_path(), "-hide_banner", "-filters"], capture_output=True,
                         text=True, check=True).stdout
    have = {line.split()[1] for line in out.splitlines() if len(line.split()) > 2}
    return {n: n in have for n in names}


def _encoder_args(crf: int, preset: str, x264_params: str | None = None) -> list[str]:
    # Same encoder settings for every tool: libx264 at one crf/preset, 4:2:0, audio copied;
    # x264_params as steadyrig sets them for the clip (its lookahead cap above 1440p).
    extra = ["-x264-params", x264_params] if x264_params else []
    return ["-c:v", "libx264", "-crf", str(crf), "-preset", preset, *extra, "-pix_fmt",
            "yuv420p", "-c:a", "copy"]


def _ff(*args: str) -> list[str]:
    return [ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]


def ffmpeg_transcode(src: Path, dst: Path, crf: int, preset: str,
                     x264_params: str | None = None) -> list[list[str]]:
    """Commands of a plain re-encode (the speed baseline)."""
    return [_ff("-i", str(src), *_encoder_args(crf, preset, x264_params), str(dst))]


def ffmpeg_vidstab(src: Path, dst: Path, work: Path, crf: int, preset: str,
                   x264_params: str | None = None) -> list[list[str]]:
    """Commands of vid.stab's two passes: motion detection, then transform + encode.

    Default vid.stab settings (shakiness 5, smoothing 10, optzoom 1, crop keep), as a user
    following the ffmpeg documentation would run it.
    """
    trf = work / f"{dst.stem}.trf"
    # The filter argument parser treats ':' and '\\' specially; the work folder has neither.
    if ":" in str(trf) or "\\" in str(trf):
        raise RuntimeError(f"vid.stab transform path {trf} must not contain ':' or '\\'")
    return [_ff("-i", str(src), "-vf", f"vidstabdetect=result={trf}", "-f", "null", "-"),
            _ff("-i", str(src), "-vf", f"vidstabtransform=input={trf}",
                *_encoder_args(crf, preset, x264_params), str(dst))]


def ffmpeg_deshake(src: Path, dst: Path, crf: int, preset: str,
                   x264_params: str | None = None) -> list[list[str]]:
    """Commands of ffmpeg's one-pass ``deshake`` filter (default settings)."""
    return [_ff("-i", str(src), "-vf", "deshake", *_encoder_args(crf, preset, x264_params),
                str(dst))]
