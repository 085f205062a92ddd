"""The solved linear autoencoder on degenerate data: finite weights and a zero loss, never a division by zero."""

import warnings

import numpy as np
import pytest

from latent_course.tools.solutions import load_solution

solution = load_solution("02_linear_autoencoder")


@pytest.mark.parametrize("X, K", [
    (np.zeros((5, 3)), 2),          # N > D: reduced by QR first
    (np.zeros((2, 4)), 1),          # N < D
    (np.zeros((1, 1)), 1),          # the smallest data set
    (np.full((3, 3), 1e-170), 2),   # s_1 squared underflows to zero
])
def test_train_autoencoder_on_all_zero_data_returns_finite_weights(X, K):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "divide by zero" or "invalid value" on the way
        W1, W2, losses = solution.train_autoencoder(X, K)
    assert W1.shape == (X.shape[1], K) and W2.shape == (K, X.shape[1])
    assert np.all(np.isfinite(W1)) and np.all(np.isfinite(W2))
    np.testing.assert_array_equal(losses, [0.0, 0.0])  # every W is optimal: one step, then stop
