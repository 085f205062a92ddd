"""One full ALS sweep on the cold-start core of the default data: `update_factors` against one Ridge.fit per row.

Both start from the same factors and solve the same ridge problems (user half-step, then item half-step), in the
same process. Printed per k: both times, their ratio, the largest difference between the two results, the peak
memory the vectorised sweep allocates (tracemalloc), and its rate in GFLOP/s, counting the floating-point operations
of the k x k form (2 nnz k^2 for the full Gram matrices, 2 k^3 / 3 per LU solve, N + D solves; rows with fewer than k
ratings take the cheaper L x L form, so this is a k x k-equivalent rate), beside the rate of a large matrix
product, the machine's practical limit.

Then, when PySpark and Java 17+ are installed (the `spark` extra), the course's ALS-WR (as topic 06's `als_wr` and
its planned form `als_wr_planned`) against Spark's ALS in local mode at 0.9 and 3.7 million ratings: time per
iteration, Spark's time divided by each engine's, the whole fit, test RMSE and peak memory.

Run: python benchmarks/als.py
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from _timing import best_time, table
from sklearn.linear_model import Ridge

from latent_course.ratings import yelp_like_ratings
from latent_course.recommender import cold_start_filter, predict, ratings_matrix, split_ratings
from latent_course.spark import ratings_dataframe, spark_session, spark_unavailable
from latent_course.tools.solutions import load_solution

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



# The course's ALS-WR against Spark's ALS in local mode, on the full synthetic data without the cold-start filter and
# on a set four times larger: same ratings (each minus the mean training rating), same rank and number of iterations,
# same held-out test ratings. The course's engine in two forms, both from topic 06: `als_wr` (each half-step one call
# of topic 01's `update_factors`) and `als_wr_planned` (its going-further part: the rows' layout worked out once, as
# Spark does with its blocks). Each engine runs alone: the course's fits before Spark starts, so that the JVM's
# threads do not share the cores with them. Time per iteration is (fit with ITERATIONS - fit with 1 iteration) /
# (ITERATIONS - 1), each the best of REPEAT fits, so that each engine's fixed cost per fit (Spark: planning and
# caching; the course: the transpose and the plan) is left out; the whole fit is reported too. Peak memory: for the
# course, its input matrices plus the peak that tracemalloc sees during the fit; for Spark, the peak resident memory of
# its JVM (VmHWM, which in local mode holds the cached ratings, the factors and the shuffles; it only grows, so the
# smaller data set is measured first).
SPARK_RANK, SPARK_LAMBDA, ITERATIONS, REPEAT = 10, 0.1, 10, 3
SIZES = {"full synthetic data, no cold-start filter": {},
         "4x the ratings and users, 2x the items": {"n_users": 4 * 337_867, "n_items": 2 * 5_899,
                                                    "n_ratings": 4 * 929_606}}
SPARK = "Spark, local mode"


def training_and_test(size):
    """The training ratings minus their mean, the mean, and the test ratings, of the synthetic data of `size`."""
    data, _ = yelp_like_ratings(random_state=0, **size)
    M_all = ratings_matrix(data.triplets)
    M_train, _, test_idx, _, test_values = split_ratings(M_all, n_validation=1, n_test=10_000, random_state=0)
    mu = M_train.data.mean()
    M_train.data -= mu
    return M_train, mu, test_idx, test_values


def measure(fit, factors):
    """Time per iteration, whole fit and the factors of `fit(n_iterations)`; `factors(result)` gives (Q, P)."""
    t_one, _ = best_time(lambda: fit(1), repeat=REPEAT)
    t_all, result = best_time(lambda: fit(ITERATIONS), repeat=REPEAT)
    return (t_all - t_one) / (ITERATIONS - 1), t_all, factors(result)


def course_engines(topic06, M_train) -> dict:
    """{engine: (time per iteration, whole fit, (Q, P), peak MB)} for both forms of the course's ALS-WR."""
    inputs = 2 * (M_train.data.nbytes + M_train.indices.nbytes + M_train.indptr.nbytes) / 2**20  # CSR and transpose
    engines = {}
    for name, als in [("course, update_factors", topic06.als_wr), ("course, planned", topic06.als_wr_planned)]:
        def fit(n_iterations, als=als):
            return als(M_train, SPARK_RANK, SPARK_LAMBDA, n_iterations)
        tracemalloc.start()
        fit(ITERATIONS)
        peak = inputs + tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        engines[name] = (*measure(fit, lambda factors: factors), peak)
    return engines


def spark_engine(spark, topic06, jvm_peak_mb, M_train) -> tuple:
    """(time per iteration, whole fit, (Q, P), JVM peak MB) of Spark's ALS on the same training ratings."""
    train = M_train.tocoo()
    df = ratings_dataframe(spark, train.row, train.col, train.data)
    df.count()

    def fit(n_iterations):
        model = topic06.fit_spark_als(df, SPARK_RANK, SPARK_LAMBDA, n_iterations)
        model.userFactors.count()
        return model

    def factors(model):
        return (topic06.factors_to_array(model.userFactors.collect(), M_train.shape[0], SPARK_RANK),
                topic06.factors_to_array(model.itemFactors.collect(), M_train.shape[1], SPARK_RANK).T)

    fit(1)  # warm-up: the JVM compiles its code paths on the first fit
    result = (*measure(fit, factors), jvm_peak_mb())
    df.unpersist()
    return result


def spark_table() -> None:
    topic06 = load_solution("06_matrix_factorization_on_spark")
    data = {label: training_and_test(size) for label, size in SIZES.items()}
    engines = {label: course_engines(topic06, M_train) for label, (M_train, *_) in data.items()}
    reason = spark_unavailable()
    if reason is None:
        spark = spark_session("benchmark-als", driver_memory="8g", small_job=False)
        jvm = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()

        def jvm_peak_mb():
            status = Path(f"/proc/{jvm}/status").read_text()
            return int(status.split("VmHWM:")[1].split()[0]) / 1024

        for label, (M_train, *_) in data.items():
            engines[label][SPARK] = spark_engine(spark, topic06, jvm_peak_mb, M_train)
        spark.stop()
    rows = []
    for label, (M_train, mu, test_idx, test_values) in data.items():
        for name, (per_iteration, whole_fit, (Q, P), peak) in engines[label].items():
            rmse = np.sqrt(np.mean((test_values - mu - predict(test_idx, Q, P)) ** 2))
            ratio = f"{engines[label][SPARK][0] / per_iteration:.1f}" if SPARK in engines[label] else "-"
            rows.append([label, f"{M_train.nnz:,}", f"{M_train.shape[0]:,}", name, f"{per_iteration:.3f}", ratio,
                         f"{whole_fit:.1f}", f"{rmse:.4f}", f"{peak:,.0f}"])
    print(f"\nALS-WR, rank {SPARK_RANK}, lambda {SPARK_LAMBDA} (Spark's regParam), {ITERATIONS} iterations; Spark in "
          "local mode (2 threads); test RMSE on 10,000 held-out ratings, in stars; Spark / engine = Spark's time per "
          "iteration divided by the engine's")
    if reason is not None:
        print(f"Spark rows skipped: {reason}")
    table(rows, ["data", "ratings", "users", "engine", "s/iteration", "Spark / engine", "whole fit [s]", "test RMSE",
                 "peak MB"])


spark_table()
