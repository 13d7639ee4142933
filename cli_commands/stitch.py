"""``stitch``: a rig's images in, a seam-repaired panorama out."""

from __future__ import annotations

import click

from stitch.params import EXPOSURE_CHOICES, REFINE_CHOICES, StitchParams

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
@click.argument("rig", type=click.Path(), required=False)
@click.argument("images", nargs=-1, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Panorama file (.jpg, .png, .tif), equirectangular with GPano XMP.")
@click.option("--width", "width_px", type=int, default=_STITCH["width_px"], show_default=True,
              help="Panorama width in pixels (height = width / 2); --dual-fisheye defaults to "
                   "the photo's own resolution along the seam.")
@click.option("--layers", "layers_dir", type=click.Path(file_okay=False),
              help="Write each camera's warped image as a full-canvas RGBA PNG here.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write the seam report (JSON) here.")
@click.option("--no-repair", is_flag=True, help="Skip overlap flow and spline warps.")
@click.option("--no-refine", is_flag=True, help="Keep the rig's calibration as given.")
@click.option("--refine", "refine_mode", type=click.Choice(REFINE_CHOICES),
              default=_STITCH["refine_mode"], show_default=True,
              help="What the calibration refinement may change (auto: lenses too when every "
                   "camera's matches support it).")
@click.option("--depth", "depth_m", type=float, default=_STITCH["depth_m"],
              help="Scene distance in metres for rigs with a baseline (default inf: the scene "
                   "at infinity).")
@click.option("--exposure", type=click.Choice(EXPOSURE_CHOICES),
              default=_STITCH["exposure"], show_default=True, help="Exposure compensation.")
@click.option("--bands", type=click.IntRange(0, 12), default=_STITCH["blend_bands"],
              show_default=True,
              help="Multi-band blender bands (0 = hard seams).")
@click.option("--debug-dir", type=click.Path(file_okay=False),
              help="Write numbered intermediate pictures here.")
@click.option("--pto", "pto_path", type=click.Path(dir_okay=False),
              help="Also write a Hugin project (.pto) of the rig and images.")
@click.option("--dual-fisheye", "dual_fisheye", type=click.Path(dir_okay=False),
              help="Stitch this dual-fisheye 360 photo (both lenses in one frame), no rig file.")
@click.option("--fov", "fov_deg", type=click.FloatRange(150, 260),
              help="Starting field of view of each lens for --dual-fisheye, degrees "
                   "[default: from the camera's EXIF, else 190].")
@click.option("--save-rig", "save_rig", type=click.Path(dir_okay=False),
              help="Write the rig the stitch used (calibrated or refined) as camera_rig.json.")
@_script_options
def stitch_cmd(rig, images, output, width_px, layers_dir, report_path, no_repair, no_refine,
               refine_mode, depth_m, exposure, bands, debug_dir, pto_path, dual_fisheye, fov_deg,
               save_rig):
    """Stitch a rosette: RIG file (Surround360 camera_rig.json, COLMAP rig_config.json or a
    Hugin .pto, whose images are used when none are given) and IMAGE... in rig order (or one
    folder with files named by camera id); or a dual-fisheye photo with --dual-fisheye."""
    from stitch.pipeline import stitch_panorama

    if dual_fisheye and (rig or images):
        raise click.UsageError("--dual-fisheye takes the photo itself; give no RIG or IMAGE")
    if not dual_fisheye and (not rig or (not images and not rig.lower().endswith(".pto"))):
        raise click.UsageError("give RIG and IMAGE... (or a .pto project), or --dual-fisheye")

    params = StitchParams(width_px=width_px, repair=not no_repair, refine=not no_refine,
                          refine_mode=refine_mode, depth_m=depth_m, exposure=exposure,
                          blend_bands=bands)
    _check_outputs(output, report_path, pto_path, save_rig)
    with _progress("stitch") as bar:
        if dual_fisheye:
            from stitch.dual_fisheye import stitch_dual_fisheye_file

            # no source: invoked from another command (the demo) without a width
            source = click.get_current_context().get_parameter_source("width_px")
            auto = source is None or source.name == "DEFAULT"
            result = stitch_dual_fisheye_file(
                dual_fisheye, output, params, fov_deg=fov_deg, auto_width=auto,
                report=report_path, layers_dir=layers_dir, save_rig=save_rig,
                debug_dir=debug_dir, progress=bar)
        else:
            if not images:
                from stitch.rig_io import read_pto

                project = read_pto(rig)
                rig, images = project.rig, project.image_paths
            result = stitch_panorama(rig, images, output, params, report=report_path,
                                     layers_dir=layers_dir, debug_dir=debug_dir,
                                     progress=bar, pto=pto_path, save_rig=save_rig)
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
