"""The topic 02 checks accept right implementations and catch the typical wrong ones; bad input is rejected."""

import numpy as np
import pytest

from latent_course import checks
from latent_course.course import load_solution

solution = load_solution("02_linear_autoencoder")


def test_the_solution_passes(capsys):
    checks.autoencoder_loss(solution.autoencoder_loss)
    checks.train_autoencoder(solution.train_autoencoder)
    checks.pca(solution.pca)
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == [
        "autoencoder_loss", "train_autoencoder", "pca"]


def test_an_eigendecomposition_pca_passes_too():
    def pca(X, K, center=True):
        X = X - X.mean(axis=0) if center else X
        values, vectors = np.linalg.eigh(X.T @ X)
        return vectors[:, ::-1][:, :K].T, values[: len(values) - K].sum() / len(X)

    checks.pca(pca)


def _parts(X, W1, W2):
    N = len(X)
    H = X @ W1
    E = H @ W2 - X
    return N, H, E


def gradient_missing_transpose_of_W2(X, W1, W2):
    N, H, E = _parts(X, W1, W2)
    grad_W1 = (2 / N) * X.T @ E @ W2 if W2.shape[0] == W2.shape[1] else (2 / N) * X.T @ E @ W2.T
    return np.sum(E**2) / N, grad_W1, (2 / N) * H.T @ E


def loss_not_divided_by_N(X, W1, W2):
    N, H, E = _parts(X, W1, W2)
    return np.sum(E**2), (2 / N) * X.T @ E @ W2.T, (2 / N) * H.T @ E


def gradient_without_factor_two(X, W1, W2):
    N, H, E = _parts(X, W1, W2)
    return np.sum(E**2) / N, X.T @ E @ W2.T / N, H.T @ E / N


def gradient_with_the_wrong_sign(X, W1, W2):
    loss, grad_W1, grad_W2 = solution.autoencoder_loss(X, W1, W2)
    return loss, -grad_W1, -grad_W2


def encoder_gradient_transposed(X, W1, W2):
    loss, grad_W1, grad_W2 = solution.autoencoder_loss(X, W1, W2)
    return loss, grad_W1.T, grad_W2


@pytest.mark.parametrize("mutant, message", [
    (gradient_missing_transpose_of_W2, "grad_W1"),
    (loss_not_divided_by_N, "the loss is wrong"),
    (gradient_without_factor_two, "grad_W1"),
    (gradient_with_the_wrong_sign, "grad_W1"),
    (encoder_gradient_transposed, r"grad_W1 .* should have shape \(5, 2\)"),
    (lambda X, W1, W2: solution.autoencoder_loss(X, W1, W2)[:2], "should return a tuple"),
    (lambda X, W1, W2: (np.ones(2), *solution.autoencoder_loss(X, W1, W2)[1:]), "the loss should be a number"),
])
def test_loss_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.autoencoder_loss(mutant)


def diverging_step(X, K, random_state=0):
    N = X.shape[0]
    return solution.train_autoencoder(X, K, step_size=3 * N / np.linalg.norm(X, ord=2) ** 2, max_iter=200,
                                      random_state=random_state)


def too_few_steps(X, K, random_state=0):
    return solution.train_autoencoder(X, K, max_iter=20, random_state=random_state)


def returns_initial_weights(X, K, random_state=0):
    W1, W2, losses = solution.train_autoencoder(X, K, random_state=random_state)
    rng = np.random.default_rng(random_state)
    return rng.normal(scale=0.01, size=W1.shape), rng.normal(scale=0.01, size=W2.shape), losses


@pytest.mark.parametrize("mutant, message", [
    (diverging_step, "the loss increased"),
    (too_few_steps, "the final loss"),
    (returns_initial_weights, "the last recorded loss"),
    (lambda X, K, random_state=0: solution.train_autoencoder(X, K)[::-1], "W1 should have shape"),
])
def test_training_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.train_autoencoder(mutant)


def uncentred_always(X, K, center=True):
    return solution.pca(X, K, center=False)


def components_as_columns(X, K, center=True):
    components, error = solution.pca(X, K, center)
    return components.T, error


def smallest_directions(X, K, center=True):
    X = X - X.mean(axis=0) if center else X
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    return Vt[::-1][:K], np.sum(s[K:] ** 2) / len(X)


def error_not_divided_by_N(X, K, center=True):
    components, error = solution.pca(X, K, center)
    return components, error * len(X)


@pytest.mark.parametrize("mutant, message", [
    (uncentred_always, "centre the data"),
    (components_as_columns, r"should have shape \(2, 5\)"),
    (smallest_directions, "the components"),
    (error_not_divided_by_N, "the reconstruction error is wrong"),
])
def test_pca_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.pca(mutant)


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
