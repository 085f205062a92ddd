"""The topic 02 checks accept right implementations and catch the typical wrong ones; bad input is rejected."""

import numpy as np
import pytest
from checking import assert_catches, assert_passes, mutant_params

from latent_course import checks
from latent_course.tools.solutions import load_solution

solution = load_solution("02_linear_autoencoder")


def test_the_solution_passes(capsys):
    checks.autoencoder_loss(solution.autoencoder_loss)
    checks.train_autoencoder(solution.train_autoencoder)
    checks.pca(solution.pca)
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == [
        "autoencoder_loss", "train_autoencoder", "pca"]


def loss_with_loops_in_float32(X, W1, W2):
    X, W1, W2 = (np.asarray(a, dtype=np.float32) for a in (X, W1, W2))
    N = len(X)
    H = X @ W1
    E = H @ W2 - X
    grad_W2 = np.zeros_like(W2)
    for n in range(N):
        grad_W2 += 2 / N * np.outer(H[n], E[n])
    return np.float32(np.sum(E * E) / N), 2 / N * X.T @ E @ W2.T, grad_W2


def training_from_the_text(X, K, step_size=None, max_iter=50_000, tol=1e-10, random_state=0, scale=0.01,
                           small_enough=0.0):
    """Written from the task text: W2 drawn first, a while loop, the decrease compared with the new loss."""
    N, D = X.shape
    rng = np.random.default_rng(random_state)
    W2 = rng.normal(scale=scale, size=(K, D))
    W1 = rng.normal(scale=scale, size=(D, K))
    if step_size is None:
        step_size = N / (4 * np.linalg.svd(X, compute_uv=False)[0] ** 2)
    loss, grad_W1, grad_W2 = solution.autoencoder_loss(X, W1, W2)
    losses = [loss]
    while len(losses) <= max_iter:
        W1, W2 = W1 - step_size * grad_W1, W2 - step_size * grad_W2
        loss, grad_W1, grad_W2 = solution.autoencoder_loss(X, W1, W2)
        losses.append(loss)
        if losses[-2] - loss < tol * loss or loss < small_enough:
            break
    return W1, W2, losses


def pca_by_eigendecomposition_in_float32(X, K, center=True):
    X = np.asarray(X, dtype=np.float32)
    X = X - X.mean(axis=0) if center else X
    values, vectors = np.linalg.eigh(X.T.astype(float) @ X)
    return vectors[:, ::-1][:, :K].T.astype(np.float32), values[: len(values) - K].sum() / len(X)


def pca_by_eigendecomposition(X, K, center=True):
    X = X - X.mean(axis=0) if center else X
    values, vectors = np.linalg.eigh(X.T @ X)
    return vectors[:, ::-1][:, :K].T, values[: len(values) - K].sum() / len(X)


@pytest.mark.parametrize("check, implementation", [
    (checks.autoencoder_loss, loss_with_loops_in_float32),
    (checks.train_autoencoder, training_from_the_text),
    (checks.pca, pca_by_eigendecomposition),
], ids=["float32 loss with a loop", "training written from the text", "PCA by eigh"])
def test_correct_implementations_in_other_styles_pass(check, implementation, capsys):
    assert_passes(check, implementation, capsys)


def test_a_pca_error_in_single_precision_is_refused_because_the_notebook_asserts_it_to_1e_10():
    def float32_error(X, K, center=True):
        components, error = solution.pca(X, K, center)
        return components.astype(np.float32), np.float32(error)

    assert_catches(checks.pca, float32_error, "the error is in single precision", first_line=True)
    assert_catches(checks.pca, pca_by_eigendecomposition_in_float32, "the reconstruction error is wrong")


def _parts(X, W1, W2):
    N = len(X)
    H = X @ W1
    E = H @ W2 - X
    return N, H, E


