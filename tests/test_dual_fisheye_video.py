"""Dual-fisheye 360 video end to end: a generated clip (two lenses side by side, per-lens rolling
shutter, parallax, gyro + accelerometer) calibrated, stitched with seam warps and stabilized on
the sphere into an equirect video, held to the generator's truth."""

import json

import av
import numpy as np
import pytest
from click.testing import CliRunner

import cli
from sensors.equirect import equirect_to_dirs
from sensors.quaternion import qconj, qmul, qto_matrix
from sensors.spherical import read_spherical
from sensors.synthetic import generate_clip, load_panorama, panorama_for_focal
from sensors.synthetic.dual_fisheye import DualFisheyeScene
from stabilize.dual_fisheye.calibrate_clip import calibrate_frames
from stabilize.dual_fisheye.options import DualFisheyeOptions
from stabilize.dual_fisheye.plan import plan_dual_fisheye
from stabilize.dual_fisheye.rig import read_lens_pair, write_lens_pair
from stabilize.horizon import fixed_orientation
from stabilize.inputs import resolve_inputs
from stabilize.metrics import REFERENCE_WIDTH, high_pass_rms, truth_jitter_px
from stabilize.params import StabilizeParams
from stabilize.pipeline import plan_clip, stabilize_video

W, H = 640, 320
#: A scene far away and without ground: no parallax to speak of, as the still case.
FAR = DualFisheyeScene(radius_m=50.0, ground_m=None)


@pytest.fixture(scope="module")
def steady(tmp_path_factory):
    """A camera on a tripod looking at a far scene, planned (calibration and seams)."""
    clip = generate_clip(tmp_path_factory.mktemp("steady"), kind="static", seed=2, width=W,
                         height=H, duration_s=1.0, projection="dual-fisheye", scene=FAR,
                         audio=False)
    inputs = resolve_inputs(clip.video, offset_ms=0.0, projection="dual-fisheye")
    plan = plan_clip(inputs, StabilizeParams())
    df = plan_dual_fisheye(clip.video, plan.motion, (W, H), inputs.info.fps,
                           DualFisheyeOptions(keyframe_interval_s=0.25))
    return clip, plan, df


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    """A walking camera in the default scene (ground 1.5 m below: parallax at the seam),
    stabilized end to end, its calibration saved."""
    folder = tmp_path_factory.mktemp("walk")
    clip = generate_clip(folder, kind="walk", seed=1, width=W, height=H, duration_s=1.5,
                         projection="dual-fisheye")
    out, rig = folder / "steady360.mp4", folder / "rig.json"
    stages = []
    res = stabilize_video(clip.video, out, offset_ms=0.0, progress=stages.append,
                          dual_fisheye=DualFisheyeOptions(save_rig=rig,
                                                          keyframe_interval_s=0.5))
    res.extras["progress"] = stages
    return clip, out, rig, res


@pytest.fixture(scope="module")
def walk_plan(walk):
    """The walk clip's motion, path and dual-fisheye plan (its saved lenses, fresh seams)."""
    clip, out, rig, res = walk
    inputs = resolve_inputs(clip.video, offset_ms=0.0, projection="dual-fisheye")
    plan = plan_clip(inputs, StabilizeParams())
    df = plan_dual_fisheye(clip.video, plan.motion, (W, H), inputs.info.fps,
                           DualFisheyeOptions(rig=rig, keyframe_interval_s=0.5))
    return plan, df


def _truth(clip):
    from sensors.synthetic.dual_fisheye_truth import DualFisheyeClipTruth

    return DualFisheyeClipTruth.load(clip.truth_npz)


def _seam_residuals(truth, warper, motion, virtual_quat, frames):
    """Per frame, the true seam residual (px at the output's equator) over the pixels both
    lenses contribute to."""
    from sensors.synthetic.dual_fisheye_truth import seam_errors_px

    out = []
    for i in frames:
        mx0, my0, mx1, my1, w0 = warper.dense_maps(warper.vertex_map(motion.frame(i),
                                                                     virtual_quat[i]))
        maps = [(np.where(w0 > 0, mx0, np.nan), my0), (np.where(w0 < 1, mx1, np.nan), my1)]
        out.append(seam_errors_px(truth, i, maps, np.eye(3), step_px=2).between_px)
    return out


