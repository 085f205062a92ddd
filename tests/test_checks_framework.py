"""The shared machinery of the self-checks: stubs, wrong types and shapes, and the failure message."""

import numpy as np
import pytest

from latent_course.checks import CheckFailure, NotImplementedYet
from latent_course.checks._framework import call, check_array, check_close, passed


def stub(x):
    raise NotImplementedError


def identity(x):
    return x


def test_a_stub_is_reported_as_not_implemented_yet():
    with pytest.raises(NotImplementedYet, match="stub: not implemented yet"):
        call(stub, x=1)


def test_not_implemented_yet_is_an_assertion_error():
    assert issubclass(NotImplementedYet, CheckFailure) and issubclass(CheckFailure, AssertionError)


def test_the_students_own_errors_propagate_unchanged():
    def broken(x):
        return x / "a"

    with pytest.raises(TypeError):
        call(broken, x=1)


def test_inputs_are_copied_so_the_student_cannot_change_the_checks_data():
    data = np.zeros(3)

    def mutating(x):
        x += 1
        return x

    call(mutating, x=data)
    assert not data.any()


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


def test_failure_message_gives_input_expected_got_and_tolerance():
    with pytest.raises(CheckFailure) as info:
        check_close(identity, np.array([1.0, 2.5]), np.array([1.0, 2.0]), {"x": np.array([7.0])},
                    rtol=1e-6, atol=1e-9, why="a hint")
    message = str(info.value)
    for part in ["x = array of shape (1,)", "[7.]", "Expected array of shape (2,)", "Got array of shape (2,)",
                 "index (1,): expected 2, got 2.5", "atol=1e-09, rtol=1e-06", "Hint: a hint"]:
        assert part in message


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
