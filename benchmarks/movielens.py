"""Topic 01's models on MovieLens-100k: the 5-fold test RMSE table that the lecture notes quote.

The data is not shipped (its licence forbids redistribution): download MovieLens-100k from GroupLens and pass the
path of its ``u.data`` (tab-separated user, item, rating, timestamp; a header line is skipped).

The ratings are split into 5 folds by one seeded permutation. For each fold, the other four folds are the training
ratings; a random tenth of them is held out as validation ratings, on which every model's hyper-parameters are
chosen; the chosen model is then refitted on the whole training fold and scored once on the test fold. The test fold
never chooses anything. Every prediction is clipped to [1, 5]; a user or item absent from the training fold gets the
model's fallback (the global mean, or zero factors and biases). Printed: the choice per fold, then per model the
test RMSE per fold and their mean.

Rows: the user mean, plain ALS on user-mean-shifted ratings (topic 01's task, as `update_factors` sweeps), ALS-WR
with biases (`latent_factor_als_biased`), the same with implicit feedback (SVD++ fitted by alternating least squares,
`latent_course.recommender.latent_factor_als_implicit`, from the same SVD start), and Spark's ALS on the same folds
when PySpark and Java 17+ are installed (rank 10, regParam 0.1, as the notes quote) and Surprise's SVD and SVD++
when `surprise` is installed. Printed too: each model's time for its grid search and refit over all folds (about
14 minutes for all of them on two shared cores).

Run: python benchmarks/movielens.py PATH_TO_u.data [--folds 5] [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp

from latent_course.recommender import latent_factor_als_implicit
from latent_course.tools.solutions import load_solution

# On MovieLens-100k validation chooses every lambda inside its range, and k at the top of its range for the two
# biased models, where a larger k no longer pays: on one validation split, ALS-WR gains 0.0001 from k = 100 to
# 200 and nothing from 200 to 300, SVD++ by ALS nothing from 100 to 200, for two to three times the time.
PLAIN_GRID = [(k, lam) for k in (5, 10, 20) for lam in (5.0, 10.0, 20.0)]
BIASED_GRID = [(k, lam) for k in (50, 100, 200) for lam in (0.07, 0.1, 0.15)]
IMPLICIT_GRID = [(k, lam, lam_y) for k in (50, 100) for lam in (0.1, 0.15, 0.2) for lam_y in (30.0, 100.0, 300.0)]
QUICK_GRIDS = ([(2, 1.0)], [(2, 0.1)], [(2, 0.1, 10.0)])


def read_u_data(path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(users, items, ratings) from a u.data-style file, ids renumbered from 0."""
    rows = []
    with open(path) as lines:
        for line in lines:
            fields = line.split()
            if len(fields) >= 3 and fields[0].lstrip("-").isdigit():
                rows.append((int(fields[0]), int(fields[1]), float(fields[2])))
    data = np.array(rows)
    _, users = np.unique(data[:, 0], return_inverse=True)
    _, items = np.unique(data[:, 1], return_inverse=True)
    return users, items, data[:, 2]


def folds(n: int, n_folds: int, random_state: int = 0) -> list[np.ndarray]:
    return np.array_split(np.random.default_rng(random_state).permutation(n), n_folds)


def clipped_rmse(truth, predictions) -> float:
    return float(np.sqrt(np.mean((truth - np.clip(predictions, 1.0, 5.0)) ** 2)))


def matrix(users, items, ratings, shape) -> sp.csr_matrix:
    return sp.csr_matrix((ratings, (users, items)), shape=shape)


def fit_user_mean(M, _params=None):
    counts = np.diff(M.indptr)
    sums = np.bincount(np.repeat(np.arange(M.shape[0]), counts), weights=M.data, minlength=M.shape[0])
    means = np.where(counts > 0, sums / np.maximum(counts, 1), M.data.mean())
    return lambda users, items: means[users]


def fit_plain_als(M, params, n_iterations=15):
    """Plain ALS on user-mean-shifted ratings, k and lambda given, SVD start, fixed iterations."""
    k, lam = params
    shifted, user_means = SOLUTION.shift_user_mean(M)
    shifted_columns = shifted.T.tocsr()
    _, P = SOLUTION.initialize_Q_P(shifted, k, "svd", 0)
    for _ in range(n_iterations):
        Q = SOLUTION.update_factors(shifted, P.T, lam)
        P = SOLUTION.update_factors(shifted_columns, Q, lam).T
    return lambda users, items: user_means[users] + np.einsum("nk,kn->n", Q[users], P[:, items])


def fit_biased(M, params):
    k, lam = params
    model = SOLUTION.latent_factor_als_biased(M, k, lam)
    return lambda users, items: model.predict((users, items))


def fit_implicit(M, params):
    """SVD++ by ALS: ALS-WR with biases plus the items' implicit factors, from the biased model's SVD start."""
    k, lam, lam_y = params
    centred = M.copy()
    centred.data -= M.data.mean()
    _, P = SOLUTION.initialize_Q_P(centred, k, "svd", 0)
    model = latent_factor_als_implicit(M, P, lam, lam_y, SOLUTION.update_factors)
    return lambda users, items: model.predict((users, items))


