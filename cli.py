"""The ``steadyrig`` command line: parses, calls the library, reports.

Every command turns the library's own errors into one line ``Error: ...`` and exit code 2, with
no traceback (docs/architecture.md "Bad input"). Choices and defaults come from the library's
registries and parameter dataclasses, so a new filter, codec or mode is offered without an edit
here.
"""

from __future__ import annotations

import gc
import os
import sys

if sys.argv[1:2] == ["stabilize"]:
    # The stabilizer makes no BLAS calls worth a thread, and OpenBLAS's idle workers (one per
    # extra core, for numpy's and for scipy's copy) spin for a while after loading, on the cores
    # the numba warm-up, the decoder and x264 need. Set before numpy loads; a user's choice wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click  # noqa: E402

from sensors.errors import SteadyrigError  # noqa: E402
from sensors.interrupt import describe, exit_code, handle_signals  # noqa: E402
from sensors.readers import FORMATS  # noqa: E402
from sensors.types import LENS_MODELS, CameraModel  # noqa: E402
from stabilize.params import (  # noqa: E402
    BIT_DEPTHS,
    CODECS,
    DEFAULT_SMOOTHING,
    INTERPOLATIONS,
    ZOOM_MODES,
    StabilizeParams,
)
from stitch.params import EXPOSURE_CHOICES, StitchParams  # noqa: E402


class _Group(click.Group):
    """A click group that reports expected failures as one line and exit code 2."""

    def invoke(self, ctx: click.Context):
        with handle_signals():  # SIGTERM and SIGHUP stop a command as Ctrl-C does
            return self._invoke_reporting(ctx)

    def _invoke_reporting(self, ctx: click.Context):
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
        except KeyboardInterrupt as exc:  # Ctrl-C, or a stop signal (sensors.interrupt)
            click.echo(describe(exc), err=True)
            sys.exit(exit_code(exc))
        finally:
            # The interpreter's last collection walks every object numba, scipy and OpenCV
            # created (0.3 s after a transcode here); the process ends now, so skip it.
            # Outputs are closed and renamed by then, and atexit handlers still run.
            gc.freeze()


@click.group(cls=_Group)
@click.version_option(package_name="steadyrig")
def main() -> None:
    """steadyrig: gyro-fused video stabilization and rosette panorama seam repair."""


class _Names(click.Choice):
    """A choice whose names a library registry gives when they are needed (help, parsing), so
    an entry registered after this module was imported is offered too."""

    def __init__(self, names):
        self._names = names
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._names())

    @choices.setter
    def choices(self, _value) -> None:
        pass  # click.Choice.__init__ assigns; the registry stays the source


def _defaults(params_class) -> dict:
    """Field defaults of a library parameter dataclass, by field name."""
    import dataclasses

    return {f.name: f.default for f in dataclasses.fields(params_class)}


_STAB = _defaults(StabilizeParams)
_STITCH = _defaults(StitchParams)


def progress(iterable=None, length=None, label=""):
    """A progress bar on stderr (silent when stderr is not a terminal and CI is set)."""
    return click.progressbar(iterable, length=length, label=label, file=sys.stderr)


# --- inspect / samples (sensors) ---

@main.command("inspect")
@click.argument("file", type=click.Path(path_type=str))
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=str),
              help="Write the report as JSON to this file.")
@click.option("--plot", "plot_out", type=click.Path(dir_okay=False, path_type=str),
              help="Write a PNG of the gyro rates over time.")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)),
              help="Force a log format instead of detecting it.")
def inspect_cmd(file: str, json_out: str | None, plot_out: str | None, fmt: str | None) -> None:
    """Show what a sensor log, a phone-layout folder or a video holds."""
    import json

    from sensors.atomic import atomic_output, check_not_input
    from sensors.errors import InputError
    from sensors.inspect import format_report, inspect_path, plot_gyro

    for out in (json_out, plot_out):
        if out:
            check_not_input(out, file)
    report, log = inspect_path(file, fmt)
    click.echo(format_report(report))
    if plot_out:
        if log is None:
            raise InputError("no gyro samples to plot", file)
        plot_gyro(log, plot_out)
    if json_out:
        with atomic_output(json_out) as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n")


# samples
@main.command("samples")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--kinds", default="static,walk,run,pan,tilt,free", show_default=True,
              help="Comma-separated camera path kinds, one clip each.")
