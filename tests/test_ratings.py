"""Rating loaders on small files the tests write, and the synthetic data set."""

import json

import numpy as np
import pytest

from latent_course.ratings import load_ratings, yelp_like_ratings
from latent_course.recommender import cold_start_filter, ratings_matrix


def test_course_npy(tmp_path):
    np.save(tmp_path / "ratings.npy", np.array([[10, 3, 5], [7, 3, 1], [10, 8, 4]], dtype=np.int64))
    ratings = load_ratings(tmp_path / "ratings.npy")
    np.testing.assert_array_equal(ratings.triplets, [[1, 0, 5], [0, 0, 1], [1, 1, 4]])
    assert ratings.triplets.dtype == np.int64
    np.testing.assert_array_equal(ratings.user_ids, [7, 10])
    np.testing.assert_array_equal(ratings.item_ids, [3, 8])


def test_movielens_u_data(tmp_path):
    (tmp_path / "u.data").write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t1\t878887116\n")
    ratings = load_ratings(tmp_path / "u.data")
    np.testing.assert_array_equal(ratings.triplets, [[1, 0, 3], [0, 1, 3], [1, 1, 1]])
    assert list(ratings.user_ids) == ["186", "196"]


def test_movielens_ratings_csv_with_half_stars(tmp_path):
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n2,10,4.0,835355493\n")
    ratings = load_ratings(tmp_path / "ratings.csv")
    assert ratings.triplets.dtype == float
    np.testing.assert_array_equal(ratings.triplets, [[0, 1, 2.5], [1, 0, 4.0]])


def test_yelp_json_lines_with_string_ids(tmp_path):
    reviews = [{"review_id": "r1", "user_id": "u-b", "business_id": "x", "stars": 5.0, "text": "great"},
               {"review_id": "r2", "user_id": "u-a", "business_id": "x", "stars": 2},
               {"review_id": "r3", "user_id": "u-b", "business_id": "y", "stars": 4}]
    (tmp_path / "review.json").write_text("\n".join(json.dumps(review) for review in reviews) + "\n\n")
    ratings = load_ratings(tmp_path / "review.json")
    np.testing.assert_array_equal(ratings.triplets, [[1, 0, 5], [0, 0, 2], [1, 1, 4]])
    assert list(ratings.user_ids) == ["u-a", "u-b"] and list(ratings.item_ids) == ["x", "y"]


@pytest.mark.parametrize("name, text, message", [
    ("u.data", "1\t2\n", r"u.data:1: expected user, item and rating, found 2 field"),
    ("u.data", "1\t2\t3\t4\n1\t3\tfive\t4\n", r"u.data:2: rating 'five' is not a number"),
    ("ratings.csv", "userId,movieId,rating,timestamp\n1,2,nan,3\n", r"ratings.csv:2: rating 'nan' is not a finite"),
    ("ratings.csv", "userId,movieId,rating,timestamp\n1,2,7.0,3\n", r"ratings.csv:2: rating 7 is outside"),
    ("ratings.csv", "userId,movieId,rating,timestamp\n", "holds no ratings"),
    ("u.data", "", "holds no ratings"),
    ("review.json", '{"user_id": "a", "stars": 3}\n', r"review.json:1: missing field\(s\) business_id"),
    ("review.json", '{"user_id": "a", "business_id": "b", "stars": "3"}\n', r"review.json:1: stars '3' is not"),
    ("review.json", '{"user_id": "a", "business_id": "b", "stars": 3}\n{oops\n', r"review.json:2: not valid JSON"),
    ("ratings.txt", "1 2 3\n", "unknown rating file format"),
])
def test_malformed_files_name_file_and_line(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=message):
        load_ratings(tmp_path / name)


def test_npy_of_the_wrong_shape(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"bad.npy: expected a real numeric array of \(user, item, rating\) rows"):
        load_ratings(tmp_path / "bad.npy")


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_ratings(tmp_path / "nothing.csv")
    (tmp_path / "r.csv").write_text("1,2,3\n")
    with pytest.raises(ValueError, match="format must be one of"):
        load_ratings(tmp_path / "r.csv", format="excel")


def test_an_explicit_format_overrides_the_file_name(tmp_path):
    (tmp_path / "ratings.txt").write_text("5\t6\t4\t0\n")
    assert load_ratings(tmp_path / "ratings.txt", format="movielens-data").triplets.tolist() == [[0, 0, 4]]


@pytest.fixture(scope="module")
def synthetic():
    return yelp_like_ratings(random_state=0)


def test_synthetic_data_has_the_shape_of_the_course_file(synthetic):
    ratings, _ = synthetic
    assert ratings.triplets.shape == (929_606, 3) and ratings.triplets.dtype == np.int64
    assert ratings.triplets[:, 0].max() + 1 == 337_867 and ratings.triplets[:, 1].max() + 1 == 5_899
    shares = np.bincount(ratings.triplets[:, 2], minlength=6)[1:] / len(ratings.triplets)
    np.testing.assert_allclose(shares, [0.14, 0.08, 0.11, 0.22, 0.45], atol=0.005)
    matrix = ratings_matrix(ratings.triplets)  # raises on a repeated (user, item) pair
    users_per_count = np.bincount(np.diff(matrix.indptr))
    assert users_per_count[1] > 100_000 and np.diff(matrix.indptr).max() >= 500  # long-tailed activity


def test_synthetic_core_is_a_few_thousand_by_about_two_thousand(synthetic):
    core, kept_users, kept_items = cold_start_filter(ratings_matrix(synthetic[0].triplets), 20)
    assert 2_500 <= core.shape[0] <= 5_000 and 1_500 <= core.shape[1] <= 2_500


def test_synthetic_data_is_deterministic_and_seeded(synthetic):
    again, _ = yelp_like_ratings(random_state=0)
    np.testing.assert_array_equal(again.triplets, synthetic[0].triplets)
    other, _ = yelp_like_ratings(random_state=1, n_users=2000, n_items=300, n_ratings=8000)
    assert other.triplets.shape == (8000, 3)


def test_the_noise_floor_is_below_the_spread_of_the_stars(synthetic):
    ratings, truth = synthetic
    users, items, stars = ratings.triplets[:50_000].T
    expected = truth.expected_stars(users, items)
    assert np.all((expected >= 1) & (expected <= 5))
    floor = np.sqrt(np.mean((stars - expected) ** 2))
    assert 0.5 < floor < 0.8 * stars.std()
    assert abs(np.mean(stars - expected)) < 0.02  # expected stars are unbiased


@pytest.mark.parametrize("name, delimiter", [("ratings.csv", ","), ("u.data", "\t")])
def test_a_field_longer_than_the_csv_modules_limit_names_file_and_line(tmp_path, name, delimiter):
    path = tmp_path / name
    path.write_text(f"1{delimiter}2{delimiter}3\n" + f'1{delimiter}"{"x" * 131_073}"{delimiter}3\n')
    with pytest.raises(ValueError, match=rf"{name}:2: not a line of .*field larger than field limit"):
        load_ratings(path)
