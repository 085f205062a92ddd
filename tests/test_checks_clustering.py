"""The topic 05 checks accept right implementations and catch the typical wrong ones; bad input is rejected.

Most mutants are one configurable implementation written in another style than the solution (loops, float32,
lists), with one mistake switched on.
"""

import warnings

import numpy as np
import pytest
from checking import assert_catches, assert_passes, mutant_params
from scipy import stats
from scipy.special import logsumexp
from sklearn.cluster import kmeans_plusplus
from sklearn.mixture import GaussianMixture

from latent_course import checks
from latent_course.tools.solutions import load_solution

solution = load_solution("05_image_clustering")


def named(function, name):
    function.__name__ = name
    return function


# k-means ---------------------------------------------------------------------------------------------------------

def student_kmeans(X, k, sample_weight=None, init=None, max_iter=300, random_state=None, *, first="weighted",
                   further="D2", empty="farthest", too_few="raise", labels_dtype=np.intp, single_pass=False,
                   centre_sum="per coordinate", use_weights=True):
    """k-means with loops over centres and clusters, in float32 distances; each keyword switches on a mistake."""
    X = np.asarray(X, dtype=float)
    N = len(X)
    weight = np.ones(N) if sample_weight is None or not use_weights else np.asarray(sample_weight, dtype=float)
    rng = np.random.default_rng(random_state)

    def distances(centres):
        return np.stack([((X - c) ** 2).sum(axis=1).astype(np.float32) for c in centres], axis=1)

    if init is None:
        p = np.full(N, 1 / N) if first == "uniform" else weight / weight.sum()
        centres = [X[rng.choice(N, p=p)]]
        while len(centres) < k:
            d2 = distances(centres).min(axis=1).astype(float)
            if further == "uniform":
                chosen = [i for i in range(N) if d2[i] > 0]
                centres.append(X[rng.choice(chosen)])
                continue
            q = {"D2": weight * d2, "D": weight * np.sqrt(d2), "D2 unweighted": d2, "greedy": weight * d2}[further]
            if q.sum() == 0:
                if too_few == "raise":
                    raise ValueError(f"X has fewer than {k} distinct points")
                if too_few == "duplicate":
                    centres.append(centres[-1])
                    continue
            if further == "greedy":
                centres.append(X[int(np.argmax(q))])
                continue
            with np.errstate(invalid="ignore"):
                centres.append(X[rng.choice(N, p=q / q.sum())])
        mu = np.array(centres)
    else:
        mu = np.array(init, dtype=float)
    z = distances(mu).argmin(axis=1)
    for _ in range(max_iter):
        new_mu = mu.copy()
        members = [np.flatnonzero((z == j) & (weight > 0)) for j in range(k)]
        empties = [j for j in range(k) if members[j].size == 0]
        own = ((X - mu[z]) ** 2).sum(axis=1) * (weight > 0)
        far = list(np.argsort(own)[::-1])
        for j in range(k):
            if members[j].size:
                w = weight[members[j]]
                if centre_sum == "per coordinate":
                    new_mu[j] = (w[:, None] * X[members[j]]).sum(axis=0) / w.sum()
                else:
                    new_mu[j] = np.sum(X[members[j]]) / len(members[j])
            elif empty == "farthest":
                new_mu[j] = X[far.pop(0)]
            elif empty == "same point":
                new_mu[j] = X[far[0]]
            elif empty == "origin":
                new_mu[j] = 0.0
            else:
                new_mu[j] = np.nan
        mu = new_mu
        new_z = distances(mu).argmin(axis=1)
        if single_pass or np.array_equal(new_z, z) or empties and empty == "nan":
            z = new_z if not single_pass else z
            break
        z = new_z
    return mu, z.astype(labels_dtype)


def kmeans_with(**mistake):
    return named(lambda X, k, sample_weight=None, init=None, max_iter=300, random_state=None: student_kmeans(
        X, k, sample_weight, init, max_iter, random_state, **mistake), "kmeans")


def random_state_ignored(X, k, sample_weight=None, init=None, max_iter=300, random_state=None):
    return student_kmeans(X, k, sample_weight, init, max_iter, None)


