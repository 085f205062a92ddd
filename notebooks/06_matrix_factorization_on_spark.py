# %% [markdown]
# # 06 · The same model on Apache Spark
#
# Topic 01 ends with ALS-WR: alternating least squares with every vector's penalty scaled by its number of ratings.
# That is the model Apache Spark's `pyspark.ml.recommendation.ALS` fits, and Spark runs it on one machine or on a
# cluster of hundreds, on data far larger than one machine's memory (the full Yelp data set has about 7 million
# reviews; web shops have billions of ratings). This notebook fits Spark's ALS in local mode on the same synthetic
# data and split as topic 01, next to the course's own ALS-WR, and shows that both optimise the same objective; then
# how the same code runs on a cluster, and, from the benchmark, where each engine wins. The lecture notes
# [derivations/06_matrix_factorization_on_spark.md](../derivations/06_matrix_factorization_on_spark.md) map the
# parameters and derive the objective.
#
# **Your tasks**
#
# 1. `factors_to_array(rows, n, k)`: Spark's factors, rows of (id, features), as a NumPy array.
# 2. `als_wr_objective(values, ixs, Q, P, reg_lambda)`: the objective both engines minimise.
#
# You need the `spark` extra (`pip install -e ".[spark]"`) and Java 17 or newer; the next cell says what is missing.

# %%
from latent_course.spark import spark_session

# Without PySpark or Java 17+, this stops here and says what to install.
spark = spark_session("latent-course-06")

# %%
import tempfile
import time

import numpy as np
import scipy.sparse as sp

from latent_course import checks
from latent_course.notebook import load_topic
from latent_course.ratings import yelp_like_ratings
from latent_course.recommender import cold_start_filter, predict, ratings_matrix, rmse, split_ratings
from latent_course.spark import ratings_dataframe

np.set_printoptions(precision=3, suppress=True)
topic01 = load_topic("01_matrix_factorization")  # topic 01's functions (only their definitions are run)

# %% [markdown]
# ## The same data, split and shift as topic 01 (nothing to do here)
#
# The synthetic Yelp-shaped ratings, their cold-start core, 5,000 validation and 5,000 test ratings, and every user's
# mean subtracted from their training ratings. Both engines get exactly these shifted training ratings.

# %%
ratings, truth = yelp_like_ratings(random_state=0)
M, kept_users, kept_items = cold_start_filter(ratings_matrix(ratings.triplets), min_ratings=20)
M_train, val_idx, test_idx, val_values, test_values = split_ratings(M, n_validation=5000, n_test=5000, random_state=0)
M_shifted, user_means = topic01.shift_user_mean(M_train)
train = M_shifted.tocoo()
print(f"{M.shape[0]:,} users, {M.shape[1]:,} restaurants, {train.nnz:,} training ratings")

# %% [markdown]
# ## The course's ALS-WR
#
# Spark's explicit-feedback model has no bias terms: it is topic 01's plain model with the weighted penalty,
#
# $$\mathcal{L}_{\mathrm{WR}}(Q, P) = \sum_{(i, x) \in W} \big(M_{ix} - \mathbf{q}_i^\top \mathbf{p}_x\big)^2 + \lambda \Big(\sum_i n_i \lVert \mathbf{q}_i \rVert^2 + \sum_x m_x \lVert \mathbf{p}_x \rVert^2\Big),$$
#
# with $n_i$ and $m_x$ the numbers of training ratings of user $i$ and restaurant $x$. Each half-step is one call of
# topic 01's `update_factors` with one penalty per row.

# %%
def als_wr(M, k, reg_lambda, n_iterations=10, random_state=0):
    """ALS-WR: alternating ridge regressions with penalty reg_lambda * (number of ratings) per row.

    Parameters
    ----------
    M : scipy.sparse matrix, shape (N, D)
        The training ratings as stored entries.
    k : int
    reg_lambda : float
    n_iterations : int
        Each iteration updates Q, then P.
    random_state : int
        Seed of the initial P (uniform entries, as Spark's are random too).

    Returns
    -------
    Q : np.ndarray, shape (N, k)
    P : np.ndarray, shape (k, D)
    """
    M = sp.csr_matrix(M, dtype=float)
    M_columns = M.T.tocsr()
    user_penalty = reg_lambda * np.maximum(np.diff(M.indptr), 1)
    item_penalty = reg_lambda * np.maximum(np.diff(M_columns.indptr), 1)
    _, P = topic01.initialize_Q_P(M, k, "random", random_state)
    for _ in range(n_iterations):
        Q = topic01.update_factors(M, P.T, user_penalty)
        P = topic01.update_factors(M_columns, Q, item_penalty).T
    return Q, P


