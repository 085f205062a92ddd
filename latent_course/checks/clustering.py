"""Self-checks for topic 05: k-means, Gaussian-mixture log-probabilities, EM and sampling."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from ._framework import call, check_array, check_close, check_seeded, check_tuple, fail, passed

TOPIC = "05_image_clustering"
__all__ = ["em", "gmm_log_probability", "gmm_sample", "kmeans"]


def _squared_distances(X, centres):
    return ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)


def _labels(function, z, N, k, inputs):
    __tracebackhide__ = True
    if not isinstance(z, np.ndarray):
        fail(function, f"the labels should be a NumPy array of shape ({N},), got {type(z).__name__}", inputs)
    if z.shape != (N,):
        fail(function, f"the labels should have shape ({N},), got {z.shape}", inputs)
    if not np.issubdtype(z.dtype, np.integer):
        fail(function, f"the labels should be integers, got dtype {z.dtype}", inputs)
    if z.min() < 0 or z.max() >= k:
        fail(function, f"the labels should lie in 0..{k - 1}, got values from {z.min()} to {z.max()} "
                        f"(dtype {z.dtype}: can it hold {k - 1}?)", inputs)
    return z


def _check_lloyd_fixed_point(function, X, weight, mu, z, inputs):
    """Every label is a nearest centre and every centre is the weighted mean of its points."""
    __tracebackhide__ = True
    k = len(mu)
    if not np.all(np.isfinite(mu)):
        fail(function, "some centres are NaN or infinite; does a cluster become empty?", inputs)
    distances = _squared_distances(X, mu)
    slack = 1e-9 * (1 + distances.max())
    wrong = np.flatnonzero(distances[np.arange(len(X)), z] > distances.min(axis=1) + slack)
    if wrong.size:
        i = int(wrong[0])
        fail(function, f"point {i} is labelled {z[i]}, but centre {int(distances[i].argmin())} is nearer: iterate "
                        "until the labels stop changing.", inputs)
    mass = np.bincount(z, weights=weight, minlength=k)
    if np.any(mass == 0):
        fail(function, f"cluster {int(np.flatnonzero(mass == 0)[0])} is empty: move its centre to a point.", inputs)
    means = np.column_stack([np.bincount(z, weights=weight * X[:, d], minlength=k) for d in range(X.shape[1])])
    check_close(function, mu, means / mass[:, None], inputs, rtol=1e-7, atol=1e-7,
                what="the centres (each should be the mean of its points)",
                why="average every coordinate separately over the cluster's points (weighted by sample_weight).")


def kmeans(function) -> None:
    """Check ``function(X, k, sample_weight, init, random_state=...)`` returning (mu (k, D), z (N,)).

    On well-separated blobs, with weights, with k = 200 and from a start with an empty cluster, the result must be a
    fixed point of Lloyd's algorithm (every label a nearest centre, every centre the mean of its points, no cluster
    empty); on eight well-separated blobs, the best inertia of five runs must be within 3 % of scikit-learn's best
    of 10 starts (k-means++ alone finds it in most runs; a random initialisation rarely does).
    """
    __tracebackhide__ = True
    X, _ = make_blobs(n_samples=600, centers=4, cluster_std=0.7, random_state=0)
    rng = np.random.default_rng(4)
    cases = [
        {"X": X, "k": 4, "random_state": 0},
        {"X": X[:300], "k": 3, "sample_weight": rng.integers(1, 20, size=300).astype(float), "random_state": 1},
        {"X": rng.uniform(size=(400, 2)), "k": 200, "random_state": 2},
        {"X": X, "k": 4, "sample_weight": None,
         "init": np.vstack([X[:3], [[1000.0, 1000.0]]]), "random_state": 3},
    ]
    for inputs in cases:
        data, k = inputs["X"], inputs["k"]
        weight = np.ones(len(data)) if inputs.get("sample_weight") is None else inputs["sample_weight"]
        result = check_tuple(function, call(function, **inputs), ["mu", "z"], inputs)
        mu = check_array(function, result[0], (k, data.shape[1]), inputs, "the centres mu")
        z = _labels(function, result[1], len(data), k, inputs)
        _check_lloyd_fixed_point(function, data, weight, mu, z, inputs)
    X, _ = make_blobs(n_samples=800, centers=8, cluster_std=0.5, center_box=(-20, 20), random_state=0)
    best = KMeans(8, n_init=10, random_state=0).fit(X).inertia_
    inertias = []
    for seed in range(5):
        inputs = {"X": X, "k": 8, "random_state": seed}
        mu, z = call(function, **inputs)
        inertias.append(_squared_distances(X, mu)[np.arange(len(X)), z].sum())
    if min(inertias) > 1.03 * best:
        fail(function, f"the best inertia of 5 runs (random_state 0 to 4), {min(inertias):.6g}, is more than 3 % "
                        f"above scikit-learn's best of 10 starts ({best:.6g}); is the initialisation k-means++?",
              inputs)
    passed(function, 3 * len(cases) + 1)


def _reference_log_probability(X, pi, mu, sigma):
    with np.errstate(divide="ignore"):
        log_pi = np.log(pi)
    return np.column_stack([log_pi[j] + stats.multivariate_normal(mu[j], sigma[j]).logpdf(X).reshape(len(X))
                            for j in range(len(pi))])


def gmm_log_probability(function) -> None:
    """Check ``function(X, pi, mu, sigma)`` returning the (N, k) joint log-probabilities against SciPy.

    The cases include N == k (so that filling rows instead of columns keeps the right shape), a near-singular
    covariance, a zero weight, and points so far from every component that ``log(pi * pdf)`` gives -inf.
    """
    __tracebackhide__ = True
    rng = np.random.default_rng(6)
    near_singular = np.array([[1.0, 1 - 1e-7], [1 - 1e-7, 1.0]])
    mixtures = [
        (np.array([0.2, 0.3, 0.5]), np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]]),
         np.array([[[1.0, 0.3], [0.3, 0.5]], near_singular, [[2.0, -0.4], [-0.4, 1.0]]])),
        (np.array([0.0, 0.4, 0.6]), np.array([[5.0], [-1.0], [2.0]]), np.array([[[1.0]], [[0.5]], [[2.0]]])),
        (np.array([0.5, 0.5]), np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), np.array([np.eye(3), 2 * np.eye(3)])),
    ]
    n_cases = 0
    for pi, mu, sigma in mixtures:
        k, D = mu.shape
        for X in [rng.normal(scale=2.0, size=(k, D)), np.vstack([rng.normal(size=(6, D)), np.full((2, D), 60.0)])]:
            inputs = {"X": X, "pi": pi, "mu": mu, "sigma": sigma}
            check_close(function, call(function, **inputs), _reference_log_probability(X, pi, mu, sigma), inputs,
                        rtol=1e-6, atol=1e-6, what="the log-probabilities (column j is component j)",
                        why="P[:, j] = log pi_j + log N(x | mu_j, sigma_j), computed in log space (never log(pi * "
                            "pdf)); fill column j, not row j.")
            n_cases += 1
    passed(function, n_cases)


def _fit_one_more_step(X, pi, mu, sigma):
    """scikit-learn's GaussianMixture started at (pi, mu, sigma) and run for one EM step."""
    reference = GaussianMixture(len(pi), covariance_type="full", reg_covar=1e-6, max_iter=1, weights_init=pi,
                                means_init=mu, precisions_init=np.linalg.inv(sigma))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return reference.fit(X)


