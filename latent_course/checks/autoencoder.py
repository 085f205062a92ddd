"""Self-checks for topic 02, the linear autoencoder and PCA."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA, TruncatedSVD

from ._framework import call, check_array, check_close, check_tuple, fail, passed

TOPIC = "02_linear_autoencoder"
__all__ = ["autoencoder_loss", "pca", "train_autoencoder"]


def _data(rng, N, D, scales):
    """N samples in D dimensions with the given standard deviations along random orthogonal directions."""
    basis = np.linalg.qr(rng.normal(size=(D, D)))[0]
    return (rng.normal(size=(N, D)) * scales) @ basis.T + rng.normal(size=D)


def _loss(X, W1, W2):
    return np.linalg.norm(X - X @ W1 @ W2, "fro") ** 2 / X.shape[0]


def _finite_differences(X, W1, W2, which, eps=1e-6):
    """Central differences of the closed-form loss with respect to W1 (which=0) or W2 (which=1)."""
    weights = [W1.copy(), W2.copy()]
    gradient = np.zeros_like(weights[which])
    for index in np.ndindex(gradient.shape):
        values = []
        for sign in (1, -1):
            weights[which][index] += sign * eps
            values.append(_loss(X, *weights))
            weights[which][index] -= sign * eps
        gradient[index] = (values[0] - values[1]) / (2 * eps)
    return gradient


def _scalar(function, value, inputs, what):
    __tracebackhide__ = True
    if np.ndim(value) != 0 or not np.issubdtype(np.asarray(value).dtype, np.number):
        fail(function, f"{what} should be a number, got {type(value).__name__} of shape {np.shape(value)}.", inputs)
    return np.array(float(value))


def autoencoder_loss(function) -> None:
    """Check ``function(X, W1, W2)`` returning (loss, grad_W1, grad_W2) of ||X - X W1 W2||_F^2 / N.

    The loss is compared with the closed form and the gradients with central finite differences, on shapes where
    K < D and on a square case K = D, where a missing transpose still has the right shape.
    """
    __tracebackhide__ = True
    rng = np.random.default_rng(5)
    n_cases = 0
    for N, D, K in [(7, 5, 2), (6, 4, 1), (5, 3, 3)]:
        X, W1, W2 = rng.normal(size=(N, D)), rng.normal(size=(D, K)), rng.normal(size=(K, D))
        inputs = {"X": X, "W1": W1, "W2": W2}
        loss, grad_W1, grad_W2 = check_tuple(function, call(function, **inputs), ["loss", "grad_W1", "grad_W2"], inputs)
        check_close(function, _scalar(function, loss, inputs, "the loss"), np.array(_loss(X, W1, W2)), inputs,
                    what="the loss", why="the loss is the squared Frobenius norm of X - X W1 W2, divided by N.")
        for which, (name, gradient) in enumerate([("grad_W1", grad_W1), ("grad_W2", grad_W2)]):
            check_close(function, gradient, _finite_differences(X, W1, W2, which), inputs, rtol=1e-5, atol=1e-6,
                        what=f"{name} (compared with finite differences of the loss)",
                        why="with H = X W1 and E = H W2 - X: grad_W1 = 2/N X^T E W2^T, grad_W2 = 2/N H^T E.")
        n_cases += 1
    passed(function, 3 * n_cases)


def train_autoencoder(function) -> None:
    """Check ``function(X, K, random_state=0)`` returning (W1, W2, losses) of a trained linear autoencoder.

    On data with a clear spectrum, the recorded losses must never increase, the last one must be the loss of the
    returned weights, and it must be within 1 % of the best possible error, the sum of the discarded squared
    singular values of X over N (the model has no bias, so X is not centred).
    """
    __tracebackhide__ = True
    rng = np.random.default_rng(8)
    n_cases = 0
    for N, D, K in [(300, 6, 2), (40, 8, 3)]:
        X = _data(rng, N, D, np.linspace(3.0, 0.5, D))
        inputs = {"X": X, "K": K, "random_state": 0}
        W1, W2, losses = check_tuple(function, call(function, **inputs), ["W1", "W2", "losses"], inputs)
        W1 = check_array(function, W1, (D, K), inputs, "W1")
        W2 = check_array(function, W2, (K, D), inputs, "W2")
        losses = np.asarray(losses, dtype=float)
        if losses.ndim != 1 or losses.size < 2:
            fail(function, f"losses should be a 1-D array with one loss per step, got shape {losses.shape}.", inputs)
        increases = np.flatnonzero(~(np.diff(losses) <= 1e-12 * losses[:-1]))
        if increases.size:
            step = int(increases[0])
            fail(function, f"the loss increased from {losses[step]:.6g} to {losses[step + 1]:.6g} at step "
                           f"{step + 1}; the step size is too large (use N / (4 s_1^2)).", inputs)
        check_close(function, np.array(losses[-1]), np.array(_loss(X, W1, W2)), inputs, rtol=1e-6,
                    what="the last recorded loss (compared with the loss of the returned W1, W2)")
        best = np.sum(np.linalg.svd(X, compute_uv=False)[K:] ** 2) / N
        check_close(function, np.array(losses[-1]), np.array(best), inputs, rtol=0.01, atol=0,
                    what="the final loss (compared with the best rank-K error, sum of discarded s_i^2 / N)",
                    why="train until the loss stops decreasing; a too small step or too few steps stop early.")
        n_cases += 1
    passed(function, 4 * n_cases)


def pca(function) -> None:
    """Check ``function(X, K, center)`` returning (components (K, D), error) against scikit-learn.

    With ``center=True`` the components must match ``sklearn.decomposition.PCA`` up to the sign of each one, and
    with ``center=False`` ``TruncatedSVD``; the error must be the mean squared norm of the reconstruction's residual.
    """
    __tracebackhide__ = True
    rng = np.random.default_rng(9)
    n_cases = 0
    for N, D, K, center in [(50, 5, 2, True), (80, 6, 3, False), (30, 4, 1, True), (40, 7, 4, False)]:
        X = _data(rng, N, D, np.linspace(4.0, 0.5, D)) + 3.0
        inputs = {"X": X, "K": K, "center": center}
        components, error = check_tuple(function, call(function, **inputs), ["components", "error"], inputs)
        components = check_array(function, components, (K, D), inputs, "the components")
        if center:
            reference = PCA(n_components=K, svd_solver="full").fit(X)
            residual = X - reference.inverse_transform(reference.transform(X))
        else:
            reference = TruncatedSVD(n_components=K, algorithm="arpack", random_state=0).fit(X)
            residual = X - reference.inverse_transform(reference.transform(X))
        expected = reference.components_
        signs = np.where(np.sum(components * expected, axis=1) < 0, -1.0, 1.0)
        hint = "centre the data (subtract the mean of each column) when center is True." if center else \
            "with center=False, take the SVD of X itself."
        check_close(function, components * signs[:, None], expected, inputs, rtol=1e-6, atol=1e-6,
                    what="the components (rows, by decreasing singular value, up to sign)", why=hint)
        check_close(function, _scalar(function, error, inputs, "the error"), np.array(np.sum(residual**2) / N),
                    inputs, rtol=1e-6, what="the reconstruction error",
                    why="the error is ||X - X V_K V_K^T||_F^2 / N, the sum of the discarded s_i^2 over N.")
        n_cases += 1
    passed(function, 2 * n_cases)
