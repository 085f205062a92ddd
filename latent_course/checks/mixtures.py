"""Self-checks for topic 03, the mean and covariance of a Gaussian mixture.

The cases are chosen so that the usual mistakes give different results on the first case that fails, and each
mistake gets its own hint: in every case with more than one component the weights are far from uniform (so a
weighted and an unweighted average differ, and so do pi and pi / K), the mixture's mean is far from 0 (so E[x x^T]
and Cov[x] differ), and the means are spread (so the between-component part matters).
"""

from __future__ import annotations

import numpy as np

from ._answers import answer
from ._framework import call, case_rng, check_close, passed

TOPIC = "03_mixture_moments"
__all__ = ["mixture_covariance", "mixture_mean"]


def _random_covariances(rng, K, D):
    A = rng.normal(size=(K, D, D))
    return A @ A.transpose(0, 2, 1) + 0.1 * np.eye(D)


def _cases():
    """Small mixtures (pi, mu, sigma): K < D, one dimension, K > D, a zero weight, K = D, and one component."""
    rng = case_rng(3)
    yield (np.array([0.1, 0.6, 0.3]), np.array([[1.0, 2.0, 0.5, -1.0], [4.0, 0.0, 2.0, 1.0], [2.0, 5.0, 1.0, 3.0]]),
           _random_covariances(rng, 3, 4))
    yield np.array([0.3, 0.7]), np.array([[-1.0], [3.5]]), np.array([[[1.0]], [[0.5]]])
    for K, D, zero_weight in [(4, 2, False), (4, 3, True), (2, 2, False)]:
        pi = rng.dirichlet(np.full(K, 0.7))
        if zero_weight:
            pi[0] = 0.0
            pi /= pi.sum()
        yield pi, rng.normal(loc=2.0, scale=3.0, size=(K, D)), _random_covariances(rng, K, D)
    yield np.array([1.0]), np.array([[1.5, -2.0]]), np.array([[[2.0, 0.3], [0.3, 1.0]]])


@answer
def _reference_mean(pi, mu):
    return np.average(mu, axis=0, weights=pi)


@answer
def _reference_covariance(pi, mu, sigma):
    D = mu.shape[1]
    within = np.tensordot(pi, sigma, axes=1)
    between = np.cov(mu, rowvar=False, aweights=pi, bias=True).reshape(D, D) if len(pi) > 1 else 0.0
    return within + between


def _first_match(result, candidates):
    """The hint of the first candidate value that `result` equals (empty if none)."""
    if not isinstance(result, np.ndarray) or not np.isrealobj(result) or np.ma.isMaskedArray(result):
        return ""
    for hint, value in candidates:
        if np.shape(value) == result.shape and np.allclose(result, value, rtol=1e-6, atol=1e-9):
            return hint
    return ""


@answer
def _mean_mistakes(pi, mu):
    """What the usual mistakes return, each with its hint."""
    K = len(pi)
    return [
        ("this is the unweighted average of the means; weight each mean by its mixing proportion pi_k.",
         mu.mean(axis=0)),
        ("the means are added up; weight each one by its mixing proportion pi_k (the weights sum to 1).",
         mu.sum(axis=0)),
        ("the weights are divided by K; pi already sums to 1, so the mean is sum_k pi_k mu_k.", pi @ mu / K),
        ("the weights are divided by their sum twice or squared; the mean is sum_k pi_k mu_k.", (pi**2) @ mu),
    ]


_ROWVAR_HINT = ("np.cov(mu, ...) treats each row as a variable and each column as an observation: the means are the "
                "rows of mu, so pass rowvar=False (np.cov(mu, rowvar=False, aweights=pi, bias=True)).")


@answer
def _covariance_mistakes(pi, mu, sigma):
    """What the usual mistakes return, each with its hint."""
    K, D = mu.shape
    mean = pi @ mu
    within = np.einsum("k,kij->ij", pi, sigma)
    between = np.einsum("k,ki,kj->ij", pi, mu - mean, mu - mean)
    unweighted_mean = mu.mean(axis=0)
    return [
        ("only the within-component part sum_k pi_k Sigma_k; the spread of the means is missing.", within),
        ("only the between-component part; add the within-component part sum_k pi_k Sigma_k.", between),
        ("this is E[x x^T]; subtract the outer product of the mixture mean, E[x] E[x]^T.",
         within + np.einsum("k,ki,kj->ij", pi, mu, mu)),
        ("the covariances are averaged without their weights; use sum_k pi_k Sigma_k.",
         sigma.mean(axis=0) + between),
        ("the covariances are added up without their weights; use sum_k pi_k Sigma_k.", sigma.sum(axis=0) + between),
        ("the spread of the means is not weighted by pi (np.cov without aweights=pi, or the mean of the means).",
         within + np.cov(mu, rowvar=False, bias=True).reshape(D, D) if K > 1 else within),
        ("the deviations are taken from the unweighted average of the means; use the mixture mean sum_k pi_k mu_k.",
         within + np.einsum("k,ki,kj->ij", pi, mu - unweighted_mean, mu - unweighted_mean)),
        ("np.cov divides by 1 - sum_k pi_k^2 unless bias=True; pass aweights=pi and bias=True.",
         within + (np.cov(mu, rowvar=False, aweights=pi).reshape(D, D) if K > 1 and np.sum(pi**2) < 1 else between)),
        ("the spread of the means is weighted by pi_k^2; weight each outer product by pi_k once.",
         within + np.einsum("k,ki,kj->ij", pi**2, mu - mean, mu - mean)),
        (_ROWVAR_HINT, within + np.cov(mu, aweights=pi, bias=True) if K == D > 1 else between),
    ]


def mixture_mean(function) -> None:
    """Check ``function(pi, mu)`` returning the mean of a Gaussian mixture, shape (D,).

    Any correct form passes: a loop over the components or one matrix product, float64 or float32.

    Parameters
    ----------
    function : callable
        The student's ``mixture_mean(pi, mu)``, with ``pi`` of shape (K,) and ``mu`` of shape (K, D).
    """
    __tracebackhide__ = True
    n_cases = 0
    for pi, mu, _ in _cases():
        inputs = {"pi": pi, "mu": mu}
        result = call(function, **inputs)
        check_close(function, result, _reference_mean(pi, mu), inputs, what="the mixture mean",
                    why=_first_match(result, _mean_mistakes(pi, mu)))
        n_cases += 1
    passed(function, n_cases)


def mixture_covariance(function) -> None:
    """Check ``function(pi, mu, sigma)`` returning the covariance of a Gaussian mixture, shape (D, D).

    Any correct form passes: the within + between split or E[x x^T] - E[x] E[x]^T, a loop or ``np.einsum``.

    Parameters
    ----------
    function : callable
        The student's ``mixture_covariance(pi, mu, sigma)``, with shapes (K,), (K, D) and (K, D, D).
    """
    __tracebackhide__ = True
    n_cases = 0
    for pi, mu, sigma in _cases():
        inputs = {"pi": pi, "mu": mu, "sigma": sigma}
        # np.cov(mu, aweights=pi) without rowvar=False: "incompatible numbers of samples and aweights" when K != D
        result = call(function, on_error={RuntimeError: _ROWVAR_HINT}, **inputs)
        check_close(function, result, _reference_covariance(pi, mu, sigma), inputs, what="the mixture covariance",
                    why=_first_match(result, _covariance_mistakes(pi, mu, sigma)))
        n_cases += 1
    passed(function, n_cases)
