"""The provided steps of topic 01: the matrix, cold-start filtering, the split, the loss."""

import numpy as np
import pytest
import scipy.sparse as sp

from latent_course.recommender import cold_start_filter, loss, predict, ratings_matrix, rmse, split_ratings


def test_ratings_matrix_stores_every_rating():
    matrix = ratings_matrix(np.array([[0, 1, 5], [2, 0, 3]]))
    assert matrix.shape == (3, 2) and matrix.nnz == 2 and matrix[2, 0] == 3


def test_repeated_pairs_are_an_error_that_counts_them():
    with pytest.raises(ValueError, match="2 repeated"):
        ratings_matrix(np.array([[0, 1, 5], [0, 1, 3], [0, 1, 4], [1, 1, 2]]))


@pytest.mark.parametrize("triplets, message", [
    (np.zeros((0, 3)), r"triplets must have shape \(n_ratings, 3\)"),
    (np.array([[-1, 0, 3]]), "non-negative integer"),
    (np.array([[0.5, 0, 3]]), "non-negative integer"),
])
def test_bad_triplets(triplets, message):
    with pytest.raises(ValueError, match=message):
        ratings_matrix(triplets)


def test_cold_start_filter_repeats_until_stable_and_reports_what_it_kept():
    # User 3 has one rating, of item 2; without user 3, item 2 has one rating left and goes too.
    triplets = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1], [2, 0, 1], [2, 1, 1], [2, 2, 1], [3, 2, 1]])
    core, kept_users, kept_items = cold_start_filter(ratings_matrix(triplets), min_ratings=2)
    np.testing.assert_array_equal(kept_users, [0, 1, 2])
    np.testing.assert_array_equal(kept_items, [0, 1])
    assert core.shape == (3, 2) and core.nnz == 6


def test_cold_start_filter_keeps_explicit_zeros():
    matrix = sp.csr_matrix((np.array([0.0, 1.0, 2.0, 0.0]), (np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))))
    core, _, _ = cold_start_filter(matrix, 2)
    assert core.nnz == 4


def test_split_is_seeded_disjoint_and_keeps_explicit_zeros():
    rng = np.random.default_rng(0)
    dense = rng.integers(0, 3, size=(30, 20)).astype(float)
    rows, cols = np.nonzero(rng.random((30, 20)) < 0.5)
    matrix = sp.csr_matrix((dense[rows, cols], (rows, cols)), shape=(30, 20))
    train, val_idx, test_idx, val_values, test_values = split_ratings(matrix, 20, 30, random_state=3)
    again = split_ratings(matrix, 20, 30, random_state=3)
    np.testing.assert_array_equal(again[1][0], val_idx[0])
    assert train.nnz + 50 == matrix.nnz
    held_out = set(zip(*val_idx, strict=True)) | set(zip(*test_idx, strict=True))
    assert len(held_out) == 50 and not held_out & set(zip(*train.nonzero(), strict=True))
    np.testing.assert_array_equal(val_values, dense[val_idx])
    with pytest.raises(ValueError, match="smaller than the number of ratings"):
        split_ratings(matrix, matrix.nnz, 1)


def test_loss_and_rmse_at_given_entries_only():
    Q, P = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, 3.0], [1.0, 1.0]])
    ixs = (np.array([0, 1]), np.array([1, 0]))
    np.testing.assert_allclose(predict(ixs, Q, P), [3.0, 2.0])
    assert loss(np.array([1.0, 2.0]), ixs, Q, P, 0.0) == pytest.approx(4.0)
    assert loss(np.array([1.0, 2.0]), ixs, Q, P, 0.5) == pytest.approx(4.0 + 0.5 * (5 + 12))
    assert rmse(np.array([1.0, 2.0]), ixs, Q, P) == pytest.approx(np.sqrt(2.0))
    assert rmse(np.array([1.0, 2.0]), ixs, Q, P, offsets=np.array([-2.0, 0.0])) == pytest.approx(0.0)


@pytest.mark.parametrize("call, message", [
    (lambda: predict(([0], [0]), np.ones((2, 3)), np.ones((2, 3))), r"shapes \(N, k\) and \(k, D\)"),
    (lambda: predict(([0, 1], [0]), np.ones((2, 3)), np.ones((3, 2))), "two index arrays of the same length"),
    (lambda: predict(None, np.ones((2, 3)), np.ones((3, 2))), "pair"),
    (lambda: loss(np.ones(3), ([0], [0]), np.ones((2, 3)), np.ones((3, 2)), 0.0), r"values must have shape \(n,\)"),
])
def test_bad_arguments_name_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()