def fixed_seed(X, k, sample_weight=None, init=None, max_iter=300, random_state=None):
    return student_kmeans(X, k, sample_weight, init, max_iter, 0)


def int8_labels_counted_with_bincount(X, k, sample_weight=None, init=None, max_iter=300, random_state=None):
    mu, z = student_kmeans(X, k, sample_weight, init, max_iter, random_state)
    z = z.astype(np.int8)
    np.bincount(z, minlength=k)  # the cluster sizes, as a student's update step counts them
    return mu, z


KMEANS_MUTANTS = {
    "labels in int8, counted with np.bincount": (int8_labels_counted_with_bincount, "int8 holds at most 127"),
    "centroid sums all coordinates": (kmeans_with(centre_sum="all"), "all its coordinates equal"),
    "single assignment pass": (kmeans_with(single_pass=True), "nearer: iterate"),
    "labels in int8": (kmeans_with(labels_dtype=np.int8), "can it hold 199"),
    "labels as floats": (kmeans_with(labels_dtype=float), "should be integers"),
    "ignores sample_weight": (kmeans_with(use_weights=False), "the centres are wrong"),
    "empty cluster gives NaN": (kmeans_with(empty="nan"), "NaN or infinite"),
    "empty cluster sent to the origin": (kmeans_with(empty="origin"), "cluster 3 is empty at the end"),
    "empty clusters all sent to the same point": (kmeans_with(empty="same point"), "empty at the end|"
                                                                                    "different point"),
    "random_state ignored": (random_state_ignored, "same random_state gave different centres"),
    "the same seed for every random_state": (fixed_seed, "chose the centres in the same order"),
    "no ValueError for too few distinct points": (kmeans_with(too_few="duplicate"), "raise a ValueError"),
    "ValueError left to rng.choice": (kmeans_with(too_few="nan"), "comes from rng.choice"),
    "first centre ignores the weights": (kmeans_with(first="uniform"), "first centre is drawn ignoring"),
    "D instead of D squared": (kmeans_with(further="D"), r"proportionally to D_i \(the distance\)"),
    "D squared ignoring the weights": (kmeans_with(further="D2 unweighted"), "D_i\\^2 ignoring sample_weight"),
    "uniform random initialisation": (kmeans_with(first="uniform", further="uniform"), "uniformly at random"),
    "greedy farthest-point initialisation": (kmeans_with(further="greedy"), "chosen greedily"),
    "max_iter ignored": (named(lambda X, k, sample_weight=None, init=None, max_iter=300, random_state=None:
                               student_kmeans(X, k, sample_weight, init, 300, random_state), "kmeans"),
                         "after max_iter=1"),
    "returns only the centres": (lambda X, k, *args, **kwargs: solution.kmeans(X, k, *args, **kwargs)[0],
                                 "should return a tuple"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(KMEANS_MUTANTS))
def test_kmeans_check_catches(mutant, fragment):
    assert_catches(checks.kmeans, mutant, fragment, first_line=True)


def test_kmeans_passes_the_solution_and_a_loop_version_in_float32(capsys):
    assert_passes(checks.kmeans, solution.kmeans, capsys)
    assert_passes(checks.kmeans, kmeans_with(), capsys)


def test_the_accelerated_lloyd_gives_plain_lloyds_result():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(300, 3)) + shift for shift in (0, 4, 8)])
    weight = rng.integers(1, 9, size=len(X)).astype(float)
    start, _ = kmeans_plusplus(X, 12, sample_weight=weight, random_state=0)
    plain = solution.kmeans(X, 12, sample_weight=weight, init=start)
    fast = solution.lloyd_hamerly(X, start, sample_weight=weight)
    assert np.array_equal(plain[1], fast[1])
    np.testing.assert_allclose(plain[0], fast[0], rtol=1e-12)


# log-probabilities ---------------------------------------------------------------------------------------------

