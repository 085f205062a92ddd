"""Bad input to the data loaders and the synthetic generator: a clear error naming the parameter or the file (and
line), or the right result; never a hang, a silent loss or a crash inside NumPy or Pillow."""

import gzip
import json

import numpy as np
import pytest
from PIL import Image

from latent_course.images import load_image
from latent_course.ratings import load_ratings, yelp_like_ratings

# ---------------------------------------------------------------------------------------------------- yelp_like_ratings


@pytest.mark.parametrize("arguments, error, message", [
    ({"n_users": 10, "n_items": 50, "n_ratings": 5}, ValueError, r"n_ratings must lie between n_users = 10"),
    ({"n_users": 3, "n_items": 2, "n_ratings": 7}, ValueError, r"n_users \* min\(1000, n_items\) = 6"),
    ({"n_users": 2, "n_items": 5_000, "n_ratings": 2_001}, ValueError, r"= 2000"),
    ({"n_users": 0}, ValueError, "n_users must be at least 1, got 0"),
    ({"n_items": 0}, ValueError, "n_items must be at least 1, got 0"),
    ({"n_ratings": 0}, ValueError, "n_ratings must be at least 1, got 0"),
    ({"n_users": -5}, ValueError, "n_users must be at least 1, got -5"),
    ({"n_users": 10.0}, TypeError, "n_users must be an integer, got 10.0"),
    ({"n_items": "300"}, TypeError, "n_items must be an integer"),
    ({"rank": 0}, ValueError, "rank must be at least 1, got 0"),
    ({"rank": 2.5}, TypeError, "rank must be an integer"),
    ({"random_state": 1.5}, TypeError, "random_state must be an int seed or a np.random.Generator"),
    ({"random_state": "seed"}, TypeError, "random_state must be an int seed"),
    ({"random_state": -1}, ValueError, "random_state must be a non-negative seed"),
])
def test_yelp_like_ratings_validates_its_sizes(arguments, error, message):
    with pytest.raises(error, match=message):
        yelp_like_ratings(**arguments)


@pytest.mark.parametrize("n_users, n_items, n_ratings", [
    (1, 1, 1),          # the smallest data set
    (4, 1, 4),          # one item for everyone
    (1, 5, 5),          # one user who rates every item
    (3, 1000, 3000),    # every user at the cap of 1000 ratings
    (10, 2000, 9990),   # close to the cap: the balancing must add to users who are not full
    (500, 50, 3000),    # many repeated pairs to redraw
    (200, 40, 200),     # every user rates exactly one item
])
def test_yelp_like_ratings_terminates_at_the_extremes_with_distinct_pairs(n_users, n_items, n_ratings):
    ratings, _ = yelp_like_ratings(0, n_users=n_users, n_items=n_items, n_ratings=n_ratings)
    users, items, stars = ratings.triplets.T
    assert ratings.triplets.shape == (n_ratings, 3)
    assert len(np.unique(ratings.triplets[:, :2], axis=0)) == n_ratings
    assert np.all(np.bincount(users, minlength=n_users) >= 1) and items.max() < n_items
    assert np.all((stars >= 1) & (stars <= 5))


@pytest.mark.parametrize("users, items, message", [
    ([-1], [0], r"users must lie in \[0, 5\), got values from -1"),
    ([0], [4], r"items must lie in \[0, 4\), got values from 4"),
    ([0.5], [0], "users must be a 1-D array of integer indices"),
    ([[0]], [[0]], "users must be a 1-D array"),
    ([0, 1], [0], "users and items must have the same shape"),
])
def test_expected_stars_rejects_wrapping_and_fractional_indices(users, items, message):
    _, truth = yelp_like_ratings(0, n_users=5, n_items=4, n_ratings=10)
    with pytest.raises(ValueError, match=message):
        truth.expected_stars(users, items)


# --------------------------------------------------------------------------------------------------------- load_ratings


def _write(path, content):
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


def test_empty_or_damaged_npy_files_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"empty\.npy: not a NumPy \.npy array file"):
        load_ratings(_write(tmp_path / "empty.npy", b""))
    with pytest.raises(ValueError, match=r"text\.npy: not a NumPy \.npy array file"):
        load_ratings(_write(tmp_path / "text.npy", "1,2,3\n"))


def test_an_npz_archive_renamed_npy_is_named(tmp_path):
    np.savez(tmp_path / "archive.npz", ratings=np.array([[0, 0, 5]]))
    (tmp_path / "archive.npz").rename(tmp_path / "ratings.npy")
    with pytest.raises(ValueError, match=r"ratings\.npy: this is an \.npz archive"):
        load_ratings(tmp_path / "ratings.npy")


