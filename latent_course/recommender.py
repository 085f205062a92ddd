"""The provided steps of topic 01: the rating matrix, cold-start filtering, the split, the loss and the error.

Known entries are the *stored* entries of a sparse matrix, explicit zeros included: after the user-mean shift, a
rating equal to its user's mean is a stored 0, still known, unlike the unknown entries that are not stored at all.
Nothing here forms the dense N x D matrix.

The going-further model with implicit feedback (`latent_factor_als_implicit`, SVD++ fitted by alternating least
squares) is here too; it takes the notebook's half-step `update_factors` as an argument.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .validation import check_positive_float, check_positive_int, check_random_state, check_real_array

__all__ = ["ImplicitModel", "cold_start_filter", "latent_factor_als_implicit", "loss", "predict", "ratings_matrix",
           "rmse", "split_ratings"]

# Larger indices are ids rather than 0-based indices, and the matrix's row pointer alone would not fit in memory.
MAX_INDEX = np.iinfo(np.int32).max - 1


def ratings_matrix(triplets, shape: tuple[int, int] | None = None) -> sp.csr_matrix:
    """Build the sparse N x D rating matrix from (user, item, rating) triplets.

    Parameters
    ----------
    triplets : np.ndarray, shape (n_ratings, 3)
        0-based user and item indices and the ratings.
    shape : tuple (N, D), optional
        By default one more than the largest user and item index.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix of float, shape (N, D)
        One stored entry per rating.

    Raises
    ------
    ValueError
        If a (user, item) pair occurs more than once (the message says how many do), or indices are negative.
    """
    check_real_array(triplets, "triplets")
    triplets = np.asarray(triplets)
    if triplets.ndim != 2 or triplets.shape[1] != 3 or len(triplets) == 0:
        raise ValueError(f"triplets must have shape (n_ratings, 3) with n_ratings >= 1, got shape {triplets.shape}")
    ratings = triplets[:, 2].astype(float)
    bad = np.flatnonzero(~np.isfinite(ratings))
    if bad.size:
        raise ValueError(f"triplets must hold finite ratings, row {bad[0]} has {ratings[bad[0]]}")
    users, items = (_indices(triplets[:, column], f"triplets column {column}") for column in (0, 1))
    if shape is None:
        N, D = int(users.max()) + 1, int(items.max()) + 1
    else:
        if not isinstance(shape, tuple | list) or len(shape) != 2:
            raise TypeError(f"shape must be a pair (N, D) of integers, got {shape!r}")
        N, D = (check_positive_int(size, f"shape[{axis}]", high=MAX_INDEX + 1) for axis, size in enumerate(shape))
        if users.max() >= N or items.max() >= D:
            raise ValueError(f"shape {(N, D)} is too small for the largest user and item indices, "
                             f"{users.max()} and {items.max()}")
    repeated = _count_repeated_pairs(users, items)
    if repeated:
        raise ValueError(f"triplets hold {repeated} repeated (user, item) pair(s); each pair may be rated once")
    return sp.csr_matrix((ratings, (users, items)), shape=(N, D))


def _indices(column: np.ndarray, name: str) -> np.ndarray:
    """A column of 0-based indices as int64: whole, non-negative numbers no larger than `MAX_INDEX`."""
    values = column.astype(float)
    if not np.all(np.isfinite(values) & (values >= 0) & (values == np.round(values))):
        raise ValueError(f"{name} must hold non-negative integer indices (user and item indices in columns 0 and 1)")
    if values.max() > MAX_INDEX:
        raise ValueError(f"{name} holds the index {column.max()}, larger than {MAX_INDEX}: pass 0-based indices, "
                         f"not ids (load_ratings numbers users and items 0, 1, ...)")
    return column.astype(np.int64)


def _count_repeated_pairs(rows: np.ndarray, columns: np.ndarray) -> int:
    """How many (row, column) pairs repeat an earlier one (sorting the pairs, so no key can overflow)."""
    order = np.lexsort((columns, rows))
    rows, columns = rows[order], columns[order]
    return int(np.count_nonzero((rows[1:] == rows[:-1]) & (columns[1:] == columns[:-1])))


def _check_rating_matrix(matrix, name: str = "matrix") -> None:
    """Require a 2-D scipy.sparse matrix of finite real ratings, each (row, column) stored at most once."""
    if not sp.issparse(matrix):
        got = type(matrix).__name__
        if isinstance(matrix, np.ndarray) and matrix.ndim == 2 and matrix.shape[1] == 3:
            got += f" of shape {matrix.shape}, which looks like triplets: pass ratings_matrix(triplets)"
        raise TypeError(f"{name} must be a scipy.sparse matrix of ratings, as ratings_matrix returns; got {got}")
    if len(matrix.shape) != 2:
        raise ValueError(f"{name} must be 2-D, of shape (N, D), got shape {matrix.shape}")
    if matrix.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real ratings, got dtype {matrix.dtype}")
    coo = sp.coo_matrix(matrix)
    if not np.all(np.isfinite(coo.data)):
        raise ValueError(f"{name} must hold finite ratings, found NaN or infinite values")
    repeated = _count_repeated_pairs(coo.row, coo.col)
    if repeated:
        raise ValueError(f"{name} stores {repeated} (row, column) entr{'y' if repeated == 1 else 'ies'} more than "
                         f"once; converting it would add those ratings up (build it with ratings_matrix)")


def cold_start_filter(matrix, min_ratings: int = 20):
    """Remove users and items with fewer than `min_ratings` ratings, repeatedly, until none is left.

    Removing users can push items below the minimum and back, so the two filters alternate until nothing changes.

    Parameters
    ----------
    matrix : scipy.sparse matrix, shape (N, D)
        Its stored entries are the known ratings.
    min_ratings : int
        The smallest number of ratings a kept user or item has.

    Returns
    -------
    core : scipy.sparse.csr_matrix, shape (N', D')
    kept_users : np.ndarray of int, shape (N',)
        The original row of every kept user.
    kept_items : np.ndarray of int, shape (D',)
        The original column of every kept item.
    """
    _check_rating_matrix(matrix)
    min_ratings = check_positive_int(min_ratings, "min_ratings")
    core = sp.csr_matrix(matrix, copy=True)
    kept_users, kept_items = np.arange(core.shape[0]), np.arange(core.shape[1])
    while True:
        rows = np.diff(core.indptr) >= min_ratings
        core, kept_users = core[rows], kept_users[rows]
        columns = np.bincount(core.indices, minlength=core.shape[1]) >= min_ratings
        core, kept_items = core[:, columns], kept_items[columns]
        if rows.all() and columns.all():
            return core, kept_users, kept_items


def split_ratings(matrix, n_validation: int, n_test: int, random_state=0):
    """Hold out random known entries for validation and testing.

    Parameters
    ----------
    matrix : scipy.sparse matrix, shape (N, D)
    n_validation, n_test : int
        How many known entries to hold out for each.
    random_state : int or np.random.Generator

    Returns
    -------
    train : scipy.sparse.csr_matrix, shape (N, D)
        The other known entries (explicit zeros stay stored).
    val_idx, test_idx : tuple (rows, columns) of np.ndarray, each of shape (n_validation,) or (n_test,)
    val_values, test_values : np.ndarray, shapes (n_validation,) and (n_test,)
    """
    _check_rating_matrix(matrix)
    coo = sp.coo_matrix(matrix)
    n_validation = check_positive_int(n_validation, "n_validation")
    n_test = check_positive_int(n_test, "n_test")
    if n_validation + n_test >= coo.nnz:
        raise ValueError(f"n_validation + n_test must be smaller than the number of ratings, {coo.nnz}")
    order = check_random_state(random_state).permutation(coo.nnz)
    validation, test, rest = np.split(order, [n_validation, n_validation + n_test])
    train = sp.csr_matrix((coo.data[rest], (coo.row[rest], coo.col[rest])), shape=coo.shape)
    return (train, (coo.row[validation], coo.col[validation]), (coo.row[test], coo.col[test]),
            coo.data[validation], coo.data[test])


def predict(ixs, Q, P):
    """The model's values Q[i] . P[:, j] at the entries ``ixs = (rows, columns)``, shape (n,), without Q @ P.

    Parameters
    ----------
    ixs : tuple (rows, columns) of integer arrays, each of shape (n,)
        As ``np.nonzero`` returns; an (n, 2) array of pairs ``pairs`` is ``tuple(pairs.T)``.
    Q : np.ndarray, shape (N, k)
    P : np.ndarray, shape (k, D)

    Raises
    ------
    ValueError
        For indices that are not integers, lie outside ``[0, N)`` or ``[0, D)``, or an `ixs` that is not a pair.
    """
    Q, P = check_real_array(Q, "Q"), check_real_array(P, "P")
    if Q.ndim != 2 or P.ndim != 2 or Q.shape[1] != P.shape[0]:
        raise ValueError(f"Q and P must have shapes (N, k) and (k, D) with the same k, got {Q.shape} and {P.shape}")
    rows, columns = _index_pair(ixs, Q.shape[0], P.shape[1])
    return np.einsum("nk,kn->n", Q[rows], P[:, columns])


def _index_pair(ixs, N: int, D: int) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(ixs, tuple | list) or len(ixs) != 2:
        hint = ""
        if isinstance(ixs, np.ndarray) and ixs.ndim == 2:
            hint = f" (an array of shape {ixs.shape}: for an (n, 2) array of pairs pass tuple(pairs.T))"
        raise ValueError(f"ixs must be a pair (rows, columns) of integer index arrays, as np.nonzero returns{hint}")
    indices = []
    for index, name, size in zip(ixs, ("rows", "columns"), (N, D), strict=True):
        index = np.asarray(index)
        if index.size and (index.dtype.kind not in "iu"):
            raise ValueError(f"ixs {name} must be integer indices, got dtype {index.dtype}")
        index = index.astype(np.intp)
        if index.size and (index.min() < 0 or index.max() >= size):
            bad = index[(index < 0) | (index >= size)][0]
            raise ValueError(f"ixs {name} must lie in [0, {size}), got {bad}")
        indices.append(index)
    rows, columns = indices
    if rows.shape != columns.shape or rows.ndim != 1:
        raise ValueError(f"ixs must hold two index arrays of the same length, got shapes {rows.shape} and "
                         f"{columns.shape}")
    return rows, columns


def loss(values, ixs, Q, P, reg_lambda):
    """The loss of a latent factor model at the entries `ixs`.

    Parameters
    ----------
    values : np.ndarray, shape (n,)
        The known values at the entries.
    ixs : tuple (rows, columns) of np.ndarray, each of shape (n,)
    Q : np.ndarray, shape (N, k)
    P : np.ndarray, shape (k, D)
    reg_lambda : float
        The regularisation strength, at least 0; 0 gives the sum of squared errors alone.

    Returns
    -------
    loss : float
        sum((values - Q[i] . P[:, j])^2) + reg_lambda * (||P||_F^2 + ||Q||_F^2).
    """
    reg_lambda = check_positive_float(reg_lambda, "reg_lambda", zero_ok=True)
    predictions = predict(ixs, Q, P)
    errors = _known_values(values, predictions.size) - predictions
    return float(errors @ errors + reg_lambda * (np.sum(np.square(P)) + np.sum(np.square(Q))))


def rmse(values, ixs, Q, P, offsets=None):
    """Root mean squared error of the predictions at `ixs`; `offsets` (shape (n,)) are added to the predictions."""
    predictions = predict(ixs, Q, P)
    if offsets is not None:
        offsets = check_real_array(offsets, "offsets")
        if offsets.shape != predictions.shape:
            raise ValueError(f"offsets must have shape (n,) = ({predictions.size},) to match ixs, got {offsets.shape}")
        predictions = predictions + offsets
    return float(np.sqrt(np.mean((_known_values(values, predictions.size) - predictions) ** 2)))


def _known_values(values, n: int) -> np.ndarray:
    values = check_real_array(values, "values")
    if values.shape != (n,):
        raise ValueError(f"values must have shape (n,) = ({n},) to match ixs, got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("values must be finite, found NaN or infinite values")
    return values


class ImplicitModel(NamedTuple):
    """r_hat = mu + user_bias[i] + item_bias[x] + (Q[i] + implicit[i]) @ P[:, x] (SVD++).

    ``implicit[i] = n_i ** -0.5 * sum(Y[j] for the n_i items j that user i rated in training)``.
    """

    mu: float
    user_bias: np.ndarray  # shape (N,)
    item_bias: np.ndarray  # shape (D,)
    Q: np.ndarray  # shape (N, k)
    P: np.ndarray  # shape (k, D)
    Y: np.ndarray  # shape (D, k), the items' implicit factors
    implicit: np.ndarray  # shape (N, k)

    def predict(self, ixs):
        """The predicted ratings at the entries ``ixs = (rows, columns)``, shape (n,)."""
        users, items = ixs
        return (self.mu + self.user_bias[users] + self.item_bias[items]
                + predict(ixs, self.Q + self.implicit, self.P))


def latent_factor_als_implicit(M, P, reg_lambda, reg_implicit, update_factors: Callable, n_iterations=15,
                               cg_steps=3) -> ImplicitModel:
    """Fit SVD++ (ALS-WR with biases plus implicit feedback) by alternating least squares.

    The model is r_hat[i, x] = mu + b_i + c_x + (q_i + n_i^-1/2 sum_{j rated by i} y_j) . p_x (Koren 2008): the model
    of topic 01's `latent_factor_als_biased`, plus an implicit part, since which items a user rated says something
    about them whatever the ratings. Every sweep updates the users' (q_i, b_i) and the items'
    (p_x, c_x) by one call of `update_factors` each (weighted penalties lambda n_i and lambda m_x, as ALS-WR), then
    the items' implicit factors Y by `cg_steps` steps of conjugate gradients on their normal equations, started from
    the current Y (the y_j are coupled through the users, so their half-step is one linear system of D k unknowns
    rather than D small ones). Every step minimises the objective over its block, or decreases it, so the objective
    never increases. With `cg_steps` = 0, Y stays zero and the fit is `latent_factor_als_biased`'s, from the same P.

    Parameters
    ----------
    M : scipy.sparse matrix, shape (N, D)
        The training ratings (not shifted) as stored entries; its stored pattern is also the implicit feedback.
    P : np.ndarray, shape (k, D)
        The items' starting factors, for example the truncated SVD of the ratings minus their mean.
    reg_lambda : float
        The weighted penalty: user i's (q_i, b_i) is penalised by lambda n_i, item x's (p_x, c_x) by lambda m_x.
    reg_implicit : float
        The penalty lambda_y on the implicit factors, lambda_y * ||Y||_F^2 (not weighted).
    update_factors : callable
        ``update_factors(R, F, penalties)``: the ridge regression of every row of R (sparse, shape (n, m)) on F
        (shape (m, k)) with one penalty per row (shape (n,)), as topic 01's task 3.
    n_iterations : int
        The number of sweeps.
    cg_steps : int
        Conjugate-gradient steps for Y per sweep, at least 0.

    Returns
    -------
    model : ImplicitModel

    Notes
    -----
    The ridge half-steps come from the caller (the notebook's own `update_factors`, or its solution), so that this
    module does not hand out the answer to task 3. One conjugate-gradient step costs about 4 nnz k multiply-adds, a
    sweep's Gram matrices about 2 nnz (k + 1)^2. The lecture notes derive the steps ("Implicit feedback: SVD++ by
    ALS").
    """
    M = sp.csr_matrix(M, dtype=float)
    N, D = M.shape
    P = check_real_array(P, "P")
    if P.ndim != 2 or P.shape[1] != D or not np.all(np.isfinite(P)):
        raise ValueError(f"P must be a finite array of shape (k, D) = (k, {D}), got shape {P.shape}")
    k = P.shape[0]
    reg_lambda = check_positive_float(reg_lambda, "reg_lambda")
    reg_implicit = check_positive_float(reg_implicit, "reg_implicit")
    n_iterations = check_positive_int(n_iterations, "n_iterations")
    cg_steps = check_positive_int(cg_steps, "cg_steps", low=0)
    if M.nnz == 0:
        raise ValueError("M must hold at least one rating")
    M_columns = M.T.tocsr()
    n_users, n_items = np.diff(M.indptr), np.diff(M_columns.indptr)
    mu = M.data.mean()
    # A user or item without training ratings keeps the penalty lambda (and so zero factors and bias).
    user_penalty = reg_lambda * np.maximum(n_users, 1)
    item_penalty = reg_lambda * np.maximum(n_items, 1)
    rows, columns = np.repeat(np.arange(N), n_users), M.indices
    # The known set as a matrix, rows scaled (W~ in the notes): W_tilde[i, x] = n_i^-1/2 for x rated by i, so that
    # the users' implicit vectors are W_tilde @ Y.
    W_tilde = sp.csr_matrix((1 / np.sqrt(np.maximum(n_users, 1)[rows]), columns, M.indptr), shape=(N, D))
    W_tilde_T = W_tilde.T.tocsr()

    # The closures read P_T = P^T and its rows at the ratings, P_T[columns], as they are when called.
    def weighted_P(values):  # row i: sum over x rated by i of values[(i, x)] * p_x, shape (N, k)
        return sp.csr_matrix((values, columns, M.indptr), shape=(N, D)) @ P_T

    def normal_operator(V):  # V -> W_tilde^T A (W_tilde V) + lambda_y V, A_i = sum_{x rated by i} p_x p_x^T
        return W_tilde_T @ weighted_P(np.einsum("nk,nk->n", (W_tilde @ V)[rows], P_at_ratings)) + reg_implicit * V

    item_bias, Y, implicit = np.zeros(D), np.zeros((D, k)), np.zeros((N, k))
    targets_users, targets_items = M.copy(), M_columns.copy()
    for _ in range(n_iterations):
        P_T = np.ascontiguousarray(P.T)
        targets_users.data = M.data - mu - item_bias[columns] - np.einsum("nk,nk->n", implicit[rows], P_T[columns])
        X = update_factors(targets_users, np.column_stack([P_T, np.ones(D)]), user_penalty)
        Q, user_bias = X[:, :k], X[:, k]
        targets_items.data = M_columns.data - mu - user_bias[M_columns.indices]
        Z = update_factors(targets_items, np.column_stack([Q + implicit, np.ones(N)]), item_penalty)
        P, item_bias = Z[:, :k].T, Z[:, k]
        if cg_steps == 0:
            continue
        # Y's half-step: minimise sum (e_ix - p_x . implicit_i)^2 + lambda_y ||Y||^2, e the residual without Y.
        P_T = np.ascontiguousarray(Z[:, :k])
        P_at_ratings = P_T[columns]
        errors = M.data - mu - user_bias[rows] - item_bias[columns] - np.einsum("nk,nk->n", Q[rows], P_at_ratings)
        residual = W_tilde_T @ weighted_P(errors) - normal_operator(Y)
        direction, squared = residual, np.sum(residual**2)
        for _ in range(cg_steps):
            if squared == 0:
                break
            image = normal_operator(direction)
            step = squared / np.sum(direction * image)
            Y = Y + step * direction
            residual = residual - step * image
            squared, previous = np.sum(residual**2), squared
            direction = residual + (squared / previous) * direction
        implicit = W_tilde @ Y
    return ImplicitModel(mu, user_bias, item_bias, Q, P, Y, implicit)
