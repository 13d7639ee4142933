"""The intent, horizon, fixed, blur and bad_region entries in the stabilize filter chain."""

import json
import sys

import numpy as np
import pytest

from sensors.errors import InputError
from sensors.quaternion import qangle
from sensors.synthetic import camera_path, synthesize_gyro
from sensors.synthetic.clip import default_camera
from stabilize.blur import (
    blur_mismatch_px,
    blur_vectors,
    default_exposure_s,
    output_motion_px_s,
    sharpness_variation,
)
from stabilize.filters import FILTERS, FilterContext, compose_chain, run_chain
from stabilize.horizon import roll_to_horizon_rad
from stabilize.params import StabilizeParams

FPS = 30.0


def _ctx(kind, seed, filters, with_gyro=True, **params):
    path = camera_path(kind, 6.0, seed=seed, rate_hz=400.0)
    gyro = synthesize_gyro(path, rate_hz=400.0, seed=seed, bias_rad_s=(0, 0, 0))
    t = np.arange(0.5, 5.5, 1 / FPS)
    q = path.orientation.at(t)
    cam = default_camera(320, 180)
    p = StabilizeParams(filters=filters, **params)
    return path, FilterContext(t, q, q.copy(), np.ones(t.size), cam, path.orientation, FPS,
                               0.02, "top_to_bottom", p, gyro if with_gyro else None)


def _jitter(ctx, quat):
    m = output_motion_px_s(ctx.camera, ctx.t_s, quat) / FPS
    from scipy.ndimage import gaussian_filter1d

    hp = m - gaussian_filter1d(m, 0.25 * FPS, axis=0, mode="nearest")
    return float(np.sqrt(np.mean(hp[2:-2] ** 2)))


def test_entries_are_registered():
    assert {"intent", "horizon", "fixed", "blur", "bad_region"} <= set(FILTERS)


def test_intent_chain_beats_plain_gaussian_on_a_walk_and_reports_intent_and_zoom():
    _, ctx = _ctx("walk", 41, ("intent", "bad_region"))
    out = run_chain(ctx)
    _, gctx = _ctx("walk", 41, ("gaussian",))
    gau = run_chain(gctx)
    assert _jitter(out, out.virtual_quat) < 0.5 * _jitter(gau, gau.virtual_quat)
    assert np.all(out.zoom <= ctx.params.max_zoom + 1e-9)
    assert np.all(out.extras["required_zoom"] <= out.zoom + 1e-6)
    rec = out.extras["intent"][10]
    assert rec["label"] == "walk" and abs(sum(rec["p"].values()) - 1) < 1e-3
    json.dumps(rec)  # sidecar-ready


def test_intent_without_gyro_is_refused():
    _, ctx = _ctx("walk", 41, ("intent",), with_gyro=False)
    with pytest.raises(InputError, match="gyro"):
        run_chain(ctx)


def test_horizon_lock_levels_the_virtual_camera_against_true_gravity():
    path, ctx = _ctx("walk", 43, ("gaussian", "horizon"))
    out = run_chain(ctx)
    roll = roll_to_horizon_rad(out.virtual_quat, np.array([0, 1.0, 0]))
    assert np.degrees(np.max(np.abs(roll))) < 0.5
    real_roll = roll_to_horizon_rad(ctx.real_quat, np.array([0, 1.0, 0]))
    assert np.degrees(np.max(np.abs(real_roll))) > 0.5


def test_fixed_camera_holds_one_orientation_where_it_fits():
    _, ctx = _ctx("static", 44, ("fixed", "bad_region"), max_zoom=1.3)
    out = run_chain(ctx)
    steps = qangle(out.virtual_quat[:-1], out.virtual_quat[1:])
    assert np.max(steps) < 1e-9
    assert np.all(out.extras["bend"] == 0)


def test_fixed_camera_bends_back_inside_under_a_pan():
    _, ctx = _ctx("pan", 45, ("fixed", "bad_region"), max_zoom=1.3)
    out = run_chain(ctx)
    assert np.all(out.extras["required_zoom"] <= 1.3 + 1e-6)
    assert out.extras["bend"].max() > 0.5


