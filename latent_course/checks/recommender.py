"""Self-checks for topic 01: the mean shift, the initialisation, the ALS half-step and the training loop."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import Ridge

from ._framework import call, check_array, check_close, check_seeded, check_tuple, fail, passed

TOPIC = "01_matrix_factorization"
__all__ = ["initialize_Q_P", "latent_factor_alternating_optimization", "shift_user_mean", "update_factors"]


def _known(matrix):
    """The stored entries of a sparse matrix as sorted (row, column, value) arrays."""
    coo = sp.coo_matrix(matrix)
    order = np.lexsort((coo.col, coo.row))
    return coo.row[order], coo.col[order], coo.data[order]


def _random_ratings(rng, N, D, density):
    mask = rng.random((N, D)) < density
    rows, cols = np.nonzero(mask)
    return sp.csr_matrix((rng.integers(1, 6, size=rows.size).astype(float), (rows, cols)), shape=(N, D))


def shift_user_mean(function) -> None:
    """Check ``function(matrix)`` returning (shifted, user_means) for a sparse rating matrix.

    The means must be over each user's stored ratings only (0 for a user without any), every stored value must be
    shifted by its user's mean, and the stored entries must stay exactly the same set: a rating equal to its user's
    mean becomes a stored 0, still a known rating.
    """
    __tracebackhide__ = True
    rows = np.array([0, 0, 0, 1, 3, 3])
    cols = np.array([0, 2, 4, 1, 0, 3])
    small = sp.csr_matrix((np.array([4.0, 3.0, 2.0, 5.0, 1.0, 5.0]), (rows, cols)), shape=(4, 5))
    cases = [small, _random_ratings(np.random.default_rng(1), 30, 20, 0.3)]
    for matrix in cases:
        inputs = {"matrix": matrix}
        shifted, means = check_tuple(function, call(function, **inputs), ["shifted", "user_means"], inputs)
        if not sp.issparse(shifted) or shifted.shape != matrix.shape:
            fail(function, f"the shifted matrix should be a sparse matrix of shape {matrix.shape}, got "
                            f"{type(shifted).__name__} of shape {getattr(shifted, 'shape', None)}", inputs)
        r, c, v = _known(matrix)
        counts = np.bincount(r, minlength=matrix.shape[0])
        expected = np.bincount(r, weights=v, minlength=matrix.shape[0]) / np.maximum(counts, 1)
        means = check_array(function, np.asarray(means), expected.shape, inputs, "user_means")
        check_close(function, means, expected, inputs, what="the user means",
                    why="average each user's stored ratings only, not all D columns; a user without ratings gets 0.")
        r2, c2, v2 = _known(shifted)
        if r2.size != r.size or np.any(r2 != r) or np.any(c2 != c):
            lost = sorted(set(zip(r.tolist(), c.tolist(), strict=True)) - set(zip(r2.tolist(), c2.tolist(),
                                                                                   strict=True)))
            detail = f"entry {lost[0]} is no longer stored" if lost else "entries were added"
            fail(function, f"the known entries changed: {detail}. A rating equal to its user's mean must stay a "
                            "stored 0 (change matrix.data; never eliminate zeros).", inputs)
        check_close(function, v2, v - expected[r], inputs, what="the shifted values (in row-major order)")
    passed(function, 4 * len(cases))


def initialize_Q_P(function) -> None:
    """Check ``function(matrix, k, init, random_state=...)`` returning Q (N, k) and P (k, D).

    'random': entries uniform in [0, 1), the same for the same random_state and different for another. 'svd':
    Q @ P must be the best rank-k approximation of the matrix, whose squared error is the sum of the discarded
    squared singular values (computed here with NumPy's dense SVD).
    """
    __tracebackhide__ = True
    matrix = _random_ratings(np.random.default_rng(2), 12, 9, 0.5)
    N, D, k = 12, 9, 3
    inputs = {"matrix": matrix, "k": k, "init": "random", "random_state": 0}

    def factors(**inputs):
        result = check_tuple(function, call(function, **inputs), ["Q", "P"], inputs)
        return (check_array(function, result[0], (N, k), inputs, "Q"),
                check_array(function, result[1], (k, D), inputs, "P"))

    Q, P = factors(**inputs)
    values = np.concatenate([Q.ravel(), P.ravel()])
    if values.min() < 0 or values.max() >= 1 or np.unique(values).size < values.size // 2:
        fail(function, f"with init='random' the entries should be uniform in [0, 1), got values from "
                        f"{values.min():.3g} to {values.max():.3g}", inputs)
    check_seeded(function, (Q, P), inputs, "factors")
    Q_other, _ = factors(**{**inputs, "random_state": 1})
    if np.array_equal(Q, Q_other):
        fail(function, "random_state=0 and random_state=1 gave the same factors; use the random_state.", inputs)
    svd_inputs = {**inputs, "init": "svd"}
    Q, P = factors(**svd_inputs)
    singular_values = np.linalg.svd(matrix.toarray(), compute_uv=False)
    error = np.linalg.norm(matrix.toarray() - Q @ P) ** 2
    check_close(function, np.array(error), np.array(np.sum(singular_values[k:] ** 2)), svd_inputs, rtol=1e-6,
                what="||M - Q P||^2 with init='svd' (compared with the sum of the discarded squared singular values)",
                why="Q = U_k S_k and P = V_k^T from the truncated SVD M ~ U_k S_k V_k^T.")
    passed(function, 4)


def _ridge_rows(R, F, reg_lambda):
    """scikit-learn's Ridge fitted to every row of R separately (zeros for a row without ratings)."""
    R = sp.csr_matrix(R)
    X = np.zeros((R.shape[0], F.shape[1]))
    for i in range(R.shape[0]):
        stored = slice(R.indptr[i], R.indptr[i + 1])
        if R.indices[stored].size:
            X[i] = Ridge(alpha=reg_lambda, fit_intercept=False).fit(F[R.indices[stored]], R.data[stored]).coef_
    return X


def update_factors(function) -> None:
    """Check ``function(R, F, reg_lambda)`` against scikit-learn's Ridge(alpha=reg_lambda, fit_intercept=False)
    fitted row by row, to 1e-8, on rows with many ratings, one rating, only explicit zeros, and none.
    """
    __tracebackhide__ = True
    rng = np.random.default_rng(3)
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
    n_cases = 0
    for k, reg_lambda in [(4, 0.5), (3, 10.0), (6, 1e-3)]:
        F = rng.normal(size=(R.shape[1], k))
        inputs = {"R": R, "F": F, "reg_lambda": reg_lambda}
        result = call(function, **inputs)
        check_close(function, check_array(function, result, (R.shape[0], k), inputs, "the solution X"),
                    _ridge_rows(R, F, reg_lambda), inputs, rtol=1e-8, atol=1e-8,
                    what="the solution X (compared with scikit-learn's Ridge row by row)",
                    why="every stored entry of a row is a known rating, explicit zeros included; solve "
                        "(F_O^T F_O + reg_lambda I) x = F_O^T r_O with O the row's stored columns; a row without "
                        "ratings gets zeros.")
        n_cases += 1
    passed(function, n_cases)


def _overfitting_problem():
    """A small noisy low-rank problem on which k = 8 with a tiny penalty first improves, then overfits."""
    rng = np.random.default_rng(4)
    N, D = 60, 40
    truth = rng.normal(size=(N, 2)) @ rng.normal(size=(2, D)) + rng.normal(scale=0.5, size=(N, D))
    mask = rng.random((N, D)) < 0.5
    rows, cols = np.nonzero(mask)
    order = rng.permutation(rows.size)
    validation, train = order[:150], order[150:]
    M = sp.csr_matrix((truth[rows[train], cols[train]], (rows[train], cols[train])), shape=(N, D))
    non_zero_idx = np.column_stack([rows[train], cols[train]])
    return M, non_zero_idx, (rows[validation], cols[validation]), truth[rows[validation], cols[validation]]


def latent_factor_alternating_optimization(function) -> None:
    """Check the training loop ``function(M, non_zero_idx, k, val_idx, val_values, reg_lambda, max_steps, init,
    log_every, patience, eval_every)`` on a small problem where k = 8 with a tiny penalty overfits.

    The training losses must never increase (each half-step is an exact minimisation); the returned factors must be
    the best on validation (their squared error equals the smallest validation loss, not the last); training must
    stop exactly when patience runs out; and ``converged_after`` must be the iteration at which patience ran out
    minus patience * eval_every, which is the iteration of the best evaluation.
    """
    __tracebackhide__ = True
    M, non_zero_idx, val_idx, val_values = _overfitting_problem()
    for patience, eval_every in [(3, 1), (2, 2)]:
        inputs = {"M": M, "non_zero_idx": non_zero_idx, "k": 8, "val_idx": val_idx, "val_values": val_values,
                  "reg_lambda": 1e-3, "max_steps": 60, "init": "random", "log_every": 0, "patience": patience,
                  "eval_every": eval_every}
        result = check_tuple(function, call(function, **inputs),
                             ["best_Q", "best_P", "validation_losses", "train_losses", "converged_after"], inputs)
        best_Q = check_array(function, result[0], (M.shape[0], 8), inputs, "best_Q")
        best_P = check_array(function, result[1], (8, M.shape[1]), inputs, "best_P")
        validation = np.asarray(result[2], dtype=float)
        train = np.asarray(result[3], dtype=float)
        if validation.ndim != 1 or validation.size < 2 or train.shape != validation.shape:
            fail(function, "validation_losses and train_losses should be lists with one loss per evaluation "
                            f"(got lengths {validation.size} and {train.size})", inputs)
        rises = np.flatnonzero(np.diff(train) > 1e-9 * np.abs(train[:-1]))
        if rises.size:
            fail(function, f"the training loss increased at evaluation {int(rises[0]) + 1}, from "
                            f"{train[rises[0]]:.6g} to {train[rises[0] + 1]:.6g}; every ALS half-step is an exact "
                            "minimisation, so it never increases.", inputs)
        errors = val_values - np.einsum("nk,kn->n", best_Q[val_idx[0]], best_P[:, val_idx[1]])
        check_close(function, np.array(errors @ errors), np.array(validation.min()), inputs, rtol=1e-9,
                    what="the validation loss of the returned factors (compared with the smallest validation loss)",
                    why="return copies of the best factors (Q.copy()): a reference follows the latest iterate. "
                        "The validation loss is the sum of squared errors on the validation entries.")
        best, after_best = int(np.argmin(validation)), validation.size - 1 - int(np.argmin(validation))
        if after_best > patience:
            fail(function, f"training went on for {after_best} evaluations after the best one; it should stop once "
                            f"the validation loss has not improved for patience = {patience} evaluations.", inputs)
        stopped_early = after_best == patience
        if not stopped_early and validation.size != -(-inputs["max_steps"] // eval_every):
            fail(function, f"training stopped after {validation.size} evaluations, although patience had not run "
                            "out and max_steps was not reached.", inputs)
        expected = eval_every * best if stopped_early else -1
        if result[4] != expected:
            fail(function, f"converged_after is {result[4]!r}, expected {expected}: the iteration at which patience "
                            "ran out minus patience * eval_every (-1 if max_steps was reached).", inputs)
    passed(function, 10)
