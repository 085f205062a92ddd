# %% [markdown]
# # 05 · Colour quantisation with k-means and Gaussian mixtures
#
# An RGB image of height $h$ and width $w$ is a data set of $N = hw$ points in $D = 3$ dimensions, one per pixel.
# Clustering these colours into $k$ groups and replacing every pixel by its cluster's colour *quantises* the image:
# it can then be stored with $\lceil \log_2 k \rceil$ bits per pixel instead of 24 (Bishop, *Pattern Recognition and Machine
# Learning*, section 9.1.1). We do it with k-means, then with a Gaussian mixture fitted by EM, and finally use the
# mixture as a generative model to sample new images.
#
# The lecture notes [derivations/05_image_clustering.md](../derivations/05_image_clustering.md) derive the algorithms.
#
# **Your tasks**
#
# 1. `kmeans(X, k, ...)`: k-means++ initialisation and Lloyd's iterations until the labels stop changing.
# 2. `gmm_log_probability(X, pi, mu, sigma)`: the joint log-probabilities $\log \pi_j + \log \mathcal{N}(\mathbf{x}_i \mid \boldsymbol\mu_j, \boldsymbol\Sigma_j)$.
# 3. `em(X, k, ...)`: expectation-maximisation for a Gaussian mixture.
# 4. `gmm_sample(N, pi, mu, sigma, ...)`: ancestral sampling from the mixture.
# 5. A written answer: what the sampled image shows, and why.

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.mixture import GaussianMixture

from latent_course import checks
from latent_course.images import distinct_colours, load_image
from latent_course.plotting import show_images
from latent_course.validation import (
    check_matrix,
    check_mixture,
    check_positive_float,
    check_positive_int,
    check_sample_weight,
)

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# Change the image or the number of colours here: `IMAGE` is `"flower.jpg"`, `"china.jpg"` (both ship with
# scikit-learn) or the path of any image file.

# %%
IMAGE = "flower.jpg"
K_COLOURS = 5

image = load_image(IMAGE)
pixels = image.reshape(-1, 3).astype(float)
colours, counts, pixel_colour = distinct_colours(image)
print(f"{IMAGE}: {image.shape[0]} x {image.shape[1]} = {len(pixels):,} pixels, {len(colours):,} distinct colours")

# %% [markdown]
# ## Distinct colours with their counts
#
# Natural images repeat colours: this one has about four times as many pixels as distinct colours. Every algorithm
# below only ever sums over pixels (distances, means, covariances, log-likelihoods), and a sum over pixels equals a
# sum over distinct colours with each colour weighted by its count. So we fit on `colours` with
# `sample_weight=counts` and get the same centres, mixtures and likelihoods as on `pixels` (up to the rounding of
# floating-point sums, which are added in a different order), several times
# faster. `kmeans` and `em` take an optional `sample_weight` for this reason; `None` means weight 1 for every row.

# %% [markdown]
# ## Task 1: k-means
#
# k-means looks for $k$ centres $\boldsymbol\mu_j$ and an assignment $z_i$ of every point that minimise the inertia
# $J = \sum_i w_i \lVert \mathbf{x}_i - \boldsymbol\mu_{z_i} \rVert^2$ (with sample weights $w_i$). Implement:
#
# 1. **k-means++ initialisation** (unless `init` gives the starting centres): the first centre is a point drawn with
#    probability proportional to its weight; every further centre is a point drawn with probability proportional to
#    $w_i d_i^2$, where $d_i$ is its distance to the nearest centre chosen so far. If all $d_i$ are zero before $k$
#    centres are chosen, `X` has fewer than $k$ distinct points: raise a `ValueError` that says so. Keep the centres
#    in the order they are chosen (row $j$ of `mu` starts as the $j$-th centre drawn): the check counts how often each
#    point is drawn first and second.
# 2. **Lloyd's iterations**: assign every point to its nearest centre; stop if no label changed; otherwise move every
#    centre to the (weighted) mean of its points, **per coordinate**. Repeat, at most `max_iter` times.
# 3. **Empty clusters**: if after an assignment some clusters have no points of positive weight, say $m$ of them, move
#    their centres to the $m$ points (of positive weight) that are farthest from the centre they were just assigned
#    to, one point per empty cluster; the other centres move to their means as usual.
#
# Compute all point-to-centre distances at once, $\lVert\mathbf{x}\rVert^2 - 2\mathbf{x}^\top\boldsymbol\mu + \lVert\boldsymbol\mu\rVert^2$
# for an $N \times k$ matrix, and the per-cluster sums with `np.bincount(labels, weights=..., minlength=k)`.
# Labels must be an integer type that holds any $k$ (`np.intp`, the type `argmin` returns; `int8` holds at most 127, so it overflows for $k \ge 129$).

