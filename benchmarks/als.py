"""One full ALS sweep on the cold-start core of the default data: `update_factors` against one Ridge.fit per row.

Both start from the same factors and solve the same ridge problems (user half-step, then item half-step), in the
same process. Printed per k: both times, their ratio, the largest difference between the two results, the peak
memory the vectorised sweep allocates (tracemalloc), and its rate in GFLOP/s, counting the floating-point operations
of the k x k form (2 nnz k^2 for the full Gram matrices, 2 k^3 / 3 per LU solve, N + D solves; rows with fewer than k
ratings take the cheaper L x L form, so this is a k x k-equivalent rate), beside the rate of a large matrix
product, the machine's practical limit.

Then, when PySpark and Java 17+ are installed (the `spark` extra), the course's ALS-WR against Spark's ALS in local
mode at 0.9 and 3.7 million ratings: time per iteration, their ratio, the whole fit, test RMSE and peak memory.

Run: python benchmarks/als.py
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from _timing import best_time, table
from sklearn.linear_model import Ridge

from latent_course.course import load_solution
from latent_course.ratings import yelp_like_ratings
from latent_course.recommender import cold_start_filter, predict, ratings_matrix, split_ratings
from latent_course.spark import ratings_dataframe, spark_session, spark_unavailable

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



# The course's ALS-WR (topic 06's `als_wr`, each half-step one call of topic 01's `update_factors`) against Spark's
# ALS in local mode, on the full synthetic data without the cold-start filter and on a set four times larger: same
# ratings (each minus the mean training rating), same rank and number of iterations, same held-out test ratings.
# Time per iteration is (fit with ITERATIONS - fit with 1 iteration) / (ITERATIONS - 1), so that each engine's fixed
# cost per fit (Spark: planning and caching; both: set-up) is left out; the whole fit is reported too. Peak memory:
# for the course, its input matrices plus the peak that tracemalloc sees during the fit; for Spark, the peak resident
# memory of its JVM (VmHWM, which in local mode holds the cached ratings, the factors and the shuffles; it only
# grows, so the smaller data set is measured first).
SPARK_RANK, SPARK_LAMBDA, ITERATIONS = 10, 0.1, 10
SIZES = {"full synthetic data, no cold-start filter": {},
         "4x the ratings and users, 2x the items": {"n_users": 4 * 337_867, "n_items": 2 * 5_899,
                                                    "n_ratings": 4 * 929_606}}


def compare_with_spark(spark, topic06, jvm_peak_mb, size) -> list[str]:
    """One row of the Spark table: both engines on the synthetic data of the given `size`."""
    data, _ = yelp_like_ratings(random_state=0, **size)
    M_all = ratings_matrix(data.triplets)
    M_train, _, test_idx, _, test_values = split_ratings(M_all, n_validation=1, n_test=10_000, random_state=0)
    mu = M_train.data.mean()
    M_train.data -= mu
    train = M_train.tocoo()
    df = ratings_dataframe(spark, train.row, train.col, train.data)
    df.count()

    def ours(n_iterations):
        return topic06.als_wr(M_train, SPARK_RANK, SPARK_LAMBDA, n_iterations)

    def theirs(n_iterations):
        model = topic06.fit_spark_als(df, SPARK_RANK, SPARK_LAMBDA, n_iterations)
        model.userFactors.count()
        return model

    tracemalloc.start()
    t_ours, (Q, P) = best_time(lambda: ours(ITERATIONS), repeat=1)
    peak_ours = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    t_ours_1, _ = best_time(lambda: ours(1), repeat=1)
    theirs(1)  # warm-up: the JVM compiles its code paths on the first fit
    t_spark_1, _ = best_time(lambda: theirs(1), repeat=1)
    t_spark, model = best_time(lambda: theirs(ITERATIONS), repeat=1)
    U = topic06.factors_to_array(model.userFactors.collect(), M_all.shape[0], SPARK_RANK)
    V = topic06.factors_to_array(model.itemFactors.collect(), M_all.shape[1], SPARK_RANK).T
    df.unpersist()
    rmse_ours = np.sqrt(np.mean((test_values - mu - predict(test_idx, Q, P)) ** 2))
    rmse_spark = np.sqrt(np.mean((test_values - mu - predict(test_idx, U, V)) ** 2))
    per_ours, per_spark = (t_ours - t_ours_1) / (ITERATIONS - 1), (t_spark - t_spark_1) / (ITERATIONS - 1)
    inputs = 2 * (M_train.data.nbytes + M_train.indices.nbytes + M_train.indptr.nbytes) / 2**20  # CSR and its transpose
    return [f"{train.nnz:,}", f"{M_all.shape[0]:,}", f"{per_ours:.3f}", f"{per_spark:.3f}",
            f"{per_spark / per_ours:.1f}", f"{t_ours:.1f}", f"{t_spark:.1f}", f"{rmse_ours:.4f}", f"{rmse_spark:.4f}",
            f"{inputs + peak_ours:.0f}", f"{jvm_peak_mb():.0f}"]


def spark_table() -> None:
    reason = spark_unavailable()
    if reason is not None:
        print(f"\nSpark rows skipped: {reason}")
        return
    topic06 = load_solution("06_matrix_factorization_on_spark")
    topic06.als_wr.__globals__["topic01"] = solution  # the notebook assigns it in a cell, which the loader skips
    spark = spark_session("benchmark-als", driver_memory="8g")
    jvm = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()

    def jvm_peak_mb():
        status = Path(f"/proc/{jvm}/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024

    rows = [[label, *compare_with_spark(spark, topic06, jvm_peak_mb, size)] for label, size in SIZES.items()]
    spark.stop()
    print(f"\nALS-WR, rank {SPARK_RANK}, lambda {SPARK_LAMBDA} (Spark's regParam), {ITERATIONS} iterations; Spark in "
          "local mode (2 threads); test RMSE on 10,000 held-out ratings, in stars")
    table(rows, ["data", "ratings", "users", "ours [s/it]", "Spark [s/it]", "ratio", "ours fit [s]", "Spark fit [s]",
                 "RMSE ours", "RMSE Spark", "ours peak MB", "Spark JVM peak MB"])


spark_table()