def choose_and_fit(fit, grid, train, shape, rng):
    """Choose the grid point on a random tenth of the training ratings, then refit on all of them."""
    users, items, ratings = train
    held = rng.random(len(ratings)) < 0.1
    M_fit = matrix(users[~held], items[~held], ratings[~held], shape)
    scores = {p: clipped_rmse(ratings[held], fit(M_fit, p)(users[held], items[held])) for p in grid}
    best = min(scores, key=scores.get)
    return best, fit(matrix(users, items, ratings, shape), best)


def spark_rows(data, fold_list, shape):
    from latent_course.spark import ratings_dataframe, spark_session, spark_unavailable

    if spark_unavailable():
        return {}
    topic06 = load_solution("06_matrix_factorization_on_spark")
    users, items, ratings = data
    spark = spark_session("benchmark-movielens")
    scores = []
    try:
        for test in fold_list:
            train = np.setdiff1d(np.arange(len(ratings)), test)
            df = ratings_dataframe(spark, users[train], items[train], ratings[train])
            model = topic06.fit_spark_als(df, 10, 0.1, 10)
            U = topic06.factors_to_array(model.userFactors.collect(), shape[0], 10)
            V = topic06.factors_to_array(model.itemFactors.collect(), shape[1], 10)
            predictions = np.einsum("nk,nk->n", U[users[test]], V[items[test]])
            unseen = np.all(U[users[test]] == 0, axis=1) | np.all(V[items[test]] == 0, axis=1)
            predictions[unseen] = ratings[train].mean()
            scores.append(clipped_rmse(ratings[test], predictions))
    finally:
        spark.stop()
    return {"Spark ALS (rank 10, regParam 0.1)": scores}


def surprise_rows(data, fold_list):
    try:
        import pandas as pd
        from surprise import SVD, Dataset, Reader, SVDpp
    except ImportError:
        return {}
    users, items, ratings = data
    rows = {}
    for name, algorithm in [("Surprise SVD (defaults)", SVD), ("Surprise SVD++ (defaults)", SVDpp)]:
        scores = []
        for test in fold_list:
            train = np.setdiff1d(np.arange(len(ratings)), test)
            frame = pd.DataFrame({"u": users[train], "i": items[train], "r": ratings[train]})
            trainset = Dataset.load_from_df(frame, Reader(rating_scale=(1, 5))).build_full_trainset()
            fitted = algorithm(random_state=0).fit(trainset)
            predictions = np.array([fitted.predict(u, i).est for u, i in zip(users[test], items[test], strict=True)])
            scores.append(clipped_rmse(ratings[test], predictions))
        rows[name] = scores
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", help="MovieLens-100k's u.data (without it, nothing is run)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny grids (for the tests), no Spark or Surprise")
    args = parser.parse_args(argv)
    if args.path is None:  # `make bench` runs every script without arguments; the data is not shipped
        print("benchmarks/movielens.py: skipped, give the path of MovieLens-100k's u.data")
        return
    global SOLUTION
    SOLUTION = load_solution("01_matrix_factorization")
    users, items, ratings = read_u_data(args.path)
    shape = (users.max() + 1, items.max() + 1)
    fold_list = folds(len(ratings), args.folds)
    plain_grid, biased_grid, implicit_grid = QUICK_GRIDS if args.quick else (PLAIN_GRID, BIASED_GRID, IMPLICIT_GRID)
    print(f"{len(ratings):,} ratings, {shape[0]:,} users, {shape[1]:,} items, {args.folds} folds")
    models = {
        "user mean": (fit_user_mean, [None], ""),
        "plain ALS (user-mean shifted)": (fit_plain_als, plain_grid, "(k, lambda)"),
        "ALS-WR with biases": (fit_biased, biased_grid, "(k, lambda)"),
        "ALS-WR, biases, implicit (SVD++)": (fit_implicit, implicit_grid, "(k, lambda, lambda_y)"),
    }
    results = {name: [] for name in models}
    seconds = dict.fromkeys(models, 0.0)
    for f, test in enumerate(fold_list):
        train = np.setdiff1d(np.arange(len(ratings)), test)
        rng = np.random.default_rng(f)
        for name, (fit, grid, names) in models.items():
            start = time.perf_counter()
            chosen, predict = choose_and_fit(fit, grid, (users[train], items[train], ratings[train]), shape, rng)
            results[name].append(clipped_rmse(ratings[test], predict(users[test], items[test])))
            seconds[name] += time.perf_counter() - start
            if chosen is not None:
                print(f"fold {f + 1}: {name}: validation chose {names} = {chosen}", flush=True)
    print("time (grid search and refit, all folds): "
          + ", ".join(f"{name} {value:.0f} s" for name, value in seconds.items()))
    if not args.quick:
        results.update(spark_rows((users, items, ratings), fold_list, shape))
        results.update(surprise_rows((users, items, ratings), fold_list))
    header = "".join(f"  fold {f + 1}" for f in range(args.folds))
    print(f"\n{'model':<36}{header}    mean")
    for name, scores in results.items():
        print(f"{name:<36}" + "".join(f"{s:8.4f}" for s in scores) + f"  {np.mean(scores):.4f}")


if __name__ == "__main__":
    main()
