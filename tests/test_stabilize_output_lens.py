"""The output lens end to end: every setting keeps the output inside the source frame."""

import json

import av
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from sensors.synthetic import generate_clip
from stabilize.bad_region import border_points
from stabilize.filters import compose_chain
from stabilize.inputs import resolve_inputs
from stabilize.params import StabilizeParams
from stabilize.pipeline import plan_clip
from stabilize.synthesis import map_vertices


@pytest.fixture(scope="module")
def fisheye(tmp_path_factory):
    # a wide fisheye on a pan: the border the warp draws is curved in the source
    d = tmp_path_factory.mktemp("fisheye")
    return generate_clip(d, kind="pan", seed=4, width=320, height=180, duration_s=3.0,
                         lens="opencv_fisheye", hfov_deg=140.0, readout_s=0.02, audio=False)


@pytest.mark.parametrize("fov", [0.8, 1.0, 1.3])
@pytest.mark.parametrize("correction", [0.0, 0.5, 1.0])
def test_every_output_border_point_maps_inside_the_source(fisheye, correction, fov):
    clip = resolve_inputs(fisheye.video, lens=fisheye.lens, offset_ms=0.0)
    params = StabilizeParams(filters=compose_chain("intent"), lens_correction=correction,
                             fov_scale=fov)
    plan = plan_clip(clip, params)
    path, cam = plan.path, clip.camera
    assert not np.any(path.extras["zoom_limited"])
    pts = border_points(cam.size, 65)  # twice as dense as the check itself
    w, h = cam.size
    worst = -np.inf
    for k in range(*plan.frames):
        uv = map_vertices(cam, plan.motion.frame(k), path.virtual_quat[k], float(path.zoom[k]),
                          pts, params.output_lens())
        worst = max(worst, float(np.max([-uv[:, 0], uv[:, 0] - (w - 1), -uv[:, 1],
                                          uv[:, 1] - (h - 1)])))
    assert worst <= 0.1  # px outside the source


def test_command_line_output_lens_reaches_the_warp_and_the_sidecar(fisheye, tmp_path):
    out, side = tmp_path / "o.mp4", tmp_path / "o.json"
    res = CliRunner().invoke(main, ["stabilize", str(fisheye.video), "--lens", str(fisheye.lens),
                                    "--offset-ms", "0", "-o", str(out), "--sidecar", str(side),
                                    "--lens-correction", "0.5", "--fov", "1.2"])
    assert res.exit_code == 0, res.output
    d = json.loads(side.read_text())
    assert d["params"]["lens_correction"] == 0.5 and d["params"]["fov_scale"] == 1.2
    assert min(f["zoom"] for f in d["frames"] if f["stabilized"]) > 1.0  # the wider view paid
    with av.open(str(out)) as c:
        for k, fr in enumerate(c.decode(video=0)):
            if k % 15 == 0:
                y = fr.to_ndarray(format="gray").astype(float)
                # black (16) would mean pixels outside the source
                assert min(y[0].mean(), y[-1].mean(), y[:, 0].mean(), y[:, -1].mean()) > 30.0


def test_out_of_range_output_lens_is_one_line_error(fisheye, tmp_path):
    res = CliRunner().invoke(main, ["stabilize", str(fisheye.video), "-o", str(tmp_path / "o.mp4"),
                                    "--lens-correction", "1.5"])
    assert res.exit_code == 2 and "lens-correction" in res.output