def test_lenses_calibrated_from_a_few_frames_match_the_generators_truth(steady):
    clip, plan, df = steady
    truth = _truth(clip).calibration
    pair = df.pair
    assert len(pair.info["frames"]) == 3
    # The ring fixes the centres and the back lens's orientation (to 0.2 degrees, the ring
    # trading a tilt for the centres a little); where along the lens curves
    # the 90-degree circle lies, it does not (a front lens a little narrower and a back lens a
    # little wider show the same ring), so the radii are not compared.
    for est, true in zip(pair.lenses, truth.lenses, strict=True):
        assert np.hypot(est.cx_px - true.cx_px, est.cy_px - true.cy_px) < 0.3
    dR = pair.R_rig_from_back.T @ truth.rotations()[1]
    assert np.degrees(np.arccos(np.clip((np.trace(dR) - 1) / 2, -1, 1))) < 0.3


def test_seam_residual_per_frame_is_as_small_as_a_still_stitch(steady):
    # the still figures (docs/benchmarks.md): median 0.04-0.17 px, p90 0.18-0.30 px
    clip, plan, df = steady
    res = _seam_residuals(_truth(clip), df.warper(), plan.motion, plan.path.virtual_quat,
                          range(0, clip.n_frames, 5))
    assert max(np.median(r) for r in res) < 0.17
    assert max(np.percentile(r, 90) for r in res) < 0.30


def test_seam_warps_do_not_flicker_on_a_steady_scene(steady):
    clip, plan, df = steady
    fields = np.stack([np.stack(df.seams.at(i)[:2]) for i in range(clip.n_frames)])
    assert np.abs(np.diff(fields, axis=0)).max() < 0.1
    res = _seam_residuals(_truth(clip), df.warper(), plan.motion, plan.path.virtual_quat,
                          range(clip.n_frames))
    med = np.array([np.median(r) for r in res])
    assert np.abs(np.diff(med)).max() < 0.1


def test_a_keyframes_seam_is_the_same_every_time(steady):
    from stabilize.dual_fisheye.calibrate_clip import read_frames
    from stabilize.dual_fisheye.seams import solve_keyframe

    clip, plan, df = steady
    frame = read_frames(clip.video, [3])[3]
    a, b = (solve_keyframe(frame, df.pair, index=3) for _ in range(2))
    assert np.array_equal(a.fields, b.fields) and a.gain_ratio == b.gain_ratio
    assert np.abs(a.fields).max() > 0  # a real solve, not an empty field


def test_seam_warps_cut_the_parallax_at_the_seam_and_follow_the_motion_smoothly(walk,
                                                                              walk_plan):
    clip = walk[0]
    plan, df = walk_plan
    truth = _truth(clip)
    frames = range(0, clip.n_frames, 4)
    from stabilize.dual_fisheye.warp import DualFisheyeWarper

    with_seams = _seam_residuals(truth, df.warper(), plan.motion, plan.path.virtual_quat, frames)
    calib_only = _seam_residuals(truth, DualFisheyeWarper(df.pair), plan.motion,
                                 plan.path.virtual_quat, frames)
    # the calibration leaves the ground doubled (its p90, 1.1 px); the seams take it out
    p90 = np.array([np.percentile(r, 90) for r in with_seams])
    assert p90.max() < 0.3 * min(np.percentile(r, 90) for r in calib_only)
    med = np.array([np.median(r) for r in with_seams])
    assert med.max() < 0.25
    assert np.abs(np.diff(med)).max() < 0.1


def test_seam_residual_with_ground_parallax_is_as_small_as_a_still_stitch(walk, walk_plan):
    # As the far scene (and the stills): the ground fitted in the calibration leaves the back
    # lens where it is, so the featureless sky, which no seam warp reaches, is not tilted
    clip = walk[0]
    plan, df = walk_plan
    res = _seam_residuals(_truth(clip), df.warper(), plan.motion, plan.path.virtual_quat,
                          range(0, clip.n_frames, 5))
    assert max(np.median(r) for r in res) < 0.17
    assert max(np.percentile(r, 90) for r in res) < 0.30


