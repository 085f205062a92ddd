"""The machinery every self-check shares: calling the student's function, comparing, reporting.

A check calls the student's function on small generated cases and compares the result with an independent
reference. Failures raise :class:`CheckFailure` (an ``AssertionError``). Every rule below holds for every check
because it is enforced here, once:

* **One screen.** A message has at most ``MAX_LINES`` lines: the first names the mistake, a hint comes before
  the data, "Expected" is always the reference and "Got" the student's value, and large inputs are summarised
  (an array by its shape and a few values, a sparse matrix by its shape and a few stored entries).
* **Blame the right function.** A ``NotImplementedError`` becomes :class:`NotImplementedYet`, naming the stub
  that raised it: "em calls gmm_log_probability, which is not implemented yet".
* **No traceback from inside the package.** A wrong argument handed to a check (not a function, a class, a
  function with other parameters), an exception the check expects (``call(..., on_error={LinAlgError: hint})``)
  and a ``ValueError``/``TypeError`` raised by this package's validation of a value the student's function
  computed all become a :class:`CheckFailure` with a hint. Any other exception of the student's own code
  propagates unchanged: its traceback points into their code.
* **Inputs are never mutated.** :func:`call` hands the function copies and fails if it changed one in place.
* **Nothing hangs.** Every call is bounded by ``TIME_LIMIT`` seconds (``call(..., time_limit=...)``).
* **Results are plain real arrays.** :func:`check_array` rejects complex and masked arrays.

In a notebook, a :class:`CheckFailure` is shown as its message alone (see :func:`show_failures_without_traceback`);
frames of this package are also hidden from pytest and from the tracebacks of errors raised inside the student's
own code (``__tracebackhide__``).
"""

from __future__ import annotations

import copy
import inspect
import signal
import sys
import threading
import time

import numpy as np
import scipy.sparse as sp

from ..calls import CountingGenerator, frame_summary, raised_in

__all__ = ["CheckFailure", "CountingGenerator", "NotImplementedYet", "MAX_LINES", "TIME_LIMIT", "call", "case_rng",
           "check_array", "check_close", "check_seeded", "check_tuple", "describe", "fail", "passed",
           "show_failures_without_traceback"]

MAX_LINES = 15
"""The most lines a failure message may have: it must fit on one screen."""

TIME_LIMIT = 30.0
"""Seconds one call of the student's function may take; ``call(..., time_limit=...)`` sets it for one call."""

GRADING_SEED: int | None = None
"""Set by the grader (``grade --seed``): the checks' random cases then come from other seeds than the ones a
notebook's checks use, cases that a student edition never showed (see :func:`case_rng`)."""

LINE_WIDTH = 110
KEYWORD_INPUTS = ("random_state",)
"""Inputs passed by keyword; all others are passed by position, in the order the check gives them."""



def _fit(message: str) -> str:
    """Cut `message` to ``MAX_LINES`` lines, dropping lines from the end (the input comes last)."""
    lines = message.splitlines()
    if len(lines) <= MAX_LINES:
        return message
    return "\n".join([*lines[:MAX_LINES - 1], f"  ... ({len(lines) - MAX_LINES + 1} more lines)"])


class CheckFailure(AssertionError):
    """A self-check found a result that differs from the reference (its message fits on one screen)."""

    def __init__(self, *args):
        if len(args) == 1 and isinstance(args[0], str):
            args = (_fit(args[0]),)
        super().__init__(*args)


class NotImplementedYet(CheckFailure):
    """The function under check, or a function it calls, still raises ``NotImplementedError``."""


class _TimeLimitExceeded(BaseException):
    # A BaseException, so that a student's ``except Exception`` cannot swallow it.
    pass


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
    return getattr(function, "__name__", type(function).__name__)


def _shorten(text: str, width: int = LINE_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 4] + " ..."


def _number(value) -> str:
    if isinstance(value, float | np.floating):
        return repr(float(value)) if len(repr(float(value))) <= 10 else f"{value:.6g}"
    return repr(value)


def _compact(array: np.ndarray) -> str:
    """An array's values on one line, e.g. ``[[1. 0.3] [0.3 2.]]``."""
    text = np.array2string(np.asarray(array), precision=4, suppress_small=True, threshold=40, edgeitems=2)
    return " ".join(text.split())


