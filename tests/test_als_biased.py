"""Topic 01, going further: one penalty per row in update_factors, ALS-WR with biases on a MovieLens file, and the
same with implicit feedback (SVD++ fitted by ALS)."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Ridge

from latent_course.ratings import load_ratings, yelp_like_ratings
from latent_course.recommender import cold_start_filter, latent_factor_als_implicit, ratings_matrix, split_ratings
from latent_course.tools.solutions import load_solution

solution = load_solution("01_matrix_factorization")


def test_update_factors_takes_one_penalty_per_row():
    rng = np.random.default_rng(0)
    R = sp.random(30, 12, density=0.4, random_state=1, format="csr")
    F = rng.normal(size=(12, 5))
    penalties = rng.uniform(0.1, 20.0, size=30)
    X = solution.update_factors(R, F, penalties)
    for i in range(30):
        stored = slice(R.indptr[i], R.indptr[i + 1])
        expected = (Ridge(alpha=penalties[i], fit_intercept=False).fit(F[R.indices[stored]], R.data[stored]).coef_
                    if R.indices[stored].size else np.zeros(5))
        np.testing.assert_allclose(X[i], expected, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("penalties", [np.ones(29), -np.ones(30), np.full(30, np.nan)])
def test_update_factors_refuses_bad_penalties(penalties):
    with pytest.raises(ValueError, match="reg_lambda"):
        solution.update_factors(sp.random(30, 12, density=0.4, random_state=1, format="csr"), np.ones((12, 3)),
                                penalties)


def _ratings_file(tmp_path):
    """A MovieLens u.data file (tab-separated user, item, rating, timestamp) from a small synthetic set."""
    ratings, _ = yelp_like_ratings(random_state=3, n_users=400, n_items=150, n_ratings=12_000)
    rows = [f"{u + 1}\t{i + 101}\t{r}\t{881250949 + n}" for n, (u, i, r) in enumerate(ratings.triplets)]
    path = tmp_path / "u.data"
    path.write_text("\n".join(rows) + "\n")
    return path


def _fixed_point_gap(model, M, reg_lambda):
    """How far the items' (p, c) are from one exact ALS-WR half-step (the last one), solved row by row."""
    M = sp.csc_matrix(M)
    gap = 0.0
    for x in range(M.shape[1]):
        users = M.indices[M.indptr[x]:M.indptr[x + 1]]
        A = np.column_stack([model.Q[users], np.ones(users.size)])
        y = M.data[M.indptr[x]:M.indptr[x + 1]] - model.mu - model.user_bias[users]
        solved = np.linalg.solve(A.T @ A + reg_lambda * max(users.size, 1) * np.eye(A.shape[1]), A.T @ y)
        gap = max(gap, np.abs(solved - np.append(model.P[:, x], model.item_bias[x])).max())
    return gap


def test_als_wr_with_biases_runs_on_a_movielens_file_and_beats_the_baselines(tmp_path):
    ratings = load_ratings(_ratings_file(tmp_path))
    M, _, _ = cold_start_filter(ratings_matrix(ratings.triplets), min_ratings=5)
    M_train, val_idx, test_idx, val_values, test_values = split_ratings(M, 300, 300, random_state=0)
    model = solution.latent_factor_als_biased(M_train, k=4, reg_lambda=0.05, weighted=True, n_iterations=15)
    assert model.Q.shape == (M.shape[0], 4) and model.P.shape == (4, M.shape[1])
    assert model.mu == pytest.approx(M_train.data.mean())
    assert _fixed_point_gap(model, M_train, 0.05) < 1e-8  # the last half-step, the items', is exact

    def star_rmse(predictions):
        return np.sqrt(np.mean((test_values - predictions) ** 2))

    user_means = np.asarray(M_train.sum(axis=1)).ravel() / np.maximum(np.diff(M_train.indptr), 1)
    assert star_rmse(model.predict(test_idx)) < star_rmse(user_means[test_idx[0]]) - 0.05
    assert star_rmse(model.predict(test_idx)) < star_rmse(np.full(300, M_train.data.mean())) - 0.1


def test_als_with_biases_weighted_and_plain_penalties_differ():
    ratings, _ = yelp_like_ratings(random_state=3, n_users=400, n_items=150, n_ratings=12_000)
    M, _, _ = cold_start_filter(ratings_matrix(ratings.triplets), min_ratings=5)
    weighted = solution.latent_factor_als_biased(M, 3, 0.05, weighted=True, n_iterations=5)
    plain = solution.latent_factor_als_biased(M, 3, 0.05 * 30, weighted=False, n_iterations=5)
    assert _fixed_point_gap(weighted, M, 0.05) < 1e-8
    assert _fixed_point_gap(plain, M, 0.05) > 1e-3