def test_output_is_an_equirect_360_video_with_the_inputs_frames_timing_and_audio(walk):
    clip, out, rig, res = walk
    assert res.projection == "dual-fisheye" and res.n_frames == clip.n_frames
    assert np.all(res.zoom == 1.0)
    info = read_spherical(out)
    assert info is not None and info.projection == "equirect" and info.versions == (1, 2)
    with av.open(str(clip.video)) as a, av.open(str(out)) as b:
        va, vb = a.streams.video[0], b.streams.video[0]
        assert (vb.width, vb.height) == (W, H)
        assert len(b.streams.audio) == len(a.streams.audio) == 1
        ta = [float(f.pts * f.time_base) for f in a.decode(va)]
        tb = [float(f.pts * f.time_base) for f in b.decode(vb)]
    assert len(tb) == len(ta) and np.allclose(tb, ta, atol=1e-6)
    # every pixel defined: no more near-black than the scene's panorama has (0.09 %)
    pano = panorama_for_focal(load_panorama(gray=True), W / (2 * np.pi))
    with av.open(str(out)) as b:
        dark = max(float(np.mean(f.to_ndarray(format="gray") <= 16)) for f in b.decode(video=0))
    assert dark <= float(np.mean(pano <= 16)) + 1e-4


def _shown_rotations_rad(truth, warper, motion, virtual_quat, align, step=8):
    """Per frame, the small rotation (3,) by which the output shows the world off where it
    should (least squares over output pixels, each from the lens weighted most there): what a
    viewer sees jitter in."""
    w, h = warper.size
    X, Y = np.meshgrid(np.arange(0, w, step) + 0.5, np.arange(0, h, step) + 0.5)
    base = equirect_to_dirs(np.stack([X, Y], -1), w)
    out = []
    for i in range(len(virtual_quat)):
        maps = [a[::step, ::step] for a in warper.dense_maps(
            warper.vertex_map(motion.frame(i), virtual_quat[i]))]
        want = base @ qto_matrix(qmul(align, virtual_quat[i])).T
        A, b = np.zeros((3, 3)), np.zeros(3)
        for k, sel in ((0, maps[4] >= 0.5), (1, maps[4] < 0.5)):
            px = np.stack([maps[2 * k][sel], maps[2 * k + 1][sel]], -1).astype(np.float64)
            d, shown = want[sel], truth.pixel_directions(i, k, px)
            A += len(d) * np.eye(3) - d.T @ d
            b += np.cross(d, shown).sum(axis=0)
        out.append(np.linalg.solve(A, b))
    return np.array(out)


def test_stabilized_output_shows_the_truth_without_jitter(walk, walk_plan):
    # what the output's pixels show (through the warp, the calibration and the seams, each lens
    # at its own rows' times) against where they should point: >1 Hz RMS, px at 960 wide
    clip = walk[0]
    plan, df = walk_plan
    d = np.load(clip.truth_npz)
    align = fixed_orientation(qmul(d["frame_quat"], qconj(plan.motion.frame_quat)))
    fps = 1.0 / float(np.median(np.diff(d["frame_t_s"])))
    f960 = REFERENCE_WIDTH / (2 * np.pi)
    shown = _shown_rotations_rad(_truth(clip), df.warper(), plan.motion, plan.path.virtual_quat,
                                 align)
    assert high_pass_rms(shown * f960, fps) < 0.03
    # the input shakes by a hundred times more
    assert truth_jitter_px(d["frame_t_s"], d["frame_quat"], f960, fps) > 1.0


def test_progress_is_reported_for_the_calibration_the_seams_and_every_frame(walk):
    clip, out, rig, res = walk
    stages = res.extras["progress"]
    order = list(dict.fromkeys(p.stage for p in stages))
    assert order == ["calibrate", "seams", "stabilize"]
    seams = [p for p in stages if p.stage == "seams"]
    assert [p.done for p in seams] == list(range(1, 5)) and seams[-1].total == 4  # 0 .. 1.5 s
    frames = [p for p in stages if p.stage == "stabilize"]
    assert frames[-1].done == frames[-1].total == clip.n_frames


def test_the_command_line_reuses_a_rig_file(walk, tmp_path):
    clip, out, rig, res = walk
    again = tmp_path / "again.mp4"
    r = _run(["stabilize", str(clip.video), "--dual-fisheye", "--rig", str(rig),
              "--offset-ms", "0", "-o", str(again), "-q"])
    assert r.exit_code == 0, r.output
    assert read_spherical(again).projection == "equirect"
    with av.open(str(again)) as c:
        assert c.streams.video[0].frames in (0, clip.n_frames)
        assert sum(1 for _ in c.decode(video=0)) == clip.n_frames