def _values(array: np.ndarray, count: int = 3) -> str:
    flat = np.ravel(array)
    shown = np.array2string(flat[:count], precision=4, suppress_small=True, separator=", ")
    return " ".join((shown[:-1] + ", ...]" if flat.size > count else shown).split())


def describe(value, width: int = LINE_WIDTH - 12) -> str:
    """One line of text for an input or a result: small values in full, large ones summarised.

    A large array is given by its shape, range and first values; a sparse matrix by its shape and, if small, its
    dense form, otherwise its first stored (row, column, value) triplets.
    """
    if sp.issparse(value):
        head = f"sparse matrix {value.shape} with {value.nnz} stored entries"
        if np.prod(value.shape) <= 36:
            return _shorten(f"{head}, dense: {_compact(value.toarray())}", width)
        coo = value.tocoo()
        head = f"sparse matrix {value.shape}, {value.nnz} stored (row, column, value):"
        triplets = [f"({r}, {c}, {v:.4g})" for r, c, v in zip(coo.row[:4], coo.col[:4], coo.data[:4], strict=True)]
        while len(triplets) > 1 and len(f"{head} {', '.join(triplets)}, ...") > width:
            triplets.pop()
        more = ", ..." if value.nnz > len(triplets) else ""
        return f"{head} {', '.join(triplets)}{more}"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return _number(value[()])
    if isinstance(value, np.ndarray):
        text = f"array of shape {value.shape}: {_compact(value)}"
        if len(text) <= width:
            return text
        finite = value[np.isfinite(value)] if np.issubdtype(value.dtype, np.floating) else value.ravel()
        span = f" from {finite.min():.4g} to {finite.max():.4g}" if finite.size and np.isrealobj(finite) else ""
        dtype = "" if value.dtype == float else f", dtype {value.dtype}"
        return _shorten(f"array of shape {value.shape}{dtype}, values{span}: {_values(value)}", width)
    if isinstance(value, tuple | list) and not isinstance(value, str):
        brackets = "()" if isinstance(value, tuple) else "[]"
        text = ", ".join(describe(item, width) for item in value)
        if len(text) + 2 > width:
            text = ", ".join(_compact(item) if isinstance(item, np.ndarray) and len(_compact(item)) <= 30
                             else f"array {item.shape}" if isinstance(item, np.ndarray) else describe(item, 30)
                             for item in value)
        return _shorten(f"{brackets[0]}{text}{brackets[1]}", width)
    if isinstance(value, np.random.Generator):
        return "a NumPy Generator"
    return _shorten(_number(value), width)


def _is_plural(what: str) -> bool:
    """Whether the thing named by `what` ("the centres mu", "the sum of pi") takes "are"."""
    head = what
    for stop in (" (", " of ", ",", " compared", " with ", " from "):
        head = head.split(stop)[0]
    words = [word for word in head.split() if word != "the"]
    while len(words) > 1 and (len(words[-1]) <= 2 or not words[-1].islower() or "_" in words[-1]):
        words.pop()
    noun = words[-1] if words else ""
    return noun.endswith("s") and not noun.endswith(("ss", "is", "us")) and noun.islower()


def describe_inputs(inputs: dict) -> str:
    """The inputs, short ones together on one line, each other one on a line of its own."""
    short = [f"{name} = {describe(value)}" for name, value in inputs.items() if len(describe(value)) <= 24]
    long = [f"  {name} = {describe(value)}" for name, value in inputs.items() if len(describe(value)) > 24]
    lines = []
    for item in short:
        if lines and len(lines[-1]) + len(item) + 2 <= LINE_WIDTH:
            lines[-1] += f", {item}"
        else:
            lines.append(f"  {item}")
    return "\n".join(lines + long)


def _input_section(inputs: dict) -> str:
    return f"\nInput:\n{describe_inputs(inputs)}" if inputs else ""


def _current_check(default: str) -> str:
    """The name of the check being run: the innermost caller that a topic module lists in its ``__all__``."""
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals
        if isinstance(module.get("TOPIC"), str) and frame.f_code.co_name in module.get("__all__", ()):
            return frame.f_code.co_name
        frame = frame.f_back
    return default


