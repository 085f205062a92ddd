"""Self-checks for topic 01: the mean shift, the initialisation, the ALS half-step, ALS and SGD training."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import scipy.sparse as sp

from ._answers import answer, if_stored
from ._framework import call, case_rng, check_array, check_close, check_seeded, check_tuple, fail, passed

TOPIC = "01_matrix_factorization"
__all__ = ["initialize_Q_P", "latent_factor_alternating_optimization", "latent_factor_sgd", "shift_user_mean",
           "update_factors"]

_TRAINING_RESULT = ["best_Q", "best_P", "validation_losses", "train_losses", "converged_after"]


def _known(matrix):
    """The stored entries of a sparse matrix as sorted (row, column, value) arrays."""
    coo = sp.coo_matrix(matrix)
    order = np.lexsort((coo.col, coo.row))
    return coo.row[order], coo.col[order], coo.data[order]


def _random_ratings(rng, N, D, density):
    mask = rng.random((N, D)) < density
    rows, cols = np.nonzero(mask)
    return sp.csr_matrix((rng.integers(1, 6, size=rows.size).astype(float), (rows, cols)), shape=(N, D))


@answer
def _sse(Q, P, idx, values):
    """The sum of squared errors of Q P at the entries idx = (rows, columns)."""
    errors = values - np.einsum("nk,kn->n", np.asarray(Q, float)[idx[0]], np.asarray(P, float)[:, idx[1]])
    return float(errors @ errors)


@answer
def _penalty(Q, P, reg_lambda):
    """The penalty reg_lambda (||Q||^2 + ||P||^2)."""
    return reg_lambda * float(np.sum(np.square(np.asarray(Q, float))) + np.sum(np.square(np.asarray(P, float))))


@answer
def _reference_shift(matrix):
    """Each user's mean over its stored ratings (0 without any), and the stored values shifted by their user's
    mean, in row-major order."""
    rows, _, values = _known(matrix)
    counts = np.bincount(rows, minlength=matrix.shape[0])
    means = np.bincount(rows, weights=values, minlength=matrix.shape[0]) / np.maximum(counts, 1)
    return means, values - means[rows]


@answer
def _nonzero_means(matrix):
    """Each user's mean over its non-zero values only: what counting ``matrix != 0`` gives."""
    dense = matrix.toarray()
    counts = np.count_nonzero(dense, axis=1)
    return dense.sum(axis=1) / np.maximum(counts, 1)


def _with_a_stored_zero():
    """Ratings on a 0 to 5 scale, with a stored 0 (a known rating of zero stars) in user 1's row."""
    rows, cols = np.array([0, 0, 1, 1, 1, 2]), np.array([0, 3, 0, 1, 2, 2])
    return sp.csr_matrix((np.array([4.0, 2.0, 0.0, 5.0, 4.0, 3.0]), (rows, cols)), shape=(3, 4))


_MEAN_HINT = "average each user's stored ratings only, not all D columns (matrix.mean(axis=1) divides by D); " \
             "a user without ratings gets 0"


def shift_user_mean(function) -> None:
    """Check ``function(matrix)`` returning (shifted, user_means) for a sparse rating matrix.

    The means must be over each user's stored ratings only (0 for a user without any, also the first and the last
    user), every stored value must be shifted by its user's mean, the stored entries must stay exactly the same set
    (a rating equal to its user's mean becomes a stored 0, still a known rating), and the input must not change.
    """
    __tracebackhide__ = True
    rows = np.array([1, 1, 1, 2, 4, 4])
    cols = np.array([0, 2, 4, 1, 0, 3])
    small = sp.csr_matrix((np.array([4.0, 3.0, 2.0, 5.0, 1.0, 5.0]), (rows, cols)), shape=(6, 5))
    cases = [small, _random_ratings(case_rng(1), 30, 20, 0.3), _with_a_stored_zero()]
    for matrix in cases:
        inputs = {"matrix": matrix}
        N = matrix.shape[0]
        result = call(function, on_error={IndexError: "users 0, 3 and 5 (the first and the last) have no ratings; "
                                                       "each gets mean 0 and keeps an empty row."}, **inputs)
        shifted, means = check_tuple(function, result, ["shifted", "user_means"], inputs)
        r, c, _ = _known(matrix)
        expected, expected_values = _reference_shift(matrix)
        if isinstance(means, np.ndarray) and means.size == N and np.issubdtype(means.dtype, np.number):
            shape_note = "" if means.shape == (N,) else f" (also: return them with shape ({N},), not {means.shape})"
            if matrix.nnz != np.count_nonzero(matrix.data) and np.allclose(np.ravel(means), _nonzero_means(matrix)):
                fail(function, "the user means skip the stored 0 at (1, 0): a stored entry is a known rating even "
                               "when its value is 0. Count the stored entries (np.diff(matrix.indptr)), not the "
                               "non-zero values (matrix != 0, count_nonzero, getnnz after eliminate_zeros).", inputs)
            check_close(function, np.asarray(means).reshape(N), expected, inputs, what="the user means",
                        why=_MEAN_HINT + shape_note + ".")
        check_array(function, means, (N,), inputs, "user_means")
        if not sp.issparse(shifted) or shifted.shape != matrix.shape:
            fail(function, f"the shifted matrix should be a sparse matrix of shape {matrix.shape}, got "
                           f"{type(shifted).__name__} of shape {getattr(shifted, 'shape', None)}.", inputs)
        r2, c2, v2 = _known(shifted)
        if r2.size != r.size or np.any(r2 != r) or np.any(c2 != c):
            lost = sorted(set(zip(r.tolist(), c.tolist(), strict=True))
                          - set(zip(r2.tolist(), c2.tolist(), strict=True)))
            detail = f"entry {lost[0]} is no longer stored" if lost else "entries were added"
            fail(function, f"the known entries changed: {detail}. A rating equal to its user's mean must stay a "
                           "stored 0 (change matrix.data; never eliminate zeros).", inputs)
        check_close(function, v2, expected_values, inputs, rtol=1e-6, atol=1e-6,  # allows means in float32
                    what="the shifted values (in row-major order)",
                    why="subtract from every stored rating its own user's mean (np.repeat the means by the row "
                        "lengths np.diff(matrix.indptr)).")
    passed(function, 5 * len(cases))


