"""Self-checks for topic 04, the sum of two independent Gaussian-mixture draws."""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import logsumexp

from ..mixtures import Mixture
from ._answers import answer
from ._framework import (
    CountingGenerator,
    call,
    case_rng,
    check_array,
    check_close,
    check_seeded,
    check_tuple,
    fail,
    passed,
)

TOPIC = "04_sum_of_mixtures"
__all__ = ["mixture_log_density", "sample_sum", "sum_of_mixtures"]

# Components far apart relative to their widths, so that every sample of z reveals its pair (k, l):
# x's means differ by 100, y's by 10, all standard deviations are at most 0.5.
SEPARATED_X = (np.array([0.3, 0.7]), np.array([[0.0, 0.0], [100.0, 0.0]]),
               np.array([[[0.04, 0.0], [0.0, 0.09]], [[0.16, 0.05], [0.05, 0.1]]]))
SEPARATED_Y = (np.array([0.2, 0.5, 0.3]), np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]),
               np.array([[[0.1, 0.0], [0.0, 0.1]], [[0.2, -0.1], [-0.1, 0.1]], [[0.05, 0.0], [0.0, 0.25]]]))
SEPARATED_Y_TWO = (np.array([0.4, 0.6]), SEPARATED_Y[1][:2], SEPARATED_Y[2][:2])
"""Two of y's components: a pair of mixtures with K_x = K_y, where reusing x's labels for y still has valid indices."""
ONE_D_X = (np.array([0.4, 0.6]), np.array([[-2.0], [1.0]]), np.array([[[0.5]], [[0.3]]]))
ONE_D_Y = (np.array([0.5, 0.5]), np.array([[0.0], [4.0]]), np.array([[[0.2]], [[1.0]]]))

MAX_DRAW_CALLS = 20
"""Calls of the random generator a vectorised sample_sum needs at most here: labels, then one per component."""


@answer
def _pairs(mixture_x, mixture_y):
    """Weight, mean and covariance of every pair (k, l), k major: shapes (Kx Ky,), (Kx Ky, D), (Kx Ky, D, D)."""
    (pi_x, mu_x, s_x), (pi_y, mu_y, s_y) = mixture_x, mixture_y
    D = mu_x.shape[1]
    weights = np.outer(pi_x, pi_y).ravel()
    means = (mu_x[:, None] + mu_y[None, :]).reshape(-1, D)
    covariances = (s_x[:, None] + s_y[None, :]).reshape(-1, D, D)
    return weights, means, covariances


@answer
def _reference_sums(mixture_x, mixture_y, n, seed):
    """`n` sums x + y drawn by an independent reference sampler seeded with `seed`, shape (n, D)."""
    rng = case_rng(seed)
    return _draw(n, mixture_x, rng) + _draw(n, mixture_y, rng)


def _draw(n, mixture, rng):
    """Independent reference sampler: component labels, then one multivariate normal draw per component."""
    weights, means, covariances = mixture
    labels = rng.choice(len(weights), size=n, p=weights)
    draws = np.empty((n, means.shape[1]))
    for k in range(len(weights)):
        chosen = labels == k
        draws[chosen] = rng.multivariate_normal(means[k], covariances[k], size=chosen.sum())
    return draws


@answer
def _sample_covariance_mistakes(cov_x, cov_y):
    """The covariance of the samples of one pair under the usual mistakes, each with its hint."""
    chol_x, chol_y = np.linalg.cholesky(cov_x), np.linalg.cholesky(cov_y)
    return [
        ("with standard normals eps in rows, x = mu + eps @ L.T (L the Cholesky factor); eps @ L has covariance "
         "L^T L, not Sigma.", chol_x.T @ chol_x + chol_y.T @ chol_y),
        ("x and y share their standard normal draws; draw them independently, so that the covariances add.",
         (chol_x + chol_y) @ (chol_x + chol_y).T),
        ("the covariances are averaged; x and y are independent, so the covariance of x + y is their sum.",
         (cov_x + cov_y) / 2),
        ("only x's covariance; y must be drawn from N(mu_l, Sigma_l) of its own component l, then added.", cov_x),
    ]