@click.option("--width", type=click.IntRange(64, 7680), default=640, show_default=True,
              help="Frame width in pixels (height = 9/16 of it, even).")
@click.option("--duration", "duration_s", type=click.FloatRange(0.5, 600), default=4.0,
              show_default=True, help="Clip length in seconds.")
@click.option("--fps", type=click.FloatRange(1, 240), default=30.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--readout-ms", type=click.FloatRange(0, 100), default=20.0, show_default=True,
              help="Rolling-shutter readout time.")
@click.option("--offset-ms", type=float, default=0.0, show_default=True,
              help="Log clock minus video clock.")
@click.option("--lens", type=click.Choice(LENS_MODELS),
              default=_defaults(CameraModel)["model"], show_default=True)
@click.option("--ois", is_flag=True, help="Simulate OIS lens shift (writes a phone-layout log).")
@click.option("--focus-breathing", is_flag=True, help="Simulate focal-length breathing.")
@click.option("--motion-blur", is_flag=True, help="Average sub-exposure renders.")
@click.option("--no-audio", is_flag=True, help="Leave out the quiet tone track.")
def samples_cmd(out_dir, kinds, width, duration_s, fps, seed, readout_ms, offset_ms, lens, ois,
                focus_breathing, motion_blur, no_audio):
    """Write generated ground-truth samples to OUT_DIR.

    Per kind: <kind>_s<seed>.mp4, .gcsv, .lens.json, .truth.npz/.json (and a _phone folder with
    --ois/--focus-breathing), each file written atomically.
    """
    from sensors.errors import InputError
    from sensors.synthetic import KINDS, generate_clip

    names = [k.strip() for k in kinds.split(",") if k.strip()]
    bad = [k for k in names if k not in KINDS]
    if bad or not names:
        raise InputError(f"unknown kind(s) {', '.join(bad) or '(none)'}; valid: "
                         + ", ".join(KINDS))
    height = int(round(width * 9 / 16 / 2)) * 2
    width = width // 2 * 2
    n_frames = int(duration_s * fps + 1e-9)
    with progress(length=n_frames * len(names), label="rendering samples") as bar:
        for i, kind in enumerate(names):
            def tick(p, _base=i * n_frames):
                bar.update(_base + p.done - bar.pos)

            clip = generate_clip(
                out_dir, kind=kind, seed=seed, width=width, height=height, fps=fps,
                duration_s=duration_s, readout_s=readout_ms / 1000.0, lens=lens, ois=ois,
                focus_breathing=focus_breathing, motion_blur=motion_blur,
                log_offset_s=offset_ms / 1000.0, audio=not no_audio, progress=tick)
            click.echo(f"\n{clip.video}  ({clip.n_frames} frames, {width}x{height})", err=True)
    click.echo(f"wrote {len(names)} sample(s) to {out_dir}")


# --- sync ---
@main.command("sync")
@click.argument("video", required=False, type=click.Path(dir_okay=False))
@click.option("--gyro", "gyro_path", required=True, type=click.Path(),
              help="Motion log (gcsv, telemetry, csv, phone folder).")
@click.option("--reference", "reference_path", type=click.Path(),
              help="Second log rigidly attached to the first: log-to-log sync (no video).")
@click.option("--lens", "lens_path", type=click.Path(dir_okay=False),
              help="Gyroflow lens profile JSON or a bundled profile's name (`steadyrig lens "
                   "search`); else a pinhole with estimated focal.")
@click.option("--readout-ms", type=float,
              help="Rolling-shutter readout time (else from the log/lens, else estimated).")
@click.option("--search-s", type=float, default=5.0, show_default=True,
              help="Half-width of the offset search window.")
