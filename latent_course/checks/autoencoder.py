"""Self-checks for topic 02, the linear autoencoder and PCA."""

from __future__ import annotations

import numpy as np
from scipy.linalg import subspace_angles

from ._answers import answer, if_stored
from ._framework import call, case_rng, check_array, check_close, check_seeded, check_tuple, fail, passed

TOPIC = "02_linear_autoencoder"
__all__ = ["autoencoder_loss", "pca", "train_autoencoder"]


def _data(rng, N, D, scales):
    """N samples in D dimensions with the given standard deviations along random orthogonal directions."""
    basis = np.linalg.qr(rng.normal(size=(D, D)))[0]
    return (rng.normal(size=(N, D)) * scales) @ basis.T + rng.normal(size=D)


def _squared_error(X, W1, W2):
    return np.linalg.norm(X - X @ W1 @ W2, "fro") ** 2 / X.shape[0]


@answer
def _loss(X, W1, W2):
    """The loss ||X - X W1 W2||_F^2 / N in closed form."""
    return _squared_error(X, W1, W2)


@answer
def _finite_differences(X, W1, W2, which, eps=1e-6):
    """Central differences of the closed-form loss with respect to W1 (which=0) or W2 (which=1)."""
    weights = [W1.copy(), W2.copy()]
    gradient = np.zeros_like(weights[which])
    for index in np.ndindex(gradient.shape):
        values = []
        for sign in (1, -1):
            weights[which][index] += sign * eps
            values.append(_squared_error(X, *weights))
            weights[which][index] -= sign * eps
        gradient[index] = (values[0] - values[1]) / (2 * eps)
    return gradient


def _scalar(function, value, inputs, what):
    """`value` as a 0-d array, keeping a single-precision dtype so that the comparison allows for it."""
    __tracebackhide__ = True
    if isinstance(value, complex | np.complexfloating):
        fail(function, f"{what} has complex values ({value}); return a real number.", inputs)
    if np.ndim(value) != 0 or not np.issubdtype(np.asarray(value).dtype, np.number):
        fail(function, f"{what} should be a number, got {type(value).__name__} of shape {np.shape(value)}.", inputs)
    value = np.asarray(value)
    return value if value.dtype in (np.float32, np.float16) else value.astype(float)


def _hint(got, candidates, default=""):
    """The hint of the first candidate value that `got` equals, else `default`."""
    if isinstance(got, np.ndarray) and np.isrealobj(got):
        for hint, value in candidates:
            if np.shape(value) == got.shape and np.allclose(got, value, rtol=1e-5, atol=1e-8):
                return hint
    return default


@answer
def _loss_mistakes(X, W1, W2):
    """What the usual mistakes return as the loss, each with its hint."""
    N, D = X.shape
    loss = _squared_error(X, W1, W2)
    return [
        ("the loss is not divided by N (the mean over the samples).", loss * N),
        ("the loss is divided by N * D (np.mean over all entries); divide the squared norm by N only.", loss / D),
        ("the norm is not squared: the loss is ||X - X W1 W2||_F^2 / N.", np.sqrt(loss * N) / N),
        ("the loss is the square root of the right one: square the Frobenius norm.", np.sqrt(loss)),
    ]


@answer
def _gradient_mistakes(name, X, W1, W2, expected):
    """What the usual mistakes return as the gradient `name`, each with its hint (`expected` the right one)."""
    N = X.shape[0]
    H = X @ W1
    E = H @ W2 - X
    wrong = [
        ("the factor 2 from the derivative of the square is missing.", expected / 2),
        ("the sign is wrong: with E = X W1 W2 - X, the gradients are +2/N X^T E W2^T and +2/N H^T E.", -expected),
        ("the gradient is not divided by N.", expected * N),
    ]
    if name == "grad_W1" and W2.shape[0] == W2.shape[1]:  # only then do these mistakes keep the shape
        wrong += [("W2 needs its transpose: grad_W1 = 2/N X^T E W2^T.", 2 / N * X.T @ E @ W2),
                  ("this is 2/N H^T E, the gradient for W2; grad_W1 = 2/N X^T E W2^T.", 2 / N * H.T @ E)]
    else:
        wrong.append(("this uses X instead of the codes H = X W1: grad_W2 = 2/N H^T E.", 2 / N * X.T @ E))
    return wrong


