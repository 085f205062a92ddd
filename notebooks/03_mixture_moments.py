# %% [markdown]
# # 03 · The mean and covariance of a Gaussian mixture
#
# A Gaussian mixture with $K$ components generates a point in two steps: first a component
# $z \sim \mathrm{Cat}(\boldsymbol\pi)$, then $\mathbf{x} \mid z = k \sim \mathcal{N}(\boldsymbol\mu_k, \boldsymbol\Sigma_k)$.
# Its density is $p(\mathbf{x}) = \sum_k \pi_k \, \mathcal{N}(\mathbf{x} \mid \boldsymbol\mu_k, \boldsymbol\Sigma_k)$.
#
# In this notebook you compute the mixture's mean and covariance in closed form, check them against a million
# samples, and see how the covariance splits into a part *within* the components and a part *between* them.
# The derivation, by the laws of total expectation and total covariance, is in the lecture notes
# [derivations/03_mixture_moments.md](../derivations/03_mixture_moments.md).
#
# **Your tasks**
#
# 1. `mixture_mean(pi, mu)`: the mean $\mathbb{E}[\mathbf{x}]$.
# 2. `mixture_covariance(pi, mu, sigma)`: the covariance $\mathrm{Cov}[\mathbf{x}]$.
#
# Shapes follow one convention throughout the course: weights `pi` of shape `(K,)`, means `mu` of shape `(K, D)`,
# covariances `sigma` of shape `(K, D, D)`. A loop over the components is correct; a matrix product (`@`) or
# `np.einsum` does the same without one and is shorter. The self-checks accept either.
# After each task, run the self-check cell below it: it prints one line when your function is right and says what
# went wrong otherwise.

# %%
import matplotlib.pyplot as plt
import numpy as np

from latent_course import checks
from latent_course.plotting import covariance_ellipse
from latent_course.validation import check_mixture

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## A mixture of three components in two dimensions

# %%
pi = np.array([0.5, 0.3, 0.2])
mu = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
sigma = np.array([
    [[1.0, 0.6], [0.6, 1.0]],
    [[0.5, 0.0], [0.0, 2.0]],
    [[1.5, -0.7], [-0.7, 0.8]],
])
K, D = mu.shape
print(f"K = {K} components in D = {D} dimensions, weights {pi}")

# %% [markdown]
# ## Task 1: the mean
#
# Conditioned on the component, the mean is that component's mean: $\mathbb{E}[\mathbf{x} \mid z = k] = \boldsymbol\mu_k$.
# The law of total expectation averages these conditional means over the distribution of $z$:
#
# $$\mathbb{E}[\mathbf{x}] = \mathbb{E}_{z}\big[\mathbb{E}[\mathbf{x} \mid z]\big] = \sum_{k=1}^K \pi_k \boldsymbol\mu_k .$$
#
# It is a *weighted average* of the means, not their sum: with weights summing to one, it always lies inside
# the convex hull of the component means (the notes' equation
# [(mixture-mean)](../derivations/03_mixture_moments.md#mixture-mean)).

# %%
def mixture_mean(pi, mu):
    """Mean of a Gaussian mixture.

    Parameters
    ----------
    pi : np.ndarray, shape (K,)
        Mixing proportions, non-negative and summing to 1.
    mu : np.ndarray, shape (K, D)
        Component means.

    Returns
    -------
    mean : np.ndarray, shape (D,)
        The mixture's mean E[x].
    """
    pi, mu = check_mixture(pi, mu)
    # TODO: weight each component's mean by its mixing proportion (one matrix product does it).
    raise NotImplementedError


# %%
checks.mixture_mean(mixture_mean)

# %% [markdown]
# ## Task 2: the covariance
#
# The law of total covariance splits the covariance into the average covariance *within* a component and the
# covariance of the component means *between* the components:
#
# $$\mathrm{Cov}[\mathbf{x}] = \mathbb{E}_z\big[\mathrm{Cov}[\mathbf{x} \mid z]\big] + \mathrm{Cov}_z\big[\mathbb{E}[\mathbf{x} \mid z]\big]
#   = \sum_k \pi_k \boldsymbol\Sigma_k + \sum_k \pi_k (\boldsymbol\mu_k - \bar{\boldsymbol\mu})(\boldsymbol\mu_k - \bar{\boldsymbol\mu})^\top,$$
#
# with $\bar{\boldsymbol\mu} = \mathbb{E}[\mathbf{x}]$ (the notes derive it as equation
# [(mixture-covariance)](../derivations/03_mixture_moments.md#mixture-covariance)). Equivalently, $\mathrm{Cov}[\mathbf{x}] = \sum_k \pi_k(\boldsymbol\Sigma_k + \boldsymbol\mu_k\boldsymbol\mu_k^\top) - \bar{\boldsymbol\mu}\bar{\boldsymbol\mu}^\top$.
# Use whichever form you like; `np.einsum` or broadcasting avoids a loop over $k$.

