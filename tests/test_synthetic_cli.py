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
