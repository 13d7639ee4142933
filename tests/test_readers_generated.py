"""The readers on a generated ground-truth clip (sensors.synthetic.generate_clip)."""

import json

import numpy as np
import pytest

from sensors.errors import InputError
from sensors.inspect import inspect_path
from sensors.lens_profile import load_lens_profile
from sensors.readers import detect_format, read_log
from sensors.readers.telemetry import telemetry_parser_available


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from sensors.synthetic import generate_clip

    out = tmp_path_factory.mktemp("gen")
    return generate_clip(out, kind="walk", seed=3, width=160, height=90, duration_s=0.5,
                         ois=True, still_lead_s=0.5, log_offset_s=0.25, audio=False)


def test_gcsv_keeps_the_log_clock_and_readout(clip):
    log = read_log(clip.gcsv)
    assert log.format == "gcsv" and not log.same_clock_as_video
    # The log starts still_lead_s before the first frame, on a clock offset by log_offset_s.
    assert log.gyro.t_s[0] == pytest.approx(-0.5 + 0.25, abs=1e-6)
    assert log.readout_s == pytest.approx(clip.readout_s, abs=1e-9)


def test_gcsv_and_phone_log_agree(clip):
    g = read_log(clip.gcsv).gyro
    phone = read_log(clip.phone_dir)
    np.testing.assert_allclose(phone.gyro.t_s, g.t_s, atol=1e-6)
    # gcsv rows are quantised to gscale = 2e-4 rad/s; the phone file keeps 10 digits.
    np.testing.assert_allclose(phone.gyro.omega_rad_s, g.omega_rad_s, atol=1e-4 + 1e-9)
    assert len(phone.frames) == clip.n_frames
    assert phone.ois is not None


def test_phone_frame_times_are_the_truth_on_the_log_clock(clip):
    truth = np.load(clip.truth_npz)
    phone = read_log(clip.phone_dir)
    np.testing.assert_allclose(phone.frames.t_s - clip.offset_s, truth["frame_t_s"], atol=1e-9)


def test_lens_profile_is_the_true_camera(clip):
    cam = load_lens_profile(clip.lens, size=(160, 90))
    truth = json.loads(clip.truth_json.read_text())
    np.testing.assert_allclose(cam.K, truth["K"], atol=1e-9)
    np.testing.assert_allclose(cam.dist, truth["dist"], atol=1e-12)


def test_video_beside_a_gcsv_is_not_read_as_embedded_telemetry(clip):
    # telemetry-parser would fall back to the same-named .gcsv and re-base it to t = 0; without
    # it installed, a video that is not GoPro is refused with the install hint.
    assert detect_format(clip.video) == "telemetry"
    reason = ("telemetry-parser could not read it" if telemetry_parser_available()
              else r"pip install 'steadyrig\[telemetry\]'")
    with pytest.raises(InputError, match=reason):
        read_log(clip.video)
    report, log = inspect_path(clip.video)
    assert log is None and report["samples"] is None
    assert clip.gcsv.name in report["sidecars"]
    assert report["video"]["n_frames"] == clip.n_frames