def _sample_covariance_hint(observed, candidates, atol):
    """Name the mistake among `candidates` whose covariance the samples show (the rule if none)."""
    for hint, value in candidates:
        if np.allclose(observed, value, rtol=0, atol=atol):
            return hint
    return "x and y are independent, so their covariances add: Sigma_x[k] + Sigma_y[l]."


def _check_vectorised(function):
    """One call with a counting generator: a sampler that draws sample by sample makes thousands of calls."""
    __tracebackhide__ = True
    generator = CountingGenerator(0)
    inputs = {"n": 2000, "mixture_x": SEPARATED_X, "mixture_y": SEPARATED_Y, "random_state": generator}
    check_array(function, call(function, **inputs), (2000, 2), inputs, "the samples")
    if generator.draw_calls == 0:
        fail(function, "drew no random number from the Generator passed as random_state; take every random number "
                       "from rng = np.random.default_rng(random_state).", inputs)
    if generator.draw_calls > MAX_DRAW_CALLS:
        fail(function, f"made {generator.draw_calls} calls to the random generator for n = 2000 samples: draw all "
                       "labels of a mixture with one call, then all draws of one component with one call "
                       "(rng.multivariate_normal(mean, cov, size=count)), not one sample at a time.", inputs)


def sample_sum(function) -> None:
    """Check ``function(n, mixture_x, mixture_y, random_state)`` drawing n samples of z = x + y, shape (n, D).

    The sampler must be vectorised (a handful of calls to the generator, counted with a generator passed as
    random_state). The pair (k, l) of every sample is read off well-separated mixtures; the frequency of each pair
    must be within 5 binomial standard errors of pi_k pi_l (also when K_x = K_y), the mean and covariance of z
    within each pair must match mu_k + mu_l and Sigma_k + Sigma_l within 5 standard errors, the samples must come
    in the order drawn (not grouped by pair), the same `random_state` must give the same samples, and another one
    other samples.
    """
    __tracebackhide__ = True
    _check_vectorised(function)
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
        observed = np.cov(group, rowvar=False)
        k, l = divmod(index, len(SEPARATED_Y[0]))
        mistakes = _sample_covariance_mistakes(SEPARATED_X[2][k], SEPARATED_Y[2][l])
        check_close(function, observed, covariances[index], inputs, rtol=0, atol=5 * covariance_se,
                    what=f"the covariance of the samples from pair {divmod(index, 3)}",
                    why=_sample_covariance_hint(observed, mistakes, 5 * covariance_se))
    if np.mean(pair[1:] != pair[:-1]) < 0.5 * (1 - np.sum(weights**2)):
        fail(function, "the samples are grouped by pair of components; return them in the order they were drawn "
                       "(z = x + y row by row, with x and y each in its own draw order).", inputs)
    equal = {"n": 20_000, "mixture_x": SEPARATED_X, "mixture_y": SEPARATED_Y_TWO, "random_state": 0}
    z_equal = check_array(function, call(function, **equal), (20_000, 2), equal, "the samples")
    weights_equal, means_equal, _ = _pairs(SEPARATED_X, SEPARATED_Y_TWO)
    pair_equal = np.argmin(((z_equal[:, None, :] - means_equal[None]) ** 2).sum(axis=2), axis=1)
    check_close(function, np.bincount(pair_equal, minlength=4) / 20_000, weights_equal, equal, rtol=0,
                atol=5 * np.sqrt(0.25 / 20_000), what="the frequency of each pair (k, l), k major, when K_x = K_y,",
                why="draw y's labels l with their own call, from mixture_y's weights, independently of x's labels "
                    "(reusing x's labels gives only the pairs (k, k)).")
    check_seeded(function, z, inputs, "samples")
    small = {**inputs, "n": 1000}
    first = check_array(function, call(function, **small), (1000, 2), small, "the samples")
    other = check_array(function, call(function, **{**small, "random_state": 1}), (1000, 2), small, "the samples")
    if np.array_equal(first, other):
        fail(function, "random_state=0 and random_state=1 gave the same samples; seed the generator with "
                       "random_state: rng = np.random.default_rng(random_state).", small)
    passed(function, 2 * len(weights) + 6)


