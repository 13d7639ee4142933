"""Filter chains: composing one from the user's choices, and running it over a context.

``compose_chain`` is the one place that turns the smoothing choice, further entries and the
horizon-lock and blur-mask flags into ``StabilizeParams.filters``; the command line calls it.
``run_chain`` runs ``params.filters`` in order and then the ``zoom`` stage.
"""

from __future__ import annotations

from collections.abc import Iterable

from sensors.errors import InputError

from ..params import DEFAULT_SMOOTHING, StabilizeParams
from .base import FILTERS, FilterContext, get_filter
from .passthrough import ease_to_passthrough

__all__ = [
    "DEFAULT_SMOOTHING",
    "chain_choices",
    "compose_chain",
    "chain_names",
    "chain_reach_s",
    "run_chain",
]

#: The stage every chain ends with; it is not chosen by name.
_ZOOM = "zoom"


def chain_choices() -> list[str]:
    """Names a user may put in a chain: every registered entry but the zoom stage, sorted."""
    return sorted(n for n in FILTERS if n != _ZOOM)


def compose_chain(smoothing: str = DEFAULT_SMOOTHING, extra: Iterable[str] = (), *,
                  horizon_lock: bool = False, blur_mask: bool = False) -> tuple[str, ...]:
    """Filter-chain names (``StabilizeParams.filters``) for the smoothing options of a job.

    The smoother first, then the ``extra`` entries in the order given, then horizon lock, then
    blur masking, then ``bad_region`` (unless already in the chain) so the result stays inside
    the source frame at the max zoom. The zoom stage always runs last (``chain_names``).

    ``smoothing="none"`` keeps the real path, so ``bad_region`` is not appended: there is no
    smoothing to bend back, and a leveled or blur-masked real path stays within a few tenths of
    a degree of the real one (the zoom stage still reports any frame it cannot cover). The
    horizon lock and the blur mask are honoured with ``none``, as asked: without smoothing the
    output already moves with the camera, yet its frame-to-frame motion (what a viewer sees)
    still differs from each frame's streak (the motion within the exposure), and the mask
    closes part of that gap. On a generated run (``camera_path("run", seed=46)``, 180-degree
    shutter) the frame-to-frame change of the blur the motion does not explain
    (``stabilize.blur.sharpness_variation``) falls from 0.146 to 0.091 px without smoothing and
    from 0.263 to 0.150 px with the horizon lock.

    Parameters
    ----------
    smoothing : str
        First entry: ``intent``, ``gaussian``, ``fixed``, ``none`` or any other registered
        entry but ``zoom``.
    extra : iterable of str
        Further registered entries, in order.
    horizon_lock, blur_mask : bool
        Append ``horizon`` / ``blur``.

    Returns
    -------
    tuple of str

    Raises
    ------
    InputError
        A name that is not a registered entry (or is ``zoom``), listing the valid ones.

    Examples
    --------
    >>> compose_chain("intent")
    ('intent', 'bad_region')
    >>> compose_chain("gaussian", ["fixed"], horizon_lock=True, blur_mask=True)
    ('gaussian', 'fixed', 'horizon', 'blur', 'bad_region')
    >>> compose_chain("none", blur_mask=True)
    ('none', 'blur')
    """
    chain = (smoothing, *extra) + ("horizon",) * bool(horizon_lock) + ("blur",) * bool(blur_mask)
    valid = chain_choices()
    for name in chain:
        if name not in valid:
            raise InputError(f"unknown filter {name!r}; valid: " + ", ".join(valid))
    if smoothing != "none" and "bad_region" not in chain:
        chain += ("bad_region",)  # bend the path rather than leave undefined borders
    return chain


def chain_names(params: StabilizeParams) -> list[str]:
    """The filter chain of a job: ``params.filters`` then the zoom stage."""
    return [n for n in params.filters if n != _ZOOM] + [_ZOOM]


def chain_reach_s(params: StabilizeParams) -> float:
    """How far (s) each side the chain's output for one frame depends on its input (summed)."""
    return float(sum(get_filter(n, params).reach_s() for n in chain_names(params)))


def run_chain(ctx: FilterContext) -> FilterContext:
    """Run the job's filter chain over a context.

    Frames without a motion source (``ctx.passthrough``) are eased into just before the
    stages that keep the output inside the frame (``bad_region``, ``zoom``), so those see the
    path that is drawn.
    """
    names = chain_names(ctx.params)
    ease_at = names.index("bad_region") if "bad_region" in names else names.index(_ZOOM)
    for k, name in enumerate(names):
        if k == ease_at:
            ctx = ease_to_passthrough(ctx)
        ctx = get_filter(name, ctx.params).apply(ctx)
    return ctx