def test_blur_entry_without_exposure_assumes_half_frame_and_says_so():
    _, ctx = _ctx("run", 46, ("intent", "blur", "bad_region"))
    out = run_chain(ctx)
    assert any("180-degree" in n for n in out.notes)
    assert out.extras["blur_px"].shape == (len(ctx), 2)
    assert np.all((out.extras["blur_beta"] >= 0) & (out.extras["blur_beta"] <= 1))


def test_chain_composition_orders_smoother_extras_horizon_blur_then_bad_region():
    assert compose_chain("intent") == ("intent", "bad_region")
    assert compose_chain("fixed", horizon_lock=True, blur_mask=True) == (
        "fixed", "horizon", "blur", "bad_region")
    assert compose_chain("gaussian", ("bad_region", "blur")) == ("gaussian", "bad_region", "blur")
    assert compose_chain("none") == ("none",)
    assert compose_chain("none", horizon_lock=True, blur_mask=True) == ("none", "horizon", "blur")
    assert all(n in FILTERS for n in compose_chain("gaussian", horizon_lock=True, blur_mask=True))


@pytest.mark.parametrize("smoothing, extra", [("kalman", ()), ("gaussian", ("zoom",))])
def test_chain_composition_refuses_unknown_names_and_lists_the_valid_ones(smoothing, extra):
    with pytest.raises(InputError, match="valid: bad_region, blur, fixed"):
        compose_chain(smoothing, extra)


def test_blur_mask_without_smoothing_brings_displayed_motion_closer_to_the_streaks():
    # compose_chain keeps --blur-mask with --smoothing none; its docstring quotes these figures
    def variation(filters):
        _, ctx = _ctx("run", 46, filters)
        out = run_chain(ctx)
        e = default_exposure_s(FPS, len(ctx))
        b = blur_vectors(ctx.camera, ctx.real, ctx.t_s, e)[:, 0]
        m = blur_mismatch_px(b, output_motion_px_s(ctx.camera, ctx.t_s, out.virtual_quat), e)
        return sharpness_variation(m[2:-2])

    plain, masked = variation(("none",)), variation(("none", "blur"))
    assert masked < 0.7 * plain
    assert (plain, masked) == pytest.approx((0.146, 0.091), abs=5e-4)
    level, level_masked = variation(("none", "horizon")), variation(("none", "horizon", "blur"))
    assert (level, level_masked) == pytest.approx((0.263, 0.150), abs=5e-4)


def test_zoom_stage_reuses_the_need_bad_region_computed_for_the_same_path(monkeypatch):
    from stabilize import bad_region

    _, ctx = _ctx("run", 47, ("gaussian", "bad_region"), max_zoom=1.08)
    calls = []
    real_required_zoom = bad_region.required_zoom

    def counting(*args, **kwargs):
        calls.append(sys._getframe(1).f_code.co_name)  # fit_to_frame or the zoom stage's apply
        return real_required_zoom(*args, **kwargs)

    monkeypatch.setattr(bad_region, "required_zoom", counting)
    out = run_chain(ctx)
    assert calls and set(calls) == {"fit_to_frame"}
    direct = real_required_zoom(ctx.camera, ctx.real, ctx.t_s, out.virtual_quat,
                                readout_s=ctx.readout_s, zoom_limit=4.0)
    np.testing.assert_array_equal(out.extras["required_zoom"], direct)
    # a path changed after bad_region is measured afresh
    moved = out.with_(virtual_quat=ctx.virtual_quat)
    from stabilize.filters import get_filter

    again = get_filter("zoom", ctx.params).apply(moved)
    assert calls[-1] == "apply"
    np.testing.assert_array_equal(
        again.extras["required_zoom"],
        real_required_zoom(ctx.camera, ctx.real, ctx.t_s, ctx.virtual_quat,
                           readout_s=ctx.readout_s, zoom_limit=4.0))
