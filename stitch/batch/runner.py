"""Run a batch on Dask distributed: manifest -> jobs -> workers -> results JSONL.

A batch reads as: load and validate the manifest (every bad line becomes a failed result, it
never stops the others) -> skip jobs already finished with the same settings (resume) -> submit
the rest to a Dask cluster (an embedded ``LocalCluster`` by default, or an existing scheduler) ->
append one result line per job as it completes, reporting each as
``Progress("batch", n_finished, n_total, "<id>: <status>")`` (``sensors.progress``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from sensors.atomic import check_not_input
from sensors.errors import InputError
from sensors.progress import ProgressCallback, get_logger, report

from ..params import StitchParams
from .job import run_job
from .manifest import BatchJob, Manifest, load_manifest
from .results import (
    BatchSummary,
    ResultsLog,
    default_results_path,
    finished_hash,
    make_record,
    read_results,
    sidecar_path,
)

__all__ = ["run_batch"]

_log = get_logger(__name__)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _connect(scheduler: str | None, workers: int | None, connect_timeout_s: float
             ) -> Iterator[tuple[object, bool]]:
    """Yield ``(client, is_local)``: an embedded LocalCluster, or a client of ``scheduler``."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=connect_timeout_s)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot connect to the Dask scheduler within {connect_timeout_s:g} s"
                             f" ({type(exc).__name__}: {exc}); is `dask scheduler` running?",
                             scheduler) from None
        try:
            yield client, False
        finally:
            client.close()
        return
    n = _cpu_count() if workers is None else int(workers)
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
            yield client, True
        finally:
            client.close()
    finally:
        cluster.close()


def _prepare_worker(threads: int | None) -> str:
    import cv2
    import numba

    import stitch.pipeline

    if threads is not None:
        # Dask caps BLAS/OpenMP threads of its workers at 1 but not OpenCV's or numba's pools:
        # n worker processes x all-core pools would oversubscribe the machine.
        cv2.setNumThreads(threads)
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return stitch.pipeline.__file__


def _warm_up(client, scheduler: str | None, threads: int | None = None) -> int:
    """Import the stitch pipeline on every worker now; return the number of workers.

    The first job of a fresh worker would otherwise pay for importing OpenCV, pyceres and numba,
    and a worker whose environment lacks steadyrig fails here with one clear error instead of
    once per job. ``threads`` caps OpenCV's and numba's thread pools of each worker.
    """
    try:
        where = client.run(_prepare_worker, threads)
    except ImportError as exc:
        raise InputError(f"a Dask worker cannot import steadyrig's stitch package ({exc}); "
                         "install steadyrig in the workers' environment", scheduler) from None
    if not where:
        raise InputError("the Dask cluster has no workers; start some with `dask worker "
                         "ADDRESS`", scheduler)
    return len(where)


