"""``demo``: the main jobs on the bundled samples."""

from __future__ import annotations

import click

from ._common import (
    _Command,
    _script_options,
)
from .logs import inspect_cmd, samples_cmd
from .stabilize import stabilize_cmd
from .stitch import stitch_cmd


def _samples_root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "samples"


@click.command("demo", cls=_Command)
@click.argument("out_dir", type=click.Path(file_okay=False), default="out/demo")
@_script_options
@click.pass_context
def demo_cmd(ctx: click.Context, out_dir: str) -> None:
    """Run the main jobs on the bundled samples, writing everything to OUT_DIR.

    1. inspect the real GoPro clip, its embedded gyro and the lens profile it names;
    2. render a generated walking clip with known truth;
    3. stabilize the generated clip, and the real GoPro clip from its first frame to its last
       with the bundled database's profile for its camera and lens mode;
    4. generate an 8-camera rosette with parallax and miscalibration, and stitch it with
       seam repair;
    5. stitch the real dual-fisheye 360 photo with no rig file (its calibration saved);
    6. render a generated dual-fisheye 360 clip and stabilize it into equirect 360 video.
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
    # The demo rewrites its own outputs on every run: -y for the commands it runs.
    ctx.meta["steadyrig.overwrite"] = True

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
    click.secho("\n== 5. stitch a real dual-fisheye 360 photo, no rig file", bold=True)
    ctx.invoke(stitch_cmd, dual_fisheye=str(samples / "dualfisheye" / "dualfisheye.jpg"),
               output=str(out / "dualfisheye_pano.jpg"),
               save_rig=str(out / "dualfisheye_rig.json"))

    click.secho("\n== 6. stabilize a generated dual-fisheye 360 clip into equirect video",
                bold=True)
    ctx.invoke(samples_cmd, out_dir=str(out / "clips360"), kinds="walk", width=640,
               duration_s=3.0, projection="dual-fisheye")
    ctx.invoke(stabilize_cmd, video=str(out / "clips360" / "walk_s0.mp4"), offset_ms=0.0,
               out_path=str(out / "walk360.stabilized.mp4"),
               sidecar_path=str(out / "walk360.stabilized.json"))
    click.secho(f"\nDemo outputs are in {out}/", bold=True)
