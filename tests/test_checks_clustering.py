"""The topic 05 checks accept right implementations and catch the typical wrong ones; bad input is rejected."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from sklearn.cluster import kmeans_plusplus
from sklearn.mixture import GaussianMixture

from latent_course import checks
from latent_course.course import load_solution

solution = load_solution("05_image_clustering")


def test_the_solution_passes(capsys):
    for name in ["kmeans", "gmm_log_probability", "em", "gmm_sample"]:
        getattr(checks, name)(getattr(solution, name))
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == [
        "kmeans", "gmm_log_probability", "em", "gmm_sample"]


def test_scipy_based_log_probability_passes_too():
    def gmm_log_probability(X, pi, mu, sigma):
        with np.errstate(divide="ignore"):
            return np.column_stack([np.log(pi[j]) + stats.multivariate_normal(mu[j], sigma[j]).logpdf(X).reshape(-1)
                                    for j in range(len(pi))])

    checks.gmm_log_probability(gmm_log_probability)


def test_scikit_learn_em_passes_too():
    def em(X, k, sample_weight=None, tol=1e-3, random_state=None):
        model = GaussianMixture(k, random_state=random_state, tol=tol).fit(X)
        return model.weights_, model.means_, model.covariances_, np.array([model.lower_bound_ - 1, model.lower_bound_])

    checks.em(em)


def _squared_distances(X, mu):
    return ((X[:, None] - mu[None]) ** 2).sum(axis=2)


def centroid_sums_all_coordinates(X, k, sample_weight=None, init=None, max_iter=300, random_state=None):
    mu, z = solution.kmeans(X, k, sample_weight, init, max_iter=1, random_state=random_state)
    for j in range(k):
        mu[j] = np.sum(X[z == j]) / max(1, np.sum(z == j))
    return mu, _squared_distances(X, mu).argmin(axis=1)


def single_assignment_pass(X, k, sample_weight=None, init=None, max_iter=300, random_state=None):
    weight = np.ones(len(X)) if sample_weight is None else sample_weight
    start = kmeans_plusplus(X, k, sample_weight=weight, random_state=random_state)[0] if init is None else init
    z = _squared_distances(X, start).argmin(axis=1)
    mass = np.bincount(z, weights=weight, minlength=k)
    sums = np.column_stack([np.bincount(z, weights=weight * X[:, d], minlength=k) for d in range(X.shape[1])])
    mu = np.where(mass[:, None] > 0, sums / np.maximum(mass, 1e-300)[:, None], start)
    return mu, z


def labels_in_int8(X, k, sample_weight=None, init=None, max_iter=300, random_state=None):
    mu, z = solution.kmeans(X, k, sample_weight, init, max_iter, random_state)
    return mu, z.astype(np.int8)


def ignores_sample_weight(X, k, sample_weight=None, init=None, max_iter=300, random_state=None):
    return solution.kmeans(X, k, None, init, max_iter, random_state)


def empty_clusters_unhandled(X, k, sample_weight=None, init=None, max_iter=300, random_state=None):
    if init is None:
        return solution.kmeans(X, k, sample_weight, init, max_iter, random_state)
    weight = np.ones(len(X)) if sample_weight is None else sample_weight
    mu = init.copy()
    for _ in range(max_iter):
        z = _squared_distances(X, mu).argmin(axis=1)
        mass = np.bincount(z, weights=weight, minlength=k)
        with np.errstate(invalid="ignore"):
            mu = np.column_stack([np.bincount(z, weights=weight * X[:, d], minlength=k) for d in range(X.shape[1])])
            mu = mu / mass[:, None]
    return mu, z


def random_initialisation(X, k, sample_weight=None, init=None, max_iter=300, random_state=None):
    rng = np.random.default_rng(random_state)
    start = X[rng.choice(len(X), k, replace=False)] if init is None else init
    return solution.kmeans(X, k, sample_weight, start, max_iter)


@pytest.mark.parametrize("mutant, message", [
    (centroid_sums_all_coordinates, "the centres"),
    (single_assignment_pass, "nearer: iterate"),
    (labels_in_int8, "can it hold 199"),
    (ignores_sample_weight, "the centres"),
    (empty_clusters_unhandled, "NaN"),
    (lambda X, k, *args, **kwargs: solution.kmeans(X, k, *args, **kwargs)[0], "should return a tuple"),
    (lambda X, k, *args, **kwargs: (solution.kmeans(X, k, *args, **kwargs)[0],
                                    solution.kmeans(X, k, *args, **kwargs)[1].astype(float)), "should be integers"),
])
def test_kmeans_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.kmeans(mutant)


def test_kmeans_check_catches_a_random_initialisation():
    with pytest.raises(checks.CheckFailure, match="more than 3 % above"):
        checks.kmeans(random_initialisation)


def rows_instead_of_columns(X, pi, mu, sigma):
    P = np.zeros((len(X), len(pi)))
    with np.errstate(divide="ignore"):
        for j in range(len(pi)):
            values = np.log(pi[j]) + stats.multivariate_normal(mu[j], sigma[j]).logpdf(X).reshape(-1)
            if len(X) == len(pi):
                P[j] = values
            else:
                P[:, j] = values
    return P


def log_of_pi_times_pdf(X, pi, mu, sigma):
    with np.errstate(divide="ignore"):
        return np.column_stack([np.log(pi[j] * stats.multivariate_normal(mu[j], sigma[j]).pdf(X).reshape(-1))
                                for j in range(len(pi))])


def without_log_weights(X, pi, mu, sigma):
    return np.column_stack([stats.multivariate_normal(mu[j], sigma[j]).logpdf(X).reshape(-1) for j in range(len(pi))])


@pytest.mark.parametrize("mutant, message", [
    (rows_instead_of_columns, "fill column j"),
    (log_of_pi_times_pdf, "never log"),
    (without_log_weights, "log-probabilities"),
    (lambda X, pi, mu, sigma: solution.gmm_log_probability(X, pi, mu, sigma).T, "shape"),
])
def test_log_probability_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.gmm_log_probability(mutant)


def unnormalised_responsibilities(X, k, sample_weight=None, tol=1e-3, max_iter=100, random_state=None):
    pi, mu, sigma, _ = solution.em(X, k, max_iter=1, random_state=random_state)
    history = []
    for _ in range(max_iter):
        P = solution.gmm_log_probability(X, pi, mu, sigma)
        history.append(np.mean(logsumexp(P, axis=1)))
        gamma = np.exp(P)
        mass = gamma.sum(axis=0)
        pi = mass / mass.sum()
        mu = gamma.T @ X / mass[:, None]
        sigma = np.array([(gamma[:, j, None] * (X - mu[j])).T @ (X - mu[j]) / mass[j] + 1e-6 * np.eye(2)
                          for j in range(k)])
        if len(history) > 1 and abs(history[-1] - history[-2]) < tol:
            break
    return pi, mu, sigma, np.array(history)


def stops_after_three_steps(X, k, sample_weight=None, tol=1e-3, random_state=None):
    start = (np.full(k, 1 / k), np.array([[4.0, 4.0], [3.0, 3.0], [5.0, 5.0]]), np.array([10 * np.eye(2)] * k))
    return solution.em(X, k, init=start, max_iter=3)


def returns_the_previous_parameters(X, k, sample_weight=None, tol=1e-3, random_state=None):
    pi, mu, sigma, history = solution.em(X, k, random_state=random_state)
    rng = np.random.default_rng(0)
    return pi, mu + rng.normal(scale=0.5, size=mu.shape), sigma, history


def no_ridge_and_shuffled_history(X, k, sample_weight=None, tol=1e-3, random_state=None):
    pi, mu, sigma, history = solution.em(X, k, random_state=random_state)
    return pi, mu, sigma, history[::-1]


@pytest.mark.parametrize("mutant, message", [
    (unnormalised_responsibilities, "log-likelihood decreased|means|fixed point|sum of pi"),
    (stops_after_three_steps, "not a fixed point"),
    (returns_the_previous_parameters, "below the last recorded|not a fixed point"),
    (no_ridge_and_shuffled_history, "decreased"),
    (lambda X, k, random_state=None: solution.em(X, k, random_state=random_state)[:3], "should return a tuple"),
])
def test_em_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.em(mutant)


def grouped_by_component(N, pi, mu, sigma, random_state=None):
    X = solution.gmm_sample(N, pi, mu, sigma, random_state=random_state)
    return X[np.argsort(_squared_distances(X, mu).argmin(axis=1), kind="stable")]


def covariance_not_factorised(N, pi, mu, sigma, random_state=None):
    rng = np.random.default_rng(random_state)
    z = rng.choice(len(pi), size=N, p=pi)
    return mu[z] + np.einsum("nij,nj->ni", sigma[z], rng.standard_normal((N, mu.shape[1])))


def unweighted_components(N, pi, mu, sigma, random_state=None):
    return solution.gmm_sample(N, np.full(len(pi), 1 / len(pi)), mu, sigma, random_state=random_state)


def unseeded(N, pi, mu, sigma, random_state=None):
    return solution.gmm_sample(N, pi, mu, sigma)


@pytest.mark.parametrize("mutant, message", [
    (grouped_by_component, "grouped by component"),
    (covariance_not_factorised, "covariance of the samples"),
    (unweighted_components, "fraction of samples"),
    (unseeded, "different samples"),
])
def test_sample_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.gmm_sample(mutant)


X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
MIXTURE = (np.array([0.5, 0.5]), np.zeros((2, 2)), np.array([np.eye(2), np.eye(2)]))


@pytest.mark.parametrize("call, message", [
    (lambda: solution.kmeans(X, 0), "k must be at least 1"),
    (lambda: solution.kmeans(X, 5, random_state=0), "k = 5 is larger than the number of distinct points in X"),
    (lambda: solution.kmeans(X, 5, init=np.vstack([X[:4], [[9.0, 9.0]]])), "larger than the number of distinct"),
    (lambda: solution.kmeans(X[:, 0], 2), r"X must be a 2-D array of shape \(N, D\)"),
    (lambda: solution.kmeans(np.array([[np.nan, 0.0], [1.0, 1.0]]), 1), "X must not contain NaN"),
    (lambda: solution.kmeans(X, 2, sample_weight=[1.0, 2.0]), r"sample_weight must have shape \(N,\) = \(5,\)"),
    (lambda: solution.kmeans(X, 2, sample_weight=-np.ones(5)), "sample_weight must be non-negative"),
    (lambda: solution.kmeans(X, 2, init=np.zeros((3, 2))), r"init must have shape \(k, D\) = \(2, 2\)"),
    (lambda: solution.em(X, 2, tol=0), "tol must be a finite number greater than 0"),
    (lambda: solution.em(X, 6), "k must be at least 1 and at most 5"),
    (lambda: solution.em(X, 2, init=(np.array([1.0]), np.zeros((1, 2)), np.eye(2)[None])), "init must hold k = 2"),
    (lambda: solution.gmm_log_probability(X, np.array([0.5, 0.6]), *MIXTURE[1:]), "pi must sum to 1"),
    (lambda: solution.gmm_log_probability(X, MIXTURE[0], MIXTURE[1], np.array([np.eye(2), np.zeros((2, 2))])),
     r"sigma\[1\] must be positive definite"),
    (lambda: solution.gmm_log_probability(X[:, :1], *MIXTURE), "X must have D = 2 columns"),
    (lambda: solution.gmm_sample(0, *MIXTURE), "N must be at least 1"),
    (lambda: solution.gmm_sample(3, np.array([0.5, 0.5]), np.zeros((3, 2)), MIXTURE[2]), r"mu must have shape"),
])
def test_bad_input_is_rejected_with_the_parameter_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_kmeans_from_an_empty_start_fills_every_cluster():
    rng = np.random.default_rng(0)
    data = np.vstack([rng.normal(size=(50, 2)), rng.normal(size=(50, 2)) + 10])
    mu, z = solution.kmeans(data, 3, init=np.array([[0.0, 0.0], [10.0, 10.0], [500.0, 500.0]]))
    assert np.all(np.isfinite(mu)) and np.bincount(z, minlength=3).min() > 0 and z.dtype == np.intp
