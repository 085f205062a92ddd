"""Self-checks for topic 05: k-means, Gaussian-mixture log-probabilities, EM and sampling.

References: scikit-learn's ``KMeans`` and ``GaussianMixture`` (started from the same parameters, they perform the
same iterations), SciPy's ``multivariate_normal``, exact k-means++ probabilities on a tiny data set, and Monte Carlo
tolerances from standard errors.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats
from scipy.special import logsumexp

from ._answers import answer, if_stored
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

TOPIC = "05_image_clustering"
__all__ = ["em", "gmm_log_probability", "gmm_sample", "kmeans"]


def _blobs(**options) -> np.ndarray:
    """The points (n_samples, D) of scikit-learn's ``make_blobs(**options)``.

    scikit-learn is imported where it is used, here and in the references: importing it takes about 0.25 s, which
    every notebook importing the checks would pay otherwise.
    """
    from sklearn.datasets import make_blobs

    return make_blobs(**options)[0]


def _squared_distances(X, centres):
    return ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)


def _labels(function, z, N, k, inputs):
    __tracebackhide__ = True
    if not isinstance(z, np.ndarray):
        fail(function, f"the labels should be a NumPy array of shape ({N},), got {type(z).__name__}.", inputs)
    if z.shape != (N,):
        fail(function, f"the labels should have shape ({N},), got {z.shape}.", inputs)
    if not np.issubdtype(z.dtype, np.integer):
        fail(function, f"the labels should be integers, got dtype {z.dtype}.", inputs)
    if z.min() < 0 or z.max() >= k:
        fail(function, f"the labels should lie in 0..{k - 1}, got values from {z.min()} to {z.max()} "
                       f"(dtype {z.dtype}: can it hold {k - 1}?).", inputs)
    return z


def _kmeans_result(function, inputs):
    __tracebackhide__ = True
    X, k = inputs["X"], inputs["k"]
    on_error = {} if k <= 127 else {
        ValueError: f"with k = {k}, labels in a small integer type overflow (int8 holds at most 127) and become "
                    "negative, which np.bincount and indexing refuse: store the labels in an integer type that holds "
                    "k - 1 (np.intp, as np.argmin returns)."}
    result = check_tuple(function, call(function, on_error=on_error, **inputs), ["mu", "z"], inputs)
    mu = check_array(function, result[0], (k, X.shape[1]), inputs, "the centres mu")
    return mu, _labels(function, result[1], len(X), k, inputs)


@answer
def _centroid_means(X, weight, z, k):
    """The weighted mean of the points of each of the k clusters given by the labels z, shape (k, D)."""
    means = np.column_stack([np.bincount(z, weights=weight * X[:, d], minlength=k) for d in range(X.shape[1])])
    return means / np.bincount(z, weights=weight, minlength=k)[:, None]


def _check_lloyd_fixed_point(function, X, weight, mu, z, inputs):
    """Every label is a nearest centre, no cluster is empty, and every centre is the weighted mean of its points."""
    __tracebackhide__ = True
    k = len(mu)
    if not np.all(np.isfinite(mu)):
        fail(function, "some centres are NaN or infinite: does a cluster become empty (0 / 0)? Move an empty "
                       "cluster's centre to the point farthest from its own centre.", inputs)
    grey = np.all(mu == mu[:, :1], axis=1) & np.any(mu != 0, axis=1) & (_squared_distances(mu, X).min(axis=1) > 0)
    if X.shape[1] > 1 and grey.any():
        fail(function, f"centre {int(np.argmax(grey))} has all its coordinates equal: np.sum(X[z == j]) adds up "
                       "all coordinates into one number; average every coordinate separately, e.g. "
                       "X[z == j].mean(axis=0) (weighted by sample_weight).", inputs)
    mass = np.bincount(z, weights=weight, minlength=k)
    if np.any(mass == 0):
        fail(function, f"cluster {int(np.flatnonzero(mass == 0)[0])} is empty at the end: move an empty cluster's "
                       "centre to the point farthest from its own centre (one point per empty cluster).", inputs)
    distances = _squared_distances(X, mu)
    slack = 1e-6 * (1 + distances.max())
    wrong = np.flatnonzero(distances[np.arange(len(X)), z] > distances.min(axis=1) + slack)
    if wrong.size:
        i = int(wrong[0])
        fail(function, f"point {i} is labelled {z[i]}, but centre {int(distances[i].argmin())} is nearer: iterate "
                       "until the labels stop changing.", inputs)
    with if_stored():
        check_close(function, mu, _centroid_means(X, weight, z, k), inputs, rtol=1e-6, atol=1e-6,
                    what="the centres", why="each should be the mean of its points: average every coordinate "
                    "separately over the cluster's points, weighted by sample_weight.")


def _check_too_few_distinct_points(function):
    """kmeans must raise its own ValueError when X has fewer distinct points than k."""
    __tracebackhide__ = True
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), 4, axis=0)
    inputs = {"X": X, "k": 4, "random_state": 0}
    try:
        call(function, **inputs)
    except ValueError as error:
        if "probabilities" in str(error).lower():
            fail(function, "the ValueError for fewer distinct points than k comes from rng.choice "
                           f"({error}): when all D_i are zero, raise your own ValueError saying so.", inputs)
        return
    fail(function, "X has only 3 distinct points, so k = 4 clusters cannot all be non-empty: raise a ValueError "
                   "that says so (all D_i are zero before k centres are chosen).", inputs)


# k-means++ on four points of the line with unequal weights: the order in which the centres are chosen is the order
# of the rows of mu (k = N, so Lloyd's iterations keep every centre on its point). The frequencies of the first two
# choices over many seeds separate k-means++ from the usual mistakes, each with its own exact probabilities.
_SEEDING_POINTS = np.array([[5.0, 0.0], [15.0, 0.0], [16.0, 0.0], [18.0, 0.0]])
_SEEDING_WEIGHTS = np.array([1.0, 8.0, 1.0, 16.0])
_SEEDING_RUNS = 200
_SEEDING_MISTAKES = {
    "first unweighted": "the first centre is drawn ignoring sample_weight: draw it with probability "
                        "proportional to the weights, rng.choice(N, p=w / w.sum()).",
    "D2 unweighted": "the further centres are drawn proportionally to D_i^2 ignoring sample_weight: use w_i D_i^2.",
    "D": "the further centres are drawn proportionally to D_i (the distance), not D_i^2 (its square).",
    "uniform": "the centres are drawn uniformly at random: that is a random initialisation, not k-means++ "
               "(draw every further centre with probability proportional to w_i D_i^2).",
    "greedy": "every further centre is the farthest point, chosen greedily: k-means++ draws it at random, with "
              "probability proportional to w_i D_i^2.",
}


@answer
def _seeding_probabilities(x, w, models):
    """For each of `models` (k-means++ or a mistake), the pair (model, P), P[i, j] the probability that the first
    two centres are points i and j of `x` weighted by `w`."""
    return [(model, _pair_probabilities(x, w, model)) for model in models]


def _pair_probabilities(x, w, model):
    N = len(x)
    first = np.full(N, 1 / N) if model in ("first unweighted", "uniform") else w / w.sum()
    P = np.zeros((N, N))
    for i in range(N):
        d2 = ((x - x[i]) ** 2).sum(axis=1)
        q = {"D": w * np.sqrt(d2), "D2 unweighted": d2, "uniform": (d2 > 0).astype(float),
             "greedy": (np.arange(N) == np.argmax(w * d2)).astype(float)}.get(model, w * d2)
        P[i] = first[i] * q / q.sum()
    return P


def _chi_square(counts, P):
    """Pearson's statistic of `counts` against the probabilities P, infinite if an impossible cell occurred."""
    expected = counts.sum() * P
    if np.any(counts[expected == 0] > 0):
        return np.inf
    cells = expected > 0
    return float((((counts - expected)[cells]) ** 2 / expected[cells]).sum())


