"""The provided steps of topic 01: the rating matrix, cold-start filtering, the split, the loss and the error.

Known entries are the *stored* entries of a sparse matrix, explicit zeros included: after the user-mean shift, a
rating equal to its user's mean is a stored 0, still known, unlike the unknown entries that are not stored at all.
Nothing here forms the dense N x D matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .validation import check_positive_int

__all__ = ["cold_start_filter", "loss", "predict", "ratings_matrix", "rmse", "split_ratings"]


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
    triplets = np.asarray(triplets)
    if triplets.ndim != 2 or triplets.shape[1] != 3 or len(triplets) == 0:
        raise ValueError(f"triplets must have shape (n_ratings, 3) with n_ratings >= 1, got shape {triplets.shape}")
    users, items = triplets[:, 0].astype(np.int64), triplets[:, 1].astype(np.int64)
    if users.min() < 0 or items.min() < 0 or np.any(users != triplets[:, 0]) or np.any(items != triplets[:, 1]):
        raise ValueError("triplets must hold non-negative integer user and item indices in columns 0 and 1")
    N, D = shape if shape is not None else (int(users.max()) + 1, int(items.max()) + 1)
    if users.max() >= N or items.max() >= D:
        raise ValueError(f"shape {(N, D)} is too small for the largest user and item indices")
    codes = np.sort(users * D + items)
    repeated = int(np.count_nonzero(codes[1:] == codes[:-1]))
    if repeated:
        raise ValueError(f"triplets hold {repeated} repeated (user, item) pair(s); each pair may be rated once")
    return sp.csr_matrix((triplets[:, 2].astype(float), (users, items)), shape=(N, D))


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
    coo = sp.coo_matrix(matrix)
    n_validation = check_positive_int(n_validation, "n_validation")
    n_test = check_positive_int(n_test, "n_test")
    if n_validation + n_test >= coo.nnz:
        raise ValueError(f"n_validation + n_test must be smaller than the number of ratings, {coo.nnz}")
    order = np.random.default_rng(random_state).permutation(coo.nnz)
    validation, test, rest = np.split(order, [n_validation, n_validation + n_test])
    train = sp.csr_matrix((coo.data[rest], (coo.row[rest], coo.col[rest])), shape=coo.shape)
    return (train, (coo.row[validation], coo.col[validation]), (coo.row[test], coo.col[test]),
            coo.data[validation], coo.data[test])


def predict(ixs, Q, P):
    """The model's values Q[i] . P[:, j] at the entries ``ixs = (rows, columns)``, shape (n,), without Q @ P."""
    Q, P = np.asarray(Q, dtype=float), np.asarray(P, dtype=float)
    if Q.ndim != 2 or P.ndim != 2 or Q.shape[1] != P.shape[0]:
        raise ValueError(f"Q and P must have shapes (N, k) and (k, D) with the same k, got {Q.shape} and {P.shape}")
    try:
        rows, columns = (np.asarray(index, dtype=np.intp) for index in ixs)
    except (TypeError, ValueError):
        raise ValueError("ixs must be a pair (rows, columns) of integer index arrays") from None
    if rows.shape != columns.shape or rows.ndim != 1:
        raise ValueError(f"ixs must hold two index arrays of the same length, got shapes {rows.shape} and "
                         f"{columns.shape}")
    return np.einsum("nk,kn->n", Q[rows], P[:, columns])


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
        The regularisation strength; 0 gives the sum of squared errors alone.

    Returns
    -------
    loss : float
        sum((values - Q[i] . P[:, j])^2) + reg_lambda * (||P||_F^2 + ||Q||_F^2).
    """
    errors = _known_values(values, ixs) - predict(ixs, Q, P)
    return float(errors @ errors + reg_lambda * (np.sum(np.square(P)) + np.sum(np.square(Q))))


def rmse(values, ixs, Q, P, offsets=None):
    """Root mean squared error of the predictions at `ixs`; `offsets` (shape (n,)) are added to the predictions."""
    predictions = predict(ixs, Q, P) + (0 if offsets is None else offsets)
    return float(np.sqrt(np.mean((_known_values(values, ixs) - predictions) ** 2)))


def _known_values(values, ixs) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.shape != (len(ixs[0]),):
        raise ValueError(f"values must have shape (n,) = ({len(ixs[0])},) to match ixs, got {values.shape}")
    return values
