"""Deep samples to 8 bits: ordered dither, same values as the reference, levels kept."""

import numpy as np
import pytest

from stabilize.dither import bayer8, dither_to_8bit, dither_to_8bit_reference, make_tiles


def test_the_bayer_matrix_holds_each_index_once():
    m = bayer8()
    assert m.shape == (8, 8) and sorted(m.ravel()) == list(range(64))


@pytest.mark.parametrize("bits, shape", [(10, (70, 123)), (10, (8, 8)), (12, (131, 66)),
                                         (9, (17, 5))])
def test_the_banded_opencv_dither_equals_the_reference(bits, shape):
    rng = np.random.default_rng(bits)
    src = rng.integers(0, 1 << bits, shape, dtype=np.uint16)
    dst = np.full(shape, 7, np.uint8)
    dither_to_8bit(src, dst, bits)
    np.testing.assert_array_equal(dst, dither_to_8bit_reference(src, bits))


def test_it_writes_into_a_padded_view_with_reused_tiles():
    rng = np.random.default_rng(5)
    tiles = make_tiles(10)
    buf = np.zeros((90, 160), np.uint8)
    for _ in range(2):
        src = rng.integers(0, 1024, (90, 150), dtype=np.uint16)
        dither_to_8bit(src, buf[:, :150], 10, tiles)
        np.testing.assert_array_equal(buf[:, :150], dither_to_8bit_reference(src, 10))
    assert not buf[:, 150:].any()  # the padding is untouched


@pytest.mark.parametrize("ten, eight", [(64, 16), (940, 235), (512, 128), (0, 0), (1023, 255)])
def test_black_white_and_neutral_chroma_keep_their_levels(ten, eight):
    out = dither_to_8bit(np.full((16, 24), ten, np.uint16), np.empty((16, 24), np.uint8), 10)
    assert np.all(out == eight)


def test_every_ten_bit_level_keeps_its_mean_over_the_pattern():
    # a shift would put 257, 258 and 259 all at 64: a smooth 10-bit ramp would band
    levels = np.arange(64, 941, dtype=np.uint16)
    src = np.repeat(levels, 8)[None, :].repeat(8, axis=0)  # one 8 x 8 flat block per level
    out = dither_to_8bit(src, np.empty(src.shape, np.uint8), 10).astype(np.float64)
    means = out.reshape(8, -1, 8).mean(axis=(0, 2))
    np.testing.assert_allclose(means * 4.0, levels, atol=1e-12)


def test_unsupported_depths_and_types_are_refused():
    with pytest.raises(ValueError):
        dither_to_8bit(np.zeros((2, 2), np.uint16), np.zeros((2, 2), np.uint8), 16)
    with pytest.raises(ValueError):
        dither_to_8bit(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8), 10)
