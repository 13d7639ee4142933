"""Motion filtering: a registry of filter-chain entries over a window of frames.

``base`` holds the interface (``FilterContext``, ``Filter``, ``FILTERS``, ``register_filter``),
``chain`` composes and runs chains, and each other module is one registered entry:
``gaussian``, ``none``, ``intent``, ``fixed``, ``horizon``, ``blur``, ``bad_region`` and the
``zoom`` stage that ends every chain. Importing this package imports every entry, which fills
the registry; entry modules import ``base`` and their helpers only, never this package.

Examples
--------
>>> from stabilize.filters import FILTERS, compose_chain
>>> compose_chain("gaussian", horizon_lock=True)
('gaussian', 'horizon', 'bad_region')
>>> {"gaussian", "intent", "none", "zoom"} <= set(FILTERS)
True
"""

from __future__ import annotations

from . import bad_region, blur, fixed, gaussian, horizon, intent, none, zoom  # noqa: F401
from .base import FILTERS, Filter, FilterContext, get_filter, register_filter
from .chain import (
    DEFAULT_SMOOTHING,
    chain_choices,
    chain_names,
    chain_reach_s,
    compose_chain,
    run_chain,
)
from .gaussian import smooth_gaussian

__all__ = [
    "FILTERS",
    "Filter",
    "FilterContext",
    "register_filter",
    "get_filter",
    "DEFAULT_SMOOTHING",
    "chain_choices",
    "compose_chain",
    "chain_names",
    "chain_reach_s",
    "run_chain",
    "smooth_gaussian",
]
