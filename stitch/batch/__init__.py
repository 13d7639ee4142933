"""Many rosette stitches on Dask distributed: manifest -> jobs -> workers -> results JSONL.

The generic machinery (manifests of any job kind, the runner, results and resume) is
``sensors.jobs``; this package is the ``stitch`` job kind. Modules: ``manifest`` (a stitch line
or capture folder -> a job, with the settings hash that decides resume; registers the kind),
``results`` (the generic results names), ``job`` (one job as a worker runs it), ``runner``
(the run) and ``generate`` (generated batches for tests and benches).

The names below load their modules on first access (``sensors._lazy``), so reading a manifest
does not import Dask or the stitch pipeline.

Examples
--------
>>> import tempfile
>>> from stitch.batch import generate_batch, load_manifest
>>> with tempfile.TemporaryDirectory() as tmp:
...     manifest = generate_batch(tmp, 2, n_cameras=4, width=96, height=72, width_px=256)
...     man = load_manifest(manifest)
...     print(len(man.jobs), len(man.invalid), man.jobs[0].params.width_px)
2 0 256
"""

from __future__ import annotations

from sensors._lazy import lazy_exports

_WHERE = {
    "BatchJob": "manifest",
    "InvalidJob": "manifest",
    "Manifest": "manifest",
    "RIG_FILE_NAMES": "manifest",
    "load_manifest": "manifest",
    "settings_hash": "manifest",
    "BatchSummary": "results",
    "default_results_path": "results",
    "finished_hash": "results",
    "read_results": "results",
    "sidecar_path": "results",
    "STITCH_KIND": "manifest",
    "run_job": "job",
    "run_batch": "runner",
    "generate_batch": "generate",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _WHERE)
