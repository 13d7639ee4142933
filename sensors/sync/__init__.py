"""Gyro <-> video (and gyro <-> gyro) time offset, clock drift and IMU axis orientation.

Convention (docs/architecture.md "Time"): ``t_video = t_log - offset_s``; with drift the offset
at video time ``t`` is ``offset_s + drift_ppm * 1e-6 * (t - t_ref_s)``.

Video to gyro (``sync_video_to_gyro``, in ``video``; ``sync_samples_to_gyro`` in ``samples``
for precomputed flow), in three steps:

1. **Coarse** (``coarse``; 1 ms grid over +/- ``search_s``): the per-pair angular velocity
   measured from the video's optical flow (``sensors.video_motion``) is compared with the gyro
   rate averaged over a frame interval, for every offset at once by FFT cross-correlation. The
   nine axis-by-axis correlations give the residual of all 48 signed axis permutations (proper
   and improper) for free, so the IMU orientation is picked by the same fit.
2. **Fine** (``fine``; sub-millisecond, per window): in a few windows placed where the rotation
   changes most (``windows``; angular acceleration is what makes the offset observable),
   golden-section search on the offset minimises the robust reprojection error of every flow
   sample under the gyro's rotation between the sample's own two row times (rolling shutter
   included); an unknown readout time or focal length is fitted there too.
3. **Drift**: a straight line through the per-window offsets when the windows span long enough.

On clips of ``MIN_WINDOWED_S`` or more, ``sync_video_to_gyro`` decodes and flows only a few
windows chosen from the gyro before any decoding (``decode_windows_from_gyro``: strong, changing
rotation, one per part of the clip so drift stays observable), on clips from ``MID_WINDOWED_S``
``MID_WINDOWS`` of them; the coarse search then runs on the windows' samples against the whole
log, and the fine windows are those decode windows.

Log to log (``sync_logs``, in ``logs``): rate magnitudes are correlated (independent of how the
IMUs are mounted), then the mounting rotation and the offset are refined together.

Refuses with ``SolveError`` when the video rotates too little, the best fit explains too little
of the video's motion, or a second offset fits nearly as well. Axis strings use the signed
spelling of ``sensors.readers.axes.AxisMap`` (``"+x+y+z"``). ``plot_sync`` (in ``plot``) draws
a result's rates before and after alignment.

The names below load their modules on first access (``sensors._lazy``).

Examples
--------
>>> from sensors.sync import sync_logs, write_sync_json
>>> res = sync_logs(phone.gyro, mcu.gyro)  # doctest: +SKIP
>>> write_sync_json(res, "sync.json")  # doctest: +SKIP
"""

from __future__ import annotations

from sensors._lazy import lazy_exports

_WHERE = {
    "AXES_ALL": "axes",
    "apply_axes": "axes",
    "axes_matrix": "axes",
    "sync_logs": "logs",
    "plot_sync": "plot",
    "SyncResult": "result",
    "write_sync_json": "result",
    "sync_samples_to_gyro": "samples",
    "sync_video_to_gyro": "video",
    "DECODE_WINDOW_S": "windows",
    "MID_WINDOWED_S": "windows",
    "MID_WINDOWS": "windows",
    "MIN_WINDOWED_S": "windows",
    "decode_windows_from_gyro": "windows",
}


__getattr__, __dir__, __all__ = lazy_exports(__name__, _WHERE)
