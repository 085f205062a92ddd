"""The shared machinery of the self-checks, one rule at a time: stubs, mutated inputs, time limits, errors from
the package, wrong arguments, complex and masked results, and messages that fit on one screen."""

import logging
import re
import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp

from latent_course.checks import CheckFailure, NotImplementedYet
from latent_course.checks._framework import (
    MAX_LINES,
    CountingGenerator,
    _fit,
    call,
    check_array,
    check_close,
    describe,
    describe_inputs,
    passed,
)
from latent_course.validation import check_mixture


def stub(x):
    raise NotImplementedError


def identity(x):
    return x


# Rule 4: blame the right function.

def test_a_stub_is_reported_as_not_implemented_yet():
    with pytest.raises(NotImplementedYet, match="stub: not implemented yet"):
        call(stub, x=1)


def test_a_stub_called_by_the_function_is_named():
    def gmm_log_probability(X):
        raise NotImplementedError

    def em(X):
        return gmm_log_probability(X) + 1

    with pytest.raises(NotImplementedYet, match="^em calls gmm_log_probability, which is not implemented yet"):
        call(em, X=np.ones(2))


def test_a_not_implemented_error_from_a_library_is_the_students_own():
    def uses_an_abstract_method(x):
        return logging.Handler().emit(None)

    with pytest.raises(NotImplementedError):
        call(uses_an_abstract_method, x=1)


def test_not_implemented_yet_is_an_assertion_error():
    assert issubclass(NotImplementedYet, CheckFailure) and issubclass(CheckFailure, AssertionError)


# Rule 5: no traceback from inside the package.

def test_the_students_own_errors_propagate_unchanged():
    def broken(x):
        return x / "a"

    with pytest.raises(TypeError):
        call(broken, x=1)


def test_an_expected_error_becomes_a_failure_with_its_hint():
    def solve(A):
        return np.linalg.solve(A, np.ones(2))

    with pytest.raises(CheckFailure) as failure:
        call(solve, A=np.zeros((2, 2)), on_error={np.linalg.LinAlgError: "the system is singular: did you add "
                                                                            "reg_lambda * I?"})
    lines = str(failure.value).splitlines()
    assert lines[0] == "solve: the system is singular: did you add reg_lambda * I?"
    assert "LinAlgError: Singular matrix, raised in solve, line" in lines[1]


def test_a_validation_error_on_a_computed_value_becomes_a_failure():
    def m_step(pi):
        return check_mixture(pi / 2, np.zeros((2, 1)))

    with pytest.raises(CheckFailure, match="validation rejected a value your function computed") as failure:
        call(m_step, pi=np.array([0.5, 0.5]))
    assert "ValueError: pi must sum to 1, got a sum of 0.5, raised in m_step, line" in str(failure.value)


def test_the_students_own_value_error_propagates():
    def rejects(x):
        raise ValueError("x must be positive")

    with pytest.raises(ValueError, match="x must be positive"):
        call(rejects, x=1)


@pytest.mark.parametrize("argument, message", [
    (3.0, r"^mixture_mean: expected a function, got float 3\.0; pass your function itself, without calling it: "
          r"checks\.mixture_mean\(mixture_mean\)"),
    (np.ones(2), "expected a function, got ndarray"),
    (np.ndarray, "expected your function mixture_mean, got the class ndarray"),
    (lambda pi, mu, sigma: pi, r"calls your function as mixture_mean\(pi, mu\), but <lambda> takes \(pi, mu, sigma\)"),
    (lambda pi: pi, r"takes \(pi\)"),
])
def test_a_wrong_argument_to_a_check_says_what_to_pass(argument, message):
    from latent_course import checks

    with pytest.raises(CheckFailure, match=message):
        checks.mixture_mean(argument)


def test_a_missing_keyword_parameter_is_named():
    def sample(n):
        return np.zeros(n)

    with pytest.raises(CheckFailure, match=r"as sample\(n, random_state=\.\.\.\), but sample takes \(n\)"):
        call(sample, n=3, random_state=0)


# Rule 6: a student's input is never mutated.

def test_inputs_are_copied_and_a_mutating_function_is_caught():
    data = np.zeros(3)

    def mutating(x):
        x += 1
        return x

    with pytest.raises(CheckFailure, match=r"^mutating changed its argument x in place; work on a copy \(x = x.copy"):
        call(mutating, x=data)
    assert not data.any()


