"""Ground-truth generators: true camera paths, synthetic IMU logs, rolling-shutter renders.

``camera_path`` / ``camera_path_sequence`` give a true ``R_world_from_cam`` with exact body rates
and intent labels; ``synthesize_gyro`` samples a MEMS-like gyro along it; ``render_clip`` renders
rolling-shutter frames from an equirectangular photo; ``generate_clip`` writes a whole sample
(video, gcsv, phone log, lens profile, truth). Conventions: docs/architecture.md.
"""

from .clip import GeneratedClip, default_camera, generate_clip
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
    "render_frame",
    "synthesize_focus",
    "synthesize_gyro",
    "synthesize_ois",
]
