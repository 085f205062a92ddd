"""Claims of the lecture notes on topic 01 that are checked here rather than in the notebook."""

import numpy as np
import pytest
import scipy.sparse as sp

from latent_course.ratings import yelp_like_ratings
from latent_course.recommender import cold_start_filter, loss, ratings_matrix, split_ratings
from latent_course.tools.solutions import load_solution

solution = load_solution("01_matrix_factorization")


def _ratings(seed=0, N=60, D=40, density=0.3):
    """A small sparse matrix of 1 to 5 stars; row 0 has only 3 ratings, row 1 none."""
    rng = np.random.default_rng(seed)
    dense = rng.integers(1, 6, size=(N, D)) * (rng.random((N, D)) < density)
    dense[0] = 0
    dense[0, :3] = [5, 3, 4]
    dense[1] = 0
    return sp.csr_matrix(dense.astype(float))


def _closed_form(R, F, penalty, row):
    columns = R[row].indices
    A, r = F[columns], R[row].data
    return np.linalg.solve(A.T @ A + penalty * np.eye(F.shape[1]), A.T @ r)


def _full_gradient(M, Q, P, reg_lambda):
    """The gradient of the objective L at (Q, P), from the stored entries of M."""
    coo = M.tocoo()
    errors = coo.data - np.einsum("nk,kn->n", Q[coo.row], P[:, coo.col])
    grad_Q = 2 * reg_lambda * Q
    grad_P = 2 * reg_lambda * P
    np.add.at(grad_Q, coo.row, -2 * errors[:, None] * P[:, coo.col].T)
    np.add.at(grad_P.T, coo.col, -2 * errors[:, None] * Q[coo.row])
    return grad_Q, grad_P


@pytest.fixture(scope="module")
def course_data():
    """The notebook's training matrix: the synthetic ratings, their cold-start core and the split."""
    ratings, _ = yelp_like_ratings(random_state=0)
    M, _, _ = cold_start_filter(ratings_matrix(ratings.triplets), min_ratings=20)
    return split_ratings(M, n_validation=5000, n_test=5000, random_state=0)[0]


def test_the_objective_and_its_invariance():
    rng = np.random.default_rng(0)
    M = _ratings()
    coo = M.tocoo()
    Q, P, reg_lambda = rng.normal(size=(60, 3)), rng.normal(size=(3, 40)), 0.7
    data_term = sum((value - Q[i] @ P[:, x]) ** 2 for i, x, value in zip(coo.row, coo.col, coo.data, strict=True))
    penalty = reg_lambda * (sum(np.sum(P[:, x] ** 2) for x in range(40)) + sum(np.sum(Q[i] ** 2) for i in range(60)))
    by_formula = data_term + penalty
    np.testing.assert_allclose(loss(coo.data, (coo.row, coo.col), Q, P, reg_lambda), by_formula,
                               rtol=1e-12)  # checks: mf-objective
    C = rng.normal(size=(3, 3))
    np.testing.assert_allclose(loss(coo.data, (coo.row, coo.col), Q @ C, np.linalg.solve(C, P), 0.0),
                               loss(coo.data, (coo.row, coo.col), Q, P, 0.0), rtol=1e-9)  # checks: mf-invariance


def test_the_half_step_is_the_ridge_solution_of_every_row():
    rng = np.random.default_rng(1)
    M, F, reg_lambda = _ratings(), rng.normal(size=(40, 5)), 0.3
    X = solution.update_factors(M, F, reg_lambda)
    for row in [0, 2, 10, 59]:
        np.testing.assert_allclose(X[row], _closed_form(M, F, reg_lambda, row), rtol=1e-9)  # checks: als-ridge-solution
        A, r = F[M[row].indices], M[row].data
        gradient = -2 * A.T @ (r - A @ X[row]) + 2 * reg_lambda * X[row]  # of the row objective
        np.testing.assert_allclose(gradient, 0, atol=1e-9)  # checks: als-row-objective, als-ridge-solution
    # Row 0 has 3 ratings for k = 5: F^T F alone is singular, the ridge solution still unique; row 1 has none.
    assert np.linalg.matrix_rank(F[M[0].indices].T @ F[M[0].indices]) == 3  # checks: als-unique-solution
    assert not X[1].any()  # checks: als-unique-solution


