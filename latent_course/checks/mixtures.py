"""Self-checks for topic 03, the mean and covariance of a Gaussian mixture."""

from __future__ import annotations

import numpy as np

from ._framework import call, check_array, check_close, passed

TOPIC = "03_mixture_moments"
__all__ = ["mixture_covariance", "mixture_mean"]


def _random_covariances(rng, K, D):
    A = rng.normal(size=(K, D, D))
    return A @ A.transpose(0, 2, 1) + 0.1 * np.eye(D)


def _cases():
    """Small mixtures (pi, mu, sigma) covering one component, one dimension, a zero weight, K > D and K < D."""
    rng = np.random.default_rng(3)
    yield np.array([1.0]), np.array([[1.5, -2.0]]), np.array([[[2.0, 0.3], [0.3, 1.0]]])
    yield np.array([0.25, 0.75]), np.array([[-1.0], [3.0]]), np.array([[[1.0]], [[0.5]]])
    for K, D, zero_weight in [(3, 2, False), (4, 3, True), (2, 5, False)]:
        pi = rng.dirichlet(np.ones(K))
        if zero_weight:
            pi[0] = 0.0
            pi /= pi.sum()
        yield pi, rng.normal(scale=3.0, size=(K, D)), _random_covariances(rng, K, D)


def _reference_mean(pi, mu):
    return np.average(mu, axis=0, weights=pi)


def _reference_covariance(pi, mu, sigma):
    D = mu.shape[1]
    within = np.tensordot(pi, sigma, axes=1)
    between = np.cov(mu, rowvar=False, aweights=pi, bias=True).reshape(D, D) if len(pi) > 1 else 0.0
    return within + between


def _mean_hint(result, pi, mu):
    if len(pi) > 1 and np.allclose(result, mu.mean(axis=0)):
        return "this is the unweighted average of the means; weight each mean by its mixing proportion pi_k."
    if np.allclose(result, mu.sum(axis=0)):
        return "the means are added up; they must be weighted by the mixing proportions pi_k."
    return ""


def _covariance_hint(result, pi, mu, sigma):
    within = np.tensordot(pi, sigma, axes=1)
    second_moment = within + np.einsum("k,ki,kj->ij", pi, mu, mu)
    if np.allclose(result, within):
        return "only the within-component part sum_k pi_k Sigma_k; the spread of the means is missing."
    if np.allclose(result, second_moment):
        return "this is E[x x^T]; subtract the outer product of the mixture mean, E[x] E[x]^T."
    return ""


def mixture_mean(function) -> None:
    """Check ``function(pi, mu)`` returning the mean of a Gaussian mixture, shape (D,).

    Parameters
    ----------
    function : callable
        The student's ``mixture_mean(pi, mu)``, with ``pi`` of shape (K,) and ``mu`` of shape (K, D).
    """
    __tracebackhide__ = True
    n_cases = 0
    for pi, mu, _ in _cases():
        inputs = {"pi": pi, "mu": mu}
        expected = _reference_mean(pi, mu)
        result = check_array(function, call(function, **inputs), expected.shape, inputs, "the mixture mean")
        check_close(function, result, expected, inputs, what="the mixture mean", why=_mean_hint(result, pi, mu))
        n_cases += 1
    passed(function, n_cases)


def mixture_covariance(function) -> None:
    """Check ``function(pi, mu, sigma)`` returning the covariance of a Gaussian mixture, shape (D, D).

    Parameters
    ----------
    function : callable
        The student's ``mixture_covariance(pi, mu, sigma)``, with shapes (K,), (K, D) and (K, D, D).
    """
    __tracebackhide__ = True
    n_cases = 0
    for pi, mu, sigma in _cases():
        inputs = {"pi": pi, "mu": mu, "sigma": sigma}
        expected = _reference_covariance(pi, mu, sigma)
        result = check_array(function, call(function, **inputs), expected.shape, inputs, "the mixture covariance")
        check_close(function, result, expected, inputs, what="the mixture covariance",
                    why=_covariance_hint(result, pi, mu, sigma))
        n_cases += 1
    passed(function, n_cases)