@pytest.mark.parametrize("value, change", [
    (sp.csr_matrix(np.eye(3)), lambda m: m.data.__isub__(1.0)),
    (sp.csr_matrix(np.eye(3)), lambda m: (m.data.__setitem__(0, 0.0), m.eliminate_zeros())),
    ((np.ones(2), np.zeros((2, 1))), lambda mixture: mixture[1].__setitem__(0, 5.0)),
    ([1.0, 2.0], lambda values: values.append(3.0)),
    (np.array([np.nan, 1.0]), lambda x: x.__setitem__(1, 2.0)),
])
def test_mutations_of_every_kind_of_input_are_caught(value, change):
    def mutating(m):
        change(m)

    with pytest.raises(CheckFailure, match="changed its argument m in place"):
        call(mutating, m=value)


def test_reading_an_input_is_not_a_mutation():
    values = (np.array([np.nan, 1.0]), sp.csr_matrix(np.eye(2)), [1, 2], None, "text", np.random.default_rng(0))
    for value in values:
        assert call(lambda x: 1, x=value) == 1


# Issue 15: nothing hangs.

def test_a_sleeping_function_is_stopped_with_a_message():
    def sleeps(x):
        time.sleep(60)

    start = time.monotonic()
    with pytest.raises(CheckFailure, match=r"^sleeps: your function did not return within 0\.2 s"):
        call(sleeps, x=1, time_limit=0.2)
    assert time.monotonic() - start < 30


def test_an_endless_loop_is_stopped_even_if_it_catches_exceptions():
    def loops(x):
        while True:
            try:
                x += 1
            except Exception:
                pass

    with pytest.raises(CheckFailure, match="did not return within"):
        call(loops, x=1, time_limit=0.2)


def test_the_module_default_limit_applies(monkeypatch):
    from latent_course.checks import _framework

    monkeypatch.setattr(_framework, "TIME_LIMIT", 0.2)
    with pytest.raises(CheckFailure, match=r"within 0\.2 s"):
        call(lambda x: time.sleep(60), x=1)


def test_outside_the_main_thread_the_limit_holds_too():
    outcome = []

    def run():
        try:
            call(lambda x: time.sleep(60), x=1, time_limit=0.2)
        except CheckFailure as failure:
            outcome.append(str(failure))

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(30)
    assert outcome and "did not return within 0.2 s" in outcome[0]


def test_an_error_in_a_worker_thread_is_reported_like_in_the_main_thread():
    outcome = []

    def run():
        try:
            call(stub, x=1, time_limit=5)
        except NotImplementedYet as failure:
            outcome.append(str(failure))

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(30)
    assert outcome == ["stub: not implemented yet (it still raises NotImplementedError; replace that line with your "
                       "code)."]


def test_a_fast_call_leaves_no_timer_behind():
    import signal

    assert call(identity, x=2) == 2
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# Results: type, shape, real, not masked.

def test_not_callable():
    with pytest.raises(CheckFailure, match="expected a function, got int"):
        call(3, x=1)


def test_wrong_type_is_reported_as_such():
    with pytest.raises(CheckFailure, match="should be a NumPy array of shape \\(2,\\), but it returned list"):
        check_array(identity, [1.0, 2.0], (2,), {"x": 1})


def test_wrong_shape_is_reported_as_such():
    with pytest.raises(CheckFailure, match="should have shape \\(2,\\), but it has shape \\(2, 1\\)"):
        check_array(identity, np.ones((2, 1)), (2,), {"x": 1})


def test_non_numeric_dtype():
    with pytest.raises(CheckFailure, match="should hold numbers"):
        check_array(identity, np.array(["a", "b"]), (2,), {"x": 1})


@pytest.mark.parametrize("result", [np.array([1.0, 2.0]) + 5j, np.array([1.0, 2.0]) + 0j])
def test_complex_results_are_rejected(result):
    with pytest.raises(CheckFailure, match="the result has complex values .*return real numbers"):
        check_close(identity, result, np.array([1.0, 2.0]), {})


def test_masked_results_are_rejected_even_where_the_visible_values_are_right():
    hidden = np.ma.masked_array([1.0, 99.0], mask=[False, True])
    with pytest.raises(CheckFailure, match="the result is a masked array"):
        check_close(identity, hidden, np.array([1.0, 2.0]), {})


def test_float32_results_are_compared_with_single_precision_tolerance():
    expected = np.array([1.0, 1e3, -2.5]) / 3
    check_close(identity, expected.astype(np.float32), expected, {}, rtol=1e-9)
    with pytest.raises(CheckFailure):
        check_close(identity, (expected * 1.01).astype(np.float32), expected, {})
    with pytest.raises(CheckFailure):
        check_close(identity, expected.astype(np.float32).astype(float), expected, {}, rtol=1e-9)


# Rule 3: messages fit on one screen, the hint first, "Expected" the reference, "Got" the student's value.

