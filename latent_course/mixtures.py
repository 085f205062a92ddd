"""The course's convention for a Gaussian mixture: weights (K,), means (K, D), covariances (K, D, D)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .validation import check_mixture

__all__ = ["Mixture", "as_mixture", "as_mixture_pair"]


class Mixture(NamedTuple):
    """A Gaussian mixture; any plain ``(weights, means, covariances)`` tuple is accepted where this is.

    Attributes
    ----------
    weights : np.ndarray, shape (K,)
        Mixing proportions, non-negative and summing to 1.
    means : np.ndarray, shape (K, D)
    covariances : np.ndarray, shape (K, D, D)
        Symmetric positive semi-definite.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray


def as_mixture(mixture, name: str = "mixture", *, positive_definite: bool = False) -> Mixture:
    """Validate a ``(weights, means, covariances)`` tuple and return it as a :class:`Mixture` of float arrays.

    Covariances must be positive semi-definite, or positive definite with `positive_definite` (for a density).

    Raises
    ------
    ValueError, TypeError
        Naming `name` and the faulty part, e.g. ``mixture_x: weights must sum to 1``.
    """
    try:
        weights, means, covariances = mixture
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a tuple (weights, means, covariances), got {type(mixture).__name__}") from None
    try:
        return Mixture(*check_mixture(weights, means, covariances, names=Mixture._fields,
                                      positive_definite=positive_definite))
    except (TypeError, ValueError) as error:
        raise type(error)(f"{name}: {error}") from None


def as_mixture_pair(mixture_x, mixture_y) -> tuple[Mixture, Mixture]:
    """Validate two mixtures of the same dimension D (see :func:`as_mixture`)."""
    mixture_x, mixture_y = as_mixture(mixture_x, "mixture_x"), as_mixture(mixture_y, "mixture_y")
    D_x, D_y = mixture_x.means.shape[1], mixture_y.means.shape[1]
    if D_x != D_y:
        raise ValueError(f"mixture_y must have the dimension of mixture_x, D = {D_x}, got D = {D_y}")
    return mixture_x, mixture_y
