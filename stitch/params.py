"""One frozen parameter object for a stitch job (docs/architecture.md "Data flow").

Every stage of ``stitch.pipeline`` reads what it needs from :class:`StitchParams`; its
:meth:`StitchParams.checksum` is a stable cache key (same values -> same key, on every machine).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace

from sensors.errors import InputError

__all__ = ["StitchParams", "EXPOSURE_CHOICES", "IMAGE_SUFFIXES", "REFINE_CHOICES"]

#: Exposure compensators by name (``cv2.detail.ExposureCompensator_*``).
EXPOSURE_CHOICES = ("none", "gain", "gain_blocks", "channels", "channels_blocks")

#: Calibration refinements by name (``StitchParams.refine_mode``, ``--refine``): ``none`` keeps
#: the rig file, ``rotations`` refines camera rotations, ``intrinsics`` rotations with focal
#: length, principal point and distortion, ``auto`` intrinsics when every camera's matches
#: support it, else rotations.
REFINE_CHOICES = ("auto", "none", "rotations", "intrinsics")

#: Panorama file types the renderer writes (each carries GPano XMP metadata).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


@dataclass(frozen=True)
class StitchParams:
    """Settings of one rosette stitch; every field has a unit or a meaning in its name.

    Parameters
    ----------
    width_px : int
        Panorama width W in pixels; the height is W / 2 (docs/architecture.md "Panorama").
    repair : bool
        Run overlap flow + spline warp solve (``--no-repair`` turns it off).
    refine : bool
        Refine the rig calibration from overlap correspondences before the spline stage
        (False = ``refine_mode="none"``).
    refine_mode : str
        One of ``REFINE_CHOICES``: what the refinement may change (see ``stitch.refine_stage``).
    refine_share_lens_groups : bool
        Cameras of one lens group (the rig file's ``group``) share one lens refinement.
    refine_fixed_camera : int
        Index of the camera whose rotation the refinement holds (the gauge).
    depth_m : float
        Scene distance of the projection, metres (``stitch.projection.with_scene_depth``): a
        rig with a baseline is projected onto a sphere of this radius, so the parallax of
        content near it is removed by geometry; inf = the scene at infinity.
    feather_px : float
        Width of the coverage ramp at a layer's edge (weights go 0 -> 1 over this distance).
    margin_px : int
        Extra panorama pixels added around each camera's footprint.
    blend_bands : int
        Number of bands of the multi-band blender (0 = feather-free hard seams).
    exposure : str
        One of ``EXPOSURE_CHOICES``.
    exposure_block_px : int
        Block size of the block-wise exposure compensators.
    jpeg_quality : int
        JPEG quality of the written panorama (1-100).
    flow_method : str
        Dense flow used in overlaps (read by ``stitch.flow``).
    flow_grid_px : int
        Spacing of the correspondence grid thinned from the dense flow.
    flow_fb_max_px : float
        Largest forward-backward flow disagreement kept.
    flow_min_eig : float
        Smallest structure-tensor eigenvalue kept (texture confidence).
    heldout_fraction : float
        Fraction of correspondences kept aside for the report (never used by the solve).
    spline_spacing_px : int
        Control-point spacing of the B-spline displacement grid, panorama pixels.
    smoothness_weight : float
        Weight of the spatial regularisation (second differences of control points).
    anchor_weight : float
        Weight of the weak prior pulling every control point to zero displacement.
    robust_scale_px : float
        Scale of the robust (Huber/Cauchy) loss on correspondence residuals.
    max_iterations : int
        Iteration limit of the Ceres solve.
    min_jacobian_det : float
        Smallest acceptable Jacobian determinant of a solved warp (below: a fold warning).
    seed : int
        Seed of every random choice (held-out split).
    """

    width_px: int = 3072
    repair: bool = True
    refine: bool = True
    refine_mode: str = "auto"
    refine_share_lens_groups: bool = False
    refine_fixed_camera: int = 0
    depth_m: float = math.inf
    feather_px: float = 8.0
    margin_px: int = 4
    blend_bands: int = 5
    exposure: str = "gain_blocks"
    exposure_block_px: int = 64
    jpeg_quality: int = 95
    flow_method: str = "dis"
    flow_grid_px: int = 8
    flow_fb_max_px: float = 0.5
    flow_min_eig: float = 1e-3
    heldout_fraction: float = 0.2
    spline_spacing_px: int = 32
    smoothness_weight: float = 0.1
    anchor_weight: float = 0.01
    robust_scale_px: float = 1.0
    max_iterations: int = 50
    min_jacobian_det: float = 0.8
    seed: int = 0

    def __post_init__(self) -> None:
        w = self.width_px
        if not isinstance(w, int) or w < 64 or w % 2:
            raise InputError(f"panorama width must be an even integer >= 64, got {w!r}")
        if self.exposure not in EXPOSURE_CHOICES:
            raise InputError(
                f"unknown exposure compensator {self.exposure!r}; valid: "
                + ", ".join(EXPOSURE_CHOICES)
            )
        if self.refine_mode not in REFINE_CHOICES:
            raise InputError(f"unknown refinement {self.refine_mode!r}; valid: "
                             + ", ".join(REFINE_CHOICES))
        if not (self.depth_m > 0):
            raise InputError(f"scene depth must be positive (inf: at infinity), got "
                             f"{self.depth_m}")
        if not 0 <= self.blend_bands <= 12:
            raise InputError(f"blend_bands must be in 0..12, got {self.blend_bands}")
        if self.feather_px < 0 or self.margin_px < 0:
            raise InputError("feather_px and margin_px must be >= 0")
        if not 0.0 <= self.heldout_fraction < 1.0:
            raise InputError(f"heldout_fraction must be in [0, 1), got {self.heldout_fraction}")
        if not 1 <= self.jpeg_quality <= 100:
            raise InputError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")

    @property
    def refine_effective(self) -> str:
        """The refinement that runs: ``refine_mode``, or ``"none"`` when ``refine`` is off."""
        return self.refine_mode if self.refine else "none"

    @property
    def height_px(self) -> int:
        """Panorama height H = W / 2."""
        return self.width_px // 2

    def checksum(self) -> str:
        """A stable hex digest of every field (a cache key for the job)."""
        blob = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def with_(self, **changes) -> StitchParams:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain dict of the fields (for reports)."""
        return asdict(self)