def test_the_user_bias_is_the_shrunk_mean_residual():
    ratings, _ = yelp_like_ratings(random_state=3, n_users=400, n_items=150, n_ratings=12_000)
    M, _, _ = cold_start_filter(ratings_matrix(ratings.triplets), min_ratings=5)
    model = solution.latent_factor_als_biased(M, 3, 0.05, weighted=True, n_iterations=3)
    for i in range(0, M.shape[0], 17):  # an exact users' half-step from the model, then the bias formula
        items = M.indices[M.indptr[i]:M.indptr[i + 1]]
        A = np.column_stack([model.P[:, items].T, np.ones(items.size)])
        y = M.data[M.indptr[i]:M.indptr[i + 1]] - model.mu - model.item_bias[items]
        q_b = np.linalg.solve(A.T @ A + 0.05 * items.size * np.eye(4), A.T @ y)
        residual = y - model.P[:, items].T @ q_b[:3]
        np.testing.assert_allclose(q_b[3], residual.mean() / (1 + 0.05), rtol=1e-10, atol=1e-12)  # checks: bias-optimum


# SVD++ fitted by ALS (latent_course.recommender.latent_factor_als_implicit): the biased model plus implicit factors.

def _implicit_problem(seed=5, N=40, D=25, k=3):
    """Small 1-to-5-star ratings with a user and an item without any, and the centred matrix's SVD start."""
    rng = np.random.default_rng(seed)
    dense = rng.integers(1, 6, size=(N, D)) * (rng.random((N, D)) < 0.35)
    dense[1], dense[:, 2] = 0, 0
    M = sp.csr_matrix(dense.astype(float))
    centred = M.copy()
    centred.data -= M.data.mean()
    _, P = solution.initialize_Q_P(centred, k, "svd", 0)
    return M, P


def _implicit_objective(M, model, reg_lambda, reg_implicit):
    """The SVD++ objective (svdpp) written out from the stored entries, independently of the fit."""
    coo = M.tocoo()
    n, m = np.diff(M.indptr), np.diff(M.tocsc().indptr)
    implicit = np.zeros_like(model.Q)
    for i in range(M.shape[0]):
        rated = M.indices[M.indptr[i]:M.indptr[i + 1]]
        if rated.size:
            implicit[i] = model.Y[rated].sum(axis=0) / np.sqrt(rated.size)
    predictions = (model.mu + model.user_bias[coo.row] + model.item_bias[coo.col]
                   + np.einsum("nk,kn->n", (model.Q + implicit)[coo.row], model.P[:, coo.col]))
    errors = coo.data - predictions
    return (errors @ errors
            + reg_lambda * n @ (np.sum(model.Q**2, axis=1) + model.user_bias**2)
            + reg_lambda * m @ (np.sum(model.P**2, axis=0) + model.item_bias**2)
            + reg_implicit * np.sum(model.Y**2)), implicit


def test_implicit_als_never_increases_its_objective():
    M, P = _implicit_problem()
    values = []
    for sweeps in range(1, 9):
        model = latent_factor_als_implicit(M, P, 0.1, 2.0, solution.update_factors, n_iterations=sweeps, cg_steps=2)
        value, implicit = _implicit_objective(M, model, 0.1, 2.0)
        np.testing.assert_allclose(model.implicit, implicit, atol=1e-12)  # checks: svdpp
        values.append(value)
    assert np.all(np.diff(values) <= 1e-10 * values[0]), values  # checks: svdpp-monotone
    assert values[-1] < values[0] - 1e-3  # the implicit factors are used, not left at zero


def test_implicit_als_without_conjugate_gradient_steps_is_the_biased_model():
    M, P = _implicit_problem()
    model = latent_factor_als_implicit(M, P, 0.1, 2.0, solution.update_factors, n_iterations=6, cg_steps=0)
    biased = solution.latent_factor_als_biased(M, 3, 0.1, n_iterations=6)
    assert not model.Y.any() and not model.implicit.any()  # checks: svdpp-reduces
    for ours, theirs in [(model.Q, biased.Q), (model.P, biased.P), (model.user_bias, biased.user_bias),
                         (model.item_bias, biased.item_bias)]:
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)  # checks: svdpp-reduces


