"""The ``steadyrig`` command line: parses, calls the library, reports.

Every command turns the library's own errors into one line ``Error: ...`` and exit code 2, with
no traceback (DESIGN.md "Bad input").
"""

from __future__ import annotations

import sys

import click

from sensors.errors import SteadyrigError


class _Group(click.Group):
    """A click group that reports expected failures as one line and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SteadyrigError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            name = getattr(exc, "filename", None) or ""
            click.echo(f"Error: {name}: {exc.strerror or exc}", err=True)
            sys.exit(2)
        except OSError as exc:
            if getattr(exc, "errno", None) == 28:  # ENOSPC: outputs were written atomically
                click.echo("Error: no space left on device; nothing was written", err=True)
                sys.exit(2)
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted; no partial output was left behind.", err=True)
            sys.exit(130)


@click.group(cls=_Group)
@click.version_option(package_name="steadyrig")
def main() -> None:
    """steadyrig: gyro-fused video stabilization and rosette panorama seam repair."""


def progress(iterable=None, length=None, label=""):
    """A progress bar on stderr (silent when stderr is not a terminal and CI is set)."""
    return click.progressbar(iterable, length=length, label=label, file=sys.stderr)


# --- inspect / samples (sensors) ---


# --- sync ---


# --- stabilize ---


# --- stitch ---


@main.command("stitch")
@click.argument("rig", type=click.Path())
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Panorama file (.jpg, .png, .tif), equirectangular with GPano XMP.")
@click.option("--width", "width_px", type=int, default=3072, show_default=True,
              help="Panorama width in pixels (height = width / 2).")
@click.option("--layers", "layers_dir", type=click.Path(file_okay=False),
              help="Write each camera's warped image as a full-canvas RGBA PNG here.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write the seam report (JSON) here.")
@click.option("--no-repair", is_flag=True, help="Skip overlap flow and spline warps.")
@click.option("--no-refine", is_flag=True, help="Keep the rig's camera rotations as given.")
@click.option("--exposure", type=click.Choice(["none", "gain", "gain_blocks", "channels",
                                               "channels_blocks"]),
              default="gain_blocks", show_default=True, help="Exposure compensation.")
@click.option("--bands", type=click.IntRange(0, 12), default=5, show_default=True,
              help="Multi-band blender bands (0 = hard seams).")
@click.option("--debug-dir", type=click.Path(file_okay=False),
              help="Write numbered intermediate pictures here.")
@click.option("--pto", "pto_path", type=click.Path(dir_okay=False),
              help="Also write a Hugin project (.pto) of the rig and images.")
def stitch_cmd(rig, images, output, width_px, layers_dir, report_path, no_repair, no_refine,
               exposure, bands, debug_dir, pto_path):
    """Stitch a rosette: RIG file (Surround360 camera_rig.json or COLMAP rig_config.json) and
    IMAGE... in rig order (or one folder with files named by camera id)."""
    from stitch.params import StitchParams
    from stitch.pipeline import STAGES, stitch_panorama

    params = StitchParams(width_px=width_px, repair=not no_repair, refine=not no_refine,
                          exposure=exposure, blend_bands=bands)
    with progress(length=len(STAGES), label="stitch") as bar:
        result = stitch_panorama(rig, images, output, params, report=report_path,
                                 layers_dir=layers_dir, debug_dir=debug_dir,
                                 progress=lambda stage: bar.update(1), pto=pto_path)
    rep = result.report
    click.echo(f"Wrote {result.output} ({rep['width_px']}x{rep['height_px']}, "
               f"{len(rep['cameras'])} cameras, {len(rep['overlaps'])} overlaps, "
               f"coverage {100 * rep['coverage_fraction']:.1f}%)")
    seams = rep.get("seams") or {}
    overall = seams.get("overall") if isinstance(seams, dict) else None
    if isinstance(overall, dict):
        click.echo("Seams: " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in overall.items()
                                         if not isinstance(v, dict | list)))
    if rep.get("warps"):
        worst = min(w["min_jacobian_det"] for w in rep["warps"])
        biggest = max(w["max_displacement_px"] for w in rep["warps"])
        click.echo(f"Warps: max displacement {biggest:.2f} px, min Jacobian det {worst:.3f}")
    click.echo("Timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in rep["timings_s"].items()))
    for w in rep["warnings"]:
        click.echo(f"Warning: {w}", err=True)
    if report_path:
        click.echo(f"Report: {report_path}")
    if result.layer_paths:
        click.echo(f"Layers: {len(result.layer_paths)} files in {layers_dir}")



# --- batch ---


def _batch_options(pairs: tuple[str, ...]) -> dict:
    """``KEY=VALUE`` pairs -> dict; values parse as JSON when they can (``false``, ``4096``)."""
    import json

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


@main.command("batch")
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
              help="Stitch option for every job unless its line sets it, e.g. "
                   "--set width_px=4096 --set refine=false (repeatable).")
def batch_cmd(manifest, results, scheduler, workers, out_dir, options) -> None:
    """Stitch every job of MANIFEST (JSONL, or a folder of capture folders) on Dask.

    Finished jobs with unchanged settings are skipped, so a rerun resumes. Exit code 1 when a
    job failed, 2 when the manifest as a whole is unusable.
    """
    from stitch.batch import load_manifest, run_batch

    if scheduler is not None and workers is not None:
        raise click.UsageError("--workers sizes the embedded cluster; it cannot be combined "
                               "with --scheduler (start the workers with `dask worker`)")
    man = load_manifest(manifest, out_dir=out_dir, defaults=_batch_options(options))
    with progress(length=len(man), label="batch") as bar:
        summary = run_batch(man, results=results, scheduler=scheduler, workers=workers,
                            progress=lambda rec, n, total: bar.update(1))
    for rec in summary.records:
        if rec["status"] == "failed":
            name = f" {rec['id']}" if rec["id"] is not None else ""
            click.echo(f"failed{name}: {rec['error']}", err=True)
    click.echo(f"batch: {summary.n_done} done, {summary.n_failed} failed, "
               f"{summary.n_skipped} skipped in {summary.wall_s:.1f} s "
               f"({summary.n_workers} workers); results: {summary.results_path}")
    if not summary.ok:
        sys.exit(1)


# --- demo ---


if __name__ == "__main__":
    main()
