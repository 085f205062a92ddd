"""Argument validation shared by the helpers and the solved notebooks.

Every function raises ``ValueError`` (or ``TypeError``) with a message that names the parameter and the
expected shape or range, and returns the argument as a float array.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_sample_weight",
    "check_autoencoder",
    "check_matrix",
    "check_mixture",
    "check_positive_int",
    "check_positive_float",
    "check_random_state",
    "check_real_array",
]


def check_real_array(value, name: str) -> np.ndarray:
    """Return `value` as a float array, refusing what a plain conversion would silently lose or mangle.

    Complex numbers (NumPy would drop the imaginary part), masked arrays (the mask would be dropped and the hidden
    values used), ragged sequences, strings, None and other objects are a ``TypeError`` naming `name`. Values may be
    NaN or infinite; booleans become 0 and 1.
    """
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name} must not be a masked array (its mask would be ignored); pass {name}.filled(...) or "
                        f"the unmasked values")
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nested sequences
        raise TypeError(f"{name} must be a rectangular array of numbers ({error})") from None
    if array.dtype == object:
        elements = list(array.flat)
        if any(isinstance(element, complex | np.complexfloating) for element in elements):
            raise TypeError(f"{name} must hold real numbers, got complex values (take .real only if that is meant)")
        odd = [element for element in elements if not isinstance(element, numbers.Real)]
        if odd:
            got = repr(value) if array.ndim == 0 else f"{type(value).__name__} holding {type(odd[0]).__name__}"
            raise TypeError(f"{name} must be an array of numbers, got {got}")
        array = array.astype(float)
    if np.iscomplexobj(array):
        raise TypeError(f"{name} must hold real numbers, got complex values (take .real only if that is meant)")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__} of dtype {array.dtype}")
    return array.astype(float, copy=False)


def _as_float_array(value, name: str) -> np.ndarray:
    array = check_real_array(value, name)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must not contain NaN or infinite values")
    return array


def check_matrix(X, name: str = "X", *, min_rows: int = 1) -> np.ndarray:
    """Return `X` as a finite float array of shape (N, D).

    Parameters
    ----------
    X : array-like, shape (N, D)
        The data matrix.
    name : str
        The parameter name used in error messages.
    min_rows : int
        The smallest allowed N.

    Returns
    -------
    X : np.ndarray of float, shape (N, D)
    """
    array = _as_float_array(X, name)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (N, D), got shape {array.shape}")
    if array.shape[0] < min_rows or array.shape[1] < 1:
        raise ValueError(f"{name} must have at least {min_rows} row(s) and one column, got shape {array.shape}")
    return array


def check_positive_int(value, name: str, *, low: int = 1, high: int | None = None) -> int:
    """Return `value` as an int in ``[low, high]`` (no upper bound when `high` is None)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        upper = "" if high is None else f" and at most {high}"
        raise ValueError(f"{name} must be at least {low}{upper}, got {value}")
    return int(value)


def check_positive_float(value, name: str, *, zero_ok: bool = False) -> float:
    """Return `value` as a finite float greater than zero (or equal to it, with `zero_ok`)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not np.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        bound = "at least 0" if zero_ok else "greater than 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value}")
    return float(value)


def check_random_state(random_state, name: str = "random_state") -> np.random.Generator:
    """Return a NumPy Generator for `random_state`: None, a non-negative int or a Generator (returned as is)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise TypeError(f"{name} must be an int seed or a np.random.Generator, got {random_state!r}")
    if random_state < 0:
        raise ValueError(f"{name} must be a non-negative seed, got {random_state}")
    return np.random.default_rng(int(random_state))


