"""The topic 03 checks accept right implementations and catch the typical wrong ones; bad input is rejected."""

import numpy as np
import pytest
from checking import assert_catches, assert_passes, mutant_params

from latent_course import checks
from latent_course.tools.solutions import load_solution

solution = load_solution("03_mixture_moments")


def test_the_solution_passes(capsys):
    checks.mixture_mean(solution.mixture_mean)
    checks.mixture_covariance(solution.mixture_covariance)
    assert capsys.readouterr().out.splitlines() == ["mixture_mean passed 6 checks.",
                                                    "mixture_covariance passed 6 checks."]


def loop_mean(pi, mu):
    total = np.zeros(len(mu[0]))
    for k in range(len(pi)):
        total = total + pi[k] * np.asarray(mu[k])
    return total


def loop_covariance(pi, mu, sigma):
    mean = loop_mean(pi, mu)
    D = len(mean)
    total = np.zeros((D, D))
    for p, m, s in zip(pi, mu, sigma, strict=True):
        total += p * (s + np.outer(m, m))
    return total - np.outer(mean, mean)


def float32_mean(pi, mu):
    return np.asarray(pi, dtype=np.float32) @ np.asarray(mu, dtype=np.float32)


def float32_covariance(pi, mu, sigma):
    pi, mu, sigma = (np.asarray(a, dtype=np.float32) for a in (pi, mu, sigma))
    deviations = mu - pi @ mu
    return np.einsum("k,kij->ij", pi, sigma) + (deviations.T * pi) @ deviations


def list_based_mean(pi, mu):
    D = len(mu[0])
    return np.array([sum(float(p) * float(m[d]) for p, m in zip(pi, mu, strict=True)) for d in range(D)])


def np_cov_covariance(pi, mu, sigma):
    between = np.cov(mu, rowvar=False, aweights=pi, bias=True) if len(pi) > 1 else 0
    return np.tensordot(pi, sigma, axes=1) + np.atleast_2d(between)


@pytest.mark.parametrize("check, implementation", [
    (checks.mixture_mean, loop_mean), (checks.mixture_mean, float32_mean), (checks.mixture_mean, list_based_mean),
    (checks.mixture_covariance, loop_covariance), (checks.mixture_covariance, float32_covariance),
    (checks.mixture_covariance, np_cov_covariance),
], ids=["loop mean", "float32 mean", "lists mean", "loop covariance", "float32 covariance", "np.cov covariance"])
def test_correct_implementations_in_other_styles_pass(check, implementation, capsys):
    assert_passes(check, implementation, capsys)


def weighted_in_place(values, pi):
    values *= pi.reshape(-1, *[1] * (values.ndim - 1))
    return values


