"""Equirectangular projection of rig cameras: footprints, remap maps, coverage and overlaps.

Panorama convention (docs/architecture.md "Panorama"): width W, height H = W / 2, pixel centres
at integer coordinates, yaw = atan2(x, z), pitch = -atan2(y, hypot(x, z)) of a direction in the
rig frame, u = (0.5 + yaw / 2 pi) W, v = (0.5 - pitch / pi) H; u wraps at 0 <-> W.

Each camera is drawn into a **layer**: a crop ``(x0, y0, width, height)`` of an *unwrapped*
panorama frame, where layer column ``c`` is panorama column ``(x0 + c) mod W``. Planned layers
have 0 <= x0 < W and ``x0 + width`` may pass W, so a camera straddling the 0/W seam is one
contiguous array (code must not rely on the normalisation: any x0 is taken modulo W).
Absolute coordinates ``u`` handed between stages may therefore lie outside [0, W) and are
always taken modulo W. Cameras that see a pole get a full-width layer (x0 = 0, width = W).
By default the projection assumes the scene at infinity (rotation only). A rig whose cameras
carry a **scene distance** D (:class:`SceneRigCamera`, made by :func:`with_scene_depth`) is
projected onto a sphere of radius D about the rig centre: panorama direction d is the point
``D d``, which camera k sees along ``D d - c_k`` (its centre ``c_k``), so the parallax of content
near D is removed by geometry; the parallax left (content nearer or farther) is what the seam
repair corrects.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from sensors.camera import project
from sensors.equirect import dirs_to_equirect, equirect_to_dirs
from sensors.errors import InputError

from .refine_scene import ground_bearings
from .rig import Rig, RigCamera

__all__ = [
    "SceneRigCamera",
    "with_scene_depth",
    "with_ground_plane",
    "scene_ground_inv_m",
    "scene_depth_m",
    "camera_dirs_from_pano",
    "pano_dirs_from_camera",
    "Layer",
    "ProjectedLayer",
    "Overlap",
    "pano_dirs_from_uv",
    "pano_uv_from_dirs",
    "wrap_u",
    "camera_footprint",
    "plan_layers",
    "source_pixels",
    "layer_maps",
    "coverage_weight",
    "project_image",
    "project_rig",
    "find_overlaps",
]


@dataclass(frozen=True, eq=False)
class SceneRigCamera(RigCamera):
    """A rig camera projected with a finite scene distance (see the module docstring).

    Parameters
    ----------
    scene_depth_m : float
        Radius of the projection sphere about the rig centre, metres (inf: at infinity).
    ground_m : float
        With the scene at infinity: distance of a ground plane below the rig centre, metres
        (inf: none). Directions below the horizon are its points, directions above it stay at
        infinity (the scene the calibration solve finds, ``stitch.refine_scene``).
    """

    scene_depth_m: float = math.inf
    ground_m: float = math.inf

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (self.scene_depth_m > 0):
            raise InputError(f"camera {self.id}: scene depth must be positive, got "
                             f"{self.scene_depth_m}", self.camera.source)
        if not (self.ground_m > 0):
            raise InputError(f"camera {self.id}: ground distance must be positive, got "
                             f"{self.ground_m}", self.camera.source)

    def with_rotation(self, R_rig_from_cam: np.ndarray) -> SceneRigCamera:
        """The same camera (and scene distance) with another orientation."""
        return dataclasses.replace(self, R_rig_from_cam=R_rig_from_cam)


def scene_depth_m(cam: RigCamera) -> float:
    """The scene distance a camera is projected with (inf for a plain ``RigCamera``)."""
    return float(getattr(cam, "scene_depth_m", math.inf))


def scene_ground_inv_m(cam: RigCamera) -> float:
    """Inverse distance (1/m) of the ground plane a camera is projected with (0: none; only
    for cameras off the rig centre with the scene at infinity)."""
    g = float(getattr(cam, "ground_m", math.inf))
    if math.isinf(g) or not math.isinf(scene_depth_m(cam)) or not np.any(cam.position_m):
        return 0.0
    return 1.0 / g


def with_ground_plane(rig: Rig, ground_m: float) -> Rig:
    """The rig projected onto a ground plane ``ground_m`` below its centre (inf: none), the
    rest of the scene at infinity (see :class:`SceneRigCamera`)."""
    ground_m = float(ground_m)
    if not ground_m > 0:
        raise InputError(f"ground distance must be positive, got {ground_m}", rig.source)
    cams = []
    for c in rig:
        fields = {f.name: getattr(c, f.name) for f in dataclasses.fields(RigCamera)}
        cams.append(SceneRigCamera(**fields, scene_depth_m=scene_depth_m(c), ground_m=ground_m))
    return Rig(tuple(cams), rig.source)


def with_scene_depth(rig: Rig, depth_m: float) -> Rig:
    """The rig projected with scene distance ``depth_m`` (inf: plain cameras, at infinity).

    Only cameras off the rig centre are affected; the depth must exceed every camera's
    distance from the centre.
    """
    depth_m = float(depth_m)
    if not depth_m > 0:
        raise InputError(f"scene depth must be positive, got {depth_m}", rig.source)
    cams = []
    for c in rig:
        fields = {f.name: getattr(c, f.name) for f in dataclasses.fields(RigCamera)}
        if math.isinf(depth_m):
            cams.append(RigCamera(**fields))
            continue
        if np.linalg.norm(c.position_m) >= depth_m:
            raise InputError(f"camera {c.id} is {np.linalg.norm(c.position_m):.3f} m from the "
                             f"rig centre, beyond the scene depth {depth_m} m", rig.source)
        cams.append(SceneRigCamera(**fields, scene_depth_m=depth_m))
    return Rig(tuple(cams), rig.source)


def camera_dirs_from_pano(cam: RigCamera, dirs: np.ndarray) -> np.ndarray:
    """Rig-frame unit directions (..., 3) in which the camera sees panorama directions (..., 3)
    (the directions themselves at infinity; ``D d - c`` normalised with a scene distance)."""
    D = scene_depth_m(cam)
    c = cam.position_m
    g = scene_ground_inv_m(cam)
    if g > 0:
        d = np.asarray(dirs, dtype=np.float64)
        down = d[..., 1] > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(down[..., None], d / (d[..., 1:2] * g) - c, d)
        return x / np.linalg.norm(x, axis=-1, keepdims=True)
    if math.isinf(D) or not np.any(c):
        return dirs
    x = D * np.asarray(dirs, dtype=np.float64) - c
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def pano_dirs_from_camera(cam: RigCamera, dirs: np.ndarray) -> np.ndarray:
    """Panorama directions (..., 3) of rig-frame view directions (..., 3) of a camera (the
    inverse of :func:`camera_dirs_from_pano`: where the ray from the camera's centre meets the
    scene sphere, seen from the rig centre)."""
    D = scene_depth_m(cam)
    c = cam.position_m
    g = scene_ground_inv_m(cam)
    if g > 0:
        return ground_bearings(c, dirs, g)
    if math.isinf(D) or not np.any(c):
        return dirs
    d = np.asarray(dirs, dtype=np.float64)
    cr = d @ c
    t = -cr + np.sqrt(np.maximum(cr * cr - c @ c + D * D, 0.0))
    return (c + t[..., None] * d) / D


def _depth_uv(cam: RigCamera, u: np.ndarray, v: np.ndarray, W: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """Panorama coordinates whose directions are the camera's view directions of (u, v)."""
    if math.isinf(scene_depth_m(cam)) or not np.any(cam.position_m):
        return u, v
    uu, vv = np.broadcast_arrays(np.asarray(u, dtype=np.float64),
                                 np.asarray(v, dtype=np.float64))
    uv = dirs_to_equirect(camera_dirs_from_pano(cam, pano_dirs_from_uv(uu, vv, W)), W)
    # Keep u next to the asked column (the kernel wraps, but a seam jump would be visible).
    return uu + np.mod(uv[..., 0] - uu + W / 2, W) - W / 2, uv[..., 1]


