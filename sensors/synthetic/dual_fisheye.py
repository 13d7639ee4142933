"""Dual-fisheye 360 video with exact truth: two back-to-back lenses side by side in one frame.

The camera (docs/architecture.md conventions; the rig frame is the camera frame the true path
turns, ``R_world_from_cam(t)``) holds two equidistant fisheye lenses (``sensors.fisheye``):
lens 0 looks along the rig's +z and is stored in the frame's left half, lens 1 looks backwards
(``R_rig_from_back``: ``R_BACK`` times a small misalignment) and is stored in the right half,
upright like the first. Each lens has its own focal length, disc centre, radial term ``k1`` and
field of view (``fov_rad``: the half angle of its disc's edge), and its own optical centre
``centres_m`` in the rig: the two sit a baseline of a few centimetres apart along z, as on real
cameras. Outside the discs the frame is black; an optional dark rim (``rim_px``) darkens each
disc's outermost pixels, as the lens barrel does on many cameras.

The scene is at a finite distance, so the baseline makes real parallax near the seam
(``DualFisheyeScene``): the bundled panorama painted on a sphere of ``radius_m`` around the rig
centre, and a level ground plane ``ground_m`` below the rig centre (world +y is down, along
gravity) painted with the same photo. A scene point's colour is the panorama at the point's
direction from the rig centre, so a perfect stitch from the rig centre is exactly the panorama
and each lens sees it with the parallax of its own centre (up to ``baseline / depth``
radians between the lenses: about 1.5 px at 1280 wide for 2.5 cm at 4 m, more towards the
ground). The rig turns about its centre; it does not translate (as in the other generated
clips, so the orientation alone is the truth a stabilizer is scored on).

Rolling shutter, per lens: each lens has its own sensor, read top to bottom over ``readout_s``
and in step with the other's (one clock, as the two-sensor cameras GoPro MAX/Fusion, Insta360
and THETA run them), and each sensor's rows are the stored frame's rows; so in the side-by-side
frame both lenses' row ``v`` is captured at ``t_frame + ((v + 0.5) / H - 0.5) * readout_s``
(``sensors.rolling_shutter.row_time_s`` with the frame height). Cameras that store a lens
turned by 90 degrees (its sensor rows running along the frame's columns) are not modelled.

Speed: as ``sensors.synthetic.render``, per lens half: the scene points of a coarse pixel grid
(every ``grid_step`` px, each grid row at its own orientation) are exact, interpolated
bilinearly between (the shared numba kernel ``render.equirect_maps``; points, not unit rays,
go in: the panorama coordinate of a point is that of its direction from the rig centre) and
sampled with one ``cv2.remap``; the disc mask (edge anti-aliasing, rim, lens gain) is fixed per
clip.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..equirect import INTERPOLATIONS, remap_wrapped
from ..errors import InputError
from ..fisheye import R_BACK, FisheyeLens, pixels_to_rays, rotation_matrix
from ..progress import ProgressCallback, report
from ..rolling_shutter import row_time_s
from .paths import TruePath
from .render import _grid, equirect_maps, load_panorama, panorama_for_focal, row_rotations

__all__ = ["DUAL_FISHEYE", "DualFisheyeCalibration", "DualFisheyeScene", "lens_mask",
           "render_dual_fisheye_frame", "render_dual_fisheye_clip"]

#: The ``projection`` name of a dual-fisheye clip.
DUAL_FISHEYE = "dual-fisheye"
#: Brightness of the dark rim relative to the image.
RIM_LEVEL = 0.12
LENS_IDS = ("front", "back")


@dataclass(frozen=True)
class DualFisheyeScene:
    """The world a dual-fisheye clip sees: a panorama on a sphere and a ground plane.

    Parameters
    ----------
    radius_m : float
        Radius of the sphere (centred on the rig centre) the panorama is painted on.
    ground_m : float or None
        Depth of a level ground plane below the rig centre (world ``y = ground_m``; None: no
        ground). It must lie inside the sphere.
    """

    radius_m: float = 4.0
    ground_m: float | None = 1.5

    def __post_init__(self) -> None:
        if not (np.isfinite(self.radius_m) and self.radius_m > 0.1):
            raise InputError(f"scene radius must be > 0.1 m, got {self.radius_m}")
        if self.ground_m is not None and not 0.05 < self.ground_m < self.radius_m:
            raise InputError(f"ground must be 0.05 m to the scene radius below the rig, got "
                             f"{self.ground_m}")

    def hit(self, origins_m: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        """First scene points (..., 3) on rays from ``origins_m`` (inside the sphere) along
        ``dirs`` (need not be unit), world frame, metres."""
        o = np.asarray(origins_m, dtype=np.float64)
        d = np.asarray(dirs, dtype=np.float64)
        d = d / np.linalg.norm(d, axis=-1, keepdims=True)
        od = np.sum(o * d, axis=-1)
        s = -od + np.sqrt(od * od - np.sum(o * o, axis=-1) + self.radius_m ** 2)
        if self.ground_m is not None:
            dy = d[..., 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                sg = (self.ground_m - o[..., 1]) / dy
            s = np.where((dy > 1e-12) & (sg < s), sg, s)
        return o + s[..., None] * d

    def to_dict(self) -> dict:
        return {"radius_m": float(self.radius_m),
                "ground_m": None if self.ground_m is None else float(self.ground_m)}


@dataclass(frozen=True)
class DualFisheyeCalibration:
    """The true calibration of a dual-fisheye camera (see the module docstring).

    Parameters
    ----------
    lenses : (FisheyeLens, FisheyeLens)
        Front and back lens in full-frame pixels (``fov_rad``: half angle of the disc's edge).
    R_rig_from_back : (3, 3)
        Orientation of the back lens in the rig (the front lens is the rig frame).
    centres_m : (2, 3)
        Optical centres of the two lenses in the rig frame, metres.
    size : (int, int)
        Frame (width, height); width = 2 height.
    layout : str
        ``"side_by_side"`` (front lens left).
    gains : (float, float)
        Brightness factor of each lens.
    rim_px : float
        Width of the dark rim inside each disc's edge (0: none).
    """

    lenses: tuple[FisheyeLens, FisheyeLens]
    R_rig_from_back: np.ndarray
    centres_m: np.ndarray
    size: tuple[int, int]
    layout: str = "side_by_side"
    gains: tuple[float, float] = (1.0, 1.0)
    rim_px: float = 0.0

    def __post_init__(self) -> None:
        w, h = self.size
        if self.layout != "side_by_side":
            raise InputError(f"dual-fisheye layout must be side_by_side, got {self.layout!r}")
        if w != 2 * h or h < 16 or h % 2:
            raise InputError(f"a dual-fisheye frame is W = 2H (H even, >= 16), got {w}x{h}")
        if np.asarray(self.centres_m).shape != (2, 3):
            raise InputError("lens centres must be (2, 3) metres")
        if self.rim_px < 0:
            raise InputError(f"rim width must be >= 0 px, got {self.rim_px}")

    @property
    def baseline_m(self) -> float:
        """Distance between the two lenses' optical centres."""
        c = np.asarray(self.centres_m, dtype=np.float64)
        return float(np.linalg.norm(c[1] - c[0]))

    @property
    def back_misalignment_deg(self) -> float:
        """Angle between the back lens and exactly back-to-back (``R_BACK``), degrees."""
        M = R_BACK.T @ np.asarray(self.R_rig_from_back, dtype=np.float64)
        return math.degrees(math.acos(float(np.clip((np.trace(M) - 1) / 2, -1.0, 1.0))))

    def rotations(self) -> tuple[np.ndarray, np.ndarray]:
        """``R_rig_from_lens`` of the front and the back lens."""
        return np.eye(3), np.asarray(self.R_rig_from_back, dtype=np.float64)

    def boxes(self) -> tuple[tuple[int, int, int, int], ...]:
        """``(x0, y0, w, h)`` of each lens's half of the frame."""
        w, h = self.size
        return (0, 0, w // 2, h), (w // 2, 0, w // 2, h)

    def usable_fov_rad(self, k: int) -> float:
        """Half angle of lens ``k``'s disc inside its dark rim."""
        lens = self.lenses[k]
        return float(lens.theta_rad(lens.radius_px(lens.fov_rad) - self.rim_px))

    @classmethod
    def random(cls, seed: int = 0, size: tuple[int, int] = (1280, 640),
               fov_deg: tuple[float, float] = (190.0, 200.0), margin_fraction: float = 0.01,
               max_centre_offset_px: float = 3.0, max_rotation_deg: float = 1.0,
               baseline_m: tuple[float, float] = (0.02, 0.03), rim_px: float = 0.0
               ) -> DualFisheyeCalibration:
        """A seeded random calibration.

        Parameters
        ----------
        seed : int
        size : (w, h)
            Frame size, w = 2 h.
        fov_deg : (lo, hi)
            Range of each lens's full field of view (to its disc's edge).
        margin_fraction : float
            Black margin between a disc and its half's border, a fraction of the half's height.
        max_centre_offset_px : float
            Bound of each disc centre's offset from its half's centre, per axis.
        max_rotation_deg : float
            The back lens is turned from exactly back-to-back by an angle uniform in
            [0.2, 1] times this, about a random axis.
        baseline_m : (lo, hi)
            Range of the distance between the optical centres (along the rig's z axis).
        rim_px : float
            Width of the dark rim.
        """
        w, h = int(size[0]), int(size[1])
        rng = np.random.default_rng(seed)
        radius = (0.5 - margin_fraction) * h
        lenses = []
        for x0 in (0, w // 2):
            half = math.radians(rng.uniform(*fov_deg) / 2)
            k1 = float(rng.uniform(-0.02, 0.02))
            f = radius / (half * (1 + k1 * half * half))
            off = rng.uniform(-max_centre_offset_px, max_centre_offset_px, 2)
            lenses.append(FisheyeLens(float(f), float(x0 + (h - 1) / 2 + off[0]),
                                      float((h - 1) / 2 + off[1]), k1, half))
        axis = rng.normal(size=3)
        angle = math.radians(max_rotation_deg * rng.uniform(0.2, 1.0))
        R = R_BACK @ rotation_matrix(axis / np.linalg.norm(axis) * angle)
        b = float(rng.uniform(*baseline_m))
        centres = np.array([[0.0, 0.0, b / 2], [0.0, 0.0, -b / 2]])
        gains = (1.0, float(rng.uniform(0.95, 1.05)))
        return cls((lenses[0], lenses[1]), R, centres, (w, h), "side_by_side", gains,
                   float(rim_px))

    def to_dict(self) -> dict:
        """JSON form (the truth file's ``dual_fisheye`` entry; ``from_dict`` reads it back)."""
        out = {"layout": self.layout, "size": [int(self.size[0]), int(self.size[1])],
               "rim_px": float(self.rim_px), "baseline_m": self.baseline_m,
               "back_misalignment_deg": self.back_misalignment_deg, "lenses": []}
        for k, (lens, R) in enumerate(zip(self.lenses, self.rotations(), strict=True)):
            out["lenses"].append({
                "id": LENS_IDS[k], "box": list(self.boxes()[k]), "f_px": lens.f_px,
                "cx_px": lens.cx_px, "cy_px": lens.cy_px, "k1": lens.k1,
                "fov_deg": 2 * math.degrees(lens.fov_rad),
                "usable_fov_deg": 2 * math.degrees(self.usable_fov_rad(k)),
                "R_rig_from_lens": np.asarray(R).tolist(),
                "centre_m": np.asarray(self.centres_m[k], dtype=np.float64).tolist(),
                "gain": float(self.gains[k])})
        return out

    @classmethod
    def from_dict(cls, d: dict) -> DualFisheyeCalibration:
        ls = d["lenses"]
        lenses = tuple(FisheyeLens(float(x["f_px"]), float(x["cx_px"]), float(x["cy_px"]),
                                   float(x["k1"]), math.radians(float(x["fov_deg"]) / 2))
                       for x in ls)
        return cls(lenses, np.array(ls[1]["R_rig_from_lens"], dtype=np.float64),
                   np.array([x["centre_m"] for x in ls], dtype=np.float64),
                   (int(d["size"][0]), int(d["size"][1])), d["layout"],
                   (float(ls[0]["gain"]), float(ls[1]["gain"])), float(d["rim_px"]))


def lens_mask(calib: DualFisheyeCalibration, k: int) -> np.ndarray:
    """(h, w/2) float32 factor of lens ``k``'s half: its gain inside the disc, an anti-aliased
    edge (pixel coverage), ``RIM_LEVEL`` in the rim, 0 outside."""
    x0, y0, bw, bh = calib.boxes()[k]
    lens = calib.lenses[k]
    X, Y = np.meshgrid(np.arange(x0, x0 + bw, dtype=np.float64),
                       np.arange(y0, y0 + bh, dtype=np.float64))
    r = np.hypot(X - lens.cx_px, Y - lens.cy_px)
    edge = float(lens.radius_px(lens.fov_rad))
    alpha = np.clip(edge + 0.5 - r, 0.0, 1.0)
    if calib.rim_px > 0:
        inside_rim = np.clip(r - (edge - calib.rim_px) + 0.5, 0.0, 1.0)
        alpha = alpha * (1.0 - (1.0 - RIM_LEVEL) * inside_rim)
    return (alpha * calib.gains[k]).astype(np.float32)


def _lens_grids(calib: DualFisheyeCalibration, step: int) -> list[np.ndarray]:
    """Rig-frame rays (gh, gw, 3) of each lens's grid pixels ``(x0 + i step, j step)``."""
    out = []
    for (x0, _, bw, bh), lens, R in zip(calib.boxes(), calib.lenses, calib.rotations(),
                                        strict=True):
        gx, gy = x0 + _grid(bw, step), _grid(bh, step)
        px = np.stack(np.broadcast_arrays(gx[None, :], gy[:, None]), axis=-1)
        out.append(pixels_to_rays(px, lens.f_px, lens.cx_px, lens.cy_px, lens.k1) @ R.T)
    return out


def render_dual_fisheye_frame(pano: np.ndarray, calib: DualFisheyeCalibration,
                              scene: DualFisheyeScene, R_rows: np.ndarray, *,
                              interpolation: str = "bilinear", grid_step: int = 4,
                              masks: list[np.ndarray] | None = None,
                              rays: list[np.ndarray] | None = None) -> np.ndarray:
    """Render one rolling-shutter dual-fisheye frame.

    Parameters
    ----------
    pano : (Hp, 2Hp[, C]) uint8
        The scene's panorama (see ``panorama_for_focal`` to pre-reduce it).
    calib : DualFisheyeCalibration
    scene : DualFisheyeScene
    R_rows : (3, 3) or (H, 3, 3) float
        ``R_world_from_cam`` of the rig for the frame or for each row (both lenses' row ``v``
        share ``R_rows[v]``).
    interpolation, grid_step
        As ``render.render_frame``.
    masks, rays : list, optional
        ``lens_mask`` of each lens and the rig rays of each lens's grid, computed once per clip.

    Returns
    -------
    (H, 2H[, C]) uint8

    Examples
    --------
    >>> calib = DualFisheyeCalibration.random(seed=1, size=(128, 64))
    >>> pano = panorama_for_focal(load_panorama(), calib.lenses[0].f_px)
    >>> render_dual_fisheye_frame(pano, calib, DualFisheyeScene(), np.eye(3)).shape
    (64, 128, 3)
    """
    w, h = calib.size
    R = row_rotations(R_rows, h, interpolation)
    step = int(grid_step)
    rays = _lens_grids(calib, step) if rays is None else rays
    masks = [lens_mask(calib, k) for k in range(2)] if masks is None else masks
    halves = []
    for k, (_, _, bw, bh) in enumerate(calib.boxes()):
        rows = np.clip(_grid(bh, step).astype(np.intp), 0, h - 1)
        Rg = R[rows]
        dirs = np.einsum("gij,gxj->gxi", Rg, rays[k])
        origins = np.einsum("gij,j->gi", Rg, np.asarray(calib.centres_m[k], np.float64))
        pts = scene.hit(origins[:, None, :], dirs)
        mapx, mapy = equirect_maps(pts, step, (bw, bh), pano.shape[1])
        img = remap_wrapped(pano, mapx, mapy, INTERPOLATIONS[interpolation])
        m = masks[k] if img.ndim == 2 else masks[k][..., None]
        halves.append(np.clip(img * m + 0.5, 0, 255).astype(np.uint8))
    return np.concatenate(halves, axis=1)


def render_dual_fisheye_clip(path: TruePath, calib: DualFisheyeCalibration,
                             scene: DualFisheyeScene, frame_t_s: np.ndarray, readout_s: float,
                             *, pano: np.ndarray | None = None,
                             interpolation: str = "bilinear", grid_step: int = 4,
                             progress: ProgressCallback | None = None) -> Iterator[np.ndarray]:
    """Yield rolling-shutter dual-fisheye frames (uint8 BGR) along a true path.

    Row ``v`` of both lenses is captured at ``row_time_s(t_frame, v, H, readout_s)`` (the
    per-lens model of the module docstring); ``frame_t_s`` are on the path's clock.
    """
    w, h = calib.size
    img = load_panorama() if pano is None else pano
    img = panorama_for_focal(img, max(lens.f_px for lens in calib.lenses))
    rows = np.arange(h)
    rays = _lens_grids(calib, int(grid_step))
    masks = [lens_mask(calib, k) for k in range(2)]
    total = len(frame_t_s)
    for i, tf in enumerate(np.asarray(frame_t_s, dtype=np.float64)):
        R = path.matrices_at(row_time_s(tf, rows, h, readout_s))
        frame = render_dual_fisheye_frame(img, calib, scene, R, interpolation=interpolation,
                                          grid_step=grid_step, masks=masks, rays=rays)
        report(progress, "render", i + 1, total)
        yield frame
