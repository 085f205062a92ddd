"""Claims of the lecture notes on topic 05 that are checked here rather than in the notebook."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture

from latent_course.images import distinct_colours, load_image
from latent_course.tools.solutions import load_solution

solution = load_solution("05_image_clustering")


@pytest.fixture(scope="module")
def flower():
    """The notebook's image: its pixels, distinct colours and their counts."""
    image = load_image("flower.jpg")
    colours, counts, _ = distinct_colours(image)
    return image.reshape(-1, 3).astype(float), colours.astype(float), counts


def _inertia(X, weight, mu, z):
    return weight @ ((X - mu[z]) ** 2).sum(axis=1)


def _blobs(seed=0, N=300):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(centre, 0.6, size=(N // 3, 2)) for centre in ([0, 0], [4, 1], [1, 5])])


def plain_lloyd(X, init, weight):
    """Lloyd's iterations written out, recording the inertia after every update (no empty clusters expected)."""
    mu, history = init.copy(), []
    z = ((X[:, None] - mu) ** 2).sum(axis=2).argmin(axis=1)
    while True:
        mu = np.array([np.average(X[z == j], axis=0, weights=weight[z == j]) for j in range(len(mu))])
        history.append(_inertia(X, weight, mu, z))
        new_z = ((X[:, None] - mu) ** 2).sum(axis=2).argmin(axis=1)
        if np.array_equal(new_z, z):
            return mu, z, history
        z = new_z


def test_each_lloyd_step_minimises_over_its_block():
    rng = np.random.default_rng(0)
    X, weight = _blobs(), rng.random(300)
    mu, z = solution.kmeans(X, 3, sample_weight=weight, random_state=0)
    nearest = ((X[:, None] - mu) ** 2).sum(axis=2).argmin(axis=1)
    assert np.array_equal(z, nearest)  # checks: lloyd-steps, lloyd-fixed-point
    means = np.array([np.average(X[z == j], axis=0, weights=weight[z == j]) for j in range(3)])
    np.testing.assert_allclose(mu, means, rtol=1e-10)  # checks: lloyd-steps, lloyd-fixed-point
    for _ in range(20):  # any other centres for the same clusters are worse
        # checks: lloyd-steps
        assert _inertia(X, weight, mu + rng.normal(scale=0.1, size=mu.shape), z) > _inertia(X, weight, mu, z)


def test_lloyd_lowers_the_inertia_strictly_until_the_labels_repeat_and_matches_the_solution():
    X = _blobs(1)
    weight = np.ones(len(X))
    init = X[[0, 1, 2]]  # a poor start, all in one blob
    mu, z, history = plain_lloyd(X, init, weight)
    # Every iteration that did not stop lowered the inertia strictly; the last one left the labels as they were.
    assert len(history) > 2 and np.all(np.diff(history) < 0)  # checks: lloyd-terminates
    ours_mu, ours_z = solution.kmeans(X, 3, init=init)
    assert np.array_equal(ours_z, z)  # checks: lloyd-terminates
    np.testing.assert_allclose(ours_mu, mu, rtol=1e-12)  # checks: lloyd-terminates


def test_a_lloyd_fixed_point_with_a_tie_is_not_a_local_minimum():
    X = np.array([[0.0], [2.0], [3.0]])
    mu, z = solution.kmeans(X, 2, init=np.array([[1.0], [3.0]]))
    np.testing.assert_allclose(mu, [[1.0], [3.0]])  # checks: lloyd-fixed-point
    assert list(z) == [0, 0, 1]  # checks: lloyd-fixed-point

    def inertia_of_centres(centres):
        return ((X - centres.T) ** 2).min(axis=1).sum()

    assert inertia_of_centres(mu) == 2.0  # checks: lloyd-fixed-point
    for epsilon in [1e-1, 1e-3, 1e-6]:
        assert inertia_of_centres(np.array([[1.0], [3.0 - epsilon]])) < 2.0  # checks: lloyd-fixed-point


def test_the_seeds_centroid_puts_three_times_the_grey_level_in_every_channel(flower):
    _, colours, counts = flower
    mu, z = solution.kmeans(colours, 5, sample_weight=counts, random_state=0)
    seed_like = np.array([np.sum(counts[z == j, None] * colours[z == j]) / counts[z == j].sum() for j in range(5)])
    np.testing.assert_allclose(seed_like, mu.sum(axis=1), rtol=1e-10)  # checks: seed-centroid
    np.testing.assert_allclose(seed_like, 3 * mu.mean(axis=1), rtol=1e-10)  # checks: seed-centroid
    outside = seed_like > 255
    assert np.array_equal(outside, mu.mean(axis=1) > 85) and outside.sum() == 2  # checks: seed-centroid


def test_the_empty_cluster_move_lowers_the_inertia_and_fills_the_cluster():
    X, weight = _blobs(2), np.ones(300)
    mu, z = X[[0, 100, 200]].copy(), None
    z = ((X[:, None] - mu[:2]) ** 2).sum(axis=2).argmin(axis=1)  # the third centre has no point
    before = _inertia(X, weight, mu, z)
    farthest = np.argmax(((X - mu[z]) ** 2).sum(axis=1))
    moved_z = z.copy()
    moved_z[farthest] = 2
    mu[2] = X[farthest]
    assert _inertia(X, weight, mu, moved_z) < before  # checks: empty-cluster-move
    far_away = np.vstack([X[[0, 100]], [[100.0, 100.0]]])
    _, z = solution.kmeans(X, 3, init=far_away)
    assert np.all(np.bincount(z, minlength=3) > 0)  # checks: empty-cluster-move


def test_int8_overflows_at_label_128():
    assert np.array(127).astype(np.int8) == 127  # checks: int8-labels
    assert np.array(128).astype(np.int8) == -128  # checks: int8-labels


def test_kmeans_plus_plus_needs_k_distinct_points():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="distinct"):  # checks: kmeanspp-fewer-points
        solution.kmeans(X, 3, random_state=0)
    assert len(solution.kmeans(X, 2, random_state=0)[0]) == 2  # checks: kmeanspp-fewer-points


def test_jensens_bound_and_its_equality_at_the_responsibilities():
    rng = np.random.default_rng(3)
    log_joint = rng.normal(size=(50, 4)) - 3  # log(pi_j N_ij)
    log_likelihood = logsumexp(log_joint, axis=1)
    for _ in range(20):
        q = rng.dirichlet(np.ones(4), size=50)
        bound = np.sum(q * (log_joint - np.log(q)), axis=1)
        assert np.all(bound <= log_likelihood + 1e-12)  # checks: jensen-bound
    gamma = np.exp(log_joint - log_likelihood[:, None])
    np.testing.assert_allclose(np.sum(gamma * (log_joint - np.log(gamma)), axis=1), log_likelihood,
                               rtol=1e-12)  # checks: jensen-bound


def test_exact_em_never_decreases_the_likelihood():
    X = _blobs(4)
    *_, log_likelihoods = solution.em(X, 3, tol=1e-12, max_iter=60, reg_covar=1e-12, random_state=0)
    assert len(log_likelihoods) > 2  # checks: em-monotone
    assert np.all(np.diff(log_likelihoods) >= -1e-12)  # checks: em-monotone


def test_scikit_learns_defaults():
    model = GaussianMixture()
    assert model.tol == 1e-3 and model.reg_covar == 1e-6  # checks: sklearn-defaults, likelihood-unbounded


def test_the_likelihood_grows_without_bound_as_a_component_shrinks_onto_a_point():
    X = _blobs(5)
    values = []
    for variance in [1e-4, 1e-6, 1e-8, 1e-10]:
        sigma = np.array([np.cov(X.T), variance * np.eye(2)])
        P = solution.gmm_log_probability(X, np.array([0.5, 0.5]), np.array([X.mean(axis=0), X[0]]), sigma)
        values.append(logsumexp(P, axis=1).mean())
    # Each factor 100 in the variance adds log(100) to the point's log-density: the mean grows like log(1 / variance).
    np.testing.assert_allclose(np.diff(values), np.log(100) / len(X), rtol=1e-4)  # checks: likelihood-unbounded


def test_a_start_in_the_unit_cube_underflows_for_nearly_all_colours(flower):
    _, colours, counts = flower
    means = np.random.default_rng(0).random((5, 3))
    squared = ((colours[:, None, :] - means) ** 2).sum(axis=2)
    log_joint = np.log(1 / 5) - 0.5 * squared - 1.5 * np.log(2 * np.pi)
    with np.errstate(under="ignore"):
        underflow = np.all(np.exp(log_joint) == 0, axis=1)
    assert 0.95 < underflow.mean() < 1  # checks: init-underflow
    assert 0.85 < counts[underflow].sum() / counts.sum() < 0.92  # checks: init-underflow
    distance = np.sqrt(squared.min(axis=1))
    assert distance[~underflow].max() < 38.6 < distance[underflow].min() + 0.2  # checks: init-underflow


def test_the_cholesky_log_density_against_scipy():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 3))
    mu = rng.normal(size=(2, 3))
    factors = rng.normal(size=(2, 3, 3))
    sigma = factors @ factors.transpose(0, 2, 1) + 0.1 * np.eye(3)
    pi = np.array([0.3, 0.7])
    P = solution.gmm_log_probability(X, pi, mu, sigma)
    for j in range(2):
        L = np.linalg.cholesky(sigma[j])
        y = np.linalg.solve(L, (X - mu[j]).T)
        by_formula = -0.5 * (y**2).sum(axis=0) - np.log(np.diag(L)).sum() - 1.5 * np.log(2 * np.pi)
        np.testing.assert_allclose(by_formula, stats.multivariate_normal(mu[j], sigma[j]).logpdf(X),
                                   rtol=1e-10)  # checks: cholesky-log-density
        np.testing.assert_allclose(P[:, j], np.log(pi[j]) + by_formula, rtol=1e-10)  # checks: cholesky-log-density


