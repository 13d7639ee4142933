"""Run a batch of stitch jobs (and any other registered kind) on Dask distributed.

The run itself is ``sensors.jobs.runner.run_batch``; this entry point registers the stitch kind
first and accepts a whole :class:`~stitch.params.StitchParams` as ``defaults``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping

from sensors.jobs.results import BatchSummary
from sensors.jobs.runner import run_batch as _run_any
from sensors.jobs.runner import run_job as _run_any_job
from sensors.progress import ProgressCallback

from ..params import StitchParams
from .manifest import BatchJob, Manifest

__all__ = ["run_batch"]


def run_batch(manifest: str | os.PathLike | Manifest, *, results: str | os.PathLike | None = None,
              scheduler: str | None = None, workers: int | None = None,
              out_dir: str | os.PathLike | None = None,
              defaults: StitchParams | Mapping | None = None,
              progress: ProgressCallback | None = None,
              job_fn: Callable[[BatchJob], dict] = _run_any_job, overwrite: bool = False,
              connect_timeout_s: float = 10.0) -> BatchSummary:
    """Run every job of a manifest on Dask, appending one result line per job.

    See :func:`sensors.jobs.runner.run_batch` for the parameters.

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
    if isinstance(defaults, StitchParams):
        defaults = dataclasses.asdict(defaults)
    return _run_any(manifest, results=results, scheduler=scheduler, workers=workers,
                    out_dir=out_dir, defaults=defaults, progress=progress, job_fn=job_fn,
                    overwrite=overwrite, connect_timeout_s=connect_timeout_s)
