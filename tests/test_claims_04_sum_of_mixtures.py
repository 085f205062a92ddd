"""Claims of the lecture notes on topic 04 that are checked here rather than in the notebook."""

import numpy as np
from scipy import integrate, stats
from scipy.special import logsumexp

from latent_course.tools.solutions import load_solution

solution = load_solution("04_sum_of_mixtures")


def _discrete(rng, n=5, D=2):
    """A random discrete distribution: probabilities (n,) and values (n, D)."""
    p = rng.random(n)
    return p / p.sum(), rng.normal(size=(n, D))


def test_means_and_covariances_add_for_independent_vectors_exactly():
    rng = np.random.default_rng(0)
    (p, x), (q, y) = _discrete(rng), _discrete(rng)
    weights = np.outer(p, q).ravel()  # independence: the joint is the product
    sums = (x[:, None] + y[None, :]).reshape(-1, 2)

    def moments(w, v):
        mean = w @ v
        return mean, np.einsum("n,ni,nj->ij", w, v - mean, v - mean)

    (mean_x, cov_x), (mean_y, cov_y), (mean_z, cov_z) = moments(p, x), moments(q, y), moments(weights, sums)
    np.testing.assert_allclose(mean_z, mean_x + mean_y, atol=1e-12)  # checks: sum-conditional-moments
    # checks: sum-conditional-moments, covariance-of-independent-sum
    np.testing.assert_allclose(cov_z, cov_x + cov_y, atol=1e-12)
    # Without independence the cross-covariances count: x + x has four times the covariance, not two.
    np.testing.assert_allclose(moments(p, 2 * x)[1], 4 * cov_x, atol=1e-12)  # checks: covariance-of-independent-sum


def test_the_characteristic_function_of_a_gaussian():
    mean, variance = 0.7, 1.8
    density = stats.norm(mean, np.sqrt(variance)).pdf
    for t in [0.3, 1.1, 2.5]:
        real = integrate.quad(lambda u, t=t: np.cos(t * u) * density(u), -40, 40)[0]
        imaginary = integrate.quad(lambda u, t=t: np.sin(t * u) * density(u), -40, 40)[0]
        expected = np.exp(1j * t * mean - 0.5 * t**2 * variance)
        # checks: gaussian-characteristic-function
        np.testing.assert_allclose(real + 1j * imaginary, expected, atol=1e-10)
    # In two dimensions, by Monte Carlo: E[exp(i t'x)] for x ~ N(mu, Sigma).
    rng = np.random.default_rng(1)
    mu, sigma = np.array([0.5, -1.0]), np.array([[1.0, 0.4], [0.4, 0.6]])
    x = rng.multivariate_normal(mu, sigma, size=400_000)
    t = np.array([0.8, -0.5])
    estimate = np.exp(1j * x @ t).mean()
    np.testing.assert_allclose(estimate, np.exp(1j * t @ mu - 0.5 * t @ sigma @ t),
                               atol=5e-3)  # checks: gaussian-characteristic-function


def test_the_characteristic_function_of_an_independent_sum_is_the_product():
    rng = np.random.default_rng(2)
    x = rng.normal(0.5, 1.2, size=500_000)
    y = rng.exponential(0.8, size=500_000)  # any distribution: independence is what counts
    for t in [0.4, 1.3]:
        np.testing.assert_allclose(np.exp(1j * t * (x + y)).mean(),
                                   np.exp(1j * t * x).mean() * np.exp(1j * t * y).mean(),
                                   atol=5e-3)  # checks: characteristic-function-of-sum
        gaussian_sum = np.exp(1j * t * (0.5 + 1.0) - 0.5 * t**2 * (1.44 + 0.3))
        np.testing.assert_allclose(np.exp(1j * t * 0.5 - 0.5 * t**2 * 1.44) * np.exp(1j * t * 1.0 - 0.5 * t**2 * 0.3),
                                   gaussian_sum, rtol=1e-12)  # checks: characteristic-function-of-sum


def test_the_sum_of_two_densities_integrates_to_two():
    px, py = stats.norm(-1, 0.5), stats.norm(2, 1.5)
    total = integrate.quad(lambda u: px.pdf(u) + py.pdf(u), -np.inf, np.inf)[0]
    np.testing.assert_allclose(total, 2.0, rtol=1e-8)  # checks: densities-do-not-add