def test_enough_conjugate_gradient_steps_solve_the_implicit_half_step_exactly():
    M, P = _implicit_problem(N=30, D=12, k=2)
    reg_implicit = 0.7
    # CG ends at the exact solution after at most D k steps (in exact arithmetic); a few more absorb rounding.
    model = latent_factor_als_implicit(M, P, 0.2, reg_implicit, solution.update_factors, n_iterations=2,
                                       cg_steps=3 * 12 * 2)
    coo = M.tocoo()
    n = np.diff(M.indptr)
    # The implicit part is linear in Y: the prediction at (i, x) is p_x . sum_j Nn[i, j] y_j, a dense design of D k.
    design = np.zeros((coo.nnz, 12 * 2))
    for row, (i, x) in enumerate(zip(coo.row, coo.col, strict=True)):
        rated = M.indices[M.indptr[i]:M.indptr[i + 1]]
        for j in rated:
            design[row, j * 2:(j + 1) * 2] = model.P[:, x] / np.sqrt(n[i])
    errors = (coo.data - model.mu - model.user_bias[coo.row] - model.item_bias[coo.col]
              - np.einsum("nk,kn->n", model.Q[coo.row], model.P[:, coo.col]))
    exact = np.linalg.solve(design.T @ design + reg_implicit * np.eye(24), design.T @ errors).reshape(12, 2)
    np.testing.assert_allclose(model.Y, exact, rtol=1e-7, atol=1e-9)  # checks: svdpp-y-step
    # The notes' form of the same system: W~^T (A_i (W~ Y)_i)_i + lambda_y Y = W~^T G.
    W = sp.diags(1 / np.sqrt(np.maximum(n, 1))) @ (M != 0).astype(float)
    implicit = W @ model.Y
    A_times = np.zeros_like(implicit)
    G = np.zeros_like(implicit)
    for i in range(M.shape[0]):
        rated = M.indices[M.indptr[i]:M.indptr[i + 1]]
        A_times[i] = model.P[:, rated] @ (model.P[:, rated].T @ implicit[i])
        G[i] = model.P[:, rated] @ errors[coo.row == i]  # the COO entries of a CSR row keep its order
    left, right = W.T @ A_times + reg_implicit * model.Y, W.T @ G
    np.testing.assert_allclose(left, right, atol=1e-8)  # checks: svdpp-normal-equations


def test_implicit_als_converges_to_a_stationary_point_of_its_objective():
    M, P = _implicit_problem(seed=8)
    lam, lam_y = 0.1, 2.0
    model = latent_factor_als_implicit(M, P, lam, lam_y, solution.update_factors, n_iterations=400, cg_steps=10)
    coo = M.tocoo()
    n, m = np.diff(M.indptr), np.diff(M.tocsc().indptr)
    user_vectors = model.Q + model.implicit
    errors = coo.data - model.predict((coo.row, coo.col))
    weighted = sp.csr_matrix((errors, (coo.row, coo.col)), shape=M.shape)
    gradients = {  # half the gradient of (svdpp) with respect to every block
        "Q": -(weighted @ model.P.T) + lam * n[:, None] * model.Q,
        "b": -np.asarray(weighted.sum(axis=1)).ravel() + lam * n * model.user_bias,
        "P": -(weighted.T @ user_vectors) + lam * m[:, None] * model.P.T,
        "c": -np.asarray(weighted.sum(axis=0)).ravel() + lam * m * model.item_bias,
        "Y": -(sp.diags(1 / np.sqrt(np.maximum(n, 1))) @ (M != 0)).T @ (weighted @ model.P.T) + lam_y * model.Y,
    }
    for name, gradient in gradients.items():
        assert np.abs(gradient).max() < 1e-6, name  # checks: svdpp-half-steps


@pytest.mark.parametrize("change, message", [
    ({"P": np.ones((3, 24))}, "P must be a finite array of shape"),
    ({"cg_steps": -1}, "cg_steps must be at least 0"),
    ({"reg_implicit": 0.0}, "reg_implicit must be a finite number greater than 0"),
])
def test_implicit_als_refuses_bad_arguments(change, message):
    M, P = _implicit_problem()
    arguments = {"M": M, "P": P, "reg_lambda": 0.1, "reg_implicit": 2.0, "update_factors": solution.update_factors,
                 **change}
    with pytest.raises(ValueError, match=message):
        latent_factor_als_implicit(**arguments)