@answer
def _best_rank_error(matrix, k):
    """The squared error of the best rank-k approximation of `matrix`: its discarded squared singular values."""
    return np.sum(np.linalg.svd(matrix.toarray(), compute_uv=False)[k:] ** 2)


def initialize_Q_P(function) -> None:
    """Check ``function(matrix, k, init, random_state=...)`` returning Q (N, k) and P (k, D).

    'random': entries uniform in [0, 1), the same for the same random_state and different for another. 'svd':
    Q @ P must be the best rank-k approximation of the matrix, whose squared error is the sum of the discarded
    squared singular values (computed here with NumPy's dense SVD), the same for the same random_state (svds
    started from v0 drawn from the generator), and the singular values must be split evenly,
    Q = U_k S_k^(1/2), P = S_k^(1/2) V_k^T: column j of Q and row j of P have the same norm.
    """
    __tracebackhide__ = True
    matrix = _random_ratings(case_rng(2), 12, 9, 0.5)
    N, D, k = 12, 9, 3
    inputs = {"matrix": matrix, "k": k, "init": "random", "random_state": 0}

    def factors(**inputs):
        result = check_tuple(function, call(function, **inputs), ["Q", "P"], inputs)
        return (check_array(function, result[0], (N, k), inputs, "Q"),
                check_array(function, result[1], (k, D), inputs, "P"))

    Q, P = factors(**inputs)
    values = np.concatenate([Q.ravel(), P.ravel()])
    if values.min() < 0 or values.max() > 1 or np.unique(values).size < values.size // 2:
        fail(function, f"with init='random' the entries should be uniform in [0, 1), got values from "
                       f"{values.min():.3g} to {values.max():.3g}.", inputs)
    check_seeded(function, (Q, P), inputs, "factors")
    Q_other, _ = factors(**{**inputs, "random_state": 1})
    if np.array_equal(Q, Q_other):
        fail(function, "random_state=0 and random_state=1 gave the same factors; use the random_state.", inputs)
    svd_inputs = {**inputs, "init": "svd"}
    Q, P = factors(**svd_inputs)
    Q_again, P_again = factors(**svd_inputs)
    if not (np.array_equal(Q, Q_again) and np.array_equal(P, P_again)):
        fail(function, "two calls with init='svd' and the same random_state gave different factors: svds starts "
                       "from a random vector of its own unless it is given one. Pass v0 drawn from the generator, "
                       "svds(..., v0=rng.uniform(-1, 1, size=min(N, D))), as the task says.", svd_inputs)
    error = np.linalg.norm(matrix.toarray() - Q.astype(float) @ P.astype(float)) ** 2
    check_close(function, np.array(error), np.array(_best_rank_error(matrix, k)), svd_inputs, rtol=1e-6,
                what="||M - Q P||^2 with init='svd' (compared with the sum of the discarded squared singular values)",
                why="Q P must be the truncated SVD U_k S_k V_k^T.")
    Q_norms, P_norms = np.linalg.norm(Q, axis=0), np.linalg.norm(P, axis=1)
    if not np.allclose(Q_norms, P_norms, rtol=1e-4):
        fail(function, f"with init='svd' the factors are unbalanced: the columns of Q have norms "
                       f"{np.round(np.sort(Q_norms), 3)}, the rows of P {np.round(np.sort(P_norms), 3)}.\n"
                       "Split the singular values evenly, Q = U_k sqrt(S_k), P = sqrt(S_k) V_k^T (both norms are "
                       "then sqrt(s_j)); with Q = U_k S_k, P = V_k^T SGD (task 5) can diverge.", svd_inputs)
    passed(function, 5)


