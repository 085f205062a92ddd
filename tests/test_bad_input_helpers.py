"""Bad input to the provided steps and helpers: a clear ValueError or TypeError naming the parameter, never a
silent wrong result or a crash inside NumPy, SciPy or matplotlib."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from latent_course.mixtures import as_mixture, as_mixture_pair  # noqa: E402
from latent_course.plotting import covariance_ellipse, show_images  # noqa: E402
from latent_course.recommender import cold_start_filter, loss, predict, ratings_matrix, rmse, split_ratings  # noqa: E402
from latent_course.validation import check_matrix, check_mixture  # noqa: E402

# ------------------------------------------------------------------------------------------------------- ratings_matrix


@pytest.mark.parametrize("triplets, shape, error, message", [
    (np.array([[0, 0, np.nan]]), None, ValueError, "triplets must hold finite ratings, row 0 has nan"),
    (np.array([[0, 0, 4.0], [1, 1, np.inf]]), None, ValueError, "finite ratings, row 1 has inf"),
    (np.array([[0, 0, 4 + 1j]]), None, TypeError, "triplets must hold real numbers"),
    (np.array([[0, 0, 4 + 0j]]), None, TypeError, "triplets must hold real numbers"),
    (np.array([["0", "0", "4"]]), None, TypeError, "triplets must be an array of numbers"),
    (None, None, TypeError, "triplets must be an array of numbers"),
    (np.array([[np.nan, 0, 4.0]]), None, ValueError, "column 0 must hold non-negative integer indices"),
    (np.array([[0, 2**32, 4]]), None, ValueError, "column 1 holds the index 4294967296, larger than"),
    (np.array([[0, 1, 4]]), (2.0, 2), TypeError, r"shape\[0\] must be an integer, got 2.0"),
    (np.array([[0, 1, 4]]), (2, 2.5), TypeError, r"shape\[1\] must be an integer"),
    (np.array([[0, 1, 4]]), (2, 0), ValueError, r"shape\[1\] must be at least 1"),
    (np.array([[0, 1, 4]]), 5, TypeError, r"shape must be a pair \(N, D\)"),
    (np.array([[0, 1, 4]]), (1, 1), ValueError, r"shape \(1, 1\) is too small"),
])
def test_ratings_matrix_rejects_non_finite_complex_huge_and_float_shapes(triplets, shape, error, message):
    with pytest.raises(error, match=message):
        ratings_matrix(triplets, shape)


@pytest.mark.parametrize("offset", [0, 1, 7])
def test_ids_near_2_to_the_32_are_refused_instead_of_reported_as_repeated_pairs(offset):
    # As user * D + item keys these pairs used to overflow int64 and collide; now indices are at most 2**31 - 2.
    triplets = np.array([[2**32 - offset, 2**32 - 1, 5], [2**32 - offset - 1, 2**32 + 1, 4]])
    with pytest.raises(ValueError, match="larger than 2147483646: pass 0-based indices, not ids"):
        ratings_matrix(triplets)


def test_repeated_pairs_are_found_among_large_indices():
    big = 2**31 - 2
    distinct = np.array([[0, big, 5], [1, big, 4], [1, 0, 3], [0, 0, 2]])
    assert ratings_matrix(distinct).shape == (2, big + 1)
    with pytest.raises(ValueError, match="1 repeated"):
        ratings_matrix(np.vstack([distinct, [[1, big, 1]]]))


# ------------------------------------------------------------------------------------ cold_start_filter, split_ratings

DUPLICATED = sp.coo_matrix((np.array([4.0, 5.0, 3.0, 2.0]), (np.array([0, 0, 1, 1]), np.array([0, 0, 1, 0]))))


def _call_cold_start(matrix):
    return cold_start_filter(matrix, 1)


def _call_split(matrix):
    return split_ratings(matrix, 1, 1)


@pytest.mark.parametrize("call", [_call_cold_start, _call_split])
@pytest.mark.parametrize("matrix, error, message", [
    (None, TypeError, "matrix must be a scipy.sparse matrix of ratings, as ratings_matrix returns; got NoneType"),
    (np.array([[0, 1, 5], [1, 0, 3], [2, 2, 4]]), TypeError, r"looks like triplets: pass ratings_matrix\(triplets\)"),
    (np.eye(3), TypeError, "matrix must be a scipy.sparse matrix"),
    (DUPLICATED, ValueError, "stores 1 .row, column. entry more than once; converting it would add"),
    (sp.csr_matrix(np.array([[1.0, np.nan], [2.0, 3.0]])), ValueError, "matrix must hold finite ratings"),
    (sp.csr_matrix(np.array([[1 + 1j, 2], [2, 3]])), TypeError, "matrix must hold real ratings"),
])
def test_rating_matrices_are_checked_before_use(call, matrix, error, message):
    with pytest.raises(error, match=message):
        call(matrix)


def test_split_ratings_random_state_is_checked():
    with pytest.raises(TypeError, match="random_state must be an int seed"):
        split_ratings(sp.csr_matrix(np.ones((3, 3))), 1, 1, random_state=0.5)


# ------------------------------------------------------------------------------------------------- predict, rmse, loss

Q, P = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]), np.array([[1.0, 3.0], [1.0, 1.0]])


@pytest.mark.parametrize("ixs, message", [
    ((np.array([-1]), np.array([0])), r"ixs rows must lie in \[0, 3\), got -1"),
    ((np.array([0]), np.array([-1])), r"ixs columns must lie in \[0, 2\), got -1"),
    ((np.array([3]), np.array([0])), r"ixs rows must lie in \[0, 3\), got 3"),
    ((np.array([0.5]), np.array([0])), "ixs rows must be integer indices, got dtype float64"),
    ((np.array([0]), np.array([1.0])), "ixs columns must be integer indices"),
    ((np.array([True]), np.array([0])), "ixs rows must be integer indices, got dtype bool"),
    (np.array([[0, 1], [1, 0]]), r"an array of shape \(2, 2\): for an \(n, 2\) array of pairs pass tuple\(pairs.T\)"),
    (np.array([[0, 1], [1, 0], [2, 1]]), r"an array of shape \(3, 2\)"),
    ((np.array([0]), np.array([0]), np.array([0])), r"ixs must be a pair \(rows, columns\)"),
    (None, r"ixs must be a pair"),
])
def test_predict_rejects_wrapping_truncated_and_transposed_indices(ixs, message):
    with pytest.raises(ValueError, match=message):
        predict(ixs, Q, P)


def test_predict_accepts_empty_index_arrays_and_lists():
    assert predict(([], []), Q, P).shape == (0,)
    np.testing.assert_allclose(predict(([0, 1], [1, 0]), Q, P), [3.0, 2.0])


@pytest.mark.parametrize("offsets, error, message", [
    (np.zeros((2, 1)), ValueError, r"offsets must have shape \(n,\) = \(2,\) to match ixs, got \(2, 1\)"),
    (np.zeros(3), ValueError, r"offsets must have shape \(n,\) = \(2,\)"),
    (np.array([1j, 0]), TypeError, "offsets must hold real numbers"),
])
def test_rmse_offsets_must_match_the_entries(offsets, error, message):
    with pytest.raises(error, match=message):
        rmse(np.array([1.0, 2.0]), (np.array([0, 1]), np.array([1, 0])), Q, P, offsets)


@pytest.mark.parametrize("reg_lambda, error, message", [
    (-0.1, ValueError, "reg_lambda must be a finite number at least 0, got -0.1"),
    (np.nan, ValueError, "reg_lambda must be a finite number at least 0"),
    (np.inf, ValueError, "reg_lambda must be a finite number at least 0"),
    ("0.1", TypeError, "reg_lambda must be a real number"),
    (None, TypeError, "reg_lambda must be a real number"),
])
def test_loss_rejects_a_negative_or_non_finite_reg_lambda(reg_lambda, error, message):
    with pytest.raises(error, match=message):
        loss(np.array([1.0]), (np.array([0]), np.array([0])), Q, P, reg_lambda)


@pytest.mark.parametrize("values, Q_, error, message", [
    (np.array([np.nan]), Q, ValueError, "values must be finite"),
    (np.array([1j]), Q, TypeError, "values must hold real numbers"),
    (np.array([1.0]), Q + 1j, TypeError, "Q must hold real numbers"),
])
def test_loss_values_and_factors_must_be_real(values, Q_, error, message):
    with pytest.raises(error, match=message):
        loss(values, (np.array([0]), np.array([0])), Q_, P, 0.0)


# -------------------------------------------------------------------------------------- mixtures and check_matrix


@pytest.mark.parametrize("call, error, message", [
    (lambda: as_mixture(([1.0], [[0.0 + 1j]], [[[1.0]]])), TypeError, "mixture: means must hold real numbers"),
    (lambda: as_mixture(([1.0], [[0.0]], [[[1.0 + 0j]]])), TypeError, "mixture: covariances must hold real"),
    (lambda: as_mixture(([1.0 + 0j], [[0.0]], [[[1.0]]])), TypeError, "mixture: weights must hold real"),
    (lambda: as_mixture_pair(([1.0], [[0.0]], [[[1.0]]]), ([1.0], [[1j]], [[[1.0]]])), TypeError, "mixture_y: means"),
    (lambda: check_matrix(np.ones((2, 2)) * 1j), TypeError, "X must hold real numbers"),
    (lambda: check_matrix(np.ma.array(np.ones((2, 2)), mask=[[0, 1], [0, 0]])), TypeError, "X must not be a masked"),
    (lambda: check_matrix([[1, 2], [3]]), TypeError, "X must be a rectangular array of numbers"),
    (lambda: check_matrix([[None, 1]]), TypeError, "X must be an array of numbers, got list holding NoneType"),
    (lambda: as_mixture((np.ones(2) / 2, np.zeros((2, 0)), np.zeros((2, 0, 0)))), ValueError,
     r"mixture: means must have shape \(K, D\) = \(2, D\) with D >= 1"),
    (lambda: check_mixture([1.0], np.zeros((1, 0))), ValueError, r"mu must have shape \(K, D\) = \(1, D\) with D >= 1"),
])
def test_complex_masked_and_zero_dimensional_inputs_are_refused(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("K, error", [(10, 9e-8), (3, 2.5e-8), (1000, 5e-6)])
def test_weights_that_pass_validation_can_be_sampled(K, error):
    pi = np.full(K, 1.0 / K)
    pi[0] += error  # within check_mixture's tolerance, beyond what Generator.choice accepts
    pi, mu, sigma = check_mixture(pi, np.zeros((K, 1)), np.ones((K, 1, 1)))
    assert pi.sum() == pytest.approx(1.0, abs=1e-15)
    assert np.random.default_rng(0).choice(K, size=5, p=pi).shape == (5,)
    weights = as_mixture((np.full(K, 1.0 / K) + np.eye(K)[0] * error, np.zeros((K, 1)), np.ones((K, 1, 1)))).weights
    np.random.default_rng(0).choice(K, size=5, p=weights)


# ------------------------------------------------------------------------------------ covariance_ellipse, show_images


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


@pytest.mark.parametrize("mean, cov, n_std, error, message", [
    ([0, 0], [[1.0, 0.5], [0.0, 1.0]], 2.0, ValueError, "cov must be symmetric"),
    ([0, 0], [[1.0, np.nan], [np.nan, 1.0]], 2.0, ValueError, "cov must not contain NaN or infinite values"),
    ([np.nan, 0], np.eye(2), 2.0, ValueError, "mean must not contain NaN or infinite values"),
    ([0, 0], [[np.inf, 0], [0, 1.0]], 2.0, ValueError, "cov must not contain NaN"),
    ([0, 0], np.eye(2), np.nan, ValueError, "n_std must be a finite number greater than 0, got nan"),
    ([0, 0], np.eye(2), -2.0, ValueError, "n_std must be a finite number greater than 0, got -2.0"),
    ([0, 0], np.eye(2), 0, ValueError, "n_std must be a finite number greater than 0"),
    ([0, 0], np.eye(2), "2", TypeError, "n_std must be a real number"),
    ([0j, 0], np.eye(2), 2.0, TypeError, "mean must hold real numbers"),
])
def test_covariance_ellipse_refuses_what_it_would_draw_wrong_or_invisibly(ax, mean, cov, n_std, error, message):
    with pytest.raises(error, match=message):
        covariance_ellipse(ax, mean, cov, n_std)
    assert not ax.patches


def test_covariance_ellipse_needs_axes():
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        covariance_ellipse(None, [0, 0], np.eye(2))


RGB = np.zeros((4, 5, 3), dtype=np.uint8)


@pytest.mark.parametrize("images, columns, error, message", [
    ({"empty": np.zeros((0, 0, 3))}, None, ValueError, r"images\['empty'\] must have shape \(H, W, 3\) with H, W >= 1"),
    ({"flat": np.zeros((4, 0, 3))}, None, ValueError, r"images\['flat'\] must have shape"),
    ({"two channels": np.zeros((4, 4, 2))}, None, ValueError, r"images\['two channels'\] must have shape"),
    ({"nan": np.full((2, 2, 3), np.nan)}, None, ValueError, r"images\['nan'\] must not contain NaN"),
    ({"none": None}, None, ValueError, r"images\['none'\] must have shape"),
    ({"a": RGB}, -1, ValueError, "columns must be at least 1, got -1"),
    ({"a": RGB}, 0, ValueError, "columns must be at least 1, got 0"),
    ({"a": RGB}, 1.5, TypeError, "columns must be an integer, got 1.5"),
    ({"a": RGB}, "2", TypeError, "columns must be an integer"),
    ([RGB], None, TypeError, "images must be a dict of titles to images, got list"),
    ({}, None, ValueError, "images must hold at least one image"),
])
def test_show_images_checks_images_and_columns(images, columns, error, message):
    with pytest.raises(error, match=message):
        show_images(images, columns=columns)
    assert not plt.get_fignums()


def test_show_images_still_shows_grey_rgba_and_float_images():
    fig = show_images({"rgb": RGB, "grey": np.zeros((4, 5)), "rgba": np.ones((4, 5, 4)), "float": RGB / 255.0},
                      columns=3)
    assert len(fig.axes) == 6
    plt.close(fig)


@pytest.mark.parametrize("count, columns, per_image", [(1, None, 4.5), (2, None, 4.5), (3, None, 3.0), (4, 2, 4.5)])
def test_show_images_keeps_a_row_within_a_pages_width(count, columns, per_image):
    fig = show_images({f"image {index}": RGB for index in range(count)}, columns=columns)
    assert fig.get_figwidth() == pytest.approx(per_image * (columns or count))
    assert fig.get_figwidth() <= 9
    plt.close(fig)
    assert show_images({"a": RGB}, width=6.0).get_figwidth() == pytest.approx(6.0)
    plt.close("all")
