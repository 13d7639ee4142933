"""The bundled lens-profile database: look-ups on the real data, the choice of a profile for a
clip's facts, refused digital lenses, misses, broken profiles, ``--lens`` names, the CLI, and
that nothing of it loads at start-up."""

import io
import json
import lzma
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from sensors.errors import InputError
from sensors.lens_db import (
    CameraFacts,
    load_database,
    match_lens_profile,
    resolve_lens,
    search_profiles,
)
from sensors.lens_db.names import eis_of, lens_mode_of, norm_model
from sensors.lens_db.pack import pack_profiles
from sensors.lens_db.store import DATA_FILE, read_database
from sensors.lens_profile import load_lens_profile

HERO7 = "GoPro_HERO7 Black_Wide_HS EIS_1080p_16by9_1920x1080-29.97fps"
HERO5_EIS = "GoPro_HERO5 Black_Wide_EIS-Y_16by9"
KARMA = CameraFacts("GoPro", "HERO5 Black", "M", eis=False, width=854, height=480, fps=29.97)


def test_every_profile_of_the_collection_is_indexed_or_named_in_a_note():
    db = load_database()
    assert len(db) + len(db.notes) == 9810  # the collection's JSON files
    assert len(db) > 9700
    assert all(": left out, " in n for n in db.notes)


def test_the_packed_file_stays_small():
    assert DATA_FILE.stat().st_size < 2_000_000
    assert (DATA_FILE.parent / "LICENSE-CC0.txt").is_file()


def test_hero5_black_medium_16by9_finds_a_hero5_medium_profile():
    m = match_lens_profile(KARMA)
    assert m.found
    assert m.entry.model == "HERO5 Black" and m.entry.lens_mode == "medium"
    assert "Medium" in m.key
    assert m.reason.startswith("matched brand, model, lens mode")
    assert "aspect 16:9" in m.reason and "scaled" in m.reason
    cam = m.camera_model()
    assert cam.size == (854, 480)
    assert not cam.meta["approximate"]
    # The lens scaled from the calibration size: focal in proportion to the width.
    assert cam.K[0, 0] == pytest.approx(m.entry.camera_model().K[0, 0] * 854 / 2704, rel=1e-9)


def test_brand_and_model_spellings_choose_the_same_profile():
    keys = {match_lens_profile(CameraFacts(b, mdl, "M", False, 854, 480, 29.97)).key
            for b, mdl in [("GoPro", "HERO5 Black"), ("GoPro", "GoPro HERO5 Black"),
                           (None, "HERO5Black"), ("gopro", "hero5 black"),
                           (None, "GoPro HERO5 Black")]}
    assert len(keys) == 1
    assert {norm_model(m, "GoPro") for m in ("HERO5 Black", "GoPro HERO5 Black",
                                             "HERO5Black")} == {"hero5black"}


def test_hero7_black_wide_with_eis_on_finds_a_hero7_wide_hs_eis_profile():
    m = match_lens_profile(CameraFacts("GoPro", "HERO7 Black", "W", eis=True, width=848,
                                       height=480, fps=29.97))
    assert m.found
    assert m.entry.model == "HERO7 Black" and m.entry.lens_mode == "wide" and m.entry.eis
    assert "Wide_HS EIS" in m.key
    assert "EIS on" in m.reason
    assert m.alternatives and all(a.score <= m.score for a in m.alternatives)


def test_an_exact_mode_takes_the_readout_the_profile_states_for_it():
    m = match_lens_profile(CameraFacts("GoPro", "HERO5 Black", "W", eis=True, width=1920,
                                       height=1080, fps=29.97))
    assert m.key == "GoPro/" + HERO5_EIS
    assert "resolution 1920x1080 exact" in m.reason
    # compatible_settings of that official profile: 1920x1080 at 29.97 fps reads out in 33.37 ms
    assert m.readout_ms == pytest.approx(33.36667)
    assert m.camera_model().meta["readout_s"] == pytest.approx(0.03336667)


def test_a_scaled_mode_leaves_the_readout_unknown():
    # The profile's readout belongs to its own sensor mode, not to this one.
    assert KARMA.size != match_lens_profile(KARMA).entry.calib_size
    assert match_lens_profile(KARMA).camera_model().meta["readout_s"] is None


