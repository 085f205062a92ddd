"""The topic 01 checks accept right implementations and catch the typical wrong ones; bad input is rejected."""

import numpy as np
import pytest
import scipy.sparse as sp
from checking import assert_catches, assert_passes, mutant_params

from latent_course import checks
from latent_course.recommender import loss
from latent_course.tools.solutions import load_solution

solution = load_solution("01_matrix_factorization")
TASKS = ["shift_user_mean", "initialize_Q_P", "update_factors", "latent_factor_alternating_optimization",
         "latent_factor_sgd"]


def test_the_checks_are_registered_in_task_order():
    assert sorted(checks.topic_checks("01_matrix_factorization")) == sorted(TASKS)


@pytest.mark.parametrize("name", TASKS)
def test_the_solution_passes(name, capsys):
    assert_passes(getattr(checks, name), getattr(solution, name), capsys)


# A correct implementation written from the task texts alone, in another style than the solution's: loops where the
# text allows them, float32 values, lists for the recorded losses, other but valid orders of the steps.

def student_shift_user_mean(matrix):
    matrix = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    means = np.zeros(matrix.shape[0], dtype=np.float32)
    for user in range(matrix.shape[0]):
        stored = slice(matrix.indptr[user], matrix.indptr[user + 1])
        if matrix.indptr[user + 1] > matrix.indptr[user]:
            means[user] = matrix.data[stored].mean()
            matrix.data[stored] -= means[user]
    return matrix, means


def student_initialize_Q_P(matrix, k, init="random", random_state=0):
    rng = np.random.default_rng(random_state)
    if init == "random":
        Q = rng.random((matrix.shape[0], k))
        return Q, rng.random((k, matrix.shape[1]))
    from scipy.sparse.linalg import svds
    U, s, Vt = svds(matrix.astype(float), k=k, v0=rng.uniform(-1, 1, size=min(matrix.shape)))
    root = np.diag(np.sqrt(s))
    return U @ root, root @ Vt


def student_update_factors(R, F, reg_lambda):
    R = sp.csr_matrix(R)
    X = np.zeros((R.shape[0], F.shape[1]), dtype=np.float32)
    penalties = [reg_lambda] * R.shape[0] if np.ndim(reg_lambda) == 0 else list(reg_lambda)
    for i in range(R.shape[0]):
        A = F[R.indices[R.indptr[i]:R.indptr[i + 1]]]
        r = R.data[R.indptr[i]:R.indptr[i + 1]]
        X[i] = np.linalg.solve(A.T @ A + penalties[i] * np.eye(F.shape[1]), A.T @ r)
    return X


def student_als(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps=100, init="random", log_every=10,
                patience=5, eval_every=1, random_state=0):
    rows, cols = non_zero_idx[:, 0], non_zero_idx[:, 1]
    values = np.asarray(M[rows, cols]).ravel()
    Q, P = student_initialize_Q_P(M, k, init, random_state)
    val_losses, train_losses, best, since_best, converged_after = [], [], None, 0, -1
    for step in range(max_steps):
        if step % eval_every == 0:
            val_losses.append(loss(val_values, val_idx, Q, P, 0))
            train_losses.append(loss(values, (rows, cols), Q, P, reg_lambda))
            if best is None or val_losses[-1] < best[0]:
                best, since_best = (val_losses[-1], Q.copy(), P.copy()), 0
            else:
                since_best += 1
            if log_every > 0 and step % log_every == 0:
                print(step, train_losses[-1], val_losses[-1])
            if since_best >= patience:
                converged_after = step - patience * eval_every
                break
        Q = student_update_factors(M, P.T, reg_lambda)
        P = student_update_factors(M.T, Q, reg_lambda).T
    if log_every > 0:
        print("done after", step)
    return best[1], best[2], val_losses, train_losses, converged_after