def test_the_push_through_identity():
    rng = np.random.default_rng(2)
    for L, k in [(3, 8), (8, 3), (5, 5)]:
        F = rng.normal(size=(L, k))
        np.testing.assert_allclose(np.linalg.solve(F.T @ F + 0.4 * np.eye(k), F.T),
                                   F.T @ np.linalg.inv(F @ F.T + 0.4 * np.eye(L)), atol=1e-10)  # checks: push-through


def test_als_never_increases_the_objective_and_approaches_a_stationary_point():
    M, _ = solution.shift_user_mean(_ratings())
    idx = np.column_stack([np.repeat(np.arange(M.shape[0]), np.diff(M.indptr)), M.indices])
    val = (np.array([2, 3]), np.array([5, 6]))
    result = solution.latent_factor_alternating_optimization(M, idx, 4, val, np.zeros(2), 0.5, max_steps=300,
                                                            init="random", log_every=0, patience=300)
    train_losses = np.array(result[3])
    assert np.all(np.diff(train_losses) <= 1e-9 * train_losses[:-1])  # checks: als-monotone
    # From the last factors, the gradient of L is tiny next to its size at the start.
    Q, P = solution.initialize_Q_P(M, 4, "random", 0)
    Q = solution.update_factors(M, P.T, 0.5)
    for _ in range(300):
        P = solution.update_factors(M.T.tocsr(), Q, 0.5).T
        Q = solution.update_factors(M, P.T, 0.5)
    grad_Q, grad_P = _full_gradient(M, Q, P, 0.5)
    start_Q, start_P = solution.initialize_Q_P(M, 4, "random", 0)
    start = np.sqrt(sum(np.sum(g**2) for g in _full_gradient(M, start_Q, start_P, 0.5)))
    assert np.sqrt(np.sum(grad_Q**2) + np.sum(grad_P**2)) < 1e-4 * start  # checks: als-stationary-limits


def test_simultaneous_updates_can_increase_the_objective():
    # One rating M = 1, k = 1: L(q, p) = (1 - qp)^2 + lam (q^2 + p^2), both updates from the old values.
    lam, q, p = 1e-3, 0.1, 0.1

    def objective(q, p):
        return (1 - q * p) ** 2 + lam * (q**2 + p**2)

    new_q, new_p = p / (p**2 + lam), q / (q**2 + lam)
    assert objective(new_q, new_p) > objective(q, p)  # checks: simultaneous-update
    sequential_q = p / (p**2 + lam)
    sequential_p = sequential_q / (sequential_q**2 + lam)
    assert objective(sequential_q, sequential_p) <= objective(q, p)  # checks: simultaneous-update


def _lu_multiply_adds(n):
    """Count the multiply-adds of an LU factorisation without pivoting, by running it."""
    A = np.random.default_rng(3).normal(size=(n, n)) + n * np.eye(n)
    count = 0
    for j in range(n - 1):
        A[j + 1:, j] /= A[j, j]
        A[j + 1:, j + 1:] -= np.outer(A[j + 1:, j], A[j, j + 1:])
        count += (n - j - 1) ** 2
    return count


def _cholesky_multiply_adds(n):
    """Count the multiply-adds of a Cholesky factorisation (lower triangle only), by running it."""
    G = np.random.default_rng(4).normal(size=(n, n))
    A = G @ G.T + n * np.eye(n)
    L, count = np.zeros((n, n)), 0
    for j in range(n):
        L[j, j] = np.sqrt(A[j, j] - L[j, :j] @ L[j, :j])
        count += j
        for i in range(j + 1, n):
            L[i, j] = (A[i, j] - L[i, :j] @ L[j, :j]) / L[j, j]
            count += j
    np.testing.assert_allclose(L @ L.T, A, rtol=1e-10)
    return count


def _gram_multiply_adds(A):
    """Form A^T A entry by entry, as a product that ignores symmetry does, counting the multiply-adds."""
    L, k = A.shape
    G, count = np.zeros((k, k)), 0
    for i in range(k):
        for j in range(k):
            for row in range(L):
                G[i, j] += A[row, i] * A[row, j]
                count += 1
    np.testing.assert_allclose(G, A.T @ A, rtol=1e-12)
    return count