MEAN_MUTANTS = {
    "unweighted average": (lambda pi, mu: mu.mean(axis=0), "unweighted average of the means"),
    "means added up": (lambda pi, mu: mu.sum(axis=0), "the means are added up"),
    "weights divided by K": (lambda pi, mu: (pi / len(pi)) @ mu, "the weights are divided by K"),
    "weights squared": (lambda pi, mu: (pi**2) @ mu, "squared"),
    "weights on the wrong axis": (lambda pi, mu: (pi[:, None] * mu).sum(axis=1)[: mu.shape[1]], "wrong|shape"),
    "column vector": (lambda pi, mu: (pi @ mu)[:, None], r"shape \(4,\), but it has shape \(4, 1\)"),
    "transposed row": (lambda pi, mu: (pi @ mu)[None, :], r"but it has shape \(1, 4\)"),
    "a list": (lambda pi, mu: list(pi @ mu), "returned list"),
    "None": (lambda pi, mu: None, "returned NoneType"),
    "complex": (lambda pi, mu: pi @ mu + 5j, "complex values"),
    "masked": (lambda pi, mu: np.ma.masked_array(pi @ mu + 1, mask=True), "masked array"),
    "weights mu in place": (lambda pi, mu: weighted_in_place(mu, pi).sum(axis=0), r"changed its argument mu in place"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(MEAN_MUTANTS))
def test_mean_check_catches(mutant, fragment):
    assert_catches(checks.mixture_mean, mutant, fragment, first_line=True)


def _within(pi, sigma):
    return np.einsum("k,kij->ij", pi, sigma)


def _between(pi, mu, centre):
    return np.einsum("k,ki,kj->ij", pi, mu - centre, mu - centre)


def _second_moment(pi, mu, sigma):
    return _within(pi, sigma) + np.einsum("k,ki,kj->ij", pi, mu, mu)


COVARIANCE_MUTANTS = {
    "without the between term": (lambda pi, mu, sigma: _within(pi, sigma), "spread of the means is missing"),
    "without the within term": (lambda pi, mu, sigma: _between(pi, mu, pi @ mu), "add the within-component part"),
    "second moment only": (_second_moment, "subtract the outer product"),
    "covariances averaged": (lambda pi, mu, sigma: sigma.mean(axis=0) + _between(pi, mu, pi @ mu),
                             "averaged without their weights"),
    "covariances added up": (lambda pi, mu, sigma: sigma.sum(axis=0) + _between(pi, mu, pi @ mu),
                             "added up without their weights"),
    "np.cov of the means without aweights": (
        lambda pi, mu, sigma: _within(pi, sigma) + np.atleast_2d(np.cov(mu, rowvar=False, bias=True)),
        "not weighted by pi"),
    "np.cov with rowvar left at its default": (
        lambda pi, mu, sigma: _within(pi, sigma) + np.atleast_2d(np.cov(mu, aweights=pi, bias=True)), "rowvar=False"),
    "np.cov without bias=True": (
        lambda pi, mu, sigma: _within(pi, sigma) + np.atleast_2d(np.cov(mu, rowvar=False, aweights=pi)),
        "bias=True"),
    "between term around the mean of the means": (
        lambda pi, mu, sigma: _within(pi, sigma) + _between(pi, mu, mu.mean(axis=0)),
        "unweighted average of the means; use the mixture mean"),
    "between term weighted by pi squared": (
        lambda pi, mu, sigma: _within(pi, sigma) + _between(pi**2, mu, pi @ mu), "weighted by pi_k\\^2"),
    "component covariances not summed": (lambda pi, mu, sigma: pi[:, None, None] * sigma, "shape"),
    "only the diagonal": (lambda pi, mu, sigma: np.diag(solution.mixture_covariance(pi, mu, sigma)), "shape"),
    "complex square root somewhere": (lambda pi, mu, sigma: solution.mixture_covariance(pi, mu, sigma) + 0j,
                                      "complex values"),
    "sigma weighted in place": (lambda pi, mu, sigma: weighted_in_place(sigma, pi).sum(axis=0)
                                + _between(pi, mu, pi @ mu), "changed its argument sigma in place"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(COVARIANCE_MUTANTS))
def test_covariance_check_catches(mutant, fragment):
    assert_catches(checks.mixture_covariance, mutant, fragment, first_line=True)


def test_the_weighted_and_unweighted_mistakes_are_told_apart_on_every_case():
    """No case makes two usual mistakes coincide, so the first failing case always names the right one."""
    from latent_course.checks.mixtures import _cases

    for pi, mu, _ in _cases():
        if len(pi) > 1:
            candidates = [mu.mean(axis=0), mu.sum(axis=0), pi @ mu / len(pi), pi**2 @ mu, pi @ mu]
            for i, first in enumerate(candidates):
                assert not any(np.allclose(first, second) for second in candidates[i + 1:])


def test_stubs_are_not_implemented_yet():
    def mixture_mean(pi, mu):
        raise NotImplementedError

    with pytest.raises(checks.NotImplementedYet, match="mixture_mean: not implemented yet"):
        checks.mixture_mean(mixture_mean)


def test_the_wrong_function_handed_to_a_check_is_named():
    assert_catches(checks.mixture_covariance, solution.mixture_mean,
                   r"calls your function as mixture_covariance\(pi, mu, sigma\), but mixture_mean takes \(pi, mu\)",
                   first_line=True)


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
