"""Rosette generator with ground truth: N cameras on a ring rendered from a real panorama photo.

The scene is the equirectangular photo (``samples/equirect/examplepano.jpg``) at infinity plus a
**near ground plane** ``ground_plane_m`` below the rig centre (rig frame: y down): a camera ray
from the camera's own centre that hits the plane samples the photo in the direction of the hit
point *as seen from the rig centre*; rays above the horizon sample it at infinity. Cameras sit on
their ring positions, so overlaps near the ground carry real parallax, which a rotation-only
projection cannot remove. The written rig files carry a known calibration error (a random
rotation of exactly ``miscalibration_deg`` per camera); the truth keeps the real rig, the
perturbations, the per-camera gains and the scene.

:func:`true_correspondence` gives, for a panorama pixel of camera i's layer (projected with any
rig, e.g. the miscalibrated one), where the same scene point lands in camera j's layer, so seam
residuals can be measured exactly.
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sensors.atomic import atomic_output
from sensors.camera import project, unproject
from sensors.errors import InputError
from sensors.types import CameraModel

from .projection import (
    camera_dirs_from_pano,
    find_overlaps,
    pano_dirs_from_camera,
    pano_dirs_from_uv,
    pano_uv_from_dirs,
    plan_layers,
)
from .rig import Rig, RigCamera
from .rig_io import read_surround360_rig, write_colmap_rig, write_surround360_rig

__all__ = [
    "RosetteScene",
    "RosetteTruth",
    "GeneratedRosette",
    "ring_rig",
    "LENS_KINDS",
    "perturb_intrinsics",
    "render_view",
    "generate_rosette",
    "load_rosette_truth",
    "true_correspondence",
    "default_panorama_path",
    "reference_panorama",
    "true_seam_residuals",
]

_REPO = Path(__file__).resolve().parent.parent


def default_panorama_path() -> Path:
    """The real equirectangular photo the generators render from (see samples/ATTRIBUTION.md)."""
    try:
        from sensors.synthetic import default_panorama_path as _p

        return Path(_p())
    except ImportError:
        return _REPO / "samples" / "equirect" / "examplepano.jpg"


@functools.lru_cache(maxsize=4)
def _load_panorama(path: str, width: int) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise InputError("cannot read the panorama image", path)
    if img.shape[1] > width:
        # Pre-filter to about the sampling rate of the views so bilinear lookups do not alias.
        img = cv2.resize(img, (width, width // 2), interpolation=cv2.INTER_AREA)
    img.setflags(write=False)
    return img


@dataclass(frozen=True)
class RosetteScene:
    """The rendered world: a panorama at infinity and a horizontal ground plane.

    Parameters
    ----------
    ground_plane_m : float or None
        Distance of the ground plane below the rig centre (rig y = +ground_plane_m); None = no
        plane (pure rotation scene, no parallax).
    panorama_path : str
        Equirectangular photo used as the environment.
    """

    ground_plane_m: float | None = 1.6
    panorama_path: str = ""

    def points(self, origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        """Homogeneous scene points (..., 4) hit by rays: ``(X, 1)`` on the ground plane,
        ``(d, 0)`` at infinity."""
        o = np.broadcast_to(np.asarray(origins, dtype=np.float64), dirs.shape)
        d = np.asarray(dirs, dtype=np.float64)
        out = np.concatenate([d, np.zeros(d.shape[:-1] + (1,))], axis=-1)
        if self.ground_plane_m is None:
            return out
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (self.ground_plane_m - o[..., 1]) / d[..., 1]
        hit = (d[..., 1] > 1e-9) & (t > 0)
        X = o + np.where(hit, t, 0.0)[..., None] * d
        out[hit] = np.concatenate([X[hit], np.ones((int(hit.sum()), 1))], axis=-1)
        return out

    def environment_dirs(self, points_h: np.ndarray) -> np.ndarray:
        """Direction from the rig centre in which each scene point samples the photo."""
        d = points_h[..., :3]
        return d / np.linalg.norm(d, axis=-1, keepdims=True)


def _unproject(cam: RigCamera, px: np.ndarray) -> np.ndarray:
    """Unit camera rays through pixels, robust for wide radial-only lenses.

    ``sensors.camera.unproject`` inverts the distortion by a fixed-point iteration that stalls
    far off axis on wide rectilinear lenses (a 140-degree view with k1 = -0.05, k2 = 0.01 left
    corners ~100 px off); for radial-only ``opencv_standard`` lenses Newton's method on the
    radius is used here instead. Other lenses go through ``sensors.camera.unproject``.
    """
    c = cam.camera
    k = np.zeros(8)
    k[: min(8, c.dist.size)] = c.dist[:8]
    if c.model != "opencv_standard" or np.any(k[[2, 3, 5, 6, 7]]):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return unproject(c, px)
    K = c.K
    yd = (px[..., 1] - K[1, 2]) / K[1, 1]
    xd = (px[..., 0] - K[0, 2] - K[0, 1] * yd) / K[0, 0]
    rd = np.hypot(xd, yd)
    r = rd.copy()
    k1, k2, k3 = k[0], k[1], k[4]
    for _ in range(50):
        r2 = r * r
        g = r * (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) - rd
        dg = 1 + r2 * (3 * k1 + r2 * (5 * k2 + r2 * 7 * k3))
        r = np.maximum(r - g / np.where(np.abs(dg) > 1e-12, dg, 1e-12), 0.0)
    s = np.where(rd > 1e-15, r / np.where(rd > 1e-15, rd, 1.0), 1.0)
    rays = np.stack([xd * s, yd * s, np.ones_like(rd)], axis=-1)
    return rays / np.linalg.norm(rays, axis=-1, keepdims=True)


def render_view(cam: RigCamera, scene: RosetteScene, pano: np.ndarray) -> np.ndarray:
    """Render one camera's image (h, w, 3) uint8 of the scene (bilinear, wrap-aware)."""
    w, h = cam.size
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    px = np.stack([gx, gy], axis=-1)
    if cam.camera.model == "opencv_fisheye":
        # Fisheye views reach past 90 degrees, where sensors.camera's z division stops.
        from .projection import _project_rays
        from .refine_lens import pixel_rays

        rays = pixel_rays(cam.camera, px.reshape(-1, 2)).reshape(px.shape[:-1] + (3,))
        back = _project_rays(cam, rays)
    else:
        rays = _unproject(cam, px)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            back = project(cam.camera, rays)
    # The iterative undistortion diverges where the lens model folds: check the round trip.
    bad = ~(np.abs(back - px).max(axis=-1) < 1e-3)
    if bad.any():
        raise InputError(f"camera {cam.id}: its lens distortion cannot be inverted over the "
                         f"whole image ({int(bad.sum())} pixels); use milder distortion")
    dirs = rays @ cam.R_rig_from_cam.T
    env = scene.environment_dirs(scene.points(cam.position_m, dirs))
    Wp = pano.shape[1]
    uv = pano_uv_from_dirs(env, Wp)
    return cv2.remap(pano, uv[..., 0].astype(np.float32), uv[..., 1].astype(np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


def reference_panorama(scene: RosetteScene, W: int) -> np.ndarray:
    """The scene as an ideal camera at the rig centre sees it: (W/2, W, 3) uint8 equirect.

    From the rig centre every scene point samples the photo along its own direction, so this is
    the environment photo resampled to width W: the target a perfect stitch reproduces.
    """
    H = W // 2
    pano = _load_panorama(scene.panorama_path or str(default_panorama_path()), W)
    u, v = np.meshgrid(np.arange(W, dtype=np.float64), np.arange(H, dtype=np.float64))
    uv = pano_uv_from_dirs(pano_dirs_from_uv(u, v, W), pano.shape[1])
    return cv2.remap(pano, uv[..., 0].astype(np.float32), uv[..., 1].astype(np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


def _R_y(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _R_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rotvec_matrix(rv: np.ndarray) -> np.ndarray:
    th = float(np.linalg.norm(rv))
    if th < 1e-15:
        return np.eye(3)
    k = rv / th
    Kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(th) * Kx + (1 - math.cos(th)) * Kx @ Kx


def ring_rig(n_cameras: int = 8, width: int = 960, height: int = 720, hfov_deg: float = 80.0,
             ring_radius_m: float = 0.06, dist=(-0.05, 0.01), up_down: bool = False,
             up_down_hfov_deg: float = 140.0, lens: str = "rectilinear") -> Rig:
    """An ideal rosette: cameras looking outwards on a horizontal ring, yaw 360 k / N.

    Camera k is ``cam{k}`` at ``ring_radius_m (sin yaw, 0, cos yaw)``; optional ``cam_up`` /
    ``cam_down`` look along -y / +y from just above / below the ring centre. Lenses are
    rectilinear (``opencv_standard``) with mild radial distortion ``dist = (k1, k2)``, or with
    ``lens="fisheye"`` equidistant (``opencv_fisheye``, r = f theta (1 + k1 theta^2 + k2
    theta^4)) with ``dist`` as its k1, k2.
    """
    if n_cameras < 2:
        raise InputError(f"a rosette needs at least 2 cameras, got {n_cameras}")
    if not 10 <= hfov_deg < 170:
        raise InputError(f"hfov_deg must be in [10, 170), got {hfov_deg}")
    if lens not in LENS_KINDS:
        raise InputError(f"unknown lens {lens!r}; valid: {', '.join(LENS_KINDS)}")

    def model(hfov):
        half = math.radians(hfov) / 2
        if lens == "fisheye":
            f = (width / 2) / half
            K = [[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1]]
            return CameraModel(K, [dist[0], dist[1], 0, 0], "opencv_fisheye", (width, height))
        f = (width / 2) / math.tan(half)
        K = [[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1]]
        return CameraModel(K, [dist[0], dist[1], 0, 0, 0], "opencv_standard", (width, height))

    cams = []
    for k in range(n_cameras):
        yaw = 2 * math.pi * k / n_cameras
        R = _R_y(yaw)
        cams.append(RigCamera(f"cam{k}", model(hfov_deg), R, ring_radius_m * R[:, 2], "side"))
    if up_down:
        # Looking up: camera z along rig -y; camera y (down in image) along rig -z.
        R_up = _R_x(math.pi / 2)
        R_down = _R_x(-math.pi / 2)
        off = ring_radius_m / 2
        cams.append(RigCamera("cam_up", model(up_down_hfov_deg), R_up, [0, -off, 0], "updown"))
        cams.append(RigCamera("cam_down", model(up_down_hfov_deg), R_down, [0, off, 0],
                              "updown"))
    return Rig(tuple(cams))


#: Lens kinds :func:`ring_rig` builds.
LENS_KINDS = ("rectilinear", "fisheye")


def perturb_intrinsics(rig: Rig, rng: np.random.Generator, focal_error: float = 0.0,
                       principal_error_px: float = 0.0, distortion_error: float = 0.0) -> Rig:
    """The same rig with every camera's lens drawn around its nominal one.

    Per camera: focal length (fx and fy alike) scaled by ``1 + focal_error * s`` with s a random
    sign, principal point moved by ``principal_error_px`` in a uniformly random direction,
    k1 and k2 each shifted by ``distortion_error`` times a standard normal draw (halved for
    k2). The magnitudes are exact, the directions random, so a test knows the size of the error.
    """
    cams = []
    for c in rig:
        K = c.camera.K.copy()
        s = 1.0 + focal_error * (1.0 if rng.random() < 0.5 else -1.0)
        K[0, 0] *= s
        K[1, 1] *= s
        a = rng.uniform(0, 2 * math.pi)
        K[0, 2] += principal_error_px * math.cos(a)
        K[1, 2] += principal_error_px * math.sin(a)
        d = c.camera.dist.copy()
        dk = rng.normal(size=2) * distortion_error
        d[0] += dk[0]
        d[1] += 0.5 * dk[1]
        cam = CameraModel(K, d, c.camera.model, c.camera.size)
        cams.append(RigCamera(c.id, cam, c.R_rig_from_cam, c.position_m, c.group, c.fov_rad))
    return Rig(tuple(cams), rig.source)


@dataclass(frozen=True, eq=False)
class RosetteTruth:
    """What the generator knows: the true rig, the rig as written, the scene, the gains.

    ``R_written = R_err R_true`` per camera with ``R_err`` a rotation of ``perturbation_rotvec``.
    """

    true_rig: Rig
    written_rig: Rig
    scene: RosetteScene
    gains: np.ndarray
    perturbation_rotvec_rad: np.ndarray
    seed: int


@dataclass(frozen=True, eq=False)
class GeneratedRosette:
    """Files written by :func:`generate_rosette` and the truth behind them."""

    out_dir: Path
    image_paths: tuple[Path, ...]
    rig_path: Path
    colmap_rig_path: Path
    truth_path: Path
    truth: RosetteTruth

    @property
    def rig(self) -> Rig:
        """The (miscalibrated) rig as written to ``rig_path``."""
        return self.truth.written_rig

    @property
    def true_rig(self) -> Rig:
        return self.truth.true_rig


def generate_rosette(out_dir: str | os.PathLike, n_cameras: int = 8, width: int = 960,
                     height: int = 720, hfov_deg: float = 80.0, miscalibration_deg: float = 0.4,
                     ground_plane_m: float | None = 1.6, ring_radius_m: float = 0.06,
                     seed: int = 0, up_down: bool = False, gain_range: float = 0.15,
                     image_format: str = "png", panorama_path: str | os.PathLike | None = None,
                     focal_error: float = 0.0, principal_error_px: float = 0.0,
                     distortion_error: float = 0.0, lens: str = "rectilinear",
                     ) -> GeneratedRosette:
    """Render a rosette with known truth and write images, rig files and a truth file.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created): ``cam{k}.png``, ``camera_rig.json`` (Surround360,
        miscalibrated), ``rig_config.json`` + ``cameras.txt`` (COLMAP, miscalibrated),
        ``truth_camera_rig.json`` (the true rig) and ``truth.json``.
    n_cameras, width, height, hfov_deg, ring_radius_m, up_down
        Rig layout (see :func:`ring_rig`).
    miscalibration_deg : float
        Angle of the random rotation error applied to every camera of the written rig.
    ground_plane_m : float or None
        Ground plane distance below the rig centre (None: scene at infinity only).
    seed : int
        Seeds the perturbation axes and the gains.
    gain_range : float
        Per-camera exposure gains are drawn uniformly from ``1 +- gain_range``.
    image_format : {"png", "jpg"}
        PNG is lossless, which sub-pixel seam measurements want.
    panorama_path : path, optional
        Environment photo (default :func:`default_panorama_path`).
    focal_error, principal_error_px, distortion_error : float
        Lens errors: the images are rendered with lenses that differ from the nominal ones
        written to the rig files by these amounts (relative focal, principal point px,
        distortion k1; see :func:`perturb_intrinsics`). Zero (the default): exact lenses.
    lens : {"rectilinear", "fisheye"}
        Lens kind of the ring (see :func:`ring_rig`).

    Returns
    -------
    GeneratedRosette

    Examples
    --------
    A ring whose real focal lengths differ from the rig file's by 1.5 % and principal points
    by 6 px:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     g = generate_rosette(tmp, n_cameras=4, width=160, height=120, hfov_deg=110.0,
    ...                          focal_error=0.015, principal_error_px=6.0)
    >>> f_true, f_file = g.true_rig[0].camera.K[0, 0], g.rig[0].camera.K[0, 0]
    >>> round(float(abs(f_true / f_file - 1)), 4)
    0.015
    """
    if image_format not in ("png", "jpg"):
        raise InputError(f"image_format must be png or jpg, got {image_format!r}")
    if ground_plane_m is not None and ground_plane_m <= 0:
        raise InputError(f"ground_plane_m must be positive, got {ground_plane_m}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    nominal = ring_rig(n_cameras, width, height, hfov_deg, ring_radius_m, up_down=up_down,
                       lens=lens)
    # The lens draws have their own stream, so rosettes without lens errors stay as they were.
    true_rig = perturb_intrinsics(nominal, np.random.default_rng([seed, 1]), focal_error,
                                  principal_error_px, distortion_error)
    n = len(true_rig)
    axes = rng.normal(size=(n, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    rotvec = axes * math.radians(miscalibration_deg)
    gains = 1.0 + rng.uniform(-gain_range, gain_range, size=n)
    written = nominal.with_rotations(
        np.stack([_rotvec_matrix(rv) @ c.R_rig_from_cam for rv, c in zip(rotvec, true_rig,
                                                                         strict=True)]))
    pano_path = str(panorama_path or default_panorama_path())
    scene = RosetteScene(ground_plane_m, pano_path)
    # About 1.5 panorama pixels per view pixel at the image centre keeps sampling alias-free.
    f = true_rig[0].camera.K[0, 0]
    pano = _load_panorama(pano_path, int(2 * round(1.5 * f * math.pi)))
    paths = []
    for k, cam in enumerate(true_rig):
        img = render_view(cam, scene, pano).astype(np.float32) * gains[k]
        img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        p = out / f"{cam.id}.{image_format}"
        with atomic_output(p) as tmp:
            if not cv2.imwrite(str(tmp), img):
                raise InputError("could not write image", str(p))
        paths.append(p)
    rig_path = out / "camera_rig.json"
    write_surround360_rig(rig_path, written)
    colmap_path = out / "rig_config.json"
    write_colmap_rig(colmap_path, written)
    write_surround360_rig(out / "truth_camera_rig.json", true_rig)
    truth_doc = {
        "generator": "stitch.synthetic.generate_rosette",
        "seed": seed,
        "true_rig": "truth_camera_rig.json",
        "written_rig": "camera_rig.json",
        "images": [p.name for p in paths],
        "miscalibration_deg": miscalibration_deg,
        "perturbation_rotvec_rad": rotvec.tolist(),
        "perturbation_convention": "R_written = exp([rotvec]x) @ R_true (rig frame)",
        "gains": gains.tolist(),
        "ground_plane_m": ground_plane_m,
        "ring_radius_m": ring_radius_m,
        "hfov_deg": hfov_deg,
        "lens": lens,
        "focal_error": focal_error,
        "principal_error_px": principal_error_px,
        "distortion_error": distortion_error,
        "panorama": pano_path,
    }
    truth_path = out / "truth.json"
    with atomic_output(truth_path) as tmp:
        Path(tmp).write_text(json.dumps(truth_doc, indent=2) + "\n")
    truth = RosetteTruth(true_rig, written, scene, gains, rotvec, seed)
    return GeneratedRosette(out, tuple(paths), rig_path, colmap_path, truth_path, truth)


def load_rosette_truth(path: str | os.PathLike) -> RosetteTruth:
    """Read a ``truth.json`` written by :func:`generate_rosette`."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read rosette truth ({exc.__class__.__name__})", str(p)) from None
    true_rig = read_surround360_rig(p.with_name(doc["true_rig"]))
    written = read_surround360_rig(p.with_name(doc["written_rig"]))
    scene = RosetteScene(doc["ground_plane_m"], doc.get("panorama", ""))
    return RosetteTruth(true_rig, written, scene, np.asarray(doc["gains"]),
                        np.asarray(doc["perturbation_rotvec_rad"]), int(doc["seed"]))


def true_correspondence(truth: RosetteTruth, used_rig: Rig, i: int, j: int, uv_i: np.ndarray,
                        W: int) -> tuple[np.ndarray, np.ndarray]:
    """Where the scene point at panorama pixel ``uv_i`` of camera i's layer lands in camera j's.

    Both layers are projections with ``used_rig`` (e.g. the miscalibrated rig read from the
    file, or a refined one); the scene and the cameras' real poses come from the truth.

    Parameters
    ----------
    truth : RosetteTruth
    used_rig : Rig
        The rig the layers were projected with (same cameras as the truth).
    i, j : int
        Camera indices.
    uv_i : (N, 2) float
        Absolute panorama coordinates in camera i's layer (u may be outside [0, W)).
    W : int
        Panorama width.

    Returns
    -------
    uv_j : (N, 2) float64
        The same scene point in camera j's layer; u is unwrapped to lie within W/2 of ``uv_i``'s.
    valid : (N,) bool
        The point is inside both cameras' images (NaN rows in ``uv_j`` otherwise).
    """
    uv_i = np.asarray(uv_i, dtype=np.float64).reshape(-1, 2)
    ci_used, cj_used = used_rig[i], used_rig[j]
    ci_true, cj_true = truth.true_rig[i], truth.true_rig[j]
    # Pixel of camera i that the layer shows at uv_i (under the rig used for projection).
    ray_i = camera_dirs_from_pano(ci_used, pano_dirs_from_uv(uv_i[:, 0], uv_i[:, 1], W)
                                  ) @ ci_used.R_rig_from_cam
    with np.errstate(invalid="ignore", divide="ignore"):
        px_i = project(ci_used.camera, ray_i)
    wi, hi = ci_used.size
    ok = np.isfinite(px_i).all(axis=1) & (ray_i[:, 2] > 0)
    with np.errstate(invalid="ignore"):
        ok &= (px_i[:, 0] >= -0.5) & (px_i[:, 0] <= wi - 0.5)
        ok &= (px_i[:, 1] >= -0.5) & (px_i[:, 1] <= hi - 0.5)
    # That pixel's real ray hits the scene somewhere; camera j (really) sees it at px_j.
    ray_true = _unproject(ci_true, np.where(ok[:, None], px_i, 0.0))
    Xh = truth.scene.points(ci_true.position_m, ray_true @ ci_true.R_rig_from_cam.T)
    ray_j = (Xh[:, :3] - Xh[:, 3:4] * cj_true.position_m) @ cj_true.R_rig_from_cam
    with np.errstate(invalid="ignore", divide="ignore"):
        px_j = project(cj_true.camera, ray_j)
    wj, hj = cj_true.size
    ok &= np.isfinite(px_j).all(axis=1) & (ray_j[:, 2] > 0)
    with np.errstate(invalid="ignore"):
        ok &= (px_j[:, 0] >= -0.5) & (px_j[:, 0] <= wj - 0.5)
        ok &= (px_j[:, 1] >= -0.5) & (px_j[:, 1] <= hj - 0.5)
    # Camera j's layer (under the used rig) draws px_j at this panorama position.
    d_j = pano_dirs_from_camera(
        cj_used, _unproject(cj_used, np.where(ok[:, None], px_j, 0.0)) @ cj_used.R_rig_from_cam.T)
    uv_j = pano_uv_from_dirs(d_j, W)
    uv_j[:, 0] = uv_i[:, 0] + np.mod(uv_j[:, 0] - uv_i[:, 0] + W / 2, W) - W / 2
    uv_j[~ok] = np.nan
    return uv_j, ok


def true_seam_residuals(truth: RosetteTruth, rig: Rig, W: int, warps=None, step_px: int = 4,
                        pairs=None) -> dict[tuple[int, int], np.ndarray]:
    """Exact seam misalignment of a stitch, per overlapping pair, from the generator's truth.

    For panorama pixels q on a grid (every ``step_px``) of camera i's layer, the warped layer
    i shows the unwarped layer at ``p_i = q + d_i(q)``; the same scene point is at ``p_j`` in
    camera j's unwarped layer (:func:`true_correspondence`), which the warped layer j shows at
    ``q_j = d_j^-1(p_j)``. The residual is ``|q_j - q|`` in panorama pixels: zero for a perfect
    stitch. Without warps this is the misalignment of the plain rotation-only stitch.

    Parameters
    ----------
    truth : RosetteTruth
    rig : Rig
        The rig the layers were projected with (written, or refined).
    W : int
        Panorama width.
    warps : sequence, optional
        Objects with ``index``, ``displacement(points)`` and ``inverse(points)`` (the
        ``stitch.warp_solve.SplineWarp`` interface), one per camera.
    step_px : int
        Sampling step of q over each layer.
    pairs : iterable of (i, j), optional
        Pairs to measure (default: every pair whose layers overlap, from the projection).

    Returns
    -------
    dict mapping (i, j) to an (N,) float64 array of residuals in px (points both cameras see).
    """
    by_index = {w.index: w for w in (warps or []) if w is not None}
    layers = plan_layers(rig, W)
    if pairs is None:
        from .projection import ProjectedLayer, coverage_weight, layer_maps

        stubs = []
        for lay in layers:
            _, _, ok = layer_maps(rig[lay.cam_index], lay)
            stubs.append(ProjectedLayer(lay.cam_index, lay.x0, lay.y0,
                                        np.zeros(lay.shape + (3,), np.uint8),
                                        coverage_weight(ok, 0.0), W))
        pairs = [(o.i, o.j) for o in find_overlaps(stubs)]
    out = {}
    for i, j in pairs:
        u, v = layers[i].grid()
        q = np.column_stack([u[::step_px, ::step_px].ravel(), v[::step_px, ::step_px].ravel()])
        p_i = q + by_index[i].displacement(q) if i in by_index else q
        p_j, ok = true_correspondence(truth, rig, i, j, p_i, W)
        # Content the (mis)calibration puts outside camera j's layer (or so close to its edge
        # that the warp's inverse steps off it) is not on its warp grid.
        lj = layers[j]
        e = 0.0 if j not in by_index else math.ceil(by_index[j].max_displacement_px) + 2.0
        if lj.width < W:
            with np.errstate(invalid="ignore"):
                cu = np.mod(p_j[:, 0] - lj.x0, W)
                ok &= (cu >= e) & (cu < lj.width - e)
        with np.errstate(invalid="ignore"):
            ok &= (p_j[:, 1] >= lj.y0 + e) & (p_j[:, 1] < lj.y0 + lj.height - e)
        q_j = by_index[j].inverse(p_j[ok]) if j in by_index else p_j[ok]
        d = q_j - q[ok]
        d[:, 0] = np.mod(d[:, 0] + W / 2, W) - W / 2
        out[(i, j)] = np.linalg.norm(d, axis=1)
    return out
