"""The topic 01 checks accept right implementations and catch the typical wrong ones; bad input is rejected."""

import numpy as np
import pytest
import scipy.sparse as sp

from latent_course import checks
from latent_course.course import load_solution
from latent_course.recommender import loss

solution = load_solution("01_matrix_factorization")


def test_the_solution_passes(capsys):
    names = ["shift_user_mean", "initialize_Q_P", "update_factors", "latent_factor_alternating_optimization"]
    for name in names:
        getattr(checks, name)(getattr(solution, name))
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == names


def test_a_row_by_row_update_passes_too():
    def update_factors(R, F, reg_lambda):
        R = sp.csr_matrix(R)
        X = np.zeros((R.shape[0], F.shape[1]))
        for i in range(R.shape[0]):
            stored = slice(R.indptr[i], R.indptr[i + 1])
            A = F[R.indices[stored]]
            X[i] = np.linalg.solve(A.T @ A + reg_lambda * np.eye(F.shape[1]), A.T @ R.data[stored])
        return X

    checks.update_factors(update_factors)


def means_over_all_columns(matrix):
    matrix = sp.csr_matrix(matrix, copy=True)
    means = np.asarray(matrix.sum(axis=1)).ravel() / matrix.shape[1]
    matrix.data -= np.repeat(means, np.diff(matrix.indptr))
    return matrix, means


def zeros_eliminated(matrix):
    shifted, means = solution.shift_user_mean(matrix)
    shifted.eliminate_zeros()
    return shifted, means


def means_as_column(matrix):
    shifted, means = solution.shift_user_mean(matrix)
    return shifted, means[:, None]


def dense_result(matrix):
    shifted, means = solution.shift_user_mean(matrix)
    return shifted.toarray(), means


@pytest.mark.parametrize("mutant, message", [
    (means_over_all_columns, "the user means"),
    (zeros_eliminated, "the known entries changed: entry"),
    (means_as_column, r"user_means should have shape \(4,\)"),
    (dense_result, "should be a sparse matrix"),
])
def test_shift_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.shift_user_mean(mutant)


def unseeded(matrix, k, init="random", random_state=0):
    return solution.initialize_Q_P(matrix, k, init, random_state=None)


def ignores_random_state(matrix, k, init="random", random_state=0):
    return solution.initialize_Q_P(matrix, k, init, random_state=0)


def normal_entries(matrix, k, init="random", random_state=0):
    rng = np.random.default_rng(random_state)
    if init == "svd":
        return solution.initialize_Q_P(matrix, k, init, random_state)
    return rng.normal(size=(matrix.shape[0], k)), rng.normal(size=(k, matrix.shape[1]))


def svd_without_singular_values(matrix, k, init="random", random_state=0):
    Q, P = solution.initialize_Q_P(matrix, k, init, random_state)
    if init == "svd":
        Q = Q / np.linalg.norm(Q, axis=0)
    return Q, P


@pytest.mark.parametrize("mutant, message", [
    (unseeded, "same random_state gave different"),
    (ignores_random_state, "gave the same factors"),
    (normal_entries, r"uniform in \[0, 1\)"),
    (svd_without_singular_values, "discarded squared singular values"),
    (lambda matrix, k, init="random", random_state=0: solution.initialize_Q_P(matrix, k, init, random_state)[::-1],
     "Q should have shape"),
])
def test_initialisation_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.initialize_Q_P(mutant)


def without_regulariser(R, F, reg_lambda):
    return solution.update_factors(R, F, 1e-12)


def explicit_zeros_ignored(R, F, reg_lambda):
    R = sp.csr_matrix(R, copy=True)
    R.eliminate_zeros()
    return solution.update_factors(R, F, reg_lambda)


def unknown_entries_as_zeros(R, F, reg_lambda):
    dense = sp.csr_matrix(np.asarray(sp.csr_matrix(R).toarray()) + 0.0)
    full = sp.csr_matrix((dense.toarray().ravel(), np.indices(dense.shape).reshape(2, -1)), shape=dense.shape)
    return solution.update_factors(full, F, reg_lambda)


@pytest.mark.parametrize("mutant, message", [
    (without_regulariser, "compared with scikit-learn's Ridge"),
    (explicit_zeros_ignored, "explicit zeros included"),
    (unknown_entries_as_zeros, "Ridge row by row"),
    (lambda R, F, reg_lambda: solution.update_factors(R, F, reg_lambda).T, r"should have shape \(25, 4\)"),
])
def test_update_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.update_factors(mutant)


