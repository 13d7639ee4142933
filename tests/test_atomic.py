"""Outputs appear only when complete, with ordinary permissions; inputs are never overwritten."""

import os
import stat

import pytest

from sensors import InputError, atomic_output, check_not_input


def test_output_appears_only_on_success(tmp_path):
    dest = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_output(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_completed_output_has_umask_permissions(tmp_path):
    dest = tmp_path / "out.txt"
    with atomic_output(dest) as tmp:
        tmp.write_text("done")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o666 & ~mask
    assert dest.read_text() == "done"


def test_output_equal_to_input_is_refused(tmp_path):
    src = tmp_path / "clip.mp4"
    src.write_bytes(b"x")
    with pytest.raises(InputError, match="same as an input"):
        check_not_input(tmp_path / "." / "clip.mp4", src)