def test_log_sum_exp_gives_the_responsibilities_where_every_density_underflows():
    P = np.array([[-2000.0, -2001.0, -2010.0], [-1.0, -2.0, -11.0]])  # the same differences
    with np.errstate(divide="ignore", under="ignore"):
        assert np.log(np.exp(P[0]).sum()) == -np.inf  # checks: gmm-log-sum-exp
    m = P.max(axis=1, keepdims=True)
    gamma = np.exp(P - (m + np.log(np.exp(P - m).sum(axis=1, keepdims=True))))
    np.testing.assert_allclose(gamma.sum(axis=1), 1.0)  # checks: gmm-log-sum-exp
    np.testing.assert_allclose(gamma[0], gamma[1], rtol=1e-12)  # checks: gmm-log-sum-exp


def test_em_with_shrinking_equal_spherical_covariances_becomes_lloyd():
    X = _blobs(7)
    mu = X[[5, 150, 250]] + 0.5
    P_nearest = ((X[:, None] - mu) ** 2).sum(axis=2).argmin(axis=1)
    lloyd_update = np.array([X[P_nearest == j].mean(axis=0) for j in range(3)])
    gaps = []
    for variance in [1.0, 0.1, 0.01, 0.001]:
        sigma = np.repeat(variance * np.eye(2)[None], 3, axis=0)
        P = solution.gmm_log_probability(X, np.full(3, 1 / 3), mu, sigma)
        gamma = np.exp(P - logsumexp(P, axis=1, keepdims=True))
        em_update = gamma.T @ X / gamma.sum(axis=0)[:, None]
        gaps.append(np.abs(em_update - lloyd_update).max())
        if variance == 0.001:
            np.testing.assert_allclose(gamma, np.eye(3)[P_nearest], atol=1e-6)  # checks: kmeans-small-variance-limit
    assert np.all(np.diff(gaps) < 0) and gaps[-1] < 1e-6  # checks: kmeans-small-variance-limit