def test_failure_message_gives_hint_expected_got_tolerance_and_input():
    with pytest.raises(CheckFailure) as info:
        check_close(identity, np.array([1.0, 2.5]), np.array([1.0, 2.0]), {"x": np.array([7.0])},
                    rtol=1e-6, atol=1e-9, why="a hint")
    lines = str(info.value).splitlines()
    assert lines[0] == "identity: the result is wrong: a hint"
    assert lines[1] == "Expected array of shape (2,): [1. 2.]"
    assert lines[2] == "Got array of shape (2,): [1. 2.5]"
    assert lines[3].startswith("First difference at index (1,): expected 2, got 2.5 (1 of 2 differ; atol=1e-09, "
                               "rtol=1e-06).")
    assert lines[4:] == ["Input:", "  x = array of shape (1,): [7.]"]


def test_large_inputs_and_results_are_summarised():
    rng = np.random.default_rng(0)
    inputs = {"X": rng.normal(size=(600, 2)), "sigma": rng.normal(size=(5, 3, 3)),
              "R": sp.random(300, 200, density=0.1, random_state=0, format="csr"),
              "mixture": (np.ones(3) / 3, rng.normal(size=(3, 2)), np.stack([np.eye(2)] * 3)),
              "k": 4, "reg_lambda": 0.1, "init": "random", "random_state": 0}
    expected = rng.normal(size=(600, 2))
    with pytest.raises(CheckFailure) as info:
        check_close(identity, expected + 1, expected, inputs, why="a hint")
    message = str(info.value)
    assert len(message.splitlines()) <= 10, message
    assert max(len(line) for line in message.splitlines()) <= 120, message
    assert "R = sparse matrix (300, 200), 6000 stored (row, column, value): (0, 15, 0.8391), (0, 16, " in message
    assert "X = array of shape (600, 2), values from -3." in message
    assert "sigma = array of shape (5, 3, 3), values from -2.995 to 1.58: [-1.3268, 0.3039, 1.3478, ...]" in message
    assert "k = 4, reg_lambda = 0.1, init = 'random', random_state = 0" in message


def test_a_small_sparse_matrix_is_shown_dense():
    text = describe(sp.csr_matrix(np.array([[0.0, 4.0], [3.0, 0.0]])))
    assert text == "sparse matrix (2, 2) with 2 stored entries, dense: [[0. 4.] [3. 0.]]"


def test_every_input_takes_one_line():
    inputs = {name: np.arange(100.0).reshape(10, 10) for name in "abc"}
    assert len(describe_inputs(inputs).splitlines()) == 3


def test_a_message_longer_than_a_screen_is_cut():
    message = "\n".join(f"line {i}" for i in range(40))
    assert len(_fit(message).splitlines()) == MAX_LINES
    assert len(str(CheckFailure(message)).splitlines()) == MAX_LINES


def test_close_results_pass_and_are_returned_as_float():
    result = check_close(identity, np.array([1, 2]), np.array([1.0, 2.0]), {})
    assert result.dtype == float


def test_passed_prints_one_line(capsys):
    passed(identity, 3)
    assert capsys.readouterr().out == "identity passed 3 checks.\n"


def test_in_ipython_a_failure_is_shown_as_its_message_only():
    from latent_course.checks._framework import _failure_message_only

    class Shell:
        def _showtraceback(self, etype, value, traceback):
            self.shown = traceback

    shell = Shell()
    _failure_message_only(shell, CheckFailure, CheckFailure("f: the result is wrong"), None)
    assert len(shell.shown) == 1 and shell.shown[0].endswith("CheckFailure\x1b[0m: f: the result is wrong")


def test_inputs_named_in_by_keyword_are_passed_by_keyword():
    def train(X, K, step_size=None, tol=1e-10, random_state=0):
        return step_size, tol, random_state

    assert call(train, X=1, K=2, tol=1e-3, random_state=5, by_keyword=("tol",)) == (None, 1e-3, 5)


def test_a_counting_generator_counts_the_draws_of_the_students_function():
    generator = CountingGenerator(0)

    def one_at_a_time(n, random_state=None):
        rng = np.random.default_rng(random_state)
        return np.array([rng.normal() for _ in range(n)])

    call(one_at_a_time, n=50, random_state=generator)
    assert generator.draw_calls == 50


@pytest.mark.parametrize("what, verb", [
    ("the centres mu", "are"), ("the sum of pi", "is"), ("the user means", "are"), ("the solution X", "is"),
    ("the last recorded loss", "is"), ("the log-probabilities (column j is component j)", "are"),
])
def test_messages_agree_in_number(what, verb):
    with pytest.raises(CheckFailure, match=re.escape(f"identity: {what} {verb} wrong")):
        check_close(identity, np.array([2.0]), np.array([1.0]), {}, what=what)
