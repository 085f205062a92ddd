"""Rating data for topic 01: loaders for real rating files and a synthetic data set shaped like the course's.

Every loader returns :class:`Ratings`: 0-based (user, item, rating) triplets plus the original user and item ids,
so that recommendations can be named.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.special import ndtr

from .validation import check_positive_int, check_random_state

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
    name = path.name.lower().removesuffix(".gz")
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
        raise ValueError(f"{path}: the rating {values[bad[0]]:g} of row {bad[0] + 1} is outside "
                         f"[{low:g}, {high:g}]")
    user_ids, user_index = np.unique(np.asarray(users), return_inverse=True)
    item_ids, item_index = np.unique(np.asarray(items), return_inverse=True)
    whole = np.all(values == np.round(values))
    triplets = np.column_stack([user_index.ravel(), item_index.ravel(),
                                values.astype(np.int64) if whole else values])
    return Ratings(triplets.astype(np.int64 if whole else float), user_ids, item_ids)


GZIP_MAGIC = b"\x1f\x8b"


def _open_text(path: Path):
    """Open a text file for reading, gzip-compressed or not (whatever its name), skipping a UTF-8 byte-order mark."""
    with open(path, "rb") as handle:
        compressed = handle.read(2) == GZIP_MAGIC
    raw = gzip.open(path) if compressed else open(path, "rb")  # noqa: SIM115 (closed by the wrapper)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _read_lines(path: Path):
    """Yield (line number, text) of a text file, turning decoding errors into a ValueError naming the file."""
    try:
        with _open_text(path) as handle:
            yield from enumerate(handle, start=1)
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not a UTF-8 text file ({error.reason}: {error.object[error.start:error.end]!r}); "
                         f"rating files are text, optionally gzip-compressed") from None
    except (EOFError, gzip.BadGzipFile) as error:
        raise ValueError(f"{path}: damaged gzip file ({error})") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_delimited(path: Path, delimiter: str, low: float, high: float):
    """Read (user, item, rating) from the first three columns, with an error naming the line when malformed.

    A first line whose first three fields are none of them numbers is a header and skipped (``ratings.csv`` has one,
    ``u.data`` has none, and either may come with or without).
    """
    users, items, values = [], [], []
    for line, text in _read_lines(path):
        try:
            row = next(csv.reader([text], delimiter=delimiter), [])
        except csv.Error as error:  # e.g. a field longer than csv.field_size_limit()
            raise ValueError(f"{path}:{line}: not a line of {'tab' if delimiter == chr(9) else 'comma'}-separated "
                             f"fields ({error})") from None
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < 3:
            raise ValueError(f"{path}:{line}: expected user, item and rating, found {len(row)} field(s)")
        if line == 1 and not any(_is_number(cell) for cell in row[:3]):
            continue
        user, item = row[0].strip(), row[1].strip()
        if not user or not item:
            raise ValueError(f"{path}:{line}: empty {'user' if not user else 'item'} id")
        try:
            rating = float(row[2])
        except ValueError:
            raise ValueError(f"{path}:{line}: rating {row[2]!r} is not a number") from None
        if not np.isfinite(rating):
            raise ValueError(f"{path}:{line}: rating {row[2]!r} is not a finite number")
        if not low <= rating <= high:
            raise ValueError(f"{path}:{line}: rating {rating:g} is outside [{low:g}, {high:g}]")
        users.append(user)
        items.append(item)
        values.append(rating)
    return users, items, values


def _json_id(review: dict, key: str, path: Path, line: int) -> str:
    value = review[key]
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise ValueError(f"{path}:{line}: {key} {value!r} is not a non-empty string or an integer")
    return str(value).strip()


def _read_yelp(path: Path, low: float, high: float):
    """Stream Yelp review JSON lines: user_id, business_id and stars of every review."""
    users, items, values = [], [], []
    for line, text in _read_lines(path):
        if not text.strip():
            continue
        try:
            review = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{line}: not valid JSON ({error.msg})") from None
        if not isinstance(review, dict):
            raise ValueError(f"{path}:{line}: expected a JSON object {{...}} per line, got {type(review).__name__}")
        missing = [key for key in ("user_id", "business_id", "stars") if key not in review]
        if missing:
            raise ValueError(f"{path}:{line}: missing field(s) {', '.join(missing)}")
        stars = review["stars"]
        if isinstance(stars, bool) or not isinstance(stars, int | float) or not np.isfinite(stars):
            raise ValueError(f"{path}:{line}: stars {stars!r} is not a finite number")
        if not low <= stars <= high:
            raise ValueError(f"{path}:{line}: stars {stars:g} is outside [{low:g}, {high:g}]")
        users.append(_json_id(review, "user_id", path, line))
        items.append(_json_id(review, "business_id", path, line))
        values.append(float(stars))
    return users, items, values


def _read_npy(path: Path):
    """The (user, item, rating) columns of the course's ``.npy`` file, refusing anything else."""
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as error:
        raise ValueError(f"{path}: not a NumPy .npy array file ({error or type(error).__name__})") from None
    if not isinstance(array, np.ndarray):  # an .npz archive under an .npy name
        array.close()
        raise ValueError(f"{path}: this is an .npz archive of arrays, not an .npy file of (user, item, rating) "
                         f"rows; save the one array with np.save")
    if array.ndim != 2 or array.shape[1] != 3 or array.dtype.kind not in "iuf":
        raise ValueError(f"{path}: expected a real numeric array of (user, item, rating) rows, got shape "
                         f"{array.shape} and dtype {array.dtype}")
    for column, what in enumerate(["user id", "item id", "rating"]):
        bad = np.flatnonzero(~np.isfinite(array[:, column].astype(float)))
        if bad.size:
            raise ValueError(f"{path}: the {what} of row {bad[0] + 1} is not a finite number")
    return array[:, 0], array[:, 1], array[:, 2]


