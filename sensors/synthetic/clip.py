"""Write a whole generated sample: video, gyro log, phone log, lens profile and ground truth.

Clocks (docs/architecture.md "Time"): the true path starts ``still_lead_s`` before the video's
first frame (a logger starts before recording), the video clock is
``t_video = t_path - still_lead_s`` and the log clock is ``t_log = t_video + log_offset_s``. A
frame's time is the centre of exposure of its middle row; frame ``k`` has PTS ``k / fps``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..atomic import atomic_output
from ..equirect import equirect_camera
from ..errors import InputError
from ..fisheye_layout import LAYOUTS
from ..lens_profile import write_lens_profile
from ..progress import ProgressCallback
from ..rolling_shutter import row_time_s
from ..spherical import PROJECTIONS, write_spherical
from ..types import CameraModel, FrameTiming, GyroLog, OisLog
from ..writers import write_gcsv, write_phone_log, write_truth
from .dual_fisheye import (
    DUAL_FISHEYE,
    DualFisheyeCalibration,
    DualFisheyeScene,
    render_dual_fisheye_clip,
)
from .gyro import DEFAULT_BIAS_RAD_S, DEFAULT_NOISE_RAD_S, synthesize_gyro
from .paths import KINDS, LABELS, camera_path_sequence
from .render import (
    load_panorama,
    render_clip,
    render_equirect_clip,
    synthesize_focus,
    synthesize_ois,
)

__all__ = ["CLIP_PROJECTIONS", "GeneratedClip", "generate_clip", "default_camera"]

#: Projections ``generate_clip`` renders: a clip's projections and the dual-fisheye frame.
CLIP_PROJECTIONS = tuple(dict.fromkeys([*PROJECTIONS, DUAL_FISHEYE]))

#: Row bands stored per frame in the truth file (their centre rows are in ``band_rows``).
TRUTH_BANDS = 9


@dataclass(frozen=True)
class GeneratedClip:
    """Paths of a generated sample's files and its key truth values.

    ``phone_dir`` is None when neither OIS nor focus breathing was simulated; ``lens`` is None
    for an equirectangular or dual-fisheye clip (no lens profile: ``projection`` says how the
    frame maps to rays, and a dual-fisheye clip's truth holds its calibration).
    """

    name: str
    video: Path
    gcsv: Path
    lens: Path | None
    truth_npz: Path
    truth_json: Path
    phone_dir: Path | None
    kind: str
    seed: int
    offset_s: float
    readout_s: float
    n_frames: int
    projection: str = "flat"


def default_camera(width: int, height: int, hfov_deg: float = 80.0,
                   lens: str = "opencv_standard") -> CameraModel:
    """A mild wide lens: ``hfov_deg`` across the width, slight barrel distortion."""
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise InputError(f"frame size must be positive and even, got {width}x{height}")
    if not 10.0 <= hfov_deg <= 150.0:
        raise InputError(f"horizontal field of view must be 10-150 degrees, got {hfov_deg}")
    if lens == "opencv_fisheye":
        # Equidistant: the half-width sits at half the field of view.
        f = (width / 2) / np.radians(hfov_deg / 2)
        dist = np.array([0.02, -0.005, 0.0, 0.0])
    elif lens == "opencv_standard":
        f = (width / 2) / np.tan(np.radians(hfov_deg / 2))
        dist = np.array([-0.06, 0.012, 0.0, 0.0, 0.0])
    else:
        raise InputError(f"unknown lens model {lens!r}; valid: opencv_standard, opencv_fisheye")
    K = np.array([[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1.0]])
    return CameraModel(K, dist, lens, (width, height))


def dual_fisheye_arrays(calib: DualFisheyeCalibration, scene: DualFisheyeScene) -> dict:
    """The truth file's dual-fisheye arrays (``df_*``: per lens, front then back)."""
    lenses = calib.lenses
    return {
        "df_f_px": np.array([x.f_px for x in lenses]),
        "df_cx_px": np.array([x.cx_px for x in lenses]),
        "df_cy_px": np.array([x.cy_px for x in lenses]),
        "df_k1": np.array([x.k1 for x in lenses]),
        "df_fov_rad": np.array([x.fov_rad for x in lenses]),
        "df_R_rig_from_lens": np.stack(calib.rotations()),
        "df_centre_m": np.asarray(calib.centres_m, dtype=np.float64),
        "df_gain": np.asarray(calib.gains, dtype=np.float64),
        "df_rim_px": np.float64(calib.rim_px),
        "scene_radius_m": np.float64(scene.radius_m),
        "scene_ground_m": np.float64(np.nan if scene.ground_m is None else scene.ground_m),
    }


def _fps_fraction(fps: float) -> Fraction:
    fr = Fraction(fps).limit_denominator(1001)
    if abs(float(fr) - fps) > 1e-6 * fps:
        raise InputError(f"frame rate {fps} is not a simple fraction")
    return fr


def _encode(out_path: Path, frames, n_frames: int, size: tuple[int, int], fps: float,
            audio: bool, crf: int, spherical: bool = False) -> None:
    rate = _fps_fraction(fps)
    with atomic_output(out_path) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            vs = container.add_stream("libx264", rate=rate)
            vs.width, vs.height = size
            vs.pix_fmt = "yuv420p"
            vs.options = {"crf": str(crf), "preset": "veryfast"}
            # One tick per frame: PTS * time_base is exactly k / fps.
            vs.codec_context.time_base = 1 / rate
            astream = None
            if audio:
                astream = container.add_stream("aac", rate=48000)
                astream.layout = "mono"
            for k, img in enumerate(frames):
                vf = av.VideoFrame.from_ndarray(img, format="bgr24")
                vf.pts = k
                vf.time_base = 1 / rate
                for pkt in vs.encode(vf):
                    container.mux(pkt)
            for pkt in vs.encode():
                container.mux(pkt)
            if astream is not None:
                # A quiet 440 Hz tone so audio pass-through can be checked.
                n = int(round(n_frames / fps * 48000))
                t = np.arange(n) / 48000.0
                tone = (0.05 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
                for start in range(0, n, 1024):
                    chunk = tone[start:start + 1024][None, :]
                    af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                    af.sample_rate = 48000
                    af.pts = start
                    af.time_base = Fraction(1, 48000)
                    for pkt in astream.encode(af):
                        container.mux(pkt)
                for pkt in astream.encode():
                    container.mux(pkt)
        if spherical:  # players and sites show it as 360
            write_spherical(tmp)


def generate_clip(
    out_dir: str | os.PathLike,
    name: str | None = None,
    kind: str | list[tuple[str, float]] = "walk",
    seed: int = 0,
    width: int = 640,
    height: int = 360,
    fps: float = 30.0,
    duration_s: float = 4.0,
    readout_s: float = 0.02,
    exposure_s: float = 1.0 / 120.0,
    hfov_deg: float = 80.0,
    lens: str = "opencv_standard",
    gyro_rate_hz: float = 200.0,
    noise_rad_s: float = DEFAULT_NOISE_RAD_S,
    bias_rad_s: tuple[float, float, float] = DEFAULT_BIAS_RAD_S,
    gyro_jitter_s: float = 0.0,
    ois: bool = False,
    focus_breathing: bool = False,
    motion_blur: bool = False,
    log_offset_s: float = 0.0,
    still_lead_s: float = 2.0,
    tail_s: float = 0.5,
    axes: str = "yxz",
    audio: bool = True,
    crf: int = 16,
    grid_step: int = 4,
    progress: ProgressCallback | None = None,
    projection: str = "flat",
    dual_fisheye: DualFisheyeCalibration | None = None,
    scene: DualFisheyeScene | None = None,
    panorama: np.ndarray | None = None,
    layout: str = "side_by_side",
) -> GeneratedClip:
    """Render and write a complete ground-truth sample.

    Parameters
    ----------
    out_dir : path-like
        Destination folder (created if missing).
    name : str, optional
        File stem (default ``<kind>_s<seed>``).
    kind : str or list of (kind, duration_s)
        A path kind from ``KINDS`` (lasting ``duration_s``) or a sequence of kinds.
    seed : int
        Seed of the path, the sensor noise and the OIS/focus simulation.
    width, height, fps, duration_s : video size (even), frame rate and length.
    readout_s, exposure_s : rolling-shutter readout and exposure time, seconds.
    hfov_deg, lens : the lens (``default_camera``).
    gyro_rate_hz, noise_rad_s, bias_rad_s, gyro_jitter_s : the synthetic IMU
        (``synthesize_gyro``; jitter is the standard deviation of the sample times).
    ois, focus_breathing : simulate OIS lens shift / focal breathing (written to the phone log).
    motion_blur : average sub-exposure renders over ``exposure_s``.
    log_offset_s : the log clock reads ``t_video + log_offset_s``.
    still_lead_s, tail_s : log time before the first frame (camera at rest) and after the last.
    axes : gcsv ``orientation`` string of the raw columns.
    audio : add a quiet tone track.
    crf, grid_step : encoder quality and renderer ray-grid spacing.
    progress : callable, optional
        Called with a ``sensors.progress.Progress`` record (stage ``"render"``) after each
        rendered frame.
    projection : str
        ``flat`` (the lens above) or ``equirect``: a 360 camera's equirectangular frame
        (``width = 2 * height``; rows captured at their own times, the rolling-shutter model
        of ``stabilize.sphere_warp``), written with spherical video metadata and without a lens
        profile (no OIS, focus breathing or motion blur). The truth's ``K`` is then
        ``sensors.equirect.equirect_camera``'s (focal ``W / 2pi``: px per radian at the
        equator). ``dual-fisheye``: a 360 camera's two back-to-back fisheye lenses side by side
        (``width = 2 * height``, front lens left; ``sensors.synthetic.dual_fisheye`` describes
        the lenses, the scene at finite distance and the per-lens rolling shutter), without
        spherical metadata or lens profile (no OIS, focus breathing or motion blur); the truth
        holds the calibration, and its ``K`` / ``dist`` are the front lens's.
    dual_fisheye : DualFisheyeCalibration, optional
        The dual-fisheye camera (default ``DualFisheyeCalibration.random(seed + 3, (width,
        height))``); its size must be the frame's.
    scene : DualFisheyeScene, optional
        What a dual-fisheye clip sees (default ``DualFisheyeScene()``: a 4 m sphere, ground
        1.5 m below).
    panorama : (H, 2H, 3) uint8, optional
        The world's equirectangular photo (default ``load_panorama()``, the bundled one).
    layout : str
        A dual-fisheye clip's frame: ``side_by_side`` or ``stacked`` (``height = 2 * width``,
        front lens on top, ``sensors.fisheye_layout``); the calibration and the truth are those
        of the side-by-side arrangement (``width`` and ``height`` swapped).

    Returns
    -------
    GeneratedClip
    """
    parts = [(kind, float(duration_s))] if isinstance(kind, str) else [
        (k, float(d)) for k, d in kind]
    for k, _ in parts:
        if k not in KINDS:
            raise InputError(f"unknown camera path kind {k!r}; valid: " + ", ".join(KINDS))
    if not fps > 0:
        raise InputError(f"frame rate must be positive, got {fps}")
    if readout_s < 0 or readout_s >= 1.0 / fps:
        raise InputError(f"readout {readout_s} s must be >= 0 and shorter than a frame")
    if projection not in CLIP_PROJECTIONS:
        raise InputError(f"unknown projection {projection!r}; valid: "
                         + ", ".join(CLIP_PROJECTIONS))
    sphere = projection == "equirect"
    dual = projection == DUAL_FISHEYE
    if layout not in LAYOUTS or (layout == "stacked" and not dual):
        raise InputError(f"layout {layout!r} is for dual-fisheye clips, one of "
                         + ", ".join(LAYOUTS))
    file_size = (width, height)
    if layout == "stacked":
        if height != 2 * width:
            raise InputError(f"a stacked dual-fisheye clip is twice as high as wide, got "
                             f"{width}x{height}")
        width, height = height, width  # rendered side by side, stored stacked
    if (sphere or dual) and width != 2 * height:
        raise InputError(f"an {projection} clip is twice as wide as high, got {width}x{height}")
    if (sphere or dual) and (ois or focus_breathing or motion_blur):
        raise InputError("OIS, focus breathing and motion blur are simulated for flat clips only")
    if dual:
        dual_fisheye = dual_fisheye or DualFisheyeCalibration.random(seed + 3, (width, height))
        scene = scene or DualFisheyeScene()
        if tuple(dual_fisheye.size) != (width, height):
            raise InputError(f"the dual-fisheye calibration is for {dual_fisheye.size[0]}x"
                             f"{dual_fisheye.size[1]} frames, the clip is {width}x{height}")
    video_s = sum(d for _, d in parts)
    label = parts[0][0] if len(parts) == 1 else "sequence"
    name = name or f"{label}_s{seed}"
    if sphere:
        cam = equirect_camera((width, height))
    elif dual:
        front = dual_fisheye.lenses[0]
        K = np.array([[front.f_px, 0, front.cx_px], [0, front.f_px, front.cy_px], [0, 0, 1.0]])
        cam = CameraModel(K, np.array([front.k1, 0.0, 0.0, 0.0]), "opencv_fisheye",
                          (width, height), meta={"projection": DUAL_FISHEYE})
    else:
        cam = default_camera(width, height, hfov_deg, lens)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    path = camera_path_sequence(parts + [(parts[-1][0], tail_s)] if tail_s > 0 else parts,
                                seed, still_lead_s=still_lead_s)
    n_frames = int(np.floor(video_s * fps + 1e-9))
    frame_t_video = np.arange(n_frames) / fps
    frame_t_path = frame_t_video + still_lead_s

    ois_log = None
    if ois or focus_breathing:
        base = synthesize_ois(path, cam, gain=0.7 if ois else 0.0)
        focus = synthesize_focus(base.t_s, seed + 1) if focus_breathing else None
        ois_log = OisLog(base.t_s, base.shift_px, focus)

    pano = load_panorama() if panorama is None else panorama
    if dual:
        frames = render_dual_fisheye_clip(path, dual_fisheye, scene, frame_t_path, readout_s,
                                          pano=pano, grid_step=grid_step,
                                          progress=progress)
    elif sphere:
        frames = render_equirect_clip(path, (width, height), frame_t_path, readout_s,
                                      pano=pano, grid_step=grid_step,
                                      progress=progress)
    else:
        frames = render_clip(path, cam, frame_t_path, readout_s, pano=pano,
                             ois=ois_log, exposure_s=exposure_s, motion_blur=motion_blur,
                             grid_step=grid_step, progress=progress)
    video = out / f"{name}.mp4"
    if layout == "stacked":
        frames = (np.vstack([f[:, :height], f[:, height:]]) for f in frames)
    _encode(video, frames, n_frames, file_size, fps, audio, crf, spherical=sphere)

    clock = log_offset_s - still_lead_s  # t_log = t_path + clock
    gyro = synthesize_gyro(path, rate_hz=gyro_rate_hz, noise_rad_s=noise_rad_s,
                           bias_rad_s=bias_rad_s, seed=seed + 2, jitter_s=gyro_jitter_s,
                           clock_offset_s=clock)
    gcsv = write_gcsv(out / f"{name}.gcsv", gyro, readout_s=readout_s, orientation=axes,
                      extra_header={"id": f"steadyrig_{name}", "vendor": "steadyrig",
                                    "videofilename": video.name})
    named = CameraModel(cam.K, cam.dist, cam.model, cam.size,
                        meta={"name": name, "camera_brand": "steadyrig",
                              "camera_model": "synthetic", "lens_model": cam.model})
    lens_path = None if (sphere or dual) else write_lens_profile(out / f"{name}.lens.json", named,
                                                       readout_s)

    phone_dir = None
    if ois_log is not None:
        timing = FrameTiming(frame_t_video + log_offset_s, np.full(n_frames, exposure_s),
                             readout_s)
        log_ois = OisLog(ois_log.t_s + clock, ois_log.shift_px, ois_log.focus)
        phone_gyro = GyroLog(gyro.t_s, gyro.omega_rad_s)
        phone_dir = write_phone_log(out / f"{name}_phone", phone_gyro, log_ois, timing)

    band_rows = (np.arange(TRUTH_BANDS) + 0.5) * height / TRUTH_BANDS - 0.5
    band_t = row_time_s(frame_t_path[:, None], band_rows[None, :], height, readout_s)
    band_q, _ = path.evaluate(band_t)
    frame_q, frame_w = path.evaluate(frame_t_path)
    arrays = {
        "frame_t_s": frame_t_video,
        "frame_quat": frame_q,
        "frame_omega_rad_s": frame_w,
        "band_rows": band_rows,
        "band_quat": band_q,
        "path_t_s": path.t_s - still_lead_s,
        "path_quat": path.orientation.quat,
        "path_omega_rad_s": path.omega_rad_s,
        "path_labels": path.labels,
        "label_names": np.array(LABELS),
        "frame_labels": path.labels[np.clip(np.searchsorted(path.t_s, frame_t_path), 0,
                                            len(path.t_s) - 1)],
        "K": cam.K,
        "dist": cam.dist,
        "bias_rad_s": np.asarray(bias_rad_s, dtype=np.float64),
    }
    if dual:
        arrays.update(dual_fisheye_arrays(dual_fisheye, scene))
    if ois_log is not None:
        arrays["ois_t_s"] = ois_log.t_s - still_lead_s
        arrays["ois_shift_px"] = ois_log.shift_px
        arrays["frame_ois_shift_px"] = ois_log.shift_at(frame_t_path)
        if ois_log.focus is not None:
            arrays["ois_focus"] = ois_log.focus
            arrays["frame_focus"] = ois_log.focus_at(frame_t_path)
    summary = {
        "name": name, "kind": label, "parts": [[k, d] for k, d in parts], "seed": seed,
        "width": file_size[0], "height": file_size[1], "fps": fps, "n_frames": n_frames,
        "duration_s": video_s, "readout_s": readout_s, "readout_direction": "top_to_bottom",
        "exposure_s": exposure_s, "offset_s": log_offset_s, "still_lead_s": still_lead_s,
        "gyro_rate_hz": gyro_rate_hz, "gyro_jitter_s": gyro_jitter_s, "gcsv_orientation": axes,
        "noise_rad_s_sqrt_hz": noise_rad_s, "bias_rad_s": list(map(float, bias_rad_s)),
        "lens_model": DUAL_FISHEYE if dual else cam.model, "K": cam.K.tolist(),
        "dist": cam.dist.tolist(), "hfov_deg": None if (sphere or dual) else hfov_deg,
        "projection": projection, "layout": layout if dual else None, "ois": bool(ois),
        "focus_breathing": bool(focus_breathing),
        "motion_blur": bool(motion_blur),
        "clocks": "t_video = t_log - offset_s; frame time = centre of exposure of middle row",
        "dual_fisheye": None if not dual else {
            **dual_fisheye.to_dict(), "scene": scene.to_dict(),
            "rolling_shutter": "each lens's sensor reads its rows top to bottom in step with "
                               "the other: frame row v at t_frame + ((v + 0.5) / H - 0.5) * "
                               "readout_s in both halves"},
        "files": {"video": video.name, "gcsv": gcsv.name,
                  "lens": None if lens_path is None else lens_path.name,
                  "phone": None if phone_dir is None else phone_dir.name},
    }
    npz, js = write_truth(out / f"{name}.truth.npz", arrays, summary)
    return GeneratedClip(name, video, gcsv, lens_path, npz, js, phone_dir, label, seed,
                         log_offset_s, readout_s, n_frames, projection)
