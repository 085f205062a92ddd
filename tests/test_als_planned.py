"""Topic 06, going further: the planned half-steps solve the same ridge regressions as topic 01's update_factors."""

import numpy as np
import pytest
import scipy.sparse as sp

from latent_course.tools.solutions import load_solution

topic01 = load_solution("01_matrix_factorization")
topic06 = load_solution("06_matrix_factorization_on_spark")


def _rows_of_every_length(n_rows, n_columns, longest, random_state):
    """A sparse matrix whose rows have 0, 1, ..., `longest` ratings (cycling), with explicit zeros among them."""
    rng = np.random.default_rng(random_state)
    lengths = np.arange(n_rows) % (longest + 1)
    rows = np.repeat(np.arange(n_rows), lengths)
    columns = np.concatenate([rng.choice(n_columns, size=L, replace=False) for L in lengths])
    values = rng.integers(0, 6, size=rows.size).astype(float)  # 0 is a stored rating, not a missing one
    return sp.csr_matrix((values, (rows, columns)), shape=(n_rows, n_columns))


@pytest.mark.parametrize("k", [1, 4, 7])
def test_planned_half_step_equals_update_factors_for_rows_of_every_length(k):
    R = _rows_of_every_length(120, 40, longest=12, random_state=k)
    F = np.random.default_rng(0).normal(size=(40, k))
    penalties = np.random.default_rng(1).uniform(0.05, 5.0, size=120)
    planned = topic06.planned_update_factors(topic06.ridge_plan(R), F, penalties)
    # checks: elimination-without-pivoting
    np.testing.assert_allclose(planned, topic01.update_factors(R, F, penalties), rtol=1e-9, atol=1e-12)
    assert np.all(planned[np.diff(R.indptr) == 0] == 0)


def test_the_plan_groups_rows_by_their_number_of_ratings():
    R = _rows_of_every_length(30, 20, longest=4, random_state=0)
    groups = topic06.ridge_plan(R)
    assert [columns.shape[1] for _, columns, _ in groups] == [1, 2, 3, 4]
    for rows, columns, ratings in groups:
        for row, row_columns, row_ratings in zip(rows, columns, ratings, strict=True):
            stored = slice(R.indptr[row], R.indptr[row + 1])
            assert list(row_columns) == list(R.indices[stored]) and list(row_ratings) == list(R.data[stored])
    assert sorted(np.concatenate([rows for rows, _, _ in groups])) == list(np.flatnonzero(np.diff(R.indptr)))


def test_one_rating_closed_form_is_the_ridge_solution():
    f, r, lam = np.array([0.3, -1.2, 2.0]), 4.0, 0.7
    # checks: one-rating-ridge
    np.testing.assert_allclose(r * f / (f @ f + lam), np.linalg.solve(np.outer(f, f) + lam * np.eye(3), f * r))


def test_planned_als_wr_gives_als_wr_s_factors():
    R = _rows_of_every_length(200, 60, longest=15, random_state=2)
    Q, P = topic06.als_wr(R, 5, 0.1, n_iterations=4)
    Q_planned, P_planned = topic06.als_wr_planned(R, 5, 0.1, n_iterations=4)
    np.testing.assert_allclose(Q_planned, Q, atol=1e-9)
    np.testing.assert_allclose(P_planned, P, atol=1e-9)


def test_a_matrix_without_rows_or_ratings_plans_no_groups():
    for R in (sp.csr_matrix((0, 5)), sp.csr_matrix((4, 5))):
        groups = topic06.ridge_plan(R)
        assert groups == []
        X = topic06.planned_update_factors(groups, np.ones((5, 3)), np.ones(R.shape[0]))
        assert X.shape == (R.shape[0], 3) and not X.any()


def test_stacked_elimination_takes_integer_systems_and_leaves_them_unchanged():
    G = np.array([[[4, 2], [2, 3]], [[2, 1], [1, 5]]]).transpose(1, 2, 0)  # two 2 x 2 systems along the last axis
    y = np.array([[1, 2], [3, 4]])
    G_before, y_before = G.copy(), y.copy()
    x = topic06.solve_stacked_spd(G, y)
    for j in range(2):
        np.testing.assert_allclose(G[:, :, j] @ x[:, j], y[:, j])
    assert np.array_equal(G, G_before) and np.array_equal(y, y_before)


def _gram_matrices(L, b, random_state):
    """b matrices F F^T + lambda I of size L x L (F with 3 columns, so the Gram part is singular for L > 3), badly
    scaled rows and columns among them, and penalties from 1e-8 to 10: stacked along the last axis."""
    rng = np.random.default_rng(random_state)
    F = rng.normal(size=(b, L, 3)) * np.logspace(-3, 3, L)[None, :, None]
    G = F @ F.transpose(0, 2, 1) + np.logspace(-8, 1, b)[:, None, None] * np.eye(L)
    return np.moveaxis(G, 0, -1)


@pytest.mark.parametrize("L", [2, 5, 12])
def test_elimination_without_pivoting_has_positive_pivots_and_no_growth(L):
    G = _gram_matrices(L, 200, random_state=L)
    largest = np.abs(G).max(axis=(0, 1))
    reduced = G.copy()
    for p in range(L - 1):  # the elimination of solve_stacked_spd, with every reduced matrix inspected
        assert np.all(reduced[p, p] > 0)  # checks: elimination-without-pivoting
        diagonal = np.diagonal(reduced[p + 1:, p + 1:]).T.copy()
        multipliers = reduced[p + 1:, p] / reduced[p, p]
        reduced[p + 1:, p + 1:] -= multipliers[:, None] * reduced[p, p + 1:]
        rest = reduced[p + 1:, p + 1:]
        # no entry grows beyond the largest entry of G (growth factor at most 1), the diagonal never increases
        assert np.all(np.abs(rest).max(axis=(0, 1)) <= largest * (1 + 1e-12))  # checks: elimination-without-pivoting
        assert np.all(np.diagonal(rest).T <= diagonal * (1 + 1e-12))  # checks: elimination-without-pivoting
    assert np.all(reduced[L - 1, L - 1] > 0)  # checks: elimination-without-pivoting


@pytest.mark.parametrize("L", [2, 5, 12])
def test_elimination_without_pivoting_is_backward_stable(L):
    G = _gram_matrices(L, 200, random_state=L + 1)
    y = np.random.default_rng(L).normal(size=(L, 200))
    x = topic06.solve_stacked_spd(G, y)
    residual = y - np.einsum("ilj,lj->ij", G, x)
    scale = np.linalg.norm(G, ord=2, axis=(0, 1)) * np.linalg.norm(x, axis=0) + np.linalg.norm(y, axis=0)
    # backward error near the unit roundoff, even where G is ill-conditioned (condition numbers up to about 5e14)
    assert np.all(np.linalg.norm(residual, axis=0) / scale < 1e-13)  # checks: elimination-without-pivoting
