"""Topic 01, going further: one penalty per row in update_factors, and ALS-WR with biases on a MovieLens file."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Ridge

from latent_course.ratings import load_ratings, yelp_like_ratings
from latent_course.recommender import cold_start_filter, ratings_matrix, split_ratings
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
