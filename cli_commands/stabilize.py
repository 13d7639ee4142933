"""``stabilize``: a clip and its motion log in, a stabilized clip out."""

from __future__ import annotations

import click

from stabilize.params import (
    BIT_DEPTHS,
    CODECS,
    DEFAULT_SMOOTHING,
    INTERPOLATIONS,
    ZOOM_MODES,
    StabilizeParams,
)

from ._common import (
    _STAB,
    _check_outputs,
    _claim_stdout,
    _Command,
    _json_out,
    _Names,
    _notes,
    _progress,
    _projection_choices,
    _say,
    _script_options,
)


def _filter_names() -> list[str]:
    from stabilize.filters import chain_choices

    return chain_choices()


#: StabilizeParams field (preset spelling) -> the stabilize options that set it.
_STAB_OPTIONS = {
    "filters": ("smoothing", "extra_filters", "horizon_lock", "blur_mask"),
    "window_s": ("window_s",), "strength": ("strength",), "zoom": ("zoom_mode",),
    "max_zoom": ("max_zoom",), "interpolation": ("interpolation",), "codec": ("codec",),
    "crf": ("crf",), "encoder_preset": ("encoder_preset",), "rc_lookahead": ("rc_lookahead",),
    "bit_depth": ("bit_depth",), "lens_correction": ("lens_correction",),
    "fov_scale": ("fov_scale",),
}


def _stabilize_params(ctx: click.Context) -> StabilizeParams:
    """The job's settings from the stabilize command's options: with ``--preset``, the preset
    file's parameters, overridden by the options given on the command line."""
    from click.core import ParameterSource

    from stabilize.filters import compose_chain
    from stabilize.presets import params_from, preset_params

    opts = ctx.params
    chain = compose_chain(opts["smoothing"], opts["extra_filters"],
                          horizon_lock=opts["horizon_lock"], blur_mask=opts["blur_mask"])
    values = {"filters": chain, "window_s": opts["window_s"], "strength": opts["strength"],
              "zoom": opts["zoom_mode"], "max_zoom": opts["max_zoom"],
              "interpolation": opts["interpolation"], "codec": opts["codec"],
              "crf": opts["crf"], "encoder_preset": opts["encoder_preset"],
              "rc_lookahead": opts["rc_lookahead"], "bit_depth": opts["bit_depth"],
              "lens_correction": opts["lens_correction"], "fov_scale": opts["fov_scale"]}
    if opts["preset_path"] is None:
        return params_from(values, StabilizeParams(), "command line")

    def given(name: str) -> bool:
        return ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT,
                                                      ParameterSource.DEFAULT_MAP)

    explicit = {k: v for k, v in values.items() if any(given(n) for n in _STAB_OPTIONS[k])}
    base = StabilizeParams(filters=compose_chain(DEFAULT_SMOOTHING, ()))
    return preset_params(opts["preset_path"], explicit, base)


def _dual_fisheye_options(video, dual_fisheye, projection, fov, rig_path, save_rig_path,
                          lens_path):
    """The dual-fisheye options of a run (None when the clip is not told to be one), or one
    ``Error: <video>: ...`` line for options that do not go together."""
    from sensors.errors import InputError

    if dual_fisheye and projection not in ("auto", "dual-fisheye"):
        raise InputError(f"--dual-fisheye and --projection {projection} contradict each other",
                         video)
    dual = dual_fisheye or projection == "dual-fisheye"
    if not dual:
        if projection == "auto" and (rig_path or save_rig_path):
            # the library refuses them unless the clip turns out to be dual-fisheye
            from stabilize.dual_fisheye.options import DualFisheyeOptions

            return DualFisheyeOptions(rig=rig_path, save_rig=save_rig_path)
        for name, given in (("--rig", rig_path), ("--save-rig", save_rig_path)):
            if given is not None:
                raise InputError(f"{name} goes with --dual-fisheye", video)
        return None
    if lens_path:
        raise InputError("--dual-fisheye calibrates its own lenses; --lens does not apply "
                         "(give a rig file with --rig)", video)
    from stabilize.dual_fisheye.options import DualFisheyeOptions

    opts = DualFisheyeOptions(rig=rig_path, fov_deg=None if fov is None else float(fov),
                              save_rig=save_rig_path)
    opts.check(video)
    return opts


