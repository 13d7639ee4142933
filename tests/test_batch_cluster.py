"""Batch runs on real Dask clusters: an embedded LocalCluster of two worker processes, and a
scheduler + two workers started by hand (``dask scheduler`` / ``dask worker``) on loopback.

Rosettes are tiny (4 cameras of 320x240, 768 px panoramas) so a whole run takes seconds; the
first test runs the full pipeline (refine + seam repair), the plumbing tests a rotation-only stitch.
"""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner

from cli import main
from sensors.errors import InputError
from stitch.batch import generate_batch, read_results, run_batch, sidecar_path

pytestmark = pytest.mark.slow

FULL = {"width_px": 768}
FAST = {"width_px": 768, "repair": False, "refine": False}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    generate_batch(root, 3, n_cameras=4, width=320, height=240, hfov_deg=110.0, seed=11)
    return root


def _fresh(generated, tmp_path, broken: bool) -> Path:
    """A copy of the generated batch; with ``broken``, job01's camera 2 image is truncated."""
    root = tmp_path / "batch"
    shutil.copytree(generated, root)
    if broken:
        img = root / "captures/job01/cam2.png"
        img.write_bytes(img.read_bytes()[:200])
    return root / "manifest.jsonl"


def _assert_panorama(path: Path) -> None:
    img = cv2.imread(str(path))
    assert img is not None and img.shape == (384, 768, 3)
    assert img.mean() > 20  # not an empty canvas


def test_broken_job_fails_alone_and_a_rerun_skips_the_finished_ones(generated, tmp_path):
    manifest = _fresh(generated, tmp_path, broken=True)
    root = manifest.parent
    summary = run_batch(manifest, workers=2, defaults=FULL)
    assert (summary.n_done, summary.n_failed, summary.n_skipped) == (2, 1, 0)
    assert summary.n_workers == 2
    for name in ("job00", "job02"):
        _assert_panorama(root / f"panoramas/{name}.jpg")
        side = json.loads(sidecar_path(root / f"panoramas/{name}.jpg").read_text())
        assert side["id"] == name and len(side["settings_hash"]) == 16
    assert not (root / "panoramas/job01.jpg").exists()
    lines = read_results(root / "manifest.results.jsonl")
    assert len(lines) == 3
    (failed,) = [r for r in lines if r["status"] == "failed"]
    assert failed["id"] == "job01"
    assert failed["error"].startswith("InputError: ")
    assert "cam2.png: cannot read image" in failed["error"]
    done = [r for r in lines if r["status"] == "done"]
    assert all(r["timings_s"]["total"] > 0 and r["peak_rss_mb"] > 0 for r in done)
    for r in done:
        assert r["seam"]["n_overlaps"] >= 4 and r["seam"]["repair"] and r["seam"]["refine"]
        heldout = r["seam"]["seams"]["overall"]["heldout"]
        assert heldout["after"]["median_px"] < heldout["before"]["median_px"]
        assert r["seam"]["min_jacobian_det"] > 0.8

    # The rerun goes through the CLI: finished jobs are skipped, the broken one fails again.
    res = CliRunner().invoke(main, ["batch", str(manifest), "--workers", "2",
                                    "--set", "width_px=768"])
    assert res.exit_code == 1, res.output
    assert "batch: 0 done, 1 failed, 2 skipped" in res.output
    assert "failed job01: InputError:" in res.output
    lines = read_results(root / "manifest.results.jsonl")
    assert [r["status"] for r in lines[3:]].count("skipped") == 2


def test_interrupt_cancels_leaves_no_partial_output_and_a_rerun_resumes(generated, tmp_path):
    manifest = _fresh(generated, tmp_path, broken=False)
    out = manifest.parent / "panoramas"

    def interrupt(progress):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(manifest, workers=2, defaults=FAST, progress=interrupt)
    assert not [p.name for p in out.iterdir() if ".part" in p.name]
    written = sorted(out.glob("*.jpg"))
    assert 1 <= len(written) <= 3
    for p in written:  # whatever reached its final name is complete
        _assert_panorama(p)
    assert len(read_results(manifest.parent / "manifest.results.jsonl")) == 1

    summary = run_batch(manifest, workers=2, defaults=FAST)
    assert summary.n_failed == 0 and summary.n_done + summary.n_skipped == 3
    assert summary.n_skipped >= 1
    for name in ("job00", "job01", "job02"):
        _assert_panorama(out / f"{name}.jpg")


def _dask(*args: str, log: Path) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("dask")
    with log.open("wb") as err:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([str(exe), *args], stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def test_the_same_manifest_runs_on_a_scheduler_started_by_hand(generated, tmp_path):
    manifest = _fresh(generated, tmp_path, broken=True)
    sched_file = tmp_path / "scheduler.json"
    procs = [_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                   "--idle-timeout", "120s", "--scheduler-file", str(sched_file),
                   log=tmp_path / "scheduler.log")]
    try:
        deadline = time.monotonic() + 30
        while not sched_file.exists() and time.monotonic() < deadline:
            assert procs[0].poll() is None, (tmp_path / "scheduler.log").read_text()
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(_dask("worker", address, "--nworkers", "2", "--nthreads", "1",
                           "--host", "127.0.0.1", "--no-dashboard",
                           log=tmp_path / "worker.log"))
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        summary = run_batch(manifest, scheduler=address, defaults=FAST)
        assert (summary.n_done, summary.n_failed, summary.n_skipped) == (2, 1, 0)
        assert summary.n_workers == 2
        for name in ("job00", "job02"):
            _assert_panorama(manifest.parent / f"panoramas/{name}.jpg")
        (failed,) = [r for r in summary.records if r["status"] == "failed"]
        assert failed["id"] == "job01" and "cannot read image" in failed["error"]
    finally:
        for p in reversed(procs):
            _stop(p)


def test_an_unreachable_scheduler_is_a_clear_error(generated, tmp_path):
    manifest = _fresh(generated, tmp_path, broken=False)
    with pytest.raises(InputError, match="cannot connect to the Dask scheduler within 2 s"):
        run_batch(manifest, scheduler="tcp://127.0.0.1:9", defaults=FAST,
                  connect_timeout_s=2.0)