@dataclass(frozen=True)
class Layer:
    """A camera's crop of the unwrapped panorama frame (see the module docstring).

    Parameters
    ----------
    cam_index : int
        Index of the camera in the rig.
    x0, y0 : int
        Panorama coordinates of the crop's top-left pixel (``x0`` may be < 0 or >= W).
    width, height : int
        Crop size in pixels (``width <= W``).
    pano_width : int
        Panorama width W the layer belongs to.
    """

    cam_index: int
    x0: int
    y0: int
    width: int
    height: int
    pano_width: int

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the layer arrays."""
        return (self.height, self.width)

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Absolute panorama coordinates (u, v) (h, w) float64 of every layer pixel."""
        u = self.x0 + np.arange(self.width, dtype=np.float64)
        v = self.y0 + np.arange(self.height, dtype=np.float64)
        return np.meshgrid(u, v)


@dataclass(frozen=True, eq=False)
class ProjectedLayer:
    """A camera image drawn into its layer (the contract with ``stitch.flow``/``warp_solve``).

    Parameters
    ----------
    index : int
        Camera index in the rig.
    x0, y0 : int
        Top-left of the layer in the unwrapped panorama frame of width ``pano_width``.
    image : (h, w, 3) uint8
        Projected pixels (BGR, zero outside the camera).
    mask : (h, w) float32
        Coverage weight in [0, 1]: 0 outside the camera, ramping to 1 over ``feather_px``
        inside its edge; ``mask > 0`` is the valid area.
    pano_width : int
        Panorama width W.
    """

    index: int
    x0: int
    y0: int
    image: np.ndarray
    mask: np.ndarray
    pano_width: int

    @property
    def layer(self) -> Layer:
        """The crop this layer occupies."""
        h, w = self.mask.shape
        return Layer(self.index, self.x0, self.y0, w, h, self.pano_width)

    @property
    def valid(self) -> np.ndarray:
        """(h, w) bool: pixels the camera sees."""
        return self.mask > 0