@answer
def _ridge_rows(R, F, reg_lambda):
    """scikit-learn's Ridge fitted to every row of R separately (zeros for a row without ratings).

    `reg_lambda` is one number, or an array of shape (n,) with the penalty of every row.
    """
    from sklearn.linear_model import Ridge  # here: importing scikit-learn takes about 0.25 s

    R = sp.csr_matrix(R)
    penalties = np.broadcast_to(reg_lambda, (R.shape[0],))
    X = np.zeros((R.shape[0], F.shape[1]))
    for i in range(R.shape[0]):
        stored = slice(R.indptr[i], R.indptr[i + 1])
        if R.indices[stored].size:
            X[i] = Ridge(alpha=penalties[i], fit_intercept=False).fit(F[R.indices[stored]], R.data[stored]).coef_
    return X


def update_factors(function) -> None:
    """Check ``function(R, F, reg_lambda)`` against scikit-learn's Ridge(alpha=reg_lambda, fit_intercept=False)
    fitted row by row, to 1e-8, on rows with many ratings, one rating, only explicit zeros, and none; `reg_lambda`
    one number, or one penalty per row (an array of shape (n,)).
    """
    __tracebackhide__ = True
    rng = case_rng(3)
    R = _random_ratings(rng, 25, 12, 0.4).tolil()
    R[0, :] = 0
    R[0, 5] = 4.0
    R[1, :] = 0
    R[2, :] = 0
    R = sp.csr_matrix(R)
    R.eliminate_zeros()
    rows, cols, values = _known(R)
    extra_rows, extra_cols = np.array([2, 2, 3]), np.array([0, 7, 11])  # stored zeros: known ratings equal to 0
    R = sp.csr_matrix((np.concatenate([values - 3.0, np.zeros(3)]),
                       (np.concatenate([rows, extra_rows]), np.concatenate([cols, extra_cols]))), shape=R.shape)
    singular = ("the system is singular: did you add reg_lambda * I to F_O^T F_O? Row 0 has one rating and row 1 "
                "none, so without the penalty their k x k systems have no unique solution.")
    n_cases = 0
    per_row = rng.uniform(0.1, 20.0, size=R.shape[0])
    ratings_per_row = np.diff(R.indptr)
    for k, reg_lambda in [(4, 0.5), (3, 10.0), (6, 1e-3), (4, per_row)]:
        F = rng.normal(size=(R.shape[1], k))
        inputs = {"R": R, "F": F, "reg_lambda": reg_lambda}
        on_error = {np.linalg.LinAlgError: singular}
        if np.ndim(reg_lambda):
            on_error[ValueError] = ("reg_lambda is an array here, one penalty per row (the going-further part "
                                    "passes lambda n_i): row i adds reg_lambda[i] * I to its own system; "
                                    "np.broadcast_to(reg_lambda, (n,)) handles a number and an array alike.")
        result = check_array(function, call(function, on_error=on_error, **inputs), (R.shape[0], k), inputs,
                             "the solution X")
        if result.dtype.itemsize < 8:
            why = (f"your result is {result.dtype}: with reg_lambda = 1e-3 single precision loses the digits the "
                   "comparison needs (1e-8); compute in float64.")
        elif np.allclose(result, _ridge_rows(R, F, reg_lambda * np.maximum(ratings_per_row, 1)), rtol=1e-8, atol=1e-8):
            why = ("the penalty is reg_lambda * I, not reg_lambda times the row's number of ratings (that weighted "
                   "penalty is ALS-WR's, which its callers pass as an array, one penalty per row).")
        elif np.ndim(reg_lambda):
            why = "reg_lambda is one penalty per row here: row i adds reg_lambda[i] * I to its own system."
        else:
            why = ("every stored entry of a row is a known rating, explicit zeros included; solve "
                   "(F_O^T F_O + reg_lambda I) x = F_O^T r_O with O the row's stored columns; a row without "
                   "ratings gets zeros.")
        check_close(function, result, _ridge_rows(R, F, reg_lambda), inputs, rtol=1e-8, atol=1e-8,
                    what="the solution X (compared with scikit-learn's Ridge row by row)", why=why)
        n_cases += 1
    passed(function, n_cases)