def test_operation_counts_of_the_solves_and_the_gram_matrices():
    n = 120
    np.testing.assert_allclose(_lu_multiply_adds(n) / (n**3 / 3), 1, atol=0.03)  # checks: als-operation-counts
    np.testing.assert_allclose(_cholesky_multiply_adds(n) / (n**3 / 6), 1, atol=0.03)  # checks: als-operation-counts
    L, k = 50, 7
    A = np.random.default_rng(5).normal(size=(L, k))
    assert _gram_multiply_adds(A) == L * k**2  # checks: als-operation-counts
    assert _gram_multiply_adds(A.T) == k * L**2  # checks: als-operation-counts


def _solved_systems(R, F, monkeypatch):
    """Run update_factors and record the (number, size) of the stacked systems it hands to np.linalg.solve."""
    solve, calls = np.linalg.solve, []

    def recording_solve(G, b):
        calls.append(G.shape[:2])
        return solve(G, b)

    monkeypatch.setattr(np.linalg, "solve", recording_solve)
    solution.update_factors(R, F, 1.0)
    monkeypatch.setattr(np.linalg, "solve", solve)
    return calls


def test_the_cost_of_a_sweep_counted_row_by_row_on_the_notebooks_training_data(course_data, monkeypatch):
    M = course_data
    N, D = M.shape
    lengths = np.concatenate([np.diff(M.tocsr().indptr), np.diff(M.tocsc().indptr)])
    assert (M.nnz, N, D) == (182_715, 3_338, 2_016)  # checks: als-cost-ratio

    def per_row(k):  # multiply-adds of one sweep: k x k form for rows with L >= k, L x L form for shorter ones
        short = lengths < k
        return (np.where(short, lengths**2 * k, lengths * k**2).sum(),
                np.where(short, lengths**3, k**3).sum() / 3, short.mean())

    def formula(k):
        return 2 * M.nnz * k**2, (N + D) * k**3 / 3

    np.testing.assert_allclose(np.divide(*formula(20)), 6 * M.nnz / ((N + D) * 20))  # checks: als-sweep-cost
    # The code really takes the L x L path for short rows: the systems it solves are as large as the count assumes.
    rng = np.random.default_rng(0)
    for k in (20, 100):
        solved = _solved_systems(M, rng.normal(size=(D, k)), monkeypatch)
        solved += _solved_systems(M.T.tocsr(), rng.normal(size=(N, k)), monkeypatch)
        assert sum(count for count, _ in solved) == N + D  # checks: als-cost-ratio
        np.testing.assert_allclose(sum(count * size**3 for count, size in solved) / 3, per_row(k)[1],
                                   rtol=0.05)  # checks: als-cost-ratio
    gram, solves, short = per_row(20)
    assert 0.05 < short < 0.07 and 9.5 < gram / solves < 11  # checks: als-cost-ratio
    gram, solves, short = per_row(100)
    assert 0.87 < short < 0.89 and 7 < gram / solves < 8  # checks: als-cost-ratio
    assert 1.7 < sum(formula(100)) / (gram + solves) < 1.8  # checks: als-cost-ratio
    gram, solves, short = per_row(200)
    assert 0.94 < short < 0.96 and 6.5 < gram / solves < 7.5  # checks: als-cost-ratio


def test_a_random_start_predicts_about_k_over_4():
    M = _ratings()
    Q, P = solution.initialize_Q_P(M, 100, "random", 0)
    np.testing.assert_allclose((Q @ P).mean(), 25, rtol=0.02)  # checks: random-init-prediction


def test_the_svd_start_is_the_best_rank_k_approximation_and_balanced():
    M, k = _ratings(), 4
    Q, P = solution.initialize_Q_P(M, k, "svd", 0)
    s = np.linalg.svd(M.toarray(), compute_uv=False)
    np.testing.assert_allclose(np.sum((M.toarray() - Q @ P) ** 2), np.sum(s[k:] ** 2), rtol=1e-8)  # checks: svd-init
    np.testing.assert_allclose(np.linalg.norm(Q, axis=0), np.linalg.norm(P, axis=1), rtol=1e-8)  # checks: svd-init
    np.testing.assert_allclose(np.sort(np.linalg.norm(Q, axis=0) ** 2), np.sort(s[:k]), rtol=1e-8)  # checks: svd-init


