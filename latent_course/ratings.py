"""Rating data for topic 01: loaders for real rating files and a synthetic data set shaped like the course's.

Every loader returns :class:`Ratings`: 0-based (user, item, rating) triplets plus the original user and item ids,
so that recommendations can be named.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.special import ndtr

__all__ = ["GroundTruth", "Ratings", "load_ratings", "yelp_like_ratings"]

FORMATS = {
    "npy": "NumPy array of (user, item, rating) rows, as in the course (.npy)",
    "movielens-data": "MovieLens u.data: user, item, rating, timestamp, tab-separated, no header",
    "movielens-csv": "MovieLens ratings.csv: userId,movieId,rating,timestamp with a header",
    "yelp-json": "Yelp reviews, one JSON object per line with user_id, business_id and stars (.json, .jsonl)",
}
RATING_RANGE = {"npy": (1, 5), "movielens-data": (1, 5), "movielens-csv": (0.5, 5), "yelp-json": (1, 5)}


class Ratings(NamedTuple):
    """Ratings as 0-based triplets with the original ids.

    Attributes
    ----------
    triplets : np.ndarray, shape (n_ratings, 3)
        Rows (user index, item index, rating); int64 when every rating is a whole number, float64 otherwise
        (MovieLens half stars).
    user_ids : np.ndarray, shape (n_users,)
        The original id of every user index.
    item_ids : np.ndarray, shape (n_items,)
        The original id of every item index.
    """

    triplets: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray


def _detect_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".npy"):
        return "npy"
    if name.endswith((".json", ".jsonl", ".ndjson")):
        return "yelp-json"
    if name.endswith(".csv"):
        return "movielens-csv"
    if name == "u.data" or name.endswith((".data", ".tsv")):
        return "movielens-data"
    known = "; ".join(f"{key}: {text}" for key, text in FORMATS.items())
    raise ValueError(f"{path}: unknown rating file format; pass format= one of: {known}")


def _as_ratings(path: Path, users, items, values, kind: str) -> Ratings:
    """Map ids to 0-based indices, check the rating range and build the triplets."""
    values = np.asarray(values, dtype=float)
    low, high = RATING_RANGE[kind]
    bad = np.flatnonzero(~((values >= low) & (values <= high)))
    if bad.size:
        raise ValueError(f"{path}: rating {values[bad[0]]:g} of rating number {bad[0] + 1} is outside "
                         f"[{low:g}, {high:g}]")
    user_ids, user_index = np.unique(np.asarray(users), return_inverse=True)
    item_ids, item_index = np.unique(np.asarray(items), return_inverse=True)
    whole = np.all(values == np.round(values))
    triplets = np.column_stack([user_index.ravel(), item_index.ravel(),
                                values.astype(np.int64) if whole else values])
    return Ratings(triplets.astype(np.int64 if whole else float), user_ids, item_ids)


def _read_delimited(path: Path, delimiter: str, header: bool):
    """Read (user, item, rating) from the first three columns, with an error naming the line when malformed."""
    users, items, values = [], [], []
    with open(path, newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle, delimiter=delimiter)
        for line, row in enumerate(rows, start=1):
            if header and line == 1:
                continue
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) < 3:
                raise ValueError(f"{path}:{line}: expected user, item and rating, found {len(row)} field(s)")
            try:
                rating = float(row[2])
            except ValueError:
                raise ValueError(f"{path}:{line}: rating {row[2]!r} is not a number") from None
            if not np.isfinite(rating):
                raise ValueError(f"{path}:{line}: rating {row[2]!r} is not a finite number")
            users.append(row[0].strip())
            items.append(row[1].strip())
            values.append(rating)
    return users, items, values


def _read_yelp(path: Path):
    """Stream Yelp review JSON lines: user_id, business_id and stars of every review."""
    users, items, values = [], [], []
    with open(path, encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                review = json.loads(text)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{line}: not valid JSON ({error.msg})") from None
            missing = [key for key in ("user_id", "business_id", "stars") if key not in review]
            if missing:
                raise ValueError(f"{path}:{line}: missing field(s) {', '.join(missing)}")
            stars = review["stars"]
            if isinstance(stars, bool) or not isinstance(stars, int | float):
                raise ValueError(f"{path}:{line}: stars {stars!r} is not a number")
            users.append(str(review["user_id"]))
            items.append(str(review["business_id"]))
            values.append(float(stars))
    return users, items, values


def load_ratings(path, format: str | None = None) -> Ratings:
    """Read a rating file into 0-based (user, item, rating) triplets and the original ids.

    Parameters
    ----------
    path : str or Path
        The file. Supported: the course's ``.npy`` of (user, restaurant, stars) rows; MovieLens ``u.data``
        (tab-separated) and ``ratings.csv`` (with a header); Yelp review JSON lines (``user_id``, ``business_id``,
        ``stars``), streamed line by line.
    format : str, optional
        One of ``"npy"``, ``"movielens-data"``, ``"movielens-csv"``, ``"yelp-json"``; detected from the file name
        by default.

    Returns
    -------
    ratings : Ratings
        Users and items numbered 0, 1, ... in the order of their sorted original ids.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        For an unknown format, an empty file, a line with missing fields, a rating that is not a number or lies
        outside the format's range (1-5 stars; 0.5-5 for ``ratings.csv``); the message names the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no rating file {path}")
    kind = format or _detect_format(path)
    if kind not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {kind!r}")
    if kind == "npy":
        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as error:
            raise ValueError(f"{path}: not a NumPy array file ({error})") from None
        if array.ndim != 2 or array.shape[1] != 3 or not np.issubdtype(array.dtype, np.number):
            raise ValueError(f"{path}: expected a numeric array of (user, item, rating) rows, got shape "
                             f"{array.shape} and dtype {array.dtype}")
        users, items, values = array[:, 0], array[:, 1], array[:, 2]
        bad = np.flatnonzero(~np.isfinite(values.astype(float)))
        if bad.size:
            raise ValueError(f"{path}: rating number {bad[0] + 1} is not a finite number")
    elif kind == "yelp-json":
        users, items, values = _read_yelp(path)
    else:
        users, items, values = _read_delimited(path, "\t" if kind == "movielens-data" else ",",
                                               header=kind == "movielens-csv")
    if len(values) == 0:
        raise ValueError(f"{path}: the file holds no ratings")
    return _as_ratings(path, users, items, values, kind)