def student_log_probability(X, pi, mu, sigma, *, mistake=None):
    """Joint log-probabilities through Cholesky factors, one component at a time; `mistake` switches one on."""
    N, D = np.shape(X)
    P = np.zeros((N, len(pi)))
    for j in range(len(pi)):
        L = np.linalg.cholesky(sigma[j])
        diff = (np.asarray(X) - mu[j]).T
        y = np.linalg.solve(L.T if mistake == "solve with L^T" else L, diff)
        log_det = np.log(np.diag(L)).sum() * {"doubled log-det": 2, "no log-det": 0}.get(mistake, 1)
        constant = 0 if mistake == "no constant" else 0.5 * D * np.log(2 * np.pi)
        with np.errstate(divide="ignore"):
            log_pi = 0 if mistake == "no log pi" else np.log(pi[j])
        column = log_pi - 0.5 * (y**2).sum(axis=0) - log_det - constant
        if mistake == "log of pi times pdf":
            with np.errstate(divide="ignore"):
                column = np.log(pi[j] * np.exp(column - log_pi))
        if mistake == "rows" and N == len(pi):
            P[j] = column
        else:
            P[:, j] = column
    return P


def log_probability_with(mistake):
    return named(lambda X, pi, mu, sigma: student_log_probability(X, pi, mu, sigma, mistake=mistake),
                 "gmm_log_probability")


