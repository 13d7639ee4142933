"""Batch results of stitch jobs: the generic ones of ``sensors.jobs.results``, named here too."""

from __future__ import annotations

from sensors.jobs.results import (
    BatchSummary,
    ResultsLog,
    default_results_path,
    finished_hash,
    make_record,
    now_utc,
    own_output,
    read_results,
    sidecar_path,
    write_done_sidecar,
)

__all__ = ["BatchSummary", "sidecar_path", "default_results_path", "read_results",
           "finished_hash", "own_output", "make_record", "write_done_sidecar", "now_utc",
           "ResultsLog"]