def _components(function, result, mixture_x, mixture_y, inputs):
    """The returned (weights, means, covariances), after checking the tuple and the shapes."""
    __tracebackhide__ = True
    check_tuple(function, result, ["weights", "means", "covariances"], inputs)
    K_x, K_y, D = len(mixture_x[0]), len(mixture_y[0]), mixture_x[1].shape[1]
    K = K_x * K_y
    side_by_side = np.sort(np.concatenate([mixture_x[1], mixture_y[1]]), axis=0)
    size = np.shape(result[0])[0] if np.ndim(result[0]) else None
    if size == K_x + K_y and np.shape(result[1]) == side_by_side.shape and np.allclose(
            np.sort(np.asarray(result[1], dtype=float), axis=0), side_by_side):
        fail(function, f"returned the {K_x} + {K_y} components of x and y side by side; z has one component per "
                       f"pair (k, l), K_x K_y = {K} (the density of a sum is not the sum of the densities).", inputs)
    if np.shape(result[0]) == (K_x, K_y):
        fail(function, f"the weights have shape ({K_x}, {K_y}); return one weight per pair, shape (K_x K_y,) = "
                       f"({K},), in the order k * K_y + l (np.outer(...).ravel()).", inputs)
    return (check_array(function, result[0], (K,), inputs, "the weights"),
            check_array(function, result[1], (K, D), inputs, "the means"),
            check_array(function, result[2], (K, D, D), inputs, "the covariances"))


@answer
def _covariance_mistakes(mixture_x, mixture_y):
    """The covariances of all pairs (k major) under the usual mistakes, each with its hint."""
    s_x, s_y = mixture_x[2][:, None], mixture_y[2][None, :]
    D = s_x.shape[-1]
    return [(hint, value.reshape(-1, D, D)) for hint, value in [
        ("the covariances are averaged; for independent x and y they add: Sigma_x[k] + Sigma_y[l].", (s_x + s_y) / 2),
        ("the covariances are multiplied; for independent x and y they add: Sigma_x[k] + Sigma_y[l].", s_x @ s_y),
        ("only x's covariance; for independent x and y they add: Sigma_x[k] + Sigma_y[l].", s_x + 0 * s_y),
        ("only y's covariance; for independent x and y they add: Sigma_x[k] + Sigma_y[l].", s_y + 0 * s_x),
    ]]


def _covariance_hint(got, candidates):
    """Name the mistake among `candidates` that explains every returned covariance (pairs in the expected order),
    if one does."""
    for hint, value in candidates:
        if np.allclose(got, value, rtol=1e-6, atol=1e-9):
            return hint
    return "the covariance of a sum of independent Gaussians is the sum of their covariances."


@answer
def _weight_mistakes(pi_x, pi_y):
    """The weights of the pairs when they are added instead of multiplied, raw and normalised."""
    added = (pi_x[:, None] + pi_y[None, :]).ravel()
    return [added, added / added.sum()]