def _overfitting_problem(n_silent_users=0):
    """A small noisy low-rank problem on which k = 8 with a tiny penalty first improves, then overfits.

    With `n_silent_users`, that many users without training ratings are added, and the validation entries are
    theirs: after the first update their vectors are 0, so the validation loss stays exactly the same.
    """
    rng = case_rng(4)
    N, D = 60, 40
    truth = rng.normal(size=(N, 2)) @ rng.normal(size=(2, D)) + rng.normal(scale=0.5, size=(N, D))
    mask = rng.random((N, D)) < 0.5
    rows, cols = np.nonzero(mask)
    order = rng.permutation(rows.size)
    validation, train = order[:150], order[150:]
    M = sp.csr_matrix((truth[rows[train], cols[train]], (rows[train], cols[train])), shape=(N + n_silent_users, D))
    non_zero_idx = np.column_stack([rows[train], cols[train]])
    if n_silent_users:
        val_idx = (np.repeat(np.arange(N, N + n_silent_users), 3), np.tile([0, 1, 2], n_silent_users))
        return M, non_zero_idx, val_idx, np.full(3 * n_silent_users, 0.1)
    return M, non_zero_idx, (rows[validation], cols[validation]), truth[rows[validation], cols[validation]]


def _printed(function, inputs):
    """The result of ``call(function, **inputs)`` and what it printed."""
    __tracebackhide__ = True
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        result = call(function, **inputs)
    return result, output.getvalue()


_ALS_DIVERGED = ("Each half-step solves ridge regressions: check update_factors and that Q is updated from P, then P "
                 "from the new Q.")
_SGD_DIVERGED = ("Start from balanced factors (task 2: init='svd' splits the singular values evenly between Q and P) "
                 "and check the signs of the moves.")


def _check_best_copy(function, best_Q, best_P, recorded, inputs):
    """The returned factors must give the smallest recorded validation loss (else: a reference, a mean, a penalty)."""
    __tracebackhide__ = True
    val_idx, val_values = inputs["val_idx"], inputs["val_values"]
    with if_stored():
        own = _sse(best_Q, best_P, val_idx, val_values)
        if not np.isclose(own, recorded, rtol=1e-5, atol=1e-9):
            if np.isclose(own / len(val_values), recorded, rtol=1e-5):
                hint = "your validation losses are means; record the sum of squared errors on the validation entries."
            elif np.isclose(own + _penalty(best_Q, best_P, inputs["reg_lambda"]), recorded, rtol=1e-5):
                hint = ("your validation losses include the penalty; the validation loss is the sum of squared errors "
                        "alone: loss(val_values, val_idx, Q, P, 0).")
            else:
                hint = ("return copies of the best factors (best_Q = Q.copy()): a reference follows the latest "
                        "iterate. The validation loss is the sum of squared errors on the validation entries.")
            fail(function, f"your smallest recorded validation loss is {recorded:.6g}, but the factors you returned "
                           f"give {own:.6g}:\n{hint}", inputs)


