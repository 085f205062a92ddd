"""One full ALS sweep on the cold-start core of the default data: `update_factors` against one Ridge.fit per row.

Both start from the same factors and solve the same ridge problems (user half-step, then item half-step), in the
same process. Printed per k: both times, their ratio, the largest difference between the two results, the peak
memory the vectorised sweep allocates (tracemalloc), and its rate in GFLOP/s, counting the floating-point operations
of the k x k form (2 nnz k^2 for the full Gram matrices, 2 k^3 / 3 per LU solve, N + D solves; rows with fewer than k
ratings take the cheaper L x L form, so this is a k x k-equivalent rate), beside the rate of a large matrix
product, the machine's practical limit.

Run: python benchmarks/als.py
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import scipy.sparse as sp
from _timing import best_time, table
from sklearn.linear_model import Ridge

from latent_course.course import load_solution
from latent_course.ratings import yelp_like_ratings
from latent_course.recommender import cold_start_filter, ratings_matrix

solution = load_solution("01_matrix_factorization")
ratings, _ = yelp_like_ratings(random_state=0)
core, _, _ = cold_start_filter(ratings_matrix(ratings.triplets), min_ratings=20)
M, _ = solution.shift_user_mean(core)
M_columns = M.T.tocsr()
REG_LAMBDA = 1.0


def vectorised_sweep(P):
    Q = solution.update_factors(M, P.T, REG_LAMBDA)
    return Q, solution.update_factors(M_columns, Q, REG_LAMBDA).T


def ridge_rows(R: sp.csr_matrix, F: np.ndarray) -> np.ndarray:
    X = np.zeros((R.shape[0], F.shape[1]))
    for i in range(R.shape[0]):
        stored = slice(R.indptr[i], R.indptr[i + 1])
        X[i] = Ridge(alpha=REG_LAMBDA, fit_intercept=False).fit(F[R.indices[stored]], R.data[stored]).coef_
    return X


def ridge_sweep(P):
    Q = ridge_rows(M, P.T)
    return Q, ridge_rows(M_columns, Q).T


rows = []
for k in (20, 100):
    P0 = np.random.default_rng(0).random((k, M.shape[1]))
    t_ours, (Q, P) = best_time(lambda P0=P0: vectorised_sweep(P0), repeat=5)
    t_ridge, (Q_ref, P_ref) = best_time(lambda P0=P0: ridge_sweep(P0), repeat=1)
    difference = max(np.abs(Q - Q_ref).max(), np.abs(P - P_ref).max())
    tracemalloc.start()
    vectorised_sweep(P0)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    flops = 2 * M.nnz * k**2 + sum(M.shape) * 2 * k**3 / 3
    rows.append([k, f"{t_ours:.3f}", f"{t_ridge:.2f}", f"{t_ridge / t_ours:.1f}", f"{difference:.1e}",
                 f"{peak:.0f}", f"{flops / t_ours / 1e9:.1f}"])

big = np.random.default_rng(1).random((2000, 2000))
t_gemm, _ = best_time(lambda: big @ big, repeat=3)
print(f"cold-start core: {M.shape[0]} users x {M.shape[1]} restaurants, {M.nnz:,} ratings, lambda = {REG_LAMBDA}")
print(f"this machine's floating-point limit, as a 2000 x 2000 matrix product: {2 * 2000**3 / t_gemm / 1e9:.0f} GFLOP/s")
table(rows, ["k", "update_factors [s]", "Ridge per row [s]", "ratio", "max difference", "peak MB", "GFLOP/s"])