def _match_components(function, result, mixture_x, mixture_y, inputs):
    """Check that the returned mixture has the expected components, in any order."""
    __tracebackhide__ = True
    weights, means, covariances = _pairs(mixture_x, mixture_y)
    weight_mistakes = _weight_mistakes(mixture_x[0], mixture_y[0])
    covariance_mistakes = _covariance_mistakes(mixture_x, mixture_y)
    K_y = len(mixture_y[0])
    K = len(weights)
    got_weights, got_means, got_covariances = _components(function, result, mixture_x, mixture_y, inputs)
    if any(np.allclose(np.sort(got_weights), np.sort(wrong)) for wrong in weight_mistakes):
        fail(function, "the weights are pi_x[k] + pi_y[l]; k and l are drawn independently, so the weight of "
                       "(k, l) is the product pi_x[k] * pi_y[l].", inputs)
    check_close(function, np.array(got_weights.sum()), np.array(1.0), inputs, what="the sum of the weights",
                why="the weight of component (k, l) is the product pi_x[k] * pi_y[l], and these sum to 1.")
    unused, order = list(range(K)), []
    for index in range(K):
        k, l = divmod(index, K_y)
        same_mean = [j for j in unused if np.allclose(got_means[j], means[index])]
        if not same_mean:
            fail(function, f"no component has the mean mu_x[{k}] + mu_y[{l}] = {means[index]}: the mean of a sum is "
                           f"the sum of the means. Got the means {got_means.round(4).tolist()}.", inputs)
        # Several pairs may share a mean: prefer the component that also has the right covariance and weight.
        best = [j for j in same_mean if np.allclose(got_covariances[j], covariances[index])
                and np.isclose(got_weights[j], weights[index])]
        order.append((best or same_mean)[0])
        unused.remove(order[-1])
    hint = _covariance_hint(got_covariances[order], covariance_mistakes)
    for index, j in enumerate(order):
        k, l = divmod(index, K_y)
        check_close(function, got_weights[j:j + 1], weights[index:index + 1], inputs,
                    what=f"the weight of the component with mean mu_x[{k}] + mu_y[{l}]",
                    why="x and y are independent, so the weight of (k, l) is pi_x[k] * pi_y[l].")
        check_close(function, got_covariances[j], covariances[index], inputs,
                    what=f"the covariance of the component with mean mu_x[{k}] + mu_y[{l}]", why=hint)
    if order != list(range(K)):
        index = next(index for index, j in enumerate(order) if j != index)
        k, l = divmod(index, K_y)
        fail(function, f"the components are right but in another order: the pair (k, l) = ({k}, {l}) is at index "
                       f"{order[index]}, where the documented order k * K_y + l puts it at {index} (k major: all "
                       "pairs of x's first component, then those of its second ...).", inputs)
    return got_weights, got_means, got_covariances


def sum_of_mixtures(function) -> None:
    """Check ``function(mixture_x, mixture_y)`` returning the mixture of z = x + y.

    Every component (k, l) must appear once, at index k * K_y + l, with weight pi_k pi_l, mean mu_k + mu_l and
    covariance Sigma_k + Sigma_l (also when two pairs share a mean); in one dimension, the returned mixture's CDF
    must also pass a Kolmogorov-Smirnov test at the 1 % level against 10^5 sums drawn independently by the check.
    """
    __tracebackhide__ = True
    # The pairs (0, 1) and (1, 0) share the mean 1 but not the covariance.
    shared_x = (np.array([0.2, 0.8]), np.array([[0.0], [1.0]]), np.array([[[0.1]], [[0.3]]]))
    shared_y = (np.array([0.4, 0.6]), np.array([[0.0], [1.0]]), np.array([[[0.5]], [[0.2]]]))
    n_cases = 0
    for mixture_x, mixture_y in [(ONE_D_X, ONE_D_Y), (SEPARATED_X, SEPARATED_Y), (SEPARATED_Y, SEPARATED_X),
                                 (shared_x, shared_y)]:
        inputs = {"mixture_x": mixture_x, "mixture_y": mixture_y}
        returned = call(function, **inputs)
        result = _match_components(function, returned, mixture_x, mixture_y, inputs)
        n_cases += 1
        if mixture_x is ONE_D_X:
            n = 100_000
            z = _reference_sums(mixture_x, mixture_y, n, 7)[:, 0]
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
    if not all(hasattr(returned, field) for field in Mixture._fields):
        fail(function, f"returned a {type(returned).__name__}, not a Mixture: later cells read mixture_z.weights, "
                       "mixture_z.means and mixture_z.covariances. Return Mixture(weights, means, covariances).",
             inputs)
    passed(function, n_cases + 1)


@answer
def _reference_log_density(X, weights, means, covariances):
    return logsumexp(_log_pdfs(X, means, covariances), axis=1, b=weights)


def _log_pdfs(X, means, covariances):
    return np.column_stack([stats.multivariate_normal(m, c).logpdf(X).reshape(len(X))
                            for m, c in zip(means, covariances, strict=True)])


