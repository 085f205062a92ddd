"""The mechanism behind the student edition: digests of a marked function's inputs, stored values, NotStored."""

import io
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

from latent_course.checks import _answers
from latent_course.checks._answers import NotStored, answer, digest, if_stored, load_values, recording, values_bytes


@answer
def _double(x):
    return 2 * x


def _key(*args, **kwargs):
    return digest("f", args, kwargs)


def test_equal_inputs_give_equal_digests():
    x = np.arange(6.0).reshape(2, 3)
    assert _key(x, 3, "svd", (x, [1.5])) == _key(x.copy(), 3, "svd", (x.copy(), [1.5]))
    assert _key(np.asfortranarray(x)) == _key(x)
    assert _key(x, k=2) == _key(x, k=2)


def test_a_digest_is_the_same_in_another_process():
    """The stored answers of a release are looked up by other processes (Python hashes strings at random)."""
    code = "import numpy as np; from latent_course.checks._answers import digest; " \
           "print(digest('f', (np.array([1.0, 2.0]), 3, 'svd', {'k': 0.5}), {}))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert other == _key(np.array([1.0, 2.0]), 3, "svd", {"k": 0.5})
    assert len(other) == 64


@pytest.mark.parametrize("other", [
    np.array([1.0, 2.0, 4.0]),             # a value
    np.array([1.0, 2.0, 3.0], np.float32),  # the dtype
    np.array([[1.0, 2.0, 3.0]]),           # the shape
    [1.0, 2.0, 3.0],                       # a list, not an array
], ids=["value", "dtype", "shape", "type"])
def test_a_changed_input_gives_another_digest(other):
    assert _key(other) != _key(np.array([1.0, 2.0, 3.0]))


def test_the_digest_tells_apart_names_numbers_and_containers():
    assert digest("f", (1,), {}) != digest("g", (1,), {})
    assert _key(1) != _key(1.0) != _key(True)
    assert _key((1, 2)) != _key([1, 2])
    assert _key(1, 2) != _key((1, 2))
    assert _key(0.0) != _key(-0.0)
    assert _key(k=1) != _key(1)


def test_equal_sparse_matrices_give_equal_digests_without_changing_the_input():
    unsorted = sp.csr_matrix((np.array([1.0, 2.0]), np.array([1, 0]), np.array([0, 2])), shape=(1, 2))
    assert _key(unsorted) == _key(sp.csr_matrix(np.array([[2.0, 1.0]]))) == _key(sp.coo_matrix([[2.0, 1.0]]))
    assert unsorted.indices.tolist() == [1, 0]
    assert _key(sp.csr_matrix(np.array([[2.0, 1.0]]))) != _key(sp.csr_matrix(np.array([[2.0, 1.5]])))


@pytest.mark.parametrize("value", [np.random.default_rng(0), np.array([None, 1]), {1, 2}, len],
                         ids=["generator", "object array", "set", "callable"])
def test_an_input_that_is_not_data_is_refused(value):
    with pytest.raises(TypeError, match="must be data"):
        _key(value)


def _round_trip(values):
    with io.BytesIO(values_bytes(values)) as buffer:
        return load_values(buffer)


def test_values_survive_the_round_trip():
    values = {
        "array": np.arange(6, dtype=np.float32).reshape(2, 3),
        "integers": np.array([3, 1, 2]),
        "0-d array": np.array(2.5),
        "numpy scalar": np.float64(1.25),
        "floats": (0.1, float("inf"), -float("inf"), 1e-300),
        "nan": float("nan"),
        "pairs": [("the weights are added.", np.array([0.5, 0.5])), ("only x's covariance.", np.eye(2))],
        "string": "a hint",
        "numbers": [1, True, None],
        "empty": [],
    }
    loaded = _round_trip(values)
    assert loaded.keys() == values.keys()
    for key in ["array", "integers", "0-d array"]:
        assert isinstance(loaded[key], np.ndarray)
        assert loaded[key].dtype == values[key].dtype and loaded[key].shape == values[key].shape
        np.testing.assert_array_equal(loaded[key], values[key])
    assert isinstance(loaded["numpy scalar"], np.float64) and loaded["numpy scalar"] == 1.25
    assert loaded["floats"] == values["floats"] and isinstance(loaded["floats"], tuple)
    assert np.isnan(loaded["nan"]) and isinstance(loaded["nan"], float)
    assert [hint for hint, _ in loaded["pairs"]] == [hint for hint, _ in values["pairs"]]
    for (_, got), (_, expected) in zip(loaded["pairs"], values["pairs"], strict=True):
        np.testing.assert_array_equal(got, expected)
    assert loaded["string"] == "a hint"
    assert loaded["numbers"] == [1, True, None] and loaded["empty"] == []


