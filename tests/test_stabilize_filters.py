"""The frame-axis filters equal scipy.ndimage's with mode="nearest"."""

import numpy as np
import pytest
from scipy import ndimage

from stabilize.signal1d import gaussian_filter1d, maximum_filter1d


@pytest.mark.parametrize("sigma", [0.4, 1.0, 2.5, 17.0])
def test_gaussian_filter1d_equals_scipy_nearest(sigma):
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(size=(120, 3)), axis=0)
    np.testing.assert_allclose(gaussian_filter1d(x, sigma, axis=0),
                               ndimage.gaussian_filter1d(x, sigma, axis=0, mode="nearest"),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(gaussian_filter1d(x[:, 1], sigma),
                               ndimage.gaussian_filter1d(x[:, 1], sigma, mode="nearest"),
                               rtol=0, atol=1e-12)


def test_gaussian_filter1d_kernel_longer_than_the_signal():
    x = np.array([1.0, 4.0, 2.0])
    np.testing.assert_allclose(gaussian_filter1d(x, 5.0),
                               ndimage.gaussian_filter1d(x, 5.0, mode="nearest"), atol=1e-12)


@pytest.mark.parametrize("size", [1, 3, 31, 301])
def test_maximum_filter1d_equals_scipy_nearest(size):
    rng = np.random.default_rng(4)
    x = rng.uniform(1.0, 1.3, 200)
    np.testing.assert_array_equal(maximum_filter1d(x, size),
                                  ndimage.maximum_filter1d(x, size, mode="nearest"))
