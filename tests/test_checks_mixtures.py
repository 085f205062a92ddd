"""The topic 03 checks accept right implementations and catch the typical wrong ones."""

import numpy as np
import pytest

from latent_course import checks
from latent_course.course import load_solution

solution = load_solution("03_mixture_moments")


def test_the_solution_passes(capsys):
    checks.mixture_mean(solution.mixture_mean)
    checks.mixture_covariance(solution.mixture_covariance)
    assert capsys.readouterr().out.splitlines() == ["mixture_mean passed 5 checks.",
                                                    "mixture_covariance passed 5 checks."]


def test_a_loop_implementation_passes_too():
    def mixture_mean(pi, mu):
        return sum(p * m for p, m in zip(pi, mu, strict=True))

    def mixture_covariance(pi, mu, sigma):
        mean = mixture_mean(pi, mu)
        return sum(p * (s + np.outer(m, m)) for p, m, s in zip(pi, mu, sigma, strict=True)) - np.outer(mean, mean)

    checks.mixture_mean(mixture_mean)
    checks.mixture_covariance(mixture_covariance)


MEAN_MUTANTS = {
    "unweighted average": (lambda pi, mu: mu.mean(axis=0), "unweighted average"),
    "means added up": (lambda pi, mu: mu.sum(axis=0), "added up"),
    "weights on the wrong axis": (lambda pi, mu: (pi[:, None] * mu).sum(axis=1)[: mu.shape[1]], "wrong|shape"),
    "column vector": (lambda pi, mu: (pi @ mu)[:, None], r"shape \(2,\), but it has shape \(2, 1\)"),
    "transposed row": (lambda pi, mu: (pi @ mu)[None, :], r"but it has shape \(1, 2\)"),
    "a list": (lambda pi, mu: list(pi @ mu), "returned list"),
    "None": (lambda pi, mu: None, "returned NoneType"),
}


@pytest.mark.parametrize("name", MEAN_MUTANTS)
def test_mean_check_catches(name):
    mutant, message = MEAN_MUTANTS[name]
    with pytest.raises(checks.CheckFailure, match=message):
        checks.mixture_mean(mutant)


def _within(pi, sigma):
    return np.einsum("k,kij->ij", pi, sigma)


def _second_moment(pi, mu, sigma):
    return _within(pi, sigma) + np.einsum("k,ki,kj->ij", pi, mu, mu)


COVARIANCE_MUTANTS = {
    "without the between term": (lambda pi, mu, sigma: _within(pi, sigma), "spread of the means is missing"),
    "second moment only": (_second_moment, "subtract the outer product"),
    "unweighted": (lambda pi, mu, sigma: sigma.mean(axis=0) + np.cov(mu.T, bias=True).reshape(sigma.shape[1:]),
                   "is wrong"),
    "component covariances not summed": (lambda pi, mu, sigma: pi[:, None, None] * sigma, "shape"),
    "only the diagonal": (lambda pi, mu, sigma: np.diag(solution.mixture_covariance(pi, mu, sigma)), "shape"),
    "between term with the mean of the means": (
        lambda pi, mu, sigma: _within(pi, sigma) + np.einsum("k,ki,kj->ij", pi, mu - mu.mean(0), mu - mu.mean(0)),
        "is wrong"),
}


@pytest.mark.parametrize("name", COVARIANCE_MUTANTS)
def test_covariance_check_catches(name):
    mutant, message = COVARIANCE_MUTANTS[name]
    with pytest.raises(checks.CheckFailure, match=message):
        checks.mixture_covariance(mutant)


def test_stubs_are_not_implemented_yet():
    def mixture_mean(pi, mu):
        raise NotImplementedError

    with pytest.raises(checks.NotImplementedYet, match="mixture_mean: not implemented yet"):
        checks.mixture_mean(mixture_mean)


@pytest.mark.parametrize("pi, mu, sigma, message", [
    ([0.5, 0.6], [[0.0], [1.0]], [[[1.0]], [[1.0]]], "pi must sum to 1"),
    ([-0.5, 1.5], [[0.0], [1.0]], [[[1.0]], [[1.0]]], "pi must be non-negative"),
    ([[0.5, 0.5]], [[0.0], [1.0]], [[[1.0]], [[1.0]]], r"pi must be a 1-D array of shape \(K,\)"),
    ([0.5, 0.5], [[0.0], [1.0], [2.0]], [[[1.0]], [[1.0]]], r"mu must have shape \(K, D\) = \(2, D\)"),
    ([0.5, 0.5], [[0.0], [1.0]], [[[1.0]]], r"sigma must have shape \(K, D, D\) = \(2, 1, 1\)"),
    ([1.0], [[0.0, 0.0]], [[[1.0, 0.5], [0.0, 1.0]]], r"sigma\[0\] must be symmetric"),
    ([1.0], [[0.0, 0.0]], [[[1.0, 2.0], [2.0, 1.0]]], r"sigma\[0\] must be positive semi-definite"),
    ([1.0], [[np.nan]], [[[1.0]]], "mu must not contain NaN"),
    ([1.0], [["a"]], [[[1.0]]], "mu must be an array of numbers"),
])
def test_bad_mixtures_are_rejected_with_the_parameter_named(pi, mu, sigma, message):
    with pytest.raises((ValueError, TypeError), match=message):
        solution.mixture_covariance(pi, mu, sigma)


def test_mean_validates_too():
    with pytest.raises(ValueError, match="pi must sum to 1"):
        solution.mixture_mean([0.2, 0.2], [[0.0], [1.0]])
