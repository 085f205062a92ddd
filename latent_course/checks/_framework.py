"""The machinery every self-check shares: calling the student's function, comparing, reporting.

A check calls the student's function on small generated cases and compares the result with an independent
reference. Failures raise :class:`CheckFailure` (an ``AssertionError``) whose message names the input, what was
expected, what came back and the tolerance. In a notebook, a :class:`CheckFailure` is shown as its message alone
(see :func:`show_failures_without_traceback`); frames of this package are also hidden from pytest and from the
tracebacks of errors raised inside the student's own code (``__tracebackhide__``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CheckFailure", "NotImplementedYet", "call", "check_array", "check_close", "check_seeded", "check_tuple",
           "fail", "passed", "show_failures_without_traceback"]


class CheckFailure(AssertionError):
    """A self-check found a result that differs from the reference."""


class NotImplementedYet(CheckFailure):
    """The function under check still raises ``NotImplementedError``."""


def _failure_message_only(shell, etype, value, tb, tb_offset=None):
    # IPython discards what a custom handler returns, so the handler publishes the error itself.
    traceback = [f"\x1b[0;31m{etype.__name__}\x1b[0m: {value}"]
    shell._showtraceback(etype, value, traceback)
    return traceback


def show_failures_without_traceback() -> None:
    """In IPython, display a :class:`CheckFailure` as its message, without the frames of this package.

    The cell still ends in an error, so "Run All" stops at the first failing check as usual.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((CheckFailure,), _failure_message_only)


def _name(function) -> str:
    return getattr(function, "__name__", repr(function))


def describe(value) -> str:
    """Short, stable text for an input or a result in a failure message."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=4, suppress_small=True, threshold=20, edgeitems=2)
        text = text.replace("\n", "\n    ")
        return f"array of shape {value.shape}:\n    {text}"
    return repr(value)


def describe_inputs(inputs: dict) -> str:
    return "\n".join(f"  {name} = {describe(value)}" for name, value in inputs.items())


KEYWORD_INPUTS = ("random_state",)


def call(function, **inputs):
    """Call the student's `function` with `inputs` (copied, so the check keeps its own).

    Inputs are passed by position in the given order, except those named in ``KEYWORD_INPUTS``, which are passed
    by keyword. A ``NotImplementedError`` becomes :class:`NotImplementedYet`; any other exception is the
    student's own and propagates unchanged.
    """
    __tracebackhide__ = True
    if not callable(function):
        raise CheckFailure(f"expected a function, got {type(function).__name__}")
    copies = {name: value.copy() if hasattr(value, "copy") else value for name, value in inputs.items()}
    positional = [value for name, value in copies.items() if name not in KEYWORD_INPUTS]
    keywords = {name: value for name, value in copies.items() if name in KEYWORD_INPUTS}
    try:
        return function(*positional, **keywords)
    except NotImplementedError:
        raise NotImplementedYet(
            f"{_name(function)}: not implemented yet (it still raises NotImplementedError; "
            "replace that line with your code)"
        ) from None


def fail(function, message: str, inputs: dict):
    """Raise :class:`CheckFailure` with `message`, prefixed by the function's name and followed by the input."""
    __tracebackhide__ = True
    raise CheckFailure(f"{_name(function)}: {message}\nInput:\n{describe_inputs(inputs)}")


def check_tuple(function, result, names, inputs: dict) -> tuple:
    """Return `result` after checking that it is a tuple with one element per name in `names`."""
    __tracebackhide__ = True
    if not isinstance(result, tuple) or len(result) != len(names):
        fail(function, f"should return a tuple ({', '.join(names)}), got {type(result).__name__}", inputs)
    return result


def check_seeded(function, result, inputs: dict, what: str) -> None:
    """Call `function` again with the same `inputs` (and so the same random_state) and require the same `result`."""
    __tracebackhide__ = True
    again = call(function, **inputs)
    pairs = zip(result, again, strict=False) if isinstance(result, tuple) else [(result, again)]
    if not all(np.array_equal(first, second) for first, second in pairs):
        fail(function, f"two calls with the same random_state gave different {what}; draw every random number "
                       "from np.random.default_rng(random_state).", inputs)


def check_array(function, result, shape, inputs: dict, what: str = "the result") -> np.ndarray:
    """Return `result` as a float array after checking its type and `shape`."""
    __tracebackhide__ = True
    if not isinstance(result, np.ndarray):
        raise CheckFailure(
            f"{_name(function)}: {what} should be a NumPy array of shape {shape}, "
            f"but it returned {type(result).__name__}.\nInput:\n{describe_inputs(inputs)}"
        )
    if result.shape != tuple(shape):
        raise CheckFailure(
            f"{_name(function)}: {what} should have shape {tuple(shape)}, but it has shape {result.shape}.\n"
            f"Input:\n{describe_inputs(inputs)}"
        )
    if not np.issubdtype(result.dtype, np.number):
        raise CheckFailure(f"{_name(function)}: {what} should hold numbers, but its dtype is {result.dtype}")
    return result.astype(float, copy=False)


def check_close(function, result, expected, inputs: dict, *, rtol=1e-7, atol=1e-9, what="the result", why=""):
    """Fail unless ``result`` equals ``expected`` within ``atol + rtol * |expected|``."""
    __tracebackhide__ = True
    result = check_array(function, result, np.shape(expected), inputs, what)
    bad = ~np.isclose(result, expected, rtol=rtol, atol=atol)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        reason = f"\nHint: {why}" if why else ""
        raise CheckFailure(
            f"{_name(function)}: {what} is wrong.\n"
            f"Input:\n{describe_inputs(inputs)}\n"
            f"Expected {describe(np.asarray(expected))}\n"
            f"Got {describe(result)}\n"
            f"First difference at index {where}: expected {np.asarray(expected)[where]:.6g}, "
            f"got {result[where]:.6g} (tolerance: atol={atol:g}, rtol={rtol:g}).{reason}"
        )
    return result


def passed(function, n_cases: int) -> None:
    """Print the one-line confirmation of a passed check."""
    print(f"{_name(function)} passed {n_cases} checks.")
