"""The topic 04 checks accept right implementations and catch the typical wrong ones; bad input is rejected."""

import numpy as np
import pytest
from scipy import stats

from latent_course import checks
from latent_course.course import load_solution
from latent_course.mixtures import Mixture, as_mixture, as_mixture_pair

solution = load_solution("04_sum_of_mixtures")


def test_the_solution_passes(capsys):
    checks.sample_sum(solution.sample_sum)
    checks.sum_of_mixtures(solution.sum_of_mixtures)
    checks.mixture_log_density(solution.mixture_log_density)
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == [
        "sample_sum", "sum_of_mixtures", "mixture_log_density"]


def _draw(rng, n, weights, means, covariances, labels=None):
    if labels is None:
        labels = rng.choice(len(weights), size=n, p=weights)
    cholesky = np.linalg.cholesky(covariances)
    return labels, means[labels] + np.einsum("nij,nj->ni", cholesky[labels], rng.standard_normal((n, means.shape[1])))


def test_a_per_sample_cholesky_sampler_passes_too():
    def sample_sum(n, mixture_x, mixture_y, random_state=None):
        rng = np.random.default_rng(random_state)
        return _draw(rng, n, *mixture_x)[1] + _draw(rng, n, *mixture_y)[1]

    checks.sample_sum(sample_sum)


def test_components_in_another_order_and_a_plain_tuple_pass():
    def sum_of_mixtures(mixture_x, mixture_y):
        weights, means, covariances = solution.sum_of_mixtures(mixture_x, mixture_y)
        order = np.arange(len(weights))[::-1]
        return weights[order], means[order], covariances[order]

    checks.sum_of_mixtures(sum_of_mixtures)


def sample_y_from_xs_component(n, mixture_x, mixture_y, random_state=None):
    rng = np.random.default_rng(random_state)
    labels, x = _draw(rng, n, *mixture_x)
    y_labels = np.minimum(labels, len(mixture_y[0]) - 1)
    return x + _draw(rng, n, *mixture_y, labels=y_labels)[1]


def sample_y_from_xs_mixture(n, mixture_x, mixture_y, random_state=None):
    rng = np.random.default_rng(random_state)
    labels, x = _draw(rng, n, *mixture_x)
    return x + _draw(rng, n, *mixture_x, labels=labels)[1]


def sample_x_twice(n, mixture_x, mixture_y, random_state=None):
    rng = np.random.default_rng(random_state)
    return 2 * _draw(rng, n, *mixture_x)[1]


def sample_unseeded(n, mixture_x, mixture_y, random_state=None):
    return solution.sample_sum(n, mixture_x, mixture_y, random_state=None)


def sample_with_averaged_covariances(n, mixture_x, mixture_y, random_state=None):
    rng = np.random.default_rng(random_state)
    labels_x, _ = _draw(rng, n, *mixture_x)
    labels_y, _ = _draw(rng, n, *mixture_y)
    means = mixture_x[1][labels_x] + mixture_y[1][labels_y]
    covariances = (mixture_x[2][labels_x] + mixture_y[2][labels_y]) / 2
    return means + np.einsum("nij,nj->ni", np.linalg.cholesky(covariances), rng.standard_normal(means.shape))


@pytest.mark.parametrize("mutant, message", [
    (sample_y_from_xs_component, "frequency of each pair"),
    (sample_y_from_xs_mixture, "frequency of each pair"),
    (sample_x_twice, "frequency of each pair"),
    (sample_with_averaged_covariances, "covariance of the samples"),
    (sample_unseeded, "different samples"),
    (lambda n, mixture_x, mixture_y, random_state=None: np.zeros((n, 1)), r"shape \(200000, 2\)"),
])
def test_sample_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.sample_sum(mutant)


def weights_added(mixture_x, mixture_y):
    weights, means, covariances = solution.sum_of_mixtures(mixture_x, mixture_y)
    added = (mixture_x[0][:, None] + mixture_y[0][None, :]).ravel()
    return added / added.sum(), means, covariances


def weights_added_unnormalised(mixture_x, mixture_y):
    weights, means, covariances = solution.sum_of_mixtures(mixture_x, mixture_y)
    return (mixture_x[0][:, None] + mixture_y[0][None, :]).ravel(), means, covariances