def autoencoder_loss(function) -> None:
    """Check ``function(X, W1, W2)`` returning (loss, grad_W1, grad_W2) of ||X - X W1 W2||_F^2 / N.

    The loss is compared with the closed form and the gradients with central finite differences, on shapes where
    K < D and on a square case K = D, where a missing transpose still has the right shape. Each usual mistake
    (no division by N, no square, a missing factor 2, the wrong sign, a missing transpose) gets its own hint.
    """
    __tracebackhide__ = True
    rng = case_rng(5)
    n_cases = 0
    for N, D, K in [(7, 5, 2), (6, 4, 1), (5, 3, 3)]:
        X, W1, W2 = rng.normal(size=(N, D)), rng.normal(size=(D, K)), rng.normal(size=(K, D))
        inputs = {"X": X, "W1": W1, "W2": W2}
        loss, grad_W1, grad_W2 = check_tuple(function, call(function, **inputs), ["loss", "grad_W1", "grad_W2"], inputs)
        loss = _scalar(function, loss, inputs, "the loss")
        check_close(function, loss, np.array(_loss(X, W1, W2)), inputs, what="the loss",
                    why=_hint(loss, _loss_mistakes(X, W1, W2),
                              "the loss is the squared Frobenius norm of X - X W1 W2, divided by N."))
        for which, (name, gradient) in enumerate([("grad_W1", grad_W1), ("grad_W2", grad_W2)]):
            expected = _finite_differences(X, W1, W2, which)
            check_close(function, gradient, expected, inputs, rtol=1e-5, atol=1e-6,
                        what=f"{name} (compared with finite differences of the loss)",
                        why=_hint(gradient, _gradient_mistakes(name, X, W1, W2, expected),
                                  "with H = X W1 and E = H W2 - X: grad_W1 = 2/N X^T E W2^T, grad_W2 = 2/N H^T E."))
        n_cases += 1
    passed(function, 3 * n_cases)


def _check_stopping_rule(function, losses, tol, max_iter, inputs):
    """Stop after the first step whose decrease is below tol times the loss, or after max_iter steps."""
    __tracebackhide__ = True
    previous, current = losses[:-1], losses[1:]
    decrease = previous - current
    # "Its value" may be read as the loss before or after the step: stopping is required only where both agree.
    must_stop = decrease < tol * np.minimum(previous, current)
    may_stop = decrease <= tol * np.maximum(previous, current)
    early = np.flatnonzero(must_stop[:-1])
    if early.size:
        step = int(early[0]) + 1
        fail(function, f"with tol={tol:g}, step {step} decreased the loss by only {decrease[step - 1]:.3g} "
                       f"(< tol * loss), yet training went on for {len(decrease) - step} more steps: stop there.",
             inputs)
    if len(decrease) > max_iter:
        fail(function, f"with max_iter={max_iter} it recorded {len(losses)} losses; take at most max_iter steps "
                       "(losses holds the loss before each step and after the last: at most max_iter + 1).", inputs)
    if len(decrease) < max_iter and not may_stop[-1]:
        fail(function, f"with tol={tol:g} it stopped after {len(decrease)} steps although the last step still "
                       f"decreased the loss by {decrease[-1]:.3g} > tol * loss: stop only when the decrease falls "
                       "below tol times the loss (or after max_iter steps).", inputs)


OPTIONAL = ("step_size", "max_iter", "tol")
"""Parameters of train_autoencoder passed by keyword, as the notebook does."""


@answer
def _principal_subspace(X, K):
    """The top-K right singular vectors of X (rows) and the best rank-K error, the discarded s_i^2 over N."""
    Vt = np.linalg.svd(X, full_matrices=False)[2]
    return Vt[:K], np.sum(np.linalg.svd(X, compute_uv=False)[K:] ** 2) / len(X)