def _validate_function(function, positional: list, keywords: dict, names: list[str]) -> None:
    """Fail with what to pass when `function` is not a function that accepts the check's arguments."""
    __tracebackhide__ = True
    check = _current_check(_name(function))
    usage = f"pass your function itself, without calling it: checks.{check}({check})"
    if inspect.isclass(function):
        raise CheckFailure(f"{check}: expected your function {check}, got the class {function.__name__}; {usage}.")
    if not callable(function):
        raise CheckFailure(f"{check}: expected a function, got {type(function).__name__} "
                           f"{describe(function, 40)}; {usage}.")
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # some built-in callables have no signature
        return
    try:
        signature.bind(*positional, **keywords)
    except TypeError as error:
        called = ", ".join([name for name in names if name not in keywords] + [f"{name}=..." for name in keywords])
        raise CheckFailure(
            f"{check}: the check calls your function as {check}({called}), but {_name(function)} takes "
            f"{signature} ({error}).\nPass the function the task defines, with the parameters it names: "
            f"checks.{check}({check})."
        ) from None


def _copy(value):
    return value.copy() if sp.issparse(value) else copy.deepcopy(value)


def _same(before, after) -> bool:
    """Whether `after` still equals `before` (NaN equal to NaN; a sparse matrix by its stored entries)."""
    if sp.issparse(before):
        return (sp.issparse(after) and before.shape == after.shape and before.nnz == after.nnz
                and (before != after).nnz == 0)
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or before.shape != after.shape or before.dtype != after.dtype:
            return False
        return bool(np.array_equal(before, after, equal_nan=np.issubdtype(before.dtype, np.inexact)))
    if isinstance(before, tuple | list):
        return (type(before) is type(after) and len(before) == len(after)
                and all(_same(b, a) for b, a in zip(before, after, strict=True)))
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(_same(before[key], after[key]) for key in before)
    if before is None or isinstance(before, str | bytes | int | float | complex | np.generic):
        return bool(before == after) or (before != before and after != after)
    return True  # an object without value semantics (e.g. a Generator): nothing to compare


def _alarm(signum, frame):
    raise _TimeLimitExceeded


def _run(function, positional, keywords, limit):
    """Call the function, interrupting it after `limit` seconds.

    In the main thread (a Jupyter kernel, pytest) a ``SIGALRM`` timer interrupts the function itself; elsewhere
    (other threads, Windows) the function runs in a daemon thread that is abandoned when the time is up.
    """
    __tracebackhide__ = True
    if limit is None or limit <= 0:
        return function(*positional, **keywords)
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        previous_handler = signal.signal(signal.SIGALRM, _alarm)
        previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, limit)
        start = time.monotonic()
        try:
            return function(*positional, **keywords)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_handler)
            if previous_delay:  # give back the rest of a timer someone else had set
                remaining = max(previous_delay - (time.monotonic() - start), 1e-3)
                signal.setitimer(signal.ITIMER_REAL, remaining, previous_interval)
    outcome = {}

    def target():
        try:
            outcome["result"] = function(*positional, **keywords)
        except BaseException as error:  # handed to the caller's thread below
            outcome["error"] = error

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        raise _TimeLimitExceeded
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _not_implemented_message(function, error: NotImplementedError) -> str | None:
    """The message for a stub; None when a library raised the NotImplementedError (then it is the student's)."""
    frames = frame_summary(error)
    name = _name(function)
    todo = "it still raises NotImplementedError; replace that line with your code"
    if not frames or frames[-1][1] == name or raised_in(error, function):
        return f"{name}: not implemented yet ({todo})."
    kind, helper, _ = frames[-1]
    if kind == "library":
        return None
    return f"{name} calls {helper}, which is not implemented yet ({todo}); implement {helper} first."


def _where(error: BaseException) -> str:
    """Where in the student's code `error` was raised, e.g. "in em, line 31" (empty if unknown)."""
    frames = [frame for frame in frame_summary(error) if frame[0] == "student"]
    return f" in {frames[-1][1]}, line {frames[-1][2]}" if frames else ""


def _error_text(error: BaseException) -> str:
    return _shorten(f"{type(error).__name__}: {error}", LINE_WIDTH - 20)


def _raised_by_package_validation(error: BaseException) -> bool:
    """Whether `error` comes from this package's helpers (not from a check, not from the student's code)."""
    frames = frame_summary(error)
    return bool(frames) and frames[-1][0] == "package"


