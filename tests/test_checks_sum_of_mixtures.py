"""The topic 04 checks accept right implementations and catch the typical wrong ones; bad input is rejected."""

import numpy as np
import pytest
from checking import assert_catches, assert_passes, mutant_params
from scipy import stats
from scipy.special import logsumexp

from latent_course import checks
from latent_course.mixtures import Mixture, as_mixture, as_mixture_pair
from latent_course.tools.solutions import load_solution

solution = load_solution("04_sum_of_mixtures")


def test_the_solution_passes(capsys):
    checks.sample_sum(solution.sample_sum)
    checks.sum_of_mixtures(solution.sum_of_mixtures)
    checks.mixture_log_density(solution.mixture_log_density)
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == [
        "sample_sum", "sum_of_mixtures", "mixture_log_density"]


def _draw(rng, n, weights, means, covariances, labels=None, side="right"):
    """Vectorised draws with row vectors of standard normals: mu + eps @ L.T (or the wrong eps @ L)."""
    if labels is None:
        labels = rng.choice(len(weights), size=n, p=weights)
    cholesky = np.linalg.cholesky(covariances)[labels]
    eps = rng.standard_normal((n, means.shape[1]))
    factor = cholesky.transpose(0, 2, 1) if side == "right" else cholesky
    return labels, means[labels] + np.einsum("ni,nij->nj", eps, factor)


def cholesky_sampler(n, mixture_x, mixture_y, random_state=None):
    rng = np.random.default_rng(random_state)
    return _draw(rng, n, *mixture_x)[1] + _draw(rng, n, *mixture_y)[1]


def float32_sampler(n, mixture_x, mixture_y, random_state=None):
    return cholesky_sampler(n, mixture_x, mixture_y, random_state).astype(np.float32)


def per_component_loop_sampler(n, mixture_x, mixture_y, random_state=None):
    rng = np.random.default_rng(random_state)
    z = np.zeros((n, len(mixture_x[1][0])))
    for weights, means, covariances in (mixture_x, mixture_y):
        labels = rng.choice(len(weights), size=n, p=list(weights))
        for k in range(len(weights)):
            z[labels == k] += rng.multivariate_normal(means[k], covariances[k], size=int(np.sum(labels == k)))
    return z


@pytest.mark.parametrize("implementation", [cholesky_sampler, float32_sampler, per_component_loop_sampler])
def test_correct_samplers_in_other_styles_pass(implementation, capsys):
    assert_passes(checks.sample_sum, implementation, capsys)


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


def sample_with_a_fixed_seed(n, mixture_x, mixture_y, random_state=None):
    np.random.default_rng(random_state).random()
    return cholesky_sampler(n, mixture_x, mixture_y, random_state=0)


def sample_with_averaged_covariances(n, mixture_x, mixture_y, random_state=None):
    rng = np.random.default_rng(random_state)
    labels_x, _ = _draw(rng, n, *mixture_x)
    labels_y, _ = _draw(rng, n, *mixture_y)
    means = mixture_x[1][labels_x] + mixture_y[1][labels_y]
    covariances = (mixture_x[2][labels_x] + mixture_y[2][labels_y]) / 2
    return means + np.einsum("nij,nj->ni", np.linalg.cholesky(covariances), rng.standard_normal(means.shape))


def sample_with_the_wrong_side_of_L(n, mixture_x, mixture_y, random_state=None):
    rng = np.random.default_rng(random_state)
    return _draw(rng, n, *mixture_x, side="left")[1] + _draw(rng, n, *mixture_y, side="left")[1]


def sample_with_shared_normals(n, mixture_x, mixture_y, random_state=None):
    rng = np.random.default_rng(random_state)
    labels_x = rng.choice(len(mixture_x[0]), size=n, p=mixture_x[0])
    labels_y = rng.choice(len(mixture_y[0]), size=n, p=mixture_y[0])
    eps = rng.standard_normal((n, mixture_x[1].shape[1]))
    x = mixture_x[1][labels_x] + np.einsum("nij,nj->ni", np.linalg.cholesky(mixture_x[2])[labels_x], eps)
    return x + mixture_y[1][labels_y] + np.einsum("nij,nj->ni", np.linalg.cholesky(mixture_y[2])[labels_y], eps)