def _train(function, inputs, D, K):
    """Call the training function and check the types and shapes of (W1, W2, losses)."""
    __tracebackhide__ = True
    result = call(function, by_keyword=OPTIONAL, **inputs)
    W1, W2, losses = check_tuple(function, result, ["W1", "W2", "losses"], inputs)
    W1 = check_array(function, W1, (D, K), inputs, "W1")
    W2 = check_array(function, W2, (K, D), inputs, "W2")
    if isinstance(losses, list | tuple):
        losses = np.array(losses)
    if not isinstance(losses, np.ndarray) or losses.ndim != 1:
        fail(function, f"losses should be a 1-D array (or a list) of the loss before each step and after the last, "
                       f"got {type(losses).__name__} of shape {np.shape(losses)}.", inputs)
    losses = check_array(function, losses, losses.shape, inputs, "losses")
    if losses.size < 2:
        fail(function, f"losses should be a 1-D array with the loss before each step and after the last, got "
                       f"shape {losses.shape}; did training stop before its first step?", inputs)
    return W1, W2, losses.astype(float)


def train_autoencoder(function) -> None:
    """Check ``function(X, K, step_size=None, max_iter=..., tol=..., random_state=0)`` returning (W1, W2, losses).

    With the defaults, on data with a clear spectrum: the recorded losses never increase, the last one is the loss of
    the returned weights, it is within 1 % of the best possible error (the sum of the discarded squared singular
    values of X over N; the model has no bias, so X is not centred), the rows of W2 span the top-K principal
    subspace within 1 degree, and the weights are balanced (W1^T W1 = W2 W2^T within 0.01, W1 = W2^T with
    orthonormal rows within 0.05), as the notebook asserts later. On data of rank K the relative error must fall
    below 1e-12 within 5000 steps. Every parameter is exercised: `tol` and `max_iter` by the stopping rule, `step_size`
    by a step so large that the loss must rise, `random_state` by reproducibility and by a second seed.
    """
    __tracebackhide__ = True
    rng = case_rng(8)
    n_cases = 0
    for N, D, K in [(300, 6, 2), (40, 8, 3)]:
        X = _data(rng, N, D, np.linspace(3.0, 0.5, D))
        inputs = {"X": X, "K": K, "random_state": 0}
        W1, W2, losses = _train(function, inputs, D, K)
        if losses.size == 2 and not (np.any(W1) or np.any(W2)):
            fail(function, "training stopped after a single step from zero weights: at W1 = 0, W2 = 0 both gradients "
                           "are zero, so gradient descent never moves. Start from small random weights (standard "
                           "deviation 0.01, from np.random.default_rng(random_state)).", inputs)
        if losses.size == 2:
            fail(function, "training stopped after a single step; stop only when the loss decreased by less than tol "
                           "times its value (from small weights the first steps decrease it slowly, but they do).",
                 inputs)
        increases = np.flatnonzero(~(np.diff(losses) <= 1e-12 * losses[:-1]))
        if increases.size:
            step = int(increases[0])
            fail(function, f"the loss increased from {losses[step]:.6g} to {losses[step + 1]:.6g} at step "
                           f"{step + 1}; the step size is too large. The default is n / (4 s_1^2) with n and s_1 "
                           "of the same matrix, the X you train on: after the provided reduction X has D rows, and "
                           "N (of the original data) with s_1 of the reduced X is N / D times too large.", inputs)
        with if_stored():
            check_close(function, np.array(losses[-1]), np.array(_loss(X, W1, W2)), inputs, rtol=1e-6,
                        what="the last recorded loss (compared with the loss of the returned W1, W2)",
                        why="record the loss of the weights you return, after the last step.")
        principal, best = _principal_subspace(X, K)
        check_close(function, np.array(losses[-1]), np.array(best), inputs, rtol=0.01, atol=0,
                    what="the final loss (compared with the best rank-K error, sum of discarded s_i^2 / N)",
                    why="train until the loss stops decreasing; a too small step or too few steps stop early.")
        angle = np.degrees(subspace_angles(W2.T, principal.T)).max()
        if angle >= 1.0:
            fail(function, f"the rows of W2 are {angle:.2f} degrees away from the top-{K} principal subspace (at most "
                           "1 degree expected); train until the loss stops decreasing.", inputs)
        imbalance = np.abs(W1.T @ W1 - W2 @ W2.T).max()
        off = max(np.abs(W2 @ W2.T - np.eye(K)).max(), np.abs(W1 - W2.T).max())
        if imbalance > 0.01 or off > 0.05:
            fail(function, f"the weights are not balanced: |W1^T W1 - W2 W2^T| reaches {imbalance:.3g} (at most 0.01) "
                           f"and W1 = W2^T with orthonormal rows of W2 holds only within {off:.3g} (0.05). Start from "
                           "small weights (standard deviation 0.01): gradient descent keeps W1^T W1 - W2 W2^T nearly "
                           "constant.", inputs)
        n_cases += 1
    basis = np.linalg.qr(rng.normal(size=(6, 2)))[0].T
    in_subspace = rng.normal(size=(200, 2)) * [3.0, 1.5] @ basis
    inputs = {"X": in_subspace, "K": 2, "max_iter": 5000, "random_state": 0}
    W1, W2, losses = _train(function, inputs, 6, 2)
    with if_stored():
        relative_error = _loss(in_subspace, W1, W2) / np.mean(np.sum(in_subspace**2, axis=1))
        if not relative_error < 1e-12:
            fail(function, f"on data of rank K = 2 the reconstruction should become exact, but the relative error is "
                       f"{relative_error:.3g} (below 1e-12 expected) after {len(losses) - 1} steps; keep "
                           "stepping while the loss still falls by more than tol times its value.", inputs)
    X = _data(rng, 300, 6, np.linspace(3.0, 0.5, 6))
    for extra in [{"tol": 1e-5}, {"tol": 1e-12, "max_iter": 5}]:
        inputs = {"X": X, "K": 2, **extra, "random_state": 0}
        _check_stopping_rule(function, _train(function, inputs, 6, 2)[2], extra["tol"], extra.get("max_iter", 50_000),
                             inputs)
    huge_step = 200 * len(X) / np.linalg.norm(X, ord=2) ** 2
    inputs = {"X": X, "K": 2, "step_size": huge_step, "max_iter": 5, "random_state": 0}
    losses = _train(function, inputs, 6, 2)[2]
    if not losses[1] > losses[0]:
        fail(function, f"with step_size={huge_step:.3g} (800 times the stable step) the first step should raise the "
                       "loss, but it did not: use the step_size passed in, and the default only when it is None.",
             inputs)
    inputs = {"X": X, "K": 2, "max_iter": 20, "random_state": 0}
    result = _train(function, inputs, 6, 2)
    check_seeded(function, result, inputs, "weights or losses", by_keyword=OPTIONAL)
    if np.allclose(result[0], _train(function, {**inputs, "random_state": 1}, 6, 2)[0]):
        fail(function, "random_state=0 and random_state=1 gave the same weights; draw the initial weights from "
                       "np.random.default_rng(random_state).", inputs)
    passed(function, 6 * n_cases + 6)