@pytest.mark.parametrize("letter, label", [("S", "SuperView"), ("H", "HyperView"),
                                           ("X", "Max SuperView")])
def test_a_digital_lens_mode_is_refused_by_name(letter, label):
    m = match_lens_profile(CameraFacts("GoPro", "HERO7 Black", letter, eis=True, width=1920,
                                       height=1080, fps=59.94))
    assert not m.found and m.refused == label
    assert label in m.reason and "digital lens" in m.reason
    with pytest.raises(InputError, match="no lens profile chosen"):
        m.camera_model()


def test_superview_profiles_are_never_candidates_and_refused_when_named():
    db = load_database()
    superview = db.get("GoPro_HERO7 Black_Superview_HS EIS_1080p_16by9_1920x1080-59.94fps")
    assert superview.digital_lens == "gopro_superview"
    for mode in ("W", "L", None):
        m = match_lens_profile(CameraFacts("GoPro", "HERO7 Black", mode, True, 1920, 1080,
                                           59.94))
        assert m.found and not m.entry.digital_lens
        assert all("Super" not in a.key for a in m.alternatives)
    with pytest.raises(InputError, match="gopro_superview is a digital lens"):
        resolve_lens(superview.key)


def test_an_unknown_camera_is_a_miss_with_a_reason():
    m = match_lens_profile(CameraFacts("GoPro", "HERO99 Black", "W", eis=True, width=1920,
                                       height=1080, fps=30))
    assert not m.found and m.key is None and m.score == 0 and m.refused is None
    assert "no profile for GoPro HERO99 Black" in m.reason
    assert "default lens applies" in m.reason


def test_a_lens_mode_the_camera_has_no_profile_for_is_a_miss_naming_the_modes_it_has():
    m = match_lens_profile(CameraFacts("GoPro", "Max", "N", eis=True, width=1920,
                                       height=1080))
    assert not m.found
    assert "no Narrow profile for GoPro Max" in m.reason and "Wide" in m.reason


def test_gopro_metadata_words_map_to_modes_and_eis_states():
    assert [lens_mode_of(c) for c in "WMNLSHX"] == [
        "wide", "medium", "narrow", "linear", "superview", "hyperview", "max_superview"]
    assert lens_mode_of("Medium") == "medium"
    assert [eis_of(v) for v in ("Y", "N", "HS EIS", "HS HLevel", "NO-EIS", None)] == [
        True, False, True, True, False, None]
    with pytest.raises(InputError, match="unknown lens mode"):
        match_lens_profile(CameraFacts("GoPro", "HERO5 Black", "Q"))


def test_a_database_name_resolves_to_the_same_lens_as_the_file(samples_dir):
    f = samples_dir / "lens_profiles" / (HERO7 + ".json")
    from_file, what_file = resolve_lens(str(f), 848, 480)
    from_db, what_db = resolve_lens(HERO7, 848, 480)
    np.testing.assert_allclose(from_db.K, load_lens_profile(f, (848, 480)).K, rtol=1e-12)
    np.testing.assert_allclose(from_db.K, from_file.K, rtol=1e-12)
    np.testing.assert_array_equal(from_db.dist, from_file.dist)
    assert what_file == f"lens profile {f}"
    assert what_db.startswith(f"lens profile GoPro/{HERO7} from the bundled database")


def test_names_are_found_by_key_stem_or_profile_name_and_ambiguity_is_an_error():
    db = load_database()
    by_key = db.get("GoPro/" + HERO5_EIS)
    assert db.get(HERO5_EIS) is by_key
    assert db.get(HERO5_EIS.lower() + ".json") is by_key
    assert db.get(by_key.name) is by_key  # its own "name" field differs from its file name
    with pytest.raises(InputError, match="2 lens profiles carry this name"):
        db.get("Sony_Xperia 1 V_24mm__4k_16by9_3840x2160-29.97fps")
    with pytest.raises(InputError, match="no such file, and no lens profile of that name"):
        resolve_lens("no such lens")


def _profile(samples_dir, name: str) -> dict:
    return json.loads((samples_dir / "lens_profiles" / name).read_text())


