"""The general rules of the self-checks hold for EVERY registered check: one mutant per rule, applied to each.

Rule 3: a wrong result gives a message that fits on one screen (at most 15 lines, the mistake first, "Expected"
before "Got"), even on large inputs. Rule 4: a stub, and a stub the function calls, are named. Rule 5: a wrong
argument to the check, and a value the package's validation rejects, give a CheckFailure, not a traceback.
Rule 6: a function that changes its input in place is caught. Issue 15: complex and masked results are rejected,
and a function that never returns is stopped.
"""

from __future__ import annotations

import functools
import re
import time

import numpy as np
import pytest
import scipy.sparse as sp
from checking import assert_one_screen

from latent_course import checks
from latent_course.checks import _framework
from latent_course.tools.solutions import load_solution
from latent_course.validation import check_positive_int

CHECKS = [pytest.param(name, check, id=name) for table in checks.REGISTRY.values() for name, check in table.items()]
TOPIC_OF = {name: topic for topic, table in checks.REGISTRY.items() for name in table}


def test_every_topic_registers_checks():
    assert len(CHECKS) >= 10 and all(checks.REGISTRY.values())


@functools.cache
def _solution(name):
    return getattr(load_solution(TOPIC_OF[name]), name)


def _named(name, function):
    function.__name__ = function.__qualname__ = name
    return function


def _caught(check, mutant, fragment: str) -> str:
    """Run ``check(mutant)``: it must raise CheckFailure whose first line matches `fragment`, on one screen."""
    with pytest.raises(checks.CheckFailure) as failure:
        check(mutant)
    message = str(failure.value)
    assert_one_screen(message)
    assert re.search(fragment, message.splitlines()[0]), message
    return message


def _map_first_float_array(value, change):
    """`value` with its first floating-point array or number (at the top or in a tuple or list) replaced by
    change(it)."""
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating) or isinstance(
            value, float | np.floating):
        return change(value), True
    if isinstance(value, tuple | list):
        items, done = [], False
        for item in value:
            if not done:
                item, done = _map_first_float_array(item, change)
            items.append(item)
        return type(value)(items) if not hasattr(value, "_fields") else type(value)(*items), done
    return value, False


def _perturb(value):
    """Every floating-point number in `value` (arrays, sparse matrices, lists, tuples) changed by half its size."""
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return value * 1.5 + 0.5
    if sp.issparse(value) and np.issubdtype(value.dtype, np.floating):
        changed = value.copy()
        changed.data = changed.data * 1.5 + 0.5
        return changed
    if isinstance(value, float):
        return value * 1.5 + 0.5
    if isinstance(value, tuple | list):
        items = [_perturb(item) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


# Rule 3: messages fit on one screen.

@pytest.mark.parametrize("name, check", CHECKS)
def test_rule_3_a_wrong_result_is_reported_on_one_screen(name, check):
    solution = _solution(name)
    with pytest.raises(checks.CheckFailure) as failure:
        check(_named(name, lambda *args, **kwargs: _perturb(solution(*args, **kwargs))))
    assert type(failure.value) is checks.CheckFailure
    assert failure.value.args[0].startswith(f"{name}: ")
    assert_one_screen(str(failure.value))


# Rule 4: blame the right function.

@pytest.mark.parametrize("name, check", CHECKS)
def test_rule_4_a_stub_is_not_implemented_yet(name, check):
    def stub(*args, **kwargs):
        raise NotImplementedError

    with pytest.raises(checks.NotImplementedYet, match=f"^{name}: not implemented yet"):
        check(_named(name, stub))


@pytest.mark.parametrize("name, check", CHECKS)
def test_rule_4_a_stub_the_function_calls_is_named(name, check):
    def helper_task(*args):
        raise NotImplementedError

    def calls_a_stub(*args, **kwargs):
        return helper_task(*args)

    with pytest.raises(checks.NotImplementedYet, match=f"^{name} calls helper_task, which is not implemented yet"):
        check(_named(name, calls_a_stub))


# Rule 5: no traceback from inside the package.

@pytest.mark.parametrize("argument, fragment", [
    (3.0, "expected a function, got float 3.0; pass your function itself, without calling it"),
    (np.zeros(3), "expected a function, got ndarray"),
    (dict, "got the class dict"),
    (lambda: None, "the check calls your function as"),
    (lambda a, b, c, d, e, f, g, h, i, j, k, l, m: None, "the check calls your function as"),
], ids=["a number", "an array", "a class", "no parameters", "too many parameters"])
@pytest.mark.parametrize("name, check", CHECKS)
def test_rule_5_a_wrong_argument_to_the_check_says_what_to_pass(name, check, argument, fragment):
    message = _caught(check, argument, f"^{name}: ")
    assert fragment in message.splitlines()[0] and f"checks.{name}({name})" in message


@pytest.mark.parametrize("name, check", CHECKS)
def test_rule_5_a_value_rejected_by_the_package_validation_is_a_failure(name, check):
    def computes_a_bad_value(*args, **kwargs):
        return check_positive_int(-1, "k")

    message = _caught(check, _named(name, computes_a_bad_value), f"^{name}: ")
    assert "(ValueError: k must be at least 1, got -1, raised in computes_a_bad_value, line" in message.splitlines()[1]


# Rule 6: a student's input is never mutated.

def _mutate_first_input(args):
    """Change the first array, sparse matrix or list among `args` (or inside a tuple of them) in place."""
    for value in args:
        if sp.issparse(value):
            value.data += 1.0
            return True
        if isinstance(value, np.ndarray) and value.size:
            value += 1
            return True
        if isinstance(value, list):
            value.append(value[0] if value else 0)
            return True
        if isinstance(value, tuple) and _mutate_first_input(value):
            return True
    return False


@pytest.mark.parametrize("name, check", CHECKS)
def test_rule_6_a_function_that_changes_its_input_is_caught(name, check):
    solution = _solution(name)

    def mutates(*args, **kwargs):
        result = solution(*args, **kwargs)
        assert _mutate_first_input(args), "the check passes no array to mutate"
        return result

    _caught(check, _named(name, mutates), rf"^{name} changed its argument \w+ in place; work on a copy")


# Issue 15: complex and masked results, and functions that never return.

@pytest.mark.parametrize("name, check", CHECKS)
def test_a_complex_result_is_rejected(name, check):
    solution = _solution(name)

    def complex_result(*args, **kwargs):
        result, changed = _map_first_float_array(solution(*args, **kwargs), lambda array: array + 5j)
        assert changed
        return result

    _caught(check, _named(name, complex_result), f"^{name}: .*complex")


@pytest.mark.parametrize("name, check", CHECKS)
def test_a_masked_result_hiding_wrong_values_is_rejected(name, check):
    solution = _solution(name)

    def masked_result(*args, **kwargs):
        hide = lambda array: np.ma.masked_array(array + 1.0, mask=np.ones(np.shape(array), bool))  # noqa: E731
        return _map_first_float_array(solution(*args, **kwargs), hide)[0]

    _caught(check, _named(name, masked_result), f"^{name}: ")


@pytest.mark.parametrize("name, check", CHECKS)
def test_a_function_that_never_returns_is_stopped(name, check, monkeypatch):
    monkeypatch.setattr(_framework, "TIME_LIMIT", 0.05)

    def sleeps(*args, **kwargs):
        time.sleep(60)

    _caught(check, _named(name, sleeps), rf"^{name}: your function did not return within 0.05 s")