LOG_PROBABILITY_MUTANTS = {
    "rows instead of columns": (log_probability_with("rows"), "fill column j"),
    "log of pi times pdf": (log_probability_with("log of pi times pdf"), "never log\\(pi \\* pdf\\)"),
    "log pi missing": (log_probability_with("no log pi"), "log pi_j is missing"),
    "constant missing": (log_probability_with("no constant"), r"constant -D/2 log\(2 pi\) is missing"),
    "log-determinant doubled": (log_probability_with("doubled log-det"), "counted twice"),
    "log-determinant missing": (log_probability_with("no log-det"), "log-determinant term is missing"),
    "solve with L transposed": (log_probability_with("solve with L^T"), "not L\\^T y"),
    "transposed result": (lambda X, pi, mu, sigma: solution.gmm_log_probability(X, pi, mu, sigma).T,
                          "shape|fill column j"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(LOG_PROBABILITY_MUTANTS))
def test_log_probability_check_catches(mutant, fragment):
    assert_catches(checks.gmm_log_probability, mutant, fragment, first_line=True)


def test_log_probability_passes_the_solution_scipy_and_a_loop_version(capsys):
    def scipy_version(X, pi, mu, sigma):
        with np.errstate(divide="ignore"):
            return np.column_stack([np.log(pi[j]) + stats.multivariate_normal(mu[j], sigma[j]).logpdf(X).reshape(-1)
                                    for j in range(len(pi))])

    def float32_result(X, pi, mu, sigma):
        return student_log_probability(X, pi, mu, sigma).astype(np.float32)

    for implementation in [solution.gmm_log_probability, scipy_version, log_probability_with(None), float32_result]:
        assert_passes(checks.gmm_log_probability, implementation, capsys)


def test_a_passing_log_probability_with_np_log_of_a_zero_weight_prints_no_warning(capsys):
    def plain_log(X, pi, mu, sigma):
        return np.column_stack([np.log(pi[j]) + stats.multivariate_normal(mu[j], sigma[j]).logpdf(X).reshape(-1)
                                for j in range(len(pi))])

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning of np.log(0) would fail the test
        assert_passes(checks.gmm_log_probability, plain_log, capsys)


# EM ------------------------------------------------------------------------------------------------------------

def student_em(X, k, sample_weight=None, tol=1e-3, max_iter=500, reg_covar=1e-6, init=None, random_state=None, *,
               mistake=None):
    """EM with a loop over components, the convergence test written with an explicit previous value."""
    X = np.asarray(X, dtype=float)
    N, D = X.shape
    w = np.ones(N) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    w_m = np.ones(N) if mistake == "M-step unweighted" else w
    ridge = {"no reg_covar": 0.0, "reg_covar fixed": 1e-6}.get(mistake, reg_covar)
    tol = 1e-3 if mistake == "tol fixed" else tol

    def m_step(gamma):
        weighted = gamma * w_m[:, None]
        mass = weighted.sum(axis=0)
        pi = {"unnormalised": mass, "pi over N": mass / N}.get(mistake, mass / mass.sum())
        mu = [weighted[:, j] @ X / mass[j] for j in range(k)]
        sigma = [(weighted[:, j, None] * (X - mu[j])).T @ (X - mu[j]) / mass[j] + ridge * np.eye(D) for j in range(k)]
        return pi, np.array(mu), np.array(sigma)

    if init is None or mistake == "init ignored":
        seed = None if mistake == "random_state ignored" else random_state
        _, labels = solution.kmeans(X, k, sample_weight=None if mistake == "k-means unweighted" else w,
                                    random_state=seed)
        pi, mu, sigma = m_step(np.eye(k)[labels])
    else:
        pi, mu, sigma = init
    history, previous = [], None
    for _ in range(max_iter):
        P = solution.gmm_log_probability(X, pi, mu, sigma)
        norm = logsumexp(P, axis=1)
        current = {"log-likelihood unweighted": norm.mean(), "log-likelihood summed": w @ norm}.get(
            mistake, w @ norm / w.sum())
        history.append(current)
        converged = previous is not None and current - previous < tol
        if mistake == "stop before the M-step" and converged:
            break
        if mistake == "unnormalised":
            gamma = np.exp(P)
        elif mistake == "no log-sum-exp":
            gamma = np.exp(P) / np.exp(P).sum(axis=1, keepdims=True)
        else:
            gamma = np.exp(P - norm[:, None])
        pi, mu, sigma = m_step(gamma)
        if converged or mistake == "one step":
            break
        previous = current
    return pi, mu, sigma, history if mistake == "history as a list" else np.array(history)


def em_with(mistake):
    return named(lambda X, k, sample_weight=None, tol=1e-3, max_iter=500, reg_covar=1e-6, init=None,
                 random_state=None: student_em(X, k, sample_weight, tol, max_iter, reg_covar, init, random_state,
                                               mistake=mistake), "em")


EM_MUTANTS = {
    "M-step ignores sample_weight": (em_with("M-step unweighted"), "the M-step ignores sample_weight"),
    "log-likelihood unweighted": (em_with("log-likelihood unweighted"), "it is the unweighted mean"),
    "init ignored": (em_with("init ignored"), "did you ignore init"),
    "no reg_covar": (em_with("no reg_covar"), "reg_covar is not added"),
    "reg_covar fixed at 1e-6": (em_with("reg_covar fixed"), "reg_covar is not added"),
    "convergence tested before the final M-step": (em_with("stop before the M-step"), "those of the last E-step"),
    "always stops after one step": (em_with("one step"), "EM stopped after one step"),
    "tol fixed at 1e-3": (em_with("tol fixed"), "stopped after 10 steps"),
    "unnormalised responsibilities": (em_with("unnormalised"), "every point's responsibilities must sum to 1"),
    "random_state ignored": (em_with("random_state ignored"), "pass random_state on to kmeans"),
    "k-means start ignores sample_weight": (em_with("k-means unweighted"), "the k-means start ignores sample_weight"),
    "log-likelihood summed, not averaged": (em_with("log-likelihood summed"), "it is a sum over the points"),
    "pi = N_j / N with weights": (em_with("pi over N"), "not the number of points N"),
    "responsibilities without log-sum-exp": (em_with("no log-sum-exp"), "compute the responsibilities in log space"),
    "returns three values": (lambda X, k, *args, **kwargs: solution.em(X, k, *args, **kwargs)[:3],
                             "should return a tuple"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(EM_MUTANTS))
def test_em_check_catches(mutant, fragment):
    assert_catches(checks.em, mutant, fragment, first_line=True)


def test_em_passes_the_solution_a_loop_version_returning_a_list_and_float32_results(capsys):
    def float32_results(X, k, sample_weight=None, tol=1e-3, max_iter=500, reg_covar=1e-6, init=None,
                        random_state=None):
        result = student_em(X, k, sample_weight, tol, max_iter, reg_covar, init, random_state)
        return tuple(np.asarray(value, dtype=np.float32) for value in result)

    assert_passes(checks.em, solution.em, capsys)
    assert_passes(checks.em, em_with("history as a list"), capsys)
    assert_passes(checks.em, float32_results, capsys)


def test_a_log_probability_in_single_precision_is_told_so():
    def single_precision(X, pi, mu, sigma):
        return student_log_probability(*(np.asarray(value, dtype=np.float32) for value in (X, pi, mu, sigma)))

    assert_catches(checks.gmm_log_probability, named(lambda *args: single_precision(*args).astype(np.float32),
                                                     "gmm_log_probability"), "compute in float64", first_line=True)


def test_em_names_the_helper_that_is_not_implemented():
    def gmm_log_probability(X, pi, mu, sigma):
        raise NotImplementedError

    def em(X, k, sample_weight=None, tol=1e-3, max_iter=500, reg_covar=1e-6, init=None, random_state=None):
        return gmm_log_probability(X, *init)

    assert_catches(checks.em, em, "em calls gmm_log_probability, which is not implemented yet")


def test_scikit_learn_em_is_caught_ignoring_the_weights():
    def em(X, k, sample_weight=None, tol=1e-3, max_iter=500, reg_covar=1e-6, init=None, random_state=None):
        model = GaussianMixture(k, random_state=random_state, tol=tol, reg_covar=reg_covar).fit(X)
        return model.weights_, model.means_, model.covariances_, np.array([model.lower_bound_])

    assert_catches(checks.em, em, "em: ")


# sampling ------------------------------------------------------------------------------------------------------

def student_sample(N, pi, mu, sigma, random_state=None, *, mistake=None):
    """Ancestral sampling, one call per component, samples as rows; `mistake` switches one on."""
    rng = np.random.default_rng(random_state)
    weights = np.full(len(pi), 1 / len(pi)) if mistake == "unweighted" else pi
    z = rng.choice(len(pi), size=N, p=weights)
    X = np.zeros((N, np.shape(mu)[1]))
    for j in range(len(pi)):
        rows = np.flatnonzero(z == j)
        L = sigma[j] if mistake == "sigma instead of L" else np.linalg.cholesky(sigma[j])
        eps = rng.standard_normal((rows.size, X.shape[1]))
        X[rows] = mu[j] + (eps @ L if mistake == "eps @ L" else eps @ L.T)
    if mistake == "grouped":
        X = X[np.argsort(z, kind="stable")]
    return X


def sample_with(mistake):
    return named(lambda N, pi, mu, sigma, random_state=None: student_sample(N, pi, mu, sigma, random_state,
                                                                            mistake=mistake), "gmm_sample")


def per_sample_loop(N, pi, mu, sigma, random_state=None):
    rng = np.random.default_rng(random_state)
    return np.array([rng.multivariate_normal(mu[j], sigma[j]) for j in rng.choice(len(pi), size=N, p=pi)])


SAMPLE_MUTANTS = {
    "grouped by component": (sample_with("grouped"), "grouped by component"),
    "sigma instead of its Cholesky factor": (sample_with("sigma instead of L"), "covariance of the samples"),
    "eps @ L": (sample_with("eps @ L"), r"use eps @ L\.T"),
    "unweighted components": (sample_with("unweighted"), "fraction of samples"),
    "unseeded": (lambda N, pi, mu, sigma, random_state=None: student_sample(N, pi, mu, sigma), "different samples"),
    "a Python loop over the samples": (per_sample_loop, "separate calls"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(SAMPLE_MUTANTS))
def test_sample_check_catches(mutant, fragment):
    assert_catches(checks.gmm_sample, mutant, fragment, first_line=True)


def test_sample_passes_the_solution_and_a_multivariate_normal_version(capsys):
    def per_component(N, pi, mu, sigma, random_state=None):
        rng = np.random.default_rng(random_state)
        z = rng.choice(len(pi), size=N, p=pi)
        X = np.empty((N, len(mu[0])))
        for j in range(len(pi)):
            X[z == j] = rng.multivariate_normal(mu[j], sigma[j], size=int(np.sum(z == j)))
        return X

    assert_passes(checks.gmm_sample, solution.gmm_sample, capsys)
    assert_passes(checks.gmm_sample, per_component, capsys)


# the solution's validation -------------------------------------------------------------------------------------

X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
MIXTURE = (np.array([0.5, 0.5]), np.zeros((2, 2)), np.array([np.eye(2), np.eye(2)]))


@pytest.mark.parametrize("call, message", [
    (lambda: solution.kmeans(X, 0), "k must be at least 1"),
    (lambda: solution.kmeans(X, 5, random_state=0), "X has only 4 distinct points .* fewer than k = 5"),
    (lambda: solution.kmeans(X, 5, init=np.vstack([X[:4], [[9.0, 9.0]]])), "fewer than k = 5 distinct points"),
    (lambda: solution.kmeans(X[:, 0], 2), r"X must be a 2-D array of shape \(N, D\)"),
    (lambda: solution.kmeans(np.array([[np.nan, 0.0], [1.0, 1.0]]), 1), "X must not contain NaN"),
    (lambda: solution.kmeans(X, 2, sample_weight=[1.0, 2.0]), r"sample_weight must have shape \(N,\) = \(5,\)"),
    (lambda: solution.kmeans(X, 2, sample_weight=-np.ones(5)), "sample_weight must be non-negative"),
    (lambda: solution.kmeans(X, 2, init=np.zeros((3, 2))), r"init must have shape \(k, D\) = \(2, 2\)"),
    (lambda: solution.kmeans(X * 1e155, 2), "X has values up to 1e\\+155 in magnitude.*rescale X"),
    (lambda: solution.em(X * -1e200, 2), "X has values up to 1e\\+200 in magnitude.*rescale X"),
    (lambda: solution.em(X, 2, tol=0), "tol must be a finite number greater than 0"),
    (lambda: solution.em(X, 6), "k must be at least 1 and at most 5"),
    (lambda: solution.em(X, 2, init=(np.array([1.0]), np.zeros((1, 2)), np.eye(2)[None])), "init must hold k = 2"),
    (lambda: solution.gmm_log_probability(X, np.array([0.5, 0.6]), *MIXTURE[1:]), "pi must sum to 1"),
    (lambda: solution.gmm_log_probability(X, MIXTURE[0], MIXTURE[1], np.array([np.eye(2), np.zeros((2, 2))])),
     r"sigma\[1\] must be positive definite"),
    (lambda: solution.gmm_log_probability(X[:, :1], *MIXTURE), "X must have D = 2 columns"),
    (lambda: solution.gmm_sample(0, *MIXTURE), "N must be at least 1"),
    (lambda: solution.gmm_sample(3, np.array([0.5, 0.5]), np.zeros((3, 2)), MIXTURE[2]), r"mu must have shape"),
])
def test_bad_input_is_rejected_with_the_parameter_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


@pytest.mark.parametrize("scale", [1e90, 1.0])
def test_huge_weights_and_large_data_give_the_same_clusters(scale):
    rng = np.random.default_rng(1)
    data = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(60, 2)) + 6])
    weight = rng.integers(1, 5, size=len(data)).astype(float)
    centres, labels = solution.kmeans(data, 2, sample_weight=weight, random_state=0)
    huge = solution.kmeans(data * scale, 2, sample_weight=weight * 1e305, random_state=0)
    assert np.array_equal(huge[1], labels)
    np.testing.assert_allclose(huge[0], centres * scale, rtol=1e-9)
    pi, mu, _, history = solution.em(data, 2, sample_weight=weight, random_state=0)
    huge_pi, huge_mu, _, _ = solution.em(data * scale, 2, sample_weight=weight * 1e305, random_state=0)
    np.testing.assert_allclose(huge_pi, pi, rtol=1e-6)
    np.testing.assert_allclose(huge_mu, mu * scale, rtol=1e-6)


def test_kmeans_from_a_start_with_two_empty_clusters_fills_every_cluster():
    rng = np.random.default_rng(0)
    data = np.vstack([rng.normal(size=(50, 2)), rng.normal(size=(50, 2)) + 10])
    mu, z = solution.kmeans(data, 4, init=np.array([[0.0, 0.0], [10.0, 10.0], [500.0, 500.0], [-500.0, 0.0]]))
    assert np.all(np.isfinite(mu)) and np.bincount(z, minlength=4).min() > 0 and z.dtype == np.intp
