"""Self-checks for topic 06: Spark's factors as NumPy arrays, and the ALS-WR objective."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._answers import answer
from ._framework import call, case_rng, check_array, check_close, fail, passed

TOPIC = "06_matrix_factorization_on_spark"
__all__ = ["als_wr_objective", "factors_to_array"]


class _Row(NamedTuple):
    """Stands in for a pyspark Row of ``userFactors``: a tuple (id, features) with named fields."""

    id: int
    features: list


def factors_to_array(function) -> None:
    """Check ``function(rows, n, k)``: (id, features) rows in any order, some ids missing, as an (n, k) array."""
    __tracebackhide__ = True
    rng = case_rng(6)
    expected = rng.normal(size=(7, 3))
    present = np.array([5, 0, 3, 6, 1])  # shuffled, without ids 2 and 4
    expected[[2, 4]] = 0.0
    cases = [(list(range(4)), np.arange(8.0).reshape(4, 2)),  # all ids, in order
             (present, expected)]
    for ids, X in cases:
        rows = [_Row(int(j), X[j].tolist()) for j in ids]
        n, k = X.shape
        inputs = {"rows": rows, "n": n, "k": k}
        result = check_array(function, call(function, **inputs), (n, k), inputs, "the factors")
        missing = sorted(set(range(n)) - {int(j) for j in ids})
        why = ("put the features of id j in row j (the rows come in no particular order); ids without a row get "
               "zeros" + (f" (here ids {missing})" if missing else ""))
        check_close(function, result, X, inputs, what="the factors", why=why)
    inputs = {"rows": [], "n": 2, "k": 3}
    check_close(function, check_array(function, call(function, **inputs), (2, 3), inputs, "the factors"),
                np.zeros((2, 3)), inputs, what="the factors of an empty model", why="no rows: all zeros.")
    passed(function, len(cases) + 1)


@answer
def _objective_reference(values, ixs, Q, P, reg_lambda):
    """The ALS-WR objective by explicit loops over the entries, independent of any vectorised form."""
    total = 0.0
    for value, i, x in zip(values, *ixs, strict=True):
        total += (value - sum(Q[i, d] * P[d, x] for d in range(Q.shape[1]))) ** 2
        total += reg_lambda * (np.dot(Q[i], Q[i]) + np.dot(P[:, x], P[:, x]))  # each entry adds both penalties once
    return total


@answer
def _objective_mistakes(values, ixs, Q, P, reg_lambda):
    """What the usual mistakes return, each with its hint."""
    errors = values - np.einsum("nk,kn->n", Q[ixs[0]], P[:, ixs[1]])
    N, D = Q.shape[0], P.shape[1]
    users = np.bincount(ixs[0], minlength=N) @ np.sum(Q**2, axis=1)
    items = np.bincount(ixs[1], minlength=D) @ np.sum(P**2, axis=0)
    weighted = users + items
    swapped = (np.bincount(ixs[1], minlength=max(N, D))[:N] @ np.sum(Q**2, axis=1)
               + np.bincount(ixs[0], minlength=max(N, D))[:D] @ np.sum(P**2, axis=0))
    return [
        ("that is the unweighted penalty; ALS-WR multiplies each user's squared norm by its number of entries "
         "in ixs (and each item's by its own), e.g. with np.bincount.",
         errors @ errors + reg_lambda * (np.sum(Q**2) + np.sum(P**2))),
        ("the penalty is missing.", errors @ errors),
        ("the objective sums the squared errors; it does not average them.",
         np.mean(errors**2) + reg_lambda * weighted),
        ("the items' penalty is missing: add reg_lambda * sum_x m_x ||P[:, x]||^2, m_x the number of entries of "
         "item x (ixs[1]).", errors @ errors + reg_lambda * users),
        ("the users' penalty is missing: add reg_lambda * sum_i n_i ||Q[i]||^2, n_i the number of entries of "
         "user i (ixs[0]).", errors @ errors + reg_lambda * items),
        ("the counts are swapped: user i's squared norm ||Q[i]||^2 is weighted by n_i, its count in ixs[0] (the "
         "rows), item x's ||P[:, x]||^2 by m_x, its count in ixs[1] (the columns).",
         errors @ errors + reg_lambda * swapped),
        ("the penalty is counted twice (or the errors halved): the objective is sum of squared errors + reg_lambda "
         "* (sum_i n_i ||Q[i]||^2 + sum_x m_x ||P[:, x]||^2), each term once.",
         errors @ errors + 2 * reg_lambda * weighted),
    ]


def _objective_hint(result, mistakes):
    """The hint of the first mistake whose value `result` equals, else the rule."""
    for hint, value in mistakes:
        if np.isclose(result, value):
            return hint
    return ("the objective is the sum of squared errors plus reg_lambda * (sum_i n_i ||Q[i]||^2 + "
            "sum_x m_x ||P[:, x]||^2), with n_i and m_x counted in ixs.")


def als_wr_objective(function) -> None:
    """Check ``function(values, ixs, Q, P, reg_lambda)`` against a loop over the entries, on three problems (more
    users than items, and fewer) where some users and items have no entries, others several (so the weighted and
    the plain penalty differ, and so do the users' and the items' counts). Each usual mistake gets its own hint."""
    __tracebackhide__ = True
    rng = case_rng(7)
    n_cases = 0
    for N, D, k, n, reg_lambda in [(6, 5, 2, 14, 0.3), (9, 4, 3, 20, 2.0), (4, 7, 3, 25, 0.05)]:
        rows = rng.integers(0, N - 1, size=n)  # the last user has no entries
        columns = rng.integers(0, D, size=n)
        Q, P = rng.normal(size=(N, k)), rng.normal(size=(k, D))
        values = rng.normal(size=n)
        inputs = {"values": values, "ixs": (rows, columns), "Q": Q, "P": P, "reg_lambda": reg_lambda}
        result = call(function, **inputs)
        if not isinstance(result, int | float | np.floating | np.integer):
            fail(function, f"should return one number (a float), got {type(result).__name__}", inputs)
        expected = _objective_reference(values, (rows, columns), Q, P, reg_lambda)
        mistakes = _objective_mistakes(values, (rows, columns), Q, P, reg_lambda)
        check_close(function, np.array(float(result)), np.array(expected), inputs, rtol=1e-9,
                    what="the objective", why=_objective_hint(float(result), mistakes))
        n_cases += 1
    passed(function, n_cases)