def _als(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps, patience, eval_every, aliasing=False,
         shift_converged=0, regularised_validation=False, simultaneous=False):
    """ALS with the usual mistakes switched on by the keyword arguments."""
    M_columns = sp.csr_matrix(M).T.tocsr()
    Q, P = solution.initialize_Q_P(M, k, "random", 0)
    best_Q, best_P, best, waited, converged_after = Q.copy(), P.copy(), np.inf, 0, -1
    validation, train = [], []
    train_idx = tuple(non_zero_idx.T)
    train_values = np.asarray(sp.csr_matrix(M)[train_idx]).ravel()
    for it in range(max_steps):
        if it % eval_every == 0:
            validation.append(loss(val_values, val_idx, Q, P, reg_lambda if regularised_validation else 0.0))
            train.append(loss(train_values, train_idx, Q, P, reg_lambda))
            if validation[-1] < best:
                best_Q, best_P = (Q, P) if aliasing else (Q.copy(), P.copy())
                best, waited = validation[-1], 0
            else:
                waited += 1
            if waited == patience:
                converged_after = it - patience * eval_every + shift_converged
                break
        old_Q = Q.copy()
        Q[:] = solution.update_factors(M, P.T, reg_lambda)
        P[:] = solution.update_factors(M_columns, old_Q if simultaneous else Q, reg_lambda).T
    return best_Q, best_P, validation, train, converged_after


def aliasing_best(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps=100, init="random", log_every=1,
                  patience=5, eval_every=1):
    return _als(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps, patience, eval_every, aliasing=True)


def converged_after_without_patience(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps=100,
                                     init="random", log_every=1, patience=5, eval_every=1):
    return _als(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps, patience, eval_every,
                shift_converged=patience * eval_every)


def regularised_validation_loss(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps=100, init="random",
                                log_every=1, patience=5, eval_every=1):
    return _als(M, non_zero_idx, k, val_idx, val_values, 30.0, max_steps, patience, eval_every,
                regularised_validation=True)


def no_early_stopping(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps=100, init="random", log_every=1,
                      patience=5, eval_every=1):
    return _als(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps, max_steps + 1, eval_every)


def simultaneous_updates(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps=100, init="random",
                         log_every=1, patience=5, eval_every=1):
    return _als(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps, patience, eval_every,
                simultaneous=True)


@pytest.mark.parametrize("mutant, message", [
    (aliasing_best, "copies of the best factors"),
    (converged_after_without_patience, "converged_after is"),
    (regularised_validation_loss, "sum of squared errors on the validation entries"),
    (no_early_stopping, "training went on for"),
    (simultaneous_updates, "the training loss increased"),
])
def test_training_check_catches(mutant, message):
    with pytest.raises(checks.CheckFailure, match=message):
        checks.latent_factor_alternating_optimization(mutant)


def test_sgd_improves_on_its_start_and_keeps_the_best():
    from latent_course.checks.recommender import _overfitting_problem

    M, non_zero_idx, val_idx, val_values = _overfitting_problem()
    best_Q, best_P, validation, train, converged_after = solution.latent_factor_sgd(
        M, 2, val_idx, val_values, reg_lambda=1.0, max_epochs=60, patience=5)
    errors = val_values - np.einsum("nk,kn->n", best_Q[val_idx[0]], best_P[:, val_idx[1]])
    assert errors @ errors == pytest.approx(min(validation))
    assert min(validation) < 0.5 * validation[0]


@pytest.mark.parametrize("call, message", [
    (lambda: solution.update_factors(sp.eye(3, format="csr"), np.ones((4, 2)), 1.0), r"F must have shape \(m, k\)"),
    (lambda: solution.update_factors(sp.eye(3, format="csr"), np.ones((3, 2)), 0.0), "reg_lambda must be"),
    (lambda: solution.initialize_Q_P(sp.eye(3, format="csr"), 2, "pca"), "init must be 'random' or 'svd'"),
    (lambda: solution.initialize_Q_P(sp.eye(3, format="csr"), 3, "svd"), "k must be at least 1 and at most 2"),
    (lambda: solution.initialize_Q_P(sp.eye(3, format="csr"), 0), "k must be at least 1"),
    (lambda: solution.latent_factor_alternating_optimization(sp.eye(3, format="csr"), np.zeros((2, 3)), 1,
                                                             ([0], [0]), [1.0], 1.0), r"non_zero_idx must have shape"),
    (lambda: solution.latent_factor_alternating_optimization(sp.eye(3, format="csr"), np.zeros((2, 2), int), 1,
                                                             ([0], [0]), [1.0], 1.0, patience=0),
     "patience must be at least 1"),
    (lambda: solution.latent_factor_sgd(sp.eye(3, format="csr"), 1, ([0], [0]), [1.0], 1.0, learning_rate=0),
     "learning_rate must be"),
])
def test_bad_input_is_rejected_with_the_parameter_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_update_factors_keeps_memory_bounded_with_small_blocks():
    rng = np.random.default_rng(0)
    R = sp.random(300, 50, density=0.3, random_state=1, format="csr")
    F = rng.normal(size=(50, 5))
    np.testing.assert_allclose(solution.update_factors(R, F, 0.1, block_size=200), solution.update_factors(R, F, 0.1),
                               rtol=1e-10, atol=1e-12)
