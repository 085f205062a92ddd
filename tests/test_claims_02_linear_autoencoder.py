"""Claims of the lecture notes on topic 02 that are checked here rather than in the notebook."""

import itertools

import numpy as np
import pytest
from sklearn.datasets import load_digits

from latent_course.tools.solutions import load_solution

solution = load_solution("02_linear_autoencoder")


@pytest.fixture(scope="module")
def digits():
    """The notebook's centred digits."""
    X = load_digits().data / 16
    return X - X.mean(axis=0)


def _synthetic(seed=0, N=200, D=6):
    """Data whose covariance is invertible with well separated, distinct eigenvalues."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, D)) * np.linspace(3.0, 0.5, D) @ np.linalg.qr(rng.normal(size=(D, D)))[0]


def _hessian(X, W1, W2):
    """The exact Hessian of L at (W1, W2), parameters ordered as (W1.ravel(), W2.ravel())."""
    N, D = X.shape
    K = W1.shape[1]
    G = X.T @ X  # the loss and its derivatives depend on X only through X^T X
    residual = G @ (W1 @ W2 - np.eye(D))  # X^T E
    columns = []
    for unit in np.eye(2 * D * K):
        A, B = unit[:D * K].reshape(D, K), unit[D * K:].reshape(K, D)
        d_map = G @ (A @ W2 + W1 @ B)  # X^T dE
        d_grad_W1 = (2 / N) * (d_map @ W2.T + residual @ B.T)
        d_grad_W2 = (2 / N) * (A.T @ residual + W1.T @ d_map)
        columns.append(np.concatenate([d_grad_W1.ravel(), d_grad_W2.ravel()]))
    H = np.array(columns).T
    return (H + H.T) / 2


def _principal(X, K):
    return np.linalg.svd(X, full_matrices=False)[2][:K].T


def test_the_loss_is_the_mean_squared_reconstruction_error_per_sample():
    rng = np.random.default_rng(0)
    X, W1, W2 = rng.normal(size=(30, 5)), rng.normal(size=(5, 2)), rng.normal(size=(2, 5))
    by_row = np.mean([np.sum((x - x @ W1 @ W2) ** 2) for x in X])
    np.testing.assert_allclose(solution.autoencoder_loss(X, W1, W2)[0], by_row, rtol=1e-12)  # checks: autoencoder-loss


def test_weyl_and_eckart_young_on_random_matrices():
    rng = np.random.default_rng(1)
    for _ in range(50):
        A, B = rng.normal(size=(7, 5)), rng.normal(size=(7, 5)) * rng.random()
        s_sum, s_a, s_b = (np.linalg.svd(M, compute_uv=False) for M in (A + B, A, B))
        for i, j in itertools.product(range(1, 6), repeat=2):
            if i + j - 1 <= 5:
                assert s_sum[i + j - 2] <= s_a[i - 1] + s_b[j - 1] + 1e-12  # checks: weyl-singular-values
    X = rng.normal(size=(20, 6))
    s = np.linalg.svd(X, compute_uv=False)
    V = _principal(X, 2)
    np.testing.assert_allclose(np.sum((X - X @ V @ V.T) ** 2), np.sum(s[2:] ** 2), rtol=1e-12)  # checks: eckart-young
    for _ in range(200):  # no rank-2 matrix does better
        Y = rng.normal(size=(20, 2)) @ rng.normal(size=(2, 6))
        assert np.sum((X - Y) ** 2) >= np.sum(s[2:] ** 2)  # checks: eckart-young


def test_the_origin_is_a_saddle():
    X = _synthetic()
    N, D = X.shape
    W1, W2 = np.zeros((D, 2)), np.zeros((2, D))
    _, grad_W1, grad_W2 = solution.autoencoder_loss(X, W1, W2)
    assert not grad_W1.any() and not grad_W2.any()  # checks: landscape-saddle-at-zero
    eigenvalues = np.linalg.eigvalsh(_hessian(X, W1, W2))
    assert eigenvalues.min() < 0 < eigenvalues.max()  # checks: landscape-saddle-at-zero
    v = _principal(X, 1)
    s1 = np.linalg.norm(X, 2)
    for t in (0.1, 0.5):
        along = solution.autoencoder_loss(X, t * v @ np.eye(1, 2), t * np.eye(2, 1) @ v.T)[0]
        expected = (np.sum(X**2) - 2 * t**2 * s1**2 + t**4 * s1**2) / N
        np.testing.assert_allclose(along, expected, rtol=1e-10)  # checks: landscape-saddle-at-zero
        assert along < np.sum(X**2) / N  # checks: landscape-saddle-at-zero


def test_the_critical_points_are_projections_on_eigenvector_sets_and_only_the_top_one_is_a_minimum():
    X = _synthetic()
    D, K = X.shape[1], 2
    V = _principal(X, D)
    for size in range(K + 1):
        for subset in itertools.combinations(range(D), size):
            W1 = np.zeros((D, K))
            W1[:, :size] = V[:, list(subset)]
            W2 = W1.T.copy()
            _, grad_W1, grad_W2 = solution.autoencoder_loss(X, W1, W2)
            assert np.abs(grad_W1).max() < 1e-12 and np.abs(grad_W2).max() < 1e-12  # checks: baldi-hornik
            smallest = np.linalg.eigvalsh(_hessian(X, W1, W2)).min()
            if subset == tuple(range(K)):
                assert smallest > -1e-10  # checks: baldi-hornik
            else:
                assert smallest < -1e-3  # checks: baldi-hornik, saddles-strict


def test_the_digits_have_three_constant_pixels_and_a_gap_at_every_code_size(digits):
    assert list(np.flatnonzero(np.all(digits == 0, axis=0))) == [0, 32, 39]  # checks: digits-singular-covariance
    eigenvalues = np.linalg.eigvalsh(digits.T @ digits)
    assert np.sum(eigenvalues < 1e-9 * eigenvalues.max()) == 3  # checks: digits-singular-covariance
    s = np.linalg.svd(digits, compute_uv=False)
    assert all(s[K - 1] > s[K] * (1 + 1e-3) for K in [2, 8, 16, 32])  # checks: principal-subspace-gap


def test_the_gradients_and_the_second_derivative_against_finite_differences():
    rng = np.random.default_rng(2)
    X, W1, W2 = rng.normal(size=(40, 5)), rng.normal(size=(5, 2)), rng.normal(size=(2, 5))
    A, B = rng.normal(size=(5, 2)), rng.normal(size=(2, 5))
    loss, grad_W1, grad_W2 = solution.autoencoder_loss(X, W1, W2)
    h = 1e-5
    along = [solution.autoencoder_loss(X, W1 + t * A, W2 + t * B)[0] for t in (-h, 0.0, h)]
    np.testing.assert_allclose((along[2] - along[0]) / (2 * h), np.sum(grad_W1 * A) + np.sum(grad_W2 * B),
                               rtol=1e-7)  # checks: autoencoder-gradients
    N = X.shape[0]
    E = X @ W1 @ W2 - X
    second = 2 / N * np.sum((X @ (A @ W2 + W1 @ B)) ** 2) + 4 / N * np.sum(E * (X @ A @ B))
    h = 1e-3
    along = [solution.autoencoder_loss(X, W1 + t * A, W2 + t * B)[0] for t in (-h, 0.0, h)]
    np.testing.assert_allclose((along[2] - 2 * along[1] + along[0]) / h**2, second,
                               rtol=1e-5)  # checks: autoencoder-second-derivative


def test_the_hessian_at_a_minimum_its_top_eigenvalue_and_its_null_space(digits):
    N, K = digits.shape[0], 2
    V = _principal(digits, K)
    s1 = np.linalg.norm(digits, 2)
    eigenvalues = np.linalg.eigvalsh(_hessian(digits, V, V.T))
    np.testing.assert_allclose(eigenvalues.max(), 4 * s1**2 / N, rtol=1e-10)  # checks: hessian-top-eigenvalue
    # Flat directions: K^2 from the invertible mixing, 3K from the three constant pixels.
    assert np.sum(np.abs(eigenvalues) < 1e-9) == K**2 + 3 * K  # checks: minima-dimension
    assert eigenvalues.min() > -1e-9  # checks: minima-dimension
    X = _synthetic()
    V = _principal(X, K)
    eigenvalues = np.linalg.eigvalsh(_hessian(X, V, V.T))
    assert np.sum(np.abs(eigenvalues) < 1e-9) == K**2  # checks: minima-dimension
    C = np.random.default_rng(3).normal(size=(K, K))
    np.testing.assert_allclose(solution.autoencoder_loss(X, V @ C, np.linalg.solve(C, V.T))[0],
                               solution.autoencoder_loss(X, V, V.T)[0], rtol=1e-10)  # checks: minima-dimension


def test_the_curvature_bound_where_the_weights_have_spectral_norm_at_most_one():
    rng = np.random.default_rng(4)
    X = _synthetic()
    N, D = X.shape
    s1 = np.linalg.norm(X, 2)
    for _ in range(200):
        W1, W2 = rng.normal(size=(D, 2)), rng.normal(size=(2, D))
        W1, W2 = W1 / np.linalg.norm(W1, 2), W2 / np.linalg.norm(W2, 2)
        A, B = rng.normal(size=(D, 2)), rng.normal(size=(2, D))
        scale = np.sqrt(np.sum(A**2) + np.sum(B**2))
        A, B = A / scale, B / scale
        E = X @ W1 @ W2 - X
        second = 2 / N * np.sum((X @ (A @ W2 + W1 @ B)) ** 2) + 4 / N * np.sum(E * (X @ A @ B))
        assert second <= 8 * s1**2 / N  # checks: curvature-bound
    assert np.linalg.eigvalsh(_hessian(X, W1, W2)).max() <= 8 * s1**2 / N  # checks: curvature-bound


def test_gradient_descent_on_the_digits_decreases_the_loss_at_every_step_and_keeps_balance(digits):
    steps = {}
    for K in [2, 8]:
        W1, W2, losses = solution.train_autoencoder(digits, K)
        steps[K] = len(losses)
        assert np.all(np.diff(losses) <= 0)  # checks: curvature-bound
        assert np.abs(W1.T @ W1 - W2 @ W2.T).max() < 0.01  # checks: balance-conserved
        # The null-space rows of W1 (the constant pixels) never move from their small start.
        assert np.abs(W1[[0, 32, 39]]).max() < 0.05  # checks: balanced-minimum
    assert steps[2] < steps[8]  # checks: learning-speed


def test_the_gradient_flow_conserves_the_balance_and_ignores_the_null_space(digits):
    rng = np.random.default_rng(5)
    W1, W2 = rng.normal(size=(64, 3)), rng.normal(size=(3, 64))
    _, grad_W1, grad_W2 = solution.autoencoder_loss(digits, W1, W2)
    np.testing.assert_allclose(W1.T @ grad_W1, grad_W2 @ W2.T, atol=1e-10)  # checks: balance-conserved
    assert not grad_W1[[0, 32, 39]].any()  # checks: balanced-minimum


def test_a_balanced_pair_need_not_be_symmetric():
    W1, W2 = np.array([[1.0], [0.0]]), np.array([[0.0, 1.0]])
    np.testing.assert_allclose(W1.T @ W1, W2 @ W2.T)  # checks: balanced-not-symmetric
    product = W1 @ W2
    assert not np.allclose(product, product.T) and not np.allclose(W1, W2.T)  # checks: balanced-not-symmetric


def test_training_on_the_scaled_r_factor_gives_the_same_loss_and_gradients():
    rng = np.random.default_rng(6)
    X, W1, W2 = rng.normal(size=(300, 6)), rng.normal(size=(6, 2)), rng.normal(size=(2, 6))
    N, D = X.shape
    R = np.linalg.qr(X, mode="r")
    assert R.shape == (D, D)  # checks: qr-equivalent-problem
    scaled = np.sqrt(D / N) * R
    pairs = zip(solution.autoencoder_loss(X, W1, W2), solution.autoencoder_loss(scaled, W1, W2), strict=True)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)  # checks: qr-equivalent-problem


def test_the_uncentred_error_is_never_smaller_and_equal_when_the_mean_is_in_the_subspace():
    rng = np.random.default_rng(7)
    for _ in range(20):
        X = _synthetic(int(rng.integers(1000))) + rng.normal(size=6) * 3
        for K in (1, 2, 3):
            _, uncentred = solution.pca(X, K, center=False)
            _, centred = solution.pca(X, K, center=True)
            assert uncentred >= centred - 1e-12  # checks: uncentred-error-never-smaller
    X = _synthetic()
    X = X - X.mean(axis=0)
    shifted = X + 5 * _principal(X, 1)[:, 0]  # the mean now lies in the top principal direction
    np.testing.assert_allclose(solution.pca(shifted, 2, center=False)[1], solution.pca(shifted, 2, center=True)[1],
                               rtol=1e-10)  # checks: uncentred-error-never-smaller


def test_biases_that_subtract_the_mean_and_add_it_back_give_pcas_error():
    X = _synthetic() + np.arange(6.0)
    mean = X.mean(axis=0)
    V = _principal(X - mean, 2)
    reconstruction = (X @ V - mean @ V) @ V.T + mean
    np.testing.assert_allclose(np.mean(np.sum((X - reconstruction) ** 2, axis=1)), solution.pca(X, 2)[1],
                               rtol=1e-10)  # checks: bias-remedy


def test_a_nonlinear_code_still_reconstructs_in_a_k_dimensional_subspace_no_better_than_pca(digits):
    rng = np.random.default_rng(8)
    K = 4
    for _ in range(3):
        H = np.tanh(digits @ rng.normal(size=(64, K)))
        W2 = np.linalg.lstsq(H, digits, rcond=None)[0]  # the best linear decoder for this code
        reconstruction = H @ W2
        # rank(R) = rank(R^T R), a 64 x 64 matrix
        assert np.linalg.matrix_rank(reconstruction.T @ reconstruction) <= K  # checks: nonlinear-code-still-linear
        error = np.mean(np.sum((digits - reconstruction) ** 2, axis=1))
        assert error >= solution.pca(digits, K)[1]  # checks: nonlinear-code-still-linear


def test_from_small_weights_each_direction_is_learned_at_a_rate_set_by_its_squared_singular_value():
    rng = np.random.default_rng(0)
    N, D = 400, 4
    U, _ = np.linalg.qr(rng.normal(size=(N, D)))
    V, _ = np.linalg.qr(rng.normal(size=(D, D)))
    s = np.array([1.0, 0.7, 0.5, 0.3]) * np.sqrt(N)
    X = U @ np.diag(s) @ V.T

    def map_along_v(steps):  # the map's component v_i^T W1 W2 v_i along every singular direction
        W1, W2, _ = solution.train_autoencoder(X, D, max_iter=steps, tol=1e-300)
        return np.diag(V.T @ W1 @ W2 @ V)

    early, later = map_along_v(4), map_along_v(8)
    assert later.max() < 0.2  # still the small-weight regime, far from the minimum's 1
    rate = np.log(later / early) / 4  # growth per step of each component
    # With the default step N / (4 s_1^2), the growing part of direction i gains a factor 1 + s_i^2 / (2 s_1^2) per
    # step in both factors: a rate log(1 + s_i^2 / (2 s_1^2)), about proportional to s_i^2 / s_1^2.
    predicted = 2 * np.log1p(s**2 / (2 * s[0] ** 2))
    np.testing.assert_allclose(rate[:3] / rate[0], predicted[:3] / predicted[0], atol=0.02)  # checks: learning-speed
    assert np.all(np.diff(rate) < 0)  # checks: learning-speed


def test_a_gap_at_k_alone_makes_the_principal_subspace_unique():
    from scipy.linalg import subspace_angles

    rng = np.random.default_rng(0)
    N, D, K = 400, 4, 2
    U, _ = np.linalg.qr(rng.normal(size=(N, D)))
    V, _ = np.linalg.qr(rng.normal(size=(D, D)))
    for singular_values, gap in [([1.0, 1.0, 0.5, 0.3], True), ([1.0, 0.6, 0.6, 0.3], False)]:
        X = U @ np.diag(np.array(singular_values) * np.sqrt(N)) @ V.T
        fits = [solution.train_autoencoder(X, K, random_state=seed) for seed in (0, 1, 2)]
        losses = [fit[2][-1] for fit in fits]
        angles = [np.degrees(subspace_angles(fits[0][1].T, fit[1].T).max()) for fit in fits[1:]]
        reconstructions = [X @ W1 @ W2 for W1, W2, _ in fits]
        np.testing.assert_allclose(losses, losses[0], rtol=1e-4)  # every start reaches the minimum value
        if gap:  # s_1 = s_2 (not distinct) but s_2 > s_3: one subspace, one X_K, from every start
            assert max(angles) < 0.01  # checks: principal-subspace-gap
            # checks: principal-subspace-gap
            np.testing.assert_allclose(reconstructions[1:], [reconstructions[0]] * 2, atol=1e-3)
        else:  # s_2 = s_3: the minima span different subspaces
            assert max(angles) > 10  # checks: principal-subspace-gap