def _remove_partial(job: BatchJob) -> None:
    """Delete temporary files ``sensors.atomic`` left beside ``job``'s outputs.

    Only called after the local cluster's workers are gone: a worker killed mid-write cannot
    run the clean-up of ``atomic_output`` (the final names were never written).
    """
    out = job.output
    side = sidecar_path(out)
    patterns = (f".{out.stem}.*.part{out.suffix}", f".{side.stem}.*.part{side.suffix}")
    for pat in patterns:
        for p in out.parent.glob(pat):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def run_batch(manifest: str | os.PathLike | Manifest, *, results: str | os.PathLike | None = None,
              scheduler: str | None = None, workers: int | None = None,
              out_dir: str | os.PathLike | None = None, defaults: StitchParams | dict | None = None,
              progress: ProgressCallback | None = None,
              job_fn: Callable[[BatchJob], dict] = run_job,
              connect_timeout_s: float = 10.0) -> BatchSummary:
    """Run every job of a manifest on Dask, appending one result line per job.

    Parameters
    ----------
    manifest : path or Manifest
        JSONL manifest or folder of capture folders (see the module docstring).
    results : path, optional
        Results JSONL (appended); default :func:`default_results_path`.
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); default an embedded
        ``LocalCluster`` of worker processes with one thread each (its HTTP server on a free
        loopback port).
    workers : int, optional
        Worker processes of the embedded cluster (default: the usable cores).
    out_dir, defaults
        Passed to :func:`load_manifest`.
    progress : callable(Progress), optional
        Called after each result line is written with
        ``Progress("batch", n_finished, n_total, "<id>: <status>")`` (``sensors.progress``).
    job_fn : callable(BatchJob) -> dict
        The function the workers run (default :func:`run_job`); it must be importable by the
        workers and return a result line.
    connect_timeout_s : float
        How long to wait for ``scheduler``.

    Returns
    -------
    BatchSummary

    Raises
    ------
    InputError
        The manifest as a whole is unusable, or the scheduler cannot be reached.
    KeyboardInterrupt
        Re-raised after the futures were cancelled, the cluster closed and partial files
        removed; the results file keeps the finished jobs, so a rerun resumes.

    Examples
    --------
    Two generated rosettes on an embedded cluster of two workers (skipped as a doctest: it
    starts worker processes), then a rerun that finds both finished:

    >>> from stitch.batch import generate_batch, run_batch
    >>> manifest = generate_batch("out/batch", 2, width_px=1024)  # doctest: +SKIP
    >>> s = run_batch(manifest, workers=2, progress=print)  # doctest: +SKIP
    Progress(stage='batch', done=1, total=2, message='job01: done')
    Progress(stage='batch', done=2, total=2, message='job00: done')
    >>> s.n_done, s.results_path.name  # doctest: +SKIP
    (2, 'manifest.results.jsonl')
    >>> run_batch(manifest, workers=2).n_skipped  # doctest: +SKIP
    2
    """
    t_start = time.perf_counter()
    if scheduler is not None and workers is not None:
        raise InputError("workers sizes the embedded cluster; with a scheduler, start the "
                         "workers with `dask worker ADDRESS`")
    man = manifest if isinstance(manifest, Manifest) else load_manifest(manifest, out_dir,
                                                                        defaults)
    res_path = Path(results).expanduser().resolve() if results is not None \
        else default_results_path(man.path)
    check_not_input(res_path, man.path, *(j.output for j in man.jobs))
    previous = read_results(res_path)
    total = len(man)
    records: list[dict] = []
    log = ResultsLog(res_path)

    def emit(rec: dict) -> None:
        log.write(rec)
        records.append(rec)
        msg = f"{rec['id']}: {rec['status']}"
        _log.info("%s%s", msg, f" ({rec['error']})" if rec.get("error") else "")
        report(progress, "batch", len(records), total, msg)

    cluster_start_s, n_workers = 0.0, 0
    try:
        for bad in man.invalid:
            emit(make_record(bad, "failed", error=bad.error))
        todo = []
        for job in man.jobs:
            if finished_hash(job, previous) == job.settings_hash:
                emit(make_record(job, "skipped", reason="output exists with the same settings"))
            else:
                todo.append(job)
        if todo:
            t_c = time.perf_counter()
            finished: set[str] = set()
            is_local = scheduler is None
            try:
                with _connect(scheduler, workers, connect_timeout_s) as (client, _):
                    # Embedded cluster: share the cores between the worker processes.
                    threads = (max(1, _cpu_count() // (workers or _cpu_count()))
                               if is_local else None)
                    n_workers = _warm_up(client, scheduler, threads)
                    cluster_start_s = round(time.perf_counter() - t_c, 3)
                    _run_on(client, todo, job_fn, emit, finished)
            except BaseException:
                if is_local:
                    # The embedded cluster is closed now, so its workers are gone: a worker
                    # killed mid-write could not remove its temporary file itself.
                    for job in todo:
                        if job.id not in finished:
                            _remove_partial(job)
                raise
    finally:
        log.close()
    n = {s: sum(r["status"] == s for r in records) for s in ("done", "failed", "skipped")}
    return BatchSummary(res_path, tuple(records), n["done"], n["failed"], n["skipped"],
                        round(time.perf_counter() - t_start, 3), cluster_start_s, n_workers)


def _run_on(client, todo: list[BatchJob], job_fn, emit, finished: set[str]) -> None:
    """Submit ``todo`` and emit a line per completed future; cancel everything on interrupt."""
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]  # keys stay unique on a shared, long-lived scheduler
    futures = {}
    for job in todo:
        fut = client.submit(job_fn, job, pure=False, key=f"steadyrig-batch-{token}-{job.id}")
        futures[fut] = job
    try:
        for fut in as_completed(list(futures)):
            job = futures[fut]
            try:
                rec = fut.result()
            except Exception as exc:  # the worker died or the task could not run at all
                rec = make_record(job, "failed", error=f"{type(exc).__name__}: {exc}")
            finished.add(job.id)
            emit(rec)
    except BaseException:
        # Ctrl-C (or any error of our own): nothing more is wanted from the cluster. Tasks
        # already running on an external cluster finish and write their outputs atomically.
        client.cancel(list(futures), force=True)
        raise

