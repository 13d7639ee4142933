"""Gyro-fused video stabilization: sensors -> smooth virtual camera -> warped frames -> video.

See DESIGN.md "stabilize/". Stages: ``motion`` (real orientation per row band), ``filtering``
(registry of filter-chain entries), ``synthesis`` (rolling-shutter mesh warp), ``pipeline``
(streaming decode -> warp -> encode), ``metrics``.
"""

from .filtering import FILTERS, FilterContext, register_filter
from .params import StabilizeParams

__all__ = ["FILTERS", "FilterContext", "StabilizeParams", "register_filter"]
