"""Jobs of any kind on Dask distributed: manifest -> typed jobs -> workers -> results JSONL.

Shared by every package that runs many jobs: ``kinds`` (the registry of job kinds a manifest
line can be), ``options`` (typed settings from JSON), ``manifest`` (read and validate a JSONL
file or a folder), ``results`` (result lines, the append-only results log, resume),
``cluster`` (an embedded or remote Dask cluster) and ``runner`` (the run). ``stitch.batch`` and
``stabilize.batch`` register their kinds when imported.

The names below load their modules on first access (``sensors._lazy``), so reading a manifest
does not import Dask.
"""

from __future__ import annotations

from sensors._lazy import lazy_exports

_WHERE = {
    "Job": "kinds",
    "JobKind": "kinds",
    "LineContext": "kinds",
    "register_kind": "kinds",
    "registered_kinds": "kinds",
    "InvalidJob": "manifest",
    "Manifest": "manifest",
    "load_manifest": "manifest",
    "BatchSummary": "results",
    "default_results_path": "results",
    "finished_hash": "results",
    "make_record": "results",
    "read_results": "results",
    "sidecar_path": "results",
    "write_done_sidecar": "results",
    "connect": "cluster",
    "run_batch": "runner",
    "run_job": "runner",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _WHERE)