def _tar_xz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_a_broken_profile_in_the_collection_is_left_out_with_a_note(samples_dir, tmp_path):
    good = _profile(samples_dir, HERO7 + ".json")
    no_matrix = dict(good, fisheye_params={"camera_matrix": [], "distortion_coeffs": []})
    src = tmp_path / "collection.tar.xz"
    src.write_bytes(_tar_xz({
        "./GoPro/good.json": json.dumps(good).encode(),
        "./GoPro/broken.json": b'{"name": "cut off", "calib_dimension": {"w": 19',
        "./GoPro/no_matrix.json": json.dumps(no_matrix).encode(),
    }))
    out = tmp_path / "profiles.jsonl.xz"
    n, notes = pack_profiles(src, out)
    assert n == 2 and notes == ["GoPro/broken: left out, not JSON (JSONDecodeError)"]
    db = read_database(out)
    assert [e.key for e in db.entries] == ["GoPro/good"]
    assert db.notes == ("GoPro/no_matrix: left out, camera_matrix (3x3, positive focal) / "
                        "distortion_coeffs missing or malformed",)
    m = match_lens_profile(CameraFacts("GoPro", "HERO7 Black", "W", True, 1920, 1080), db=db)
    assert m.key == "GoPro/good"


def test_a_broken_line_in_the_packed_file_is_left_out_with_a_note(samples_dir, tmp_path):
    good = dict(_profile(samples_dir, HERO7 + ".json"), _path="GoPro/good")
    f = tmp_path / "profiles.jsonl.xz"
    f.write_bytes(lzma.compress(json.dumps(good).encode() + b"\n{not json\n[1, 2]\n"))
    db = read_database(f)
    assert len(db) == 1
    assert db.notes == ("line 2: left out, not JSON (JSONDecodeError)",
                        "line 3: left out, not a profile object with its _path")


def test_a_packed_file_that_is_not_xz_is_one_error(tmp_path):
    f = tmp_path / "profiles.jsonl.xz"
    f.write_text("plain text")
    with pytest.raises(InputError, match="not xz data"):
        read_database(f)


def test_search_finds_profiles_by_every_word():
    rows = search_profiles("hero5black medium", limit=None)
    assert rows and {r["model"] for r in rows} == {"HERO5 Black"}
    assert {r["lens_mode"] for r in rows} == {"Medium"}
    assert len(search_profiles("gopro", limit=7)) == 7


def _cli(*args):
    return CliRunner().invoke(main, list(args))


def test_cli_lens_search_hero5_lists_results():
    r = _cli("lens", "search", "hero5", "--limit", "3")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].split() == ["name", "brand", "model", "lens", "resolution", "fps", "EIS"]
    assert len(lines) == 5 and "HERO5" in lines[1] and lines[4].endswith("more (--limit)")
    rows = json.loads(_cli("lens", "search", "hero5", "black", "--json").output)
    assert rows and all("HERO5" in r["model"] for r in rows)


def test_cli_lens_show_prints_the_calibration():
    r = _cli("lens", "show", HERO5_EIS)
    assert r.exit_code == 0, r.output
    assert "calibration     2704x1520 at 29.97 fps" in r.output
    assert "readout         26.693 ms" in r.output
    info = json.loads(_cli("lens", "show", HERO5_EIS, "--json").output)
    assert info["distortion_model"] == "opencv_fisheye" and len(info["distortion_coeffs"]) == 4
    assert 90 < info["hfov_deg"] < 130


def test_cli_lens_show_of_an_unknown_name_is_one_error_line_and_exit_2():
    r = _cli("lens", "show", "no such lens")
    assert r.exit_code == 2
    assert r.output.startswith("Error: no such lens: ") and r.output.count("\n") == 1


def test_start_up_does_not_load_the_database():
    code = ("import sys, cli, sensors, stabilize, sensors.lens_profile, stabilize.pipeline; "
            "print(','.join(m for m in sys.modules if 'lens_db' in m))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_cli_stabilize_with_an_unknown_lens_name_is_one_error_line(samples_dir, tmp_path):
    r = _cli("stabilize", str(samples_dir / "gopro" / "karma.mp4"), "--lens", "no such lens",
             "-o", str(tmp_path / "out.mp4"))
    assert r.exit_code == 2
    assert r.output.startswith("Error: no such lens: no such file, and no lens profile")
    assert r.output.count("\n") == 1
    assert not (tmp_path / "out.mp4").exists()