def _check_training(function, result, inputs, *, train_values, train_idx, patience, n_steps, step, unit, diverged):
    """The checks ALS and SGD share: shapes, the copy of the best factors, the recorded losses, early stopping.

    `n_steps` is the number of `unit` ("iteration" for ALS, "epoch" for SGD), with an evaluation every `step` of
    them. `diverged` is the hint for losses that overflow.
    """
    __tracebackhide__ = True
    M, k, reg_lambda = inputs["M"], inputs["k"], inputs["reg_lambda"]
    result = check_tuple(function, result, _TRAINING_RESULT, inputs)
    best_Q = check_array(function, result[0], (M.shape[0], k), inputs, "best_Q")
    best_P = check_array(function, result[1], (k, M.shape[1]), inputs, "best_P")
    validation = np.asarray(result[2], dtype=float)
    train = np.asarray(result[3], dtype=float)
    if validation.ndim != 1 or validation.size < 1 or train.shape != validation.shape:
        fail(function, "validation_losses and train_losses should be lists with one loss per evaluation "
                       f"(got lengths {validation.size} and {train.size}).", inputs)
    if not np.all(np.isfinite(validation)):
        where = int(np.flatnonzero(~np.isfinite(validation))[0])
        fail(function, f"training diverged: the validation loss is {validation[where]} at evaluation {where}.\n"
                       f"{diverged}", inputs)
    best = int(np.argmin(validation))
    after_best = validation.size - 1 - best
    if after_best > patience:
        if np.all(validation[best:] == validation[best]):
            fail(function, f"the validation loss stayed at {validation[best]:.6g} for {after_best} evaluations "
                           f"after the best, yet training went on (patience = {patience}).\nOnly a strictly smaller "
                           "validation loss is an improvement: compare with <, not <=.", inputs)
        fail(function, f"training went on for {after_best} evaluations after the best one; it should stop once the "
                       f"validation loss has not improved for patience = {patience} evaluations.", inputs)
    _check_best_copy(function, best_Q, best_P, validation[best], inputs)
    with if_stored():
        errors = _sse(best_Q, best_P, train_idx, train_values)
        objective = errors + _penalty(best_Q, best_P, reg_lambda)
        if not np.isclose(train[best], objective, rtol=1e-5, atol=1e-9):
            without = " (that is the loss without the penalty)" if np.isclose(train[best], errors, rtol=1e-5) else ""
            fail(function, f"at the best evaluation you recorded the training loss {train[best]:.6g}, but the "
                           f"returned factors give L = {objective:.6g}{without}:\nthe training loss is the objective "
                           "L: squared errors on the known training entries + reg_lambda (||Q||^2 + ||P||^2), "
                           "loss(..., reg_lambda).", inputs)
    stopped_early = after_best == patience
    if not stopped_early and validation.size != -(-n_steps // step):
        fail(function, f"training stopped after {validation.size} evaluations, although patience had not run out "
                       f"and the {n_steps} {unit}s were not done (expected {-(-n_steps // step)} evaluations).", inputs)
    expected = step * best if stopped_early else -1
    if result[4] != expected:
        times = f" * {step}" if step > 1 else ""
        fail(function, f"converged_after is {result[4]!r}, expected {expected}: the {unit} (counted from 0) at which "
                       f"patience ran out minus patience{times}, which is the {unit} of the best evaluation (-1 if "
                       f"the last {unit} was reached).", inputs)
    return best_Q, best_P, validation, train


def _check_start(function, inputs, what, unit):
    """With a single evaluation the returned factors are the initial ones: 'random' in [0, 1), 'svd' the SVD."""
    __tracebackhide__ = True
    M, k = inputs["M"], inputs["k"]
    result = check_tuple(function, call(function, **inputs), _TRAINING_RESULT, inputs)
    Q = check_array(function, result[0], (M.shape[0], k), inputs, "best_Q").astype(float)
    P = check_array(function, result[1], (k, M.shape[1]), inputs, "best_P").astype(float)
    if len(result[2]) != 1:
        fail(function, f"with {what} = 1 there should be one evaluation, at {unit} 0 before any update; you recorded "
                       f"{len(result[2])} validation losses.", inputs)
    _check_best_copy(function, Q, P, float(result[2][0]), inputs)
    if inputs["init"] == "random":
        values = np.concatenate([Q.ravel(), P.ravel()])
        if values.min() < 0 or values.max() > 1:  # 1 itself: a float32 rounding of a draw just below 1
            fail(function, f"with {what} = 1 the only evaluation is at {unit} 0, before any update, so the returned "
                           "factors should be the initial ones (init='random': entries in [0, 1)), but they hold "
                           f"values from {values.min():.3g} to {values.max():.3g}.\nEvaluate (and keep the best) "
                           "before updating, starting from initialize_Q_P(M, k, init, random_state).", inputs)
    else:
        best_error = _best_rank_error(M, k)
        error = np.linalg.norm(M.toarray() - Q @ P) ** 2
        if not np.isclose(error, best_error, rtol=1e-5):
            fail(function, f"with {what} = 1 and init='svd' the returned factors should be the initial ones, the "
                           f"truncated SVD (||M - Q P||^2 = {best_error:.6g}), but they give "
                           f"{error:.6g}.\nStart from initialize_Q_P(M, k, init, random_state), and evaluate before "
                           "updating.", inputs)
    if result[4] != -1:
        fail(function, f"converged_after is {result[4]!r} after a single evaluation; expected -1 ({what} reached).",
             inputs)
    return Q, P


@answer
def _first_iteration_objectives(M, Q, P, train_idx, reg_lambda):
    """The objective L after one ALS iteration from (Q, P): Q updated first, then P (the task's order), and P
    first, then Q (the mistake behind a hint). Each half-step is scikit-learn's Ridge, row by row."""
    M = sp.csr_matrix(M)
    train_values = np.asarray(M[train_idx]).ravel()
    Q_first = _ridge_rows(M, np.asarray(P, float).T, reg_lambda)
    P_after = _ridge_rows(M.T.tocsr(), Q_first, reg_lambda).T
    P_first = _ridge_rows(M.T.tocsr(), np.asarray(Q, float), reg_lambda).T
    Q_after = _ridge_rows(M, P_first.T, reg_lambda)
    return tuple(_sse(Q1, P1, train_idx, train_values) + _penalty(Q1, P1, reg_lambda)
                 for Q1, P1 in [(Q_first, P_after), (Q_after, P_first)])


def _check_update_order(function, base, start):
    """After one iteration from the initial factors, the training loss must be that of Q updated, then P."""
    __tracebackhide__ = True
    inputs = {**base, "max_steps": 2, "patience": 5}
    result = check_tuple(function, call(function, **inputs), _TRAINING_RESULT, inputs)
    train = np.asarray(result[3], dtype=float)
    if train.size < 2:
        return  # the training checks below say what is missing
    with if_stored():
        right, p_first = _first_iteration_objectives(base["M"], start[0], start[1], tuple(base["non_zero_idx"].T),
                                                     base["reg_lambda"])
        if np.isclose(train[1], p_first, rtol=1e-5) and not np.isclose(train[1], right, rtol=1e-5):
            fail(function, f"after the first iteration the training loss is {train[1]:.6g}, the loss of updating P "
                           f"first, then Q; updating Q first, then P (the task's order) gives {right:.6g}.\n"
                           "Each iteration updates Q from P, then P from the new Q.", inputs)


def latent_factor_alternating_optimization(function) -> None:
    """Check the training loop ``function(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps, init,
    log_every, patience, eval_every)`` on small problems.

    With max_steps = 1 the returned factors must be the initial ones ('random' and 'svd': the evaluation comes
    before the update), the same for the same random_state; log_every = 0 prints nothing. On a problem where k = 8
    with a tiny penalty overfits: the training losses never increase (each half-step is an exact minimisation),
    the returned factors are copies of the best on validation (their squared error equals the smallest recorded
    validation loss, and their objective L the training loss recorded with it), training stops exactly when
    patience runs out, and ``converged_after`` is the iteration at which patience ran out minus
    patience * eval_every. On a problem whose validation loss stays constant, an equal loss is no improvement.
    """
    __tracebackhide__ = True
    M, non_zero_idx, val_idx, val_values = _overfitting_problem()
    base = {"M": M, "non_zero_idx": non_zero_idx, "k": 8, "val_idx": val_idx, "val_values": val_values,
            "reg_lambda": 1e-3, "max_steps": 1, "init": "random", "log_every": 0, "patience": 3, "eval_every": 1}
    start = _check_start(function, base, "max_steps", "iteration")
    check_seeded(function, start, base, "factors")
    if np.array_equal(start[0], _check_start(function, {**base, "random_state": 1}, "max_steps", "iteration")[0]):
        fail(function, "random_state=0 and random_state=1 gave the same initial factors; pass random_state on to "
                       "initialize_Q_P.", base)
    _check_start(function, {**base, "init": "svd"}, "max_steps", "iteration")
    _check_update_order(function, base, start)
    train_idx = tuple(non_zero_idx.T)
    train_values = np.asarray(M[train_idx]).ravel()
    for patience, eval_every, log_every in [(3, 1, 0), (2, 2, 4)]:
        inputs = {**base, "max_steps": 60, "log_every": log_every, "patience": patience, "eval_every": eval_every}
        result, printed = _printed(function, inputs)
        lines = printed.splitlines()
        if log_every == 0 and lines:
            fail(function, f"with log_every=0 nothing should be printed, but your function printed {len(lines)} "
                           f"line(s), the first: {lines[0][:60]!r}.", inputs)
        _, _, validation, train = _check_training(function, result, inputs, train_values=train_values,
                                                  train_idx=train_idx, patience=patience, n_steps=60, step=eval_every,
                                                  unit="iteration", diverged=_ALS_DIVERGED)
        if log_every and len(lines) < 2:
            fail(function, f"with log_every={log_every} the log should show a row every {log_every} iterations and "
                           f"a final line, but your function printed {len(lines)} line(s).", inputs)
        rises = np.flatnonzero(np.diff(train) > 1e-5 * np.abs(train[:-1]))  # allows float32 rounding
        if rises.size:
            fail(function, f"the training loss increased at evaluation {int(rises[0]) + 1}, from "
                           f"{train[rises[0]]:.6g} to {train[rises[0] + 1]:.6g}; every ALS half-step is an exact "
                           "minimisation, so it never increases (update Q from P, then P from the new Q).", inputs)
    M, non_zero_idx, val_idx, val_values = _overfitting_problem(n_silent_users=4)
    inputs = {**base, "M": M, "non_zero_idx": non_zero_idx, "val_idx": val_idx, "val_values": val_values,
              "max_steps": 20, "patience": 2}
    _check_training(function, call(function, **inputs), inputs, train_values=train_values, train_idx=train_idx,
                    patience=2, n_steps=20, step=1, unit="iteration", diverged=_ALS_DIVERGED)
    passed(function, 12)


@answer
def _gradient_steps(Q, P, users, items, values, reg_lambda, learning_rate):
    """(name, Q, P) after one full-batch gradient step from (Q, P): the right one ("right") and the usual mistakes
    ("sequential": P moved by the already-moved Q, "unscaled" penalty, "no penalty")."""
    ratings = (users, items, values)
    return [("right", *_gradient_step(Q, P, *ratings, reg_lambda, learning_rate)),
            ("sequential", *_gradient_step(Q, P, *ratings, reg_lambda, learning_rate, sequential=True)),
            ("unscaled", *_gradient_step(Q, P, *ratings, reg_lambda, learning_rate, scaled=False)),
            ("no penalty", *_gradient_step(Q, P, *ratings, 0.0, learning_rate))]


def _gradient_step(Q, P, users, items, values, reg_lambda, learning_rate, scaled=True, sequential=False):
    """One step of gradient descent on L / 2 with every rating in one batch: what one SGD epoch is then."""
    errors = values - np.einsum("bk,bk->b", Q[users], P[:, items].T)
    user_decay = reg_lambda * (1 if scaled else np.bincount(users, minlength=Q.shape[0]))
    item_decay = reg_lambda * (1 if scaled else np.bincount(items, minlength=P.shape[1]))
    rated_users = np.bincount(users, minlength=Q.shape[0]) > 0
    rated_items = np.bincount(items, minlength=P.shape[1]) > 0
    new_Q = Q.copy()
    np.add.at(new_Q, users, learning_rate * errors[:, None] * P[:, items].T)
    new_Q -= learning_rate * (user_decay * rated_users)[:, None] * Q
    source = new_Q if sequential else Q
    new_P = P.copy()
    np.add.at(new_P.T, items, learning_rate * errors[:, None] * source[users])
    new_P -= learning_rate * (item_decay * rated_items)[None, :] * P
    return new_Q, new_P


def _check_gradient_step(function, inputs, Q0, P0):
    """With all ratings in one batch, an epoch from (Q0, P0) is one gradient step on L / 2, whose result is known."""
    __tracebackhide__ = True
    coo = inputs["M"].tocoo()
    ratings = (coo.row, coo.col, coo.data, inputs["reg_lambda"], inputs["learning_rate"])
    result = check_tuple(function, call(function, **inputs), _TRAINING_RESULT, inputs)
    validation = np.asarray(result[2], dtype=float)
    if validation.shape != (2,):
        fail(function, f"with max_epochs = 2 there should be two evaluations, before each epoch; you recorded "
                       f"{validation.size} validation losses.", inputs)
    # Q0 and P0 are the student's initial factors: the step from them is not stored in a student edition.
    with if_stored():
        _compare_gradient_step(function, inputs, result, validation,
                               {name: (Q, P) for name, Q, P in _gradient_steps(Q0, P0, *ratings)})


def _compare_gradient_step(function, inputs, result, validation, steps):
    """The recorded validation loss and the returned factors after the step, compared with `steps`."""
    __tracebackhide__ = True
    val_idx, val_values = inputs["val_idx"], inputs["val_values"]
    losses = {name: _sse(*factors, val_idx, val_values) for name, factors in steps.items()}
    matches = [name for name, value in losses.items() if np.isclose(validation[1], value, rtol=1e-4)]
    start = "with batch_size >= the number of ratings, one epoch from the initial factors (those returned with " \
            "max_epochs=1) should be one gradient step"
    if "right" not in matches:
        if "sequential" in matches:
            hint = ("p_x moved by the already-moved q_i: both moves of a batch use the vectors from before the batch "
                    "(take q = Q[i] and p = P[:, x].T once, then move Q and P from them).")
        elif "unscaled" in matches:
            hint = ("the penalty acts once per rating: over an epoch a user with n_i ratings is shrunk n_i times. "
                    "Scale it: reg_lambda / n_i for q_i and reg_lambda / m_x for p_x.")
        elif "no penalty" in matches:
            hint = "the penalty is missing: each move of q_i includes - reg_lambda / n_i * q_i."
        else:
            hint = ("each rating moves q_i by learning_rate * (e p_x - reg_lambda / n_i q_i), e computed before the "
                    "moves; a user occurs several times in one batch: accumulate with np.add.at (Q[i] += ... keeps "
                    "only one move per user).")
        fail(function, f"{start}, which gives the validation loss {losses['right']:.6g}, but you recorded "
                       f"{validation[1]:.6g}:\n{hint}", inputs)
    if validation[1] < validation[0]:  # the returned factors are those after the step
        Q1 = check_array(function, result[0], steps["right"][0].shape, inputs, "best_Q")
        P1 = check_array(function, result[1], steps["right"][1].shape, inputs, "best_P")
        if not (np.allclose(Q1, steps["right"][0], rtol=1e-4, atol=1e-6)
                and np.allclose(P1, steps["right"][1], rtol=1e-4, atol=1e-6)):
            fail(function, f"{start}, and it improves the validation loss, but the factors you returned differ from "
                           "it:\neach rating moves q_i by learning_rate * (e p_x - reg_lambda / n_i q_i) and p_x by "
                           "learning_rate * (e q_i - reg_lambda / m_x p_x); return copies of the best.", inputs)


class _RecordingGenerator:
    """A NumPy Generator that records the permutations it draws (of arrays or of ``range(n)``)."""

    def __init__(self, generator, drawn):
        self._generator, self._drawn = generator, drawn

    def __getattr__(self, name):
        return getattr(self._generator, name)

    def permutation(self, x, *args, **kwargs):
        drawn = self._generator.permutation(x, *args, **kwargs)
        self._drawn.append(np.array(drawn, copy=True))
        return drawn

    def shuffle(self, x, *args, **kwargs):
        self._generator.shuffle(x, *args, **kwargs)
        self._drawn.append(np.array(x, copy=True))


def _drawn_permutations(function, inputs):
    """The permutations that ``function(**inputs)`` draws from generators made by ``np.random.default_rng``."""
    __tracebackhide__ = True
    drawn, make = [], np.random.default_rng

    def recording_default_rng(seed=None):
        # default_rng(generator) returns that generator: a recording one stays as it is.
        return seed if isinstance(seed, _RecordingGenerator) else _RecordingGenerator(make(seed), drawn)

    np.random.default_rng = recording_default_rng
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            call(function, **inputs)
    finally:
        np.random.default_rng = make
    return drawn


def latent_factor_sgd(function) -> None:
    """Check ``function(M, k, val_idx, val_values, reg_lambda, learning_rate, batch_size, max_epochs, patience, init,
    random_state=...)`` on small problems.

    With max_epochs = 1 the returned factors are the initial ones ('random' and 'svd'). With one batch holding all
    ratings, an epoch is exactly one gradient step on L / 2 from those factors, whose penalty reg_lambda * q is
    applied once per vector (reg_lambda / n_i per rating), with the learning rate given. With k = 2 on a noisy
    rank-2 problem the validation loss falls below half its start; with k = 8 and a tiny penalty training stops early,
    and, as for ALS, the returned factors are copies of the best with the losses recorded for them and
    ``converged_after`` is the best epoch. The same random_state gives the same result, another a different one.
    """
    __tracebackhide__ = True
    M, _, val_idx, val_values = _overfitting_problem()
    coo = M.tocoo()
    users, items, values = coo.row, coo.col, coo.data
    base = {"M": M, "k": 2, "val_idx": val_idx, "val_values": val_values, "reg_lambda": 5.0, "learning_rate": 0.01,
            "batch_size": M.nnz, "max_epochs": 1, "patience": 3, "init": "random"}
    _check_start(function, base, "max_epochs", "epoch")
    Q0, P0 = _check_start(function, {**base, "init": "svd"}, "max_epochs", "epoch")
    _check_gradient_step(function, {**base, "init": "svd", "max_epochs": 2}, Q0, P0)
    improving = {**base, "reg_lambda": 1.0, "learning_rate": 0.05, "batch_size": 32, "max_epochs": 30, "init": "svd"}
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below, with its usual causes
        result = call(function, **improving)
    _check_training(function, result, improving, train_values=values, train_idx=(users, items), patience=3,
                    n_steps=30, step=1, unit="epoch", diverged=_SGD_DIVERGED)
    if not min(result[2]) < 0.5 * result[2][0]:
        fail(function, f"in 30 epochs the validation loss fell only from {result[2][0]:.4g} to {min(result[2]):.4g} "
                       "(expected below half): check the signs and the errors e = M_ix - q_i . p_x.", improving)
    check_seeded(function, result, improving, "results")
    shuffles = [order for order in _drawn_permutations(function, {**improving, "max_epochs": 3})
                if order.shape == (M.nnz,)]
    if len(shuffles) > 1 and all(np.array_equal(order, shuffles[0]) for order in shuffles[1:]):
        fail(function, "every epoch shuffled the ratings into the same order: a generator created inside the loop "
                       "from random_state starts over each time. Create rng = np.random.default_rng(random_state) "
                       "once, before the loop, and draw a new permutation from it every epoch.", improving)
    other = call(function, **{**improving, "random_state": 1})
    if np.allclose(np.asarray(result[2][1:3]), np.asarray(other[2][1:3]), rtol=1e-9):
        fail(function, "random_state=0 and random_state=1 gave the same validation losses; shuffle the ratings with "
                       "rng = np.random.default_rng(random_state), a new permutation every epoch.", improving)
    overfitting = {**improving, "k": 8, "reg_lambda": 1e-3, "learning_rate": 0.1, "max_epochs": 60, "patience": 4}
    _check_training(function, call(function, **overfitting), overfitting, train_values=values,
                    train_idx=(users, items), patience=4, n_steps=60, step=1, unit="epoch", diverged=_SGD_DIVERGED)
    passed(function, 12)