def _check_seeding(function):
    """The first two centres of k-means++ come with the right probabilities (a chi-square test over seeds)."""
    __tracebackhide__ = True
    x, w = _SEEDING_POINTS, _SEEDING_WEIGHTS
    probabilities = dict(_seeding_probabilities(x, w, ["k-means++", *_SEEDING_MISTAKES]))
    counts = np.zeros((len(x), len(x)))
    for seed in range(_SEEDING_RUNS):
        inputs = {"X": x, "k": len(x), "sample_weight": w, "random_state": seed}
        mu, _ = _kmeans_result(function, inputs)
        order = _squared_distances(mu, x).argmin(axis=1)
        if len(set(order)) < len(x) or not np.allclose(mu, x[order], atol=1e-6):
            fail(function, "with k equal to the number of points, every centre should be one of the points (each "
                           "point is its own cluster).", inputs)
        counts[order[0], order[1]] += 1
    inputs = {"X": x, "k": len(x), "sample_weight": w, "random_state": f"0 to {_SEEDING_RUNS - 1}"}
    if counts.max() == _SEEDING_RUNS:
        fail(function, f"all {_SEEDING_RUNS} random_states chose the centres in the same order: is random_state "
                       "used (rng = np.random.default_rng(random_state)) and every centre drawn from rng?", inputs)
    threshold = stats.chi2.isf(1e-6, df=np.count_nonzero(probabilities["k-means++"]) - 1)
    if _chi_square(counts, probabilities["k-means++"]) <= threshold:
        return
    mistake = min(_SEEDING_MISTAKES, key=lambda model: _chi_square(counts, probabilities[model]))
    hint = _SEEDING_MISTAKES[mistake] if _chi_square(counts, probabilities[mistake]) <= threshold else (
        "the first two centres are not chosen as k-means++ chooses them: the first with probability proportional "
        "to w_i, every further one proportionally to w_i D_i^2, D_i the distance to the nearest chosen centre.")
    expected = np.round(_SEEDING_RUNS * probabilities["k-means++"]).astype(int)
    fail(function, f"{hint}\nHow often points (i, j) were the first two centres in {_SEEDING_RUNS} runs, as a "
                   f"4 x 4 table of i, j (rows of mu give the order of choice):\n"
                   f"  expected about {expected.tolist()}\n  got {counts.astype(int).tolist()}", inputs)


