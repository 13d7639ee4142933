"""The JSON sidecar of a stabilization run: per-frame real and virtual orientation and zoom."""

from __future__ import annotations

import json
import os

import numpy as np

from sensors.atomic import atomic_output

from .filters import FilterContext
from .motion import MotionTrack
from .params import StabilizeParams

__all__ = ["sidecar_dict", "write_sidecar", "result_summary"]


def _jsonable(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    return v


def sidecar_dict(motion: MotionTrack, ctx: FilterContext, params: StabilizeParams,
                 frame_range: tuple[int, int], extra: dict | None = None, *,
                 sources: np.ndarray | None = None, bias_source: str | None = None) -> dict:
    """JSON-ready record of a run.

    Frames outside ``frame_range`` were passed through unchanged and have ``"stabilized":
    false`` and no virtual orientation. ``sources`` names per frame what moved the camera
    (``gyro``, ``video``, ``none``: drawn uncorrected) as ``"motion_source"``.
    """
    cam = motion.camera
    i0, i1 = frame_range
    frames = []
    for i in range(len(motion)):
        rec = {"index": i, "t_s": float(motion.frame_t_s[i]),
               "real_quat_xyzw": [round(float(x), 9) for x in motion.frame_quat[i]],
               "stabilized": bool(i0 <= i < i1)}
        if sources is not None:
            rec["motion_source"] = str(sources[i])
        if i0 <= i < i1:
            k = i - i0
            rec["virtual_quat_xyzw"] = [round(float(x), 9) for x in ctx.virtual_quat[k]]
            rec["zoom"] = round(float(ctx.zoom[k]), 6)
            for name, values in ctx.extras.items():
                rec[name] = _jsonable(values[k])
        frames.append(rec)
    d = {
        "format": "steadyrig-stabilize-sidecar",
        "version": 1,
        "params": params.as_dict(),
        "params_checksum": params.checksum(),
        "sync_offset_s": motion.offset_s,
        "readout_s": motion.readout_s,
        "readout_direction": motion.readout_direction,
        "gyro_bias_rad_s": motion.bias_rad_s.tolist(),
        "gyro_bias_source": bias_source,
        "motion_sources": None if sources is None else {
            k: int(np.sum(sources == k)) for k in ("gyro", "video", "none")},
        "camera": {"K": cam.K.tolist(), "dist": cam.dist.tolist(), "model": cam.model,
                   "size": list(cam.size), "source": cam.source,
                   "profile": None if cam.meta.get("assumed") else cam.meta.get("name"),
                   "database_key": cam.meta.get("database_key"),
                   "chosen_from_database": bool(cam.meta.get("chosen_from_database")),
                   "assumed": cam.meta.get("assumed")},
        "conventions": "quaternions scalar-last (x, y, z, w), R_world_from_cam, OpenCV camera "
                       "axes; t_video = t_log - sync_offset_s (docs/architecture.md)",
        "notes": list(motion.notes) + list(ctx.notes),
        "frames": frames,
    }
    if extra:
        d.update({k: _jsonable(v) for k, v in extra.items()})
    return d


def write_sidecar(path: str | os.PathLike, record: dict) -> None:
    """Write the sidecar JSON atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(record, indent=1))


def result_summary(res) -> dict:
    """The sidecar's figures of a run (a ``StabilizeResult``) in a few numbers: frames, the
    stabilized range, offset, readout, zoom range and notes (a batch result line, ``--json``)."""
    i0, i1 = res.stabilized_frames
    zoom = res.zoom
    return {"n_frames": int(res.n_frames), "stabilized_frames": [int(i0), int(i1)],
            "offset_ms": round(float(res.offset_s) * 1e3, 3),
            "readout_ms": round(float(res.readout_s) * 1e3, 3),
            "zoom_range": ([round(float(zoom.min()), 4), round(float(zoom.max()), 4)]
                           if zoom.size else None),
            "lens_assumed": bool(res.camera.meta.get("assumed")),
            "motion_sources": (None if res.motion_source is None else {
                k: int((res.motion_source == k).sum()) for k in ("gyro", "video", "none")}),
            "notes": list(res.notes)}