def call(function, /, *, on_error: dict[type, str] | None = None, time_limit: float | None = None,
         by_keyword: tuple[str, ...] = (), **inputs):
    """Call the student's `function` with copies of `inputs` and return its result.

    Inputs are passed by position in the given order, except those named in ``KEYWORD_INPUTS`` or `by_keyword`,
    which are passed by keyword.

    Parameters
    ----------
    function : callable
        The student's function. Not a function, a class, or a function whose parameters do not accept the
        inputs: :class:`CheckFailure` saying what to pass.
    on_error : dict of {exception type: str}, optional
        Exceptions the check expects from a typical mistake, each with its hint, e.g.
        ``{np.linalg.LinAlgError: "the system is singular: did you add reg_lambda * I?"}``: such an exception
        becomes a :class:`CheckFailure` with the hint.
    time_limit : float, optional
        Seconds the call may take (default ``TIME_LIMIT``; 0 or a negative value for no limit).
    by_keyword : tuple of str
        Inputs to pass by keyword, e.g. optional parameters given without the ones before them.
    **inputs
        The arguments, by parameter name.

    Raises
    ------
    NotImplementedYet
        If the function, or a function it calls, still raises ``NotImplementedError``.
    CheckFailure
        If the function changed an input in place, did not return within the time limit, raised an exception
        listed in `on_error`, or made this package's validation raise a ``ValueError`` or ``TypeError``.
    Exception
        Any other exception of the student's code, unchanged.
    """
    __tracebackhide__ = True
    limit = TIME_LIMIT if time_limit is None else time_limit
    given = {name: _copy(value) for name, value in inputs.items()}
    named = set(KEYWORD_INPUTS) | set(by_keyword)
    positional = [value for name, value in given.items() if name not in named]
    keywords = {name: value for name, value in given.items() if name in named}
    _validate_function(function, positional, keywords, list(inputs))
    name = _name(function)
    try:
        result = _run(function, positional, keywords, limit)
    except _TimeLimitExceeded:
        raise CheckFailure(
            f"{name}: your function did not return within {limit:g} s. Does a loop never end (a stopping test "
            "that is never met)? A Python loop over every sample is also too slow here: vectorise it."
            f"{_input_section(inputs)}"
        ) from None
    except NotImplementedError as error:
        message = _not_implemented_message(function, error)
        if message is None:
            raise
        raise NotImplementedYet(message) from None
    except Exception as error:
        hint = next((text for kind, text in (on_error or {}).items() if isinstance(error, kind)), None)
        if hint is None and isinstance(error, ValueError | TypeError) and _raised_by_package_validation(error):
            hint = "the course's validation rejected a value your function computed; look at what it passes there"
        if hint is None:
            raise
        raise CheckFailure(f"{name}: {hint}\n({_error_text(error)}, raised{_where(error)}){_input_section(inputs)}") \
            from None
    for parameter, value in inputs.items():
        if not _same(value, given[parameter]):
            how = ("copy an array of the tuple before changing it (e.g. means = means.copy())"
                   if isinstance(value, tuple) else f"{parameter} = list({parameter})" if isinstance(value, list)
                   else f"{parameter} = {parameter}.copy()")
            raise CheckFailure(f"{name} changed its argument {parameter} in place; work on a copy ({how}) or build a "
                               f"new array: the caller's data must stay as it was.{_input_section(inputs)}")
    return result


def case_rng(seed: int) -> np.random.Generator:
    """The generator of a check's random cases: seeded with `seed`, mixed with ``GRADING_SEED`` when one is set."""
    return np.random.default_rng(seed if GRADING_SEED is None else [GRADING_SEED, seed])


def fail(function, message: str, inputs: dict):
    """Raise :class:`CheckFailure` with `message` (the mistake and its hint), then the input, summarised."""
    __tracebackhide__ = True
    raise CheckFailure(f"{_name(function)}: {message}{_input_section(inputs)}")


def check_tuple(function, result, names, inputs: dict) -> tuple:
    """Return `result` after checking that it is a tuple with one element per name in `names`."""
    __tracebackhide__ = True
    if not isinstance(result, tuple) or len(result) != len(names):
        got = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        fail(function, f"should return a tuple ({', '.join(names)}), got {got}.", inputs)
    return result


