"""Deep (10- or 12-bit) samples to 8 bits with an ordered dither, into caller-owned planes.

A plain shift turns a smooth 10-bit gradient (a sky, a log grade) into visible 8-bit steps;
adding an 8 x 8 ordered (Bayer) pattern of sub-step offsets before dropping the low bits keeps
the local mean, so the steps become fine texture the eye averages. That is what ffmpeg's
swscale does for the same conversion (its unscaled "dither copy"). Black and white levels are
kept: 64 -> 16 and 940 -> 235 in limited range, neutral chroma 512 -> 128.

Writing into planes the caller reuses, rather than into a new frame per picture, keeps a 4K
clip's memory flat: a fresh 12 MB buffer per frame is new pages to fault in, and glibc keeps
freed ones once its mmap threshold has risen.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["bayer8", "dither_to_8bit", "dither_to_8bit_reference"]

_BAND_ROWS = 64  # rows per pass: the pattern tile and scratch stay small (~0.5 MB at 4K)


def bayer8() -> np.ndarray:
    """The 8 x 8 ordered-dither (Bayer) index matrix, values 0..63, each once."""
    m = np.zeros((1, 1), np.int64)
    for _ in range(3):
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return m


def _offsets(bits: int) -> np.ndarray:
    shift = bits - 8
    if not 1 <= shift <= 6:
        raise ValueError(f"dither from {bits} bits to 8 is not supported (9..14 bits)")
    return (bayer8() >> (6 - shift)).astype(np.uint16)  # 0 .. 2**shift - 1


def dither_to_8bit_reference(src: np.ndarray, bits: int) -> np.ndarray:
    """Plain numpy reference: ``floor((src + d) / 2**(bits - 8))`` clipped to 255, with ``d``
    the Bayer offset of each pixel's position (row and column modulo 8)."""
    d = _offsets(bits)
    h, w = src.shape
    tile = np.tile(d, ((h + 7) // 8, (w + 7) // 8))[:h, :w].astype(np.int64)
    return np.minimum((src.astype(np.int64) + tile) >> (bits - 8), 255).astype(np.uint8)


class _Tiles:
    """Pattern tiles and scratch per plane width, made once per clip."""

    def __init__(self, bits: int):
        self.bits = bits
        self.d = _offsets(bits)
        self.by_width: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def get(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        if width not in self.by_width:
            tile = np.ascontiguousarray(np.tile(self.d, (_BAND_ROWS // 8, (width + 7) // 8))
                                        [:, :width])
            self.by_width[width] = (tile, np.empty_like(tile))
        return self.by_width[width]


def dither_to_8bit(src: np.ndarray, dst: np.ndarray, bits: int,
                   tiles: _Tiles | None = None) -> np.ndarray:
    """Write ``src`` (uint16 samples of ``bits`` bits, (H, W)) into ``dst`` (uint8, (H, W))
    with the ordered dither of ``dither_to_8bit_reference`` (same values).

    Parameters
    ----------
    src : (H, W) uint16
        Samples of ``bits`` significant bits (10 for yuv420p10le).
    dst : (H, W) uint8
        Receives the result; rows may be a view with padding.
    bits : int
        Significant bits of ``src`` (9..14).
    tiles : optional
        Reused pattern tiles (``make_tiles(bits)``); made here when omitted.

    Returns
    -------
    ``dst``
    """
    if src.shape != dst.shape or src.dtype != np.uint16 or dst.dtype != np.uint8:
        raise ValueError("dither_to_8bit needs uint16 src and uint8 dst of the same shape")
    tiles = make_tiles(bits) if tiles is None else tiles
    if tiles.bits != bits:
        raise ValueError("tiles were made for another bit depth")
    h, w = src.shape
    tile, tmp = tiles.get(w)
    scale = 1.0 / (1 << (bits - 8))
    # (x + d) * scale has a fraction k * scale; minus (0.5 - scale / 2) it rounds down to the
    # floor of the reference for every k (|fraction| < 0.5), and saturates at 255
    beta = -(0.5 - 0.5 * scale)
    for r0 in range(0, h, _BAND_ROWS):
        n = min(_BAND_ROWS, h - r0)
        t = tmp[:n]
        cv2.add(src[r0:r0 + n], tile[:n], dst=t)
        cv2.convertScaleAbs(t, dst=dst[r0:r0 + n], alpha=scale, beta=beta)
    return dst


def make_tiles(bits: int) -> _Tiles:
    """Pattern tiles for ``dither_to_8bit`` at ``bits`` (reuse them across frames)."""
    return _Tiles(bits)
