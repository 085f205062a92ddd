"""The large cases that topic 01's notebook runs only in part, to the end, with their times.

1. The original exercise's setting (k = 100, lambda = 1e-4, random start, patience 10) until early stopping ends it:
   the notebook shows its first five iterations; here the whole run prints its log, where the validation error is at
   its best and how far the training loss falls.
2. A finer grid of k and lambda than the notebook's, with runs of up to 40 iterations besides the notebook's 20:
   whether the finer grid or the longer runs change the choice.

The data and the split are the notebook's (the synthetic Yelp-like ratings, seed 0, 5,000 validation ratings).

Run: python benchmarks/als_original_setting.py
"""

from __future__ import annotations

import time

import numpy as np

from latent_course.ratings import yelp_like_ratings
from latent_course.recommender import cold_start_filter, ratings_matrix, split_ratings
from latent_course.tools.solutions import load_solution

solution = load_solution("01_matrix_factorization")
ratings, _ = yelp_like_ratings(random_state=0)
core, _, _ = cold_start_filter(ratings_matrix(ratings.triplets), min_ratings=20)
M_train, val_idx, _, val_values, _ = split_ratings(core, n_validation=5000, n_test=5000, random_state=0)
M, user_means = solution.shift_user_mean(M_train)
val_shifted = val_values - user_means[val_idx[0]]
train_idx = np.column_stack([np.repeat(np.arange(M.shape[0]), np.diff(M.indptr)), M.indices])


def validation_rmse(losses):
    """The root mean squared validation error of the best evaluation."""
    return np.sqrt(min(losses) / len(val_values))


print("The original setting: k = 100, lambda = 1e-4, random start, patience 10")
start = time.perf_counter()
_, _, val_losses, train_losses, converged_after = solution.latent_factor_alternating_optimization(
    M, train_idx, 100, val_idx, val_shifted, 1e-4, max_steps=100, init="random", patience=10, log_every=5)
seconds = time.perf_counter() - start
print(f"converged_after = {converged_after}; {len(val_losses)} evaluations in {seconds:.1f} s; the training loss fell "
      f"by a factor of {train_losses[1] / min(train_losses):.0f} after the first sweep\n")

print("The grid of k and lambda: best validation RMSE within 20 and within 40 iterations")
rows = []
start = time.perf_counter()
for k in (2, 5, 10):
    for reg_lambda in (0.3, 1.0, 3.0, 10.0):
        result = solution.latent_factor_alternating_optimization(
            M, train_idx, k, val_idx, val_shifted, reg_lambda, max_steps=40, init="svd", log_every=0)
        within_20 = result[2][:20]
        rows.append((k, reg_lambda, validation_rmse(within_20), validation_rmse(result[2])))
seconds = time.perf_counter() - start
print(f"{'k':>3} {'lambda':>7} {'20 iterations':>14} {'40 iterations':>14}")
for k, reg_lambda, short, long in rows:
    print(f"{k:>3} {reg_lambda:>7g} {short:>14.4f} {long:>14.4f}")
for column, name in [(2, "20"), (3, "40")]:
    best = min(rows, key=lambda row: row[column])
    print(f"chosen within {name} iterations: k = {best[0]}, lambda = {best[1]:g}")
print(f"the grid took {seconds:.1f} s")