def test_the_convolution_of_two_gaussian_densities_is_the_gaussian_of_the_sum():
    px, py = stats.norm(-1, 0.5), stats.norm(2, 1.5)
    for z in [-2.0, 0.3, 1.0, 4.5]:
        convolution = integrate.quad(lambda u, z=z: px.pdf(u) * py.pdf(z - u), -np.inf, np.inf)[0]
        np.testing.assert_allclose(convolution, stats.norm(1, np.sqrt(0.25 + 2.25)).pdf(z),
                                   rtol=1e-7)  # checks: gaussian-convolution


def test_product_weights_sum_to_one_and_summed_weights_to_kx_plus_ky():
    pi_x, pi_y = np.array([0.2, 0.5, 0.3]), np.array([0.6, 0.4])
    mixture_z = solution.sum_of_mixtures((pi_x, np.zeros((3, 1)), np.ones((3, 1, 1))),
                                         (pi_y, np.zeros((2, 1)), np.ones((2, 1, 1))))
    np.testing.assert_allclose(mixture_z.weights.sum(), 1.0)  # checks: product-weights
    np.testing.assert_allclose((pi_x[:, None] + pi_y[None, :]).sum(), 3 + 2)  # checks: product-weights


def _count_modes(weights, means, covariances, limit=4.0, n=401):
    grid = np.linspace(-limit, limit, n)
    u, v = np.meshgrid(grid, grid)
    points = np.dstack([u, v])
    density = sum(w * stats.multivariate_normal(m, c).pdf(points)
                  for w, m, c in zip(weights, means, covariances, strict=True))
    centre = density[1:-1, 1:-1]
    neighbours = [density[1 + a:density.shape[0] - 1 + a, 1 + b:density.shape[1] - 1 + b]
                  for a in (-1, 0, 1) for b in (-1, 0, 1) if (a, b) != (0, 0)]
    return int(np.sum(np.all([centre > other for other in neighbours], axis=0)))


def test_two_crossing_components_in_the_plane_have_three_modes():
    weights = [0.5, 0.5]
    means = np.array([[-1.5, 0.0], [0.0, -1.5]])
    covariances = np.array([np.diag([4.0, 0.05]), np.diag([0.05, 4.0])])
    assert _count_modes(weights, means, covariances) == 3  # checks: modes-versus-components
    assert _count_modes(weights, means, covariances, n=801) == 3  # checks: modes-versus-components


def test_three_equal_isotropic_components_on_a_triangle_have_four_modes_in_a_narrow_window():
    angles = 2 * np.pi * np.arange(3) / 3
    means = np.column_stack([np.cos(angles), np.sin(angles)])  # an equilateral triangle of circumradius 1

    def modes(sigma):
        return _count_modes([1 / 3] * 3, means, [sigma**2 * np.eye(2)] * 3, limit=2.0, n=801)

    counts = [modes(sigma) for sigma in (0.70, 0.712, 0.72, 0.728, 0.74)]
    assert counts == [3, 4, 4, 4, 1]  # checks: modes-versus-components


def test_where_the_standard_normal_density_underflows():
    assert stats.norm.pdf(37.5) >= np.finfo(float).tiny > stats.norm.pdf(37.7)  # checks: underflow-distance
    assert stats.norm.pdf(38.5) > 0 and stats.norm.pdf(38.7) == 0  # checks: underflow-distance


def test_log_sum_exp_is_exact_and_survives_where_the_plain_sum_underflows():
    a = np.array([-1000.0, -1001.0, -1003.5])
    with np.errstate(divide="ignore"):
        assert np.log(np.exp(a).sum()) == -np.inf  # checks: log-sum-exp
    shifted = a - a.max()
    assert shifted.max() == 0 and np.exp(shifted).sum() >= 1  # checks: log-sum-exp
    np.testing.assert_allclose(a.max() + np.log(np.exp(shifted).sum()), logsumexp(a), rtol=1e-15)  # checks: log-sum-exp
    b = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(b.max() + np.log(np.exp(b - b.max()).sum()), np.log(np.exp(b).sum()),
                               rtol=1e-14)  # checks: log-sum-exp