def _singular(X, center):
    """The singular values and Vt of X, centred if `center`."""
    _, singular_values, Vt = np.linalg.svd(X - X.mean(axis=0) if center else X, full_matrices=False)
    return singular_values, Vt


@answer
def _reference_pca(X, K, center):
    """The components of scikit-learn's PCA (centred) or TruncatedSVD (not centred), and the mean squared norm of
    the reconstruction's residual."""
    from sklearn.decomposition import PCA, TruncatedSVD  # here: importing scikit-learn takes about 0.25 s

    if center:
        reference = PCA(n_components=K, svd_solver="full").fit(X)
    else:
        reference = TruncatedSVD(n_components=K, algorithm="arpack", random_state=0).fit(X)
    residual = X - reference.inverse_transform(reference.transform(X))
    return reference.components_, np.sum(residual**2) / len(X)


@answer
def _pca_mistakes(X, K, center):
    """The components when the centring is the other way round, with its hint, and the absolute values of the
    components under the other usual mistakes, each with its hint."""
    singular_values, Vt = _singular(X, center)
    centred = X - X.mean(axis=0)
    other_Vt = np.linalg.svd(X if center else centred, full_matrices=False)[2][:K]
    other_hint = ("centre the data (subtract the mean of each column) when center is True." if center else
                  "with center=False, take the SVD of X itself, without centring it.")
    return other_hint, other_Vt, [
        ("these are the directions of the smallest singular values; keep the first K rows of Vt (np.linalg.svd "
         "sorts them in decreasing order, np.linalg.eigh in increasing order).", np.abs(Vt[::-1][:K])),
        ("these are rows of V, not of Vt: the principal directions are the rows of Vt (or the columns of V).",
         np.abs(Vt.T[:K])),
        ("the components are scaled by the singular values; return the orthonormal rows of Vt.",
         np.abs(singular_values[:K, None] * Vt[:K])),
    ]


