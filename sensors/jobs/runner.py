"""Run a batch on Dask distributed: manifest -> jobs -> workers -> results JSONL.

A batch reads as: load and validate the manifest (every bad line becomes a failed result, it
never stops the others) -> skip jobs already finished with the same settings (resume) -> refuse
to replace an output the batch did not make unless told to overwrite -> submit the rest to a
Dask cluster (``sensors.jobs.cluster``) -> append one result line per job as it completes,
reporting each as ``Progress("batch", n_finished, n_total, "<id>: <status>")``.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from ..atomic import check_not_input
from ..progress import ProgressCallback, get_logger, report
from .cluster import connect, cpu_count, warm_up
from .kinds import Job, registered_kinds
from .manifest import Manifest, load_manifest
from .results import (
    BatchSummary,
    ResultsLog,
    default_results_path,
    finished_hash,
    make_record,
    own_output,
    read_results,
    sidecar_path,
)

__all__ = ["run_batch", "run_job", "remove_partial"]

_log = get_logger(__name__)


def run_job(job: Job) -> dict:
    """Run one job (on a worker): ``job.run()``, which returns its result line."""
    return job.run()


def remove_partial(paths) -> None:
    """Delete temporary files ``sensors.atomic`` left beside ``paths`` (and their sidecars).

    Only called after the local cluster's workers are gone: a worker killed mid-write cannot
    run the clean-up of ``atomic_output`` (the final names were never written).
    """
    for out in paths:
        out = Path(out)
        for p in (out, sidecar_path(out)):
            for tmp in p.parent.glob(f".{p.stem}.*.part*"):
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()


def run_batch(manifest: str | os.PathLike | Manifest, *, results: str | os.PathLike | None = None,
              scheduler: str | None = None, workers: int | None = None,
              out_dir: str | os.PathLike | None = None, defaults: Mapping | None = None,
              progress: ProgressCallback | None = None,
              job_fn: Callable[[Job], dict] = run_job, overwrite: bool = False,
              connect_timeout_s: float = 10.0) -> BatchSummary:
    """Run every job of a manifest on Dask, appending one result line per job.

    Parameters
    ----------
    manifest : path or Manifest
        JSONL manifest or folder (``sensors.jobs.manifest``).
    results : path, optional
        Results JSONL (appended); default :func:`~sensors.jobs.results.default_results_path`.
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); default an embedded
        ``LocalCluster`` of worker processes with one thread each (its HTTP server on a free
        loopback port).
    workers : int, optional
        Worker processes of the embedded cluster (default: the usable cores).
    out_dir, defaults
        Passed to :func:`~sensors.jobs.manifest.load_manifest`.
    progress : callable(Progress), optional
        Called after each result line is written with
        ``Progress("batch", n_finished, n_total, "<id>: <status>")`` (``sensors.progress``).
    job_fn : callable(Job) -> dict
        The function the workers run (default :func:`run_job`); it must be importable by the
        workers and return a result line.
    overwrite : bool
        Replace an existing output the batch did not write (else that job fails).
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
    """
    from ..errors import InputError

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
            elif job.output.exists() and not overwrite and not own_output(job, previous):
                emit(make_record(job, "failed", error=f"InputError: {job.output}: output "
                                 "exists and this batch did not write it; overwrite it with "
                                 "-y/--overwrite or remove it"))
            else:
                todo.append(job)
        if todo:
            t_c = time.perf_counter()
            finished: set[str] = set()
            is_local = scheduler is None
            kinds = registered_kinds()
            modules = sorted({kinds[j.kind].warm_module for j in todo if j.kind in kinds})
            try:
                with connect(scheduler, workers, connect_timeout_s) as client:
                    # Embedded cluster: share the cores between the worker processes.
                    threads = (max(1, cpu_count() // (workers or cpu_count()))
                               if is_local else None)
                    n_workers = warm_up(client, scheduler, modules, threads)
                    cluster_start_s = round(time.perf_counter() - t_c, 3)
                    _run_on(client, todo, job_fn, emit, finished)
            except BaseException:
                if is_local:
                    # The embedded cluster is closed now, so its workers are gone: a worker
                    # killed mid-write could not remove its temporary file itself.
                    for job in todo:
                        if job.id not in finished:
                            remove_partial(job.outputs())
                raise
    finally:
        log.close()
    n = {s: sum(r["status"] == s for r in records) for s in ("done", "failed", "skipped")}
    return BatchSummary(res_path, tuple(records), n["done"], n["failed"], n["skipped"],
                        round(time.perf_counter() - t_start, 3), cluster_start_s, n_workers)


def _run_on(client, todo: list[Job], job_fn, emit, finished: set[str]) -> None:
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