def test_ancestral_samples_have_the_mixture_moments():
    pi, mu = np.array([0.3, 0.7]), np.array([[0.0, 0.0], [3.0, -1.0]])
    sigma = np.array([[[1.0, 0.5], [0.5, 2.0]], [[0.3, -0.1], [-0.1, 0.4]]])
    n = 400_000
    samples = solution.gmm_sample(n, pi, mu, sigma, random_state=0)
    one = solution.gmm_sample(n, np.array([1.0]), mu[:1], sigma[:1], random_state=1)
    np.testing.assert_allclose(np.cov(one.T), sigma[0], atol=0.02)  # checks: ancestral-sampling
    mean = pi @ mu
    cov = np.einsum("k,kij->ij", pi, sigma) + np.einsum("k,ki,kj->ij", pi, mu - mean, mu - mean)
    np.testing.assert_allclose(samples.mean(axis=0), mean, atol=0.01)  # checks: ancestral-sampling
    np.testing.assert_allclose(np.cov(samples.T), cov, atol=0.03)  # checks: ancestral-sampling


def test_the_compression_arithmetic(flower):
    pixels, colours, counts = flower
    N = len(pixels)
    assert N == 273_280 and len(colours) == 62_941 and counts.sum() == N  # checks: flower-sizes

    def ratio(k):
        return 24 * N / (np.ceil(np.log2(k)) * N + 24 * k)

    assert np.ceil(np.log2(16)) * N + 24 * 16 == 4 * N + 384  # checks: compression-arithmetic
    assert round(ratio(16)) == 6 and round(ratio(2)) == 24 and round(ratio(5)) == 8  # checks: compression-arithmetic
    np.testing.assert_allclose(np.log2(5), 2.32, atol=0.005)  # checks: compression-arithmetic
    pi = np.array([0.178, 0.096, 0.386, 0.152, 0.188])
    assert -(pi * np.log2(pi)).sum() <= np.log2(5)  # checks: compression-arithmetic