def load_ratings(path, format: str | None = None) -> Ratings:
    """Read a rating file into 0-based (user, item, rating) triplets and the original ids.

    Parameters
    ----------
    path : str or Path
        The file. Supported: the course's ``.npy`` of (user, restaurant, stars) rows; MovieLens ``u.data``
        (tab-separated) and ``ratings.csv`` (comma-separated); Yelp review JSON lines (``user_id``, ``business_id``,
        ``stars``), streamed line by line. Text files may be gzip-compressed (with or without ``.gz``) and start
        with a byte-order mark; a first line without numbers is a header.
    format : str, optional
        One of ``"npy"``, ``"movielens-data"``, ``"movielens-csv"``, ``"yelp-json"``; detected from the file name
        (a ``.gz`` ending aside) by default.

    Returns
    -------
    ratings : Ratings
        Users and items numbered 0, 1, ... in the order of their sorted original ids.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        For an unknown format, an empty or undecodable file, a line with missing or empty fields, an id or rating
        that is not a finite number (``.npy``), a rating outside the format's range (1-5 stars; 0.5-5 for
        ``ratings.csv``); the message names the file and, in text files, the line.
    """
    if not isinstance(path, str | Path):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no rating file {path}")
    kind = format or _detect_format(path)
    if kind not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {kind!r}")
    if kind == "npy":
        users, items, values = _read_npy(path)
    elif kind == "yelp-json":
        users, items, values = _read_yelp(path, *RATING_RANGE[kind])
    else:
        users, items, values = _read_delimited(path, "\t" if kind == "movielens-data" else ",", *RATING_RANGE[kind])
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
        for name, index, size in (("users", users, len(self.user_bias)), ("items", items, len(self.item_bias))):
            if index.ndim != 1 or (index.size and index.dtype.kind not in "iu"):
                raise ValueError(f"{name} must be a 1-D array of integer indices, got shape {index.shape} and dtype "
                                 f"{index.dtype}")
            if index.size and (index.min() < 0 or index.max() >= size):
                raise ValueError(f"{name} must lie in [0, {size}), got values from {index.min()} to {index.max()}")
        if users.shape != items.shape:
            raise ValueError(f"users and items must have the same shape, got {users.shape} and {items.shape}")
        score = (self.user_bias[users] + self.item_bias[items]
                 + np.einsum("nk,nk->n", self.user_factors[users], self.item_factors[items]))
        return 1 + ndtr((score[:, None] - self.cuts) / self.noise_std).sum(axis=1)


# The shares of 1 to 5 stars, skewed towards 4 and 5 as on Yelp.
STAR_SHARES = np.array([0.14, 0.08, 0.11, 0.22, 0.45])
MAX_RATINGS_PER_USER = 1000
REDRAW_ROUNDS = 64  # rounds of redrawing repeated items before the exact per-user draw takes over