@dataclass(frozen=True, eq=False)
class Overlap:
    """Where two layers both have coverage, in one unwrapped frame.

    ``mask[r, c]`` is True where panorama pixel ``((x0 + c) mod W, y0 + r)`` is seen by both
    camera ``i`` and camera ``j``. ``x0`` is expressed in the unwrapped frame of the narrower of
    the two layers, so it may be negative or past W.
    """

    i: int
    j: int
    x0: int
    y0: int
    w: int
    h: int
    mask: np.ndarray

    @property
    def area_px(self) -> int:
        """Number of panorama pixels in the overlap."""
        return int(np.count_nonzero(self.mask))


def wrap_u(u: np.ndarray, W: int) -> np.ndarray:
    """Panorama columns taken into [0, W)."""
    return np.mod(u, W)


def pano_dirs_from_uv(u: np.ndarray, v: np.ndarray, W: int) -> np.ndarray:
    """Unit rig-frame directions (..., 3) of panorama coordinates (any u; wraps).

    The convention lives in ``sensors.equirect``; this takes u and v as separate arrays.
    """
    uv = np.stack(np.broadcast_arrays(np.asarray(u, dtype=np.float64),
                                      np.asarray(v, dtype=np.float64)), axis=-1)
    return equirect_to_dirs(uv, W)


def pano_uv_from_dirs(dirs: np.ndarray, W: int) -> np.ndarray:
    """Panorama coordinates (..., 2) of rig-frame directions (..., 3); u in [0, W)."""
    return dirs_to_equirect(dirs, W)


def _project_rays(cam: RigCamera, rays: np.ndarray) -> np.ndarray:
    """Pixels of camera-frame rays; fisheye rays may lie beyond 90 degrees off axis.

    ``sensors.camera.project`` divides by z, which stops an equidistant fisheye at 90 degrees;
    Surround360's FTHETA lenses see 92.5 degrees, so the angle is taken with atan2 here.
    """
    if cam.camera.model != "opencv_fisheye":
        with np.errstate(invalid="ignore", divide="ignore"):
            return project(cam.camera, rays)
    x, y, z = rays[..., 0], rays[..., 1], rays[..., 2]
    r = np.hypot(x, y)
    th = np.arctan2(r, z)
    d = cam.camera.dist
    th2 = th * th
    thd = th * (1 + th2 * (d[0] + th2 * (d[1] + th2 * (d[2] + th2 * d[3]))))
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(r > 1e-12, thd / np.where(r > 1e-12, r, 1.0), 0.0)
    K = cam.camera.K
    xd, yd = x * s, y * s
    return np.stack([K[0, 0] * xd + K[0, 1] * yd + K[0, 2], K[1, 1] * yd + K[1, 2]], axis=-1)


def _monotonic_radius(cam: RigCamera, r_limit: float = 20.0) -> float:
    """Largest undistorted radius (tan of the off-axis angle) up to which the radial
    distortion of an ``opencv_standard`` lens still grows monotonically (inf if it always does
    up to ``r_limit``)."""
    k = np.zeros(8)
    k[: min(8, cam.camera.dist.size)] = cam.camera.dist[:8]
    if not np.any(k[[0, 1, 4, 5, 6, 7]]):
        return math.inf
    r = np.linspace(0.0, r_limit, 4001)
    r2 = r * r
    rd = r * (1 + r2 * (k[0] + r2 * (k[1] + r2 * k[4]))) / (1 + r2 * (k[5] + r2 * (k[6]
                                                                                + r2 * k[7])))
    bad = np.flatnonzero(np.diff(rd) <= 0)
    return math.inf if bad.size == 0 else float(r[bad[0]])


