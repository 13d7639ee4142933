"""Ground-truth generators: true camera paths, synthetic IMU logs, rolling-shutter renders.

``camera_path`` / ``camera_path_sequence`` give a true ``R_world_from_cam`` with exact body rates
and intent labels; ``synthesize_gyro`` samples a MEMS-like gyro along it; ``render_clip`` renders
rolling-shutter frames from an equirectangular photo; ``generate_clip`` writes a whole sample
(video, gcsv, phone log, lens profile, truth) in a flat, equirectangular or dual-fisheye
projection (``dual_fisheye``: two back-to-back lenses with a known calibration). Conventions:
docs/architecture.md.
"""

from .clip import CLIP_PROJECTIONS, GeneratedClip, default_camera, generate_clip
from .dual_fisheye import (
    DUAL_FISHEYE,
    DualFisheyeCalibration,
    DualFisheyeScene,
    render_dual_fisheye_clip,
    render_dual_fisheye_frame,
)
from .gyro import DEFAULT_BIAS_RAD_S, DEFAULT_NOISE_RAD_S, synthesize_gyro
from .paths import KINDS, LABELS, TruePath, camera_path, camera_path_sequence
from .render import (
    default_panorama_path,
    load_panorama,
    panorama_for_focal,
    render_clip,
    render_frame,
    synthesize_focus,
    synthesize_ois,
)

__all__ = [
    "CLIP_PROJECTIONS",
    "DUAL_FISHEYE",
    "DualFisheyeCalibration",
    "DualFisheyeScene",
    "GeneratedClip",
    "default_camera",
    "generate_clip",
    "DEFAULT_BIAS_RAD_S",
    "DEFAULT_NOISE_RAD_S",
    "KINDS",
    "LABELS",
    "TruePath",
    "camera_path",
    "camera_path_sequence",
    "default_panorama_path",
    "load_panorama",
    "panorama_for_focal",
    "render_clip",
    "render_dual_fisheye_clip",
    "render_dual_fisheye_frame",
    "render_frame",
    "synthesize_focus",
    "synthesize_gyro",
    "synthesize_ois",
]
