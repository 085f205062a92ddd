"""Claims of the lecture notes on topic 03 that are checked here rather than in the notebook."""

import numpy as np
from scipy import stats

from latent_course.tools.solutions import load_solution

solution = load_solution("03_mixture_moments")

# The notebook's mixture.
PI = np.array([0.5, 0.3, 0.2])
MU = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
SIGMA = np.array([[[1.0, 0.6], [0.6, 1.0]], [[0.5, 0.0], [0.0, 2.0]], [[1.5, -0.7], [-0.7, 0.8]]])


def _mixture_density(points, pi, mu, sigma):
    return sum(w * stats.multivariate_normal(m, s).pdf(points) for w, m, s in zip(pi, mu, sigma, strict=True))


def _mixture_cdf(means, scales):
    """The CDF of the 1-D mixture with the weights PI, means `means` and standard deviations `scales`."""
    return lambda t: stats.norm.cdf((np.asarray(t)[..., None] - means) / scales) @ PI


def _random_joint(rng, n_z=4, n_x=6, D=3):
    """A discrete joint distribution of (z, x): probabilities (n_z, n_x) and the values of x, (n_z, n_x, D)."""
    joint = rng.random((n_z, n_x))
    return joint / joint.sum(), rng.normal(size=(n_z, n_x, D))


def test_total_expectation_and_total_covariance_on_an_exact_discrete_joint():
    joint, values = _random_joint(np.random.default_rng(0))
    flat_p, flat_x = joint.ravel(), values.reshape(-1, values.shape[-1])
    mean = flat_p @ flat_x
    cov = np.einsum("n,ni,nj->ij", flat_p, flat_x - mean, flat_x - mean)
    p_z = joint.sum(axis=1)
    conditional_means = np.einsum("zx,zxi->zi", joint, values) / p_z[:, None]
    deviations = values - conditional_means[:, None]
    conditional_covs = np.einsum("zx,zxi,zxj->zij", joint, deviations, deviations) / p_z[:, None, None]
    np.testing.assert_allclose(p_z @ conditional_means, mean, atol=1e-12)  # checks: total-expectation
    between = np.einsum("z,zi,zj->ij", p_z, conditional_means - mean, conditional_means - mean)
    np.testing.assert_allclose(np.einsum("z,zij->ij", p_z, conditional_covs) + between, cov,
                               atol=1e-12)  # checks: total-covariance
    second_moment_of_means = np.einsum("z,zi,zj->ij", p_z, conditional_means, conditional_means)
    np.testing.assert_allclose(second_moment_of_means - np.outer(mean, mean), between,
                               atol=1e-12)  # checks: total-covariance-proof


def test_samples_of_the_generative_process_follow_the_mixture_density():
    # Along any direction u, the mixture density projects to a 1-D mixture with means u.mu_k and variances u'Sigma_k u.
    rng = np.random.default_rng(1)
    n = 200_000
    labels = rng.choice(3, size=n, p=PI)
    samples = MU[labels] + np.einsum("nij,nj->ni", np.linalg.cholesky(SIGMA)[labels], rng.standard_normal((n, 2)))
    for u in [np.array([1.0, 0.0]), np.array([0.6, -0.8])]:
        means, scales = MU @ u, np.sqrt(np.einsum("i,kij,j->k", u, SIGMA, u))
        result = stats.kstest(samples @ u, _mixture_cdf(means, scales))
        assert result.pvalue > 1e-3, result  # checks: mixture-generative, mixture-density


def test_splitting_a_component_keeps_the_mean_but_doubles_the_sum_of_means():
    split_pi, split_mu = np.array([0.5, 0.5]), np.array([[2.0, -1.0], [2.0, -1.0]])
    np.testing.assert_allclose(solution.mixture_mean(split_pi, split_mu),
                               solution.mixture_mean(np.array([1.0]), split_mu[:1]))  # checks: sum-of-means-split
    np.testing.assert_allclose(split_mu.sum(axis=0), 2 * split_mu[0])  # checks: sum-of-means-split


def test_the_weighted_mean_lies_in_the_convex_hull_of_the_means_and_the_sum_need_not():
    rng = np.random.default_rng(2)
    for _ in range(20):
        pi = rng.dirichlet(np.ones(3))
        mu = rng.normal(size=(3, 2))
        # Barycentric coordinates of the mean with respect to the triangle of the means are the weights themselves.
        coordinates = np.linalg.solve(np.vstack([mu.T, np.ones(3)]), np.append(solution.mixture_mean(pi, mu), 1))
        np.testing.assert_allclose(coordinates, pi, atol=1e-9)  # checks: sum-of-means-split
    coordinates = np.linalg.solve(np.vstack([MU.T, np.ones(3)]), np.append(MU.sum(axis=0), 1))
    assert coordinates.min() < 0  # checks: sum-of-means-split


