"""``stitch``: a rig's images in, a seam-repaired panorama out."""

from __future__ import annotations

import click

from stitch.params import EXPOSURE_CHOICES, StitchParams

from ._common import (
    _STITCH,
    _check_outputs,
    _Command,
    _notes,
    _progress,
    _say,
    _script_options,
)


@click.command("stitch", cls=_Command)
@click.argument("rig", type=click.Path())
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Panorama file (.jpg, .png, .tif), equirectangular with GPano XMP.")
@click.option("--width", "width_px", type=int, default=_STITCH["width_px"], show_default=True,
              help="Panorama width in pixels (height = width / 2).")
@click.option("--layers", "layers_dir", type=click.Path(file_okay=False),
              help="Write each camera's warped image as a full-canvas RGBA PNG here.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write the seam report (JSON) here.")
@click.option("--no-repair", is_flag=True, help="Skip overlap flow and spline warps.")
@click.option("--no-refine", is_flag=True, help="Keep the rig's camera rotations as given.")
@click.option("--exposure", type=click.Choice(EXPOSURE_CHOICES),
              default=_STITCH["exposure"], show_default=True, help="Exposure compensation.")
@click.option("--bands", type=click.IntRange(0, 12), default=_STITCH["blend_bands"],
              show_default=True,
              help="Multi-band blender bands (0 = hard seams).")
@click.option("--debug-dir", type=click.Path(file_okay=False),
              help="Write numbered intermediate pictures here.")
@click.option("--pto", "pto_path", type=click.Path(dir_okay=False),
              help="Also write a Hugin project (.pto) of the rig and images.")
@_script_options
def stitch_cmd(rig, images, output, width_px, layers_dir, report_path, no_repair, no_refine,
               exposure, bands, debug_dir, pto_path):
    """Stitch a rosette: RIG file (Surround360 camera_rig.json or COLMAP rig_config.json) and
    IMAGE... in rig order (or one folder with files named by camera id)."""
    from stitch.pipeline import stitch_panorama

    params = StitchParams(width_px=width_px, repair=not no_repair, refine=not no_refine,
                          exposure=exposure, blend_bands=bands)
    _check_outputs(output, report_path, pto_path)
    with _progress("stitch") as bar:
        result = stitch_panorama(rig, images, output, params, report=report_path,
                                 layers_dir=layers_dir, debug_dir=debug_dir,
                                 progress=bar, pto=pto_path)
    rep = result.report
    _say(f"Wrote {result.output} ({rep['width_px']}x{rep['height_px']}, "
               f"{len(rep['cameras'])} cameras, {len(rep['overlaps'])} overlaps, "
               f"coverage {100 * rep['coverage_fraction']:.1f}%)")
    seams = rep.get("seams")
    if isinstance(seams, dict) and seams.get("text"):
        _say(seams["text"])
    elif rep.get("warps"):
        worst = min(w["min_jacobian_det"] for w in rep["warps"])
        biggest = max(w["max_displacement_px"] for w in rep["warps"])
        _say(f"Warps: max displacement {biggest:.2f} px, min Jacobian det {worst:.3f}")
    _say("Timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in rep["timings_s"].items()))
    _notes(rep["warnings"], prefix="Warning")
    if report_path:
        _say(f"Report: {report_path}")
    if result.layer_paths:
        _say(f"Layers: {len(result.layer_paths)} files in {layers_dir}")