def test_rebalancing_keeps_the_product_and_equalises_the_norms():
    rng = np.random.default_rng(6)
    Q, P = rng.normal(size=(30, 3)) * [50.0, 5.0, 0.5], rng.normal(size=(3, 20))
    c = np.sqrt(np.linalg.norm(Q, axis=0) / np.linalg.norm(P, axis=1))
    balanced_Q, balanced_P = Q / c, P * c[:, None]
    np.testing.assert_allclose(balanced_Q @ balanced_P, Q @ P, rtol=1e-12)  # checks: sgd-rebalance
    # checks: sgd-rebalance
    np.testing.assert_allclose(np.linalg.norm(balanced_Q, axis=0), np.linalg.norm(balanced_P, axis=1))


def _gradient_descent_losses(M, Q, P, learning_rate, steps):
    """The data term's value at every step of full-batch gradient descent on it from (Q, P)."""
    M = sp.coo_matrix(M)
    rows, columns, values = M.row, M.col, M.data
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            errors = values - np.einsum("nk,kn->n", Q[rows], P[:, columns])
            losses.append(errors @ errors)
            grad_Q, grad_P = np.zeros_like(Q), np.zeros_like(P)
            np.add.at(grad_Q, rows, -2 * errors[:, None] * P[:, columns].T)
            np.add.at(grad_P.T, columns, -2 * errors[:, None] * Q[rows])
            Q, P = Q - learning_rate * grad_Q, P - learning_rate * grad_P
    return np.array(losses)


def test_rebalancing_is_what_lets_the_gradient_steps_converge():
    M, k = _ratings(), 4
    balanced_Q, balanced_P = solution.initialize_Q_P(M, k, "svd", 0)
    lengths = np.linalg.norm(balanced_P, axis=1)
    Q, P = balanced_Q * lengths, balanced_P / lengths[:, None]  # Q = U_k S_k, P = V_k^T: the same product
    c = np.sqrt(np.linalg.norm(Q, axis=0) / np.linalg.norm(P, axis=1))  # the notes' rebalancing
    unbalanced = _gradient_descent_losses(M, Q, P, 0.01, 30)
    rebalanced = _gradient_descent_losses(M, Q / c, P * c[:, None], 0.01, 30)
    assert unbalanced[1] > 10 * unbalanced[0] and not np.isfinite(unbalanced[-1])  # checks: sgd-rebalance
    assert np.all(np.diff(rebalanced) < 0) and rebalanced[-1] < rebalanced[0] / 3  # checks: sgd-rebalance


def test_early_stopping_reports_the_iteration_of_the_best_evaluation():
    M, _ = solution.shift_user_mean(_ratings(seed=7, N=80, D=60))
    idx = np.column_stack([np.repeat(np.arange(M.shape[0]), np.diff(M.indptr)), M.indices])
    rng = np.random.default_rng(7)
    val_idx = (rng.integers(0, 80, size=40), rng.integers(0, 60, size=40))
    val_values = rng.normal(size=40)
    _, _, val_losses, _, converged_after = solution.latent_factor_alternating_optimization(
        M, idx, 8, val_idx, val_values, 1e-3, max_steps=200, init="random", log_every=0, patience=3, eval_every=2)
    assert converged_after >= 0  # checks: early-stopping-index
    assert converged_after == 2 * int(np.argmin(val_losses))  # checks: early-stopping-index
    assert len(val_losses) == converged_after // 2 + 3 + 1  # checks: early-stopping-index


def test_rows_with_fewer_ratings_than_k_are_fitted_almost_exactly_with_a_tiny_penalty():
    rng = np.random.default_rng(8)
    M = _ratings()
    F = rng.normal(size=(40, 100))
    X = solution.update_factors(M, F, 1e-4)
    for row in range(2, 60):
        residual = M[row].data - F[M[row].indices] @ X[row]
        assert np.abs(residual).max() < 1e-3  # checks: original-setting-overfits


def test_the_standard_error_of_an_rmse_from_gaussian_errors():
    rng = np.random.default_rng(9)
    for n, expected in [(200, 0.05), (5000, 0.01)]:
        rmses = np.sqrt(np.mean(rng.normal(size=(4000, n)) ** 2, axis=1))
        np.testing.assert_allclose(rmses.std(), 1 / np.sqrt(2 * n), rtol=0.05)  # checks: rmse-standard-error
        np.testing.assert_allclose(1 / np.sqrt(2 * n), expected, rtol=0.01)  # checks: rmse-standard-error


