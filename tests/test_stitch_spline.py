"""Cubic B-spline basis: partition of unity, exact derivatives, periodic wrap."""

import numpy as np
import pytest

from stitch.spline import axis_basis, basis_matrix, cubic_weight_derivatives, cubic_weights


def test_weights_sum_to_one_and_are_nonnegative():
    t = np.linspace(0, 1, 101, endpoint=False)
    w = cubic_weights(t)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)
    assert (w >= 0).all()


def test_weight_derivatives_match_finite_differences():
    t = np.linspace(0.05, 0.95, 19)
    h = 1e-6
    fd = (cubic_weights(t + h) - cubic_weights(t - h)) / (2 * h)
    np.testing.assert_allclose(cubic_weight_derivatives(t), fd, atol=1e-8)


def test_linear_control_values_reproduce_a_linear_function():
    # Cubic B-splines reproduce polynomials up to degree 1 with control values on the line.
    origin, s, n = -32.0, 32.0, 12
    ctrl = 0.25 * (origin + s * np.arange(n)) + 3.0
    x = np.linspace(0, 250, 77)
    np.testing.assert_allclose(basis_matrix(x, origin, s, n) @ ctrl, 0.25 * x + 3.0, atol=1e-9)
    np.testing.assert_allclose(basis_matrix(x, origin, s, n, derivative=True) @ ctrl, 0.25,
                               atol=1e-9)


def test_periodic_axis_is_continuous_across_the_wrap():
    n, s = 16, 8.0
    ctrl = np.random.default_rng(2376609).normal(size=n)
    period = n * s
    a = basis_matrix(np.array([period - 1e-9]), 0.0, s, n, periodic=True) @ ctrl
    b = basis_matrix(np.array([0.0]), 0.0, s, n, periodic=True) @ ctrl
    np.testing.assert_allclose(a, b, atol=1e-7)


def test_positions_outside_a_nonperiodic_grid_are_rejected():
    with pytest.raises(ValueError, match="outside the control grid"):
        axis_basis(np.array([5.0]), 0.0, 8.0, 4)