@answer
def _reference_inertia(X, k, init):
    """The inertia of scikit-learn's KMeans run to convergence from the centres `init`."""
    from sklearn.cluster import KMeans  # scikit-learn is imported where it is used (see _blobs)

    return KMeans(k, init=init, n_init=1, max_iter=300, tol=0).fit(X).inertia_


@answer
def _reference_one_step(X, init):
    """The centres after one iteration of scikit-learn's KMeans from the centres `init`."""
    from sklearn.cluster import KMeans

    return KMeans(len(init), init=init, n_init=1, max_iter=1).fit(X).cluster_centers_


@answer
def _best_inertia(X, k):
    """The best inertia of scikit-learn's KMeans over 10 k-means++ starts."""
    from sklearn.cluster import KMeans

    return KMeans(k, n_init=10, random_state=0).fit(X).inertia_


def kmeans(function) -> None:
    """Check ``function(X, k, sample_weight, init, random_state=...)`` returning (mu (k, D), z (N,)).

    On blobs far from the origin, with weights, with k = 200, and from starts with one and with two empty clusters,
    the result must be a fixed point of Lloyd's algorithm (every label a nearest centre, every centre the weighted
    mean of its points, no cluster empty); from the starts with empty clusters it must reach scikit-learn's inertia,
    and with max_iter = 1 the centres of scikit-learn's single iteration.
    The same random_state must give the same result, fewer distinct points than k a ValueError, and the first two
    centres of k-means++ must come with their exact probabilities (a chi-square test over 200 seeds on four weighted
    points). On eight blobs, the best inertia of five runs must be within 3 % of scikit-learn's best of 10 starts.
    """
    __tracebackhide__ = True
    X = _blobs(n_samples=600, centers=4, cluster_std=0.7, random_state=0)
    X += 50.0
    rng = case_rng(4)
    far = [[1000.0, 1000.0], [-1000.0, 1000.0]]
    cases = [
        {"X": X, "k": 4, "random_state": 0},
        {"X": X[:300], "k": 3, "sample_weight": rng.integers(1, 20, size=300).astype(float), "random_state": 1},
        {"X": rng.uniform(size=(400, 2)), "k": 200, "random_state": 2},
        {"X": X, "k": 4, "sample_weight": None, "init": np.vstack([X[:3], far[:1]]), "random_state": 3},
        {"X": X, "k": 5, "sample_weight": None, "init": np.vstack([X[:3], far]), "random_state": 3},
    ]
    for inputs in cases:
        data, k = inputs["X"], inputs["k"]
        weight = np.ones(len(data)) if inputs.get("sample_weight") is None else inputs["sample_weight"]
        mu, z = _kmeans_result(function, inputs)
        _check_lloyd_fixed_point(function, data, weight, mu, z, inputs)
        if inputs.get("init") is not None:
            reference_inertia = _reference_inertia(data, k, inputs["init"])
            inertia = _squared_distances(data, mu)[np.arange(len(data)), z].sum()
            check_close(function, np.array(inertia), np.array(reference_inertia), inputs, rtol=1e-6,
                        what="the inertia from a start with empty clusters",
                        why="it should match scikit-learn's KMeans from the same start: move each empty cluster's "
                            "centre to a different point, the farthest from their own centres.")
        if inputs["k"] == 200:
            check_seeded(function, (mu, z), inputs, "centres")
    inputs = {"X": X, "k": 4, "sample_weight": None, "init": X[:4], "max_iter": 1}
    one_step = _reference_one_step(X, X[:4])
    check_close(function, _kmeans_result(function, inputs)[0], one_step, inputs, rtol=1e-6,
                what="the centres after max_iter=1", why="one iteration assigns the points and moves every centre "
                "to the mean of its points, once: stop after max_iter iterations.")
    _check_too_few_distinct_points(function)
    _check_seeding(function)
    X = _blobs(n_samples=800, centers=8, cluster_std=0.5, center_box=(-20, 20), random_state=0)
    best = _best_inertia(X, 8)
    inertias = []
    for seed in range(5):
        inputs = {"X": X, "k": 8, "random_state": seed}
        mu, z = _kmeans_result(function, inputs)
        inertias.append(_squared_distances(X, mu)[np.arange(len(X)), z].sum())
    if min(inertias) > 1.03 * best:
        fail(function, f"the best inertia of 5 runs (random_state 0 to 4), {min(inertias):.6g}, is more than 3 % "
                       f"above scikit-learn's best of 10 starts ({best:.6g}); is the initialisation k-means++?", inputs)
    passed(function, 3 * len(cases) + 5)