@click.option("--axes", help="Fix the IMU axis mapping, e.g. +x+y+z (else all 48 are tried).")
@click.option("--csv-gyro-unit", type=click.Choice(["rad/s", "deg/s"]),
              help="Rate unit of plain-CSV logs (else inferred by the CSV reader).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the result.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="PNG of the rates before and after alignment.")
def sync_cmd(video, gyro_path, reference_path, lens_path, readout_ms, search_s, axes,
             csv_gyro_unit, json_path, plot_path):
    """Find the time offset (t_video = t_log - offset), drift and IMU axes of a motion log."""
    from sensors.atomic import check_not_input
    from sensors.errors import InputError
    from sensors.readers import detect_format, read_log
    from sensors.readout import known_readout_s
    from sensors.sync import sync_logs, sync_video_to_gyro, write_sync_json

    def read(path):
        fmt = detect_format(path)
        opts = {"gyro_unit": csv_gyro_unit} if csv_gyro_unit and fmt == "csv" else {}
        return read_log(path, fmt, **opts)

    inputs = [p for p in (video, gyro_path, reference_path, lens_path) if p]
    for out in (json_path, plot_path):
        if out:
            check_not_input(out, *inputs)
    if (video is None) == (reference_path is None):
        raise InputError("give either a VIDEO or --reference LOG (not both, not neither)")
    log = read(gyro_path)
    if reference_path:
        ref = read(reference_path)
        res = sync_logs(log.gyro, ref.gyro, search_s=search_s)
        what = f"{gyro_path} -> {reference_path} (t_reference = t_gyro - offset)"
    else:
        cam = None
        if lens_path:
            from sensors.lens_db.lookup import resolve_lens

            cam, lens_what = resolve_lens(lens_path)  # a file, else a database profile name
            click.echo(lens_what)
        readout_s = known_readout_s(readout_ms, log, cam)  # None: estimated with the offset
        from sensors.video import probe_video

        info = probe_video(video)
        direction = log.readout_direction
        if direction not in ("top_to_bottom", "bottom_to_top"):
            raise InputError(f"sync supports row-wise readout only, not {direction}", gyro_path)
        with progress(length=max(1, info.n_frames), label="sync: decoding + flow") as bar:
            res = sync_video_to_gyro(video, log.gyro, camera=cam, readout_s=readout_s,
                                     search_s=search_s, axes=axes,
                                     readout_direction=direction,
                                     progress=lambda p: bar.update(1))
            # A long clip is analysed in windows only: the frames skipped count as done.
            bar.update(max(0, bar.length - bar.pos))
        what = f"{video} <- {gyro_path} (t_video = t_log - offset)"
    click.echo(what)
    click.echo(f"offset:     {res.offset_s * 1e3:.3f} ms")
    click.echo(f"drift:      {res.drift_ppm:.2f} ppm")
    ru = f" (runner-up {res.axes_runner_up}, score {res.axes_runner_up_score:.3f})" \
        if res.axes_runner_up else ""
    click.echo(f"axes:       {res.axes} (score {res.axes_score:.3f}){ru}")
    click.echo(f"confidence: {res.confidence:.3f}")
    click.echo(f"residual:   {res.residual_rad_s:.4f} rad/s RMS; windows: "
               + ", ".join(f"{o * 1e3:.3f}" for o in res.window_offset_s) + " ms")
    for note in res.notes:
        click.echo(f"note: {note}")
    if json_path:
        write_sync_json(res, json_path)
        click.echo(f"wrote {json_path}")
    if plot_path:
        from sensors.sync.plot import plot_sync

        plot_sync(res, plot_path, title=what)
        click.echo(f"wrote {plot_path}")



# --- stabilize ---
def _filter_names() -> list[str]:
    from stabilize.filters import chain_choices

    return chain_choices()


def _stabilize_params(opts: dict) -> StabilizeParams:
    """The job's settings from the stabilize command's parsed options (``Context.params``)."""
    from stabilize.filters import compose_chain

    chain = compose_chain(opts["smoothing"], opts["extra_filters"],
                          horizon_lock=opts["horizon_lock"], blur_mask=opts["blur_mask"])
    return StabilizeParams(filters=chain, window_s=opts["window_s"], strength=opts["strength"],
                           zoom=opts["zoom_mode"], max_zoom=opts["max_zoom"],
                           interpolation=opts["interpolation"], codec=opts["codec"],
                           crf=opts["crf"], preset=opts["preset"],
                           rc_lookahead=opts["rc_lookahead"], bit_depth=opts["bit_depth"])


@main.command("stabilize")
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
@click.option("--interpolation", type=click.Choice(INTERPOLATIONS),
              default=_STAB["interpolation"], show_default=True)
@click.option("--codec", type=click.Choice(CODECS), default=_STAB["codec"],
              show_default=True)
@click.option("--crf", type=int, default=_STAB["crf"], show_default=True)
@click.option("--preset", default=_STAB["preset"], show_default=True)
@click.option("--rc-lookahead", type=click.IntRange(0, 250),
              help="Encoder rate-control lookahead, frames (default: the preset's, capped "
                   "above 1080p to bound the encoder's memory: 15 frames at 4K).")
@click.option("--bit-depth", type=click.Choice(BIT_DEPTHS), default=_STAB["bit_depth"],
              show_default=True,
              help="Output samples; auto: 10 bits for 10-bit+ input with hevc or prores, else 8 "
                   "(10-bit H.264 plays on few devices).")
@click.option("--strict", is_flag=True,
              help="Refuse a log that covers only part of the clip (else pass the rest through) "
                   "and a damaged video (else skip what cannot be decoded).")
@click.option("--allow-in-camera-stabilization", "allow_in_camera", is_flag=True,
              help="Stabilize a clip the camera stabilized itself (e.g. GoPro HyperSmooth) "
                   "although the file does not say how to undo it (else refused; GoPro "
                   "HERO8+/MAX per-frame rotation is undone).")
def stabilize_cmd(video, gyro_path, lens_path, readout_ms, offset_ms, out_path, sidecar_path,
                  debug_dir, smoothing, extra_filters, horizon_lock, blur_mask, window_s,
                  strength, zoom_mode, max_zoom, interpolation, codec, crf, preset, rc_lookahead,
                  bit_depth, strict, allow_in_camera):
    """Stabilize VIDEO with its gyro log (rolling shutter, lens and OIS aware); audio is kept."""
    from stabilize.warmup import warm_up_kernels

    warm_up_kernels()  # kernels load (built ahead of time, or numba) while the inputs are read

    from pathlib import Path

    from stabilize.pipeline import stabilize_video

    params = _stabilize_params(click.get_current_context().params)
    if out_path is None:
        v = Path(video)
        out_path = str(v.with_name(v.stem + ".stabilized" + (".mov" if codec == "prores"
                                                              else ".mp4")))
    if lens_path and not Path(lens_path).is_file():
        from sensors.lens_db.lookup import resolve_lens
        from sensors.video import probe_video

        info = probe_video(video)  # a database profile name: scaled to the clip here
        lens_path, lens_what = resolve_lens(lens_path, info.width, info.height)
        click.echo(lens_what)
    bars = []  # the bar appears with the first encoded frame (after checks and sync)

    def tick(p):  # a sensors.progress.Progress record per encoded frame
        if not bars:
            bars.append(progress(length=p.total, label="stabilize"))
            bars[0].__enter__()
        bars[0].update(1)

    try:
        res = stabilize_video(video, out_path, gyro=gyro_path, lens=lens_path,
                              readout_ms=readout_ms, offset_ms=offset_ms, params=params,
                              sidecar=sidecar_path, debug_dir=debug_dir, progress=tick,
                              strict=strict, allow_in_camera_stabilization=allow_in_camera)
    finally:
        if bars:
            bars[0].__exit__(None, None, None)
    src = res.motion_source
    counts = ", ".join(f"{k} {int((src == k).sum())}" for k in ("gyro", "video", "none")
                       if src is not None and (src == k).any())
    click.echo(f"wrote {res.output}: {res.n_frames} frames; camera motion from {counts}")
    click.echo(f"offset {res.offset_s * 1e3:.2f} ms, readout {res.readout_s * 1e3:.2f} ms, "
               f"zoom {res.zoom.min():.3f}..{res.zoom.max():.3f}, {res.elapsed_s:.1f} s")
    for note in res.notes:
        click.echo(f"note: {note}")
    if res.sidecar is not None:
        click.echo(f"wrote {res.sidecar}")
    if debug_dir:
        click.echo(f"wrote debug files to {debug_dir}")



# --- stitch ---


@main.command("stitch")
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
def stitch_cmd(rig, images, output, width_px, layers_dir, report_path, no_repair, no_refine,
               exposure, bands, debug_dir, pto_path):
    """Stitch a rosette: RIG file (Surround360 camera_rig.json or COLMAP rig_config.json) and
    IMAGE... in rig order (or one folder with files named by camera id)."""
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
    seams = rep.get("seams")
    if isinstance(seams, dict) and seams.get("text"):
        click.echo(seams["text"])
    elif rep.get("warps"):
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
                            progress=lambda p: bar.update(1))
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