def test_an_sgd_epoch_with_one_batch_is_a_gradient_step_of_half_the_rate():
    M = _ratings(seed=10)
    M = M[np.diff(M.indptr) > 0][:, np.diff(M.tocsc().indptr) > 0]  # a row without ratings is never visited by SGD
    M, _ = solution.shift_user_mean(M)
    reg_lambda, eta, k = 0.8, 1e-3, 3
    Q0, P0 = solution.initialize_Q_P(M, k, "random", 0)
    result = solution.latent_factor_sgd(M, k, (np.array([2]), np.array([3])), np.zeros(1), reg_lambda,
                                        learning_rate=eta, batch_size=M.nnz, max_epochs=2, patience=5, init="random",
                                        random_state=0)
    train_losses = result[3]
    coo = M.tocoo()
    np.testing.assert_allclose(train_losses[0], loss(coo.data, (coo.row, coo.col), Q0, P0, reg_lambda), rtol=1e-12)
    grad_Q, grad_P = _full_gradient(M, Q0, P0, reg_lambda)
    stepped = loss(coo.data, (coo.row, coo.col), Q0 - eta / 2 * grad_Q, P0 - eta / 2 * grad_P, reg_lambda)
    np.testing.assert_allclose(train_losses[1], stepped, rtol=1e-10)  # checks: sgd-step


def test_the_weighted_half_step_and_its_scale():
    rng = np.random.default_rng(11)
    M = _ratings(seed=11)
    F = np.column_stack([rng.normal(size=(40, 3)), np.ones(40)])  # the factors with a column of ones for the bias
    counts = np.maximum(np.diff(M.indptr), 1)
    X = solution.update_factors(M, F, 0.2 * counts)
    for row in [0, 5, 30]:
        # checks: als-wr, als-wr-half-step
        np.testing.assert_allclose(X[row], _closed_form(M, F, 0.2 * counts[row], row), rtol=1e-9)
    # Every rating counted twice: the same vectors under ALS-WR, different ones under the plain penalty.
    doubled = sp.csr_matrix(sp.hstack([M, M]))
    F2 = np.vstack([F, F])
    X2 = solution.update_factors(doubled, F2, 0.2 * 2 * counts)
    np.testing.assert_allclose(X2[2:], X[2:], rtol=1e-9)  # checks: als-wr-scale
    # checks: als-wr-scale
    assert not np.allclose(solution.update_factors(doubled, F2, 0.2)[2:], solution.update_factors(M, F, 0.2)[2:])


def test_the_seeds_user_means_average_over_known_ratings_but_have_other_defects():
    dense = np.array([[4.0, 0.0, 2.0], [0.0, 0.0, 0.0], [5.0, 5.0, 2.0]])
    matrix = sp.csr_matrix(dense)
    known = matrix != 0
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.asarray(matrix.sum(1) / known.sum(1))  # the seed's formula
    assert means.shape == (3, 1)  # checks: seed-user-means
    np.testing.assert_allclose(means[[0, 2], 0], [3.0, 4.0])  # checks: seed-user-means
    assert np.isnan(means[1, 0])  # checks: seed-user-means
    shifted = sp.csr_matrix(np.array([[4.0, 0.0, 3.0]])) - sp.csr_matrix(np.array([[3.0, 0.0, 3.0]]))
    assert shifted.nnz == 1  # checks: seed-user-means


def test_the_optimal_user_bias_is_the_shrunk_mean_residual():
    rng = np.random.default_rng(12)
    M = _ratings(seed=12)
    coo = M.tocoo()
    k, lam = 3, 0.3
    Q, P, c = rng.normal(size=(60, k)), rng.normal(size=(k, 40)), rng.normal(size=40)
    mu = coo.data.mean()
    n = np.bincount(coo.row, minlength=60)

    def objective(b):  # the terms of L_WR that involve the user biases
        errors = coo.data - mu - b[coo.row] - c[coo.col] - np.einsum("nk,kn->n", Q[coo.row], P[:, coo.col])
        return errors @ errors + lam * n @ b**2

    residual = coo.data - mu - c[coo.col] - np.einsum("nk,kn->n", Q[coo.row], P[:, coo.col])
    rated = n > 0
    b = np.zeros(60)
    b[rated] = np.bincount(coo.row, weights=residual, minlength=60)[rated] / n[rated] / (1 + lam)
    for user in np.flatnonzero(rated)[:10]:
        step = np.zeros(60)
        step[user] = 1e-4
        slope = (objective(b + step) - objective(b - step)) / 2e-4
        assert abs(slope) < 1e-6 * n[user]  # checks: bias-optimum
