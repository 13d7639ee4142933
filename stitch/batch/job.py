"""One batch job as a Dask worker runs it: stitch, write the sidecar, return a result line.

The panorama is written atomically by the stitch pipeline (``sensors.atomic``); the sidecar
(``<panorama>.steadyrig.json``) records the settings hash right after it, so a later run can
skip the job even when the client that submitted it died before writing its result line.
"""

from __future__ import annotations

import os
import socket
import time
from typing import TYPE_CHECKING

from sensors.jobs.results import make_record, write_done_sidecar
from sensors.jobs.usage import peak_rss_mb

if TYPE_CHECKING:  # the manifest module calls run_job; a job is only annotated here
    from .manifest import BatchJob

__all__ = ["run_job"]


def _seam_summary(report: dict) -> dict:
    """The small part of a stitch report that belongs in a result line."""
    seams = report.get("seams")
    if isinstance(seams, dict):
        # Overall figures only: per-pair and per-warp lists stay in the stitch report.
        seams = {k: v for k, v in seams.items() if not isinstance(v, list | str)}
    warps = report.get("warps") or []
    dets = [w["min_jacobian_det"] for w in warps if w.get("min_jacobian_det") is not None]
    disp = [w["max_displacement_px"] for w in warps if w.get("max_displacement_px") is not None]
    return {
        "seams": seams,
        "n_overlaps": len(report.get("overlaps") or []),
        "coverage_fraction": report.get("coverage_fraction"),
        "min_jacobian_det": min(dets) if dets else None,
        "max_displacement_px": max(disp) if disp else None,
        "repair": report.get("repair"),
        "refine": report.get("refine"),
        "warnings": report.get("warnings") or [],
    }


def run_job(job: BatchJob) -> dict:
    """Stitch one job and return its result line (never raises for a job's own failure).

    Runs on a Dask worker: calls :func:`stitch.pipeline.stitch_panorama` (which writes the
    panorama atomically), then writes the sidecar with the settings hash. A library error or
    any other exception becomes a ``failed`` line carrying ``"<Type>: <message>"``.
    """
    from ..pipeline import stitch_panorama

    t0 = time.perf_counter()
    where = {"worker_host": socket.gethostname(), "worker_pid": os.getpid()}
    try:
        res = stitch_panorama(job.rig, list(job.images), job.output, params=job.params)
        write_done_sidecar(job, job.params.checksum())
    except Exception as exc:  # a failed job never stops the batch: report it as a line
        return make_record(job, "failed", error=f"{type(exc).__name__}: {exc}",
                           wall_s=round(time.perf_counter() - t0, 3),
                           peak_rss_mb=peak_rss_mb(), **where)
    return make_record(job, "done", wall_s=round(time.perf_counter() - t0, 3),
                       timings_s=res.report.get("timings_s"), seam=_seam_summary(res.report),
                       peak_rss_mb=peak_rss_mb(), **where)