@answer
def _reference_log_probability(X, pi, mu, sigma):
    """The (N, k) joint log-probabilities log pi_j + log N(x_i | mu_j, sigma_j), from SciPy."""
    return _joint_log_probability(X, pi, mu, sigma)


def _joint_log_probability(X, pi, mu, sigma):
    with np.errstate(divide="ignore"):
        log_pi = np.log(pi)
    return np.column_stack([log_pi[j] + stats.multivariate_normal(mu[j], sigma[j]).logpdf(X).reshape(len(X))
                            for j in range(len(pi))])


@answer
def _log_probability_mistakes(X, pi, mu, sigma):
    """The results of the usual mistakes, each with its hint (the differences from the reference reveal which)."""
    N, D = X.shape
    with np.errstate(divide="ignore"):
        log_pi = np.log(pi)
    L = np.linalg.cholesky(sigma)
    log_det = np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)  # half the log-determinant of sigma
    right = _joint_log_probability(X, pi, mu, sigma)
    wrong_side = np.column_stack([-0.5 * (np.linalg.solve(L[j].T, (X - mu[j]).T) ** 2).sum(axis=0)
                                  for j in range(len(pi))]) - log_det - 0.5 * D * np.log(2 * np.pi) + log_pi
    with np.errstate(invalid="ignore"):
        without_log_pi = right - log_pi
    return [
        (without_log_pi, "log pi_j is missing: P[:, j] = log pi_j + log N(x | mu_j, sigma_j)."),
        (right + 0.5 * D * np.log(2 * np.pi), "the constant -D/2 log(2 pi) is missing."),
        (right - log_det, "the log-determinant is counted twice: sum_d log L_dd is already half of log det sigma."),
        (right + log_det, "the log-determinant term is missing: subtract sum_d log L_dd (half of log det sigma)."),
        (wrong_side, "y must solve L y = x - mu with the lower-triangular Cholesky factor L "
                     "(solve_triangular(L, ..., lower=True)), not L^T y = x - mu."),
        (right - 0.5 * D * np.log(2 * np.pi) + 0.5 * D * np.log(np.pi), "the constant is -D/2 log(2 pi), not "
                                                                         "-D/2 log(pi)."),
    ]


def gmm_log_probability(function) -> None:
    """Check ``function(X, pi, mu, sigma)`` returning the (N, k) joint log-probabilities against SciPy.

    The cases include N == k (so that filling rows instead of columns keeps the right shape), a near-singular
    covariance, a zero weight, and points so far from every component that ``log(pi * pdf)`` gives -inf. A wrong
    result is compared with the usual mistakes (log pi, the constant or the log-determinant missing or doubled, a
    solve with L^T) to name the one made.
    """
    __tracebackhide__ = True
    rng = case_rng(6)
    near_singular = np.array([[1.0, 1 - 1e-7], [1 - 1e-7, 1.0]])
    mixtures = [
        (np.array([0.2, 0.3, 0.5]), np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]]),
         np.array([[[1.0, 0.3], [0.3, 0.5]], [[2.0, -0.4], [-0.4, 1.0]], [[0.5, 0.2], [0.2, 3.0]]])),
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
            with np.errstate(divide="ignore"):  # np.log(pi) of the zero weight is -inf, as it should be
                result = check_array(function, call(function, **inputs), (len(X), k), inputs,
                                     "the log-probabilities")
            expected = _reference_log_probability(X, pi, mu, sigma)
            mistakes = _log_probability_mistakes(X, pi, mu, sigma)
            why = "P[:, j] = log pi_j + log N(x | mu_j, sigma_j), column j for component j."
            if result.dtype.itemsize < 8:
                why = f"your result is {result.dtype}: single precision loses a near-singular covariance; " \
                      "compute in float64."
            finite = np.isfinite(expected)
            if np.any(np.isneginf(result) & finite):
                why = "it is -inf where the reference is finite: compute log pi_j + log N in log space, never " \
                      "log(pi * pdf), which underflows for points far from a component."
            elif len(X) == k and np.allclose(result.T, expected, rtol=1e-6, atol=1e-6, equal_nan=True):
                why = "row j holds component j: fill column j (P[:, j]), one row per point."
            else:
                for candidate, hint in mistakes:
                    if np.allclose(result[finite], candidate[finite], rtol=1e-6, atol=1e-6):
                        why = hint
                        break
            check_close(function, result, expected, inputs, rtol=1e-6, atol=1e-6, what="the log-probabilities",
                        why=why)
            n_cases += 1
    passed(function, n_cases)