def test_weighted_kmeans_plus_plus_draws_colours_with_the_pixels_distribution():
    rng = np.random.default_rng(8)
    colours = rng.normal(size=(6, 3))
    counts = rng.integers(1, 9, size=6)
    pixels = np.repeat(colours, counts, axis=0)
    centre = colours[0]
    d2_colours = ((colours - centre) ** 2).sum(axis=1)
    d2_pixels = ((pixels - centre) ** 2).sum(axis=1)
    by_colour = counts * d2_colours / (counts * d2_colours).sum()
    by_pixel = np.bincount(np.repeat(np.arange(6), counts), weights=d2_pixels / d2_pixels.sum(), minlength=6)
    np.testing.assert_allclose(by_colour, by_pixel, rtol=1e-12)  # checks: weighted-kmeanspp


def test_ancestral_samples_follow_the_mixture_distribution_not_only_its_moments():
    from scipy import stats

    pi, mu = np.array([0.3, 0.7]), np.array([[0.0, 0.0], [3.0, -1.0]])
    sigma = np.array([[[1.0, 0.5], [0.5, 2.0]], [[0.3, -0.1], [-0.1, 0.4]]])
    samples = solution.gmm_sample(20_000, pi, mu, sigma, random_state=0)
    mean = pi @ mu
    cov = np.einsum("k,kij->ij", pi, sigma) + np.einsum("k,ki,kj->ij", pi, mu - mean, mu - mean)
    same_moments = np.random.default_rng(0).multivariate_normal(mean, cov, size=20_000, method="cholesky")
    for a in [np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, -1.0]) / np.sqrt(2)]:
        # a^T x is a one-dimensional mixture: its CDF is sum_k pi_k Phi((t - a^T mu_k) / sqrt(a^T Sigma_k a))
        def cdf(t, a=a):
            return np.sum(pi * stats.norm.cdf((np.asarray(t)[..., None] - mu @ a) / np.sqrt(a @ sigma @ a)), axis=-1)

        assert stats.kstest(samples @ a, cdf).pvalue > 1e-3  # checks: ancestral-sampling
        # a Gaussian with the mixture's mean and covariance is rejected: the test sees more than the moments
        assert stats.kstest(same_moments @ a, cdf).pvalue < 1e-6