def star_rmse(idx, values, Q, P):
    """Test or validation RMSE in stars: the user's mean added back to the model's prediction."""
    return rmse(values, idx, Q, P, user_means[idx[0]])


# %% [markdown]
# $k$ and $\lambda$ are chosen on the validation ratings, as in topic 01 (the course's code makes this quick):

# %%
scores = {(k, lam): star_rmse(val_idx, val_values, *als_wr(M_shifted, k, lam)) for k in [4, 5, 6]
          for lam in [0.03, 0.05, 0.1]}
K, LAMBDA = min(scores, key=scores.get)
N_ITERATIONS = 10  # Spark's default maxIter
print(f"chosen: k = {K}, lambda = {LAMBDA:g}, validation RMSE {scores[K, LAMBDA]:.3f}")

# %% [markdown]
# ## Spark's ALS on the same ratings
#
# Spark works on DataFrames: tables with named columns, split into partitions that executors process in parallel.
# `ratings_dataframe` turns the NumPy triplets into one (columns `user`, `item`, `rating`). Each parameter of
# `ALS` has a counterpart in the course's code (the notes give the full table):
#
# | Spark `ALS(...)` | the course | meaning |
# |---|---|---|
# | `rank` | `k` | latent dimension |
# | `maxIter` | `n_iterations` | sweeps; each of Spark's solves all items, then all users (the course's: users, then items) |
# | `regParam` | `reg_lambda` | $\lambda$; Spark multiplies it by each row's number of ratings (ALS-WR) |
# | `implicitPrefs=False` | (explicit ratings) | `True` fits clicks or plays with confidence weights (Hu, Koren, Volinsky 2008), a different objective over all $N \times D$ entries |
# | `nonnegative=False` | (plain ridge solves) | `True` solves each row by non-negative least squares: factors $\geq 0$ |
# | `coldStartStrategy="nan"` | `cold_start_filter` before training | a user or item without training ratings has no factors: Spark predicts NaN (or drops the row with `"drop"`); the course removes such users beforehand, and its code gives an unrated row zero factors (so the prediction falls back to the user's mean) |
# | `seed` | `random_state` | initial factors (Spark's and ours differ, so the iterates differ) |
# | `numUserBlocks`, `numItemBlocks` | `block_size` | how the rows are partitioned (Spark: across executors; ours: memory per batch) |

# %%
def fit_spark_als(ratings_df, k, reg_lambda, n_iterations, seed=0):
    """Spark's explicit ALS-WR on a DataFrame with columns user, item and rating; returns the fitted ALSModel."""
    from pyspark.ml.recommendation import ALS

    als = ALS(rank=k, maxIter=n_iterations, regParam=reg_lambda, implicitPrefs=False, nonnegative=False,
              coldStartStrategy="nan", userCol="user", itemCol="item", ratingCol="rating", seed=seed,
              numUserBlocks=2, numItemBlocks=2)
    return als.fit(ratings_df)


train_df = ratings_dataframe(spark, train.row, train.col, train.data)
print(f"{train_df.count():,} rows in the Spark DataFrame, columns {train_df.columns}")

# %% [markdown]
# Both fits, timed side by side. An engine's first fit includes its warm-up (Spark's JVM loads and compiles its code
# then), so each engine first makes a one-iteration fit that is not timed.

# %%
# NBVAL_IGNORE_OUTPUT
# (its output is ignored by the tests: wall-clock times differ between runs and machines)
timings = {}
for engine in ["course", "Spark"]:
    for n_iterations in [1, N_ITERATIONS]:  # the warm-up, then the timed fit
        start = time.perf_counter()
        if engine == "course":
            Q_ours, P_ours = als_wr(M_shifted, K, LAMBDA, n_iterations)
        else:
            spark_model = fit_spark_als(train_df, K, LAMBDA, n_iterations)
        timings[engine] = time.perf_counter() - start
for engine, seconds in timings.items():
    print(f"{engine:>6}: fit {seconds:6.2f} s, {seconds / N_ITERATIONS * 1000:6.1f} ms per iteration")
