"""The topic 06 checks accept the solution and catch the typical wrong implementations (no Spark needed)."""

import numpy as np
import pytest
from checking import assert_catches, assert_passes, mutant_params

from latent_course import checks
from latent_course.recommender import predict
from latent_course.tools.solutions import load_solution

solution = load_solution("06_matrix_factorization_on_spark")


def test_the_solutions_pass(capsys):
    assert_passes(checks.factors_to_array, solution.factors_to_array, capsys)
    assert_passes(checks.als_wr_objective, solution.als_wr_objective, capsys)


def _in_given_order(rows, n, k):
    return np.array([features for _, features in rows], dtype=float).reshape(-1, k)


def _ones_for_missing(rows, n, k):
    X = np.ones((n, k))
    for j, features in rows:
        X[j] = features
    return X


def _transposed(rows, n, k):
    return solution.factors_to_array(rows, n, k).T


FACTOR_MUTANTS = {
    "rows stacked in the order they came": (_in_given_order, "shape|id j in row j"),
    "ones for ids without a row": (_ones_for_missing, "zeros"),
    "transposed": (_transposed, r"shape \(4, 2\)"),
    "a list": (lambda rows, n, k: [list(f) for _, f in rows], "NumPy array"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(FACTOR_MUTANTS))
def test_factors_check_catches(mutant, fragment):
    assert_catches(checks.factors_to_array, mutant, fragment)


def _errors(values, ixs, Q, P):
    return values - predict(ixs, Q, P)


def _weighted_norms(ixs, Q, P):
    return (np.bincount(ixs[0], minlength=Q.shape[0]) @ np.sum(Q**2, axis=1)
            + np.bincount(ixs[1], minlength=P.shape[1]) @ np.sum(P**2, axis=0))


OBJECTIVE_MUTANTS = {
    "unweighted penalty": (lambda v, ixs, Q, P, lam: float(_errors(v, ixs, Q, P) @ _errors(v, ixs, Q, P)
                                                          + lam * (np.sum(Q**2) + np.sum(P**2))), "unweighted"),
    "no penalty": (lambda v, ixs, Q, P, lam: float(_errors(v, ixs, Q, P) @ _errors(v, ixs, Q, P)), "missing"),
    "mean squared error": (lambda v, ixs, Q, P, lam: float(np.mean(_errors(v, ixs, Q, P) ** 2)
                                                           + lam * _weighted_norms(ixs, Q, P)), "does not average"),
    "counts swapped between users and items": (
        lambda v, ixs, Q, P, lam: float(_errors(v, ixs, Q, P) @ _errors(v, ixs, Q, P) + lam * (
            np.bincount(ixs[1], minlength=Q.shape[0])[:Q.shape[0]] @ np.sum(Q**2, axis=1)
            + np.bincount(ixs[0], minlength=P.shape[1])[:P.shape[1]] @ np.sum(P**2, axis=0))), "counts are swapped"),
    "only the users' penalty": (
        lambda v, ixs, Q, P, lam: float(_errors(v, ixs, Q, P) @ _errors(v, ixs, Q, P)
                                        + lam * np.bincount(ixs[0], minlength=Q.shape[0]) @ np.sum(Q**2, axis=1)),
        "items' penalty is missing"),
    "only the items' penalty": (
        lambda v, ixs, Q, P, lam: float(_errors(v, ixs, Q, P) @ _errors(v, ixs, Q, P)
                                        + lam * np.bincount(ixs[1], minlength=P.shape[1]) @ np.sum(P**2, axis=0)),
        "users' penalty is missing"),
    "penalty counted twice": (
        lambda v, ixs, Q, P, lam: float(_errors(v, ixs, Q, P) @ _errors(v, ixs, Q, P)
                                        + 2 * lam * _weighted_norms(ixs, Q, P)), "counted twice"),
    "an array instead of a number": (lambda v, ixs, Q, P, lam: _errors(v, ixs, Q, P) ** 2, "one number"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(OBJECTIVE_MUTANTS))
def test_objective_check_catches(mutant, fragment):
    assert_catches(checks.als_wr_objective, mutant, fragment)


def test_stubs_are_not_implemented_yet():
    def factors_to_array(rows, n, k):
        raise NotImplementedError

    def als_wr_objective(values, ixs, Q, P, reg_lambda):
        raise NotImplementedError

    with pytest.raises(checks.NotImplementedYet, match="factors_to_array: not implemented yet"):
        checks.factors_to_array(factors_to_array)
    with pytest.raises(checks.NotImplementedYet, match="als_wr_objective: not implemented yet"):
        checks.als_wr_objective(als_wr_objective)
