"""Claims of the lecture notes on topic 06 that are checked here rather than in the notebook."""

import numpy as np
import pytest

from latent_course.ratings import yelp_like_ratings
from latent_course.recommender import ratings_matrix, split_ratings

pytestmark = pytest.mark.full_course  # about the notes of the course: not in a student edition


@pytest.fixture(scope="module")
def users_lengths():
    """The users' numbers of ratings in the full synthetic data and in the benchmark's training split."""
    data, _ = yelp_like_ratings(random_state=0)
    M_all = ratings_matrix(data.triplets)
    M_train = split_ratings(M_all, n_validation=1, n_test=10_000, random_state=0)[0]
    return [np.diff(M.tocsr().indptr) for M in (M_all, M_train)]


def test_short_rows_dominate_the_full_synthetic_data(users_lengths):
    for lengths in users_lengths:
        rated = lengths[lengths > 0]
        assert 0.965 < np.mean(rated < 10) < 0.975  # checks: short-row-groups, engine-operation-counts
        assert 175_000 < np.bincount(rated).max() < 185_000  # checks: short-row-groups
        assert 0.525 < np.mean(rated == 1) < 0.535  # checks: one-rating-users