@click.command("stabilize", cls=_Command)
@click.argument("video", type=click.Path(dir_okay=False))
@click.option("--gyro", "gyro_path", type=click.Path(),
              help="Motion log (else a same-stem .gcsv beside the video, else embedded telemetry).")
@click.option("--lens", "lens_path", type=click.Path(dir_okay=False),
              help="Gyroflow lens profile JSON or a bundled profile's name (`steadyrig lens "
                   "search`); else <stem>.lens.json beside the video, else the bundled "
                   "profile of the camera the file names, else a 90 degree pinhole is "
                   "assumed and reported.")
@click.option("--readout-ms", type=float,
              help="Rolling-shutter readout (else log/profile/default).")
@click.option("--offset-ms", type=float,
              help="Sync offset, t_video = t_log - offset (else 0 for embedded telemetry, "
                   "auto sync for a separate log).")
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False),
              help="Output video (default <video>.stabilized.mp4, .mov for prores).")
@click.option("--sidecar", "sidecar_path", type=click.Path(dir_okay=False),
              help="JSON with per-frame real/virtual orientation, zoom, offset and camera.")
@click.option("--debug-dir", type=click.Path(file_okay=False),
              help="Write a path plot and side-by-side preview frames here.")
@click.option("--smoothing", type=_Names(_filter_names), default=DEFAULT_SMOOTHING,
              show_default=True,
              help="First filter of the chain: intent (learned operator intent, per-axis "
                   "policies), gaussian (one sigma, --window-s), fixed, none, ...")
@click.option("--filter", "extra_filters", multiple=True, type=_Names(_filter_names),
              help="Further filter-chain entries, in order (repeatable).")
@click.option("--horizon-lock", is_flag=True,
              help="Remove roll against gravity (accelerometer when the log has one).")
@click.option("--blur-mask", is_flag=True,
              help="Blend real motion back along each frame's motion blur.")
@click.option("--window-s", type=float, default=_STAB["window_s"], show_default=True,
              help="Gaussian smoothing sigma, seconds.")
@click.option("--strength", type=float, default=_STAB["strength"], show_default=True,
              help="0..1: share of the smoothing applied.")
@click.option("--zoom", "zoom_mode", type=click.Choice(ZOOM_MODES),
              default=_STAB["zoom"], show_default=True, help="Zoom that hides undefined borders.")
@click.option("--max-zoom", type=float, default=_STAB["max_zoom"], show_default=True)
@click.option("--lens-correction", type=click.FloatRange(0.0, 1.0),
              default=_STAB["lens_correction"], show_default=True,
              help="Output projection: 1 rectified (straight lines), 0 the source lens's own "
                   "(a fisheye stays a fisheye), between a blend.")
@click.option("--fov", "fov_scale", type=float, default=_STAB["fov_scale"],
              show_default=True,
              help="Output field of view relative to the source's (0.1-4); above 1 it widens "
                   "only where the path leaves slack (the zoom still hides every undefined "
                   "pixel). With --dual-fisheye: each lens's starting field of view in degrees "
                   "for the calibration (150-260; default from the camera, else 190).")
@click.option("--interpolation", type=click.Choice(INTERPOLATIONS),
              default=_STAB["interpolation"], show_default=True)
@click.option("--codec", type=click.Choice(CODECS), default=_STAB["codec"],
              show_default=True)
@click.option("--crf", type=int, default=_STAB["crf"], show_default=True)
@click.option("--encoder-preset", default=_STAB["preset"], show_default=True,
              help="x264/x265 preset (ultrafast .. placebo).")
@click.option("--rc-lookahead", type=click.IntRange(0, 250),
              help="Encoder rate-control lookahead, frames (default: the preset's, capped "
                   "above 1080p to bound the encoder's memory: 15 frames at 4K).")
