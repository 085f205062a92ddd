"""Self-checks for topic 04, the sum of two independent Gaussian-mixture draws."""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import logsumexp

from ._framework import call, check_array, check_close, check_seeded, check_tuple, fail, passed

TOPIC = "04_sum_of_mixtures"
__all__ = ["mixture_log_density", "sample_sum", "sum_of_mixtures"]

# Components far apart relative to their widths, so that every sample of z reveals its pair (k, l):
# x's means differ by 100, y's by 10, all standard deviations are at most 0.5.
SEPARATED_X = (np.array([0.3, 0.7]), np.array([[0.0, 0.0], [100.0, 0.0]]),
               np.array([[[0.04, 0.0], [0.0, 0.09]], [[0.16, 0.05], [0.05, 0.1]]]))
SEPARATED_Y = (np.array([0.2, 0.5, 0.3]), np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]),
               np.array([[[0.1, 0.0], [0.0, 0.1]], [[0.2, -0.1], [-0.1, 0.1]], [[0.05, 0.0], [0.0, 0.25]]]))
ONE_D_X = (np.array([0.4, 0.6]), np.array([[-2.0], [1.0]]), np.array([[[0.5]], [[0.3]]]))
ONE_D_Y = (np.array([0.5, 0.5]), np.array([[0.0], [4.0]]), np.array([[[0.2]], [[1.0]]]))


def _pairs(mixture_x, mixture_y):
    """Weight, mean and covariance of every pair (k, l), k major: shapes (Kx Ky,), (Kx Ky, D), (Kx Ky, D, D)."""
    (pi_x, mu_x, s_x), (pi_y, mu_y, s_y) = mixture_x, mixture_y
    D = mu_x.shape[1]
    weights = np.outer(pi_x, pi_y).ravel()
    means = (mu_x[:, None] + mu_y[None, :]).reshape(-1, D)
    covariances = (s_x[:, None] + s_y[None, :]).reshape(-1, D, D)
    return weights, means, covariances


def _draw(n, mixture, rng):
    """Independent reference sampler: component labels, then one multivariate normal draw per component."""
    weights, means, covariances = mixture
    labels = rng.choice(len(weights), size=n, p=weights)
    draws = np.empty((n, means.shape[1]))
    for k in range(len(weights)):
        chosen = labels == k
        draws[chosen] = rng.multivariate_normal(means[k], covariances[k], size=chosen.sum())
    return draws


def sample_sum(function) -> None:
    """Check ``function(n, mixture_x, mixture_y, random_state)`` drawing n samples of z = x + y, shape (n, D).

    The pair (k, l) of every sample is read off well-separated mixtures; the frequency of each pair must be within
    5 binomial standard errors of pi_k pi_l, the mean and covariance of z within each pair must match
    mu_k + mu_l and Sigma_k + Sigma_l within 5 standard errors, and the same `random_state` must give the same
    samples.
    """
    __tracebackhide__ = True
    n = 200_000
    inputs = {"n": n, "mixture_x": SEPARATED_X, "mixture_y": SEPARATED_Y, "random_state": 0}
    z = check_array(function, call(function, **inputs), (n, 2), inputs, "the samples")
    weights, means, covariances = _pairs(SEPARATED_X, SEPARATED_Y)
    pair = np.argmin(((z[:, None, :] - means[None]) ** 2).sum(axis=2), axis=1)
    counts = np.bincount(pair, minlength=len(weights))
    frequency_se = np.sqrt(weights * (1 - weights) / n)
    check_close(function, counts / n, weights, inputs, rtol=0, atol=5 * frequency_se.max(),
                what="the frequency of each pair of components (k, l), k major,",
                why="k must be drawn from mixture_x's weights and l, independently, from mixture_y's.")
    for index in range(len(weights)):
        group = z[pair == index]
        variances = np.diag(covariances[index])
        mean_se = np.sqrt(variances / len(group)).max()
        covariance_se = np.sqrt((np.outer(variances, variances) + covariances[index] ** 2) / len(group)).max()
        check_close(function, group.mean(axis=0), means[index], inputs, rtol=0, atol=5 * mean_se,
                    what=f"the mean of the samples from pair {divmod(index, 3)}",
                    why="x comes from component k of mixture_x, y from component l of mixture_y.")
        check_close(function, np.cov(group, rowvar=False), covariances[index], inputs, rtol=0, atol=5 * covariance_se,
                    what=f"the covariance of the samples from pair {divmod(index, 3)}",
                    why="x and y are independent, so their covariances add.")
    check_seeded(function, z, inputs, "samples")
    passed(function, 2 * len(weights) + 2)