def em(function) -> None:
    """Check ``function(X, k, random_state=0)`` returning (pi, mu, sigma, log_likelihoods).

    On three well-separated clusters: the log-likelihood history never decreases; the returned parameters are a
    fixed point (one more EM step, by scikit-learn, gains less than the default tol = 1e-3); and the result agrees with
    ``GaussianMixture`` fitted to the same data (means within 0.05, mean log-likelihood within 1e-3).
    """
    __tracebackhide__ = True
    X, _ = make_blobs(n_samples=900, centers=[[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]], cluster_std=[0.8, 1.2, 0.6],
                      random_state=3)
    X[:300] = X[:300] @ np.array([[1.0, 0.5], [0.0, 0.7]])
    k = 3
    inputs = {"X": X, "k": k, "random_state": 0}
    result = check_tuple(function, call(function, **inputs), ["pi", "mu", "sigma", "log_likelihoods"], inputs)
    pi = check_array(function, result[0], (k,), inputs, "pi")
    mu = check_array(function, result[1], (k, 2), inputs, "mu")
    sigma = check_array(function, result[2], (k, 2, 2), inputs, "sigma")
    history = np.asarray(result[3], dtype=float)
    if history.ndim != 1 or history.size < 2:
        fail(function, f"log_likelihoods should be a 1-D array with one value per E-step, got shape "
                        f"{history.shape}", inputs)
    check_close(function, np.array(pi.sum()), np.array(1.0), inputs, what="the sum of pi",
                why="pi_j = N_j / N, where N_j sums the responsibilities of component j.")
    if not np.all(np.isfinite(sigma)) or np.any(np.linalg.eigvalsh(sigma)[:, 0] <= 0):
        fail(function, "some covariances are not positive definite; add reg_covar to their diagonals.", inputs)
    drops = np.flatnonzero(np.diff(history) < -1e-9)
    if drops.size:
        step = int(drops[0])
        fail(function, f"the log-likelihood decreased from {history[step]:.6f} to {history[step + 1]:.6f} at step "
                        f"{step + 1}; EM never decreases it, so a step is wrong (are the responsibilities normalised "
                        "so that every row sums to 1?).", inputs)
    one_more = _fit_one_more_step(X, pi, mu, sigma)
    if one_more.lower_bound_ < history[-1] - 1e-6:
        fail(function, f"the returned parameters have a mean log-likelihood of {one_more.lower_bound_:.6f}, below "
                        f"the last recorded {history[-1]:.6f}; return the parameters of the last M-step.", inputs)
    gain = one_more.score(X) - one_more.lower_bound_
    if gain >= 1e-3:
        fail(function, f"one more EM step from the returned parameters still gains {gain:.2e} >= tol = 1e-3: "
                        "the result is not a fixed point (stop only when the gain falls below tol).", inputs)
    reference = GaussianMixture(k, covariance_type="full", random_state=0).fit(X)
    order, reference_order = np.argsort(mu[:, 0] + 10 * mu[:, 1]), np.argsort(
        reference.means_[:, 0] + 10 * reference.means_[:, 1])
    check_close(function, mu[order], reference.means_[reference_order], inputs, rtol=0, atol=0.05,
                what="the means (sorted), compared with scikit-learn's GaussianMixture",
                why="E-step: responsibilities normalised per point; M-step: weighted means, covariances, weights.")
    check_close(function, np.array(history[-1]), np.array(reference.lower_bound_), inputs, rtol=0, atol=1e-3,
                what="the final mean log-likelihood, compared with scikit-learn's GaussianMixture")
    passed(function, 6)


