"""`steadyrig samples` writes complete samples and rejects unknown kinds."""

from click.testing import CliRunner

from cli import main


def test_samples_writes_every_file_per_kind(tmp_path):
    res = CliRunner().invoke(main, ["samples", str(tmp_path), "--kinds", "walk,tilt",
                                    "--width", "96", "--duration", "0.5", "--fps", "10",
                                    "--ois", "--no-audio"])
    assert res.exit_code == 0, res.output
    for kind in ("walk", "tilt"):
        for suffix in (".mp4", ".gcsv", ".lens.json", ".truth.npz", ".truth.json"):
            assert (tmp_path / f"{kind}_s0{suffix}").stat().st_size > 0
        assert (tmp_path / f"{kind}_s0_phone" / "frame.txt").exists()
    assert not list(tmp_path.glob(".*part*"))


def test_samples_rejects_an_unknown_kind(tmp_path):
    res = CliRunner().invoke(main, ["samples", str(tmp_path), "--kinds", "walk,jog"])
    assert res.exit_code == 2
    assert "unknown kind(s) jog" in res.output
    assert not list(tmp_path.iterdir())


def test_samples_writes_a_dual_fisheye_clip_without_lens_profile(tmp_path):
    res = CliRunner().invoke(main, ["samples", str(tmp_path), "--kinds", "pan", "--width", "128",
                                    "--duration", "0.5", "--fps", "10", "--projection",
                                    "dual-fisheye", "--no-audio"])
    assert res.exit_code == 0, res.output
    for suffix in (".mp4", ".gcsv", ".truth.npz", ".truth.json"):
        assert (tmp_path / f"pan_s0{suffix}").stat().st_size > 0
    assert not (tmp_path / "pan_s0.lens.json").exists()


def test_samples_rejects_an_unknown_projection_in_one_line(tmp_path):
    res = CliRunner().invoke(main, ["samples", str(tmp_path / "out"), "--projection", "fisheye"])
    assert res.exit_code == 2
    (line,) = [ln for ln in res.output.splitlines() if "Error" in ln]
    assert line.startswith("Error: ") and "'fisheye'" in line and "dual-fisheye" in line
    assert "Traceback" not in res.output and not (tmp_path / "out").exists()