def check_seeded(function, result, inputs: dict, what: str, by_keyword: tuple[str, ...] = ()) -> None:
    """Call `function` again with the same `inputs` (and so the same random_state) and require the same `result`."""
    __tracebackhide__ = True
    again = call(function, by_keyword=by_keyword, **inputs)
    pairs = zip(result, again, strict=False) if isinstance(result, tuple) else [(result, again)]
    if not all(np.array_equal(first, second) for first, second in pairs):
        fail(function, f"two calls with the same random_state gave different {what}; draw every random number "
                       "from np.random.default_rng(random_state).", inputs)


def check_array(function, result, shape, inputs: dict, what: str = "the result") -> np.ndarray:
    """Return `result` as a float array after checking its type, `shape` and values (real, not masked).

    A float32 (or float16) result keeps its dtype, so that :func:`check_close` can allow for its precision.
    """
    __tracebackhide__ = True
    plural = _is_plural(what)
    is_, has, it = ("are", "have", "they") if plural else ("is", "has", "it")
    if isinstance(result, np.ma.MaskedArray):
        fail(function, f"{what} {is_} a masked array (np.ma); return a plain NumPy array: a mask hides values.",
             inputs)
    if not isinstance(result, np.ndarray):
        fail(function, f"{what} should be a NumPy array of shape {tuple(shape)}, but it returned "
                       f"{type(result).__name__}.", inputs)
    if np.iscomplexobj(result):
        flat = result.ravel()
        nonreal = np.flatnonzero(flat.imag)
        example = f"e.g. {flat[nonreal[0]]:.4g}" if nonreal.size else f"dtype {result.dtype}"
        fail(function, f"{what} {has} complex values ({example}); return real numbers (an imaginary part comes from "
                       "a complex literal such as 5j, np.emath, or np.linalg.eig: use eigh).", inputs)
    if result.shape != tuple(shape):
        fail(function, f"{what} should have shape {tuple(shape)}, but {it} {has} shape {result.shape}.", inputs)
    if not np.issubdtype(result.dtype, np.number):
        fail(function, f"{what} should hold numbers, but {'their' if plural else 'its'} dtype is {result.dtype}.",
             inputs)
    if np.issubdtype(result.dtype, np.floating) and result.dtype.itemsize < 8:
        return result
    return result.astype(float, copy=False)


def check_close(function, result, expected, inputs: dict, *, rtol=1e-7, atol=1e-9, what="the result", why=""):
    """Fail unless ``result`` equals ``expected`` within ``atol + rtol * |expected|``; return it as floats.

    A result in single precision (float32) is compared with ``rtol`` and ``atol / max|expected|`` of at least
    1e-4, since its own rounding errors reach about that much.
    """
    __tracebackhide__ = True
    expected = np.asarray(expected, dtype=float)
    result = check_array(function, result, expected.shape, inputs, what)
    if result.dtype != float:
        scale = float(np.max(np.abs(expected), initial=1.0, where=np.isfinite(expected)))
        rtol, atol = max(rtol, 1e-4), max(atol, 1e-4 * scale)
        result = result.astype(float)
    bad = ~np.isclose(result, expected, rtol=rtol, atol=atol)
    if bad.any():
        verb = "are" if _is_plural(what) else "is"
        tolerance = f"atol={atol:g}, rtol={rtol:g}"
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        # Enough digits to show the difference, even a small one.
        digits = 6 if f"{expected[where]:.6g}" != f"{result[where]:.6g}" else 15
        if expected.ndim == 0:
            comparison = f"Expected {expected:.{digits}g}\nGot {result:.{digits}g} ({tolerance})."
        else:
            count = f"{int(bad.sum())} of {bad.size} differ; " if bad.size > 1 else ""
            comparison = (f"Expected {describe(expected)}\nGot {describe(result)}\n"
                          f"First difference at index {where}: expected {expected[where]:.{digits}g}, got "
                          f"{result[where]:.{digits}g} ({count}{tolerance}).")
        raise CheckFailure(f"{_name(function)}: {what} {verb} wrong{': ' + why if why else '.'}\n{comparison}"
                           f"{_input_section(inputs)}")
    return result


def passed(function, n_cases: int) -> None:
    """Print the one-line confirmation of a passed check."""
    print(f"{_name(function)} passed {n_cases} checks.")