def _inside_image(cam: RigCamera, px: np.ndarray, rays_cam: np.ndarray) -> np.ndarray:
    w, h = cam.size
    x, y = px[..., 0], px[..., 1]
    with np.errstate(invalid="ignore"):
        ok = (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)
    ok &= np.isfinite(x) & np.isfinite(y)
    if cam.camera.model != "opencv_fisheye":
        r_max = _monotonic_radius(cam)
        if np.isfinite(r_max):
            # Beyond this radius the distortion polynomial folds back and would map rays far
            # outside the lens's view into the image: ghosts at the border.
            z = np.where(rays_cam[..., 2] > 1e-9, rays_cam[..., 2], 1.0)
            r2 = (rays_cam[..., 0] ** 2 + rays_cam[..., 1] ** 2) / (z * z)
            ok &= r2 < r_max * r_max
    if cam.camera.model != "opencv_fisheye" and cam.fov_rad is None:
        return ok & (rays_cam[..., 2] > 1e-9)
    n = np.sqrt(np.einsum("...k,...k->...", rays_cam, rays_cam))
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_off_axis = rays_cam[..., 2] / n
    if cam.camera.model == "opencv_fisheye":
        # Equidistant lenses map angles past 90 degrees too; keep them below the fov (if given)
        # and clear of the back pole, where the mapping folds.
        limit = cam.fov_rad if cam.fov_rad is not None else math.radians(175)
        ok &= cos_off_axis >= math.cos(min(limit, math.radians(175)))
    else:
        ok &= (rays_cam[..., 2] > 1e-9) & (cos_off_axis >= math.cos(cam.fov_rad))
    return ok