def _pca_hint(components, mistakes):
    other_hint, other_Vt, candidates = mistakes
    signs = np.where(np.sum(components * other_Vt, axis=1) < 0, -1.0, 1.0)
    if np.allclose(components * signs[:, None], other_Vt, atol=1e-6):
        return other_hint
    return _hint(np.abs(components), candidates, "the components are the first K rows of Vt from the SVD "
                 "X = U S Vt (of the centred X when center is True).")


@answer
def _error_mistakes(X, K, center):
    """What the usual mistakes return as the reconstruction error, each with its hint."""
    N = len(X)
    singular_values = _singular(X, center)[0]
    discarded = np.sum(singular_values[K:] ** 2)
    return [
        ("the error is not divided by N.", np.array(discarded)),
        ("this is the sum of the kept s_i^2; the error is the sum of the discarded ones, over N.",
         np.array(np.sum(singular_values[:K] ** 2) / N)),
        ("the singular values are not squared: the error is sum_{i > K} s_i^2 / N.",
         np.array(np.sum(singular_values[K:]) / N)),
    ]


def _error_hint(error, mistakes):
    if error.dtype != float:
        return "the error is in single precision; compute it in float64 (the notebook compares it to 1e-10)."
    return _hint(np.asarray(error, dtype=float), mistakes,
                 "the error is ||X - X V_K V_K^T||_F^2 / N, the sum of the discarded s_i^2 over N.")


def pca(function) -> None:
    """Check ``function(X, K, center)`` returning (components (K, D), error) against scikit-learn.

    With ``center=True`` the components must match ``sklearn.decomposition.PCA`` up to the sign of each one, and
    with ``center=False`` ``TruncatedSVD``; the error must be the mean squared norm of the reconstruction's residual,
    to 1e-10 relative (as the notebook asserts later).
    """
    __tracebackhide__ = True
    rng = case_rng(9)
    n_cases = 0
    for N, D, K, center in [(50, 5, 2, True), (80, 6, 3, False), (30, 4, 1, True), (40, 7, 4, False)]:
        X = _data(rng, N, D, np.linspace(4.0, 0.5, D)) + 3.0
        inputs = {"X": X, "K": K, "center": center}
        components, error = check_tuple(function, call(function, **inputs), ["components", "error"], inputs)
        components = check_array(function, components, (K, D), inputs, "the components")
        expected, expected_error = _reference_pca(X, K, center)
        pca_mistakes, error_mistakes = _pca_mistakes(X, K, center), _error_mistakes(X, K, center)
        signs = np.where(np.sum(components * expected, axis=1) < 0, -1.0, 1.0)
        check_close(function, components * signs[:, None], expected, inputs, rtol=1e-6, atol=1e-6,
                    what="the components (rows, by decreasing singular value, up to sign)",
                    why=_pca_hint(components, pca_mistakes))
        error = _scalar(function, error, inputs, "the error")
        # Compared in double precision even for a float32 result: the notebook asserts the error to 1e-10.
        check_close(function, error.astype(float), np.array(expected_error), inputs, rtol=1e-10,
                    what="the reconstruction error", why=_error_hint(error, error_mistakes))
        n_cases += 1
    passed(function, 2 * n_cases)
