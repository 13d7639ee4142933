"""Ground truth of a generated dual-fisheye clip: what every lens pixel saw, where every direction
should come from, and how far a stitch is from it.

``DualFisheyeClipTruth.load(truth_npz)`` reads a clip's truth (``generate_clip(...,
projection="dual-fisheye")``; fields in docs/formats.md). Geometry (``sensors.synthetic.
dual_fisheye``): lens ``k``'s pixel ``p`` in frame ``i`` is captured at its row's time ``t``
(``row_time_s``); its ray leaves the lens centre ``R(t) c_k`` along ``R(t) R_rig_from_lens_k
unproject_k(p)`` (``R = R_world_from_cam``, the rig) and meets the scene at a point ``X``. The
*true direction* of the pixel is ``X / |X|``: the direction of that point from the rig centre,
which is where a perfect stitch (a panorama seen from the rig centre) shows it. Since the scene
is painted with the panorama as seen from the rig centre, the ideal stitched frame of a virtual
orientation ``R_v`` is exactly ``render.render_equirect_frame(pano, size, R_v)`` (no rolling
shutter, no parallax left).

Measures (all in panorama px at the equator, ``W / 2 pi`` per radian, W the output width):

- ``seam_errors_px``: for an equirect output whose pixels were sampled from given source pixels
  of each lens (remap maps), over the overlap ring (output pixels both lenses contribute to):
  each lens's *position error* (the angle between the direction the output pixel stands for,
  ``R_v E^-1(p)``, and the true direction of the source pixel it took), and the *seam residual*
  between the lenses (the angle between the true directions of the two source pixels: what
  shows as a doubled or broken edge when the two are blended).
- Stabilization jitter: ``stabilize.metrics.band_jitter_px`` at ``band_times_s`` (the truth's
  ``band_quat`` rows are sensor rows of both lenses, so the equirect measure applies as is).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..equirect import equirect_to_dirs
from ..errors import InputError
from ..fisheye import FisheyeLens, pixels_to_rays, rays_to_pixels
from ..quaternion import qto_matrix
from ..rolling_shutter import row_time_s
from ..types import Orientation
from .dual_fisheye import DUAL_FISHEYE, DualFisheyeCalibration, DualFisheyeScene

__all__ = ["DualFisheyeClipTruth", "SeamErrors", "seam_errors_px"]


@dataclass(frozen=True, eq=False)
class DualFisheyeClipTruth:
    """A dual-fisheye clip's truth: calibration, scene, frame times and the true orientation.

    Parameters
    ----------
    calibration : DualFisheyeCalibration
    scene : DualFisheyeScene
    frame_t_s : (F,) float
        Frame times on the video clock (centre of exposure of the middle row).
    readout_s : float
        Top-to-bottom readout of each lens's sensor.
    orientation : Orientation
        True ``R_world_from_cam`` of the rig on the video clock (the truth's dense path).
    band_rows : (B,) float
        Rows of the truth's ``band_quat``.
    """

    calibration: DualFisheyeCalibration
    scene: DualFisheyeScene
    frame_t_s: np.ndarray
    readout_s: float
    orientation: Orientation
    band_rows: np.ndarray

    @classmethod
    def load(cls, truth_npz: str | os.PathLike) -> DualFisheyeClipTruth:
        """Read ``<name>.truth.npz`` and the ``.truth.json`` beside it.

        Examples
        --------
        >>> import tempfile
        >>> from sensors.synthetic import generate_clip
        >>> clip = generate_clip(tempfile.mkdtemp(), kind="pan", width=128, height=64,
        ...                      duration_s=0.2, projection="dual-fisheye", audio=False)
        >>> truth = DualFisheyeClipTruth.load(clip.truth_npz)
        >>> truth.calibration.size, round(truth.readout_s, 3)
        ((128, 64), 0.02)
        """
        p = Path(truth_npz)
        js = p.with_name(p.name[: -len(".npz")] + ".json")
        try:
            summary = json.loads(js.read_text())
            with np.load(p) as d:
                arrays = {k: d[k] for k in d.files}
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the truth: {exc}", str(p)) from None
        if summary.get("projection") != DUAL_FISHEYE or "df_f_px" not in arrays:
            raise InputError("not the truth of a dual-fisheye clip", str(p))
        size = (int(summary["width"]), int(summary["height"]))
        lenses = tuple(FisheyeLens(float(arrays["df_f_px"][k]), float(arrays["df_cx_px"][k]),
                                   float(arrays["df_cy_px"][k]), float(arrays["df_k1"][k]),
                                   float(arrays["df_fov_rad"][k])) for k in range(2))
        calib = DualFisheyeCalibration(
            lenses, arrays["df_R_rig_from_lens"][1], arrays["df_centre_m"], size,
            summary["dual_fisheye"]["layout"], tuple(map(float, arrays["df_gain"])),
            float(arrays["df_rim_px"]))
        ground = float(arrays["scene_ground_m"])
        scene = DualFisheyeScene(float(arrays["scene_radius_m"]),
                                 None if math.isnan(ground) else ground)
        return cls(calib, scene, arrays["frame_t_s"], float(summary["readout_s"]),
                   Orientation(arrays["path_t_s"], arrays["path_quat"], str(p)),
                   arrays["band_rows"])

    @property
    def band_times_s(self) -> np.ndarray:
        """(F, B) capture times of the truth's band rows (of both lenses) in every frame."""
        h = self.calibration.size[1]
        return row_time_s(self.frame_t_s[:, None], self.band_rows[None, :], h, self.readout_s)

    def _row_table(self, frame: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whole rows spanning ``rows`` and their exact ``R_world_from_cam`` (n, 3, 3)."""
        h = self.calibration.size[1]
        lo = math.floor(float(np.min(rows))) if rows.size else 0
        hi = math.floor(float(np.max(rows))) + 2 if rows.size else 1
        whole = np.arange(lo, hi, dtype=np.float64)
        t = row_time_s(float(self.frame_t_s[frame]), whole, h, self.readout_s)
        return whole, qto_matrix(self.orientation.at(t))

    def row_matrices(self, frame: int, rows: np.ndarray) -> np.ndarray:
        """True ``R_world_from_cam`` (..., 3, 3) of (fractional) ``rows`` of frame ``frame``.

        Exact at whole rows and interpolated linearly between (a row turns the rig by
        ``rate x readout / H``, ~1e-4 rad, so the error is ~1e-9 rad).
        """
        r = np.asarray(rows, np.float64)
        whole, table = self._row_table(frame, r)
        out = np.empty(r.shape + (3, 3))
        for i in range(3):
            for j in range(3):
                out[..., i, j] = np.interp(r, whole, table[:, i, j])
        return out

    def _rotate(self, frame: int, rows: np.ndarray, v: np.ndarray, inverse: bool = False
                ) -> np.ndarray:
        """``R(row) v`` (or ``R(row)^T v``) per point without forming the matrices."""
        whole, table = self._row_table(frame, rows)
        if inverse:
            table = np.swapaxes(table, 1, 2)
        out = np.zeros(np.broadcast_shapes(rows.shape, v.shape[:-1]) + (3,))
        for i in range(3):
            for j in range(3):
                out[..., i] += np.interp(rows, whole, table[:, i, j]) * v[..., j]
        return out

    def pixel_rays(self, frame: int, lens: int, px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World origins and unit directions (..., 3) of lens ``lens``'s pixels ``px`` (..., 2)
        (full-frame coordinates, pixel centres at integers) in frame ``frame``."""
        px = np.asarray(px, dtype=np.float64)
        c = self.calibration
        L = c.lenses[lens]
        rig = pixels_to_rays(px, L.f_px, L.cx_px, L.cy_px, L.k1) @ c.rotations()[lens].T
        origin = self._rotate(frame, px[..., 1], np.asarray(c.centres_m[lens], np.float64))
        return origin, self._rotate(frame, px[..., 1], rig)

    def pixel_points(self, frame: int, lens: int, px: np.ndarray) -> np.ndarray:
        """World scene points (..., 3), metres, that lens ``lens``'s pixels ``px`` saw."""
        return self.scene.hit(*self.pixel_rays(frame, lens, px))

    def pixel_directions(self, frame: int, lens: int, px: np.ndarray) -> np.ndarray:
        """True world directions (..., 3) of lens pixels: where a perfect stitch puts them."""
        X = self.pixel_points(frame, lens, px)
        return X / np.linalg.norm(X, axis=-1, keepdims=True)

    def point_pixels(self, frame: int, lens: int, points_m: np.ndarray, iterations: int = 6
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Where lens ``lens`` shows world points (..., 3) in frame ``frame``.

        The row a point lands on sets the time it is captured at, which sets the row: solved by
        fixed-point iteration (it contracts by ``readout x rate x f / H``, far below 1).

        Returns
        -------
        px : (..., 2) float64
            Full-frame pixel coordinates.
        seen : (...) bool
            Inside the lens's usable disc (inside the dark rim) and in the frame.
        """
        X = np.asarray(points_m, dtype=np.float64)
        c = self.calibration
        L = c.lenses[lens]
        R_lens = c.rotations()[lens]
        centre = np.asarray(c.centres_m[lens], np.float64)
        w, h = c.size
        rows = np.full(X.shape[:-1], (h - 1) / 2.0)
        for _ in range(int(iterations)):
            x_rig = self._rotate(frame, np.clip(rows, -0.5, h - 0.5), X, inverse=True) - centre
            px, th = rays_to_pixels(x_rig @ R_lens, L.f_px, L.cx_px, L.cy_px, L.k1)
            rows = px[..., 1]
        x0 = c.boxes()[lens][0]
        seen = ((th <= c.usable_fov_rad(lens)) & (px[..., 0] >= x0 - 0.5)
                & (px[..., 0] <= x0 + w // 2 - 0.5) & (px[..., 1] >= -0.5)
                & (px[..., 1] <= h - 0.5))
        return px, seen

    def direction_pixels(self, frame: int, lens: int, dirs: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
        """Where lens ``lens`` shows the scene in world directions ``dirs`` (..., 3) from the rig
        centre (``point_pixels`` of the scene points there)."""
        d = np.asarray(dirs, dtype=np.float64)
        return self.point_pixels(frame, lens, self.scene.hit(np.zeros(3), d))

    def equirect_source_maps(self, frame: int, size: tuple[int, int],
                             R_world_from_virtual: np.ndarray
                             ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Where every pixel of an equirect output should come from, per lens.

        Parameters
        ----------
        frame : int
        size : (w, h)
            Output size (w = 2 h); pixel ``(x, y)`` stands for the virtual-camera direction
            ``E^-1(x + 0.5, y + 0.5)`` (docs/architecture.md "Panorama").
        R_world_from_virtual : (3, 3)
            The output's orientation in the truth's world.

        Returns
        -------
        list of two (mapx, mapy) float32 (h, w): full-frame source pixels of the front and the
        back lens (``cv2.remap`` maps of the dual-fisheye frame; NaN where the lens does not see
        the direction). With these maps a stitch is perfect: ``seam_errors_px`` gives 0.
        """
        w, h = int(size[0]), int(size[1])
        X, Y = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
        dirs = equirect_to_dirs(np.stack([X, Y], axis=-1), w) @ np.asarray(
            R_world_from_virtual, np.float64).T
        c = self.calibration
        # Only directions near a lens's field of view can land in it (rolling shutter and
        # parallax move them by far less than the 3-degree margin).
        axes = self.row_matrices(frame, (h - 1) / 2.0) @ np.stack(c.rotations())[:, :, 2].T
        out = []
        for k in range(2):
            near = dirs @ axes[:, k] >= math.cos(min(c.usable_fov_rad(k) + math.radians(3.0),
                                                     math.pi))
            px = np.full((h, w, 2), np.nan)
            sub, seen = self.direction_pixels(frame, k, dirs[near])
            sub[~seen] = np.nan
            px[near] = sub
            out.append((px[..., 0].astype(np.float32), px[..., 1].astype(np.float32)))
        return out


@dataclass(frozen=True)
class SeamErrors:
    """Position errors of a stitched equirect frame over its overlap ring (``seam_errors_px``).

    Parameters
    ----------
    lens_px : (ndarray, ndarray)
        Per lens (front, back), per overlap pixel: angle between the direction the output pixel
        stands for and the true direction of the source pixel the lens gave it, px.
    between_px : ndarray
        Per overlap pixel: angle between the true directions of the two lenses' source pixels
        (the visible seam residual; independent of the output's orientation), px.
    """

    lens_px: tuple[np.ndarray, np.ndarray]
    between_px: np.ndarray

    def summary(self) -> dict:
        """``{"front"|"back"|"between": {"n", "median_px", "p90_px"}}``."""
        out = {}
        for name, e in (("front", self.lens_px[0]), ("back", self.lens_px[1]),
                        ("between", self.between_px)):
            ok = e.size > 0
            out[name] = {"n": int(e.size),
                         "median_px": float(np.median(e)) if ok else None,
                         "p90_px": float(np.percentile(e, 90)) if ok else None}
        return out


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.einsum("...k,...k->...", a, b))


def seam_errors_px(truth: DualFisheyeClipTruth, frame: int,
                   maps: list[tuple[np.ndarray, np.ndarray]],
                   R_world_from_virtual: np.ndarray, step_px: int = 1) -> SeamErrors:
    """True position errors of a stitched equirect frame along the lenses' overlap ring.

    Parameters
    ----------
    truth : DualFisheyeClipTruth
    frame : int
        The source frame the output frame was stitched from.
    maps : list of two (mapx, mapy), each (h, w)
        For the front and the back lens, the full-frame dual-fisheye pixel each output pixel
        took from that lens (NaN, or outside the lens's disc, where the lens contributes
        nothing): ``cv2.remap`` maps as a stitcher renders them, warps included.
    R_world_from_virtual : (3, 3)
        The output's orientation in the truth's world (a gyro-integrated world differs from it
        by a constant rotation: align it first, e.g. by the mean of ``q_true q_est^-1``).
    step_px : int
        Measure every ``step_px``-th output row and column.

    Returns
    -------
    SeamErrors over the output pixels both lenses contribute to, in px at the equator of the
    output (``w / 2 pi`` per radian).

    Examples
    --------
    >>> import tempfile
    >>> from sensors.synthetic import generate_clip
    >>> clip = generate_clip(tempfile.mkdtemp(), kind="walk", width=128, height=64,
    ...                      duration_s=0.2, projection="dual-fisheye", audio=False)
    >>> truth = DualFisheyeClipTruth.load(clip.truth_npz)
    >>> R_v = truth.row_matrices(0, 31.5)
    >>> maps = truth.equirect_source_maps(0, (128, 64), R_v)
    >>> s = seam_errors_px(truth, 0, maps, R_v).summary()
    >>> s["between"]["p90_px"] < 1e-3 and s["front"]["n"] > 0
    True
    """
    (mx0, my0), (mx1, my1) = (tuple(np.asarray(m, np.float64)[::step_px, ::step_px] for m in mp)
                              for mp in maps)
    h, w = np.asarray(maps[0][0]).shape
    if mx0.shape != mx1.shape or w != 2 * h:
        raise InputError(f"seam maps must be two pairs of (h, 2h) arrays, got {w}x{h}")
    c = truth.calibration
    ok = np.isfinite(mx0) & np.isfinite(my0) & np.isfinite(mx1) & np.isfinite(my1)
    dirs = []
    for k, (mx, my) in enumerate(((mx0, my0), (mx1, my1))):
        L = c.lenses[k]
        r = np.hypot(np.where(ok, mx, L.cx_px) - L.cx_px, np.where(ok, my, L.cy_px) - L.cy_px)
        ok &= r <= L.radius_px(c.usable_fov_rad(k))
    Y, X = np.nonzero(ok)
    uv = np.stack([X * step_px + 0.5, Y * step_px + 0.5], axis=-1)
    want = equirect_to_dirs(uv, w) @ np.asarray(R_world_from_virtual, np.float64).T
    scale = w / (2 * np.pi)
    errs = []
    for k, (mx, my) in enumerate(((mx0, my0), (mx1, my1))):
        d = truth.pixel_directions(frame, k, np.stack([mx[ok], my[ok]], axis=-1))
        dirs.append(d)
        errs.append(_angle(want, d) * scale)
    return SeamErrors((errs[0], errs[1]), _angle(dirs[0], dirs[1]) * scale)