def gmm_sample(function) -> None:
    """Check ``function(N, pi, mu, sigma, random_state=0)`` returning N samples of shape (N, D).

    From well-separated components, the component of every sample is known; the component frequencies and each
    component's sample mean and covariance must match within 5 standard errors, the samples must come in the order
    of their draws (not grouped by component), and the same random_state must give the same samples.
    """
    __tracebackhide__ = True
    N = 100_000
    pi = np.array([0.2, 0.5, 0.3])
    mu = np.array([[0.0, 0.0], [30.0, 0.0], [0.0, 30.0]])
    sigma = np.array([[[1.0, 0.5], [0.5, 2.0]], [[3.0, -1.0], [-1.0, 1.0]], [[0.5, 0.0], [0.0, 0.5]]])
    inputs = {"N": N, "pi": pi, "mu": mu, "sigma": sigma, "random_state": 0}
    X = check_array(function, call(function, **inputs), (N, 2), inputs, "the samples")
    z = _squared_distances(X, mu).argmin(axis=1)
    counts = np.bincount(z, minlength=3)
    check_close(function, counts / N, pi, inputs, rtol=0, atol=5 * np.sqrt(pi * (1 - pi) / N).max(),
                what="the fraction of samples from each component",
                why="draw the component of every sample from Cat(pi), e.g. rng.choice(k, size=N, p=pi).")
    for j in range(3):
        group = X[z == j]
        variances = np.diag(sigma[j])
        mean_se = np.sqrt(variances / len(group)).max()
        covariance_se = np.sqrt((np.outer(variances, variances) + sigma[j] ** 2) / len(group)).max()
        check_close(function, group.mean(axis=0), mu[j], inputs, rtol=0, atol=5 * mean_se,
                    what=f"the mean of the samples from component {j}")
        check_close(function, np.cov(group, rowvar=False), sigma[j], inputs, rtol=0, atol=5 * covariance_se,
                    what=f"the covariance of the samples from component {j}",
                    why="x = mu_j + L_j eps with L_j the Cholesky factor of sigma_j (L_j L_j^T = sigma_j).")
    changes = np.mean(z[1:] != z[:-1])
    if changes < 0.5 * (1 - np.sum(pi**2)):
        fail(function, "the samples are grouped by component; return them in the order they were drawn.", inputs)
    check_seeded(function, X, inputs, "samples")
    passed(function, 9)