def test_a_saved_rig_reads_back_as_the_same_lenses(walk, tmp_path):
    clip, out, rig, res = walk
    pair = read_lens_pair(rig, (W, H))
    again = tmp_path / "again.json"
    write_lens_pair(again, pair)
    back = read_lens_pair(again, (W, H))
    for a, b in zip(pair.lenses, back.lenses, strict=True):
        assert a.f_px == pytest.approx(b.f_px) and a.k1 == pytest.approx(b.k1, abs=1e-12)
        assert a.fov_rad == pytest.approx(b.fov_rad)
    assert np.allclose(pair.R_rig_from_back, back.R_rig_from_back, atol=1e-9)
    assert json.loads(rig.read_text())["cameras"][0]["id"] == "front"
    # the ground the calibration found goes with the lenses
    assert pair.ground is not None and back.ground == pytest.approx(pair.ground)


def test_a_rig_file_with_a_broken_ground_entry_is_refused(walk, tmp_path):
    from sensors.errors import InputError
    from stitch.dual_fisheye.ground import GROUND_KEY

    doc = json.loads(walk[2].read_text())
    doc[GROUND_KEY]["parallax_rad"] = "low"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=GROUND_KEY):
        read_lens_pair(bad, (W, H))


def test_calibration_frames_are_where_the_gyro_turns_slowest():
    from stabilize.dual_fisheye.calibrate_clip import pick_calibration_frames

    rate = np.array([5.0, 1.0, 4.0, 3.0, 0.5, 2.0, 9.0, 8.0, 0.2])
    assert pick_calibration_frames(rate, 3) == [1, 4, 8]


def test_one_frame_calibrates_as_well_as_the_still_calibration():
    from stitch.dual_fisheye.calibrate import calibrate
    from stitch.dual_fisheye.circles import find_circles
    from stitch.dual_fisheye.synthetic import DualFisheyeTruth, render_dual_fisheye

    truth = DualFisheyeTruth.random(seed=7, height_px=240)
    frame = render_dual_fisheye(truth)
    layout, circles = find_circles(frame)
    still = calibrate(frame, tuple(circles), layout)
    pair = calibrate_frames([frame])

    def error_deg(R):
        dR = R.T @ truth.R_rig_from_back
        return np.degrees(np.arccos(np.clip((np.trace(dR) - 1) / 2, -1, 1)))

    assert error_deg(pair.R_rig_from_back) < error_deg(still.R_rig_from_back) + 0.05


# -- bad input: one line, exit 2, nothing written ----------------------------------------------

@pytest.fixture(scope="module")
def equirect_clip(tmp_path_factory):
    return generate_clip(tmp_path_factory.mktemp("eq"), kind="walk", seed=1, width=128,
                         height=64, duration_s=0.3, projection="equirect", audio=False)


def _run(args):
    return CliRunner().invoke(cli.main, args)


def test_a_clip_without_two_fisheye_discs_is_refused(equirect_clip, tmp_path):
    out = tmp_path / "o.mp4"
    r = _run(["stabilize", str(equirect_clip.video), "--dual-fisheye", "--offset-ms", "0",
              "-o", str(out)])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {equirect_clip.video}: ")
    assert "circle" in lines[0] and not out.exists()
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("extra, words", [
    (["--rig", "r.json", "--fov", "190"], "not both"),
    (["--lens", "x.json"], "--lens does not apply"),
    (["--projection", "equirect"], "contradict"),
    (["--fov", "90"], "150..260"),
])
def test_dual_fisheye_with_an_option_that_does_not_fit_is_refused(equirect_clip, tmp_path,
                                                                  extra, words):
    out = tmp_path / "o.mp4"
    r = _run(["stabilize", str(equirect_clip.video), "--dual-fisheye", "-o", str(out), *extra])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {equirect_clip.video}: ")
    assert words in lines[0] and not out.exists()


def test_a_rig_for_a_clip_of_another_projection_is_refused(equirect_clip, tmp_path):
    r = _run(["stabilize", str(equirect_clip.video), "--rig", "r.json", "--projection",
              "equirect", "-o", str(tmp_path / "o.mp4")])
    assert r.exit_code == 2 and r.output.strip().endswith("--rig goes with --dual-fisheye")
    r = _run(["stabilize", str(equirect_clip.video), "--rig", "r.json", "--offset-ms", "0",
              "-o", str(tmp_path / "o.mp4")])  # auto: found equirect, then refused
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and "for dual-fisheye clips" in lines[0]
    assert not list(tmp_path.iterdir())


def test_auto_projection_finds_the_two_discs(walk):
    clip = walk[0]
    inputs = resolve_inputs(clip.video, offset_ms=0.0, projection="auto")
    assert inputs.projection == "dual-fisheye"
    assert any("two fisheye discs" in n for n in inputs.notes)