def student_sgd(M, k, val_idx, val_values, reg_lambda, learning_rate=0.01, batch_size=256, max_epochs=50, patience=3,
                init="svd", random_state=0):
    M = sp.coo_matrix(M)
    users, items, values = M.row, M.col, M.data
    rng = np.random.default_rng(random_state)
    Q, P = student_initialize_Q_P(M, k, init, random_state)
    n_user, n_item = np.bincount(users, minlength=M.shape[0]), np.bincount(items, minlength=M.shape[1])
    history, train, best, since_best, converged_after = [], [], None, 0, -1
    for epoch in range(max_epochs):
        history.append(loss(val_values, val_idx, Q, P, 0))
        train.append(loss(values, (users, items), Q, P, reg_lambda))
        if best is None or history[-1] < best[0]:
            best, since_best = (history[-1], Q.copy(), P.copy()), 0
        else:
            since_best += 1
        if since_best == patience:
            converged_after = epoch - patience
            break
        order = rng.permutation(values.size)
        for start in range(0, values.size, batch_size):
            batch = order[start:start + batch_size]
            i, x = users[batch], items[batch]
            q_before, p_before = Q[i], P[:, x].T
            e = values[batch] - (q_before * p_before).sum(axis=1)
            np.add.at(Q, i, learning_rate * (e[:, None] * p_before - reg_lambda / n_user[i, None] * q_before))
            np.add.at(P.T, x, learning_rate * (e[:, None] * q_before - reg_lambda / n_item[x, None] * p_before))
    return best[1], best[2], history, train, converged_after


STUDENT = {"shift_user_mean": student_shift_user_mean, "initialize_Q_P": student_initialize_Q_P,
           "update_factors": student_update_factors, "latent_factor_alternating_optimization": student_als,
           "latent_factor_sgd": student_sgd}


@pytest.mark.parametrize("name", TASKS)
def test_an_implementation_written_from_the_text_passes_too(name, capsys):
    assert_passes(getattr(checks, name), STUDENT[name], capsys)


# --- shift_user_mean ---------------------------------------------------------------------------------------------

def _shift(matrix, means, counts=None):
    matrix = sp.csr_matrix(matrix, dtype=float, copy=True)
    matrix.data -= np.repeat(np.ravel(means), np.diff(matrix.indptr))
    return matrix, means


def _reduceat_shift(matrix):
    matrix = sp.csr_matrix(matrix, dtype=float, copy=True)
    counts = np.diff(matrix.indptr)
    sums = np.add.reduceat(matrix.data, matrix.indptr[:-1])
    return _shift(matrix, np.where(counts > 0, sums, 0) / np.maximum(counts, 1))


def _in_place(matrix):
    means = solution.shift_user_mean(matrix)[1]
    matrix.data -= np.repeat(means, np.diff(matrix.indptr))
    return matrix, means


def _zeros_eliminated(matrix):
    shifted, means = solution.shift_user_mean(matrix)
    shifted.eliminate_zeros()
    return shifted, means


def _shifted_by_column(matrix):
    shifted, means = solution.shift_user_mean(matrix)
    shifted.data = sp.csr_matrix(matrix).data - means[np.minimum(shifted.indices, means.size - 1)]
    return shifted, means