def _ratings_per_user(rng, n_users: int, most: int, n_ratings: int) -> np.ndarray:
    """Zipf-distributed numbers of ratings, between 1 and `most`, adjusted to sum to `n_ratings`.

    Every round changes the sum by at least one towards `n_ratings`, so the loop ends after at most
    ``|sum - n_ratings|`` rounds (``n_users <= n_ratings <= n_users * most`` is checked by the caller).
    """
    counts = np.minimum(rng.zipf(2.3, n_users), most)
    while (excess := int(counts.sum()) - n_ratings) != 0:
        if excess > 0:  # some user has more than one rating, since the sum exceeds n_ratings >= n_users
            can_lose = np.flatnonzero(counts > 1)
            counts[rng.choice(can_lose, size=min(excess, can_lose.size), replace=False)] -= 1
            continue
        before = counts.sum()
        chosen = rng.choice(n_users, size=min(-excess, n_users), replace=False)
        counts[chosen] = np.minimum(counts[chosen] + 1, most)
        if counts.sum() == before:  # every chosen user was full: add to users who are not
            can_gain = np.flatnonzero(counts < most)
            counts[rng.choice(can_gain, size=min(-excess, can_gain.size), replace=False)] += 1
    return counts


def _distinct_items(rng, users: np.ndarray, popularity: np.ndarray, n_items: int) -> np.ndarray:
    """Items drawn by `popularity` for the sorted `users`, no user rating an item twice.

    Repeated (user, item) pairs are redrawn for a few rounds; the users still left with a repeat then draw their
    remaining items without replacement from the items they have not rated (an exponential race), which always
    succeeds since no user has more ratings than there are items.
    """
    items = rng.choice(n_items, size=users.size, p=popularity)
    # Only the users who had a repeat drew again, so only their pairs can repeat: each round looks at them alone.
    suspects = np.arange(users.size)
    for _ in range(REDRAW_ROUNDS):
        repeated = suspects[_repeated_pairs(users[suspects], items[suspects], n_items)]
        if repeated.size == 0:
            return items
        items[repeated] = rng.choice(n_items, size=repeated.size, p=popularity)
        suspects = suspects[np.isin(users[suspects], users[repeated])]
    repeated = suspects[_repeated_pairs(users[suspects], items[suspects], n_items)]
    for user in np.unique(users[repeated]):
        redraw = repeated[users[repeated] == user]
        own = np.flatnonzero(users == user)
        free = np.setdiff1d(np.arange(n_items), items[np.setdiff1d(own, redraw)])
        race = rng.exponential(size=free.size) / popularity[free]
        items[redraw] = free[np.argpartition(race, redraw.size - 1)[:redraw.size]]
    return items


def _repeated_pairs(users: np.ndarray, items: np.ndarray, n_items: int) -> np.ndarray:
    """Positions of the (user, item) pairs that repeat an earlier one."""
    codes = users * n_items + items
    order = np.argsort(codes, kind="stable")
    return order[1:][codes[order[1:]] == codes[order[:-1]]]


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
        The size; by default that of the course's file. Every user rates at least one and at most
        ``min(1000, n_items)`` items, so ``n_users <= n_ratings <= n_users * min(1000, n_items)``.
    rank : int
        The rank of the interaction between users and items, at least 1.

    Raises
    ------
    TypeError, ValueError
        For sizes that are not integers in those ranges, or a seed that is not an int or a Generator.

    Returns
    -------
    ratings : Ratings
        The triplets (int64 stars 1-5); users and items are numbered by index, and the ids are those indices.
    truth : GroundTruth
        The generating model, for the best possible predictions (the noise floor).
    """
    rng = check_random_state(random_state)
    n_users = check_positive_int(n_users, "n_users")
    n_items = check_positive_int(n_items, "n_items")
    most = min(MAX_RATINGS_PER_USER, n_items)
    n_ratings = check_positive_int(n_ratings, "n_ratings")
    if not n_users <= n_ratings <= n_users * most:
        raise ValueError(f"n_ratings must lie between n_users = {n_users} and n_users * min(1000, n_items) = "
                         f"{n_users * most}, since every user rates 1 to min(1000, n_items) items; got {n_ratings}")
    rank = check_positive_int(rank, "rank")
    counts = _ratings_per_user(rng, n_users, most, n_ratings)
    popularity = rng.pareto(1.0, n_items) + 1
    popularity /= popularity.sum()
    users = np.repeat(np.arange(n_users), counts)
    items = _distinct_items(rng, users, popularity, n_items)

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
