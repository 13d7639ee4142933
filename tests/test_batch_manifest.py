"""Batch manifests: validation, path resolution, settings hash and resume bookkeeping.

No cluster here (see test_batch_cluster.py); inputs come from ``stitch.batch.generate_batch``.
"""

import json
import os
import shutil

import pytest
from click.testing import CliRunner

from cli import main
from sensors.errors import InputError
from stitch.batch import (
    default_results_path,
    finished_hash,
    generate_batch,
    load_manifest,
    read_results,
    sidecar_path,
)
from stitch.params import StitchParams


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    generate_batch(root, 2, n_cameras=4, width=160, height=120, hfov_deg=110.0, seed=3,
                   width_px=256)
    return root


def _write(path, lines):
    path.write_text("".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n"
                            for ln in lines))
    return path


def _line(job="a", **extra):
    return {"id": job, "rig": "captures/job00/camera_rig.json", "images_dir": "captures/job00",
            "output": f"out/{job}.jpg", **extra}


def test_generated_manifest_loads_every_job_with_paths_resolved_against_its_folder(batch_dir):
    man = load_manifest(batch_dir / "manifest.jsonl")
    assert [j.id for j in man.jobs] == ["job00", "job01"] and not man.invalid
    job = man.jobs[0]
    assert job.rig == (batch_dir / "captures/job00/camera_rig.json").resolve()
    assert job.output == (batch_dir / "panoramas/job00.jpg").resolve()
    assert [p.name for p in job.images] == ["cam0.png", "cam1.png", "cam2.png", "cam3.png"]
    assert job.params == StitchParams(width_px=256)


def test_images_list_keeps_the_given_order(batch_dir):
    imgs = [f"captures/job00/cam{k}.png" for k in (0, 1, 2, 3)]
    m = _write(batch_dir / "list.jsonl", [{"id": "x", "rig": "captures/job00/camera_rig.json",
                                           "images": imgs, "output": "out/x.png"}])
    (job,) = load_manifest(m).jobs
    assert [p.name for p in job.images] == [f"cam{k}.png" for k in (0, 1, 2, 3)]


def test_stitch_options_at_top_level_or_nested_map_onto_stitch_params(batch_dir):
    m = _write(batch_dir / "opts.jsonl", [
        _line("a", width=512, stitch={"refine": False, "blend_bands": 3}),
        _line("b", feather_px=4),
    ])
    a, b = load_manifest(m).jobs
    assert a.params == StitchParams(width_px=512, refine=False, blend_bands=3)
    assert b.params.feather_px == 4.0


def test_every_bad_line_is_reported_with_its_number_and_good_lines_still_load(batch_dir):
    m = _write(batch_dir / "bad.jsonl", [
        _line("ok1"),
        _line("typo", widht=512),                                   # line 2: unknown key
        "{not json",                                                # line 3
        _line("ok1", output="out/other.jpg"),                       # line 4: duplicate id
        {"id": "norig", "images_dir": "captures/job00", "output": "out/n.jpg"},  # line 5
        _line("kind", width_px="512"),                              # line 6: wrong type
        _line("missing", images=["captures/job00/cam0.png"], images_dir=None),  # line 7
        _line("ok2", rig="captures/job01/camera_rig.json", images_dir="captures/job01"),
        _line("sameout", output="out/ok1.jpg"),                     # line 9: output clash
        _line("ok3", output="out/ok3.png", width_px=128),
    ])
    man = load_manifest(m)
    assert [j.id for j in man.jobs] == ["ok1", "ok2", "ok3"]
    by_line = {bad.line: bad.error for bad in man.invalid}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 9]
    assert "bad.jsonl line 2: unknown key 'widht'" in by_line[2] and "width_px" in by_line[2]
    assert "not valid JSON" in by_line[3]
    assert "duplicate id 'ok1' (first on line 1)" in by_line[4]
    assert "missing 'rig'" in by_line[5]
    assert "width_px must be of type int, got \"512\"" in by_line[6]
    assert "exactly one of 'images'" in by_line[7]
    assert "also the output of job 'ok1'" in by_line[9]


def test_an_invalid_stitch_setting_names_the_line(batch_dir):
    m = _write(batch_dir / "w.jsonl", [_line("w", width_px=101)])
    (bad,) = load_manifest(m).invalid
    assert bad.error.startswith("w.jsonl line 1: panorama width must be an even integer")


def test_images_that_do_not_match_the_rig_fail_validation(batch_dir):
    m = _write(batch_dir / "count.jsonl", [{"id": "few", "rig": "captures/job00/camera_rig.json",
                                            "images": ["captures/job00/cam0.png"],
                                            "output": "out/few.jpg"}])
    (bad,) = load_manifest(m).invalid
    assert "the rig has 4 cameras but 1 images were given" in bad.error