print(f"the course's code is {timings['Spark'] / timings['course']:.1f} times faster on this small core")

# %% [markdown]
# ## Task 1: Spark's factors as NumPy arrays
#
# A fitted `ALSModel` holds its factors as two DataFrames, `userFactors` and `itemFactors`, with columns `id` and
# `features` (a list of $k$ numbers). `collect()` returns their rows, each a pair `(id, features)`, **in no
# particular order**, and only for ids that had training ratings. Write `factors_to_array(rows, n, k)` that puts
# row `id`'s features at index `id` of an `(n, k)` array and leaves zeros where no row came back.

# %%
def factors_to_array(rows, n, k):
    """Spark's (id, features) rows as an array with the features of id j in row j.

    Parameters
    ----------
    rows : iterable of (int, sequence of float)
        As returned by ``model.userFactors.collect()``: any order, some ids possibly missing.
    n : int
        The number of ids, all in range(n).
    k : int
        The length of every features vector.

    Returns
    -------
    X : np.ndarray, shape (n, k)
        X[j] holds the features of id j; zeros for an id without a row.
    """
    # TODO: start from zeros; index the array by the ids, not by the position of the rows.
    raise NotImplementedError


# %%
checks.factors_to_array(factors_to_array)

# %%
Q_spark = factors_to_array(spark_model.userFactors.collect(), M.shape[0], K)
P_spark = factors_to_array(spark_model.itemFactors.collect(), M.shape[1], K).T
results = {"the course's ALS-WR": star_rmse(test_idx, test_values, Q_ours, P_ours),
           "Spark's ALS": star_rmse(test_idx, test_values, Q_spark, P_spark)}
for engine, value in results.items():
    print(f"{engine:<20} test RMSE {value:.3f}")
assert abs(results["Spark's ALS"] - results["the course's ALS-WR"]) < 0.005
print("the two test RMSEs agree within 0.005")

# %% [markdown]
# ## Task 2: the objective, evaluated on both engines' factors
#
# Equal test errors suggest the same model; the objective shows it. Write `als_wr_objective(values, ixs, Q, P,
# reg_lambda)`: $\mathcal{L}_{\mathrm{WR}}$ above, the sum of squared errors at the entries `ixs = (rows, columns)`
# plus $\lambda$ times each user's and each item's squared norm weighted by **its number of entries in `ixs`** (a
# user with no entry there adds nothing). Count with `np.bincount`; do not form $QP$.

# %%
def als_wr_objective(values, ixs, Q, P, reg_lambda):
    """The ALS-WR objective at the known entries.

    Parameters
    ----------
    values : np.ndarray, shape (n,)
        The known values.
    ixs : tuple (rows, columns) of np.ndarray, each of shape (n,)
    Q : np.ndarray, shape (N, k)
    P : np.ndarray, shape (k, D)
    reg_lambda : float

    Returns
    -------
    objective : float
        sum((values - Q[i] . P[:, x])^2) + reg_lambda * (sum_i n_i ||Q[i]||^2 + sum_x m_x ||P[:, x]||^2), with n_i
        and m_x the numbers of entries of row i and column x in ixs.
    """
    # TODO: squared errors from predict(); counts per row and column with np.bincount; weighted norms.
    raise NotImplementedError


# %%
checks.als_wr_objective(als_wr_objective)

# %% [markdown]
# On the same training ratings, the objective of Spark's factors and of ours; then one more sweep of the
# course's code (the users' half-step, then the items') started **from Spark's factors**. If Spark had stopped far from a minimum of
# $\mathcal{L}_{\mathrm{WR}}$, or minimised another objective (for example with the penalty $\lambda$ not multiplied
# by the counts), that step would lower the objective noticeably.

# %%
train_ixs = (train.row, train.col)


def objective(Q, P):
    return als_wr_objective(train.data, train_ixs, Q, P, LAMBDA)


def one_more_sweep(Q, P, weights):
    """One course ALS sweep (the users' half-step, then the items'), from (Q, P), with penalty LAMBDA * weights."""
    M_columns = M_shifted.T.tocsr()
    Q = topic01.update_factors(M_shifted, P.T, LAMBDA * weights[0])
    return Q, topic01.update_factors(M_columns, Q, LAMBDA * weights[1]).T