# %%
def kmeans(X, k, sample_weight=None, init=None, max_iter=300, random_state=None):
    """Cluster the rows of X into k clusters by k-means (k-means++ initialisation, Lloyd's iterations).

    Parameters
    ----------
    X : np.ndarray, shape (N, D)
        The data.
    k : int
        The number of clusters, at least 1 and at most the number of distinct rows of X.
    sample_weight : np.ndarray, shape (N,), optional
        Non-negative weight of every row (for example how often a colour occurs); 1 by default.
    init : np.ndarray, shape (k, D), optional
        Initial centres; by default they are chosen by k-means++.
    max_iter : int
        The largest number of Lloyd iterations.
    random_state : int or np.random.Generator, optional
        Seed for k-means++.

    Returns
    -------
    mu : np.ndarray, shape (k, D)
        The cluster centres.
    z : np.ndarray of np.intp, shape (N,)
        The cluster of every row, in 0..k-1.
    """
    X = check_matrix(X)
    N, D = X.shape
    if np.abs(X).max() > 1e100:
        raise ValueError(f"X has values up to {np.abs(X).max():.3g} in magnitude, where squared distances overflow: "
                         "rescale X (for example divide it by its largest absolute value)")
    k = check_positive_int(k, "k", high=N)
    weight = check_sample_weight(sample_weight, N)
    weight = weight / weight.max()  # only relative weights matter; this keeps huge weights from overflowing
    if init is not None:
        init = check_matrix(init, "init")
        if init.shape != (k, D):
            raise ValueError(f"init must have shape (k, D) = ({k}, {D}), got shape {init.shape}")
    max_iter = check_positive_int(max_iter, "max_iter")
    rng = np.random.default_rng(random_state)
    # TODO: k-means++ (unless init is given), then Lloyd's iterations with empty clusters handled.
    raise NotImplementedError


# %%
checks.kmeans(kmeans)

# %% [markdown]
# ## Quantised images
#
# We fit k-means on the distinct colours, weighted by their counts, and paint every pixel with its colour's centre.
# With $k$ colours a pixel needs $\lceil \log_2 k \rceil$ bits instead of 24, plus a small table of $k$ colours.

# %%
quantised, sizes = {"original, 24 bits per pixel": image}, []
for k in [2, K_COLOURS, 16]:
    centres, colour_label = kmeans(colours, k, sample_weight=counts, random_state=0)
    bits = int(np.ceil(np.log2(k)))
    quantised[f"k = {k}: {bits} bit{'s' if bits > 1 else ''} per pixel"] = \
        centres[colour_label][pixel_colour].reshape(image.shape).round().astype(np.uint8)
    sizes.append(f"k = {k:2d}: {np.log2(k):.2f} bits of information per pixel, {24 / bits:.0f} times smaller")
print("\n".join(sizes))
show_images(quantised, columns=2)
plt.show()

# %% [markdown]
# ### Weighting by counts is exact
#
# From the same initial centres, k-means on all pixels and k-means on the distinct colours weighted by their counts
# go through the same iterations and end at the same centres.

# %%
start, _ = kmeans_plusplus(colours, K_COLOURS, sample_weight=counts, random_state=0)
centres_pixels, labels_pixels = kmeans(pixels, K_COLOURS, init=start)
centres_colours, labels_colours = kmeans(colours, K_COLOURS, sample_weight=counts, init=start)
np.testing.assert_allclose(centres_colours, centres_pixels, rtol=1e-10)
assert np.array_equal(labels_colours[pixel_colour], labels_pixels)
print(f"same centres and the same label for every pixel, from {len(pixels):,} pixels or {len(colours):,} colours")