@answer
def _log_density_mistakes(X, weights, means, covariances):
    """The expected log-density and what the usual mistakes return, each with its hint (the underflow in linear
    space is matched from the expected values)."""
    log_pdfs = _log_pdfs(X, means, covariances)
    expected = logsumexp(log_pdfs, axis=1, b=weights)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_weights = np.log(weights)
        return expected, [
            ("this is p(x), not log p(x).", np.exp(expected)),
            ("the weights are missing: add log pi_k to every component's log-density (or pass b=pi to logsumexp).",
             logsumexp(log_pdfs, axis=1)),
            ("this is the sum of pi_k log N_k; the log of a sum is not the sum of the logs: use logsumexp.",
             log_pdfs @ weights),
            ("this is the largest term max_k (log pi_k + log N_k); sum all terms with logsumexp.",
             np.max(log_weights + log_pdfs, axis=1)),
            ("the weights enter twice: use logsumexp(log N, b=pi) or logsumexp(log pi + log N), not both.",
             logsumexp(log_weights + log_pdfs, axis=1, b=weights)),
        ]


def _log_density_hint(result, X, mistakes):
    """Name the usual mistake that `result` shows, from the expected and the wrong values."""
    if not isinstance(result, np.ndarray) or result.shape != (len(X),) or not np.isrealobj(result):
        return ""
    expected, candidates = mistakes
    underflow = ("log(sum(pi * pdf)) underflows to -inf far from every component; work in log space: "
                 "logsumexp_k (log pi_k + log N(x | mu_k, Sigma_k)).", np.where(np.isfinite(result), expected, -np.inf))
    for hint, value in [underflow, *candidates]:
        if np.allclose(result, value, rtol=1e-6, atol=1e-7, equal_nan=False) and not np.allclose(value, expected):
            return hint
    return "log p(x) = logsumexp_k (log pi_k + log N(x | mu_k, Sigma_k)), computed in log space."


def mixture_log_density(function) -> None:
    """Check ``function(X, mixture)`` returning log p(x_n) for each row of X, shape (N,), against SciPy.

    The points include some 40 standard deviations away from every component, where computing
    ``log(sum(pi * pdf))`` underflows to -inf: the log-density must be computed in log space. A zero weight and
    a component whose covariance is far from the identity are included, and a single point (N = 1) must give an
    array of shape (1,).
    """
    __tracebackhide__ = True
    rng = case_rng(11)
    n_cases = 0
    zero_weight = (np.array([0.0, 0.4, 0.6]), np.array([[5.0], [-1.0], [2.0]]), np.array([[[1.0]], [[0.5]], [[2.0]]]))
    for mixture in [ONE_D_X, SEPARATED_X, SEPARATED_Y, zero_weight]:
        D = mixture[1].shape[1]
        X = np.vstack([rng.normal(scale=3.0, size=(6, D)), np.full((2, D), 40.0), np.full((1, D), -300.0)])
        inputs = {"X": X, "mixture": mixture}
        result = call(function, **inputs)
        mistakes = _log_density_mistakes(X, *mixture)
        check_close(function, result, _reference_log_density(X, *mixture), inputs, rtol=1e-7, atol=1e-7,
                    what="the log-density", why=_log_density_hint(result, X, mistakes))
        n_cases += 1
    single = {"X": np.array([[0.5, -1.0]]), "mixture": SEPARATED_X}  # N = 1: still one value per row
    with np.errstate(divide="ignore"):
        result = call(function, on_error={ValueError: "with a single point, X has shape (1, D): keep the points "
                                                      "axis (no squeeze, no scalar special case)."}, **single)
    if np.shape(result) != (1,):
        fail(function, f"for a single point (X of shape (1, 2)) the log-density should have shape (1,), got "
                       f"{'a scalar' if np.ndim(result) == 0 else np.shape(result)}: keep one value per row of X (no "
                       "squeeze, no .item(), no float(...)).", single)
    check_close(function, result, _reference_log_density(single["X"], *SEPARATED_X), single, rtol=1e-7, atol=1e-7,
                what="the log-density of a single point")
    passed(function, n_cases + 1)