def _replace(index, change):
    def mutant(X, W1, W2):
        parts = list(solution.autoencoder_loss(X, W1, W2))
        parts[index] = change(X, W1, W2, parts[index])
        return tuple(parts)

    return mutant


def gradient_missing_transpose_of_W2(X, W1, W2):
    N, H, E = _parts(X, W1, W2)
    grad_W1 = (2 / N) * X.T @ E @ W2 if W2.shape[0] == W2.shape[1] else (2 / N) * X.T @ E @ W2.T
    return np.sum(E**2) / N, grad_W1, (2 / N) * H.T @ E


def grad_W2_from_X(X, W1, W2):
    N, H, E = _parts(X, W1, W2)
    grad_W2 = (2 / N) * X.T @ E if W1.shape[0] == W1.shape[1] else (2 / N) * H.T @ E
    return np.sum(E**2) / N, (2 / N) * X.T @ E @ W2.T, grad_W2


def centres_X_in_place(X, W1, W2):
    X -= X.mean(axis=0)
    return solution.autoencoder_loss(X, W1, W2)


LOSS_MUTANTS = {
    "loss not divided by N": (_replace(0, lambda X, W1, W2, loss: loss * len(X)), "not divided by N"),
    "np.mean over all entries": (_replace(0, lambda X, W1, W2, loss: loss / X.shape[1]), "divided by N \\* D"),
    "norm not squared": (_replace(0, lambda X, W1, W2, loss: np.sqrt(loss * len(X)) / len(X)), "not squared"),
    "no factor two": (_replace(1, lambda X, W1, W2, g: g / 2), "grad_W1 .*factor 2"),
    "wrong sign": (_replace(2, lambda X, W1, W2, g: -g), "grad_W2 .*the sign is wrong"),
    "gradient not divided by N": (_replace(2, lambda X, W1, W2, g: g * len(X)), "grad_W2 .*not divided by N"),
    "missing transpose of W2": (gradient_missing_transpose_of_W2, "W2 needs its transpose"),
    "grad_W2 from X instead of H": (grad_W2_from_X, "uses X instead of the codes H"),
    "encoder gradient transposed": (_replace(1, lambda X, W1, W2, g: g.T), r"grad_W1 .* should have shape \(5, 2\)"),
    "two results": (lambda X, W1, W2: solution.autoencoder_loss(X, W1, W2)[:2], "should return a tuple"),
    "loss as an array": (_replace(0, lambda X, W1, W2, loss: np.full(2, loss)), "the loss should be a number"),
    "complex loss": (_replace(0, lambda X, W1, W2, loss: loss + 1j), "complex values"),
    "X centred in place": (centres_X_in_place, "changed its argument X in place"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(LOSS_MUTANTS))
def test_loss_check_catches(mutant, fragment):
    assert_catches(checks.autoencoder_loss, mutant, fragment, first_line=True)


def _training(**changes):
    """The solution's training with some arguments overridden, whatever the check passes."""
    def mutant(X, K, step_size=None, max_iter=50_000, tol=1e-10, random_state=0):
        arguments = {"step_size": step_size, "max_iter": max_iter, "tol": tol, "random_state": random_state}
        return solution.train_autoencoder(X, K, **{**arguments, **changes})

    return mutant


def diverging_step(X, K, step_size=None, max_iter=50_000, tol=1e-10, random_state=0):
    return solution.train_autoencoder(X, K, step_size=3 * X.shape[0] / np.linalg.norm(X, ord=2) ** 2, max_iter=200,
                                      random_state=random_state)


def returns_initial_weights(X, K, step_size=None, max_iter=50_000, tol=1e-10, random_state=0):
    W1, W2, losses = solution.train_autoencoder(X, K, step_size, max_iter, tol, random_state)
    rng = np.random.default_rng(random_state)
    return rng.normal(scale=0.01, size=W1.shape), rng.normal(scale=0.01, size=W2.shape), losses


def absolute_tolerance(X, K, step_size=None, max_iter=50_000, tol=1e-10, random_state=0):
    W1, W2, losses = solution.train_autoencoder(X, K, step_size, max_iter, tol * 1e-3, random_state)
    decreases = -np.diff(losses)
    stop = next((i + 2 for i, d in enumerate(decreases) if d < tol), len(losses))
    return W1, W2, losses[:stop]


def one_step_too_many(X, K, step_size=None, max_iter=50_000, tol=1e-10, random_state=0):
    W1, W2, losses = solution.train_autoencoder(X, K, step_size, max_iter, tol, random_state)
    return W1, W2, np.append(losses, losses[-1]) if len(losses) == max_iter + 1 else losses


def stops_after_one_step(X, K, step_size=None, max_iter=50_000, tol=1e-10, random_state=0):
    return solution.train_autoencoder(X, K, step_size, 1, tol, random_state)


def unseeded(X, K, step_size=None, max_iter=50_000, tol=1e-10, random_state=0):
    return solution.train_autoencoder(X, K, step_size, max_iter, tol, np.random.default_rng())


def step_from_the_original_N(X, K, step_size=None, max_iter=50_000, tol=1e-10, random_state=0):
    """The stub's trap: N taken before the reduction to D rows, s_1 of the reduced X."""
    N, D = X.shape
    reduced = np.linalg.qr(X, mode="r") * np.sqrt(D / N) if N > D else X
    if step_size is None:
        step_size = N / (4 * np.linalg.norm(reduced, ord=2) ** 2)
    return training_from_the_text(reduced, K, step_size, max_iter, tol, random_state)


TRAINING_MUTANTS = {
    "default step from the original N and the reduced X's s_1": (step_from_the_original_N, "N / D times too large"),
    "zero initial weights": (lambda X, K, step_size=None, max_iter=50_000, tol=1e-10, random_state=0:
                             training_from_the_text(X, K, step_size, max_iter, tol, random_state, scale=0.0),
                             "both gradients are zero"),
    "diverging step": (diverging_step, "the loss increased"),
    "too few steps": (_training(max_iter=20), "the final loss|principal subspace"),
    "stops too early on the subspace": (_training(tol=1e-6), "principal subspace"),
    "returns the initial weights": (returns_initial_weights, "the last recorded loss"),
    "W1 and W2 swapped": (lambda X, K, **kwargs: solution.train_autoencoder(X, K)[1::-1] + (None,),
                          "W1 should have shape"),
    "tol ignored": (_training(tol=1e-10), r"with tol=1e-05, step \d+ decreased the loss by only"),
    "tol as an absolute decrease": (absolute_tolerance, "with tol=1e-05"),
    "max_iter ignored": (_training(max_iter=50_000), "with max_iter=5 it recorded"),
    "one step too many": (one_step_too_many, "with max_iter=5 it recorded 7 losses"),
    "stops after one step": (stops_after_one_step, "stopped after a single step"),
    "step_size ignored": (_training(step_size=None), "should raise the loss, but it did not"),
    "random_state ignored": (_training(random_state=0), "random_state=0 and random_state=1 gave the same"),
    "unseeded": (unseeded, "two calls with the same random_state gave different"),
    "large initial weights": (lambda X, K, step_size=None, max_iter=50_000, tol=1e-10, random_state=0:
                              training_from_the_text(X, K, step_size, max_iter, tol, random_state, scale=0.5),
                              "the weights are not balanced"),
    "stops once the loss is small": (lambda X, K, step_size=None, max_iter=50_000, tol=1e-10, random_state=0:
                                     training_from_the_text(X, K, step_size, max_iter, tol, random_state,
                                                            small_enough=1e-8),
                                     "on data of rank K = 2 the reconstruction should become exact"),
    "no tol parameter": (lambda X, K, step_size=None, max_iter=50_000, random_state=0: solution.train_autoencoder(
        X, K, step_size, max_iter, random_state=random_state), r"as train_autoencoder\(X, K, tol=\.\.\., random_st"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(TRAINING_MUTANTS))
def test_training_check_catches(mutant, fragment):
    assert_catches(checks.train_autoencoder, mutant, fragment, first_line=True)


def uncentred_always(X, K, center=True):
    return solution.pca(X, K, center=False)


def centred_always(X, K, center=True):
    return solution.pca(X, K, center=True)


def components_as_columns(X, K, center=True):
    components, error = solution.pca(X, K, center)
    return components.T, error


def smallest_directions(X, K, center=True):
    X = X - X.mean(axis=0) if center else X
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    return Vt[::-1][:K], np.sum(s[K:] ** 2) / len(X)


def scaled_components(X, K, center=True):
    X = X - X.mean(axis=0) if center else X
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    return s[:K, None] * Vt[:K], np.sum(s[K:] ** 2) / len(X)


def rows_of_V(X, K, center=True):
    X = X - X.mean(axis=0) if center else X
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    return Vt.T[:K], np.sum(s[K:] ** 2) / len(X)


def _error(change):
    def mutant(X, K, center=True):
        components, _ = solution.pca(X, K, center)
        s = np.linalg.svd(X - X.mean(axis=0) if center else X, compute_uv=False)
        return components, change(s, K, len(X))

    return mutant


PCA_MUTANTS = {
    "never centred": (uncentred_always, "centre the data"),
    "always centred": (centred_always, "with center=False, take the SVD of X itself"),
    "components as columns": (components_as_columns, r"should have shape \(2, 5\)"),
    "smallest directions": (smallest_directions, "smallest singular values"),
    "scaled by the singular values": (scaled_components, "scaled by the singular values"),
    "rows of V": (rows_of_V, "rows of V, not of Vt"),
    "error not divided by N": (_error(lambda s, K, N: np.sum(s[K:] ** 2)), "not divided by N"),
    "error of the kept directions": (_error(lambda s, K, N: np.sum(s[:K] ** 2) / N), "sum of the kept"),
    "singular values not squared": (_error(lambda s, K, N: np.sum(s[K:]) / N), "not squared"),
    "error a bit off": (_error(lambda s, K, N: np.sum(s[K:] ** 2) / N * (1 + 1e-8)), "reconstruction error is wrong"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(PCA_MUTANTS))
def test_pca_check_catches(mutant, fragment):
    assert_catches(checks.pca, mutant, fragment, first_line=True)


X = np.arange(12.0).reshape(4, 3)


@pytest.mark.parametrize("call, message", [
    (lambda: solution.train_autoencoder(X, 0), "K must be at least 1 and at most 3"),
    (lambda: solution.train_autoencoder(X, 4), "K must be at least 1 and at most 3"),
    (lambda: solution.train_autoencoder(X, 2, step_size=0), "step_size must be a finite number greater than 0"),
    (lambda: solution.train_autoencoder(X, 2, step_size=-1.0), "step_size must be"),
    (lambda: solution.train_autoencoder(X, 2, tol=0), "tol must be"),
    (lambda: solution.train_autoencoder(np.array([[np.nan, 1.0]]), 1), "X must not contain NaN"),
    (lambda: solution.pca(X, 5), "K must be at least 1 and at most 3"),
    (lambda: solution.pca(X[0], 1), r"X must be a 2-D array of shape \(N, D\)"),
    (lambda: solution.autoencoder_loss(X, np.ones((2, 2)), np.ones((2, 3))), r"W1 must have shape \(D, K\) = \(3, K\)"),
    (lambda: solution.autoencoder_loss(X, np.ones((3, 2)), np.ones((3, 3))), r"W2 must have shape \(K, D\) = \(2, 3\)"),
    (lambda: solution.autoencoder_loss(X, np.ones((3, 4)), np.ones((4, 3))), "1 <= K <= 3"),
])
def test_bad_input_is_rejected_with_the_parameter_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