_EM_HINT = ("the mixture your EM computed was rejected: every point's responsibilities must sum to 1 (normalise "
            "each row, then pi sums to 1), and every covariance needs reg_covar * I on its diagonal to stay "
            "positive definite.")
_EM_ERRORS = {ValueError: _EM_HINT, np.linalg.LinAlgError: _EM_HINT}


@answer
def _mean_log_likelihood(X, weight, pi, mu, sigma):
    """The weighted mean log-likelihood sum_i w_i log p(x_i) / sum_i w_i of the mixture (pi, mu, sigma)."""
    return float(weight @ logsumexp(_joint_log_probability(X, pi, mu, sigma), axis=1) / weight.sum())


def _em_result(function, inputs):
    __tracebackhide__ = True
    k, D = inputs["k"], inputs["X"].shape[1]
    result = check_tuple(function, call(function, on_error=_EM_ERRORS, **inputs),
                         ["pi", "mu", "sigma", "log_likelihoods"], inputs)
    pi = check_array(function, result[0], (k,), inputs, "pi")
    mu = check_array(function, result[1], (k, D), inputs, "mu")
    sigma = check_array(function, result[2], (k, D, D), inputs, "sigma")
    history = np.asarray(result[3])
    if not np.issubdtype(history.dtype, np.floating):
        history = history.astype(float)
    if history.ndim != 1 or history.size < 1:
        fail(function, f"log_likelihoods should be a 1-D array with one value per EM step, got shape "
                       f"{history.shape}.", inputs)
    weight = inputs.get("sample_weight")
    why = "every point's responsibilities must sum to 1 (normalise each row); then pi_j = N_j / sum_i w_i sums to 1."
    if weight is not None and np.isclose(pi.sum(), np.sum(weight) / len(weight), rtol=1e-6):
        why = ("pi_j = N_j / sum_i w_i: with sample weights the total mass is the sum of the weights, not the "
               "number of points N.")
    check_close(function, np.array(pi.sum()), np.array(1.0), inputs, what="the sum of pi", why=why)
    if not np.all(np.isfinite(sigma)) or np.any(np.linalg.eigvalsh(sigma)[:, 0] <= 0):
        fail(function, "some covariances are not positive definite: add reg_covar to their diagonals.", inputs)
    drops = np.flatnonzero(np.diff(history) < -1e-9 * (1 + np.abs(history[1:])))
    if drops.size:
        step = int(drops[0])
        fail(function, f"the log-likelihood decreased from {history[step]:.6f} to {history[step + 1]:.6f} at step "
                       f"{step + 1}; EM never decreases it, so a step is wrong (are the responsibilities normalised "
                       "so that every row sums to 1?).", inputs)
    return pi, mu, sigma, history


@answer
def _gaussian_mixture(X, init, tol, max_iter, reg_covar):
    """scikit-learn's GaussianMixture started at ``init = (pi, mu, sigma)`` and fitted to X: its weights, means,
    covariances, number of steps and last mean log-likelihood."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    pi, mu, sigma = init
    reference = GaussianMixture(len(pi), covariance_type="full", tol=tol, reg_covar=reg_covar, max_iter=max_iter,
                                weights_init=pi, means_init=mu, precisions_init=np.linalg.inv(sigma))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X)
    return (reference.weights_, reference.means_, reference.covariances_, reference.n_iter_,
            reference.lower_bound_)


@answer
def _fitted_gaussian_mixture(X, k, random_state):
    """The means and last mean log-likelihood of scikit-learn's GaussianMixture fitted from its own start."""
    from sklearn.mixture import GaussianMixture

    reference = GaussianMixture(k, covariance_type="full", random_state=random_state).fit(X)
    return reference.means_, reference.lower_bound_


