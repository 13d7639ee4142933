"""``batch``: a manifest of stitch and stabilize jobs, run on a Dask cluster."""

from __future__ import annotations

import json
import sys

import click

from ._common import (
    _check_outputs,
    _claim_stdout,
    _Command,
    _json_out,
    _meta,
    _progress,
    _say,
    _script_options,
)


def _batch_options(pairs: tuple[str, ...]) -> dict:
    """``KEY=VALUE`` pairs -> dict; values parse as JSON when they can (``false``, ``4096``)."""

    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--set")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


@click.command("batch", cls=_Command)
@click.argument("manifest", type=click.Path(path_type=str))
@click.option("--results", type=click.Path(dir_okay=False, path_type=str),
              help="Results JSONL to append to (default: MANIFEST.results.jsonl beside it).")
@click.option("--scheduler", metavar="ADDR",
              help="Address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786 "
                   "(default: an embedded local cluster).")
@click.option("--workers", type=click.IntRange(min=1),
              help="Worker processes of the embedded cluster (default: one per core).")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=str),
              help="Folder for relative (JSONL) or all (capture folders) outputs.")
@click.option("--set", "options", multiple=True, metavar="KEY=VALUE",
              help="Setting for every job that has it unless its line sets it, e.g. "
                   "--set width_px=4096 --set refine=false (stitch) or --set crf=20 "
                   "(stabilize) (repeatable).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Write the run's summary and result lines as JSON (- for standard output).")
@_script_options
def batch_cmd(manifest, results, scheduler, workers, out_dir, options, json_path) -> None:
    """Run every job of MANIFEST on Dask: stitch jobs (lines with "rig") and stabilize jobs
    (lines with "video"), from a JSONL file or a folder of capture folders and clips.

    Finished jobs with unchanged settings are skipped, so a rerun resumes. Exit code 1 when a
    job failed, 2 when the manifest as a whole is unusable.
    """
    import stabilize.batch  # noqa: F401  (registers the stabilize job kind)
    import stitch.batch.manifest  # noqa: F401  (registers the stitch job kind)
    from sensors.jobs.manifest import load_manifest
    from sensors.jobs.runner import run_batch

    if scheduler is not None and workers is not None:
        raise click.UsageError("--workers sizes the embedded cluster; it cannot be combined "
                               "with --scheduler (start the workers with `dask worker`)")
    _check_outputs(json_path)
    _claim_stdout(json_path)
    man = load_manifest(manifest, out_dir=out_dir, defaults=_batch_options(options))
    with _progress("batch") as bar:
        summary = run_batch(man, results=results, scheduler=scheduler, workers=workers,
                            progress=bar, overwrite=_meta(None, "overwrite", False))
    if _meta(None, "verbose", 0) == 0:  # with -v the log has shown every job as it ended
        for rec in summary.records:
            if rec["status"] == "failed":
                name = f" {rec['id']}" if rec["id"] is not None else ""
                _say(f"failed{name}: {rec['error']}", err=True)
    _say(f"batch: {summary.n_done} done, {summary.n_failed} failed, "
         f"{summary.n_skipped} skipped in {summary.wall_s:.1f} s "
         f"({summary.n_workers} workers); results: {summary.results_path}")
    _json_out(json_path, {"results": str(summary.results_path), "done": summary.n_done,
                          "failed": summary.n_failed, "skipped": summary.n_skipped,
                          "wall_s": summary.wall_s, "workers": summary.n_workers,
                          "records": list(summary.records)})
    if not summary.ok:
        sys.exit(1)