# %%
def mixture_covariance(pi, mu, sigma):
    """Covariance of a Gaussian mixture.

    Parameters
    ----------
    pi : np.ndarray, shape (K,)
        Mixing proportions, non-negative and summing to 1.
    mu : np.ndarray, shape (K, D)
        Component means.
    sigma : np.ndarray, shape (K, D, D)
        Component covariances, symmetric positive semi-definite.

    Returns
    -------
    cov : np.ndarray, shape (D, D)
        The mixture's covariance Cov[x].
    """
    pi, mu, sigma = check_mixture(pi, mu, sigma)
    # TODO: add the weighted within-component covariances and the weighted spread of the means.
    raise NotImplementedError


# %%
checks.mixture_covariance(mixture_covariance)

# %% [markdown]
# ## The closed forms for our mixture

# %%
mean = mixture_mean(pi, mu)
cov = mixture_covariance(pi, mu, sigma)
print("E[x]   =", mean)
print("Cov[x] =")
print(cov)

# %% [markdown]
# ## Checking against a million samples
#
# We draw $n = 10^6$ points from the mixture by its generative process: the number of points per component is
# multinomial, and each component's points are $\boldsymbol\mu_k + \mathbf{L}_k \boldsymbol\varepsilon$ with
# $\mathbf{L}_k$ the Cholesky factor of $\boldsymbol\Sigma_k$ and $\boldsymbol\varepsilon$ standard normal.
#
# A Monte Carlo average is itself random. Its standard error tells how far from the truth it may land: for the mean
# of coordinate $d$ it is $\sqrt{\mathrm{Var}[x_d] / n}$, and for a covariance entry it is the standard deviation of
# the products $(x_i - \bar x_i)(x_j - \bar x_j)$ over $\sqrt{n}$. We assert that every estimate lies within
# 4 standard errors of the closed form; a correct formula fails this with probability below $10^{-3}$, a wrong one
# fails it by hundreds or thousands of standard errors.

# %%
rng = np.random.default_rng(0)
n = 10**6
counts = rng.multinomial(n, pi)
labels = np.repeat(np.arange(K), counts)
cholesky = np.linalg.cholesky(sigma)
epsilon = rng.standard_normal((n, D))
samples = mu[labels] + np.einsum("nij,nj->ni", cholesky[labels], epsilon)

centred = samples - samples.mean(axis=0)
products = centred[:, :, None] * centred[:, None, :]
mc_mean, mc_cov = samples.mean(axis=0), products.mean(axis=0)
se_mean = samples.std(axis=0) / np.sqrt(n)
se_cov = products.std(axis=0) / np.sqrt(n)

z_mean = np.abs(mc_mean - mean) / se_mean
z_cov = np.abs(mc_cov - cov) / se_cov
assert np.all(z_mean < 4) and np.all(z_cov < 4), (z_mean, z_cov)
print("Monte Carlo mean       =", mc_mean.round(2))
print("Monte Carlo covariance =", mc_cov.round(2).tolist())
print("every estimate lies within 4 standard errors of the closed form")

# %% [markdown]
# A wrong formula is off by a fixed amount, so with a million samples it misses by far more than 4 standard errors.
# Adding the means up, or leaving out the between part of the covariance:

# %%
z_sum_of_means = np.abs(mc_mean - mu.sum(axis=0)) / se_mean
z_within_only = np.abs(mc_cov - np.einsum("k,kij->ij", pi, sigma)) / se_cov
assert z_sum_of_means.min() > 100 and z_within_only.max() > 100
print(f"sum of the means: {z_sum_of_means.min():.0f} or more standard errors off; "
      f"within part alone: up to {z_within_only.max():.0f}")

