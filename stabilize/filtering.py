"""The filter chain's former module path: its names now live in ``stabilize.filters``.

Kept so code that imports ``stabilize.filtering`` keeps working; new code imports
``stabilize.filters``.
"""

from __future__ import annotations

from .filters import (
    FILTERS,
    Filter,
    FilterContext,
    chain_names,
    chain_reach_s,
    get_filter,
    register_filter,
    run_chain,
    smooth_gaussian,
)

__all__ = [
    "FILTERS",
    "Filter",
    "FilterContext",
    "register_filter",
    "get_filter",
    "chain_names",
    "chain_reach_s",
    "run_chain",
    "smooth_gaussian",
]