def test_a_manifest_that_is_unusable_as_a_whole_raises(tmp_path):
    with pytest.raises(InputError, match="manifest does not exist"):
        load_manifest(tmp_path / "none.jsonl")
    with pytest.raises(InputError, match="has no jobs"):
        load_manifest(_write(tmp_path / "empty.jsonl", ["", "# just a comment"]))
    with pytest.raises(InputError, match="not JSONL"):
        load_manifest(_write(tmp_path / "csv.jsonl", ["id,rig,output", "a,b,c"]))
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match="no capture folders"):
        load_manifest(tmp_path / "folder")


def test_a_folder_of_capture_folders_becomes_one_job_per_capture(batch_dir, tmp_path):
    root = batch_dir / "captures"
    man = load_manifest(root)
    assert [j.id for j in man.jobs] == ["job00", "job01"] and not man.invalid
    assert man.jobs[0].output == (batch_dir / "captures/job00.jpg").resolve()
    moved = load_manifest(root, out_dir=tmp_path / "pano")
    assert moved.jobs[1].output == (tmp_path / "pano/job01.jpg").resolve()


def test_a_capture_folder_with_images_but_no_rig_is_reported(batch_dir, tmp_path):
    root = tmp_path / "caps"
    shutil.copytree(batch_dir / "captures/job00", root / "good")
    (root / "norig").mkdir()
    shutil.copy(batch_dir / "captures/job00/cam0.png", root / "norig/cam0.png")
    man = load_manifest(root)
    assert [j.id for j in man.jobs] == ["good"]
    assert "'norig' has images but no camera_rig.json or rig_config.json" in man.invalid[0].error


def test_settings_hash_follows_parameters_and_input_contents_only(batch_dir, tmp_path):
    shutil.copytree(batch_dir / "captures", tmp_path / "captures")
    line = json.loads((batch_dir / "manifest.jsonl").read_text().splitlines()[0])
    m = _write(tmp_path / "m.jsonl", [line])
    h0 = load_manifest(m).jobs[0].settings_hash
    assert load_manifest(m).jobs[0].settings_hash == h0  # stable across loads
    assert load_manifest(m, defaults={"blend_bands": 2}).jobs[0].settings_hash != h0
    wider = _write(tmp_path / "w.jsonl", [line | {"width_px": 512}])
    assert load_manifest(wider).jobs[0].settings_hash != h0
    img = tmp_path / "captures/job00/cam2.png"
    st = img.stat()
    os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the image was edited
    assert load_manifest(m).jobs[0].settings_hash != h0


def test_defaults_apply_unless_a_line_sets_the_option(batch_dir):
    man = load_manifest(batch_dir / "manifest.jsonl", defaults={"blend_bands": 2,
                                                                 "width_px": 1024})
    assert man.jobs[0].params.blend_bands == 2
    assert man.jobs[0].params.width_px == 256  # the line's own value wins


def test_finished_hash_reads_the_sidecar_then_the_results_lines(batch_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    line = json.loads((batch_dir / "manifest.jsonl").read_text().splitlines()[0])
    line["rig"] = str(batch_dir / line["rig"])
    line["images_dir"] = str(batch_dir / line["images_dir"])
    line["output"] = "out/p.jpg"
    (job,) = load_manifest(_write(tmp_path / "m.jsonl", [line])).jobs
    assert finished_hash(job, []) is None  # no output yet
    job.output.write_bytes(b"\xff\xd8")
    assert finished_hash(job, []) is None  # output without any record: stitched again
    done = {"id": job.id, "status": "done", "output": str(job.output),
            "settings_hash": job.settings_hash}
    assert finished_hash(job, [done]) == job.settings_hash
    assert finished_hash(job, [done | {"status": "failed"}]) is None
    sidecar_path(job.output).write_text(json.dumps({"settings_hash": job.settings_hash}))
    assert finished_hash(job, []) == job.settings_hash


def test_results_reader_skips_a_line_cut_by_a_crash(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_text('{"id": "a", "status": "done"}\n{"id": "b", "sta')
    assert read_results(p) == [{"id": "a", "status": "done"}]
    assert read_results(tmp_path / "none.jsonl") == []
    assert default_results_path(p) == tmp_path.resolve() / "r.results.jsonl"


def test_cli_exits_2_for_an_unusable_manifest_before_starting_a_cluster(tmp_path):
    res = CliRunner().invoke(main, ["batch", str(tmp_path / "none.jsonl")])
    assert res.exit_code == 2
    assert res.output.strip().endswith("none.jsonl: manifest does not exist")
    bad = _write(tmp_path / "m.jsonl", ['{"id": "a"}'])
    res = CliRunner().invoke(main, ["batch", str(bad), "--set", "widht=3"])
    assert res.exit_code == 2 and "unknown key 'widht'" in res.output


def test_cli_refuses_workers_with_a_scheduler(tmp_path):
    m = _write(tmp_path / "m.jsonl", ['{"id": "a"}'])
    res = CliRunner().invoke(main, ["batch", str(m), "--scheduler", "tcp://127.0.0.1:8786",
                                    "--workers", "2"])
    assert res.exit_code == 2 and "cannot be combined with --scheduler" in res.output
