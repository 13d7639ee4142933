"""The virtual camera of an equirectangular clip: a smoothed rotation of the whole sphere
(docs/architecture.md "Sphere stabilization").

A 360 frame has no border, so the chain's entries that keep a flat output inside its source
(``bad_region``, the ``zoom`` stage) and the blur mask (a flat camera's streaks) do not run: the
smoothing entries (``intent``, ``gaussian``, ``fixed``, ...) give the virtual path and the zoom
stays 1. Where the log has an accelerometer the sphere is then leveled (``level_sphere``): the
virtual camera's down axis is gravity, so the horizon is the panorama's middle row, and only the
heading (yaw) follows the smoothed path. Without one, leveling is done only when asked for
(``horizon`` in the chain), against the mean camera down, as ``stabilize.horizon`` does.
Frames with no motion source are drawn uncorrected, the path eased into them
(``filters.passthrough``), as on a flat clip.
"""

from __future__ import annotations

import numpy as np

from sensors.progress import get_logger
from sensors.quaternion import qfrom_matrix, qto_matrix

from .filters import FilterContext, get_filter
from .filters.passthrough import ease_to_passthrough
from .horizon import gravity_world
from .motion import MotionTrack
from .params import StabilizeParams

__all__ = ["SPHERE_SKIPPED", "sphere_chain", "level_sphere", "plan_sphere_path"]

_log = get_logger(__name__)

#: Chain entries that do not run on a sphere (flat-frame borders and blur), and the leveling
#: entry the sphere does its own way.
SPHERE_SKIPPED = frozenset({"bad_region", "zoom", "blur", "horizon"})


def sphere_chain(params: StabilizeParams) -> list[str]:
    """The entries of ``params.filters`` that run on an equirect clip, in order."""
    return [n for n in params.filters if n not in SPHERE_SKIPPED]


def level_sphere(virtual_quat: np.ndarray, down_world: np.ndarray) -> np.ndarray:
    """Virtual orientations (F, 4) whose y axis is gravity, keeping each one's heading.

    The new forward axis is the old one made horizontal (or, looking straight up or down, the
    old right axis turned a quarter); ``x = y x z``. Quaternion signs follow the input.

    Examples
    --------
    >>> import numpy as np
    >>> q = np.array([[np.sin(0.1), 0.0, 0.0, np.cos(0.1)]])  # tilted 11.5 deg about x
    >>> bool(np.allclose(level_sphere(q, np.array([0.0, 1.0, 0.0])), [[0, 0, 0, 1]]))
    True
    """
    q = np.asarray(virtual_quat, dtype=np.float64)
    R = qto_matrix(q)
    g = np.broadcast_to(np.asarray(down_world, dtype=np.float64), (q.shape[0], 3))
    g = g / np.linalg.norm(g, axis=1, keepdims=True)
    z = R[:, :, 2] - np.sum(R[:, :, 2] * g, axis=1, keepdims=True) * g
    xh = R[:, :, 0] - np.sum(R[:, :, 0] * g, axis=1, keepdims=True) * g
    z_alt = np.cross(xh, g)
    weak = np.linalg.norm(z, axis=1) < 0.2
    z = np.where(weak[:, None], z_alt, z)
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    x = np.cross(g, z)
    ql = qfrom_matrix(np.stack([x, g, z], axis=2))
    return np.where(np.sum(ql * q, axis=1, keepdims=True) < 0, -ql, ql)


def plan_sphere_path(motion: MotionTrack, params: StabilizeParams, fps: float,
                     frames: tuple[int, int] | None = None,
                     exposure_s: np.ndarray | None = None,
                     level: bool = True,
                     passthrough: np.ndarray | None = None) -> FilterContext:
    """Offline virtual path of an equirect clip over frames ``[i0, i1)``: the smoothing entries
    of the chain, then leveling (``level`` and an accelerometer, or ``horizon`` in the chain),
    then the ease into the frames ``passthrough`` (F,) flags (no motion source: drawn as the
    real camera saw them); zoom 1 throughout."""
    i0, i1 = (0, len(motion)) if frames is None else frames
    q = motion.frame_quat[i0:i1]
    ctx = FilterContext(motion.frame_t_s[i0:i1], q, q.copy(), np.ones(i1 - i0), motion.camera,
                        motion.real, float(fps), motion.readout_s, motion.readout_direction,
                        params, motion.gyro,
                        None if exposure_s is None else exposure_s[i0:i1], first_frame=i0,
                        ois=None, passthrough=None if passthrough is None else passthrough[i0:i1])
    skipped = [n for n in params.filters if n in SPHERE_SKIPPED - {"horizon"}]
    if skipped:
        ctx = ctx.with_note("equirect: no crop, zoom or border on a sphere; skipped "
                            + ", ".join(skipped), _log)
    for name in sphere_chain(params):
        ctx = get_filter(name, params).apply(ctx)
    has_accel = motion.gyro.accel_m_s2 is not None
    asked = "horizon" in params.filters
    if (level and has_accel) or asked:
        down, from_accel = gravity_world(motion.gyro, motion.real, ctx.t_s)
        ctx = ctx.with_(virtual_quat=level_sphere(ctx.virtual_quat, down))
        ctx = ctx.with_note("equirect: sphere leveled, gravity down ("
                            + ("accelerometer" if from_accel else
                               "no accelerometer: the mean camera down taken as gravity")
                            + ")", _log)
    elif level:
        ctx = ctx.with_note("equirect: no accelerometer in the log, sphere not leveled "
                            "(add the horizon filter to level against the mean camera down)",
                            _log)
    return ease_to_passthrough(ctx).with_(zoom=np.ones(len(ctx)))