def covariances_averaged(mixture_x, mixture_y):
    weights, means, covariances = solution.sum_of_mixtures(mixture_x, mixture_y)
    return weights, means, covariances / 2


def pairs_only_on_the_diagonal(mixture_x, mixture_y):
    K = min(len(mixture_x[0]), len(mixture_y[0]))
    weights = mixture_x[0][:K] * mixture_y[0][:K]
    return (weights / weights.sum(), mixture_x[1][:K] + mixture_y[1][:K], mixture_x[2][:K] + mixture_y[2][:K])


@pytest.mark.parametrize("mutant, message", [
    (weights_added, "weight of the component"),
    (weights_added_unnormalised, "sum of the weights"),
    (covariances_averaged, "covariance of the component"),
    (pairs_only_on_the_diagonal, "shape"),
    (lambda mixture_x, mixture_y: [1, 2, 3], "should return a tuple"),
])
def test_sum_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.sum_of_mixtures(mutant)


def log_of_sum_of_densities(X, mixture):
    weights, means, covariances = mixture
    pairs = zip(means, covariances, strict=True)
    densities = np.column_stack([stats.multivariate_normal(m, c).pdf(X) for m, c in pairs])
    with np.errstate(divide="ignore"):
        return np.log(densities @ weights)


def unweighted(X, mixture):
    return solution.mixture_log_density(X, (np.full(len(mixture[0]), 1 / len(mixture[0])), *mixture[1:]))


@pytest.mark.parametrize("mutant, message", [
    (log_of_sum_of_densities, "work in log space"),
    (unweighted, "log-density is wrong"),
    (lambda X, mixture: solution.mixture_log_density(X, mixture)[:, None], r"has shape \(9, 1\)"),
])
def test_log_density_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.mixture_log_density(mutant)


ONE = (np.array([1.0]), np.array([[0.0]]), np.array([[[1.0]]]))
TWO_D = (np.array([1.0]), np.zeros((1, 2)), np.eye(2)[None])


@pytest.mark.parametrize("call, message", [
    (lambda: solution.sample_sum(0, ONE, ONE), "n must be at least 1"),
    (lambda: solution.sample_sum(2.5, ONE, ONE), "n must be an integer"),
    (lambda: solution.sample_sum(5, ONE, TWO_D), "mixture_y must have the dimension of mixture_x, D = 1"),
    (lambda: solution.sum_of_mixtures(ONE, TWO_D), "mixture_y must have the dimension"),
    (lambda: solution.sum_of_mixtures((np.array([0.5, 0.6]), np.zeros((2, 1)), np.ones((2, 1, 1))), ONE),
     "mixture_x: weights must sum to 1"),
    (lambda: solution.sum_of_mixtures(ONE, (np.array([1.0]), np.zeros((1, 1)), -np.ones((1, 1, 1)))),
     r"mixture_y: covariances\[0\] must be positive semi-definite"),
    (lambda: solution.sum_of_mixtures(ONE, (np.array([1.0]), np.zeros((1, 1)))), "mixture_y must be a tuple"),
    (lambda: solution.mixture_log_density(np.zeros((3, 2)), ONE), "X must have D = 1 columns"),
    (lambda: solution.mixture_log_density(np.zeros(3), ONE), r"X must be a 2-D array of shape \(N, D\)"),
    (lambda: solution.mixture_log_density(np.array([[np.nan]]), ONE), "X must not contain NaN"),
    (lambda: solution.mixture_log_density(np.zeros((1, 1)), (np.array([1.0]), np.zeros((1, 1)), np.zeros((1, 1, 1)))),
     r"covariances\[0\] must be positive definite"),
])
def test_bad_input_is_rejected_with_the_parameter_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_mixtures_are_returned_as_named_tuples_of_floats():
    mixture = as_mixture(([1], [[0, 1]], [[[1, 0], [0, 1]]]))
    assert isinstance(mixture, Mixture) and mixture.means.dtype == float
    pair = as_mixture_pair(mixture, mixture)
    assert pair[0] is not None and pair[1].covariances.shape == (1, 2, 2)


def test_a_singular_covariance_is_a_valid_mixture_to_sample_from():
    point_mass = (np.array([1.0]), np.array([[3.0]]), np.zeros((1, 1, 1)))
    z = solution.sample_sum(1000, point_mass, ONE, random_state=0)
    assert z.shape == (1000, 1) and abs(z.mean() - 3) < 0.2