@click.option("--bit-depth", type=click.Choice(BIT_DEPTHS), default=_STAB["bit_depth"],
              show_default=True,
              help="Output samples; auto: 10 bits for 10-bit+ input with hevc or prores, else 8 "
                   "(10-bit H.264 plays on few devices).")
@click.option("--strict", is_flag=True,
              help="Refuse a log that leaves frames uncovered (else their motion comes from the "
                   "video) and a damaged video (else skip what cannot be decoded).")
@click.option("--allow-in-camera-stabilization", "allow_in_camera", is_flag=True,
              help="Stabilize a clip the camera stabilized itself (e.g. GoPro HyperSmooth) "
                   "although the file does not say how to undo it (else refused; GoPro "
                   "HERO8+/MAX per-frame rotation is undone).")
@click.option("--preset", "preset_path", type=click.Path(dir_okay=False),
              help="JSON file of stabilize parameters (options given here override it).")
@click.option("--save-preset", "save_preset_path", type=click.Path(dir_okay=False),
              help="Write this run's stabilize parameters as a JSON preset.")
@click.option("--segments", type=click.IntRange(min=1), default=1, show_default=True,
              help="Split the clip into this many time segments, warped and encoded on Dask "
                   "workers and joined without re-encoding.")
@click.option("--scheduler", metavar="ADDR",
              help="Dask scheduler for --segments, e.g. tcp://127.0.0.1:8786 (default: an "
                   "embedded local cluster).")
@click.option("--workers", type=click.IntRange(min=1),
              help="Worker processes of the embedded cluster for --segments (default: one "
                   "per core).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Write a JSON summary (frames, stabilized range, offset, zoom range, notes) "
                   "here (- for standard output).")
@click.option("--projection", type=_Names(_projection_choices), default="auto",
              show_default=True,
              help="auto: equirect when the clip has spherical metadata or is a 2:1 frame from a "
                   "360 camera, dual-fisheye when a 2:1 frame is two fisheye discs on black, "
                   "else flat. An equirect clip is stabilized by rotating the sphere (no crop, "
                   "no zoom) and keeps its spherical metadata.")
@click.option("--dual-fisheye", "dual_fisheye", is_flag=True,
              help="The clip holds a 360 camera's two fisheye lenses side by side (found by "
                   "--projection auto when the frame is two discs on black): calibrate the "
                   "lenses, stitch with seam warps and stabilize into an equirect 360 video.")
@click.option("--rig", "rig_path", type=click.Path(dir_okay=False),
              help="Dual-fisheye: the lenses' rig file (steadyrig stitch --dual-fisheye "
                   "--save-rig) instead of calibrating from the clip.")
@click.option("--save-rig", "save_rig_path", type=click.Path(dir_okay=False),
              help="Dual-fisheye: write the lens calibration used as a rig file.")
@click.option("--no-level", is_flag=True,
              help="Equirect: do not keep gravity down (on by default when the log has an "
                   "accelerometer).")