SHIFT_MUTANTS = {
    "matrix.mean(axis=1): means over all columns, as a column": (
        lambda matrix: _shift(matrix, matrix.mean(axis=1)), r"user means are wrong.*also: return them with shape"),
    "means over all columns": (lambda matrix: _shift(matrix, np.asarray(matrix.sum(axis=1)).ravel() / matrix.shape[1]),
                               "user means are wrong: average each user's stored ratings only"),
    "right means as a column": (lambda matrix: (solution.shift_user_mean(matrix)[0],
                                                solution.shift_user_mean(matrix)[1][:, None]),
                                r"user_means should have shape \(6,\)"),
    "means as a list": (lambda matrix: (solution.shift_user_mean(matrix)[0], list(solution.shift_user_mean(matrix)[1])),
                        "user_means should be a NumPy array"),
    "crash when the last user has no ratings (np.add.reduceat)": (_reduceat_shift, "have no ratings"),
    "changes its input in place": (_in_place, "changed its argument matrix in place"),
    "explicit zeros eliminated": (_zeros_eliminated, "the known entries changed: entry"),
    "shifted by the column's index": (_shifted_by_column, "shifted values .* are wrong"),
    "counts matrix != 0 (a stored zero rating is skipped)": (
        lambda matrix: _shift(matrix, np.asarray(matrix.sum(axis=1)).ravel()
                              / np.maximum(np.asarray((matrix != 0).sum(axis=1)).ravel(), 1)),
        "skip the stored 0 at"),
    "dense result": (lambda matrix: (solution.shift_user_mean(matrix)[0].toarray(),
                                     solution.shift_user_mean(matrix)[1]), "should be a sparse matrix"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(SHIFT_MUTANTS))
def test_shift_check_catches(mutant, fragment):
    assert_catches(checks.shift_user_mean, mutant, fragment, first_line=True)


# --- initialize_Q_P ----------------------------------------------------------------------------------------------

def _svd_mutant(scale_Q):
    def initialize_Q_P(matrix, k, init="random", random_state=0):
        Q, P = solution.initialize_Q_P(matrix, k, init, random_state)
        if init == "svd":
            s = np.linalg.norm(Q, axis=0) ** 2  # the singular values
            Q, P = (Q * np.sqrt(s), P / np.sqrt(s)[:, None]) if scale_Q else (Q / np.sqrt(s), P)
        return Q, P
    return initialize_Q_P


def _random_mutant(draw):
    def initialize_Q_P(matrix, k, init="random", random_state=0):
        if init == "svd":
            return solution.initialize_Q_P(matrix, k, init, random_state)
        return draw(matrix.shape, k, random_state)
    return initialize_Q_P


def student_initialize_Q_P_without_v0(matrix, k, init="random", random_state=0):
    """The task's initialisation, but svds starts from a random vector of its own (not from the generator)."""
    if init == "random":
        return student_initialize_Q_P(matrix, k, init, random_state)
    from scipy.sparse.linalg import svds
    U, s, Vt = svds(matrix.astype(float), k=k)
    root = np.diag(np.sqrt(s))
    return U @ root, root @ Vt


INIT_MUTANTS = {
    "unseeded": (_random_mutant(lambda shape, k, seed: solution.initialize_Q_P(sp.eye(*shape), k, "random", None)),
                 "same random_state gave different"),
    "random_state ignored": (_random_mutant(lambda shape, k, seed: solution.initialize_Q_P(sp.eye(*shape), k)),
                             "gave the same factors"),
    "normal entries": (_random_mutant(lambda shape, k, seed: (np.random.default_rng(seed).normal(size=(shape[0], k)),
                                                              np.random.default_rng(seed).normal(size=(k, shape[1])))),
                       r"uniform in \[0, 1\)"),
    "Q = U S, P = V^T (unbalanced)": (_svd_mutant(scale_Q=True), "factors are unbalanced"),
    "singular values left out": (_svd_mutant(scale_Q=False), "discarded squared singular values"),
    "svds without v0": (student_initialize_Q_P_without_v0, "Pass v0 drawn from the generator"),
    "Q and P swapped": (lambda matrix, k, init="random", random_state=0:
                        solution.initialize_Q_P(matrix, k, init, random_state)[::-1], "Q should have shape"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(INIT_MUTANTS))
def test_initialisation_check_catches(mutant, fragment):
    assert_catches(checks.initialize_Q_P, mutant, fragment, first_line=True)


# --- update_factors ----------------------------------------------------------------------------------------------

def _without_regulariser(R, F, reg_lambda):
    R = sp.csr_matrix(R)
    rows = [F[R.indices[R.indptr[i]:R.indptr[i + 1]]] for i in range(R.shape[0])]
    return np.stack([np.linalg.solve(A.T @ A, A.T @ R.data[R.indptr[i]:R.indptr[i + 1]]) for i, A in enumerate(rows)])


def _explicit_zeros_ignored(R, F, reg_lambda):
    R = sp.csr_matrix(R, copy=True)
    R.eliminate_zeros()
    return solution.update_factors(R, F, reg_lambda)


def _unknown_entries_as_zeros(R, F, reg_lambda):
    dense = sp.csr_matrix(R).toarray()
    full = sp.csr_matrix((dense.ravel(), np.indices(dense.shape).reshape(2, -1)), shape=dense.shape)
    return solution.update_factors(full, F, reg_lambda)


def _row_by_row(R, F, penalty, dtype=float):
    """Each row's ridge system solved on its own, in `dtype`, with `penalty(i)` as row i's penalty."""
    R, F = sp.csr_matrix(R, dtype=dtype), np.asarray(F, dtype=dtype)
    X = np.zeros((R.shape[0], F.shape[1]), dtype=dtype)
    for i in range(R.shape[0]):
        A, r = F[R.indices[R.indptr[i]:R.indptr[i + 1]]], R.data[R.indptr[i]:R.indptr[i + 1]]
        X[i] = np.linalg.solve(A.T @ A + penalty(i) * np.eye(F.shape[1], dtype=dtype), A.T @ r)
    return X


UPDATE_MUTANTS = {
    "penalty times the row's count": (
        lambda R, F, reg_lambda: _row_by_row(R, F, lambda i: reg_lambda * max(R.indptr[i + 1] - R.indptr[i], 1)),
        "not reg_lambda times the row's number of ratings"),
    "computed in float32": (
        lambda R, F, reg_lambda: _row_by_row(R, F, lambda i: np.broadcast_to(reg_lambda, R.shape[:1])[i],
                                             dtype=np.float32), "compute in float64"),
    "reg_lambda only as a number": (lambda R, F, reg_lambda: _row_by_row(R, F, lambda i: reg_lambda),
                                    "reg_lambda is an array here, one penalty per row"),
    "no regulariser: singular systems": (_without_regulariser, "the system is singular: did you add reg_lambda"),
    "tiny regulariser": (lambda R, F, reg_lambda: solution.update_factors(R, F, 1e-12), "compared with scikit-learn"),
    "explicit zeros ignored": (_explicit_zeros_ignored, "explicit zeros included"),
    "unknown entries read as zeros": (_unknown_entries_as_zeros, "Ridge row by row"),
    "transposed result": (lambda R, F, reg_lambda: solution.update_factors(R, F, reg_lambda).T,
                          r"should have shape \(25, 4\)"),
    "one penalty for every row": (lambda R, F, reg_lambda: solution.update_factors(R, F, float(np.mean(reg_lambda))),
                                  r"one penalty per row here: row i adds reg_lambda\[i\]"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(UPDATE_MUTANTS))
def test_update_check_catches(mutant, fragment):
    assert_catches(checks.update_factors, mutant, fragment, first_line=True)


# --- latent_factor_alternating_optimization ----------------------------------------------------------------------

def _als(aliasing=False, converged_shift=0, validation_penalty=False, validation_mean=False, never_stop=False,
         simultaneous=False, evaluate_after_update=False, train_without_penalty=False, less_or_equal=False,
         always_random=False, fixed_seed=False, always_log=False, p_first=False):
    """ALS with one of the usual mistakes switched on."""
    def latent_factor_alternating_optimization(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps=100,
                                               init="random", log_every=10, patience=5, eval_every=1, random_state=0):
        M = sp.csr_matrix(M)
        M_columns = M.T.tocsr()
        Q, P = solution.initialize_Q_P(M, k, "random" if always_random else init, 0 if fixed_seed else random_state)
        best_Q, best_P, best, waited, converged_after = Q.copy(), P.copy(), np.inf, 0, -1
        validation, train = [], []
        train_idx = tuple(non_zero_idx.T)
        train_values = np.asarray(M[train_idx]).ravel()
        for it in range(max_steps):
            if evaluate_after_update:
                Q[:] = solution.update_factors(M, P.T, reg_lambda)
                P[:] = solution.update_factors(M_columns, Q, reg_lambda).T
            if it % eval_every == 0:
                validation.append(loss(val_values, val_idx, Q, P, reg_lambda if validation_penalty else 0.0)
                                  / (len(val_values) if validation_mean else 1))
                train.append(loss(train_values, train_idx, Q, P, 0.0 if train_without_penalty else reg_lambda))
                if validation[-1] <= best if less_or_equal else validation[-1] < best:
                    best_Q, best_P = (Q, P) if aliasing else (Q.copy(), P.copy())
                    best, waited = validation[-1], 0
                else:
                    waited += 1
                if always_log or log_every and it % log_every == 0:
                    print(it, train[-1], validation[-1])
                if waited == patience and not never_stop:
                    converged_after = it - patience * eval_every + converged_shift
                    break
            if p_first:
                P[:] = solution.update_factors(M_columns, Q, reg_lambda).T
                Q[:] = solution.update_factors(M, P.T, reg_lambda)
            elif not evaluate_after_update:
                old_Q = Q.copy()
                Q[:] = solution.update_factors(M, P.T, reg_lambda)
                P[:] = solution.update_factors(M_columns, old_Q if simultaneous else Q, reg_lambda).T
        if log_every:
            print("stopped at", it)
        return best_Q, best_P, validation, train, converged_after
    return latent_factor_alternating_optimization


ALS_MUTANTS = {
    "best factors by reference": (_als(aliasing=True), "return copies of the best factors"),
    "converged_after without the patience": (_als(converged_shift=3), "converged_after is"),
    "iterations counted from 1": (_als(converged_shift=1), "converged_after is"),
    "validation loss with the penalty": (_als(validation_penalty=True), "include the penalty"),
    "validation loss as a mean": (_als(validation_mean=True), "your validation losses are means"),
    "no early stopping": (_als(never_stop=True), "training went on for"),
    "simultaneous updates of Q and P": (_als(simultaneous=True), "the training loss increased"),
    "evaluating after the update": (_als(evaluate_after_update=True), "Evaluate .*before updating"),
    "training loss without the penalty": (_als(train_without_penalty=True), "without the penalty"),
    "<= instead of < for an improvement": (_als(less_or_equal=True), "compare with <, not <="),
    "init ignored": (_als(always_random=True), "init='svd'"),
    "random_state ignored": (_als(fixed_seed=True), "random_state=0 and random_state=1"),
    "prints although log_every=0": (_als(always_log=True), "nothing should be printed"),
    "P updated before Q": (_als(p_first=True), "updating P first"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(ALS_MUTANTS))
def test_training_check_catches(mutant, fragment):
    assert_catches(checks.latent_factor_alternating_optimization, mutant, fragment)


def test_the_copy_message_is_short_and_reads_the_right_way_round():
    message = assert_catches(checks.latent_factor_alternating_optimization, _als(aliasing=True), "copies")
    first = message.splitlines()[0]
    assert "your smallest recorded validation loss is" in first and "but the factors you returned give" in first
    assert "..." in message  # the 150 validation indices are summarised, not printed


# --- latent_factor_sgd -------------------------------------------------------------------------------------------

def _sgd(unscaled=False, no_penalty=False, without_add_at=False, fixed_learning_rate=False, fixed_batch=False,
         aliasing=False, never_stop=False, unseeded=False, fixed_seed=False, evaluate_after_epoch=False,
         always_svd=False, wrong_sign=False, validation_penalty=False, converged_is_last=False, unbalanced=False,
         fixed_patience=False, sequential=False, same_order=False):
    """SGD with one of the usual mistakes switched on."""
    def latent_factor_sgd(M, k, val_idx, val_values, reg_lambda, learning_rate=0.01, batch_size=256, max_epochs=50,
                          patience=3, init="svd", random_state=0):
        coo = sp.coo_matrix(M)
        users, items, values = coo.row, coo.col, coo.data
        rng = np.random.default_rng(None if unseeded else 0 if fixed_seed else random_state)
        learning_rate = 0.05 if fixed_learning_rate else learning_rate
        batch_size = 256 if fixed_batch else batch_size
        patience = 3 if fixed_patience else patience
        initialize = _svd_mutant(scale_Q=True) if unbalanced else solution.initialize_Q_P
        Q, P = initialize(M, k, "svd" if always_svd else init, random_state)
        penalty = 0.0 if no_penalty else reg_lambda
        user_decay = penalty / (1 if unscaled else np.maximum(np.bincount(users, minlength=M.shape[0]), 1))
        item_decay = penalty / (1 if unscaled else np.maximum(np.bincount(items, minlength=M.shape[1]), 1))
        user_decay, item_decay = np.broadcast_to(user_decay, M.shape[:1]), np.broadcast_to(item_decay, M.shape[1:])
        best_Q, best_P, best, waited, converged_after = Q.copy(), P.copy(), np.inf, 0, -1
        validation, train = [], []

        def epoch_of_updates():
            shuffler = np.random.default_rng(random_state) if same_order else rng
            order = shuffler.permutation(len(values))
            for batch in np.array_split(order, max(1, len(order) // batch_size)):
                i, x = users[batch], items[batch]
                q, p = Q[i], P[:, x].T
                errors = (values[batch] - np.sum(q * p, axis=1)) * (-1 if wrong_sign else 1)
                if without_add_at:
                    Q[i] += learning_rate * (errors[:, None] * p - user_decay[i, None] * q)
                    P.T[x] += learning_rate * (errors[:, None] * q - item_decay[x, None] * p)
                else:
                    np.add.at(Q, i, learning_rate * (errors[:, None] * p - user_decay[i, None] * q))
                    q = Q[i] if sequential else q
                    np.add.at(P.T, x, learning_rate * (errors[:, None] * q - item_decay[x, None] * p))

        for epoch in range(max_epochs):
            if evaluate_after_epoch:
                epoch_of_updates()
            validation.append(loss(val_values, val_idx, Q, P, reg_lambda if validation_penalty else 0.0))
            train.append(loss(values, (users, items), Q, P, reg_lambda))
            if validation[-1] < best:
                best_Q, best_P = (Q, P) if aliasing else (Q.copy(), P.copy())
                best, waited = validation[-1], 0
            else:
                waited += 1
            if waited == patience and not never_stop:
                converged_after = epoch if converged_is_last else epoch - patience
                break
            if not evaluate_after_epoch:
                epoch_of_updates()
        return best_Q, best_P, validation, train, converged_after
    return latent_factor_sgd


SGD_MUTANTS = {
    "penalty not scaled by the counts": (_sgd(unscaled=True), "the penalty acts once per rating"),
    "no penalty": (_sgd(no_penalty=True), "the penalty is missing"),
    "Q[i] += ... instead of np.add.at": (_sgd(without_add_at=True), "accumulate with np.add.at"),
    "learning_rate ignored": (_sgd(fixed_learning_rate=True), "should be one gradient step"),
    "batch_size ignored": (_sgd(fixed_batch=True), "should be one gradient step"),
    "error with the wrong sign": (_sgd(wrong_sign=True), "should be one gradient step"),
    "best factors by reference": (_sgd(aliasing=True), "return copies of the best factors"),
    "validation loss with the penalty": (_sgd(validation_penalty=True), "include the penalty"),
    "no early stopping": (_sgd(never_stop=True), "training went on for"),
    "patience ignored": (_sgd(fixed_patience=True), "although patience had not run out"),
    "converged_after is the last epoch": (_sgd(converged_is_last=True), "converged_after is"),
    "unseeded shuffling": (_sgd(unseeded=True), "same random_state gave different"),
    "random_state ignored": (_sgd(fixed_seed=True), "random_state=0 and random_state=1"),
    "evaluating after the epoch": (_sgd(evaluate_after_epoch=True), "Evaluate .*before updating"),
    "init ignored": (_sgd(always_svd=True), "init='random'"),
    "unbalanced start (Q = U S, P = V^T)": (_sgd(unbalanced=True), "training diverged|fell only"),
    "P moved by the already-moved Q": (_sgd(sequential=True), "p_x moved by the already-moved q_i"),
    "a fresh generator every epoch (the same order)": (_sgd(same_order=True),
                                                       "shuffled the ratings into the same order"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(SGD_MUTANTS))
def test_sgd_check_catches(mutant, fragment):
    assert_catches(checks.latent_factor_sgd, mutant, fragment)


def test_the_check_s_gradient_step_improves_the_validation_loss():
    """The one-epoch case relies on it: otherwise the function returns its initial factors, not those after it."""
    from latent_course.checks.recommender import _gradient_step, _overfitting_problem, _sse

    M, _, val_idx, val_values = _overfitting_problem()
    coo = M.tocoo()
    Q0, P0 = solution.initialize_Q_P(M, 2, "svd", 0)
    Q1, P1 = _gradient_step(Q0, P0, coo.row, coo.col, coo.data, 5.0, 0.01)
    assert _sse(Q1, P1, val_idx, val_values) < 0.95 * _sse(Q0, P0, val_idx, val_values)


# --- every check ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", TASKS)
def test_a_stub_is_not_implemented_yet(name):
    def stub(*args, **kwargs):
        raise NotImplementedError

    stub.__name__ = name
    with pytest.raises(checks.NotImplementedYet, match="not implemented yet"):
        getattr(checks, name)(stub)


# --- the solution's own input validation and edge cases ----------------------------------------------------------

def test_shift_user_mean_handles_users_without_ratings_first_and_last():
    matrix = sp.csr_matrix(np.array([[0, 0], [4.0, 2.0], [0, 0]]))
    shifted, means = solution.shift_user_mean(matrix)
    np.testing.assert_array_equal(means, [0.0, 3.0, 0.0])
    np.testing.assert_array_equal(shifted.toarray(), [[0, 0], [1.0, -1.0], [0, 0]])


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
