# %% [markdown]
# # 04 · The sum of two independent mixture draws
#
# Draw $\mathbf{x}$ from one Gaussian mixture and, **independently**, $\mathbf{y}$ from another, and add them:
# $\mathbf{z} = \mathbf{x} + \mathbf{y}$. What is the distribution of $\mathbf{z}$?
#
# The two draws are independent but not identically distributed: each has its own mixture,
# $\boldsymbol\theta^x = (\pi^x_k, \boldsymbol\mu^x_k, \boldsymbol\Sigma^x_k)_{k=1}^{K_x}$ and
# $\boldsymbol\theta^y = (\pi^y_l, \boldsymbol\mu^y_l, \boldsymbol\Sigma^y_l)_{l=1}^{K_y}$. The answer, derived in
# the lecture notes [derivations/04_sum_of_mixtures.md](../derivations/04_sum_of_mixtures.md), is again a Gaussian
# mixture, with one component for every pair $(k, l)$:
#
# $$p(\mathbf{z}) = \sum_{k=1}^{K_x} \sum_{l=1}^{K_y} \pi^x_k \pi^y_l \;
#   \mathcal{N}\big(\mathbf{z} \mid \boldsymbol\mu^x_k + \boldsymbol\mu^y_l,\; \boldsymbol\Sigma^x_k + \boldsymbol\Sigma^y_l\big).$$
#
# **Your tasks**
#
# 1. `sample_sum(n, mixture_x, mixture_y, random_state)`: the generative process, vectorised.
# 2. `sum_of_mixtures(mixture_x, mixture_y)`: the closed-form mixture of $\mathbf{z}$.
# 3. `mixture_log_density(X, mixture)`: the log-density of a mixture, computed in log space.
#
# A mixture travels as a tuple `(weights, means, covariances)` of shapes `(K,)`, `(K, D)` and `(K, D, D)`, the
# convention of [topic 03](03_mixture_moments.ipynb); `Mixture` is a named tuple with these three fields. The functions accept plain tuples as
# arguments, but `sum_of_mixtures` must return a `Mixture`: later cells read `mixture_z.weights` and the other fields.

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats
from scipy.special import logsumexp

from latent_course import checks
from latent_course.mixtures import Mixture, as_mixture, as_mixture_pair
from latent_course.notebook import load_topic
from latent_course.validation import check_matrix, check_positive_int

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## Two mixtures in one dimension

# %%
mixture_x = Mixture(weights=np.array([0.3, 0.7]), means=np.array([[-3.0], [1.0]]),
                    covariances=np.array([[[0.4]], [[0.3]]]))
mixture_y = Mixture(weights=np.array([0.6, 0.4]), means=np.array([[0.0], [4.0]]),
                    covariances=np.array([[[0.2]], [[0.5]]]))

# %% [markdown]
# ## Task 1: sampling the sum
#
# The generative process has four steps: draw the component $k \sim \mathrm{Cat}(\boldsymbol\pi^x)$ of $\mathbf{x}$
# and, independently, the component $l \sim \mathrm{Cat}(\boldsymbol\pi^y)$ of $\mathbf{y}$; draw
# $\mathbf{x} \sim \mathcal{N}(\boldsymbol\mu^x_k, \boldsymbol\Sigma^x_k)$ and, independently,
# $\mathbf{y} \sim \mathcal{N}(\boldsymbol\mu^y_l, \boldsymbol\Sigma^y_l)$, from **its own** component $l$; return
# $\mathbf{z} = \mathbf{x} + \mathbf{y}$.
#
# Do it for all $n$ samples at once: draw all labels with one call, then all draws of one component with one call
# (`rng.multivariate_normal(mean, cov, size=count)`). Take every random number from
# `rng = np.random.default_rng(random_state)`, so that the same `random_state` gives the same samples.

# %%
def sample_sum(n, mixture_x, mixture_y, random_state=None):
    """Draw n samples of z = x + y, with x and y drawn independently from two Gaussian mixtures.

    Parameters
    ----------
    n : int
        Number of samples, at least 1.
    mixture_x, mixture_y : tuple (weights, means, covariances)
        Shapes (K_x,), (K_x, D), (K_x, D, D) and (K_y,), (K_y, D), (K_y, D, D).
    random_state : int or np.random.Generator, optional
        Seed or generator for every random number drawn.

    Returns
    -------
    z : np.ndarray, shape (n, D)
    """
    n = check_positive_int(n, "n")
    mixture_x, mixture_y = as_mixture_pair(mixture_x, mixture_y)
    rng = np.random.default_rng(random_state)
    ### BEGIN SOLUTION: draw n labels per mixture, then every component's draws at once; return x + y.
    def draw(mixture):
        labels = rng.choice(len(mixture.weights), size=n, p=mixture.weights)
        samples = np.empty((n, mixture.means.shape[1]))
        for k, (mean, cov) in enumerate(zip(mixture.means, mixture.covariances)):
            chosen = labels == k
            # SVD, not Cholesky: a component may be a point mass (a singular covariance).
            samples[chosen] = rng.multivariate_normal(mean, cov, size=chosen.sum(), method="svd")
        return samples

    return draw(mixture_x) + draw(mixture_y)
    ### END SOLUTION