def source_pixels(cam: RigCamera, u: np.ndarray, v: np.ndarray, W: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where panorama coordinates (u, v) fall in a camera's image.

    Parameters
    ----------
    cam : RigCamera
    u, v : (...) float
        Absolute panorama coordinates (u may be outside [0, W); it wraps).
    W : int
        Panorama width.

    Returns
    -------
    map_x, map_y : (...) float32
        Source pixel coordinates (-1 where invalid, so ``cv2.remap`` with a constant border
        gives zero there).
    valid : (...) bool
        The camera sees the direction and it lands inside the image (and the lens fov).

    Notes
    -----
    Runs the numba kernel ``_projection_kernels._pano_to_camera``, or ``_pano_grid_to_camera``
    when ``u`` is a row (1, n) and ``v`` a column (m, 1) (their ahead-of-time builds when
    current, ``stitch.kernels``);
    :func:`_source_pixels_reference` is the numpy reference it is tested against.
    """
    from .kernels import projection_grid_kernel, projection_kernel

    u, v = _depth_uv(cam, u, v, W)
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    # A row of columns and a column of rows (a layer's grid): one lookup per column and row.
    grid = u.ndim == 2 and v.ndim == 2 and u.shape[0] == 1 and v.shape[1] == 1
    uu, vv = np.broadcast_arrays(u, v)
    shape = uu.shape
    if grid:
        uf = np.ascontiguousarray(u[0])
        vf = np.ascontiguousarray(v[:, 0])
    else:
        uf = np.ascontiguousarray(uu.ravel())
        vf = np.ascontiguousarray(vv.ravel())
    c = cam.camera
    fisheye = c.model == "opencv_fisheye"
    dist = np.zeros(8)
    dist[: min(8, c.dist.size)] = c.dist[:8]
    if fisheye:
        limit = min(cam.fov_rad if cam.fov_rad is not None else math.pi, math.radians(175))
        use_limit, cos_limit, r_max = True, math.cos(limit), math.inf
    else:
        use_limit = cam.fov_rad is not None
        cos_limit = math.cos(cam.fov_rad) if use_limit else -1.0
        r_max = _monotonic_radius(cam)
    n = shape if grid else (uf.size,)
    mx = np.empty(n, np.float32)
    my = np.empty(n, np.float32)
    ok = np.empty(n, np.bool_)
    lookup = projection_grid_kernel() if grid else projection_kernel()
    lookup(uf, vf, int(W), np.ascontiguousarray(cam.R_rig_from_cam, np.float64),
           np.ascontiguousarray(c.K, np.float64), dist, bool(fisheye), float(c.width),
           float(c.height), bool(use_limit), float(cos_limit), float(r_max * r_max),
           np.ascontiguousarray(cam.position_m, np.float64), scene_ground_inv_m(cam), mx, my, ok)
    return mx.reshape(shape), my.reshape(shape), ok.reshape(shape)


def _source_pixels_reference(cam: RigCamera, u: np.ndarray, v: np.ndarray, W: int
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numpy reference of :func:`source_pixels` (same parameters and returns)."""
    dirs = camera_dirs_from_pano(cam, pano_dirs_from_uv(u, v, W))
    return _maps_from_rays(cam, dirs @ cam.R_rig_from_cam)  # R^T d for row vectors


def _maps_from_rays(cam: RigCamera, rays: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    px = _project_rays(cam, rays)
    ok = _inside_image(cam, px, rays)
    mx = np.where(ok, px[..., 0], -1.0).astype(np.float32)
    my = np.where(ok, px[..., 1], -1.0).astype(np.float32)
    return mx, my, ok


def camera_footprint(cam: RigCamera, W: int, margin_px: int = 4, cam_index: int = 0,
                     samples: int = 512) -> Layer:
    """The layer (wrap-aware bounding box) a camera covers on a panorama of width W.

    A coarse panorama grid (``samples`` x ``samples / 2`` directions) is projected into the
    camera; the bounding box of the directions it sees, grown by one grid cell and
    ``margin_px``, is the layer. Columns are unwrapped across the largest run of columns the
    camera does not see, so a camera straddling 0/W gets one contiguous crop; a camera that
    sees all columns (it sees a pole) gets the full width.
    """
    if W < 8 or W % 2:
        raise InputError(f"panorama width must be an even integer >= 8, got {W}")
    H = W // 2
    n_u = max(8, min(W, int(samples)))
    n_v = max(4, n_u // 2)
    cell_u, cell_v = W / n_u, H / n_v
    us = (np.arange(n_u) + 0.5) * cell_u - 0.5
    vs = (np.arange(n_v) + 0.5) * cell_v - 0.5
    _, _, ok = source_pixels(cam, us[None, :], vs[:, None], W)
    if not ok.any():
        raise InputError(f"camera {cam.id} sees no part of the panorama (check its lens and "
                         "image size)", cam.camera.source)
    rows = np.flatnonzero(ok.any(axis=1))
    v0 = max(0, int(math.floor(vs[rows[0]] - cell_v)) - margin_px)
    v1 = min(H, int(math.ceil(vs[rows[-1]] + cell_v)) + 1 + margin_px)
    cols = np.flatnonzero(ok.any(axis=0))
    if cols.size == n_u:
        return Layer(cam_index, 0, v0, W, v1 - v0, W)
    # Largest circular gap between seen columns: the layer starts right after it.
    gaps = np.diff(np.concatenate([cols, [cols[0] + n_u]]))
    g = int(np.argmax(gaps))
    first = cols[(g + 1) % cols.size]
    last = cols[g] if cols[g] >= first else cols[g] + n_u
    x0 = int(math.floor(first * cell_u - 0.5 - cell_u)) - margin_px
    x1 = int(math.ceil(last * cell_u - 0.5 + 2 * cell_u)) + 1 + margin_px
    if x1 - x0 >= W:
        return Layer(cam_index, 0, v0, W, v1 - v0, W)
    # Normalised so 0 <= x0 < W; a layer crossing the seam then runs past W.
    return Layer(cam_index, int(np.mod(x0, W)), v0, x1 - x0, v1 - v0, W)


def plan_layers(rig: Rig, W: int, margin_px: int = 4) -> list[Layer]:
    """Footprint of every camera of the rig on a panorama of width W."""
    return [camera_footprint(c, W, margin_px, k) for k, c in enumerate(rig)]


def layer_maps(cam: RigCamera, layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``cv2.remap`` maps (float32) and validity (bool) of one camera over its layer."""
    u = layer.x0 + np.arange(layer.width, dtype=np.float64)
    v = layer.y0 + np.arange(layer.height, dtype=np.float64)
    return source_pixels(cam, u[None, :], v[:, None], layer.pano_width)


def coverage_weight(valid: np.ndarray, feather_px: float) -> np.ndarray:
    """Coverage weight (float32 in [0, 1]): 0 outside, ramping to 1 over ``feather_px`` inside.

    The ramp is the Euclidean distance to the nearest invalid pixel; the layer's own crop edge
    counts as invalid only where the camera is cut by it (a full-width layer wraps, so its left
    and right columns are not an edge).
    """
    valid = np.asarray(valid, dtype=bool)
    if feather_px <= 0:
        return valid.astype(np.float32)
    padded = np.pad(valid, 1, constant_values=False).astype(np.uint8)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    return np.clip(dist / float(feather_px), 0.0, 1.0).astype(np.float32) * valid


def project_image(img: np.ndarray, cam: RigCamera, layer: Layer, feather_px: float = 8.0,
                  interpolation: int = cv2.INTER_LINEAR) -> tuple[np.ndarray, np.ndarray]:
    """Draw a camera image into its layer.

    Returns
    -------
    pixels : (h, w, C) same dtype as ``img`` (zero outside the camera)
    mask : (h, w) float32 coverage weight (see :func:`coverage_weight`)
    """
    img = np.asarray(img)
    w, h = cam.size
    if img.shape[:2] != (h, w):
        raise InputError(f"camera {cam.id}: image is {img.shape[1]}x{img.shape[0]}, the rig "
                         f"says {w}x{h}")
    mx, my, ok = layer_maps(cam, layer)
    pix = cv2.remap(img, mx, my, interpolation, borderMode=cv2.BORDER_CONSTANT)
    if pix.ndim == 2 and img.ndim == 3:
        pix = pix[..., None]
    pix[~ok] = 0
    return pix, coverage_weight(ok, feather_px)


def project_rig(rig: Rig, images: Sequence[np.ndarray], W: int, feather_px: float = 8.0,
                margin_px: int = 4) -> list[ProjectedLayer]:
    """Project every camera image of a rig into its layer (images in rig order)."""
    if len(images) != len(rig):
        raise InputError(f"rig has {len(rig)} cameras but {len(images)} images were given",
                         rig.source)
    out = []
    for k, (cam, lay) in enumerate(zip(rig, plan_layers(rig, W, margin_px), strict=True)):
        pix, mask = project_image(images[k], cam, lay, feather_px)
        out.append(ProjectedLayer(k, lay.x0, lay.y0, pix, mask, W))
    return out


def _columns_in(layer: Layer, u_abs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column index inside ``layer`` of absolute columns (wrapping), and whether it is inside."""
    c = np.mod(u_abs - layer.x0, layer.pano_width)
    return c, c < layer.width


def find_overlaps(layers: Sequence[ProjectedLayer], min_area_px: int = 16) -> list[Overlap]:
    """Every pair of layers that both cover some panorama pixels (wrap-aware).

    Returns
    -------
    list of Overlap, for pairs ``i < j`` whose common area is at least ``min_area_px``.
    """
    out = []
    for a in range(len(layers)):
        for b in range(a + 1, len(layers)):
            la, lb = layers[a], layers[b]
            A, B = la.layer, lb.layer
            # Work in the narrower layer's frame; the other is looked up modulo W.
            base, other = (A, B) if A.width <= B.width else (B, A)
            bmask = (la if base is A else lb).valid
            omask_full = (lb if base is A else la).valid
            rows0 = max(base.y0, other.y0)
            rows1 = min(base.y0 + base.height, other.y0 + other.height)
            if rows1 <= rows0:
                continue
            u_abs = base.x0 + np.arange(base.width)
            oc, inside = _columns_in(other, u_abs)
            if not inside.any():
                continue
            both = np.zeros((rows1 - rows0, base.width), dtype=bool)
            sub_b = bmask[rows0 - base.y0:rows1 - base.y0]
            sub_o = omask_full[rows0 - other.y0:rows1 - other.y0]
            both[:, inside] = sub_b[:, inside] & sub_o[:, oc[inside].astype(np.intp)]
            if np.count_nonzero(both) < min_area_px:
                continue
            rr = np.flatnonzero(both.any(axis=1))
            cc = np.flatnonzero(both.any(axis=0))
            m = both[rr[0]:rr[-1] + 1, cc[0]:cc[-1] + 1]
            out.append(Overlap(la.index, lb.index, int(base.x0 + cc[0]), int(rows0 + rr[0]),
                               int(m.shape[1]), int(m.shape[0]), m))
    return out