counts = (np.maximum(np.diff(M_shifted.indptr), 1), np.maximum(np.bincount(train.col, minlength=M.shape[1]), 1))
ours, theirs = objective(Q_ours, P_ours), objective(Q_spark, P_spark)
after = objective(*one_more_sweep(Q_spark, P_spark, counts))
print(f"objective of Spark's factors / of the course's: {theirs / ours:.3f}")
np.testing.assert_allclose(theirs, ours, rtol=0.01)
assert 0 <= theirs - after < 1e-3 * theirs
print("one course sweep from Spark's factors lowers the objective by less than 0.1%")
# The same sweep with the unweighted penalty lambda optimises another objective: it moves the factors far.
Q_plain, P_plain = one_more_sweep(Q_spark, P_spark, (1, 1))
moved = np.linalg.norm(Q_plain - Q_spark) / np.linalg.norm(Q_spark)
print(f"with the unweighted penalty instead, Spark's factors move by {moved:.0%} (relative norm of the change of Q)")
assert 0.1 < moved < 0.2

# %% [markdown]
# ## The same user, both engines
#
# Topic 01's sample user: the first with 30 ratings. Both engines' top five among the restaurants they have not rated,
# with the predicted stars (the factors differ in a rotation and in the random start, the predictions hardly).

# %%
user = int(np.argmax(np.diff(M.indptr) == 30))
rated = M[user].indices
for engine, (Q, P) in {"course": (Q_ours, P_ours), "Spark": (Q_spark, P_spark)}.items():
    scores = Q[user] @ P + user_means[user]
    scores[rated] = -np.inf
    top = np.argsort(scores)[::-1][:5]
    listed = ", ".join(f"{ratings.item_ids[kept_items[item]]} ({scores[item]:.2f})" for item in top)
    print(f"{engine:>6}: {listed}")

# %% [markdown]
# ## On a cluster
#
# Nothing in `fit_spark_als` depends on where Spark runs. To move to a cluster:
#
# * **The master URL.** `spark_session` reads it from the environment variable `SPARK_MASTER` (default
#   `local[2]`: this machine, two threads): `SPARK_MASTER=spark://head-node:7077 jupyter lab`, or `yarn`, or
#   `k8s://https://...`. With `spark-submit`, its `--master` option does the same.
# * **The data.** A NumPy array lives in the driver's memory; a cluster's executors read the ratings themselves,
#   from shared storage (HDFS, S3, a network file system), usually as Parquet: a compressed column store that Spark
#   reads in parallel, one partition per file block. The next cell writes the training ratings as Parquet and checks
#   that what it reads back is the DataFrame fitted above, row for row, ready for `fit_spark_als`; on a cluster the
#   path would be `s3a://bucket/ratings/` or `hdfs://...`.
# * **Partitioning.** `numUserBlocks` and `numItemBlocks` (default 10) split the users and items into blocks; every
#   iteration ships each item block's factors to the user blocks that need them. Use about as many blocks as there
#   are executor cores: more blocks add shuffle traffic, fewer leave cores idle. `spark.sql.shuffle.partitions`
#   (set to 4 here, default 200) sizes the other shuffles.
# * **Checkpointing.** Each iteration extends the lineage (the recipe to recompute lost partitions); after some
#   iterations it grows long enough to overflow the stack when a task is serialised, or to make a lost executor very
#   costly. With a checkpoint directory, `checkpointInterval=10`
#   (the default) truncates it every 10 iterations; without one, ALS silently skips checkpointing. `spark_session`
#   sets a temporary directory, right for local mode; on a cluster pass `checkpoint_dir="hdfs://..."`, on shared
#   storage.

# %%
parquet_dir = tempfile.mkdtemp(prefix="ratings-parquet-")
train_df.write.mode("overwrite").parquet(parquet_dir)
from_parquet = spark.read.parquet(parquet_dir)
n_read = from_parquet.count()
print(f"{n_read:,} ratings read back from Parquet, in {from_parquet.rdd.getNumPartitions()} partition(s)")
assert from_parquet.schema == train_df.schema
# As many rows, and none left over after removing train_df's (counted with repeats, as exceptAll does): the same rows.
assert n_read == train_df.count() and from_parquet.exceptAll(train_df).isEmpty()
print("the same columns and rows as train_df: fit_spark_als(from_parquet, K, LAMBDA, N_ITERATIONS) fits from the files")