def _match_components(function, result, expected, inputs):
    """Check that the returned mixture has the expected components, in any order."""
    __tracebackhide__ = True
    check_tuple(function, result, ["weights", "means", "covariances"], inputs)
    weights, means, covariances = expected
    K, D = means.shape
    got_weights = check_array(function, result[0], (K,), inputs, "the weights")
    got_means = check_array(function, result[1], (K, D), inputs, "the means")
    got_covariances = check_array(function, result[2], (K, D, D), inputs, "the covariances")
    check_close(function, np.array(got_weights.sum()), np.array(1.0), inputs, what="the sum of the weights",
                why="the weight of component (k, l) is the product pi_k pi_l.")
    unused = list(range(K))
    for index in range(K):
        found = [j for j in unused if np.allclose(got_means[j], means[index])]
        k, l = divmod(index, K // len(inputs["mixture_x"][0]))
        if not found:
            fail(function, f"no component has the mean mu_x[{k}] + mu_y[{l}] = {means[index]}; got means\n{got_means}",
                 inputs)
        j = found[0]
        unused.remove(j)
        check_close(function, got_weights[j:j + 1], weights[index:index + 1], inputs,
                    what=f"the weight of the component with mean mu_x[{k}] + mu_y[{l}]",
                    why="x and y are independent, so the weight of (k, l) is pi_x[k] * pi_y[l].")
        check_close(function, got_covariances[j], covariances[index], inputs,
                    what=f"the covariance of the component with mean mu_x[{k}] + mu_y[{l}]",
                    why="the covariance of a sum of independent Gaussians is the sum of their covariances.")
    return got_weights, got_means, got_covariances


def sum_of_mixtures(function) -> None:
    """Check ``function(mixture_x, mixture_y)`` returning the mixture of z = x + y.

    Every component (k, l) must appear once, in any order, with weight pi_k pi_l, mean mu_k + mu_l and covariance
    Sigma_k + Sigma_l; in one dimension, the returned mixture's CDF must also pass a Kolmogorov-Smirnov test at
    the 1 % level against 10^5 sums drawn independently by the check.
    """
    __tracebackhide__ = True
    n_cases = 0
    for mixture_x, mixture_y in [(ONE_D_X, ONE_D_Y), (SEPARATED_X, SEPARATED_Y), (SEPARATED_Y, SEPARATED_X)]:
        inputs = {"mixture_x": mixture_x, "mixture_y": mixture_y}
        expected = _pairs(mixture_x, mixture_y)
        result = _match_components(function, call(function, **inputs), expected, inputs)
        n_cases += 1
        if mixture_x[1].shape[1] == 1:
            rng = np.random.default_rng(7)
            n = 100_000
            z = (_draw(n, mixture_x, rng) + _draw(n, mixture_y, rng))[:, 0]
            weights, means, covariances = result
            scales = np.sqrt(covariances[:, 0, 0])

            def cdf(t, weights=weights, means=means, scales=scales):
                return stats.norm.cdf((np.asarray(t)[..., None] - means[:, 0]) / scales) @ weights

            statistic = stats.kstest(z, cdf).statistic
            critical = stats.kstwo.ppf(0.99, n)
            if statistic > critical:
                fail(function, f"the returned mixture does not fit samples of x + y: Kolmogorov-Smirnov statistic "
                               f"{statistic:.4f} > {critical:.4f} (1 % level).", inputs)
            n_cases += 1
    passed(function, n_cases)


def _reference_log_density(X, weights, means, covariances):
    log_pdfs = np.column_stack([stats.multivariate_normal(m, c).logpdf(X).reshape(len(X))
                                for m, c in zip(means, covariances, strict=True)])
    return logsumexp(log_pdfs, axis=1, b=weights)


def mixture_log_density(function) -> None:
    """Check ``function(X, mixture)`` returning log p(x_n) for each row of X, shape (N,), against SciPy.

    The points include some 40 standard deviations away from every component, where computing
    ``log(sum(pi * pdf))`` underflows to -inf: the log-density must be computed in log space.
    """
    __tracebackhide__ = True
    rng = np.random.default_rng(11)
    n_cases = 0
    zero_weight = (np.array([0.0, 0.4, 0.6]), np.array([[5.0], [-1.0], [2.0]]), np.array([[[1.0]], [[0.5]], [[2.0]]]))
    for mixture in [ONE_D_X, SEPARATED_X, SEPARATED_Y, zero_weight]:
        D = mixture[1].shape[1]
        X = np.vstack([rng.normal(scale=3.0, size=(6, D)), np.full((2, D), 40.0), np.full((1, D), -300.0)])
        inputs = {"X": X, "mixture": mixture}
        check_close(function, call(function, **inputs), _reference_log_density(X, *mixture), inputs,
                    rtol=1e-7, atol=1e-7, what="the log-density",
                    why="work in log space: log p(x) = logsumexp_k (log pi_k + log N(x | mu_k, Sigma_k)).")
        n_cases += 1
    passed(function, n_cases)
