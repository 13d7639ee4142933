"""The intent filter never leaves more shake than the plain Gaussian would on the same log."""

import json
from pathlib import Path

import numpy as np
import pytest

from sensors.orientation import estimate_bias, integrate_gyro
from sensors.quaternion import qexp
from sensors.readers import read_log
from sensors.synthetic import camera_path, synthesize_gyro
from sensors.synthetic.clip import default_camera
from sensors.types import GyroLog
from stabilize.filters import FilterContext, compose_chain, get_filter, run_chain
from stabilize.intent.guard import FLOOR_RAD_S, guard_path, high_frequency_rms
from stabilize.params import StabilizeParams

FPS = 30.0
GOPRO = Path(__file__).resolve().parent.parent / "samples" / "gopro"
# The default chain may keep this much more motion above 1 Hz than the Gaussian chain: 5 %,
# plus a tenth of the floor (1e-4 rad/s, 0.1 px/s at a 1000 px focal length) for paths whose
# shake is far below anything visible.
_REL, _ABS = 1.05, 0.1 * FLOOR_RAD_S


def _contexts(t, q, real, gyro, cam):
    def ctx(chain):
        return FilterContext(t, q, q.copy(), np.ones(t.size), cam, real, FPS, 0.02,
                             "top_to_bottom", StabilizeParams(filters=chain), gyro)
    return ctx(compose_chain("intent")), ctx(("gaussian", "bad_region"))


def _hf(ctx):
    return high_frequency_rms(ctx.t_s, ctx.virtual_quat)


@pytest.mark.parametrize("kind", ["static", "walk", "run", "pan", "tilt", "free"])
@pytest.mark.parametrize("seed", [11, 12])
def test_default_chain_is_never_shakier_than_the_gaussian_on_generated_paths(kind, seed):
    path = camera_path(kind, 8.0, seed=seed, rate_hz=400.0, still_lead_s=1.0)
    gyro = synthesize_gyro(path, rate_hz=200.0, seed=seed)
    t = np.arange(1.0, 9.0, 1 / FPS)
    default, gaussian = (run_chain(c) for c in _contexts(t, path.orientation.at(t),
                                                         path.orientation, gyro,
                                                         default_camera(960, 540)))
    assert _hf(default) <= _REL * _hf(gaussian) + _ABS


def _gopro_log(name):
    g = read_log(GOPRO / name).gyro
    g = GyroLog(g.t_s, g.omega_rad_s - estimate_bias(g)[0], g.accel_m_s2, g.source)
    real = integrate_gyro(g)
    t = np.arange(g.t_s[0] + 0.2, g.t_s[-1] - 0.2, 1 / FPS)
    return t, real.at(t), real, g


@pytest.mark.parametrize("name", ["karma.mp4", "hero7.mp4", "max-heromode.mp4"])
def test_default_chain_is_never_shakier_than_the_gaussian_on_real_gopro_gyro(name):
    t, q, real, g = _gopro_log(name)
    cam = default_camera(848, 480, hfov_deg=118.0, lens="opencv_fisheye")
    default, gaussian = (run_chain(c) for c in _contexts(t, q, real, g, cam))
    assert _hf(default) <= _REL * _hf(gaussian) + _ABS


def test_where_the_intent_path_shakes_more_the_gaussian_is_used_and_said_so():
    # max-heromode: walking with the camera's own stabilization on; the intent policies keep
    # several times the Gaussian's fast motion there
    t, q, real, g = _gopro_log("max-heromode.mp4")
    ctx, _ = _contexts(t, q, real, g, default_camera(848, 480))
    intent = get_filter("intent", ctx.params)
    unguarded, gaussian, _ = intent.paths(ctx)
    assert high_frequency_rms(t, unguarded) > 2.0 * high_frequency_rms(t, gaussian)
    out = intent.apply(ctx)
    share = out.extras["gaussian_share"]
    assert share.shape == (t.size,) and np.all((share >= 0) & (share <= 1))
    assert share.max() > 0.9
    assert any("plain Gaussian smoothing was used" in n for n in out.notes)
    json.dumps(float(share[0]))  # sidecar-ready


def test_where_the_intent_path_is_steadier_it_is_kept():
    path = camera_path("run", 8.0, seed=3, rate_hz=400.0, still_lead_s=1.0)
    gyro = synthesize_gyro(path, rate_hz=200.0, seed=3)
    t = np.arange(1.0, 9.0, 1 / FPS)
    ctx, _ = _contexts(t, path.orientation.at(t), path.orientation, gyro, default_camera(960, 540))
    out = get_filter("intent", ctx.params).apply(ctx)
    assert np.all(out.extras["gaussian_share"] < 0.1)
    assert not any("plain Gaussian" in n for n in out.notes)


def test_a_blend_eases_in_slowly_enough_not_to_move_the_view():
    # Two still paths 5 degrees apart, the first with 5 Hz shake in its second half: the guard
    # slides to the second there, and the slide itself adds (almost) nothing above 1 Hz.
    t = np.arange(0.0, 20.0, 1 / FPS)
    shake = np.where(t > 10.0, 0.002 * np.sin(2 * np.pi * 5 * t), 0.0)
    shaky = qexp(np.c_[shake, 0 * t, 0 * t])
    steady = np.tile(qexp(np.array([0.0, np.radians(5.0), 0.0])), (t.size, 1))
    g = guard_path(t, shaky, steady)
    assert g.share[t < 2.0].max() < 0.01 and g.share[t > 13.0].min() > 0.99
    before = t < 10.0  # the slide happens before the shake starts
    assert g.share[before].max() > 0.5
    assert high_frequency_rms(t[before], g.virtual_quat[before]) < 1e-4
    assert g.hf_rad_s["guarded"] < 0.1 * g.hf_rad_s["intent"]


def test_the_bad_region_entry_reuses_the_guards_fit_of_the_same_path():
    from stabilize.bad_region import fit_to_frame

    path = camera_path("run", 8.0, seed=3, rate_hz=400.0, still_lead_s=1.0)
    gyro = synthesize_gyro(path, rate_hz=200.0, seed=3)
    t = np.arange(1.0, 9.0, 1 / FPS)
    ctx, _ = _contexts(t, path.orientation.at(t), path.orientation, gyro, default_camera(960, 540))
    smoothed = get_filter("intent", ctx.params).apply(ctx)
    assert smoothed.known_fit is not None and smoothed.known_fit[0] is smoothed.virtual_quat
    bent = get_filter("bad_region", ctx.params).apply(smoothed)
    fresh = fit_to_frame(ctx.camera, ctx.real, t, smoothed.virtual_quat, ctx.params.max_zoom,
                         ctx.readout_s, strict=False)
    np.testing.assert_array_equal(bent.virtual_quat, fresh.virtual_quat)
    np.testing.assert_array_equal(bent.extras["bend"], fresh.alpha)