def check_mixture(pi, mu, sigma=None, *, atol: float = 1e-8, names=("pi", "mu", "sigma"),
                  positive_definite: bool = False):
    """Validate the parameters of a Gaussian mixture with K components in D dimensions.

    Parameters
    ----------
    pi : array-like, shape (K,)
        Mixing proportions: non-negative and summing to 1.
    mu : array-like, shape (K, D)
        Component means.
    sigma : array-like, shape (K, D, D), optional
        Component covariances: symmetric positive semi-definite (definite with `positive_definite`).
    atol : float
        Tolerance for the sum of the weights, symmetry and the smallest eigenvalue.
    names : tuple of str
        The parameter names used in error messages.
    positive_definite : bool
        Require every covariance to be positive definite (as a density needs), not only semi-definite.

    Returns
    -------
    pi : np.ndarray, shape (K,)
        Renormalised to sum to 1 to the last bit, so that sampling accepts it.
    mu : np.ndarray, shape (K, D)
    sigma : np.ndarray, shape (K, D, D)
        Only returned when `sigma` was given.
    """
    pi_name, mu_name, sigma_name = names
    pi = _as_float_array(pi, pi_name)
    if pi.ndim != 1 or pi.size == 0:
        raise ValueError(f"{pi_name} must be a 1-D array of shape (K,), got shape {pi.shape}")
    if np.any(pi < 0):
        raise ValueError(f"{pi_name} must be non-negative, got smallest weight {pi.min():.3g}")
    if abs(pi.sum() - 1) > atol * max(1, pi.size):
        raise ValueError(f"{pi_name} must sum to 1, got a sum of {pi.sum():.6g}")
    # Exactly 1 from here on: NumPy's sampling (Generator.choice) accepts a smaller error than `atol` * K.
    pi = pi / pi.sum()
    K = pi.shape[0]
    mu = _as_float_array(mu, mu_name)
    if mu.ndim != 2 or mu.shape[0] != K or mu.shape[1] == 0:
        raise ValueError(f"{mu_name} must have shape (K, D) = ({K}, D) with D >= 1 to match {pi_name}, got shape "
                         f"{mu.shape}")
    if sigma is None:
        return pi, mu
    D = mu.shape[1]
    sigma = _as_float_array(sigma, sigma_name)
    if sigma.shape != (K, D, D):
        raise ValueError(
            f"{sigma_name} must have shape (K, D, D) = ({K}, {D}, {D}) to match {pi_name} and {mu_name}, "
            f"got shape {sigma.shape}"
        )
    scale = max(1.0, float(np.abs(sigma).max()))
    asymmetric = np.abs(sigma - sigma.transpose(0, 2, 1)).max(axis=(1, 2)) > atol * scale
    if asymmetric.any():
        raise ValueError(f"{sigma_name}[{int(np.argmax(asymmetric))}] must be symmetric")
    if positive_definite:
        for k, covariance in enumerate(sigma):
            try:
                np.linalg.cholesky(covariance)
            except np.linalg.LinAlgError:
                raise ValueError(f"{sigma_name}[{k}] must be positive definite (its Cholesky factorisation fails)") \
                    from None
        return pi, mu, sigma
    smallest = np.linalg.eigvalsh(sigma)[:, 0]
    if np.any(smallest < -atol * scale):
        k = int(np.argmin(smallest))
        raise ValueError(
            f"{sigma_name}[{k}] must be positive semi-definite, its smallest eigenvalue is {smallest[k]:.3g}"
        )
    return pi, mu, sigma


def check_autoencoder(X, W1, W2):
    """Validate a linear autoencoder's data X (N, D), encoder W1 (D, K) and decoder W2 (K, D).

    Returns
    -------
    X, W1, W2 : np.ndarray of float, shapes (N, D), (D, K) and (K, D)
    """
    X = check_matrix(X)
    D = X.shape[1]
    W1 = _as_float_array(W1, "W1")
    if W1.ndim != 2 or W1.shape[0] != D or not 1 <= W1.shape[1] <= D:
        raise ValueError(f"W1 must have shape (D, K) = ({D}, K) with 1 <= K <= {D}, got shape {W1.shape}")
    K = W1.shape[1]
    W2 = _as_float_array(W2, "W2")
    if W2.shape != (K, D):
        raise ValueError(f"W2 must have shape (K, D) = ({K}, {D}) to match W1, got shape {W2.shape}")
    return X, W1, W2


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray:
    """Return per-sample weights of shape (n_samples,): ones when `sample_weight` is None.

    Weights must be finite and non-negative with a positive sum; they need not sum to one (counts are typical).
    """
    if sample_weight is None:
        return np.ones(n_samples)
    weight = _as_float_array(sample_weight, "sample_weight")
    if weight.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape (N,) = ({n_samples},), got shape {weight.shape}")
    if np.any(weight < 0) or weight.sum() <= 0:
        raise ValueError("sample_weight must be non-negative with a positive sum")
    return weight
