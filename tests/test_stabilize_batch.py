"""Stabilize jobs in a batch: a manifest of generated clips on an embedded cluster of two workers.

Clip ``gcsv`` has its log as a same-stem ``.gcsv`` beside it; clip ``phone`` has its log in a
phone-layout folder (frame stamps + OIS) named by the line's ``gyro`` and no ``.gcsv``; clip
``nolog`` has no log at all. The outputs must equal what ``steadyrig stabilize`` writes by hand.
"""

import json
import shutil

import av
import numpy as np
import pytest
from click.testing import CliRunner

import stabilize.batch  # noqa: F401  (registers the stabilize job kind)
from cli import main
from sensors.jobs import load_manifest, read_results, run_batch
from sensors.synthetic import generate_clip

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    generate_clip(root, name="gcsv", kind="walk", width=160, height=90, duration_s=1.5, seed=2)
    phone = generate_clip(root, name="phone", kind="pan", width=160, height=90, duration_s=1.5,
                          seed=3, ois=True)
    phone.gcsv.unlink()  # its log is the phone-layout folder only
    shutil.copy(root / "gcsv.mp4", root / "nolog.mp4")
    return root


def _manifest(root, lines):
    path = root / "manifest.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _frames(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [(f.pts, f.to_ndarray(format="yuv420p")) for f in c.decode(s)]


LINES = [
    # lossless, so the comparison by hand below does not depend on libx264 repeating its
    # bitstream (docs/architecture.md, "Determinism")
    {"id": "gcsv", "video": "gcsv.mp4", "offset_ms": 0.0, "output": "out/gcsv.mp4",
     "crf": 0},
    {"id": "phone", "video": "phone.mp4", "gyro": "phone_phone", "stabilize": {"crf": 20},
     "output": "out/phone.mp4"},
    {"id": "nolog", "video": "nolog.mp4", "output": "out/nolog.mp4"},
]


def test_two_clips_stabilize_one_without_a_log_fails_and_a_rerun_skips_both(clips, tmp_path):
    root = tmp_path / "b"
    shutil.copytree(clips, root)
    manifest = _manifest(root, LINES)
    summary = run_batch(manifest, workers=2)
    assert (summary.n_done, summary.n_failed, summary.n_skipped) == (2, 1, 0)
    lines = {r["id"]: r for r in read_results(root / "manifest.results.jsonl")}
    assert "no gyro log for nolog.mp4" in lines["nolog"]["error"]
    assert not (root / "out/nolog.mp4").exists()
    for name in ("gcsv", "phone"):
        rec = lines[name]
        assert rec["status"] == "done" and rec["kind"] == "stabilize"
        st = rec["stabilize"]
        assert st["n_frames"] == 45 and st["stabilized_frames"] == [0, 45]
        assert 1.0 <= st["zoom_range"][0] <= st["zoom_range"][1] < 1.6
        assert isinstance(st["notes"], list) and rec["timings_s"]["total"] > 0
    assert lines["gcsv"]["stabilize"]["offset_ms"] == 0.0
    assert any("frame timestamps" in n for n in lines["phone"]["stabilize"]["notes"])

    # By hand, the same settings: the decoded frames are the batch's, exactly.
    res = CliRunner().invoke(main, ["stabilize", str(root / "gcsv.mp4"), "--offset-ms", "0",
                                    "--crf", "0", "-o", str(tmp_path / "hand.mp4"), "-q"])
    assert res.exit_code == 0, res.output
    assert res.stdout == ""  # -q: nothing but errors
    batch, hand = _frames(root / "out/gcsv.mp4"), _frames(tmp_path / "hand.mp4")
    assert [p for p, _ in batch] == [p for p, _ in hand]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(batch, hand, strict=True))

    res = CliRunner().invoke(main, ["batch", str(manifest), "--workers", "2"])
    assert res.exit_code == 1, res.output
    assert "batch: 0 done, 1 failed, 2 skipped" in res.stdout
    assert "failed nolog: " in res.stderr and "no gyro log" in res.stderr


def test_a_folder_of_clips_is_a_manifest(clips, tmp_path):
    man = load_manifest(clips, out_dir=tmp_path / "o")
    assert sorted(j.id for j in man.jobs) == ["gcsv"]  # phone.mp4 has no .gcsv beside it
    assert sorted(bad.id for bad in man.invalid) == ["nolog", "phone"]
    assert man.jobs[0].output == (tmp_path / "o/gcsv.stabilized.mp4").resolve()


def test_settings_come_from_defaults_then_the_preset_then_the_line(clips, tmp_path):
    preset = tmp_path / "calm.json"
    preset.write_text(json.dumps({"window_s": 1.5, "crf": 24, "encoder_preset": "fast"}))
    m = _manifest(tmp_path, [{"id": "a", "video": str(clips / "gcsv.mp4"),
                              "preset": str(preset), "crf": 20, "output": "a.mp4"}])
    (job,) = load_manifest(m, defaults={"strength": 0.5, "crf": 30}).jobs
    assert (job.params.window_s, job.params.crf, job.params.preset, job.params.strength) == (
        1.5, 20, "fast", 0.5)
    h = job.settings_hash
    (again,) = load_manifest(m, defaults={"strength": 0.5, "crf": 30}).jobs
    assert again.settings_hash == h
    preset.write_text(json.dumps({"window_s": 1.0}))
    assert load_manifest(m, defaults={"strength": 0.5}).jobs[0].settings_hash != h