@_script_options
def stabilize_cmd(video, gyro_path, lens_path, readout_ms, offset_ms, out_path, sidecar_path,
                  debug_dir, smoothing, extra_filters, horizon_lock, blur_mask, window_s,
                  strength, zoom_mode, max_zoom, interpolation, codec, crf, encoder_preset,
                  rc_lookahead, bit_depth, strict, preset_path, save_preset_path, segments,
                  scheduler, workers, json_path, projection, no_level, lens_correction,
                  fov_scale, allow_in_camera, dual_fisheye, rig_path, save_rig_path):
    """Stabilize VIDEO with its gyro log (rolling shutter, lens and OIS aware); audio is kept."""
    from stabilize.warmup import warm_up_kernels

    warm_up_kernels()  # kernels load (built ahead of time, or numba) while the inputs are read

    from pathlib import Path

    from stabilize.pipeline import stabilize_video
    from stabilize.presets import save_preset
    from stabilize.sidecar import result_summary

    if scheduler is not None and workers is not None:
        raise click.UsageError("--workers sizes the embedded cluster; it cannot be combined "
                               "with --scheduler (start the workers with `dask worker`)")
    if segments == 1 and (scheduler is not None or workers is not None):
        raise click.UsageError("--scheduler and --workers go with --segments N (N > 1)")
    from click.core import ParameterSource

    fov_given = click.get_current_context().get_parameter_source("fov_scale") not in (
        None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
    df_options = _dual_fisheye_options(video, dual_fisheye, projection,
                                       fov_scale if fov_given else None, rig_path,
                                       save_rig_path, lens_path)
    if dual_fisheye or projection == "dual-fisheye":
        projection = "dual-fisheye"
        click.get_current_context().params["fov_scale"] = _STAB["fov_scale"]
    elif not 0.1 <= fov_scale <= 4.0:
        raise click.BadParameter(f"{fov_scale:g} is not in the range 0.1<=x<=4.0 (a lens field "
                                 "of view in degrees goes with --dual-fisheye).",
                                 param_hint="'--fov'")
    params = _stabilize_params(click.get_current_context())
    if out_path is None:
        v = Path(video)
        out_path = str(v.with_name(v.stem + ".stabilized" + (".mov" if params.codec == "prores"
                                                              else ".mp4")))
    if lens_path and not Path(lens_path).is_file():
        from sensors.lens_db.lookup import resolve_lens
        from sensors.video import probe_video

        info = probe_video(video)  # a database profile name: scaled to the clip here
        lens_path, lens_what = resolve_lens(lens_path, info.width, info.height)
        _say(lens_what)
    _check_outputs(out_path, sidecar_path, save_preset_path, json_path)
    _claim_stdout(json_path)
    if save_preset_path:
        save_preset(params, save_preset_path)
        _say(f"wrote preset {save_preset_path}")
    kwargs = dict(gyro=gyro_path, lens=lens_path, readout_ms=readout_ms, offset_ms=offset_ms,
                  params=params, sidecar=sidecar_path, strict=strict,
                  allow_in_camera_stabilization=allow_in_camera)
    if df_options is not None:
        kwargs["dual_fisheye"] = df_options
    with _progress("stabilize") as tick:  # a Progress record per encoded frame (or segment)
        if segments > 1:
            if debug_dir:
                raise click.UsageError("--debug-dir needs a single run (without --segments)")
            from stabilize.segments import stabilize_segmented

            res = stabilize_segmented(video, out_path, segments=segments, scheduler=scheduler,
                                      workers=workers, progress=tick, projection=projection,
                                      level_sphere=not no_level, **kwargs)
        else:
            res = stabilize_video(video, out_path, debug_dir=debug_dir, progress=tick,
                                  projection=projection, level_sphere=not no_level, **kwargs)
    src = res.motion_source
    counts = ", ".join(f"{k} {int((src == k).sum())}" for k in ("gyro", "video", "none")
                       if src is not None and (src == k).any())
    sphere = {"equirect": " (equirect: sphere rotated, spherical metadata written)",
              "dual-fisheye": " (dual-fisheye: lenses stitched, sphere rotated, equirect with "
                              "spherical metadata written)"}.get(getattr(res, "projection",
                                                                         "flat"), "")
    _say(f"wrote {res.output}: {res.n_frames} frames; camera motion from {counts}{sphere}")
    _say(f"offset {res.offset_s * 1e3:.2f} ms, readout {res.readout_s * 1e3:.2f} ms, "
         f"zoom {res.zoom.min():.3f}..{res.zoom.max():.3f}, {res.elapsed_s:.1f} s")
    _notes(res.notes)
    if res.sidecar is not None:
        _say(f"wrote {res.sidecar}")
    if debug_dir:
        _say(f"wrote debug files to {debug_dir}")
    _json_out(json_path, {"input": str(video), "output": str(res.output),
                          "sidecar": None if res.sidecar is None else str(res.sidecar),
                          "segments": segments, **result_summary(res),
                          "elapsed_s": round(res.elapsed_s, 3)})
