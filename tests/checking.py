"""Table-driven tests of a self-check: it passes right implementations and catches each wrong one with a hint.

A topic's test file lists its mutants as ``{"what the mistake is": (wrong_function, "message fragment")}`` and
parametrises over :func:`mutant_params`::

    MEAN_MUTANTS = {"means added up": (lambda pi, mu: mu.sum(axis=0), "added up")}

    @pytest.mark.parametrize("mutant, fragment", mutant_params(MEAN_MUTANTS))
    def test_mean_check_catches(mutant, fragment):
        assert_catches(checks.mixture_mean, mutant, fragment)
"""

from __future__ import annotations

import pytest

from latent_course import checks

MAX_MESSAGE_LINES = 15


def mutant_params(table: dict) -> list:
    """``pytest.param(function, fragment, id=name)`` for each entry ``name: (function, fragment)`` of `table`."""
    return [pytest.param(function, fragment, id=name) for name, (function, fragment) in table.items()]


def assert_catches(check, mutant, fragment: str) -> str:
    """Assert that ``check(mutant)`` fails with a message matching the regular expression `fragment`.

    The message must fit on one screen (at most ``MAX_MESSAGE_LINES`` lines). Returns the message.
    """
    with pytest.raises(checks.CheckFailure, match=fragment) as failure:
        check(mutant)
    message = str(failure.value)
    assert len(message.splitlines()) <= MAX_MESSAGE_LINES, f"message of {len(message.splitlines())} lines:\n{message}"
    return message


def assert_passes(check, implementation, capsys) -> None:
    """Assert that ``check(implementation)`` passes and prints its single confirmation line."""
    check(implementation)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and " passed " in out[0], out