def _samples_root():
    from pathlib import Path

    return Path(__file__).resolve().parent / "samples"


@main.command("demo")
@click.argument("out_dir", type=click.Path(file_okay=False), default="out/demo")
@click.pass_context
def demo_cmd(ctx: click.Context, out_dir: str) -> None:
    """Run the main jobs on the bundled samples, writing everything to OUT_DIR.

    1. inspect the real GoPro clip, its embedded gyro and the lens profile it names;
    2. render a generated walking clip with known truth;
    3. stabilize the generated clip, and the real GoPro clip from its first frame to its last
       with the bundled database's profile for its camera and lens mode;
    4. generate an 8-camera rosette with parallax and miscalibration, and stitch it with
       seam repair.
    """
    from pathlib import Path

    from sensors.errors import InputError
    from stitch.synthetic import generate_rosette

    out = Path(out_dir)
    samples = _samples_root()
    karma = samples / "gopro" / "karma.mp4"
    if not karma.is_file():
        raise InputError("bundled sample missing; run from a full checkout", str(karma))
    out.mkdir(parents=True, exist_ok=True)

    click.secho("== 1. inspect a real GoPro clip: embedded gyro, camera settings, lens profile",
                bold=True)
    ctx.invoke(inspect_cmd, file=str(karma), json_out=str(out / "karma.inspect.json"),
               plot_out=str(out / "karma.gyro.png"))

    click.secho("\n== 2. render a generated walking clip (ground truth beside it)", bold=True)
    ctx.invoke(samples_cmd, out_dir=str(out / "clips"), kinds="walk", width=640,
               duration_s=4.0)

    click.secho("\n== 3a. stabilize the generated clip (.gcsv and .lens.json found beside it)",
                bold=True)
    clip = out / "clips" / "walk_s0.mp4"
    ctx.invoke(stabilize_cmd, video=str(clip), out_path=str(out / "walk_s0.stabilized.mp4"),
               sidecar_path=str(out / "walk_s0.stabilized.json"),
               debug_dir=str(out / "walk_debug"))

    click.secho("\n== 3b. stabilize the real GoPro clip, first frame to last: embedded gyro, "
                "lens profile from the database (HERO5 Black, Medium)", bold=True)
    ctx.invoke(stabilize_cmd, video=str(karma), out_path=str(out / "karma.stabilized.mp4"),
               sidecar_path=str(out / "karma.stabilized.json"))

    click.secho("\n== 4. stitch a generated 8-camera rosette with seam repair", bold=True)
    ros = generate_rosette(out / "rosette", n_cameras=8, width=960, height=720, seed=1)
    ctx.invoke(stitch_cmd, rig=str(ros.rig_path), images=tuple(map(str, ros.image_paths)),
               output=str(out / "rosette_pano.jpg"),
               report_path=str(out / "rosette_report.json"), pto_path=str(out / "rosette.pto"))
    click.secho(f"\nDemo outputs are in {out}/", bold=True)


# --- lens: the bundled Gyroflow lens-profile database ---

@main.group("lens")
def lens_group() -> None:
    """Search and show the bundled Gyroflow lens profiles (their names work with --lens)."""


@lens_group.command("search")
@click.argument("text", nargs=-1, required=True)
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True,
              help="Most profiles listed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def lens_search_cmd(text: tuple[str, ...], limit: int, as_json: bool) -> None:
    """List profiles whose name, brand, model, lens or note contain every word of TEXT."""
    import json

    from sensors.lens_db.lookup import format_search, search_profiles

    rows = search_profiles(" ".join(text), limit=None)
    if as_json:
        click.echo(json.dumps(rows[:limit], indent=2))
    else:
        more = f"... {len(rows) - limit} more (--limit)" if len(rows) > limit else ""
        click.echo(format_search(rows[:limit], more))


@lens_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def lens_show_cmd(name: str, as_json: bool) -> None:
    """Show one profile: calibration size, focal, distortion, readout, notes."""
    import json

    from sensors.lens_db.lookup import describe_profile, format_profile

    info = describe_profile(name)
    click.echo(json.dumps(info, indent=2) if as_json else format_profile(info))


if __name__ == "__main__":
    main()