def test_the_sum_of_the_means_lies_in_a_region_of_very_low_density():
    point = MU.sum(axis=0)
    distances = [np.sqrt((point - m) @ np.linalg.solve(s, point - m)) for m, s in zip(MU, SIGMA, strict=True)]
    assert 3.7 < min(distances) < 3.9 and np.argmin(distances) == 1  # checks: sum-of-means-low-density
    np.testing.assert_allclose(sorted(distances)[1:], [5.29, 6.25], atol=0.01)  # checks: sum-of-means-low-density
    peak = _mixture_density(MU[0], PI, MU, SIGMA)  # the highest density, at the first component's mean
    density = _mixture_density(point, PI, MU, SIGMA)
    assert 2e-5 < density < 5e-5 and 2500 < peak / density < 3500  # checks: sum-of-means-low-density


def test_the_second_moment_form_and_the_double_sum_of_the_mean():
    rng = np.random.default_rng(3)
    pi, mu = rng.dirichlet(np.ones(4)), rng.normal(size=(4, 3))
    factors = rng.normal(size=(4, 3, 3))
    sigma = factors @ factors.transpose(0, 2, 1)
    mean = solution.mixture_mean(pi, mu)
    second_moment = np.einsum("k,kij->ij", pi, sigma + np.einsum("ki,kj->kij", mu, mu))
    np.testing.assert_allclose(second_moment - np.outer(mean, mean), solution.mixture_covariance(pi, mu, sigma),
                               atol=1e-12)  # checks: mixture-covariance-second-moment
    np.testing.assert_allclose(np.einsum("k,l,ki,lj->ij", pi, pi, mu, mu), np.outer(mean, mean),
                               atol=1e-12)  # checks: mean-outer-double-sum


def test_within_and_between_are_positive_semidefinite_and_between_vanishes_only_for_equal_means():
    rng = np.random.default_rng(4)
    pi, mu = rng.dirichlet(np.ones(3)), rng.normal(size=(3, 2))
    within = np.einsum("k,kij->ij", PI, SIGMA)
    between = np.cov(mu, rowvar=False, aweights=pi, bias=True)
    # checks: within-between-psd
    assert np.linalg.eigvalsh(within).min() > 0 and np.linalg.eigvalsh(between).min() > -1e-12
    same = np.repeat(mu[:1], 3, axis=0)
    # checks: within-between-psd
    np.testing.assert_allclose(np.cov(same, rowvar=False, aweights=pi, bias=True), 0, atol=1e-12)
    # A zero weight does not count: its mean may differ.
    other = np.vstack([same[:2], [[9.0, 9.0]]])
    np.testing.assert_allclose(np.cov(other, rowvar=False, aweights=[0.5, 0.5, 0.0], bias=True), 0,
                               atol=1e-12)  # checks: within-between-psd


def test_the_second_moment_changes_under_a_shift_and_the_covariance_does_not():
    shift = np.array([3.0, -2.0])
    second = np.einsum("k,kij->ij", PI, SIGMA + np.einsum("ki,kj->kij", MU, MU))
    second_shifted = np.einsum("k,kij->ij", PI, SIGMA + np.einsum("ki,kj->kij", MU + shift, MU + shift))
    assert not np.allclose(second, second_shifted)  # checks: second-moment-not-shift-invariant
    np.testing.assert_allclose(solution.mixture_covariance(PI, MU + shift, SIGMA),
                               solution.mixture_covariance(PI, MU, SIGMA))  # checks: second-moment-not-shift-invariant


def test_four_standard_errors_and_the_standard_error_of_a_mean():
    one_entry = 2 * stats.norm.sf(4)
    assert 6e-5 < one_entry < 6.5e-5 and 6 * one_entry < 1e-3  # checks: monte-carlo-standard-error
    # The spread of a sample mean over repetitions is the standard deviation over sqrt(n).
    rng = np.random.default_rng(5)
    n, repetitions = 400, 4000
    means = rng.exponential(scale=2.0, size=(repetitions, n)).mean(axis=1)
    np.testing.assert_allclose(means.std(), 2.0 / np.sqrt(n), rtol=0.05)  # checks: monte-carlo-standard-error


def test_a_matching_gaussian_peaks_in_the_gap_of_a_separated_mixture():
    gaussian_at_mean = stats.norm(0, np.sqrt(10)).pdf(0)
    mixture_at_mean = 0.5 * stats.norm(-3, 1).pdf(0) + 0.5 * stats.norm(3, 1).pdf(0)
    np.testing.assert_allclose(solution.mixture_covariance(np.array([0.5, 0.5]), np.array([[-3.0], [3.0]]),
                                                           np.ones((2, 1, 1))), [[10.0]])  # checks: moments-not-shape
    assert 25 < gaussian_at_mean / mixture_at_mean < 35  # checks: moments-not-shape
    # The notebook's mixture: at its mean, about a third of its highest density.
    ratio = _mixture_density(PI @ MU, PI, MU, SIGMA) / _mixture_density(MU[0], PI, MU, SIGMA)
    assert 0.28 < ratio < 0.36  # checks: moments-not-shape
