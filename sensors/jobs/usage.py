"""What a job cost its worker process."""

from __future__ import annotations

import contextlib
import resource
from pathlib import Path

__all__ = ["peak_rss_mb"]


def peak_rss_mb() -> float:
    """Peak resident set of this (worker) process, MB.

    On Linux this is ``VmHWM`` of /proc/self/status: ``ru_maxrss`` is not usable for a spawned
    worker because the kernel carries the parent's peak across fork + exec, so every worker
    would report at least the RSS its launcher had when it started it.
    """
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)  # kB
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
