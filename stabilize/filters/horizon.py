"""The ``horizon`` entry: remove roll from the virtual camera against gravity."""

from __future__ import annotations

import numpy as np

from sensors.progress import get_logger

from ..horizon import gravity_world, level_roll, roll_to_horizon_rad
from .base import Filter, FilterContext, register_filter

__all__ = ["HorizonLock"]

_log = get_logger(__name__)


def _down(ctx: FilterContext) -> tuple[np.ndarray, bool]:
    if ctx.gyro is not None:
        return gravity_world(ctx.gyro, ctx.real, ctx.t_s)
    # No gyro log in the context: same rule as a log without accelerometer.
    down = ctx.real.matrices_at(ctx.real.t_s)[:, :, 1].mean(axis=0)
    return np.broadcast_to(down / np.linalg.norm(down), (len(ctx), 3)).copy(), False


@register_filter("horizon")
class HorizonLock(Filter):
    """Remove roll from the virtual camera (``level_roll``) against gravity; after smoothing."""

    def reach_s(self) -> float:
        return 3.0 * 2.0  # the complementary filter's low-pass (2 s time constant)

    def apply(self, ctx: FilterContext) -> FilterContext:
        down, from_accel = _down(ctx)
        if not from_accel:
            ctx = ctx.with_note("horizon lock: no accelerometer, the mean camera down is taken "
                                "as gravity", _log)
        qv = level_roll(ctx.virtual_quat, down)
        return ctx.with_(virtual_quat=qv).with_extra(
            "roll_rad", roll_to_horizon_rad(ctx.real_quat, down))