def sample_grouped_by_pair(n, mixture_x, mixture_y, random_state=None):
    z = cholesky_sampler(n, mixture_x, mixture_y, random_state)
    return z[np.lexsort(z.T[::-1])]


def sample_one_at_a_time(n, mixture_x, mixture_y, random_state=None):
    rng = np.random.default_rng(random_state)
    z = np.empty((n, mixture_x[1].shape[1]))
    for i in range(n):
        k = rng.choice(len(mixture_x[0]), p=mixture_x[0])
        l = rng.choice(len(mixture_y[0]), p=mixture_y[0])  # noqa: E741
        z[i] = rng.multivariate_normal(mixture_x[1][k], mixture_x[2][k]) + rng.multivariate_normal(
            mixture_y[1][l], mixture_y[2][l])
    return z


def sample_with_a_ridge_added_in_place(n, mixture_x, mixture_y, random_state=None):
    mixture_x[2][:] += 1e-9 * np.eye(mixture_x[1].shape[1])
    return cholesky_sampler(n, mixture_x, mixture_y, random_state)


def sample_reusing_xs_labels_when_the_sizes_agree(n, mixture_x, mixture_y, random_state=None):
    rng = np.random.default_rng(random_state)
    labels_x = rng.choice(len(mixture_x[0]), size=n, p=mixture_x[0])
    same_size = len(mixture_x[0]) == len(mixture_y[0])
    labels_y = labels_x if same_size else rng.choice(len(mixture_y[0]), size=n, p=mixture_y[0])
    z = np.zeros((n, mixture_x[1].shape[1]))
    for labels, (_, means, covariances) in [(labels_x, mixture_x), (labels_y, mixture_y)]:
        eps = rng.standard_normal((n, means.shape[1]))
        z += means[labels] + np.einsum("nij,nj->ni", np.linalg.cholesky(covariances)[labels], eps)
    return z