# %% [markdown]
# ## Task 2: the log-probabilities of a Gaussian mixture
#
# `gmm_log_probability` returns the $N \times k$ matrix $P_{ij} = \log \pi_j + \log \mathcal{N}(\mathbf{x}_i \mid \boldsymbol\mu_j, \boldsymbol\Sigma_j)$,
# **column $j$ for component $j$**. Work in log space throughout: $\log(\pi_j \cdot \mathrm{pdf})$ underflows to
# $-\infty$ for points far from a component. With the Cholesky factor $\boldsymbol\Sigma_j = L_j L_j^\top$ and
# $\mathbf{y} = L_j^{-1}(\mathbf{x} - \boldsymbol\mu_j)$ (a triangular solve, never an explicit inverse),
#
# $$\log \mathcal{N}(\mathbf{x} \mid \boldsymbol\mu_j, \boldsymbol\Sigma_j) = -\tfrac12 \lVert \mathbf{y} \rVert^2 - \textstyle\sum_d \log (L_j)_{dd} - \tfrac{D}{2}\log 2\pi .$$

# %%
def gmm_log_probability(X, pi, mu, sigma):
    """Joint log-probabilities of every point and component of a Gaussian mixture.

    Parameters
    ----------
    X : np.ndarray, shape (N, D)
        The data.
    pi : np.ndarray, shape (k,)
        Mixing proportions, non-negative and summing to 1.
    mu : np.ndarray, shape (k, D)
        Component means.
    sigma : np.ndarray, shape (k, D, D)
        Component covariances, positive definite.

    Returns
    -------
    P : np.ndarray, shape (N, k)
        P[i, j] = log pi_j + log N(x_i | mu_j, sigma_j).
    """
    pi, mu, sigma = check_mixture(pi, mu, sigma, positive_definite=True)
    X = check_matrix(X)
    if X.shape[1] != mu.shape[1]:
        raise ValueError(f"X must have D = {mu.shape[1]} columns to match mu, got {X.shape[1]}")
    # TODO: one column per component: Cholesky factor, triangular solve, log-determinant, log weight.
    raise NotImplementedError


# %%
checks.gmm_log_probability(gmm_log_probability)

# %% [markdown]
# ## Task 3: expectation-maximisation
#
# EM alternates two steps, each of which never decreases the log-likelihood (exactly so without the small ridge
# $\epsilon$ below, which makes it hold only approximately)
# $\ell = \sum_i w_i \log \sum_j \exp P_{ij} \,/\, \sum_i w_i$ (the weighted mean over points):
#
# * **E-step**: the responsibilities $\gamma_{ij} = \exp\big(P_{ij} - \operatorname{logsumexp}_j P_{ij}\big)$; every row
#   sums to one. The same log-sum-exp gives $\ell$ for the current parameters.
# * **M-step**: with $N_j = \sum_i w_i \gamma_{ij}$: $\pi_j = N_j / \sum_i w_i$,
#   $\boldsymbol\mu_j = \sum_i w_i \gamma_{ij} \mathbf{x}_i / N_j$ and
#   $\boldsymbol\Sigma_j = \sum_i w_i \gamma_{ij} (\mathbf{x}_i - \boldsymbol\mu_j)(\mathbf{x}_i - \boldsymbol\mu_j)^\top / N_j + \epsilon I$,
#   where the small ridge $\epsilon$ (`reg_covar`) keeps every covariance positive definite.
#
# Initialise on the data's scale: run your `kmeans` with the same `sample_weight` and `random_state` (a colour seen
# often should pull its centre as strongly as in EM), give every point responsibility 1 for its cluster, and do one
# M-step (unless `init` gives the starting parameters). Then repeat, at most `max_iter` times, one EM step: an
# E-step, which records $\ell$ of the current parameters, **then** an M-step. After the M-step, stop if $\ell$ improved
# by less than `tol` over the previous step's value (the first step has none to compare with). So the M-step always
# follows the last E-step: the returned parameters are one M-step newer than the last recorded $\ell$, as in
# scikit-learn's `GaussianMixture`. Print nothing inside the loop: return the history and plot it afterwards.

