"""Claims of the lecture notes on topic 04 that are checked here rather than in the notebook."""

import numpy as np
from scipy import integrate, optimize, stats
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


TRIANGLE = np.column_stack([np.cos(2 * np.pi * np.arange(3) / 3), np.sin(2 * np.pi * np.arange(3) / 3)])


def _triangle_gradient_and_hessian(points, sigma):
    """Gradient (n, 2) and Hessian (n, 2, 2) of sum_j exp(-|u - mu_j|^2 / (2 sigma^2)), the triangle's density
    up to a constant factor, at each of the points (n, 2)."""
    offsets = points[:, None, :] - TRIANGLE[None]  # (n, 3, 2)
    terms = np.exp(-(offsets**2).sum(axis=2) / (2 * sigma**2))  # (n, 3)
    gradient = -np.einsum("nj,nja->na", terms, offsets) / sigma**2
    hessian = (np.einsum("nj,nja,njb->nab", terms, offsets, offsets) / sigma**4
               - terms.sum(axis=1)[:, None, None] * np.eye(2) / sigma**2)
    return gradient, hessian


def _triangle_modes(sigma, n=41, limit=1.5):
    """The modes of the equal-weight mixture of N(mu_j, sigma^2 I), mu_j on the triangle of circumradius 1.

    Ascent from every point of an n x n grid by the mean-shift fixed point (each step moves uphill), then Newton's
    method to a stationary point, kept if its gradient vanishes and its Hessian is negative definite; limits closer
    than 1e-6 are one mode."""
    axis = np.linspace(-limit, limit, n)
    points = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    for _ in range(500):
        terms = np.exp(-((points[:, None, :] - TRIANGLE[None]) ** 2).sum(axis=2) / (2 * sigma**2))
        points = terms @ TRIANGLE / terms.sum(axis=1, keepdims=True)
    for _ in range(30):
        gradient, hessian = _triangle_gradient_and_hessian(points, sigma)
        points = points - np.linalg.solve(hessian, gradient[..., None])[..., 0]
    gradient, hessian = _triangle_gradient_and_hessian(points, sigma)
    is_mode = (np.linalg.norm(gradient, axis=1) < 1e-10) & np.all(np.linalg.eigvalsh(hessian) < 0, axis=1)
    modes = []
    for point in points[is_mode]:
        if all(np.linalg.norm(point - mode) > 1e-6 for mode in modes):
            modes.append(point)
    return np.array(modes)


def test_three_equal_isotropic_components_on_a_triangle_have_four_modes_in_a_narrow_window():
    # Inside (1/sqrt(2), 0.7391): the three outer modes and the centre.
    for sigma in (0.708, 0.72, 0.738):
        modes = _triangle_modes(sigma)
        assert len(modes) == 4  # checks: triangle-four-modes
        assert np.any(np.linalg.norm(modes, axis=1) < 1e-8)  # checks: triangle-four-modes
    # Just below: the three outer modes only; just above: the centre only.
    assert len(_triangle_modes(0.705)) == 3  # checks: triangle-four-modes
    assert len(_triangle_modes(0.741)) == 1  # checks: triangle-four-modes
    # The centre's Hessian is (3 phi / sigma^2)(1 / (2 sigma^2) - 1) I: its sign changes at sigma = 1/sqrt(2).
    for sigma in (0.6, 1 / np.sqrt(2) - 1e-4, 1 / np.sqrt(2) + 1e-4, 0.9):
        phi = np.exp(-1 / (2 * sigma**2))
        hessian = _triangle_gradient_and_hessian(np.zeros((1, 2)), sigma)[1][0]
        np.testing.assert_allclose(hessian, 3 * phi / sigma**2 * (1 / (2 * sigma**2) - 1) * np.eye(2),
                                   atol=1e-14)  # checks: triangle-four-modes
    # The outer modes end where each meets its saddle on the line to its vertex: f' = f'' = 0 there.
    def on_the_axis(parameters):
        t, sigma = parameters
        gradient, hessian = _triangle_gradient_and_hessian(np.array([[t, 0.0]]), sigma)
        return [gradient[0, 0] * sigma**2, hessian[0, 0, 0] * sigma**4]

    t, sigma = optimize.fsolve(on_the_axis, [0.5, 0.735], xtol=1e-12)
    np.testing.assert_allclose([t, sigma], [0.3772, 0.7391], atol=5e-5)  # checks: triangle-four-modes
    assert len(_triangle_modes(sigma - 1e-3)) == 4  # checks: triangle-four-modes
    assert len(_triangle_modes(sigma + 1e-3)) == 1  # checks: triangle-four-modes


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
