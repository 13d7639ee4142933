"""Frame synthesis: the rolling-shutter mesh warp of docs/architecture.md "Warp".

An output-space mesh of vertices (default 32 x 18, corners included) is mapped to the source
frame: each vertex's output ray ``R_virtual K_out^-1 p_out`` is seen by the source camera at the
time of the source row it lands on, found by fixed-point iteration (the row decides the time,
the time decides the rotation and ``K_src``, which decide the row). Lens distortion is applied in
the source camera. The vertex maps are densified to full-resolution maps by bilinear
interpolation (separable, exact at the vertices) and one ``cv2.remap`` per plane resamples the
frame. YUV 4:2:0 and 4:2:2 planes are warped directly: the chroma planes get maps of their own
size.

The output camera has the source's principal point and its focal length times the zoom (divided
by the output lens's ``fov_scale``); it is the rectified pinhole (no distortion) by default, or
the source lens's own projection or a blend of the two (``stabilize.output_lens``). Its rays come
from ``output_lens.output_rays``, as in ``stabilize.bad_region``: what is checked is what is
drawn. The pinhole keeps its matrix form ``K_out^-1 p``, one product per frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from sensors.camera import distort_normalized
from sensors.errors import InputError
from sensors.quaternion import qto_matrix
from sensors.types import CameraModel

from .motion import FrameMotion
from .output_lens import PINHOLE, OutputLens, output_rays

__all__ = [
    "output_K",
    "mesh_points",
    "map_vertices",
    "map_vertices_reference",
    "MeshWarper",
    "INTERPOLATION_FLAGS",
]

INTERPOLATION_FLAGS = {
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}
_FIXED_POINT_ITERATIONS = 4


def output_K(camera: CameraModel, zoom: float) -> np.ndarray:
    """The virtual camera's pinhole matrix: source focal times ``zoom``, same centre."""
    if not (np.isfinite(zoom) and zoom > 0):
        raise InputError(f"zoom must be finite and > 0, got {zoom}")
    K = camera.K.copy()
    K[0, 0] *= zoom
    K[0, 1] *= zoom
    K[1, 1] *= zoom
    return K


