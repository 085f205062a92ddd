"""What the self-checks observe about a call of a student's function, wherever the function runs.

The checks run either beside the student's code (in a notebook) or in the grader's process, talking to the
submission's own process (:mod:`latent_course.tools.remote`). Both sides describe a call the same way: where the
frames of an exception come from (:func:`frame_summary`), and how many random draws a ``Generator`` made
(:class:`CountingGenerator`).
"""

from __future__ import annotations

import inspect
import sysconfig
import threading
from pathlib import Path

import numpy as np

__all__ = ["Frame", "CountingGenerator", "frame_kind", "frame_summary", "raised_in"]

Frame = tuple[str, str, int]
"""One frame of a traceback: (kind, function name, line number); kind as :func:`frame_kind` says."""

PACKAGE = Path(__file__).resolve().parent
LIBRARIES = tuple({str(Path(sysconfig.get_paths()[key]).resolve()) for key in ("stdlib", "platstdlib", "purelib",
                                                                                "platlib")})
_MACHINERY = {str(Path(threading.__file__).resolve()), str(PACKAGE / "checks" / "_framework.py"),
              str(PACKAGE / "tools" / "remote.py")}


def frame_kind(filename: str) -> str:
    """Where code from `filename` lives: "machinery" (the checks' calling machinery), "checks", "package" (the
    rest of this package), "library" (the standard library and installed packages) or "student" (anything else:
    a notebook's cells)."""
    path = str(Path(filename).resolve()) if filename and not filename.startswith("<") else filename
    if path in _MACHINERY:
        return "machinery"
    if path.startswith(str(PACKAGE / "checks")):
        return "checks"
    if path.startswith(str(PACKAGE)):
        return "package"
    if path.startswith(LIBRARIES):
        return "library"
    return "student"


def frame_summary(error: BaseException) -> list[Frame]:
    """The frames of `error`'s traceback, outermost first, without the calling machinery's.

    An exception that a submission's process raised carries its frames as ``remote_frames`` (see
    :mod:`latent_course.tools.remote`); they are returned as they came.
    """
    remote = getattr(error, "remote_frames", None)
    if remote is not None:
        return list(remote)
    frames, tb = [], error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        kind = frame_kind(code.co_filename)
        if kind != "machinery":
            frames.append((kind, code.co_name, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def raised_in(error: BaseException, function) -> bool:
    """Whether `error` was raised in `function`'s own code (its innermost frame), also when renamed or wrapped.

    An exception from a submission's process says so as ``remote_raised_in_function``.
    """
    remote = getattr(error, "remote_raised_in_function", None)
    if remote is not None:
        return bool(remote)
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    own = getattr(inspect.unwrap(function), "__code__", None)
    return tb is not None and own is not None and tb.tb_frame.f_code is own


class CountingGenerator(np.random.Generator):
    """A NumPy ``Generator`` that counts the calls of its drawing methods, to tell a vectorised sampler from a loop.

    Pass it as ``random_state``: ``np.random.default_rng(generator)`` returns it unchanged. The checks' ``call``
    hands it over as it is (not a copy), so that ``draw_calls`` counts what the student's function drew.
    """

    def __init__(self, seed: int = 0):
        super().__init__(np.random.PCG64(seed))
        self.draw_calls = 0

    def __getattribute__(self, name):
        attribute = super().__getattribute__(name)
        if name.startswith("_") or name in ("bit_generator", "draw_calls", "spawn") or not callable(attribute):
            return attribute

        def counted(*args, **kwargs):
            self.draw_calls += 1
            return attribute(*args, **kwargs)

        return counted

    def __deepcopy__(self, memo):
        return self
