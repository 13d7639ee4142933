"""The benchmark's undefined-pixel figure counts a black fill at the border, not dark scenery."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "bench" / "_video_quality.py"


@pytest.fixture(scope="module")
def undefined_share():
    spec = importlib.util.spec_from_file_location("_bench_video_quality", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._undefined_share


def _scene(seed: int = 3) -> np.ndarray:
    """A textured 540x960 grey frame (luma 60-200)."""
    rng = np.random.default_rng(seed)
    return rng.integers(60, 200, size=(540, 960)).astype(np.uint8)


def test_a_black_strip_at_the_border_is_its_share_of_the_frame(undefined_share):
    g = _scene()
    g[:, -6:] = 0  # the 6 px black fill a too-small zoom leaves
    assert undefined_share(g) == pytest.approx(6 / 960, rel=0.02)


def test_a_dark_flat_lake_touching_the_border_is_not_undefined(undefined_share):
    g = _scene()
    g[300:500, 700:] = 20  # water in shadow: flat, dark, but not black
    assert undefined_share(g) == 0.0


def test_black_fill_next_to_a_dark_lake_is_still_found(undefined_share):
    g = _scene()
    g[300:500, 700:] = 20
    g[:, -4:] = 0
    share = undefined_share(g)
    assert 4 / 960 <= share < 8 / 960
