"""Numba kernel of the renderer. Private: ``render.equirect_maps`` validates and calls it; its
numpy reference is ``render.equirect_maps_reference`` and tests/test_synthetic_render.py holds
them together."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _equirect_maps(dirs: np.ndarray, step: int, h: int, w: int, pano_w: int, pano_h: int,
                   mapx: np.ndarray, mapy: np.ndarray) -> None:
    """Bilinear ray interpolation on a coarse grid, then panorama coordinates per pixel."""
    gh = dirs.shape[0]
    gw = dirs.shape[1]
    inv = 1.0 / step
    two_pi = 2.0 * math.pi
    for y in range(h):
        fy = y * inv
        i0 = min(int(fy), gh - 1)
        i1 = min(i0 + 1, gh - 1)
        ay = fy - i0
        for x in range(w):
            fx = x * inv
            j0 = min(int(fx), gw - 1)
            j1 = min(j0 + 1, gw - 1)
            ax = fx - j0
            w00 = (1.0 - ay) * (1.0 - ax)
            w01 = (1.0 - ay) * ax
            w10 = ay * (1.0 - ax)
            w11 = ay * ax
            dx = w00 * dirs[i0, j0, 0] + w01 * dirs[i0, j1, 0] + w10 * dirs[i1, j0, 0] \
                + w11 * dirs[i1, j1, 0]
            dy = w00 * dirs[i0, j0, 1] + w01 * dirs[i0, j1, 1] + w10 * dirs[i1, j0, 1] \
                + w11 * dirs[i1, j1, 1]
            dz = w00 * dirs[i0, j0, 2] + w01 * dirs[i0, j1, 2] + w10 * dirs[i1, j0, 2] \
                + w11 * dirs[i1, j1, 2]
            u = (0.5 + math.atan2(dx, dz) / two_pi) * pano_w
            if u >= pano_w:
                u -= pano_w
            elif u < 0.0:
                u += pano_w
            v = (0.5 + math.atan2(dy, math.hypot(dx, dz)) / math.pi) * pano_h - 0.5
            mapx[y, x] = u - 0.5
            mapy[y, x] = min(max(v, 0.0), pano_h - 1.0)
