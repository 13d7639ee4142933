"""What the capture measured: time, gyro, OIS/focus, the image sensor and the lens; and how the
gyro's clock and axes line up with the video's (``sensors.sync``).

Conventions (time, axes, rotations, rolling shutter) are in docs/architecture.md.

The names below load their modules on first access (``sensors._lazy``).
"""

from __future__ import annotations

from sensors._lazy import lazy_exports

_WHERE = {
    "atomic_output": "atomic",
    "check_not_input": "atomic",
    "CoverageError": "errors",
    "InputError": "errors",
    "SolveError": "errors",
    "SteadyrigError": "errors",
    "load_lens_profile": "lens_profile",
    "write_lens_profile": "lens_profile",
    "estimate_bias": "orientation",
    "integrate_gyro": "orientation",
    "row_orientations": "orientation",
    "FORMATS": "readers",
    "detect_format": "readers",
    "read_log": "readers",
    "AxisMap": "readers.axes",
    "row_fraction": "rolling_shutter",
    "row_time_s": "rolling_shutter",
    "SyncResult": "sync",
    "sync_logs": "sync",
    "sync_samples_to_gyro": "sync",
    "sync_video_to_gyro": "sync",
    "write_sync_json": "sync",
    "CameraModel": "types",
    "FrameTiming": "types",
    "GyroLog": "types",
    "OisLog": "types",
    "Orientation": "types",
    "SensorLog": "types",
    "Coverage": "video",
    "VideoInfo": "video",
    "check_coverage": "video",
    "probe_video": "video",
}


__getattr__, __dir__, __all__ = lazy_exports(__name__, _WHERE)
