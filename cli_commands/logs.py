"""``inspect``, ``samples`` and ``sync``: what a log or video holds, generated clips, sync."""

from __future__ import annotations

import click

from sensors.readers import FORMATS
from sensors.types import LENS_MODELS, CameraModel

from ._common import (
    _check_outputs,
    _claim_stdout,
    _Command,
    _defaults,
    _json_out,
    _Names,
    _notes,
    _progress,
    _projection_choices,
    _say,
    _script_options,
)


@click.command("inspect", cls=_Command)
@click.argument("file", type=click.Path(path_type=str))
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=str),
              help="Write the report as JSON to this file (- for standard output).")
@click.option("--plot", "plot_out", type=click.Path(dir_okay=False, path_type=str),
              help="Write a PNG of the gyro rates over time.")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)),
              help="Force a log format instead of detecting it.")
@_script_options
def inspect_cmd(file: str, json_out: str | None, plot_out: str | None, fmt: str | None) -> None:
    """Show what a sensor log, a phone-layout folder or a video holds."""
    from sensors.atomic import check_not_input
    from sensors.errors import InputError
    from sensors.inspect import format_report, inspect_path, plot_gyro

    for out in (json_out, plot_out):
        if out and out != "-":
            check_not_input(out, file)
    _check_outputs(json_out, plot_out)
    _claim_stdout(json_out)
    report, log = inspect_path(file, fmt)
    _say(format_report(report))
    if plot_out:
        if log is None:
            raise InputError("no gyro samples to plot", file)
        plot_gyro(log, plot_out)
    _json_out(json_out, report)


# samples
def _sample_projections() -> list[str]:
    from sensors.synthetic import CLIP_PROJECTIONS

    return list(CLIP_PROJECTIONS)


@click.command("samples", cls=_Command)
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
@click.option("--projection", type=_Names(_sample_projections), default="flat",
              show_default=True,
              help="flat (the lens above); equirect: a 360 camera's panorama, W = 2H, with "
                   "spherical metadata and no lens profile; dual-fisheye: a 360 camera's two "
                   "back-to-back fisheye lenses side by side, W = 2H, the calibration in the "
                   "truth.")
@click.option("--stacked", is_flag=True,
              help="dual-fisheye: the two lenses stacked, front on top (H = 2W, --width/2 "
                   "wide), instead of side by side.")
@_script_options
def samples_cmd(out_dir, kinds, width, duration_s, fps, seed, readout_ms, offset_ms, lens, ois,
                focus_breathing, motion_blur, no_audio, projection, stacked):
    """Write generated ground-truth samples to OUT_DIR.

    Per kind: <kind>_s<seed>.mp4, .gcsv, .lens.json (flat clips), .truth.npz/.json (and a
    _phone folder with --ois/--focus-breathing), each file written atomically.
    """
    from sensors.errors import InputError
    from sensors.synthetic import KINDS, generate_clip

    names = [k.strip() for k in kinds.split(",") if k.strip()]
    bad = [k for k in names if k not in KINDS]
    if bad or not names:
        raise InputError(f"unknown kind(s) {', '.join(bad) or '(none)'}; valid: "
                         + ", ".join(KINDS))
    from pathlib import Path

    from sensors.progress import report

    if stacked and projection != "dual-fisheye":
        raise InputError("--stacked goes with --projection dual-fisheye")
    if projection in ("equirect", "dual-fisheye"):
        width = width // 4 * 4
        height = width // 2
        if stacked:
            width, height = height, width
    else:
        height = int(round(width * 9 / 16 / 2)) * 2
        width = width // 2 * 2
    n_frames = int(duration_s * fps + 1e-9)
    _check_outputs(*(Path(out_dir) / f"{k}_s{seed}.mp4" for k in names))
    with _progress("rendering samples") as bar:
        for i, kind in enumerate(names):
            def tick(p, _base=i * n_frames, _kind=kind):
                report(bar, "render", _base + p.done, n_frames * len(names), _kind)

            clip = generate_clip(
                out_dir, kind=kind, seed=seed, width=width, height=height, fps=fps,
                duration_s=duration_s, readout_s=readout_ms / 1000.0, lens=lens, ois=ois,
                focus_breathing=focus_breathing, motion_blur=motion_blur,
                log_offset_s=offset_ms / 1000.0, audio=not no_audio, progress=tick,
                projection=projection, layout="stacked" if stacked else "side_by_side")
            _say(f"\n{clip.video}  ({clip.n_frames} frames, {width}x{height})", err=True)
    _say(f"wrote {len(names)} sample(s) to {out_dir}")


@click.command("sync", cls=_Command)
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
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Write the result (- for standard output).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="PNG of the rates before and after alignment.")
@click.option("--projection", type=_Names(_projection_choices), default="auto",
              show_default=True,
              help="auto: equirect when the clip has spherical metadata or is a 2:1 frame from a "
                   "360 camera, dual-fisheye when a 2:1 frame is two fisheye discs on black, "
                   "else flat. An equirect clip's rotation is measured on the sphere (no lens), "
                   "a dual-fisheye clip's on both discs (nominal lenses from the discs).")
@_script_options
def sync_cmd(video, gyro_path, reference_path, lens_path, readout_ms, search_s, axes,
             csv_gyro_unit, json_path, plot_path, projection):
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
        if out and out != "-":
            check_not_input(out, *inputs)
    _check_outputs(json_path, plot_path)
    _claim_stdout(json_path)
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

        probe_video(video)  # an unreadable video is reported before the flow starts
        if cam is None:
            from stabilize.inputs import dual_fisheye_motion_camera

            # a dual-fisheye clip is measured on both lens discs through its lens pair
            cam = dual_fisheye_motion_camera(video, projection, log)
        elif projection == "dual-fisheye":
            raise InputError("a dual-fisheye clip's lenses are found from its discs; --lens "
                             "does not apply", video)
        direction = log.readout_direction
        if direction not in ("top_to_bottom", "bottom_to_top"):
            raise InputError(f"sync supports row-wise readout only, not {direction}", gyro_path)
        with _progress("sync: decoding + flow") as bar:
            res = sync_video_to_gyro(video, log.gyro, camera=cam, readout_s=readout_s,
                                     search_s=search_s, axes=axes,
                                     readout_direction=direction, progress=bar,
                                     projection=projection, camera_name=log.camera)
        what = f"{video} <- {gyro_path} (t_video = t_log - offset)"
    _say(what)
    _say(f"offset:     {res.offset_s * 1e3:.3f} ms")
    _say(f"drift:      {res.drift_ppm:.2f} ppm")
    ru = f" (runner-up {res.axes_runner_up}, score {res.axes_runner_up_score:.3f})" \
        if res.axes_runner_up else ""
    _say(f"axes:       {res.axes} (score {res.axes_score:.3f}){ru}")
    _say(f"confidence: {res.confidence:.3f}")
    _say(f"residual:   {res.residual_rad_s:.4f} rad/s RMS; windows: "
         + ", ".join(f"{o * 1e3:.3f}" for o in res.window_offset_s) + " ms")
    _notes(res.notes)
    if json_path == "-":
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            write_sync_json(res, Path(tmp) / "sync.json")
            click.echo((Path(tmp) / "sync.json").read_text(), nl=False)
    elif json_path:
        write_sync_json(res, json_path)
        _say(f"wrote {json_path}")
    if plot_path:
        from sensors.sync.plot import plot_sync

        plot_sync(res, plot_path, title=what)
        _say(f"wrote {plot_path}")