# %% [markdown]
# ## When the data outgrows the core
#
# The core above is small: 182,715 ratings, where the course's NumPy code needs a fraction of a second per iteration
# and Spark mostly pays for scheduling its tasks. `benchmarks/als.py` compares the two engines in one process at the
# scale where one machine's NumPy code starts to hurt: the full synthetic data without the cold-start filter (929,606
# ratings from 337,867 users; 919,605 of them for training) and a synthetic set with four times the ratings and
# users (3,708,423 training ratings from 1,351,468 users) and twice the restaurants, with rank 10, `regParam` 0.1 and
# 10 iterations for both, on the same machine, each engine alone on it. The course's ALS-WR appears twice: `als_wr`
# above, and `als_wr_planned`, the same arithmetic with the rows' layout worked out once (the solved notebook's
# going-further part). One run on an otherwise idle two-core machine (Spark in local mode with both cores; the
# course's code on one):
#
# | training ratings | engine | s/iteration | Spark's time / this | whole fit [s] | test RMSE | peak memory |
# |---|---|---|---|---|---|---|
# | 919,605 | course, `als_wr` | 0.29 | 2.2 | 2.9 | 1.296 | 0.1 GB |
# | | course, `als_wr_planned` | 0.14 | 4.6 | 1.4 | 1.296 | 0.1 GB |
# | | Spark, local mode | 0.62 | 1.0 | 8.3 | 1.295 | 2.5 GB |
# | 3,708,423 | course, `als_wr` | 1.73 | 1.3 | 17.2 | 1.263 | 0.4 GB |
# | | course, `als_wr_planned` | 0.61 | 3.7 | 6.3 | 1.263 | 0.6 GB |
# | | Spark, local mode | 2.21 | 1.0 | 27.3 | 1.260 | 5.0 GB |
#
# Time per iteration leaves out each engine's fixed cost per fit (the whole fit includes it). Peak memory: the
# course's input matrices plus what its fit allocates, against the peak resident memory of Spark's JVM, which in local
# mode holds the cached ratings, the factors and the shuffles (and keeps what it once took). The RMSEs are high
# because these sets keep every cold user, with one or two ratings; the engines agree within 0.003. Across runs on
# this shared machine the planned form's ratios ranged from 4.6 to 5.1 and from 3.7 to 5.5, mostly through Spark's
# times.
#
# Where each wins: on one machine, the course's NumPy code is faster per iteration, by a factor of 4 to 5 in its
# planned form at these sizes (more on the small core above, where Spark's fixed costs dominate), and uses an order
# of magnitude less memory. Spark's cost per iteration includes work that one process does not need (task
# scheduling, shuffling each block's factors between partitions, converting between the JVM's objects and arrays),
# which local mode pays without getting anything back. What Spark buys is everything one process cannot do: data
# larger than one machine's memory (ratings and factors are partitioned across executors and spilled to disk), many
# machines working on one fit, recovery from a lost worker (lineage and checkpoints), and reading the data where it
# already lies. The course's code is the right tool up to tens of millions of ratings on one machine; beyond that, or
# when the ratings live in a cluster, the same model is one `ALS(...)` call away.

# %%
spark.stop()

# %% [markdown]
# ## Summing up
#
# * Spark's explicit `ALS` is ALS-WR without biases: its `regParam` is $\lambda$ multiplied by every row's number of
#   ratings. Evaluated on the same training ratings, its factors and the course's give the same objective and the
#   same test error, and one more course half-step from Spark's factors barely changes them.
# * Spark returns factors as rows of (id, features) in no particular order, only for ids with training ratings; a
#   user without factors gets NaN (`coldStartStrategy`), where the course filters cold users out beforehand.
# * The same code runs on a cluster: the master URL, Parquet on shared storage, blocks per core, a checkpoint
#   directory. On one machine the course's code is faster; Spark is for data and fleets that one process cannot hold.
#
# The lecture notes [derivations/06_matrix_factorization_on_spark.md](../derivations/06_matrix_factorization_on_spark.md)
# map the parameters and derive the objective.

# %% [markdown]
# ## All tasks at a glance
#
# The cell below runs every self-check of this notebook once more and prints one row per task: passed, failed (with
# the first line of the check's message), not started, or error. From a terminal, `python -m latent_course progress`
# prints the same table for every topic, from your saved notebooks.

# %%
checks.summary("06_matrix_factorization_on_spark")