@pytest.mark.parametrize("array, message", [
    (np.array([[1, 2, 4 + 1j]]), "expected a real numeric array"),
    (np.array([[1, 2, 4 + 0j]]), "expected a real numeric array"),
    (np.array([[np.nan, 2.0, 4.0]]), "the user id of row 1 is not a finite number"),
    (np.array([[1.0, 2.0, 4.0], [1.0, np.inf, 3.0]]), "the item id of row 2 is not a finite number"),
    (np.array([[1.0, 2.0, np.nan]]), "the rating of row 1 is not a finite number"),
    (np.array([[1, 2, 4], [1, 3, 6]]), r"the rating 6 of row 2 is outside \[1, 5\]"),
    (np.array([["1", "2", "3"]]), "expected a real numeric array"),
    (np.array([[True, False, True]]), "expected a real numeric array"),
])
def test_npy_ratings_must_be_real_and_finite(tmp_path, array, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(ValueError, match=rf"bad\.npy: {message}"):
        load_ratings(tmp_path / "bad.npy")


@pytest.mark.parametrize("name, text, message", [
    ("ratings.csv", "userId,movieId,rating\n,2,4\n", r"ratings\.csv:2: empty user id"),
    ("ratings.csv", "userId,movieId,rating\n1, ,4\n", r"ratings\.csv:2: empty item id"),
    ("u.data", "1\t2\t4\n\t3\t5\n", r"u\.data:2: empty user id"),
    ("review.json", '{"user_id": "", "business_id": "b", "stars": 3}\n', r"review\.json:1: user_id '' is not"),
    ("review.json", '{"user_id": null, "business_id": "b", "stars": 3}\n', r"review\.json:1: user_id None is not"),
    ("review.json", '{"user_id": NaN, "business_id": "b", "stars": 3}\n', r"review\.json:1: user_id nan is not"),
    ("review.json", '{"user_id": "a", "business_id": true, "stars": 3}\n', r"review\.json:1: business_id True"),
    ("review.json", '{"user_id": "a", "business_id": "b", "stars": NaN}\n', r"review\.json:1: stars nan is not a fin"),
    ("review.json", '{"user_id": "a", "business_id": "b", "stars": Infinity}\n', r"review\.json:1: stars inf is not"),
    ("review.json", '{"user_id": "a", "business_id": "b", "stars": 3}\n{"user_id": "a", "business_id": "c", '
                    '"stars": 0}\n', r"review\.json:2: stars 0 is outside \[1, 5\]"),
    ("u.data", "1\t2\t4\n\n1\t3\t5.5\n", r"u\.data:3: rating 5.5 is outside \[1, 5\]"),
])
def test_empty_ids_and_bad_ratings_name_file_and_line(tmp_path, name, text, message):
    with pytest.raises(ValueError, match=message):
        load_ratings(_write(tmp_path / name, text))


@pytest.mark.parametrize("name, text, expected", [
    ("ratings.csv", "userId,movieId,rating,timestamp\n1,31,2.5,0\n2,10,4.0,0\n", [[0, 1, 2.5], [1, 0, 4.0]]),
    ("ratings.csv", "1,31,2.5,0\n2,10,4.0,0\n", [[0, 1, 2.5], [1, 0, 4.0]]),  # no header: keep the first rating
    ("u.data", "196\t242\t3\t0\n186\t302\t3\t0\n", [[1, 0, 3], [0, 1, 3]]),
    ("u.data", "user\titem\trating\ttimestamp\n196\t242\t3\t0\n", [[0, 0, 3]]),  # a header where none is expected
])
def test_a_header_is_detected_by_its_content(tmp_path, name, text, expected):
    np.testing.assert_array_equal(load_ratings(_write(tmp_path / name, text)).triplets, expected)


@pytest.mark.parametrize("name, text, message", [
    ("ratings.csv", "1,2,five\n", r"ratings\.csv:1: rating 'five' is not a number"),  # ids are numbers: not a header
    ("ratings.csv", "userId,movieId,rating\nuserId,movieId,rating\n", r"ratings\.csv:2: rating 'rating' is not"),
])
def test_only_a_first_line_without_numbers_is_a_header(tmp_path, name, text, message):
    with pytest.raises(ValueError, match=message):
        load_ratings(_write(tmp_path / name, text))


@pytest.mark.parametrize("name, text", [
    ("u.data", "\ufeff196\t242\t3\t0\n196\t302\t1\t0\n"),
    ("ratings.csv", "\ufeffuserId,movieId,rating,timestamp\n196,242,3,0\n196,302,1,0\n"),
    ("ratings.csv", "\ufeff196,242,3,0\n196,302,1,0\n"),
    ("review.json", '\ufeff{"user_id": "196", "business_id": "242", "stars": 3}\n'
                    '{"user_id": "196", "business_id": "302", "stars": 1}\n'),
])
def test_a_byte_order_mark_is_not_part_of_the_first_id(tmp_path, name, text):
    ratings = load_ratings(_write(tmp_path / name, text.encode("utf-8")))
    assert list(ratings.user_ids) == ["196"]
    np.testing.assert_array_equal(ratings.triplets, [[0, 0, 3], [0, 1, 1]])


@pytest.mark.parametrize("name", ["u.data", "u.data.gz", "ratings.csv", "ratings.csv.gz", "review.json",
                                  "review.jsonl.gz"])
def test_gzip_content_is_read_whatever_the_name(tmp_path, name):
    if "json" in name:
        text = "".join(json.dumps({"user_id": u, "business_id": i, "stars": s}) + "\n"
                       for u, i, s in [("7", "3", 5), ("5", "3", 1)])
    else:
        separator = "\t" if "data" in name else ","
        text = f"7{separator}3{separator}5{separator}0\n5{separator}3{separator}1{separator}0\n"
    ratings = load_ratings(_write(tmp_path / name, gzip.compress(text.encode())))
    np.testing.assert_array_equal(ratings.triplets, [[1, 0, 5], [0, 0, 1]])


@pytest.mark.parametrize("name, content, message", [
    ("u.data", b"\xff\xfe1\x002\x00", r"u\.data: not a UTF-8 text file"),
    ("ratings.csv", b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x9c\xa5", r"ratings\.csv: not a UTF-8 text file"),
    ("u.data", gzip.compress(b"1\t2\t3\n", mtime=0)[:12], r"u\.data: damaged gzip file"),
])
def test_binary_content_under_a_text_name_is_named(tmp_path, name, content, message):
    with pytest.raises(ValueError, match=message):
        load_ratings(_write(tmp_path / name, content))


@pytest.mark.parametrize("line, kind", [("5", "int"), ("[1, 2, 3]", "list"), ('"text"', "str"), ("null", "NoneType")])
def test_a_json_line_that_is_not_an_object_names_file_and_line(tmp_path, line, kind):
    text = '{"user_id": "a", "business_id": "b", "stars": 3}\n' + line + "\n"
    with pytest.raises(ValueError, match=rf"review\.json:2: expected a JSON object .* got {kind}"):
        load_ratings(_write(tmp_path / "review.json", text))


@pytest.mark.parametrize("path, error", [(None, TypeError), (3, TypeError), (["u.data"], TypeError)])
def test_load_ratings_path_must_be_a_path(path, error):
    with pytest.raises(error, match="path must be a str or Path"):
        load_ratings(path)


# ----------------------------------------------------------------------------------------------------------- load_image


@pytest.mark.parametrize("name", ["flower.jpg", "china.jpg"])
def test_an_existing_file_wins_over_the_sample_of_the_same_name(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.full((5, 6, 3), 7, dtype=np.uint8)).save(name, quality=100)
    image = load_image(name)
    assert image.shape == (5, 6, 3) and np.all(np.abs(image.astype(int) - 7) <= 1)
    assert load_image(tmp_path / name).shape == (5, 6, 3)


def test_sample_images_are_still_found_when_no_file_has_their_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_image("flower.jpg").shape == (427, 640, 3)


@pytest.mark.parametrize("values, mode, suffix, expected", [
    (np.linspace(0, 65535, 256).astype(np.uint16), None, ".png", np.arange(256)),          # 16-bit PNG
    (np.linspace(0, 65535, 256).astype(np.int32), "I", ".tif", np.arange(256)),             # 32-bit, 16-bit range
    (np.linspace(0, 2**31 - 1, 256).astype(np.int32), "I", ".tif", np.arange(256)),         # 32-bit, full range
    (np.linspace(0, 1, 256).astype(np.float32), "F", ".tif", np.arange(256)),               # float in [0, 1]
    (np.linspace(-3, 5, 256).astype(np.float32), "F", ".tif", np.arange(256)),              # float, any range
])
def test_high_bit_depth_images_are_scaled_to_8_bits_not_clipped(tmp_path, values, mode, suffix, expected):
    path = tmp_path / f"gradient{suffix}"
    Image.fromarray(np.tile(values, (3, 1)), mode=mode).save(path)
    assert Image.open(path).mode in ("I;16", "I", "F")
    image = load_image(path)
    assert image.dtype == np.uint8 and image.shape == (3, 256, 3)
    np.testing.assert_allclose(image[1, :, 0].astype(int), expected, atol=1)
    assert np.mean(image == 255) < 0.01  # clipping saturated 98.75 % of a 16-bit gradient


@pytest.mark.parametrize("orientation, shape, corner", [(1, (2, 4, 3), (0, 0)), (3, (2, 4, 3), (1, 3)),
                                                        (6, (4, 2, 3), (0, 1)), (8, (4, 2, 3), (3, 0))])
def test_the_exif_orientation_is_applied(tmp_path, orientation, shape, corner):
    pixels = np.zeros((2, 4, 3), dtype=np.uint8)
    pixels[0, 0] = 255  # the top-left pixel as stored
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(tmp_path / "photo.png", exif=exif)
    loaded = load_image(tmp_path / "photo.png")
    assert loaded.shape == shape
    assert tuple(np.argwhere(loaded[..., 0] == 255)[0]) == corner


@pytest.mark.parametrize("name", [None, 3, ["flower.jpg"]])
def test_load_image_name_must_be_a_path(name):
    with pytest.raises(TypeError, match="name must be a str or Path"):
        load_image(name)
