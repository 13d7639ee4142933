"""What a sensor log or a video holds, as a JSON-friendly dict (``steadyrig inspect``).

Keys: ``path, kind ('log' | 'video'), format, camera, duration_s, gyro_rate_hz, samples, gaps,
readout_ms, readout_direction, exposure_ms, accel, same_clock_as_video, imu_orientation, ois,
frames, in_camera_stabilization, in_camera_stabilization_setting, lens_mode, lens_mode_name,
orientation_quaternions, telemetry_reader, lens_profile, lens_profile_reason, video, coverage,
telemetry_error, damage, warnings``.
Values are None when unknown: ``in_camera_stabilization`` is true/false when the camera says
whether it stabilized the image (GoPro ``EISE``/``EISA``), null when it does not say;
``in_camera_stabilization_setting`` is its raw setting (e.g. ``HS EIS``); ``lens_mode`` the
camera's field-of-view code (GoPro ``VFOV``, e.g. ``W``) and ``lens_mode_name`` its name;
``orientation_quaternions`` the counts of per-frame camera/image orientation quaternions (GoPro
``CORI``/``IORI``). Besides GoPro's own keys, ``in_camera_stabilization`` reads the stabilization
tags telemetry-parser exposes for other makes (``sensors.in_camera``).

For a video, ``lens_profile`` is the bundled database's profile for the camera the file names
(``sensors.lens_db.for_clip``: ``name`` the profile's own name, ``key`` its database key,
``score`` out of 100, ``reason``), the one ``steadyrig stabilize`` takes when given no lens;
null when none is chosen, with ``lens_profile_reason`` saying why.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .damage import damage_note, scan_video
from .errors import InputError
from .in_camera import in_camera_state
from .readers import FORMATS, detect_format, read_log
from .readers.telemetry import VIDEO_EXTENSIONS
from .types import SensorLog
from .video import check_coverage, probe_video

__all__ = ["inspect_path", "format_report", "plot_gyro", "SIDECAR_EXTENSIONS"]

#: Extensions of sensor logs that often sit beside a video with the same stem.
SIDECAR_EXTENSIONS = (".gcsv", ".bbl", ".bfl", ".csv", ".txt", ".log")


def _log_fields(log: SensorLog) -> dict:
    g = log.gyro
    gaps = g.gaps()
    exp = log.exposure_s
    return {
        "format": log.format,
        "camera": log.camera,
        "duration_s": g.duration_s,
        "t0_s": float(g.t_s[0]),
        "gyro_rate_hz": g.rate_hz,
        "samples": len(g),
        "gaps": [[a, b] for a, b in gaps],
        "readout_ms": None if log.readout_s is None else log.readout_s * 1000.0,
        "readout_direction": log.readout_direction if log.readout_s is not None else None,
        "exposure_ms": None if exp is None or exp.size == 0 else float(np.median(exp)) * 1000.0,
        "exposure_frames": None if exp is None else int(exp.size),
        "accel": g.accel_m_s2 is not None,
        "same_clock_as_video": log.same_clock_as_video,
        "imu_orientation": log.imu_orientation,
        "ois": None if log.ois is None else {
            "samples": len(log.ois.t_s), "focus": log.ois.focus is not None,
            "max_shift_px": float(np.abs(log.ois.shift_px).max())},
        "frames": None if log.frames is None else {
            "count": len(log.frames), "readout_ms": log.frames.readout_s * 1000.0},
        **_camera_fields(log),
    }


def _camera_fields(log: SensorLog) -> dict:
    """What the camera says about its own processing (all None when the log does not say)."""
    cm = log.camera_meta
    state = in_camera_state(log)
    if cm is None:
        return {"in_camera_stabilization": state.applied,
                "in_camera_stabilization_setting": state.setting,
                "lens_mode": None, "lens_mode_name": None, "orientation_quaternions": None,
                "telemetry_reader": log.meta.get("parser")}
    cori, iori = cm.camera_orientation, cm.image_orientation
    return {
        "in_camera_stabilization": state.applied,
        "in_camera_stabilization_setting": state.setting,
        "lens_mode": cm.lens_mode,
        "lens_mode_name": cm.lens_mode_name,
        "orientation_quaternions": None if cori is None and iori is None else {
            "camera": None if cori is None else len(cori),
            "image": None if iori is None else len(iori)},
        "telemetry_reader": log.meta.get("parser"),
    }


def _empty_log_fields() -> dict:
    keys = ("format", "camera", "duration_s", "t0_s", "gyro_rate_hz", "samples", "gaps",
            "readout_ms", "readout_direction", "exposure_ms", "exposure_frames", "accel",
            "same_clock_as_video", "imu_orientation", "ois", "frames", "in_camera_stabilization",
            "in_camera_stabilization_setting", "lens_mode", "lens_mode_name",
            "orientation_quaternions", "telemetry_reader")
    return dict.fromkeys(keys)


def _lens_fields(log: SensorLog | None, video, path: Path) -> dict:
    """``lens_profile`` and ``lens_profile_reason`` of a video (module docstring)."""
    from .lens_db.for_clip import clip_facts, lens_profile_report, match_clip

    facts = clip_facts(log, video, path)
    if not facts.model:
        return {"lens_profile": None,
                "lens_profile_reason": "no camera model in the file's telemetry or tags"}
    m = match_clip(facts)
    return {"lens_profile": lens_profile_report(m),
            "lens_profile_reason": None if m.found else m.reason}


def _is_video(path: Path) -> bool:
    if path.is_dir():
        return False
    with open(path, "rb") as f:
        head = f.read(12)
    return path.suffix.lower() in VIDEO_EXTENSIONS or (len(head) >= 8 and head[4:8] == b"ftyp")


def inspect_path(path: str | os.PathLike, format: str | None = None) -> tuple[dict,
                                                                               SensorLog | None]:
    """Inspect a log file, a phone-layout folder or a video.

    Parameters
    ----------
    path : path-like
    format : str, optional
        Force a reader from ``sensors.readers.FORMATS``.

    Returns
    -------
    report : dict
        See the module docstring.
    log : SensorLog or None
        The log read (None for a video without telemetry), e.g. for plotting.

    Raises
    ------
    InputError
        Anything unreadable.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", str(p))
    if format is not None and format not in FORMATS:
        raise InputError(f"unknown log format {format!r}; valid: " + ", ".join(FORMATS), str(p))
    report: dict = {"path": str(p), "kind": "log", "video": None, "coverage": None,
                    "damage": None, "telemetry_error": None, "lens_profile": None,
                    "lens_profile_reason": "a sensor log, not a video", "warnings": []}
    log = None
    fmt = format or detect_format(p)
    if fmt == "telemetry" and _is_video(p):
        video = probe_video(p)
        report["kind"] = "video"
        report["video"] = video.as_dict()
        damage = scan_video(p, video)  # a demux + decode pass (sensors.damage)
        report["damage"] = damage.as_list()
        if damage.damaged:
            report["warnings"].append(damage_note(damage.ranges(), damage.n_rejected,
                                                  damage.read_error))
        try:
            log = read_log(p, "telemetry")
        except InputError as exc:
            report["telemetry_error"] = exc.reason
        if log is not None:
            report.update(_log_fields(log))
            cov = check_coverage(log.gyro.t_s, video.frame_t_s, str(p))
            report["coverage"] = cov.as_dict()
            if cov.warning():
                report["warnings"].append(cov.warning())
            if log.exposure_s is not None and log.exposure_s.size not in (0, video.n_frames):
                report["warnings"].append(
                    f"{log.exposure_s.size} exposure values for {video.n_frames} frames")
        else:
            report.update(_empty_log_fields())
            report["format"] = "video"
            side = sorted(q.name for q in p.parent.glob(p.stem + ".*")
                          if q.name != p.name and q.suffix.lower() in SIDECAR_EXTENSIONS)
            side += sorted(q.name + "/" for q in p.parent.glob(p.stem + "_phone") if q.is_dir())
            report["sidecars"] = side
            if side:
                report["warnings"].append("no embedded gyro; sensor logs beside it (inspect "
                                          "them directly): " + ", ".join(side))
        report.update(_lens_fields(log, video, p))
    else:
        log = read_log(p, fmt)
        report.update(_log_fields(log))
    if report.get("gaps"):
        report["warnings"].append(f"{len(report['gaps'])} gap(s) in the gyro log longer than "
                                  "3 sample periods")
    return report, log


