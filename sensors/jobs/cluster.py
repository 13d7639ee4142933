"""The Dask cluster jobs run on: an embedded ``LocalCluster`` or a running scheduler.

Both the batch runner and a stabilization split into time segments use :func:`connect`;
:func:`warm_up` imports the job kinds' modules on every worker once and caps each worker's
OpenCV and numba thread pools, so ``n`` workers share the cores instead of each taking all.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator

from ..errors import InputError

__all__ = ["cpu_count", "connect", "warm_up"]


def cpu_count() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def connect(scheduler: str | None, workers: int | None, connect_timeout_s: float = 10.0
            ) -> Iterator[object]:
    """Yield a ``distributed.Client``: of ``scheduler``, or of an embedded LocalCluster of
    ``workers`` processes (default: one per core) with one thread each.

    Raises
    ------
    InputError
        The scheduler cannot be reached within ``connect_timeout_s``, or both a scheduler and
        a worker count are given.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("running on a Dask cluster needs Dask distributed: "
                         "pip install steadyrig[batch]") from None

    if scheduler is not None:
        if workers is not None:
            raise InputError("workers sizes the embedded cluster; with a scheduler, start the "
                             "workers with `dask worker ADDRESS`")
        try:
            client = Client(scheduler, timeout=connect_timeout_s)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot connect to the Dask scheduler within {connect_timeout_s:g} s"
                             f" ({type(exc).__name__}: {exc}); is `dask scheduler` running?",
                             scheduler) from None
        try:
            yield client
        finally:
            client.close()
        return
    n = cpu_count() if workers is None else int(workers)
    if n < 1:
        raise InputError(f"--workers must be >= 1, got {n}")
    # Logs below CRITICAL stay silent: on a loaded machine a worker's heartbeat racing the
    # scheduler's shutdown logs an ERROR with a traceback although nothing failed; a job's real
    # failure comes back as its result line.
    # The scheduler always runs an HTTP server; None means port 8787, which a user's own
    # cluster may hold (a warning, then a random port). Ask for a free loopback port instead.
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL)
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _prepare_worker(threads: int | None, modules: tuple[str, ...]) -> list[str]:
    import importlib

    loaded = [importlib.import_module(m).__name__ for m in modules]
    if threads is not None:
        import cv2
        import numba

        # Dask caps BLAS/OpenMP threads of its workers at 1 but not OpenCV's or numba's pools:
        # n worker processes x all-core pools would oversubscribe the machine.
        cv2.setNumThreads(threads)
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return loaded


def warm_up(client, scheduler: str | None, modules: Iterable[str],
            threads: int | None = None) -> int:
    """Import ``modules`` on every worker now; return the number of workers.

    The first job of a fresh worker would otherwise pay for importing OpenCV, PyAV and numba,
    and a worker whose environment lacks steadyrig fails here with one clear error instead of
    once per job. ``threads`` caps OpenCV's and numba's thread pools of each worker.
    """
    mods = tuple(m for m in modules if m)
    try:
        where = client.run(_prepare_worker, threads, mods)
    except ImportError as exc:
        raise InputError(f"a Dask worker cannot import steadyrig ({exc}); install steadyrig "
                         "in the workers' environment", scheduler) from None
    if not where:
        raise InputError("the Dask cluster has no workers; start some with `dask worker "
                         "ADDRESS`", scheduler)
    return len(where)