def _em_data():
    """Distinct points with integer counts, the same rows repeated, and a start: three overlapping clusters.

    The clusters overlap, so EM takes 14 steps to gain less than tol = 1e-4 (the last gains are 1.4e-4 and 9e-5, far
    from tol for any rounding), and its last M-step still moves the means by 0.005.
    """
    X = _blobs(n_samples=300, centers=[[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]], cluster_std=[0.8, 1.2, 0.6],
               random_state=3)
    X[:100] = X[:100] @ np.array([[1.0, 0.5], [0.0, 0.7]])
    counts = case_rng(5).integers(1, 5, size=len(X)).astype(float)
    init = (np.array([0.3, 0.3, 0.4]), np.array([[1.0, 1.0], [3.0, 1.0], [1.0, 3.0]]), np.array([2 * np.eye(2)] * 3))
    return X, counts, np.repeat(X, counts.astype(int), axis=0), init


def _check_one_step(function, X, counts, repeated, init):
    """From `init` with max_iter = 1: one E-step and one M-step, weighted, with reg_covar, as scikit-learn does."""
    __tracebackhide__ = True
    reg_covar = 0.5
    inputs = {"X": X, "k": 3, "sample_weight": counts, "tol": 1e-3, "max_iter": 1, "reg_covar": reg_covar,
              "init": init}
    pi, mu, sigma, history = _em_result(function, inputs)
    if history.size != 1:
        fail(function, f"with max_iter=1 EM should do one step (an E-step, then an M-step) and record one "
                       f"log-likelihood, but it recorded {history.size}.", inputs)
    start = _mean_log_likelihood(X, counts, *init)
    unweighted = _mean_log_likelihood(X, np.ones(len(X)), *init)
    if not np.isclose(history[0], start, rtol=1e-6):
        if np.isclose(history[0], unweighted, rtol=1e-6):
            why = "it is the unweighted mean: use sum_i w_i log p(x_i) / sum_i w_i."
        elif np.isclose(history[0], start * counts.sum(), rtol=1e-6) or np.isclose(history[0], unweighted * len(X),
                                                                                   rtol=1e-6):
            why = ("it is a sum over the points: record the weighted mean sum_i w_i log p(x_i) / sum_i w_i, which "
                   "does not grow with the number of points (and which tol is compared with).")
        else:
            why = ("the first E-step should start from init when init is given: did you ignore init? (Or "
                   "gmm_log_probability is wrong: its own check must pass first.)")
        check_close(function, history[:1], [start], inputs, rtol=1e-6, what="the first recorded log-likelihood",
                    why=why)
    # tol=1e-3 is GaussianMixture's default; after a single step it decides nothing.
    weights, means, covariances, _, _ = _gaussian_mixture(repeated, init, 1e-3, 1, reg_covar)
    unweighted_means = _gaussian_mixture(X, init, 1e-3, 1, reg_covar)[1]
    why = "one EM step from init should give what GaussianMixture gives on the rows repeated count times."
    if np.allclose(mu, unweighted_means, rtol=1e-5, atol=1e-6):
        why = "the M-step ignores sample_weight: weight every responsibility by w_i (N_j = sum_i w_i gamma_ij)."
    elif np.allclose(sigma + (reg_covar - 1e-6) * np.eye(2), covariances, rtol=1e-5, atol=1e-6) or \
            np.allclose(sigma + reg_covar * np.eye(2), covariances, rtol=1e-5, atol=1e-6):
        why = "reg_covar is not added: add the argument reg_covar * I to every covariance in the M-step."
    for name, got, expected in [("pi", pi, weights), ("mu", mu, means), ("sigma", sigma, covariances)]:
        check_close(function, got, expected, inputs, rtol=1e-5, atol=1e-6, what=f"{name} after one step", why=why)


_FAR_HINT = ("a point far from every component has exp(P_ij) = 0 for every j, so exp(P) / exp(P).sum(axis=1) is "
             "0 / 0 = NaN: compute the responsibilities in log space, exp(P - logsumexp(P, axis=1)[:, None]).")


def _check_far_point(function, X, counts, init):
    """One step from `init` on the data plus a point far from every component: finite, and scikit-learn's."""
    __tracebackhide__ = True
    far_X, far_counts = np.vstack([X, [[50.0, 50.0]]]), np.append(counts, 1.0)
    inputs = {"X": far_X, "k": 3, "sample_weight": far_counts, "tol": 1e-3, "max_iter": 1, "reg_covar": 0.5,
              "init": init}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        result = call(function, on_error={ValueError: _FAR_HINT, np.linalg.LinAlgError: _FAR_HINT}, **inputs)
    values = check_tuple(function, result, ["pi", "mu", "sigma", "log_likelihoods"], inputs)
    if not all(np.all(np.isfinite(np.asarray(value, dtype=float))) for value in values):
        fail(function, f"the result holds NaN or inf with the point (50, 50) added: {_FAR_HINT}", inputs)
    repeated = np.repeat(far_X, far_counts.astype(int), axis=0)
    check_close(function, values[1], _gaussian_mixture(repeated, init, 1e-3, 1, 0.5)[1], inputs, rtol=1e-5,
                atol=1e-6, what="mu after one step with the far point (50, 50)", why=_FAR_HINT)


