"""A Ceres solve that stops between iterations on a stop signal (``sensors.interrupt``).

The stitcher's problems have Python cost functions, so the main thread runs Python code inside
``pyceres.solve``, where a signal handler raising ``KeyboardInterrupt`` would unwind through the
C++ solver. :func:`solve` instead holds the signal (``sensors.interrupt.deferred``), an iteration
callback answers ``SOLVER_ABORT`` once one arrived, and the interrupt is raised after Ceres has
returned: a stitch stops within one solver iteration and cleans up like on Ctrl-C.
"""

from __future__ import annotations

import pyceres

from sensors.interrupt import deferred, requested

__all__ = ["solve"]


class _AbortOnSignal(pyceres.IterationCallback):
    """Stop the solver at the end of the iteration during which a stop signal arrived."""

    def __init__(self) -> None:
        pyceres.IterationCallback.__init__(self)

    def __call__(self, summary) -> pyceres.CallbackReturnType:
        if requested():
            return pyceres.CallbackReturnType.SOLVER_ABORT
        return pyceres.CallbackReturnType.SOLVER_CONTINUE


def solve(options: pyceres.SolverOptions, problem: pyceres.Problem,
          summary: pyceres.SolverSummary) -> None:
    """``pyceres.solve`` that ends early, and raises the interrupt, on a stop signal.

    Parameters
    ----------
    options, problem, summary
        As for ``pyceres.solve``. An abort callback is added to ``options`` once (pyceres
        appends on assignment to ``options.callbacks``, so it is not assigned again).

    Raises
    ------
    KeyboardInterrupt
        ``sensors.interrupt.Interrupted`` under ``handle_signals``, after the solver returned.

    Examples
    --------
    >>> import numpy as np, pyceres
    >>> from stitch.ceres_solve import solve
    >>> x = np.array([1.0])
    >>> problem = pyceres.Problem()
    >>> block = problem.add_residual_block(pyceres.factors.NormalPrior(np.zeros(1), np.eye(1)),
    ...                                    None, [x])
    >>> summary = pyceres.SolverSummary()
    >>> solve(pyceres.SolverOptions(), problem, summary)
    >>> abs(float(x[0])) < 1e-9
    True
    """
    if not any(isinstance(cb, _AbortOnSignal) for cb in options.callbacks):
        options.callbacks = [_AbortOnSignal()]
    with deferred():
        pyceres.solve(options, problem, summary)
