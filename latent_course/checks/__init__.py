"""Self-checks a student runs on their own functions, one per task: ``checks.mixture_mean(mixture_mean)``.

A passing check prints one line; a failing one raises :class:`CheckFailure` (an ``AssertionError``) that says
on which input, what was expected and what came back.
"""

from ._framework import CheckFailure, NotImplementedYet, show_failures_without_traceback
from .autoencoder import autoencoder_loss, pca, train_autoencoder
from .clustering import em, gmm_log_probability, gmm_sample, kmeans
from .mixtures import mixture_covariance, mixture_mean
from .recommender import initialize_Q_P, latent_factor_alternating_optimization, shift_user_mean, update_factors
from .sum_of_mixtures import mixture_log_density, sample_sum, sum_of_mixtures

show_failures_without_traceback()

__all__ = [
    "CheckFailure",
    "NotImplementedYet",
    "autoencoder_loss",
    "em",
    "gmm_log_probability",
    "gmm_sample",
    "initialize_Q_P",
    "kmeans",
    "latent_factor_alternating_optimization",
    "mixture_covariance",
    "mixture_log_density",
    "mixture_mean",
    "pca",
    "sample_sum",
    "shift_user_mean",
    "sum_of_mixtures",
    "train_autoencoder",
    "update_factors",
]