def _fmt(v, unit="", digits=3) -> str:
    if v is None:
        return "unknown"
    if isinstance(v, float):
        return f"{v:.{digits}f}{unit}"
    return f"{v}{unit}"


def _stab_text(r: dict) -> str:
    on = r.get("in_camera_stabilization")
    text = "unknown" if on is None else ("yes" if on else "no")
    setting = r.get("in_camera_stabilization_setting")
    return text + (f" (setting {setting})" if setting else "")


def format_report(r: dict) -> str:
    """Human-readable lines of an ``inspect_path`` report."""
    lines = [f"file:           {r['path']}", f"format:         {r['format']}"]
    v = r.get("video")
    if v:
        lines += [
            f"video:          {v['width']}x{v['height']} {v['fps']:.3f} fps ({v['fps_fraction']}),"
            f" {v['n_frames']} frames, {v['duration_s']:.3f} s, {v['codec']} {v['pix_fmt']}",
            f"                rotation {v['rotation_deg']} deg, audio "
            f"{'yes' if v['has_audio'] else 'no'}",
        ]
        if r.get("damage") is not None:  # the stretches decoding found damaged
            lines.append("damage:         " + (", ".join(
                f"{d['start_s']:.2f}-{d['end_s']:.2f} s ({d['frames']} frames, {d['kind']})"
                for d in r["damage"]) or "none found by a full decode"))
    if r.get("samples") is None:
        lines.append(f"gyro:           none ({r.get('telemetry_error') or 'no telemetry'})")
    else:
        lines += [
            f"camera:         {r['camera'] or 'unknown'}",
            f"duration_s:     {_fmt(r['duration_s'])} (log clock starts at {_fmt(r['t0_s'])} s)",
            f"gyro_rate_hz:   {_fmt(r['gyro_rate_hz'], digits=2)}",
            f"samples:        {r['samples']}",
            f"gaps:           {len(r['gaps'])}",
            f"readout_ms:     {_fmt(r['readout_ms'])}",
            f"exposure_ms:    {_fmt(r['exposure_ms'])}"
            + (f" (median of {r['exposure_frames']} frames)" if r["exposure_frames"] else ""),
            f"accel:          {'yes' if r['accel'] else 'no'}",
            "video clock:    "
            + ("yes (embedded)" if r["same_clock_as_video"] else "no (needs sync)"),
        ]
        if r.get("imu_orientation"):
            lines.append(f"imu axes:       {r['imu_orientation']}")
        if r.get("ois"):
            lines.append(f"ois:            {r['ois']['samples']} samples, focus "
                         f"{'yes' if r['ois']['focus'] else 'no'}")
        if r.get("frames"):
            lines.append(f"frames:         {r['frames']['count']}")
        if r.get("telemetry_reader") == "gpmf" or r.get("in_camera_stabilization") is not None:
            lines.append(f"in-camera stab: {_stab_text(r)}")
        if r.get("lens_mode"):
            name = r.get("lens_mode_name")
            lines.append(f"lens mode:      {r['lens_mode']}" + (f" ({name})" if name else ""))
        q = r.get("orientation_quaternions")
        if q:
            lines.append(f"orientation:    {q['camera'] or 0} camera (CORI), {q['image'] or 0} "
                         "image (IORI) quaternions")
    if r.get("kind") == "video":
        lp = r.get("lens_profile")
        lines.append("lens profile:   " + (f"{lp['name']} (score {lp['score']:g}/100)" if lp
                                           else f"none ({r.get('lens_profile_reason')})"))
    c = r.get("coverage")
    if c:
        lines.append(f"coverage:       {100 * c['fraction']:.1f}% of frames "
                     f"({c['n_covered']}/{c['n_frames']})")
    for w in r.get("warnings", []):
        lines.append(f"warning:        {w}")
    return "\n".join(lines)


def plot_gyro(log: SensorLog, out_png: str | os.PathLike) -> Path:
    """Write a PNG of the gyro rates (deg/s, camera axes) over time, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    g = log.gyro
    fig = Figure(figsize=(10, 4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for k, name in enumerate(("x (right)", "y (down)", "z (forward)")):
        ax.plot(g.t_s, np.rad2deg(g.omega_rad_s[:, k]), lw=0.7, label=f"omega {name}")
    ax.set_xlabel("time on the log clock (s)")
    ax.set_ylabel("angular rate (deg/s)")
    ax.set_title(f"{Path(log.path).name}: {log.format}, {g.rate_hz:.1f} Hz")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    with atomic_output(out_png) as tmp:
        fig.savefig(tmp, format="png")
    return Path(out_png)