class GroundTruth(NamedTuple):
    """The model that generated :func:`yelp_like_ratings`.

    A user u and an item i have the score ``s = user_bias[u] + item_bias[i] + user_factors[u] @ item_factors[i]``;
    the observed stars are ``1 + #{c in cuts : s + noise > c}`` with Gaussian noise of standard deviation
    `noise_std`.
    """

    user_factors: np.ndarray
    item_factors: np.ndarray
    user_bias: np.ndarray
    item_bias: np.ndarray
    cuts: np.ndarray
    noise_std: float

    def expected_stars(self, users, items) -> np.ndarray:
        """E[stars | user, item], the best possible prediction under squared error, for 0-based indices."""
        users, items = np.asarray(users), np.asarray(items)
        score = (self.user_bias[users] + self.item_bias[items]
                 + np.einsum("nk,nk->n", self.user_factors[users], self.item_factors[items]))
        return 1 + ndtr((score[:, None] - self.cuts) / self.noise_std).sum(axis=1)


# The shares of 1 to 5 stars, skewed towards 4 and 5 as on Yelp.
STAR_SHARES = np.array([0.14, 0.08, 0.11, 0.22, 0.45])


def yelp_like_ratings(random_state=0, n_users: int = 337_867, n_items: int = 5_899, n_ratings: int = 929_606,
                      rank: int = 4) -> tuple[Ratings, GroundTruth]:
    """A synthetic data set shaped like the course's Yelp ratings, drawn from a known low-rank model.

    Users rate a number of restaurants drawn from a Zipf law (most rate one, a few hundreds); restaurants are chosen
    by a Pareto-distributed popularity, so both sides are long-tailed. Each rating comes from the ordinal model of
    :class:`GroundTruth` with user and item effects, a rank-`rank` interaction and noise, and cut points that give
    1 to 5 stars in the shares of ``STAR_SHARES``. With the defaults, cold-start filtering with a minimum of 20
    ratings leaves a core of about 3,300 users by 2,000 restaurants.

    Parameters
    ----------
    random_state : int or np.random.Generator
        Seed; the same seed gives the same data.
    n_users, n_items, n_ratings : int
        The size; by default that of the course's file.
    rank : int
        The rank of the interaction between users and items.

    Returns
    -------
    ratings : Ratings
        The triplets (int64 stars 1-5); users and items are numbered by index, and the ids are those indices.
    truth : GroundTruth
        The generating model, for the best possible predictions (the noise floor).
    """
    rng = np.random.default_rng(random_state)
    counts = np.minimum(rng.zipf(2.3, n_users), min(1000, n_items))
    while (excess := int(counts.sum()) - n_ratings) != 0:
        if excess > 0:
            can_lose = np.flatnonzero(counts > 1)
            counts[rng.choice(can_lose, size=min(excess, can_lose.size), replace=False)] -= 1
        else:
            chosen = rng.choice(n_users, size=min(-excess, n_users), replace=False)
            counts[chosen] = np.minimum(counts[chosen] + 1, min(1000, n_items))
    popularity = rng.pareto(1.0, n_items) + 1
    popularity /= popularity.sum()
    users = np.repeat(np.arange(n_users), counts)
    items = rng.choice(n_items, size=n_ratings, p=popularity)
    while True:  # redraw the items of repeated (user, item) pairs until every pair is unique
        codes = users * n_items + items
        order = np.argsort(codes, kind="stable")
        repeated = order[1:][codes[order[1:]] == codes[order[:-1]]]
        if repeated.size == 0:
            break
        items[repeated] = rng.choice(n_items, size=repeated.size, p=popularity)

    # Score variances: user effect 0.25, item effect 0.16, interaction 0.8; noise variance 0.36.
    truth = GroundTruth(user_factors=rng.normal(scale=np.sqrt(0.8 / rank), size=(n_users, rank)),
                        item_factors=rng.normal(scale=1.0, size=(n_items, rank)),
                        user_bias=rng.normal(scale=0.5, size=n_users), item_bias=rng.normal(scale=0.4, size=n_items),
                        cuts=np.zeros(4), noise_std=0.6)
    score = (truth.user_bias[users] + truth.item_bias[items]
             + np.einsum("nk,nk->n", truth.user_factors[users], truth.item_factors[items]))
    latent = score + rng.normal(scale=truth.noise_std, size=n_ratings)
    cuts = np.quantile(latent, np.cumsum(STAR_SHARES)[:-1])
    truth = truth._replace(cuts=cuts)
    stars = 1 + (latent[:, None] > cuts).sum(axis=1)
    triplets = np.column_stack([users, items, stars]).astype(np.int64)
    return Ratings(triplets, np.arange(n_users), np.arange(n_items)), truth