SAMPLE_MUTANTS = {
    "y reuses x's labels when K_x = K_y": (sample_reusing_xs_labels_when_the_sizes_agree, "when K_x = K_y"),
    "y drawn from x's component": (sample_y_from_xs_component, "frequency of each pair"),
    "y drawn from x's mixture": (sample_y_from_xs_mixture, "frequency of each pair"),
    "x drawn twice": (sample_x_twice, "frequency of each pair"),
    "covariances averaged": (sample_with_averaged_covariances, "covariance of the samples.*averaged"),
    "eps @ L instead of eps @ L.T": (sample_with_the_wrong_side_of_L, r"eps @ L\.T"),
    "x and y share their normal draws": (sample_with_shared_normals, "share their standard normal draws"),
    "grouped by pair": (sample_grouped_by_pair, "grouped by pair"),
    "random_state ignored": (sample_unseeded, "drew no random number from the Generator"),
    "a fixed seed of its own": (sample_with_a_fixed_seed, "random_state=0 and random_state=1 gave the same"),
    "one sample at a time": (sample_one_at_a_time, r"made \d+ calls to the random generator for n = 2000"),
    "a ridge added to the covariances in place": (sample_with_a_ridge_added_in_place,
                                                  "changed its argument mixture_x in place"),
    "one column": (lambda n, mixture_x, mixture_y, random_state=None: np.zeros((n, 1)), r"shape \(2000, 2\)"),
    "no random_state parameter": (lambda n, mixture_x, mixture_y: np.zeros((n, 2)),
                                  r"calls your function as sample_sum\(n, mixture_x, mixture_y, random_state=\.\.\.\)"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(SAMPLE_MUTANTS))
def test_sample_check_catches(mutant, fragment):
    assert_catches(checks.sample_sum, mutant, fragment, first_line=True)


def sum_with_loops_and_lists(mixture_x, mixture_y):
    weights, means, covariances = [], [], []
    for px, mx, sx in zip(*mixture_x, strict=True):
        for py, my, sy in zip(*mixture_y, strict=True):
            weights.append(px * py)
            means.append(mx + my)
            covariances.append(sx + sy)
    return Mixture(np.array(weights), np.array(means), np.array(covariances))


def sum_in_float32(mixture_x, mixture_y):
    weights, means, covariances = solution.sum_of_mixtures(mixture_x, mixture_y)
    return Mixture(weights.astype(np.float32), means.astype(np.float32), covariances.astype(np.float32))


@pytest.mark.parametrize("implementation", [sum_with_loops_and_lists, sum_in_float32])
def test_correct_sums_in_other_styles_pass(implementation, capsys):
    assert_passes(checks.sum_of_mixtures, implementation, capsys)


def _with(index, value):
    def mutant(mixture_x, mixture_y):
        parts = list(solution.sum_of_mixtures(mixture_x, mixture_y))
        parts[index] = value(mixture_x, mixture_y, parts[index])
        return tuple(parts)

    return mutant


def _pairwise(op, a, b):
    return np.array([op(x, y) for x in a for y in b])


def concatenated_components(mixture_x, mixture_y):
    (pi_x, mu_x, sigma_x), (pi_y, mu_y, sigma_y) = mixture_x, mixture_y
    return np.concatenate([pi_x, pi_y]) / 2, np.concatenate([mu_x, mu_y]), np.concatenate([sigma_x, sigma_y])


def shared_mean_components_swapped(mixture_x, mixture_y):
    weights, means, covariances = solution.sum_of_mixtures(mixture_x, mixture_y)
    covariances = covariances.copy()
    covariances[[1, 2]] = covariances[[2, 1]]
    return weights, means, covariances


SUM_MUTANTS = {
    "a plain tuple instead of a Mixture": (lambda mixture_x, mixture_y: tuple(solution.sum_of_mixtures(mixture_x,
                                                                                                       mixture_y)),
                                           "returned a tuple, not a Mixture"),
    "components in l-major order": (lambda mixture_x, mixture_y: Mixture(*(
        np.swapaxes(part.reshape(len(mixture_x[0]), len(mixture_y[0]), *part.shape[1:]), 0, 1).reshape(part.shape)
        for part in solution.sum_of_mixtures(mixture_x, mixture_y))), "in another order"),
    "components reversed": (lambda mixture_x, mixture_y: Mixture(*(part[::-1] for part in solution.sum_of_mixtures(
        mixture_x, mixture_y))), "in another order"),
    "weights added": (_with(0, lambda x, y, w: (x[0][:, None] + y[0][None, :]).ravel() / (len(x[0]) + len(y[0]))),
                      "pi_x\\[k\\] \\+ pi_y"),
    "weights added, unnormalised": (_with(0, lambda x, y, w: (x[0][:, None] + y[0][None, :]).ravel()),
                                    "pi_x\\[k\\] \\+ pi_y"),
    "weights as a K_x by K_y matrix": (_with(0, lambda x, y, w: np.outer(x[0], y[0])), r"weights have shape \(2, 2\)"),
    "covariances averaged": (_with(2, lambda x, y, c: c / 2), "covariances are averaged"),
    "covariances multiplied": (_with(2, lambda x, y, c: _pairwise(np.matmul, x[2], y[2])), "multiplied"),
    "only x's covariances": (_with(2, lambda x, y, c: np.repeat(x[2], len(y[0]), axis=0)), "only x's covariance"),
    "means of x only": (_with(1, lambda x, y, m: np.repeat(x[1], len(y[0]), axis=0)), "no component has the mean"),
    "covariances of pairs sharing a mean swapped": (shared_mean_components_swapped,
                                                    "covariance of the component .* is wrong: the covariance of a sum"),
    "components of x and y side by side": (concatenated_components, "components of x and y side by side"),
    "pairs only on the diagonal": (lambda x, y: tuple(a[:2] for a in solution.sum_of_mixtures(x, y)), "shape"),
    "a list": (lambda mixture_x, mixture_y: [1, 2, 3], "should return a tuple"),
    "complex weights": (_with(0, lambda x, y, w: w + 0j), "complex values"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(SUM_MUTANTS))
def test_sum_check_catches(mutant, fragment):
    assert_catches(checks.sum_of_mixtures, mutant, fragment, first_line=True)


def log_density_with_a_loop_in_float32(X, mixture):
    weights, means, covariances = mixture
    terms = []
    for w, m, c in zip(weights, means, covariances, strict=True):
        with np.errstate(divide="ignore"):
            terms.append(np.log(w) + stats.multivariate_normal(m, c).logpdf(X).reshape(len(X)))
    return logsumexp(np.array(terms, dtype=np.float32), axis=0)


def log_density_by_hand(X, mixture):
    weights, means, covariances = mixture
    D = means.shape[1]
    L = np.linalg.cholesky(covariances)
    solved = np.linalg.solve(L[None], (X[:, None, :] - means[None])[..., None])[..., 0]
    log_det = 2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    log_pdfs = -0.5 * (np.sum(solved**2, axis=2) + log_det + D * np.log(2 * np.pi))
    return logsumexp(log_pdfs, axis=1, b=weights)


@pytest.mark.parametrize("implementation", [log_density_with_a_loop_in_float32, log_density_by_hand])
def test_correct_log_densities_in_other_styles_pass(implementation, capsys):
    assert_passes(checks.mixture_log_density, implementation, capsys)


def _pdfs(X, mixture):
    weights, means, covariances = mixture
    return np.column_stack([stats.multivariate_normal(m, c).logpdf(X).reshape(len(X))
                            for m, c in zip(means, covariances, strict=True)])


def log_of_sum_of_densities(X, mixture):
    with np.errstate(divide="ignore"):
        return np.log(np.exp(_pdfs(X, mixture)) @ mixture[0])


def unweighted(X, mixture):
    return solution.mixture_log_density(X, (np.full(len(mixture[0]), 1 / len(mixture[0])), *mixture[1:]))


def weights_twice(X, mixture):
    with np.errstate(divide="ignore"):
        return logsumexp(np.log(mixture[0]) + _pdfs(X, mixture), axis=1, b=mixture[0])


LOG_DENSITY_MUTANTS = {
    "squeezed to a scalar for one point": (lambda X, mixture: np.squeeze(solution.mixture_log_density(X, mixture))[()],
                                           "should have shape \\(1,\\), got a scalar"),
    "log of the sum of densities": (log_of_sum_of_densities, "work in log space"),
    "unweighted": (unweighted, "log-density is wrong"),
    "weights missing": (lambda X, mixture: logsumexp(_pdfs(X, mixture), axis=1), "the weights are missing"),
    "sum of weighted logs": (lambda X, mixture: _pdfs(X, mixture) @ mixture[0], "the log of a sum is not the sum"),
    "largest term only": (lambda X, mixture: np.max(np.log(mixture[0] + 1e-300) + _pdfs(X, mixture), axis=1),
                          "largest term"),
    "weights twice": (weights_twice, "the weights enter twice"),
    "density, not its log": (lambda X, mixture: np.exp(solution.mixture_log_density(X, mixture)), "this is p\\(x\\)"),
    "a column": (lambda X, mixture: solution.mixture_log_density(X, mixture)[:, None], r"has shape \(9, 1\)"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(LOG_DENSITY_MUTANTS))
def test_log_density_check_catches(mutant, fragment):
    assert_catches(checks.mixture_log_density, mutant, fragment, first_line=True)


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