# %%
checks.sample_sum(sample_sum)

# %% [markdown]
# ## Task 2: the mixture of the sum
#
# Conditioned on the pair $(k, l)$, $\mathbf{x}$ and $\mathbf{y}$ are independent Gaussian random variables, and the
# sum of independent Gaussian random variables is Gaussian with the sum of the means and the sum of the
# covariances. The pair itself has probability $\pi^x_k \pi^y_l$, since $k$ and $l$ are drawn independently.
# Return the $K_x K_y$ components in the order $(0, 0), (0, 1), \dots$, that is `k * K_y + l` (the check accepts
# any order). Broadcasting does it without a loop: `means_x[:, None] + means_y[None, :]` has shape `(K_x, K_y, D)`.

# %%
def sum_of_mixtures(mixture_x, mixture_y):
    """The Gaussian mixture of z = x + y for independent x ~ mixture_x and y ~ mixture_y.

    Parameters
    ----------
    mixture_x, mixture_y : tuple (weights, means, covariances)
        Shapes (K_x,), (K_x, D), (K_x, D, D) and (K_y,), (K_y, D), (K_y, D, D).

    Returns
    -------
    mixture_z : Mixture
        Weights (K_x K_y,), means (K_x K_y, D) and covariances (K_x K_y, D, D); component k * K_y + l
        belongs to the pair (k, l).
    """
    (pi_x, mu_x, sigma_x), (pi_y, mu_y, sigma_y) = as_mixture_pair(mixture_x, mixture_y)
    D = mu_x.shape[1]
    ### BEGIN SOLUTION: multiply the weights, add the means, add the covariances, for every pair (k, l).
    weights = np.outer(pi_x, pi_y).ravel()
    means = (mu_x[:, None] + mu_y[None, :]).reshape(-1, D)
    covariances = (sigma_x[:, None] + sigma_y[None, :]).reshape(-1, D, D)
    return Mixture(weights, means, covariances)
    ### END SOLUTION


# %%
checks.sum_of_mixtures(sum_of_mixtures)

# %% [markdown]
# ## Task 3: the log-density of a mixture
#
# $\log p(\mathbf{x}) = \log \sum_k \pi_k \, \mathcal{N}(\mathbf{x} \mid \boldsymbol\mu_k, \boldsymbol\Sigma_k)$.
# Computing the densities first and taking the log of their weighted sum fails far from the components, where
# every density underflows to 0 and the log becomes $-\infty$. Stay in log space instead:
# $\log p(\mathbf{x}) = \operatorname{logsumexp}_k \big(\log \pi_k + \log \mathcal{N}(\mathbf{x} \mid \boldsymbol\mu_k, \boldsymbol\Sigma_k)\big)$,
# with `scipy.stats.multivariate_normal(mean, cov).logpdf` and `scipy.special.logsumexp` (whose argument `b` takes
# the weights, so that a zero weight needs no `log(0)`).

# %%
def mixture_log_density(X, mixture):
    """Log-density of a Gaussian mixture at N points.

    Parameters
    ----------
    X : np.ndarray, shape (N, D)
        The points.
    mixture : tuple (weights, means, covariances)
        Shapes (K,), (K, D), (K, D, D); every covariance positive definite.

    Returns
    -------
    log_density : np.ndarray, shape (N,)
        log p(x_n) for every row of X.
    """
    weights, means, covariances = as_mixture(mixture, positive_definite=True)
    X = check_matrix(X)
    if X.shape[1] != means.shape[1]:
        raise ValueError(f"X must have D = {means.shape[1]} columns to match the mixture, got {X.shape[1]}")
    ### BEGIN SOLUTION: one column of log N(x | mu_k, Sigma_k) per component, then logsumexp with the weights.
    log_pdfs = np.column_stack([stats.multivariate_normal(mean, cov).logpdf(X).reshape(len(X))
                                for mean, cov in zip(means, covariances)])
    return logsumexp(log_pdfs, axis=1, b=weights)
    ### END SOLUTION


# %%
checks.mixture_log_density(mixture_log_density)

# %% [markdown]
# ## The closed form against a million samples
#
# Our two mixtures have two components each, so $\mathbf{z}$ has four:

# %%
mixture_z = sum_of_mixtures(mixture_x, mixture_y)
for index, (w, m, c) in enumerate(zip(*mixture_z)):
    k, l = divmod(index, len(mixture_y.weights))
    print(f"(k, l) = ({k}, {l}): weight {w:.2f}, mean {m[0]:5.1f}, variance {c[0, 0]:.1f}")

# %% [markdown]
# The histogram of $10^6$ sampled sums should follow the closed-form density. A histogram is a picture; the
# Kolmogorov-Smirnov statistic makes the comparison a test: the largest distance between the samples' empirical
# CDF and the closed-form CDF $F(z) = \sum_{k,l} \pi^x_k \pi^y_l \, \Phi\big((z - \mu_{kl}) / \sigma_{kl}\big)$.
# If the closed form is right, the statistic exceeds its 1 % critical value only 1 % of the time.

# %%
n = 10**6
z = sample_sum(n, mixture_x, mixture_y, random_state=0)[:, 0]
scales = np.sqrt(mixture_z.covariances[:, 0, 0])


def mixture_cdf(t, mixture):
    """The CDF at `t` of a one-dimensional `mixture` (a `Mixture` of scalar components)."""
    spread = np.sqrt(mixture.covariances[:, 0, 0])
    return stats.norm.cdf((np.asarray(t)[..., None] - mixture.means[:, 0]) / spread) @ mixture.weights


ks_statistic = stats.kstest(z, mixture_cdf, args=(mixture_z,)).statistic
critical_value = stats.kstwo.ppf(0.99, n)
assert ks_statistic < critical_value, (ks_statistic, critical_value)  # checks: sum-of-mixtures, product-weights
print(f"Kolmogorov-Smirnov statistic below its 1 % critical value {critical_value:.5f}")

# %%
grid = np.linspace(-6, 9, 601)
density = np.exp(mixture_log_density(grid[:, None], mixture_z))
fig, ax = plt.subplots(figsize=(9, 4))
ax.hist(z, bins=300, density=True, color="lightgray", label="$10^6$ samples of z = x + y")
ax.plot(grid, density, color="black", linewidth=2, label="closed-form mixture")
for index, (w, m, s) in enumerate(zip(mixture_z.weights, mixture_z.means[:, 0], scales)):
    ax.plot(grid, w * stats.norm.pdf(grid, m, s), linestyle="--", linewidth=1,
            label="its components, weighted" if index == 0 else None)
ax.set(xlabel="z", ylabel="density", title="The sum of two mixture draws is a mixture of $K_x K_y = 4$ Gaussians")
ax.legend()
plt.show()

# %% [markdown]
# ## The moments agree with topic 03
#
# Whatever the distributions, the mean of a sum of random variables is the sum of their means, and for independent
# variables the covariance of the sum is the sum of their covariances. With [topic 03](03_mixture_moments.ipynb)'s `mixture_mean` and
# `mixture_covariance`, both sides can be computed from the mixtures alone: from $\mathbf{z}$'s mixture on the
# left, from $\mathbf{x}$'s and $\mathbf{y}$'s on the right. The samples agree too, within 4 standard errors.

# %%
moments = load_topic("03_mixture_moments")
mean_z = moments.mixture_mean(*mixture_z[:2])
cov_z = moments.mixture_covariance(*mixture_z)
np.testing.assert_allclose(mean_z, moments.mixture_mean(*mixture_x[:2]) + moments.mixture_mean(*mixture_y[:2]))  # checks: sum-moments-consistency
np.testing.assert_allclose(cov_z, moments.mixture_covariance(*mixture_x) + moments.mixture_covariance(*mixture_y))  # checks: sum-moments-consistency
assert abs(z.mean() - mean_z[0]) < 4 * z.std() / np.sqrt(n)
assert abs(z.var() - cov_z[0, 0]) < 4 * ((z - z.mean()) ** 2).std() / np.sqrt(n)
print(f"E[z] = E[x] + E[y] = {mean_z[0]:.2f},  Var[z] = Var[x] + Var[y] = {cov_z[0, 0]:.2f}")

# %% [markdown]
# ## In two dimensions
#
# The same construction in the plane: $\mathbf{x}$ from three components, $\mathbf{y}$ from two, so $\mathbf{z}$ has
# six. The contours of the closed-form log-density lie over the samples.

# %%
mixture_x2 = Mixture(np.array([0.5, 0.3, 0.2]), np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]]),
                     np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.4, 0.0], [0.0, 0.4]], [[0.6, -0.2], [-0.2, 0.3]]]))