def _check_run(function, X, counts, repeated, init):
    """From `init` until convergence: as many steps, and the same parameters, as scikit-learn."""
    __tracebackhide__ = True
    tol = 1e-4
    inputs = {"X": X, "k": 3, "sample_weight": counts, "tol": tol, "max_iter": 500, "reg_covar": 1e-6, "init": init}
    pi, mu, sigma, history = _em_result(function, inputs)
    _, means, covariances, n_iter, lower_bound = _gaussian_mixture(repeated, init, tol, 500, 1e-6)
    if history.size == 1:
        fail(function, f"EM stopped after one step; GaussianMixture from the same start takes {n_iter}. "
                     "Stop only when the log-likelihood improved by less than tol since the previous step (the first "
                     "step has nothing to compare with).", inputs)
    with if_stored():
        if abs(_mean_log_likelihood(X, counts, pi, mu, sigma) - history[-1]) < 1e-9 * (1 + abs(history[-1])):
            fail(function, "the returned parameters are those of the last E-step: after the last E-step comes an "
                           "M-step, then the test for convergence (the parameters are one M-step newer than the "
                           "last recorded log-likelihood).", inputs)
    if history.size != n_iter:
        fail(function, f"EM stopped after {history.size} steps; GaussianMixture from the same start stops after "
                       f"{n_iter} (tol = {tol:g}): stop after the M-step of the first step whose "
                       "log-likelihood improved by less than tol on the previous one.", inputs)
    check_close(function, np.array(history[-1]), np.array(lower_bound), inputs, rtol=1e-6,
                what="the last recorded log-likelihood", why="it should be GaussianMixture's on the rows repeated "
                "count times, the weighted mean sum_i w_i log p(x_i) / sum_i w_i.")
    check_close(function, mu, means, inputs, rtol=1e-5, atol=1e-5, what="the final means",
                why="they should be GaussianMixture's from the same start.")
    check_close(function, sigma, covariances, inputs, rtol=1e-5, atol=1e-5, what="the final covariances",
                why="they should be GaussianMixture's from the same start.")


def _heavy_few_data():
    """Two clusters of 100 points with weight 1, and a third of 5 points with weight 200 each (k = 2).

    Weighted, k-means puts one centre on the heavy cluster and one on the other two; unweighted it splits the two
    light clusters (the 5 heavy points join the nearer one), a start from which EM stays in a worse optimum.
    """
    rng = case_rng(8)
    X = np.vstack([rng.normal([0.0, 0.0], 1.0, size=(100, 2)), rng.normal([10.0, 0.0], 1.0, size=(100, 2)),
                   rng.normal([30.0, 0.0], 1.0, size=(5, 2))])
    return X, np.concatenate([np.ones(200), np.full(5, 200.0)])


def _check_weighted_start(function):
    """From its own k-means start on weighted points, EM must find what GaussianMixture finds on the repeated rows."""
    __tracebackhide__ = True
    X, counts = _heavy_few_data()
    inputs = {"X": X, "k": 2, "sample_weight": counts, "random_state": 0}
    _, mu, _, history = _em_result(function, inputs)
    means, lower_bound = _fitted_gaussian_mixture(np.repeat(X, counts.astype(int), axis=0), 2, 0)
    why = ("the k-means start ignores sample_weight: call kmeans(X, k, sample_weight=sample_weight, "
           "random_state=random_state), so that the start sees the 5 heavy points as the 1000 rows they stand for.")
    order, reference_order = np.lexsort(mu.T), np.lexsort(means.T)
    check_close(function, mu[order], means[reference_order], inputs, rtol=0, atol=0.05,
                what="the means (sorted) from the k-means start, compared with GaussianMixture on the repeated rows",
                why=why)
    check_close(function, np.array(history[-1]), np.array(lower_bound), inputs, rtol=0, atol=1e-3,
                what="the final mean log-likelihood from the k-means start", why=why)


