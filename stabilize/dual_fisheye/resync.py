"""The sync offset of a dual-fisheye clip found again through its calibrated lenses.

The first sync (``stabilize.inputs.resolve_inputs``) measures the camera's rotation on both
lens discs through nominal lenses (``motion_lenses``): the calibration needs the gyro on the
video's clock to pick its frames, so it comes later. A nominal pair maps each pixel to a
direction a few percent off (each lens's focal length and radial term), and on motion whose
axis keeps turning that moves the offset by some tenths of a millisecond
(``bench/dual_fisheye_sync.py``: median error 0.67 ms with nominal lenses, 0.27 ms with the true
ones, at CRF 16). Once ``plan`` has calibrated the pair, ``resync`` measures the motion again
through it and syncs again (the IMU axes already applied), so the plan uses the better offset.
"""

from __future__ import annotations

import dataclasses

from sensors.dual_fisheye_motion import dual_fisheye_camera
from sensors.errors import SolveError
from sensors.progress import get_logger, note

from ..inputs import ClipInputs, capture_times
from .rig import LensPair

__all__ = ["resync"]

_log = get_logger(__name__)


def resync(clip: ClipInputs, pair: LensPair, notes: list[str]) -> ClipInputs:
    """``clip`` with its offset, frame times and motion camera from a sync through ``pair``.

    Parameters
    ----------
    clip : ClipInputs
        A dual-fisheye clip whose offset the sync found (``offset_found``).
    pair : LensPair
        Its calibrated lenses.
    notes : list of str
        Receives the new offset, or why the first one is kept (also logged).

    Returns
    -------
    ClipInputs
        A new one, or ``clip`` itself when the sync through ``pair`` fails.
    """
    from sensors.sync import sync_video_to_gyro

    cam = dual_fisheye_camera(clip.camera.size, pair.lenses, pair.R_rig_from_back,
                              str(clip.video), "the calibrated lenses")
    try:
        res = sync_video_to_gyro(str(clip.video), clip.log.gyro, camera=cam,
                                 readout_s=clip.readout_s, axes="+x+y+z",
                                 readout_direction=clip.log.readout_direction)
    except SolveError as exc:
        note(notes, _log, f"dual-fisheye: offset kept ({exc})")
        return clip
    note(notes, _log, f"dual-fisheye: offset {res.offset_s * 1e3:.2f} ms through the calibrated "
                      f"lenses ({(res.offset_s - clip.offset_s) * 1e3:+.2f} ms)")
    return dataclasses.replace(clip, offset_s=float(res.offset_s), motion_camera=cam,
                               frame_t_s=capture_times(clip.log, clip.info, res.offset_s))