def mesh_points(size: tuple[int, int], mesh: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Vertex coordinates ``xs`` (nx,) and ``ys`` (ny,) spanning the image, corners included."""
    w, h = size
    return np.linspace(0.0, w - 1.0, mesh[0]), np.linspace(0.0, h - 1.0, mesh[1])


def _world_rays(camera: CameraModel, zoom: float, R_virtual: np.ndarray, pts: np.ndarray,
                lens: OutputLens = PINHOLE) -> np.ndarray:
    """World rays (M, 3) of output pixels: the output camera's rays turned by ``R_virtual``."""
    if lens.is_pinhole:
        rays = np.c_[pts, np.ones(len(pts))] @ np.linalg.inv(output_K(camera, zoom)).T
    else:
        rays = output_rays(camera, zoom, pts, lens)
    return np.ascontiguousarray(rays @ R_virtual.T)


def _check(fm: FrameMotion, virtual_quat: np.ndarray) -> np.ndarray:
    q = np.asarray(virtual_quat, dtype=np.float64).reshape(-1)
    if q.shape != (4,) or not np.all(np.isfinite(q)):
        raise InputError("virtual orientation must be one finite quaternion (4,)")
    if fm.band_rows.size < 2:
        raise InputError("frame motion needs at least 2 row bands")
    return q


def map_vertices(camera: CameraModel, fm: FrameMotion, virtual_quat: np.ndarray, zoom: float,
                 pts_out: np.ndarray, lens: OutputLens = PINHOLE) -> np.ndarray:
    """Source pixels (M, 2) of output pixels ``pts_out`` (M, 2) (numba kernel).

    Parameters
    ----------
    camera : CameraModel
        Source lens (distortion model and coefficients; ``K_src`` comes from ``fm``).
    fm : FrameMotion
        Real orientation and ``K_src`` per row band of the frame.
    virtual_quat : (4,) float64
        Virtual ``R_world_from_cam``.
    zoom : float
        Output zoom.
    pts_out : (M, 2) float64
        Output pixel coordinates.
    lens : OutputLens
        The output projection (default the rectified pinhole).

    Returns
    -------
    (M, 2) float64 source pixel coordinates; NaN where the ray is behind the source camera.
    """
    # resolved here: the AOT build, or numba on first use (stabilize.warmup may have loaded it)
    from .warmup import stabilizer_kernel

    q = _check(fm, virtual_quat)
    world = _world_rays(camera, zoom, qto_matrix(q), np.asarray(pts_out, np.float64), lens)
    dist = np.zeros(8)
    dist[: min(8, camera.dist.size)] = camera.dist[:8]
    out = np.empty((world.shape[0], 2))
    stabilizer_kernel("map_vertices")(
        world, np.ascontiguousarray(fm.band_rows, dtype=np.float64),
        np.ascontiguousarray(fm.quat, dtype=np.float64),
        np.ascontiguousarray(fm.K, dtype=np.float64), dist, camera.model == "opencv_fisheye",
        _FIXED_POINT_ITERATIONS, out)
    return out


def map_vertices_reference(camera: CameraModel, fm: FrameMotion, virtual_quat: np.ndarray,
                           zoom: float, pts_out: np.ndarray, lens: OutputLens = PINHOLE
                           ) -> np.ndarray:
    """Plain numpy reference of ``map_vertices`` (same algorithm, vectorised over vertices)."""
    q = _check(fm, virtual_quat)
    world = _world_rays(camera, zoom, qto_matrix(q), np.asarray(pts_out, np.float64), lens)
    rows = fm.band_rows
    B = rows.size
    y = np.full(world.shape[0], 0.5 * (rows[0] + rows[-1]))
    alive = np.ones(world.shape[0], dtype=bool)
    uv = np.full((world.shape[0], 2), np.nan)
    for _ in range(_FIXED_POINT_ITERATIONS + 1):
        pos = np.clip((y - rows[0]) / (rows[1] - rows[0]), 0.0, B - 1.0)
        i0 = np.minimum(pos.astype(int), B - 2)
        a = (pos - i0)[:, None]
        qb = (1 - a) * fm.quat[i0] + a * fm.quat[i0 + 1]
        R = qto_matrix(qb / np.linalg.norm(qb, axis=1, keepdims=True))
        K = (1 - a[:, :, None]) * fm.K[i0] + a[:, :, None] * fm.K[i0 + 1]
        cam_rays = np.einsum("mji,mj->mi", R, world)
        alive &= cam_rays[:, 2] > 1e-9
        z = np.where(alive, cam_rays[:, 2], 1.0)
        xyd = distort_normalized(camera, cam_rays[:, :2] / z[:, None])
        u = K[:, 0, 0] * xyd[:, 0] + K[:, 0, 1] * xyd[:, 1] + K[:, 0, 2]
        v = K[:, 1, 1] * xyd[:, 1] + K[:, 1, 2]
        uv = np.where(alive[:, None], np.stack([u, v], axis=1), np.nan)
        y = np.where(alive, v, y)
    return uv


def _interp_index(x_query: np.ndarray, x_nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left node index and weight of piecewise-linear interpolation on evenly spaced nodes
    (linear extrapolation past the ends)."""
    n = x_nodes.size
    pos = (x_query - x_nodes[0]) / (x_nodes[1] - x_nodes[0])
    i0 = np.clip(np.floor(pos).astype(np.intp), 0, n - 2)
    return i0, (pos - i0).astype(np.float32)


def _segments(i0: np.ndarray, n_nodes: int) -> np.ndarray:
    """``seg`` (n_nodes,) with query ``seg[k] <= x < seg[k + 1]`` between nodes k and k + 1
    (``i0`` from ``_interp_index``, non-decreasing)."""
    seg = np.searchsorted(i0, np.arange(n_nodes), side="left").astype(np.int64)
    seg[-1] = i0.size
    return seg


class MeshWarper:
    """Warps frames of one clip: vertex mapping, densification and remap.

    Parameters
    ----------
    camera : CameraModel
        Source lens at the frame size (the output has the same size).
    mesh : (int, int)
        Vertices (columns, rows).
    interpolation : str
        ``bilinear``, ``bicubic`` or ``lanczos``.
    lens : OutputLens
        The output projection (default the rectified pinhole, ``StabilizeParams.output_lens()``
        gives a job's).
    """

    def __init__(self, camera: CameraModel, mesh: tuple[int, int] = (32, 18),
                 interpolation: str = "bilinear", lens: OutputLens = PINHOLE):
        if interpolation not in INTERPOLATION_FLAGS:
            raise InputError(f"unknown interpolation {interpolation!r}; valid: "
                             + ", ".join(INTERPOLATION_FLAGS))
        self.camera = camera
        self.lens = lens
        self.flag = INTERPOLATION_FLAGS[interpolation]
        w, h = camera.size
        self.xs, self.ys = mesh_points((w, h), mesh)
        gx, gy = np.meshgrid(self.xs, self.ys)
        self.pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
        self.mesh = (int(mesh[0]), int(mesh[1]))
        self._scratch: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        # Sample centres of each plane kind in luma pixels (chroma centre-sited: a 4:2:0 or
        # 4:2:2 sample sits between its two luma columns), and the luma -> plane pixel scale
        # and offset per axis: (m + 0.5) / 2 - 0.5 on a halved axis.
        cw, ch = (w + 1) // 2, (h + 1) // 2
        lx = _interp_index(np.arange(w, dtype=np.float64), self.xs)
        ly = _interp_index(np.arange(h, dtype=np.float64), self.ys)
        cx = _interp_index(2.0 * np.arange(cw) + 0.5, self.xs)
        cy = _interp_index(2.0 * np.arange(ch) + 0.5, self.ys)
        full, half = (np.float32(1.0), np.float32(0.0)), (np.float32(0.5), np.float32(-0.25))
        self._geom = {"luma": (lx, ly, full + full), "420": (cx, cy, half + half),
                      "422": (cx, ly, half + full)}
        self._seg = {k: _segments(g[0][0], self.xs.size) for k, g in self._geom.items()}

    def vertex_map(self, fm: FrameMotion, virtual_quat: np.ndarray, zoom: float) -> np.ndarray:
        """Source pixels of the mesh vertices, (ny, nx, 2)."""
        uv = map_vertices(self.camera, fm, virtual_quat, zoom, self.pts, self.lens)
        return uv.reshape(self.mesh[1], self.mesh[0], 2)

    @staticmethod
    def _kind(chroma: bool | str) -> str:
        kind = {False: "luma", True: "420"}.get(chroma, chroma)
        if kind not in ("luma", "420", "422"):
            raise InputError(f"unknown plane kind {chroma!r}; valid: False, True/'420', '422'")
        return kind

    def dense_maps(self, vmap: np.ndarray, chroma: bool | str = False
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Full-size float32 maps (H, W), or a chroma plane's maps in its own pixels:
        ``chroma`` True or ``"420"`` (half width and height), ``"422"`` (half width)."""
        kind = self._kind(chroma)
        (jx, _), (iy, _), _ = self._geom[kind]
        mx = np.empty((iy.size, jx.size), np.float32)
        my = np.empty_like(mx)
        return self._densify_into(self._prepared(vmap), kind, mx, my)

    def _densify_into(self, v: np.ndarray, kind: str, mx: np.ndarray, my: np.ndarray,
                      rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """Maps of output ``rows`` (in the plane's pixels) from a prepared vertex map ``v``."""
        from .warmup import stabilizer_kernel

        (_, bx), (iy, ay), (sx, ox, sy, oy) = self._geom[kind]
        stabilizer_kernel("densify")(v, self._seg[kind], bx, iy[rows], ay[rows], sx, ox, sy, oy,
                                     mx, my)
        return mx, my

    @staticmethod
    def _prepared(vmap: np.ndarray) -> np.ndarray:
        # Vertices behind the camera (NaN) are pushed far outside so remap leaves them black.
        return np.ascontiguousarray(np.where(np.isfinite(vmap), vmap, -1e6), dtype=np.float32)

    def _remap_banded(self, srcs: list[np.ndarray], v: np.ndarray, kind: str,
                      borders: list[float], dsts: list[np.ndarray | None]) -> list[np.ndarray]:
        """Remap planes of one size band by band of output rows with shared maps: one band's
        maps (~2 MB) stay in cache and in a small reused buffer, where whole-frame float maps
        take 66 MB at 4K. Each output pixel depends on its own map entry only, so the result
        equals a whole-frame remap."""
        (jx, _), (iy, _), _ = self._geom[kind]
        h, w = iy.size, jx.size
        dsts = [np.empty((h, w) + s.shape[2:], s.dtype) if d is None else d
                for s, d in zip(srcs, dsts, strict=True)]
        band = int(np.clip((2 << 20) // (8 * w), 16, h))
        key = (kind, band)
        if key not in self._scratch:
            self._scratch[key] = (np.empty((band, w), np.float32),
                                  np.empty((band, w), np.float32))
        bx_, by_ = self._scratch[key]
        for r0 in range(0, h, band):
            r1 = min(h, r0 + band)
            mx, my = self._densify_into(v, kind, bx_[:r1 - r0], by_[:r1 - r0], slice(r0, r1))
            for src, dst, border in zip(srcs, dsts, borders, strict=True):
                cv2.remap(src, mx, my, self.flag, dst=dst[r0:r1],
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)
        return dsts

    def dense_maps_reference(self, vmap: np.ndarray,
                             chroma: bool | str = False) -> tuple[np.ndarray, np.ndarray]:
        """Plain numpy reference of ``dense_maps`` (same separable bilinear interpolation)."""
        kind = self._kind(chroma)
        (jx, bx), (iy, ay), _ = self._geom[kind]
        v = np.where(np.isfinite(vmap), vmap, -1e6).astype(np.float32)
        rows = v[iy] * (1 - ay)[:, None, None] + v[iy + 1] * ay[:, None, None]  # (H, nx, 2)
        full = rows[:, jx] * (1 - bx)[None, :, None] + rows[:, jx + 1] * bx[None, :, None]
        mx, my = full[..., 0], full[..., 1]
        if kind != "luma":  # luma pixel -> chroma pixel on a halved axis
            mx = (mx + 0.5) * 0.5 - 0.5
        if kind == "420":
            my = (my + 0.5) * 0.5 - 0.5
        return mx, my

    def warp_gray(self, img: np.ndarray, vmap: np.ndarray, border_value: float = 0) -> np.ndarray:
        """Warp one full-resolution plane (or a BGR image) with the vertex map."""
        return self._remap_banded([img], self._prepared(vmap), "luma", [border_value],
                                  [None])[0]

    def warp_yuv(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, vmap: np.ndarray,
                 out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                 black: tuple[float, float] = (16, 128)
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Warp Y (H, W) and U, V planes of 4:2:0 (H/2, W/2) or 4:2:2 (H, W/2) YUV, told apart
        by the chroma planes' shape; uint8, or uint16 for 10-bit samples.

        Outside the source is ``black``: (luma, chroma), 8-bit limited range by default; (64,
        512) for 10 bits, luma 0 in full range. ``out``, when given, holds three planes of the
        same shapes and type (e.g. views on an encoder frame's buffers, rows may be padded)
        that receive the result in place.
        """
        w, h = self.camera.size
        cw = (w + 1) // 2
        kinds = {((h + 1) // 2, cw): "420", (h, cw): "422"}
        kind = kinds.get(u.shape[:2])
        if y.shape[:2] != (h, w) or kind is None or v.shape[:2] != u.shape[:2]:
            raise InputError(f"planes {y.shape[:2]}, {u.shape[:2]}, {v.shape[:2]} are not "
                             f"4:2:0 or 4:2:2 YUV of a {w}x{h} frame")
        oy, ou, ov = (None, None, None) if out is None else out
        pv = self._prepared(vmap)
        (yo,) = self._remap_banded([y], pv, "luma", [black[0]], [oy])
        uo, vo = self._remap_banded([u, v], pv, kind, [black[1], black[1]], [ou, ov])
        return yo, uo, vo

    warp_yuv420 = warp_yuv  # the name of the 4:2:0-only version
