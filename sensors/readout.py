"""The rolling-shutter readout time of a clip, where the user, the log or the lens profile knows it.

The order is the user's value (``--readout-ms``), then the log's, then the Gyroflow lens
profile's ``frame_readout_time``. What to do when none of them knows is the caller's choice:
sync estimates it with the offset, the stabilizer assumes a per-camera default
(docs/architecture.md "Rolling shutter").

Examples
--------
>>> from sensors.readout import known_readout_s
>>> known_readout_s(20.0, None, None)
0.02
"""

from __future__ import annotations

import math

from .errors import InputError
from .progress import get_logger, note
from .types import CameraModel, SensorLog

__all__ = ["known_readout_s"]

_log = get_logger(__name__)


def known_readout_s(readout_ms: float | None, log: SensorLog | None,
                    camera: CameraModel | None, notes: list[str] | None = None) -> float | None:
    """The readout time in seconds when it is known, else None.

    Parameters
    ----------
    readout_ms : float, optional
        The user's value, milliseconds; must be finite and in [0, 1000).
    log : SensorLog, optional
        Its ``readout_s`` when the log records one.
    camera : CameraModel, optional
        Its ``meta["readout_s"]`` when the lens profile has one (a zero there means unknown).
    notes : list of str, optional
        Gets a message when the value comes from the lens profile.

    Returns
    -------
    float or None

    Raises
    ------
    InputError
        An implausible ``readout_ms``.
    """
    if readout_ms is not None:
        if not (math.isfinite(readout_ms) and 0 <= readout_ms < 1000):
            raise InputError(f"readout {readout_ms} ms is not plausible")
        return readout_ms / 1000.0
    if log is not None and log.readout_s is not None:
        return float(log.readout_s)
    if camera is not None and camera.meta.get("readout_s"):
        value = float(camera.meta["readout_s"])
        msg = f"readout {value * 1e3:.2f} ms from the lens profile"
        if notes is not None:
            note(notes, _log, msg)
        else:
            _log.info(msg)
        return value
    return None
