"""Table-driven tests of a self-check: it passes right implementations and catches each wrong one with a hint.

A topic's test file lists its mutants as ``{"what the mistake is": (wrong_function, "message fragment")}`` and
parametrises over :func:`mutant_params`::

    MEAN_MUTANTS = {"means added up": (lambda pi, mu: mu.sum(axis=0), "added up")}

    @pytest.mark.parametrize("mutant, fragment", mutant_params(MEAN_MUTANTS))
    def test_mean_check_catches(mutant, fragment):
        assert_catches(checks.mixture_mean, mutant, fragment, first_line=True)
"""

from __future__ import annotations

import re

import pytest

from latent_course import checks
from latent_course.checks._framework import MAX_LINES

MAX_MESSAGE_LINES = MAX_LINES


def mutant_params(table: dict) -> list:
    """``pytest.param(function, fragment, id=name)`` for each entry ``name: (function, fragment)`` of `table`."""
    return [pytest.param(function, fragment, id=name) for name, (function, fragment) in table.items()]


def assert_one_screen(message: str) -> None:
    """Assert that a failure message follows the rules of one screen.

    At most ``MAX_MESSAGE_LINES`` lines; the first line is the mistake (not the data); "Expected" (the reference)
    comes before "Got" (the student's value).
    """
    lines = message.splitlines()
    assert 1 <= len(lines) <= MAX_MESSAGE_LINES, f"message of {len(lines)} lines:\n{message}"
    assert not lines[0].startswith(("Input", "Expected", "Got")), f"the first line is data, not the mistake:\n{message}"
    starts = [line.split()[0] for line in lines if line.startswith(("Expected ", "Got "))]
    assert starts in ([], ["Expected", "Got"]), f"'Expected' must come before 'Got':\n{message}"


def assert_catches(check, mutant, fragment: str, *, first_line: bool = False) -> str:
    """Assert that ``check(mutant)`` fails with a message matching the regular expression `fragment`.

    With `first_line`, the fragment must be found on the message's first line (the line that names the mistake).
    The message must fit on one screen (see :func:`assert_one_screen`). Returns the message.
    """
    with pytest.raises(checks.CheckFailure) as failure:
        check(mutant)
    message = str(failure.value)
    where = message.splitlines()[0] if first_line else message
    assert re.search(fragment, where), f"{fragment!r} not found in {'the first line of ' * first_line}:\n{message}"
    assert_one_screen(message)
    return message


def assert_passes(check, implementation, capsys) -> None:
    """Assert that ``check(implementation)`` passes and prints its single confirmation line."""
    check(implementation)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and " passed " in out[0], out