def em(function) -> None:
    """Check ``function(X, k, sample_weight, tol, max_iter, reg_covar, init, random_state=...)``.

    It returns (pi, mu, sigma, log_likelihoods). On three clusters given as distinct points with counts: one step
    from ``init`` (max_iter = 1, reg_covar = 0.5) and a whole run (tol = 1e-4) must match scikit-learn's
    GaussianMixture started at ``init`` on the rows repeated count times (the same log-likelihoods, the same number
    of steps, the same parameters, the M-step after the last E-step). From its own k-means start, with a
    cluster of identical points (which needs reg_covar), the result must be reproducible for a random_state, never
    decrease the log-likelihood and agree with GaussianMixture (means within 0.05, log-likelihood within 1e-3); with
    a few heavy points, the k-means start must use the weights (the same result as GaussianMixture on the rows
    repeated count times).
    """
    __tracebackhide__ = True
    X, counts, repeated, init = _em_data()
    _check_one_step(function, X, counts, repeated, init)
    _check_far_point(function, X, counts, init)
    _check_run(function, X, counts, repeated, init)
    _check_weighted_start(function)
    data = _blobs(n_samples=600, centers=[[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]], cluster_std=[0.8, 1.2, 0.6],
                  random_state=3)
    data = np.vstack([data, np.full((30, 2), [12.0, 12.0])])  # a cluster of identical points: it needs reg_covar
    inputs = {"X": data, "k": 4, "random_state": 0}
    pi, mu, sigma, history = _em_result(function, inputs)
    again = _em_result(function, inputs)
    if not all(np.array_equal(first, second) for first, second in zip((pi, mu, sigma, history), again, strict=True)):
        fail(function, "two calls with the same random_state gave different results: pass random_state on to "
                       "kmeans, the only source of randomness in EM.", inputs)
    means, lower_bound = _fitted_gaussian_mixture(data, 4, 0)
    order, reference_order = np.lexsort(mu.T), np.lexsort(means.T)
    check_close(function, mu[order], means[reference_order], inputs, rtol=0, atol=0.05,
                what="the means (sorted), compared with scikit-learn's GaussianMixture",
                why="E-step: responsibilities normalised per point; M-step: weighted means, covariances, weights.")
    check_close(function, np.array(history[-1]), np.array(lower_bound), inputs, rtol=0, atol=1e-3,
                what="the final mean log-likelihood, compared with scikit-learn's GaussianMixture")
    passed(function, 15)


@answer
def _transposed_factor_covariance(sigma):
    """The covariance L^T L of samples eps @ L, L the Cholesky factor of `sigma` (the mistake behind a hint)."""
    L = np.linalg.cholesky(sigma)
    return L.T @ L


def gmm_sample(function) -> None:
    """Check ``function(N, pi, mu, sigma, random_state=0)`` returning N samples of shape (N, D).

    The samples must be drawn in a few vectorised calls (not one per sample). From well-separated components, the
    component of every sample is known; the component frequencies and each component's sample mean and covariance
    must match within 5 standard errors, the samples must come in the order of their draws (not grouped by
    component), and the same random_state must give the same samples.
    """
    __tracebackhide__ = True
    pi = np.array([0.2, 0.5, 0.3])
    mu = np.array([[0.0, 0.0], [30.0, 0.0], [0.0, 30.0]])
    sigma = np.array([[[1.0, 0.5], [0.5, 2.0]], [[3.0, -1.0], [-1.0, 1.0]], [[0.5, 0.0], [0.0, 0.5]]])
    rng = CountingGenerator(0)
    inputs = {"N": 1000, "pi": pi, "mu": mu, "sigma": sigma, "random_state": rng}
    check_array(function, call(function, **inputs), (1000, 2), inputs, "the samples")
    if rng.draw_calls > 50:
        fail(function, f"it drew random numbers in {rng.draw_calls} separate calls for N = 1000 samples: a Python loop "
                       "over the samples is far too slow for an image. Draw all components at once "
                       "(rng.choice(k, size=N, p=pi)), then all samples of a component in one call.", inputs)
    N = 100_000
    inputs = {"N": N, "pi": pi, "mu": mu, "sigma": sigma, "random_state": 0}
    X = check_array(function, call(function, **inputs), (N, 2), inputs, "the samples").astype(float)
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
        covariance = np.cov(group, rowvar=False)
        why = "x = mu_j + L_j eps with L_j the Cholesky factor of sigma_j (L_j L_j^T = sigma_j)."
        if np.allclose(covariance, _transposed_factor_covariance(sigma[j]), rtol=0, atol=5 * covariance_se):
            why = "eps @ L gives the covariance L^T L: for samples in rows, use eps @ L.T (x^T = eps^T L^T)."
        check_close(function, covariance, sigma[j], inputs, rtol=0, atol=5 * covariance_se,
                    what=f"the covariance of the samples from component {j}", why=why)
    changes = np.mean(z[1:] != z[:-1])
    if changes < 0.5 * (1 - np.sum(pi**2)):
        fail(function, "the samples are grouped by component; return them in the order they were drawn.", inputs)
    check_seeded(function, X, inputs, "samples")
    passed(function, 10)