# %%
def em(X, k, sample_weight=None, tol=1e-3, max_iter=500, reg_covar=1e-6, init=None, random_state=None):
    """Fit a Gaussian mixture with k components by expectation-maximisation.

    Parameters
    ----------
    X : np.ndarray, shape (N, D)
        The data.
    k : int
        The number of components.
    sample_weight : np.ndarray, shape (N,), optional
        Non-negative weight of every row; 1 by default.
    tol : float
        Stop when the mean log-likelihood improves by less than tol.
    max_iter : int
        The largest number of EM steps.
    reg_covar : float
        Added to the diagonal of every covariance.
    init : tuple (pi, mu, sigma), optional
        Initial parameters, shapes (k,), (k, D), (k, D, D); by default one M-step from k-means' clusters.
    random_state : int or np.random.Generator, optional
        Seed for the k-means initialisation.

    Returns
    -------
    pi : np.ndarray, shape (k,)
    mu : np.ndarray, shape (k, D)
    sigma : np.ndarray, shape (k, D, D)
    log_likelihoods : np.ndarray, shape (n_steps,)
        The weighted mean log-likelihood at every E-step.
    """
    X = check_matrix(X)
    N, D = X.shape
    if np.abs(X).max() > 1e100:
        raise ValueError(f"X has values up to {np.abs(X).max():.3g} in magnitude, where covariances overflow: "
                         "rescale X (for example divide it by its largest absolute value)")
    k = check_positive_int(k, "k", high=N)
    weight = check_sample_weight(sample_weight, N)
    weight = weight / weight.max()  # only relative weights matter; this keeps huge weights from overflowing
    tol = check_positive_float(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    reg_covar = check_positive_float(reg_covar, "reg_covar")
    if init is not None:
        init = check_mixture(*init, positive_definite=True)
        if init[1].shape != (k, D):
            raise ValueError(f"init must hold k = {k} components in D = {D} dimensions, got means of shape "
                             f"{init[1].shape}")
    # TODO: initialise (k-means + one M-step, or init), then E-step, record, M-step, until the gain < tol.
    raise NotImplementedError


# %%
checks.em(em)

# %% [markdown]
# ## The mixture's quantised image
#
# Every pixel gets the mean of its most probable component, $\arg\max_j P_{ij}$. Beside it, k-means with the same
# number of colours.

# %%
pi, mu, sigma, log_likelihoods = em(colours, K_COLOURS, sample_weight=counts, random_state=0)
colour_component = gmm_log_probability(colours, pi, mu, sigma).argmax(axis=1)
centres, colour_label = kmeans(colours, K_COLOURS, sample_weight=counts, random_state=0)
show_images({
    "original": image,
    f"k-means, k = {K_COLOURS}": centres[colour_label][pixel_colour].reshape(image.shape).round().astype(np.uint8),
    f"Gaussian mixture, k = {K_COLOURS}": mu[colour_component][pixel_colour].reshape(image.shape).round().astype(np.uint8),
})
plt.show()
print("mixing proportions:", pi.round(3))

# %% [markdown]
# The two palettes differ: k-means cuts colour space into regions of nearest centres, while the mixture gives each
# component its own covariance and weight, so a broad component can claim pixels whose colour lies closer to
# another component's mean.

# %%
log_likelihoods_from_kmeans = log_likelihoods
nearest_mean = ((colours[:, None, :] - mu) ** 2).sum(axis=2).argmin(axis=1)
claimed = counts[colour_component != nearest_mean].sum() / counts.sum()
assert claimed > 0
print(f"{claimed:.1%} of the pixels belong to a component whose mean is not the nearest one")

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(np.arange(1, len(log_likelihoods) + 1), log_likelihoods, marker=".")
ax.set(xlabel="EM step", ylabel="mean log-likelihood per pixel", title="EM's log-likelihood, step by step")
plt.show()
# With the ridge in the M-step, monotonicity is not a theorem: this documents what happened in this run.
assert np.all(np.diff(log_likelihoods) >= -1e-9)
print(f"EM stopped after {len(log_likelihoods)} steps at a mean log-likelihood of {log_likelihoods[-1]:.3f}")

# %% [markdown]
# ## Task 4: sampling new images
#
# A Gaussian mixture is a generative model. **Ancestral sampling** follows the generative process: draw a component
# $z \sim \mathrm{Cat}(\boldsymbol\pi)$ for every sample, then $\mathbf{x} = \boldsymbol\mu_z + L_z \boldsymbol\varepsilon$
# with $\boldsymbol\varepsilon \sim \mathcal{N}(\mathbf{0}, I)$ and $L_z$ the Cholesky factor of $\boldsymbol\Sigma_z$. Vectorise it per
# component (one call for all samples of a component), and return the samples in the order of their draws, not
# grouped by component.

# %%
def gmm_sample(N, pi, mu, sigma, random_state=None):
    """Draw N samples from a Gaussian mixture by ancestral sampling.

    Parameters
    ----------
    N : int
        The number of samples, at least 1.
    pi : np.ndarray, shape (k,)
    mu : np.ndarray, shape (k, D)
    sigma : np.ndarray, shape (k, D, D)
        Positive definite covariances.
    random_state : int or np.random.Generator, optional

    Returns
    -------
    X : np.ndarray, shape (N, D)
    """
    N = check_positive_int(N, "N")
    pi, mu, sigma = check_mixture(pi, mu, sigma, positive_definite=True)
    rng = np.random.default_rng(random_state)
    # TODO: draw all N components at once, then every component's samples with one matrix product.
    raise NotImplementedError


# %%
checks.gmm_sample(gmm_sample)

# %%
sampled = gmm_sample(len(pixels), pi, mu, sigma, random_state=0)
sampled_image = sampled.clip(0, 255).round().astype(np.uint8).reshape(image.shape)
show_images({"original": image, "sampled from the fitted mixture": sampled_image})
plt.show()

# %% [markdown]
# ## Task 5: what does the sampled image show?
#
# Explain in one to three sentences what you see in the sampled image, and why.
#
# *Your answer here.*

# %% [markdown]
# ## Our implementations beside scikit-learn's
#
# Started from the same initial values, our functions and scikit-learn's `KMeans` and `GaussianMixture` perform the
# same iterations, so they must end at the same inertia and the same log-likelihood. `KMeans` takes sample weights, so
# both fit the weighted distinct colours, from the same k-means++ centres. `GaussianMixture` takes none, so it fits all
# pixels and our EM the weighted colours, both starting from the parameters our EM reaches after one step. We assert
# agreement to a relative $10^{-6}$. Starting one step in, our EM repeats the run above minus its first E-step: it
# reports one step fewer than the run from k-means, with the same log-likelihoods.

# %%
start, _ = kmeans_plusplus(colours, 16, sample_weight=counts, random_state=0)
centres, colour_label = kmeans(colours, 16, sample_weight=counts, init=start)
ours = counts @ ((colours - centres[colour_label]) ** 2).sum(axis=1)
reference = KMeans(16, init=start, n_init=1, max_iter=300, tol=0).fit(colours, sample_weight=counts)
np.testing.assert_allclose(ours, reference.inertia_, rtol=1e-6)
print(f"k-means, k = 16: our inertia equals scikit-learn's to 1e-6 ({ours:.6g})")

# %%
start_pi, start_mu, start_sigma, _ = em(colours, K_COLOURS, sample_weight=counts, max_iter=1, random_state=0)
pi, mu, sigma, log_likelihoods = em(colours, K_COLOURS, sample_weight=counts, init=(start_pi, start_mu, start_sigma))
reference = GaussianMixture(K_COLOURS, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=500,
                            weights_init=start_pi, means_init=start_mu, precisions_init=np.linalg.inv(start_sigma))
reference.fit(pixels)
np.testing.assert_allclose(log_likelihoods[-1], reference.lower_bound_, rtol=1e-6)
np.testing.assert_allclose(mu, reference.means_, rtol=1e-6)
assert len(log_likelihoods) == reference.n_iter_
np.testing.assert_allclose(log_likelihoods, log_likelihoods_from_kmeans[1:], rtol=1e-10)
print(f"started one step in: {len(log_likelihoods)} steps, one fewer than the {len(log_likelihoods_from_kmeans)} "
      "from k-means, with the same log-likelihoods")
print(f"EM, k = {K_COLOURS}: {len(log_likelihoods)} steps, as many as scikit-learn's, "
      f"and the same log-likelihood to 1e-6 ({log_likelihoods[-1]:.4f})")

# %% [markdown]
# ## Summing up
#
# * k-means and a Gaussian mixture both compress an image to $k$ colours, $\lceil \log_2 k \rceil$ bits per pixel instead
#   of 24.
# * Lloyd's steps never increase the inertia, and EM's never decrease the likelihood (exactly so without the ridge);
#   both stop at a fixed point that depends on the start, which k-means++ makes good on average.
# * Because only sums over pixels matter, fitting on distinct colours weighted by their counts gives the same result
#   (up to rounding), faster.
# * A fitted mixture is a generative model: ancestral sampling draws new data from it, a component, then a Gaussian
#   draw. See [derivations/05_image_clustering.md](../derivations/05_image_clustering.md).

# %% [markdown]
# ## All tasks at a glance
#
# The cell below runs every self-check of this notebook once more and prints one row per task: passed, failed (with
# the first line of the check's message), not started, or error. Run it when you think you are done. From a
# terminal, `python -m latent_course progress` prints the same table for every topic, from your saved notebooks.

# %%
checks.summary("05_image_clustering")