# %% [markdown]
# ## Within and between
#
# The two terms of the law of total covariance have a meaning of their own. The *within* part is how much points
# scatter around their own component's mean; the *between* part is how much the component means scatter around
# the overall mean. The between part is the weighted covariance of the means, which NumPy's `np.cov` computes with
# `aweights=pi` (and `bias=True`, to divide by the total weight rather than by $n - 1$).

# %%
within = np.einsum("k,kij->ij", pi, sigma)
between = np.cov(mu, rowvar=False, aweights=pi, bias=True)
np.testing.assert_allclose(within + between, cov, rtol=1e-12)
print("within  =", within.round(3).tolist())
print("between =", between.round(3).tolist())
share = np.trace(between) / np.trace(cov)
assert 0.74 < share < 0.76, share
print(f"share of the total variance between components: {share:.1%}")

# %% [markdown]
# Most of the spread of this mixture comes from the distance between its components, not from their own widths.
# A single Gaussian fitted to these points would have exactly the mean and covariance above, yet a single peak, at
# the mixture's mean, where this mixture has none of its own: two distributions can share their first two moments
# and still look quite different. With clusters further apart, the Gaussian's peak would fall where the mixture has
# almost no mass.

# %%
fig, ax = plt.subplots(figsize=(7, 6))
shown = rng.choice(n, size=4000, replace=False)
colours = plt.cm.tab10(np.arange(K))
ax.scatter(*samples[shown].T, s=4, c=colours[labels[shown]], alpha=0.4)
for k in range(K):
    covariance_ellipse(ax, mu[k], sigma[k], edgecolor=colours[k], linewidth=2, label=f"component {k + 1}: 2 sd")  # k = 1..K, as in the notes
covariance_ellipse(ax, mean, cov, edgecolor="black", linestyle="--", linewidth=2, label="mixture: 2 sd")
ax.plot(*mean, marker="*", markersize=16, color="black", linestyle="none", label="mixture mean")
ax.set(xlabel="$x_1$", ylabel="$x_2$", title="Samples, components and the mixture's mean and covariance",
       aspect="equal")
ax.legend(loc="upper right", fontsize="small")
plt.show()

# %% [markdown]
# ## Where the sum of the means lies
#
# Adding the means up, as one might guess from "the expected value of a Gaussian is its mean", gives here the
# point $(5, 6)$. It is not far from every sample: a few hundred of the million lie within distance 1 of it. But it
# lies where the mixture is very thin: about 3.8 Mahalanobis units from the nearest component, the others being
# further, and only a tiny fraction of the samples lie in regions of even lower density.

# %%
point = mu.sum(axis=0)
near = int(np.sum(np.linalg.norm(samples - point, axis=1) < 1))
inverses = np.linalg.inv(sigma)
mahalanobis = np.sqrt(np.einsum("ki,kij,kj->k", point - mu, inverses, point - mu))
# The mixture's density at every sample and at the point, component by component.
at_samples, at_point = [
    sum(w * np.exp(-0.5 * np.einsum("ni,ij,nj->n", x - m, inverse, x - m)) / (2 * np.pi * np.sqrt(np.linalg.det(s)))
        for w, m, s, inverse in zip(pi, mu, sigma, inverses))
    for x in (samples, point[None])]
lower = np.mean(at_samples < at_point[0])
assert 100 < near < 1000 and 3.7 < mahalanobis.min() < 3.9 and lower < 1e-3
print(f"{near} samples within distance 1 of (5, 6); Mahalanobis distances {mahalanobis.round(1)}; "
      f"{lower:.2%} of the samples lie at lower density")

# %% [markdown]
# ## Summing up
#
# * The mean of a mixture is the **weighted average** $\sum_k \pi_k \boldsymbol\mu_k$ of its components' means.
#   Adding the means up gives here the point $(5, 6)$, in a region of very low density.
# * The covariance is the average covariance within the components **plus** the covariance of the means between
#   them. Leaving out the between part underestimates the spread whenever the components are apart.
#
# The lecture notes [derivations/03_mixture_moments.md](../derivations/03_mixture_moments.md) derive both results
# step by step; [topic 04](04_sum_of_mixtures.ipynb) uses them to check the moments of a sum of two mixtures.

# %% [markdown]
# ## All tasks at a glance
#
# The cell below runs every self-check of this notebook once more and prints one row per task: passed, failed (with
# the first line of the check's message), not started, or error. Run it when you think you are done. From a
# terminal, `python -m latent_course progress` prints the same table for every topic, from your saved notebooks.

# %%
checks.summary("03_mixture_moments")