def test_the_float_text_is_exact():
    assert _round_trip({"x": 0.1 + 0.2})["x"] == 0.1 + 0.2


def test_values_bytes_is_deterministic():
    values = {"b": (np.arange(3.0), "hint"), "a": [1.5, np.eye(2)]}
    assert values_bytes(values) == values_bytes(dict(reversed(values.items())))


def test_an_answer_that_is_not_data_is_refused():
    with pytest.raises(TypeError, match="an answer must be data"):
        values_bytes({"x": {"a": 1}})


def test_load_values_refuses_pickled_object_arrays():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in [("index", np.array('{"x": {"array": 0}}')), ("a0", np.array([{"a": 1}], dtype=object))]:
            content = io.BytesIO()
            np.lib.format.write_array(content, array, allow_pickle=True)
            archive.writestr(f"{name}.npy", content.getvalue())
    buffer.seek(0)
    with pytest.raises(ValueError, match="allow_pickle"):
        load_values(buffer)


def test_a_marked_function_runs_in_the_full_course():
    assert _double(np.array([1.0]))[0] == 2.0
    assert _double.__wrapped_answer__


def test_recording_captures_the_calls_of_marked_functions():
    with recording() as calls:
        _double(np.array([1.0, 2.0]))
        _double(3)
    assert [(module, key) for module, key, _ in calls] == [
        (__name__, digest(f"{__name__}._double", (np.array([1.0, 2.0]),), {})),
        (__name__, digest(f"{__name__}._double", (3,), {}))]
    np.testing.assert_array_equal(calls[0][2], [2.0, 4.0])
    assert calls[1][2] == 6
    _double(4)
    assert len(calls) == 2  # nothing is recorded outside the block


def test_recordings_nest():
    with recording() as outer:
        _double(1)
        with recording() as inner:
            _double(2)
        _double(3)
    assert [value for *_, value in outer] == [2, 6] and [value for *_, value in inner] == [4]


@pytest.fixture
def student_edition(monkeypatch):
    """The marked functions of this module see stored values, as in a student edition: 2 * 21 is stored as 7."""
    stored = {digest(f"{__name__}._double", (21,), {}): 7}
    monkeypatch.setattr(_answers, "_stored", lambda module: stored if module == __name__ else None)


def test_a_marked_function_returns_the_stored_value_in_a_student_edition(student_edition):
    assert _double(21) == 7


def test_a_marked_function_raises_not_stored_for_an_unseen_input(student_edition):
    with pytest.raises(NotStored, match="_double"):
        _double(22)


def test_if_stored_skips_the_rest_of_its_block(student_edition):
    reached = []
    with if_stored():
        reached.append(_double(21))
        reached.append(_double(22))
        reached.append("never")
    assert reached == [7]


def test_if_stored_lets_failures_through():
    with pytest.raises(AssertionError), if_stored():
        raise AssertionError("a check failed")


def test_the_stored_answers_of_a_module_are_read_from_its_file(tmp_path, monkeypatch):
    key = digest(f"{__name__}._double", (21,), {})
    (tmp_path / "test_answers.npz").write_bytes(values_bytes({key: 7}))
    monkeypatch.setattr(_answers, "STORED", tmp_path)
    _answers._stored.cache_clear()
    try:
        assert _answers._stored(__name__) == {key: 7}
        assert _answers._stored("latent_course.checks.mixtures") is None
    finally:
        _answers._stored.cache_clear()
