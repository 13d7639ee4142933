"""Stitch and stabilize a dual-fisheye frame in one remap per lens (docs/architecture.md
"360 video").

An output pixel is a direction ``d`` of the virtual camera, as for an equirect clip
(``stabilize.sphere_warp``). For each lens, the camera saw it as ``M(t) d`` with
``M(t) = R_world_from_cam(t)^T R_virtual`` at the time ``t`` of the lens row it lands on (each
lens reads its own rows; row ``y`` of the frame at ``t_frame + ((y + 0.5) / H - 0.5) *
readout``): found by fixed-point iteration from the middle row, as the flat rolling-shutter
warp iterates. That camera direction is a point ``q`` of the stitch panorama in the seam frame
(``rig.R_SEAM_FROM_CAM``); the lens's seam field moves it to ``q + D(q)`` (``seams``), whose
direction the lens images at a frame pixel through the calibration (``rig``). So
stabilization, rolling shutter and the stitch are one mapping, and each lens is sampled once.

The two lenses are blended by the angle each direction lies inside each lens's usable disc
(``w_k = fov_k - theta_k``, normalised; the nearer lens alone where neither sees, so every
pixel is defined), with the lenses' gains matched about black (luma) and neutral (chroma).

The exact mapping is computed on a grid of output nodes (``step_px``) and interpolated
bilinearly in between; the blend weight is taken per sample from where it lands in each disc,
so no sample beyond a disc's edge is weighted. With bilinear sampling (the default) the maps,
the sampling and the blend are one pass over the luma plane and one over both chroma planes
(interpolated down the node columns once per row, then across); other interpolations remap
each lens with OpenCV and blend (numba kernels in ``_kernels``, numpy twins in
``reference``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sensors.errors import InputError

from ..motion import FrameMotion
from ..sphere_warp import row_rotations
from ..synthesis import INTERPOLATION_FLAGS
from . import _kernels
from .rig import R_SEAM_FROM_CAM, LensPair
from .seams import SeamTrack

__all__ = ["DualFisheyeMap", "DualFisheyeWarper", "DEFAULT_STEP_PX", "ITERATIONS"]

#: Output grid spacing of the exact map at a 1280 px wide frame (scaled with the width, >= 4).
DEFAULT_STEP_PX = 8
#: Fixed-point iterations on a lens's row after the first evaluation.
ITERATIONS = 2
#: A lens whose grid nodes around a sample all lie this far (radians) outside its disc does not
#: see the sample: its interpolated pixel there is meaningless (directions near its back axis).
FAR_RAD = 0.3


@dataclass(frozen=True, eq=False)
class DualFisheyeMap:
    """One frame's mapping: the node grid ``(x0, y0, x1, y1, e0, e1)`` (ny, nx, 6; ``e_k``: the
    angle inside lens k's usable disc) and the lenses' gains."""

    nodes: np.ndarray
    gains: tuple[float, float]


def _top(src: np.ndarray) -> float:
    """Largest sample value: deep samples are 10-bit (``stabilize.pixel_format``), not 16."""
    top = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 1023.0}.get(src.dtype)
    if top is None:
        raise InputError(f"{src.dtype} planes are not warped; 8-bit or 10-bit samples only")
    return top


class DualFisheyeWarper:
    """Turns dual-fisheye frames of one clip into stabilized equirect frames of the same size.

    Parameters
    ----------
    pair : LensPair
        The calibrated lenses (frame size ``pair.size``, side by side, W = 2H).
    seams : SeamTrack, optional
        Seam fields and gains per frame (default: none, equal gains).
    step_px : float, optional
        Node spacing, output px.
    interpolation : str
        ``bilinear``, ``bicubic`` or ``lanczos`` (each lens's sampling).

    Examples
    --------
    >>> import numpy as np
    >>> from stabilize.dual_fisheye.warp import DualFisheyeWarper
    >>> from stabilize.dual_fisheye.rig import LensPair
    >>> from stitch.dual_fisheye.lens import R_BACK, FisheyeLens
    >>> lens = [FisheyeLens(50.0, 49.5 + 100 * k, 49.5, 0.0, np.radians(95)) for k in (0, 1)]
    >>> w = DualFisheyeWarper(LensPair(tuple(lens), R_BACK, (200, 100), {}))
    >>> m = w.map_rows(np.broadcast_to(np.eye(3), (100, 3, 3)), 0)
    >>> out = w.warp_bgr(np.full((100, 200, 3), 90, np.uint8), m)
    >>> out.shape, int(out.min()), int(out.max())
    ((100, 200, 3), 90, 90)
    """

    def __init__(self, pair: LensPair, seams: SeamTrack | None = None,
                 step_px: float | None = None, interpolation: str = "bilinear"):
        if interpolation not in INTERPOLATION_FLAGS:
            raise InputError(f"unknown interpolation {interpolation!r}; valid: "
                             + ", ".join(INTERPOLATION_FLAGS))
        w, h = int(pair.size[0]), int(pair.size[1])
        if w != 2 * h or h < 8:
            raise InputError(f"a dual-fisheye video frame must be side by side, W = 2H; got "
                             f"{w}x{h}")
        if step_px is None:
            step_px = max(4.0, DEFAULT_STEP_PX * w / 1280.0)
        self.size = (w, h)
        self.pair = pair
        self.seams = seams if seams is not None else SeamTrack.from_keyframes([], 2 * w)
        self.flag = INTERPOLATION_FLAGS[interpolation]
        nx = int(np.ceil(w / step_px)) + 1
        ny = int(np.ceil(h / step_px)) + 1
        self.us = np.linspace(0.0, float(w), nx)
        self.vs = np.linspace(0.0, float(h), ny)
        self._lenses = np.ascontiguousarray(pair.lens_array())
        # the kernels work in the seam frame, where the seam fields live
        R0, R1 = pair.rotations()
        self._R = (np.ascontiguousarray(R_SEAM_FROM_CAM @ R0),
                   np.ascontiguousarray(R_SEAM_FROM_CAM @ R1))
        # per lens: disc centre, edge radius and px per radian there (the blend weights)
        self._edges = np.array([[L.cx_px, L.cy_px, float(L.radius_px(L.fov_rad)),
                                 L.f_px * (1 + 3 * L.k1 * L.fov_rad ** 2)] for L in pair.lenses])
        self._planes: dict[tuple, tuple] = {}

    # -- the frame's mapping --------------------------------------------------------------
    def vertex_map(self, fm: FrameMotion, virtual_quat: np.ndarray,
                   zoom: float = 1.0) -> DualFisheyeMap:
        """The mapping of one frame from its motion and virtual orientation (``zoom`` must be
        1: the sphere is rotated, never zoomed); the seam of frame ``fm.index``."""
        if abs(float(zoom) - 1.0) > 1e-9:
            raise InputError(f"a 360 frame is never zoomed (zoom {zoom})")
        return self.map_rows(row_rotations(fm, virtual_quat, self.size[1]), fm.index)

    def node_args(self, M: np.ndarray, frame_index: int) -> tuple:
        """The node kernel's arguments (also the numpy reference's)."""
        w, h = self.size
        M = np.ascontiguousarray(M, dtype=np.float64)
        if M.shape != (h, 3, 3) or not np.all(np.isfinite(M)):
            raise InputError(f"row rotations must be finite ({h}, 3, 3), got {M.shape}")
        f0, f1, gains = self.seams.at(frame_index)
        M = np.ascontiguousarray(np.einsum("ij,rjk->rik", R_SEAM_FROM_CAM, M))
        return ((self.us, self.vs, float(w), float(h), M, self._lenses, self._R[0], self._R[1],
                 f0, f1, float(self.seams.step_px), float(self.seams.pano_width_px),
                 ITERATIONS), gains)

    def map_rows(self, M: np.ndarray, frame_index: int = 0) -> DualFisheyeMap:
        """The mapping of per-source-row rotations ``M`` (H, 3, 3) (camera direction = ``M[row]``
        output direction) with the seam of frame ``frame_index``."""
        args, gains = self.node_args(M, frame_index)
        nodes = np.empty((self.vs.size, self.us.size, 6))
        _kernels._df_nodes(*args, nodes)
        return DualFisheyeMap(nodes, gains)

    def map_rotation(self, M: np.ndarray, frame_index: int = 0) -> DualFisheyeMap:
        """The mapping of one global rotation ``M`` (3, 3) (no rolling shutter)."""
        M = np.asarray(M, dtype=np.float64)
        if M.shape != (3, 3):
            raise InputError(f"rotation must be 3x3, got {M.shape}")
        return self.map_rows(np.broadcast_to(M, (self.size[1], 3, 3)), frame_index)

    # -- dense maps -----------------------------------------------------------------------
    def _plane(self, pw: int, ph: int) -> tuple:
        key = (pw, ph)
        if key not in self._planes:
            w, h = self.size
            sx, sy = pw / w, ph / h
            qu = (np.arange(pw) + 0.5) / sx
            qv = (np.arange(ph) + 0.5) / sy
            self._planes[key] = (qu, qv, sx, sy)
        return self._planes[key]

    def dense_maps(self, m: DualFisheyeMap, plane_size: tuple[int, int] | None = None
                   ) -> tuple[np.ndarray, ...]:
        """Float32 planes ``(mx0, my0, mx1, my1, w0)`` of a plane of ``plane_size`` (default
        the frame's): both lenses' source pixels in that plane and the front lens's weight."""
        pw, ph = self.size if plane_size is None else plane_size
        qu, qv, sx, sy = self._plane(int(pw), int(ph))
        out = tuple(np.empty((qv.size, qu.size), np.float32) for _ in range(5))
        du = self.us[1] - self.us[0]
        dv = self.vs[1] - self.vs[0]
        _kernels._df_dense(m.nodes, du, dv, qu, qv, sx, sy, self._edges, FAR_RAD, *out)
        return out

    def dense_args(self, m: DualFisheyeMap, plane_size: tuple[int, int]) -> tuple:
        """The dense kernel's inputs (also the numpy reference's), outputs left out."""
        qu, qv, sx, sy = self._plane(int(plane_size[0]), int(plane_size[1]))
        return (m.nodes, self.us[1] - self.us[0], self.vs[1] - self.vs[0], qu, qv, sx, sy,
                self._edges, FAR_RAD)

    # -- resampling -----------------------------------------------------------------------
    def _warp_planes(self, srcs: list[np.ndarray], m: DualFisheyeMap, base: float,
                     dsts: list[np.ndarray | None]) -> list[np.ndarray]:
        """Warp planes of one size and sample type whose gains act about ``base``."""
        ph, pw = srcs[0].shape[:2]
        outs = [np.empty_like(s) if d is None else d for s, d in zip(srcs, dsts, strict=True)]
        if self.flag == cv2.INTER_LINEAR and all(s.ndim == 2 for s in srcs):
            # bilinear planes: maps, sampling and blend in one pass, two planes at a time (U
            # and V: their mapping computed once)
            args = self.dense_args(m, (pw, ph))
            for k in range(0, len(srcs), 2):
                k2 = min(k + 1, len(srcs) - 1)
                _kernels._df_sample_blend(*args, srcs[k], m.gains[0], m.gains[1], base,
                                          _top(srcs[k]), outs[k], srcs[k2], outs[k2],
                                          k2 - k + 1)
            return outs
        mx0, my0, mx1, my1, w0 = self.dense_maps(m, (pw, ph))
        for src, dst in zip(srcs, outs, strict=True):
            a0 = cv2.remap(src, mx0, my0, self.flag, borderMode=cv2.BORDER_REPLICATE)
            a1 = cv2.remap(src, mx1, my1, self.flag, borderMode=cv2.BORDER_REPLICATE)
            top = _top(src)
            if src.ndim == 3:
                for c in range(src.shape[2]):
                    tmp = np.empty(src.shape[:2], src.dtype)
                    _kernels._df_blend(np.ascontiguousarray(a0[..., c]),
                                       np.ascontiguousarray(a1[..., c]), w0, m.gains[0],
                                       m.gains[1], base, top, tmp)
                    dst[..., c] = tmp
            else:
                _kernels._df_blend(a0, a1, w0, m.gains[0], m.gains[1], base, top, dst)
        return outs

    def warp_bgr(self, img: np.ndarray, m: DualFisheyeMap) -> np.ndarray:
        """Warp one BGR (or grey) frame into the stabilized equirect frame."""
        img = np.asarray(img)
        if img.shape[:2] != (self.size[1], self.size[0]):
            raise InputError(f"frame {img.shape[1]}x{img.shape[0]} is not the "
                             f"{self.size[0]}x{self.size[1]} the clip's rig is for")
        return self._warp_planes([img], m, 0.0, [None])[0]

    def warp_gray(self, img: np.ndarray, m: DualFisheyeMap, border_value: float = 0
                  ) -> np.ndarray:
        """``warp_bgr`` under the flat warper's name (``border_value`` unused: every output
        pixel is defined)."""
        return self.warp_bgr(img, m)

    def warp_yuv(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, m: DualFisheyeMap,
                 out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                 black: tuple[float, float] = (16, 128)
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Warp Y and 4:2:0 or 4:2:2 U, V planes (as ``sphere_warp.SphereWarper.warp_yuv``);
        the gains act about ``black`` (luma black, neutral chroma)."""
        w, h = self.size
        cw = (w + 1) // 2
        if y.shape[:2] != (h, w) or u.shape[:2] not in (((h + 1) // 2, cw), (h, cw)) \
                or v.shape[:2] != u.shape[:2]:
            raise InputError(f"planes {y.shape[:2]}, {u.shape[:2]}, {v.shape[:2]} are not "
                             f"4:2:0 or 4:2:2 YUV of a {w}x{h} frame")
        oy, ou, ov = (None, None, None) if out is None else out
        (yo,) = self._warp_planes([y], m, float(black[0]), [oy])
        uo, vo = self._warp_planes([u, v], m, float(black[1]), [ou, ov])
        return yo, uo, vo