def test_bad_lines_are_failed_results_with_one_line_each(clips, tmp_path):
    bad_preset = tmp_path / "bad.json"
    bad_preset.write_text(json.dumps({"smoothnes": 1.0}))
    v = str(clips / "gcsv.mp4")
    m = _manifest(tmp_path, [
        {"id": "novideo", "video": "missing.mp4"},
        {"id": "nolog", "video": v, "gyro": "missing.gcsv", "output": "x.mp4"},
        {"id": "typo", "video": v, "windw_s": 2.0, "output": "y.mp4"},
        {"id": "preset", "video": v, "preset": str(bad_preset), "output": "z.mp4"},
        {"id": "both", "video": v, "rig": "r.json"},
    ])
    man = load_manifest(m)
    assert not man.jobs
    err = {bad.id: bad.error for bad in man.invalid}
    assert "manifest.jsonl line 1: video does not exist" in err["novideo"]
    assert "line 2: gyro log does not exist" in err["nolog"]
    assert "line 3: unknown key 'windw_s'" in err["typo"] and "window_s" in err["typo"]
    assert "bad.json: unknown key 'smoothnes'" in err["preset"]
    assert "several job kinds" in err["both"] or "rig" in err["both"]
    res = CliRunner().invoke(main, ["batch", str(m)])
    assert res.exit_code == 1
    assert res.stderr.count("failed ") == 5 and "Traceback" not in res.output
    res = CliRunner().invoke(main, ["batch", str(m), "--set", "crf=20", "--set", "bogus=1"])
    assert res.exit_code == 2 and "unknown key 'bogus'" in res.stderr


def test_an_unreachable_scheduler_is_one_error_line_and_exit_2(clips, tmp_path):
    m = _manifest(tmp_path, [{"id": "a", "video": str(clips / "gcsv.mp4"), "output": "a.mp4"}])
    res = CliRunner().invoke(main, ["batch", str(m), "--scheduler", "tcp://127.0.0.1:9"])
    assert res.exit_code == 2
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("Error: tcp://127.0.0.1:9: cannot connect to the Dask scheduler")


def test_an_output_the_batch_did_not_write_is_replaced_only_with_overwrite(clips, tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"someone else's file")
    m = _manifest(tmp_path, [{"id": "a", "video": str(clips / "gcsv.mp4"), "output": "a.mp4",
                              "offset_ms": 0.0}])
    s = run_batch(m)
    assert s.n_failed == 1 and "output exists" in s.records[0]["error"]
    assert (tmp_path / "a.mp4").read_bytes() == b"someone else's file"


def test_a_job_with_segments_splits_its_clip_across_the_batchs_workers(clips, tmp_path):
    m = _manifest(tmp_path, [{"id": "s", "video": str(clips / "gcsv.mp4"), "offset_ms": 0.0,
                              "segments": 2, "output": "s.mp4"}])
    s = run_batch(m, workers=2)
    assert s.n_done == 1, s.records
    rec = s.records[0]
    assert rec["segments"] == 2 and rec["stabilize"]["n_frames"] == 45
    assert any("2 segments joined at frames 22" in n for n in rec["stabilize"]["notes"])
    assert len(_frames(tmp_path / "s.mp4")) == 45
    assert not [p.name for p in tmp_path.iterdir() if ".part" in p.name]


def test_a_clip_with_embedded_telemetry_beside_a_gcsv_clip_and_one_without_a_log(clips, tmp_path):
    from pathlib import Path

    root = tmp_path / "e"
    shutil.copytree(clips, root)
    karma = Path(__file__).resolve().parent.parent / "samples" / "gopro" / "karma.mp4"
    shutil.copy(karma, root / "karma.mp4")  # a real GoPro clip: its gyro is in the file
    manifest = _manifest(root, [LINES[0], LINES[2],
                                {"id": "karma", "video": "karma.mp4", "output": "out/karma.mp4"}])
    summary = run_batch(manifest, workers=2)
    assert (summary.n_done, summary.n_failed, summary.n_skipped) == (2, 1, 0)
    lines = {r["id"]: r for r in read_results(root / "manifest.results.jsonl")}
    assert lines["karma"]["status"] == "done"
    assert lines["karma"]["stabilize"]["n_frames"] == 362
    res = CliRunner().invoke(main, ["stabilize", str(root / "karma.mp4"), "-q", "--json",
                                    str(tmp_path / "hand.json"),
                                    "-o", str(tmp_path / "karma_hand.mp4")])
    assert res.exit_code == 0, res.output
    hand_rec = json.loads((tmp_path / "hand.json").read_text())
    for key in ("n_frames", "stabilized_frames", "offset_ms", "readout_ms", "zoom_range"):
        assert lines["karma"]["stabilize"][key] == hand_rec[key], key
    batch, hand = _frames(root / "out/karma.mp4"), _frames(tmp_path / "karma_hand.mp4")
    assert [p for p, _ in batch] == [p for p, _ in hand]
    # The same plan and warp; libx264 does not always repeat its bitstream at this size (854 px
    # wide), so the frames agree within its coding noise, far from an unwarped frame's distance
    diff = [float(np.abs(a.astype(np.int16) - b).mean()) for (_, a), (_, b) in
            zip(batch, hand, strict=True)]
    assert max(diff) < 2.0
    again = run_batch(manifest, workers=2)
    assert (again.n_done, again.n_failed, again.n_skipped) == (0, 1, 2)