mixture_y2 = Mixture(np.array([0.7, 0.3]), np.array([[0.0, 0.0], [-2.0, 8.0]]),
                     np.array([[[0.2, 0.0], [0.0, 0.2]], [[0.3, 0.1], [0.1, 0.3]]]))
mixture_z2 = sum_of_mixtures(mixture_x2, mixture_y2)
z2 = sample_sum(20_000, mixture_x2, mixture_y2, random_state=1)

u, v = np.meshgrid(np.linspace(-7, 9, 200), np.linspace(-4, 16, 200))
log_density = mixture_log_density(np.column_stack([u.ravel(), v.ravel()]), mixture_z2).reshape(u.shape)
fig, ax = plt.subplots(figsize=(6, 7))
ax.scatter(*z2.T, s=2, alpha=0.2, color="gray")
contours = ax.contour(u, v, log_density, levels=np.arange(-12, 0, 1.5), cmap="viridis")
fig.colorbar(contours, ax=ax, shrink=0.6, label="log p(z) of each contour")
ax.set(xlabel="$z_1$", ylabel="$z_2$", aspect="equal",
       title=f"{len(mixture_z2.weights)} components: contours of log p(z) over 20,000 samples")
plt.show()

# %% [markdown]
# ## z is a mixture, not a Gaussian
#
# A sum of two Gaussian random variables is Gaussian, but a sum of two mixture draws is in general not: the
# one-dimensional density above has several modes. We count them as the local maxima of the density on the grid:
# three, from four components, because the pairs $(0, 1)$ and $(1, 0)$ share the mean $-3 + 4 = 1 + 0 = 1$ and
# their two bumps merge into one.

# %%
interior = density[1:-1]
n_modes = int(np.sum((interior > density[:-2]) & (interior > density[2:])))
assert n_modes == 3, n_modes  # checks: coinciding-means-modes, sum-not-gaussian
print(f"the density of z has {n_modes} modes")

# %% [markdown]
# ### When components coincide
#
# Sums of means can repeat. With $\boldsymbol\mu^x \in \{0, 1\}$ and $\boldsymbol\mu^y \in \{0, 1\}$ and equal
# variances, the pairs $(0, 1)$ and $(1, 0)$ give the same mean $1$ and the same variance: two of the four
# components are one and the same Gaussian, and merging them (adding their weights) leaves the density unchanged.
# The closed form has $K_x K_y$ components, but the number of *distinct* components can be smaller.

# %%
equal_variances = np.array([[[0.1]], [[0.1]]])
mixture_a = Mixture(np.array([0.5, 0.5]), np.array([[0.0], [1.0]]), equal_variances)
mixture_b = Mixture(np.array([0.2, 0.8]), np.array([[0.0], [1.0]]), equal_variances)
repeated = sum_of_mixtures(mixture_a, mixture_b)
parameters = np.column_stack([repeated.means, repeated.covariances.reshape(len(repeated.weights), -1)])
distinct, which = np.unique(parameters.round(12), axis=0, return_inverse=True)
merged = Mixture(np.bincount(which.ravel(), weights=repeated.weights), distinct[:, :1], distinct[:, 1:, None])
points = np.linspace(-2, 3, 11)[:, None]
np.testing.assert_allclose(mixture_log_density(points, merged), mixture_log_density(points, repeated))  # checks: coinciding-components
print(f"{len(repeated.weights)} components, {len(merged.weights)} distinct; merged weights {merged.weights}")

# %% [markdown]
# ## Summing up
#
# * $\mathbf{x}$ and $\mathbf{y}$ are independent, each drawn from its own mixture: $\mathbf{y}$ comes from its own
#   component $l$, $\mathcal{N}(\boldsymbol\mu^y_l, \boldsymbol\Sigma^y_l)$, never from $\mathbf{x}$'s component.
# * What is Gaussian is the sum of independent Gaussian **random variables**. The density of the sum is not the sum
#   of the densities (that would not even integrate to one); it is their convolution, and the convolution of two
#   Gaussians is the Gaussian with summed means and covariances.
# * So $\mathbf{z}$ is a mixture of $K_x K_y$ Gaussians with weights $\pi^x_k \pi^y_l$, possibly fewer distinct ones,
#   and its mean and covariance are the sums of those of $\mathbf{x}$ and $\mathbf{y}$.
#
# The lecture notes [derivations/04_sum_of_mixtures.md](../derivations/04_sum_of_mixtures.md) give the proof by
# characteristic functions.

# %% [markdown]
# ## All tasks at a glance
#
# The cell below runs every self-check of this notebook once more and prints one row per task: passed, failed (with
# the first line of the check's message), not started, or error. Run it when you think you are done. From a
# terminal, `python -m latent_course progress` prints the same table for every topic, from your saved notebooks.

# %%
checks.summary("04_sum_of_mixtures")
